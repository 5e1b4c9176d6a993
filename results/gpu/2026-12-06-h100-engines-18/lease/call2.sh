#!/usr/bin/env bash
# Lease call 2 of the twenty-first session (a fresh machine, at most ~560 s): the committed run of the new default
# (the twentieth session's deep shape at 385-1024 tokens, never benched complete; call 1's hc_post_wide on a flat
# grid above 4096 tokens, gated there):
#   precompile (90 s): the default's kernels
#   bench (360 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to 4096
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-18/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
export BACKEND=tilelang PRECOMPILE_S=90 BENCH_S=360 PRECOMPILE_PROBES="" STRESS=""
STAGES="precompile bench" bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"failed"|"compiled"' "$O/precompile.log"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 40
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
