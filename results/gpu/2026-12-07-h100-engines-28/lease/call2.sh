#!/usr/bin/env bash
# Lease call 2 of the thirty-first session: the prenorm_gemm op reading fn in fp32 and splitting it into its bf16
# pieces in a warpgroup of its own (kernels/tilelang/gemm_fn_split.py; probes mid_probes.TileLangOpFnSplit*), after
# call 1 found the fn3 multicast 1.04-2.0 x slower than the default (and its cluster-of-one control as fast as the
# plain window). On an H100 carrying .gpu-site:
#   1. bits: the probe against the plain window (TileLangOpPlainTma) at 129-704 tokens, both H; against call 1's
#      control (TileLangOpMulticastAlone, the same K ranges) at 65-128; four load stages against five at 256;
#   2. the bench, graph-replayed: the op at 64-704 tokens, both H, the probes beside the default, the control, the
#      plain window and DeepGEMM;
#   3. a profile per kernel (graph-replayed) at 128 / 256 / 512 x 4096: the probe, the default, DeepGEMM.
# Usage: bash results/gpu/2026-12-07-h100-engines-28/lease/call2.sh $OUT   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
bits() {  # name cap probe against tokens
  step "bits-$1"
  timeout -k 5 "$2" python3 scripts/debug/probe_bitwise_check.py --probe "$P:$3" --against "$P:$4" --op prenorm_gemm \
    --tokens "$5" --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-$1.log"
  echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-$1.log")" >> "$O/timeline.txt"
}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
bits plain 110 TileLangOpFnSplit TileLangOpPlainTma 256,129,192,320,512,704
bits small 60 TileLangOpFnSplit TileLangOpMulticastAlone 65,128
bits stages 40 TileLangOpFnSplit4 TileLangOpFnSplit 256
step bench
timeout -k 10 "${BENCH_S:-180}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpFnSplit" \
  --backend "$P:TileLangOpFnSplit4" --backend "$P:TileLangOpMulticastAlone" --backend "$P:TileLangOpPlainTma" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 64,65,128,129,192,256,320,512,704 --hidden 4096,7168 \
  --mode graph --precompile off --ours tilelang --ours tilelang-op-fn-split --ours tilelang-op-fn-split4 \
  --ours tilelang-op-multicast-alone --ours tilelang-op-plain-tma --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step profile
timeout -k 5 "${PROFILE_S:-50}" python3 scripts/debug/profile_ops.py --backend tilelang --backend "$P:TileLangOpFnSplit" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,256,512 --hidden 4096 --mode graph \
  --out "$O/profile-op-H4096-graph.md" 2>&1 | quiet > "$O/profile.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step done
