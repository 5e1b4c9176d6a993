#!/usr/bin/env bash
# Lease call 1 of the fourteenth session: the gate of mid_probes.TileLangNarrowBt16 (the default with the
# FMA decode GEMM at 16 tokens a CTA for 9-16 tokens; the -10 H200 timed it 0.93-0.97 x the default there)
# and the full benchmark of it, the one candidate among ours, in one call of at most ~575 s:
#   precompile (70 s): the default's kernels and the block_t 16 GEMMs; beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) at 9 and 16 tokens (mhc_pre), 12 and 16 (fused_post_pre), 16
#     (prenorm_gemm)
#   gate (95 s): nightly checks of the candidate on mhc_pre, fused_post_pre and prenorm_gemm, the ops whose
#     decode GEMM it changes (the op's decode path takes the same plan)
#   bench-bt16 (30 s): the candidate beside the default at 8-17 tokens, both H, the three ops
#   bench (345 s): every backend side by side, the candidate alone among ours (BENCH_DEFAULT=0), both H,
#     the issue's T = 1 .. 80 000, graph-replayed up to 4096 tokens: the committed run if it is adopted
# Adopt (DECODE_GEMM_PLAN's block_t 16 row to 16 tokens) only where the gate passes, every stress run
# shows 0 failures and bench-bt16 shows it no slower; else the bench is a record of the candidate only.
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-11/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangNarrowBt16 STAGES="precompile gate" \
  PRECOMPILE_PROBES="--probes-matching block_t=16" PRECOMPILE_S=70 STRESS_S=70 GATE_S=95 \
  GATE_OPS="mhc_pre fused_post_pre prenorm_gemm" STRESS="mhc_pre:9,16 fused_post_pre:12,16 prenorm_gemm:16" \
  bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
echo "== $(date -u +%T) bench-bt16" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 30 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangNarrowBt16 \
  --op mhc_pre --op fused_post_pre --op prenorm_gemm --tokens 8,9,12,16,17 --hidden 7168,4096 --mode graph \
  --precompile off --ours tilelang --ours tilelang-narrow-bt16 --out "$O/bench-bt16" --force > "$O/bench-bt16.log" 2>&1
BACKEND=$P:TileLangNarrowBt16 STAGES=bench BENCH_DEFAULT=0 BENCH_S=345 bash scripts/gate_and_bench.sh "$O"
