#!/usr/bin/env bash
# Lease call 1 for the next session (written in the twelfth, not run: the device time was spent on
# calls 4 and 2 of ../../2026-12-05-h200-engines-8/lease). The gate of mid_probes.TileLangGatherOpTma,
# the candidate default from this folder's runs (the gather Sinkhorn: 0.94-0.97 x the default's mhc_pre
# at 1-256 tokens; the op's GEMM on TMA from 1025 tokens: 0.96-0.98 x at 4096), and the committed
# benchmark beside the default, in one call of at most ~580 s (scripts/gate_and_bench.sh):
#   precompile (80 s) the default's kernels and the TMA and gather ones; beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) where the candidate's new code runs, at an engine's split count
#   gate (170 s): nightly checks of the candidate on mhc_pre, fused_post_pre, pre_big_fuse, prenorm_gemm
#   bench (330 s): every backend side by side, the candidate beside `tilelang`, both H, T = 1 .. 80 000
#     and 768 / 1536, graph-replayed up to 4096 tokens
# Adopt (TileLangDecode.sinkhorn_layout = "gather", op_gemm_tma_from_tokens = 1025) only where the gate
# passes, every stress run shows 0 failures and the bench shows the candidate no slower.
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 590 bash results/gpu/2026-12-05-h100-engines-9/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=mhc_kernels.tilelang.mid_probes:TileLangGatherOpTma \
  PRECOMPILE_PROBES="--probes-matching ,tma] --probes-matching ,gather]" PRECOMPILE_S=80 STRESS_S=80 GATE_S=170 \
  BENCH_S=330 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse prenorm_gemm" \
  STRESS="mhc_pre:16,32 pre_big_fuse:32,1024 fused_post_pre:32 prenorm_gemm:1024,1025,4096" \
  BENCH_TOKENS=1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000 \
  bash scripts/gate_and_bench.sh "$O"
