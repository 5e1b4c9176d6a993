#!/usr/bin/env bash
# Lease call 3 (for the seventeenth session; a fresh machine, at most ~585 s): the gate of
# mid_probes.TileLangPreBigFuseNoPdl (the pre_big_fuse op without PDL where its residual and layer_input are
# 35-50 MB; bitwise the default there, call 2) and, in the same call, the full benchmark with it as ours
# (its kernels are the default's elsewhere, and mhc_pre's fn before the wait, adopted after calls 1-2, is in
# both): once the gate passes and its no_pdl_megabytes becomes the default's, this is the committed run.
#   precompile (110 s): the default's kernels and the probe's ("no_pdl") at both H; beside it 1000 stress
#     reruns each (every third a CUDA-graph replay) of mhc_pre at 1 / 8 / 16 and pre_big_fuse at 512 / 576 /
#     640 (H = 7168: 489-697 tokens run without PDL)
#   gate (90 s): nightly checks on mhc_pre and pre_big_fuse (call 1's three took 62 s)
#   bench (375 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to
#     4096 tokens (-12's call 3 completed in 354 s). A failed gate voids it.
# Usage: W=/tmp/c3s16; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-13/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3s16        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=mhc_kernels.tilelang.mid_probes:TileLangPreBigFuseNoPdl BENCH_DEFAULT=0 STAGES="precompile gate bench" \
  PRECOMPILE_PROBES="--probes-matching no_pdl" PRECOMPILE_S=110 STRESS_S=110 GATE_S=90 BENCH_S=375 \
  GATE_OPS="mhc_pre pre_big_fuse" STRESS="mhc_pre:1,8,16 pre_big_fuse:512,576,640" bash scripts/gate_and_bench.sh "$O"
