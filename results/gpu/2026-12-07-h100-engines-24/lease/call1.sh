#!/usr/bin/env bash
# Lease call 1 of the twenty-seventh session (at most ~560 s, on a fresh machine): -23's two unrun calls in one, to
# pay for one machine start instead of two (the twenty-sixth session lost its device time to starts):
#   c3/ (~255 s): -23's lease/call3.sh, mid_probes.TileLangOpCoResident gated and timed beside the default and
#       DeepGEMM (its precompile builds the default's kernels at both H, which the bench below then reuses)
#   c2/ (290 s): the committed run of the default (loads-first chunk_sum, adopted in -23) from the committed tree:
#       every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to 4096 tokens
# Usage: W=$OUT/c; mkdir -p $W; timeout -k 5 580 bash results/gpu/2026-12-07-h100-engines-24/lease/call1.sh $W \
#        > $W/log 2>&1; cat $W/summary.txt     (carry .gpu-site: all four bundles)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O/c3" "$O/c2"
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
stage "c3: -23's call3.sh"
timeout -k 5 255 bash results/gpu/2026-12-07-h100-engines-23/lease/call3.sh "$O/c3" > "$O/c3/log" 2>&1
cp "$O/c3/gpu.csv" "$O/c2/gpu.csv" 2>/dev/null
stage "c2: the committed run"
BACKEND=tilelang BENCH_S=290 STAGES="bench" bash scripts/gate_and_bench.sh "$O/c2" > "$O/c2/log" 2>&1
stage done
{ cat "$O/timeline.txt"; echo "-- c3"; cat "$O/c3/summary.txt"
  echo "-- c2"; cat "$O/c2/timeline.txt"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/c2/bench/bench.md" | head -n 30
  echo "-- headline"; python3 -m mhc_verify.bench_report "$O/c2/bench" --headline 1,8,32,256,1024,4096,65536,80000
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
