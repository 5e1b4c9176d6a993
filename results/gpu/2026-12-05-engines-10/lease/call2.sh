#!/usr/bin/env bash
# Lease call 2 of the thirteenth session: the default as adopted after call 1 (`tilelang`), gated and
# benchmarked in one call of at most ~570 s (scripts/gate_and_bench.sh):
#   precompile (90 s) the default's kernels only; beside it 1000 stress reruns each (every third a
#     CUDA-graph replay) where the adopted changes run
#   gate (145 s): nightly checks of the default on the ops whose kernels changed
#   bench (330 s): every backend side by side, both H, T = 1 .. 80 000 and 768 / 1536, graph-replayed up
#     to 4096 tokens: the committed run the README's performance sentences quote
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-engines-10/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_PROBES="" PRECOMPILE_S=90 STRESS_S=90 GATE_S=145 BENCH_S=330 \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse prenorm_gemm" \
  STRESS="mhc_pre:16,32 pre_big_fuse:32,1024 fused_post_pre:32 prenorm_gemm:1024,1025,4096" \
  BENCH_TOKENS=1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000 \
  bash scripts/gate_and_bench.sh "$O"
