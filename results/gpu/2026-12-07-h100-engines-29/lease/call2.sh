#!/usr/bin/env bash
# Lease call 2 of the thirty-second session: what call 1 left of TileLangOpFn3First's gate, and its time again, on an
# H100 carrying .gpu-site:
#   1. bits against the default at 256 x 7168 (call 1's check of it ran out of its 60 s in the compiles);
#   2. the bench, graph-replayed: the op at 128 / 192 / 256 tokens, both H, the default and the probe beside DeepGEMM,
#      then twice more at 256 x 4096 alone (one process each: the point in doubt);
#   3. stress of the probe, 1000 reruns (every third a graph replay) at the op's 192 x 4096 and 192 x 7168 (its K
#      ranges there are not the default's: 32 against wave_cost_parts').
# Usage: W=/tmp/c2; bash results/gpu/2026-12-07-h100-engines-29/lease/call2.sh $W; tar -cJf $OUT/c2.tar.xz -C /tmp c2
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
step bits
timeout -k 5 90 python3 scripts/debug/probe_bitwise_check.py --probe "$P:TileLangOpFn3First" --against tilelang \
  --op prenorm_gemm --tokens 256 --hidden 7168 --reruns 3 2>&1 | quiet > "$O/bits.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits.log")" >> "$O/timeline.txt"
bench() {  # bench NAME TOKENS HIDDEN
  step "bench-$1"
  timeout -k 10 "${BENCH_S:-90}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpFn3First" \
    --backend vllm-deepgemm --op prenorm_gemm --tokens "$2" --hidden "$3" --mode graph --precompile off \
    --ours tilelang --ours tilelang-op-fn3-first --out "$O/bench-$1" --force 2>&1 | quiet > "$O/bench-$1.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
}
bench window 128,192,256 4096,7168
bench repeat1 256 4096
bench repeat2 256 4096
for h in 4096 7168; do
  step "stress-192x$h"
  timeout -k 10 "${STRESS_S:-50}" python3 -m mhc_verify stress --backend "$P:TileLangOpFn3First" --op prenorm_gemm \
    --tokens 192 --hidden $h --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/op_192x$h" \
    --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-op_192x$h.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
done
step done
