#!/usr/bin/env bash
# Lease call 2 of the twenty-sixth session (at most ~385 s): the committed run of the new default (chunk_sum with each
# thread's loads ahead of its stores, adopted from call 1, -22's lease/next.sh, which gated it as
# mid_probes.TileLangChunkSumLoadsFirst) from the committed tree itself:
#   precompile (70 s): the default's kernels at both H (no probes)
#   bench (290 s): the default alone as ours beside every other backend, the issue's T = 1 .. 80 000, both H,
#     graph-replayed up to 4096 tokens
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 385 bash results/gpu/2026-12-07-h100-engines-23/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt     (carry .gpu-site: all four bundles)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" BENCH_S=290 STAGES="precompile bench" \
  bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 30
  echo "-- headline"; python3 -m mhc_verify.bench_report "$O/bench" --headline 1,8,32,256,1024,4096,65536,80000
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
