#!/usr/bin/env bash
# Lease call 3 of the sixteenth session (a fresh machine, at most ~585 s): the gate of the new default after
# calls 1-2 (mhc_pre's FMA decode GEMM with fn staged before its PDL wait, TileLangDecode.decode_gemm_fn_before_wait;
# the pre_big_fuse op without PDL where its data is 35-50 MB, TileLangDecode.no_pdl_megabytes; both bitwise the
# old default, calls 1-2) and, in the same call, the committed benchmark of it:
#   precompile (110 s): the default's kernels at both H; beside it 1000 stress reruns each (every third a
#     CUDA-graph replay) of mhc_pre at 1 / 8 / 16 and pre_big_fuse at 512 / 576 / 640 (H = 7168: 489-697
#     tokens run without PDL)
#   gate (90 s): nightly checks of the default on mhc_pre and pre_big_fuse (call 1's three took 62 s)
#   bench (375 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to
#     4096 tokens (-12's call 3 completed in 354 s). A failed gate voids it.
# Usage: W=/tmp/c3s16; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-13/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3s16        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang STAGES="precompile gate bench" PRECOMPILE_PROBES="" PRECOMPILE_S=110 STRESS_S=110 GATE_S=90 \
  BENCH_S=375 GATE_OPS="mhc_pre pre_big_fuse" STRESS="mhc_pre:1,8,16 pre_big_fuse:512,576,640" \
  bash scripts/gate_and_bench.sh "$O"
