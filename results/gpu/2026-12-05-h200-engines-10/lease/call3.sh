#!/usr/bin/env bash
# Lease call 3 of the thirteenth session: the gate of mid_probes.TileLangNarrowBt16 (the FMA decode GEMM at
# 16 tokens a CTA for 9-16 tokens; call 2 timed it 0.93-0.97 x the default there), in one call of at
# most ~195 s (scripts/gate_and_bench.sh for precompile, stress and gate):
#   precompile (70 s): the default's kernels and the block_t 16 GEMMs; beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) at 9 and 16 tokens (mhc_pre), 12 and 16 (fused_post_pre), 16
#     (prenorm_gemm)
#   gate (95 s): nightly checks of the probe on mhc_pre, fused_post_pre and prenorm_gemm, the ops whose
#     decode GEMM it changes (the op's decode path takes the same plan)
#   bench (20 s): the prenorm_gemm op at 9-16 tokens, the probe beside the default (call 2 timed mhc_pre
#     and fused_post_pre only)
# Adopt (DECODE_GEMM_PLAN's block_t 16 row to 16 tokens) only where the gate passes, every stress run
# shows 0 failures and the op is no slower.
# Usage: W=/tmp/c5; mkdir -p $W; timeout -k 5 195 bash results/gpu/2026-12-05-h200-engines-10/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c5.tar.xz -C /tmp c5        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 STAGES="precompile gate" \
  PRECOMPILE_PROBES="--probes-matching block_t=16" PRECOMPILE_S=70 STRESS_S=70 GATE_S=95 \
  GATE_OPS="mhc_pre fused_post_pre prenorm_gemm" STRESS="mhc_pre:9,16 fused_post_pre:12,16 prenorm_gemm:16" \
  bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 20 python3 -m mhc_verify.bench --backend tilelang \
  --backend mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 --op prenorm_gemm --tokens 8,9,12,16,17 \
  --hidden 7168,4096 --mode graph --precompile off --ours tilelang --ours tilelang-narrow-bt16 --out "$O/bench" \
  --force > "$O/bench.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
