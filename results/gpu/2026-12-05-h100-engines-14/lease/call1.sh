#!/usr/bin/env bash
# Lease call 1 of the seventeenth session (a fresh machine, at most ~585 s): the gate of
# mid_probes.TileLangPreBigFuseNoPdlFn3First, two changes that each claim the default's bits, and in the
# same call the full benchmark with it as ours: once the gate passes and both become the default's, this is
# the committed run.
#   - the pre_big_fuse op without PDL where its residual and layer_input are 35-50 MB (TileLangPreBigFuseNoPdl,
#     -13 call 2: bitwise the default there, 9.8 against 14.1 us at 576 x 7168);
#   - the tensor-core decode GEMM (mhc_pre, fused_post_pre at 17-32 tokens) staging fn3 before its PDL wait
#     (TileLangWgmmaFnBeforeWait; new, for the floor still missed: mhc_pre 8.6 us at 32 x 7168).
#   precompile (110 s): the default's kernels and the probe's ("no_pdl", "fn3_before_wait") at both H; beside
#     it 1000 stress reruns each (every third a CUDA-graph replay) at mhc_pre 24 / 32, fused_post_pre 32,
#     pre_big_fuse 512 / 576 / 640 (H = 7168: 489-697 tokens run without PDL)
#   gate (90 s): nightly checks of mhc_pre, fused_post_pre and pre_big_fuse; beside them
#     scripts/debug/probe_bitwise_check.py, the probe against the default (eager, reruns, a graph replay):
#     mhc_pre / fused_post_pre at 17 / 24 / 32 tokens (the reruns are where fn3 comes from the cache, before
#     the wait), pre_big_fuse at 512 / 576 / 640 / 1024, both H
#   bench (375 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to
#     4096 tokens (-12's call 3 completed in 354 s). A failed gate voids it.
# Usage: W=/tmp/c1s17; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-14/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1s17        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes:TileLangPreBigFuseNoPdlFn3First
export BACKEND=$P BENCH_DEFAULT=0 PRECOMPILE_S=110 STRESS_S=110 GATE_S=90 BENCH_S=375 \
  PRECOMPILE_PROBES="--probes-matching no_pdl --probes-matching fn3_before_wait" \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" STRESS="mhc_pre:24,32 fused_post_pre:32 pre_big_fuse:512,576,640"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  timeout -k 5 90 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre,fused_post_pre \
    --tokens 17,24,32 --hidden 4096,7168 > "$O/bitwise-fn3.log" 2>&1
  timeout -k 5 60 python3 scripts/debug/probe_bitwise_check.py --probe $P --op pre_big_fuse \
    --tokens 512,576,640,1024 --hidden 4096,7168 > "$O/bitwise-no-pdl.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
STAGES=bench bash scripts/gate_and_bench.sh "$O"
