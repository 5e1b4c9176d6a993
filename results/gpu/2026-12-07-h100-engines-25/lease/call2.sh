#!/usr/bin/env bash
# Lease call 2 of the twenty-eighth session (at most ~540 s): the committed run of the default with call 1's adoption
# (the hc_post op through a cp.async pipeline at 225-320 x 7168 and 225-448 x 4096), in one process with the time the
# whole grid needs (-24/lease/next.sh's plan, less its profile: call 1 profiled hc_post and mhc_pre at 32 / 256 x 7168).
#   precompile (70 s): the default's kernels at both H (no probes)
#   bench (450 s): the default alone as ours beside every other backend, T = 1 .. 80 000, both H, graph-replayed up
#     to 4096 tokens
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-07-h100-engines-25/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt   (carry .gpu-site: site, vllm-,
#        sglang-, aiter-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" STAGES=precompile bash scripts/gate_and_bench.sh "$O"
BACKEND=tilelang BENCH_S=450 STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 30
  echo "-- headline"; python3 -m mhc_verify.bench_report "$O/bench" --headline 1,8,32,256,1024,4096,65536,80000
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
