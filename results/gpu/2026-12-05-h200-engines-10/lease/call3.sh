#!/usr/bin/env bash
# Lease call 3 of the thirteenth session: the gate of mid_probes.TileLangNarrowBt16 (the FMA decode GEMM at
# 16 tokens a CTA for 9-16 tokens; call 2 timed it 0.93-0.97 x the default there), in one call of at
# most ~190 s (scripts/gate_and_bench.sh, no bench):
#   precompile (75 s): the default's kernels and the block_t 16 GEMMs; beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) at 9 and 16 tokens (mhc_pre) and 12 and 16 (fused_post_pre)
#   gate (100 s): nightly checks of the probe on mhc_pre and fused_post_pre, the ops whose GEMM it changes
# Adopt (DECODE_GEMM_PLAN's block_t 16 row to 16 tokens) only where the gate passes and every stress run
# shows 0 failures.
# Usage: W=/tmp/c5; mkdir -p $W; timeout -k 5 195 bash results/gpu/2026-12-05-h200-engines-10/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c5.tar.xz -C /tmp c5        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 STAGES="precompile gate" \
  PRECOMPILE_PROBES="--probes-matching block_t=16" PRECOMPILE_S=75 STRESS_S=75 GATE_S=100 \
  GATE_OPS="mhc_pre fused_post_pre" STRESS="mhc_pre:9,16 fused_post_pre:12,16" \
  bash scripts/gate_and_bench.sh "$O"
