#!/usr/bin/env bash
# Lease call 3 of the twenty-first session (a fresh machine, at most ~450 s): the nightly checks of the committed
# default (call 2's benchmark) on the ops call 1's gate did not check as it runs: mhc_pre, pre_big_fuse and
# prenorm_gemm (call 1 checked the op with the four-stage probe), three at a time, then hc_head. Each with the
# nightly profile's path anchors (both sides of every threshold of TileLangDecode.path_boundaries up to 4097 tokens
# at H = 7168), which no GPU had run for these ops.
#   precompile (80 s): the default's kernels
#   gate (160 s): mhc_pre, pre_big_fuse, prenorm_gemm side by side; then (120 s) hc_head
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 450 bash results/gpu/2026-12-06-h100-engines-18/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
export BACKEND=tilelang PRECOMPILE_S=80 PRECOMPILE_PROBES="" STRESS=""
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
GATE_S=160 GATE_OPS="mhc_pre pre_big_fuse prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
GATE_S=120 GATE_OPS="hc_head" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done } > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
