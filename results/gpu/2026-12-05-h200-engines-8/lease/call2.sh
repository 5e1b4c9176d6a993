#!/usr/bin/env bash
# Lease call 2 (tenth session): the committed run of the new default `tilelang` (the prenorm_gemm op on
# the middle GEMM to 1024 tokens with K ranges by wave cost, PDL early there; the middle pre on one
# residual buffer at 769 .. 1535 tokens), gated in call 1 (nightly checks of TileLangMidLean, which
# runs both at every T). scripts/gate_and_bench.sh without its gate stage:
#   precompile, beside it 1000 stress reruns (every third a CUDA-graph replay) of `tilelang` on both
#     sides of the new boundaries (H = 7168)
#   the benchmark: every backend side by side, H = 7168 and 4096, T = 1 .. 80 000 and 768 / 1536 (off
#     the powers of two: where 768 x 7168 showed our middle GEMM's K ranges unbalanced in call 1),
#     graph-replayed up to 4096 tokens, vLLM on DeepGEMM
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 575 bash results/gpu/2026-12-05-h200-engines-8/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
STAGES="precompile bench" BACKEND=tilelang PRECOMPILE_S=90 STRESS_S=90 BENCH_S=455 \
  STRESS="prenorm_gemm:32,33,256,512,1024,1025 mhc_pre:768,769,1024,1535,1536 pre_big_fuse:769,1535 fused_post_pre:1024" \
  BENCH_TOKENS=1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000 \
  bash scripts/gate_and_bench.sh "$O"
