#!/usr/bin/env bash
# Lease call 1 of the thirty-second session: fn3 taken as a weight in the op's written-out TMA pipeline, its tiles
# loaded before the PDL wait (gemm_multicast's fn3_first), on an H100 carrying .gpu-site:
#   1. bits: TileLangOpFn3First against the default at 256 tokens and against TileLangOpOwnPipelineChunks (the same
#      K ranges) at 128 / 192, TileLangOpFn3FirstLateSum against TileLangOpFn3First, TileLangOpPlainFn3First against
#      TileLangOpMulticastAlone (the plain window's pipeline) at 129 / 256 / 512, both H (a probe's first call splits
#      fn, its reruns and graph replay load fn3 before the wait);
#   2. the bench, graph-replayed: the op at 128 / 192 / 256 / 320 / 512 tokens, both H, the default, the three probes
#      and both controls beside DeepGEMM;
#   3. a profile per kernel (graph-replayed) at 256 x 4096;
#   4. stress of TileLangOpFn3First, 1000 reruns (every third a graph replay) at the op's 256 x 4096 and 256 x 7168;
#   5. the op's nightly check on TileLangOpFn3First.
# Usage: bash results/gpu/2026-12-07-h100-engines-29/lease/call1.sh $OUT   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
bits() {  # bits NAME PROBE AGAINST TOKENS
  step "bits-$1"
  timeout -k 5 60 python3 scripts/debug/probe_bitwise_check.py --probe "$P:$2" --against "$3" \
    --op prenorm_gemm --tokens "$4" --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-$1.log"
  echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-$1.log")" >> "$O/timeline.txt"
}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
bits first TileLangOpFn3First tilelang 256
bits small TileLangOpFn3First "$P:TileLangOpOwnPipelineChunks" 128,192
bits late TileLangOpFn3FirstLateSum "$P:TileLangOpFn3First" 256
bits plain TileLangOpPlainFn3First "$P:TileLangOpMulticastAlone" 129,256,512
step bench
timeout -k 10 "${BENCH_S:-170}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpFn3First" \
  --backend "$P:TileLangOpFn3FirstLateSum" --backend "$P:TileLangOpPlainFn3First" \
  --backend "$P:TileLangOpOwnPipelineChunks" --backend "$P:TileLangOpMulticastAlone" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,192,256,320,512 --hidden 4096,7168 --mode graph \
  --precompile off --ours tilelang --ours tilelang-op-fn3-first --ours tilelang-op-fn3-first-late-sum \
  --ours tilelang-op-plain-fn3-first --ours tilelang-op-own-pipeline-chunks --ours tilelang-op-multicast-alone \
  --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step profile
timeout -k 5 "${PROFILE_S:-50}" python3 scripts/debug/profile_ops.py --backend tilelang \
  --backend "$P:TileLangOpFn3First" --backend "$P:TileLangOpPlainFn3First" --backend vllm-deepgemm \
  --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph --out "$O/profile-op-H4096-graph.md" 2>&1 \
  | quiet > "$O/profile.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
for h in 4096 7168; do
  step "stress-$h"
  timeout -k 10 "${STRESS_S:-50}" python3 -m mhc_verify stress --backend "$P:TileLangOpFn3First" --op prenorm_gemm \
    --tokens 256 --hidden $h --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/op_256x$h" \
    --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-op_256x$h.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
done
step check
timeout -k 15 "${CHECK_S:-90}" python3 -m mhc_verify check --profile nightly --backend "$P:TileLangOpFn3First" \
  --require-backend tilelang-op-fn3-first --op prenorm_gemm --examples 12 --out "$O/check" --force --no-progress \
  2>&1 | quiet | tail -n 30 > "$O/check.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step done
