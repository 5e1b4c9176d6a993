#!/usr/bin/env bash
# Lease call 1 of the thirteenth session: the gate of mid_probes.TileLangNarrowSums (the twelfth's
# candidate default TileLangGatherOpTma, the gather Sinkhorn and the op's TMA GEMM from 1025 tokens, plus
# decode_pre's narrow sums) and the full benchmark with it beside the default, in one call of at most
# ~575 s (scripts/gate_and_bench.sh):
#   precompile (90 s): the default's kernels and the TMA, gather and narrow ones (344 configurations);
#     beside it 1000 stress reruns each (every third a CUDA-graph replay) of the candidate where its new
#     code runs; after the precompile (40 s) the narrow sums bitwise against TileLangGatherOpTma
#   gate (145 s): nightly checks of the candidate on mhc_pre, fused_post_pre, pre_big_fuse, prenorm_gemm
#   bench (330 s): every backend side by side, the candidate beside `tilelang`, both H, T = 1 .. 80 000
#     and 768 / 1536, graph-replayed up to 4096 tokens: the committed run
# Adopt (TileLangDecode.sinkhorn_layout = "gather", op_gemm_tma_from_tokens = 1025,
# decode_pre_narrow_sums = True) only where the gate passes, every stress run shows 0 failures and the
# bench shows the candidate no slower. Call 2 profiles and times the probes on top.
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h200-engines-10/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
( sleep "${BITWISE_DELAY:-90}"  # after the precompile (its kernels compiled last); its own 40 s cap
  source scripts/device_env.sh
  PYTHONWARNINGS=ignore timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangNarrowSums \
    --against $P:TileLangGatherOpTma --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,16,32 --hidden 7168,4096 \
    > "$O/bitwise-narrow.log" 2>&1 ) &
BACKEND=$P:TileLangNarrowSums \
  PRECOMPILE_PROBES="--probes-matching ,tma] --probes-matching ,gather] --probes-matching ,narrow_sums]" \
  PRECOMPILE_S=90 STRESS_S=90 GATE_S=145 BENCH_S=330 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse prenorm_gemm" \
  STRESS="mhc_pre:16,32 pre_big_fuse:32,1024 fused_post_pre:32 prenorm_gemm:1024,1025,4096" \
  BENCH_TOKENS=1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000 \
  bash scripts/gate_and_bench.sh "$O"
wait
