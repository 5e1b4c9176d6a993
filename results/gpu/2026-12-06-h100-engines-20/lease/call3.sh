#!/usr/bin/env bash
# Lease call 3 of the twenty-third session (a fresh machine, at most ~385 s): the committed run of the new default
# (the op's plain window from 257 tokens, adopted from call 1's gate) from the committed tree itself, a second
# whole-grid run beside call 1's (which timed the same kernels as mid_probes.TileLangOpPlainFrom257 on the tree before):
#   precompile (70 s): the default's kernels at both H (no probes)
#   bench (290 s): the default alone as ours beside every other backend, the issue's T = 1 .. 80 000, both H,
#     graph-replayed up to 4096 tokens
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 385 bash results/gpu/2026-12-06-h100-engines-20/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" BENCH_S=290 STAGES="precompile bench" \
  bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 30
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
