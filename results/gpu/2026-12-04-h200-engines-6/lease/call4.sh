#!/usr/bin/env bash
# Lease call 4 (sixth session): is call 3's prenorm_gemm at 65 536 / 80 000 tokens (84.7 % of copy at
# 65 536 x 7168, against 95.3 % for the same kernel's code in the fifth session's run) reproducible?
# The op alone, ours beside DeepGEMM, eager, twice in a row.
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
for run in 1 2; do
  echo "== $(date -u +%T) run $run"
  timeout -k 10 70 python3 -m mhc_verify.bench --backend tilelang --backend vllm-deepgemm --op prenorm_gemm \
    --tokens 65536,80000 --hidden 7168,4096 --mode graph --graph-max-tokens 4096 --precompile off \
    --out "$O/bench-$run" --force 2>&1 | quiet > "$O/bench-$run.log"
done
echo "== $(date -u +%T) all done"
