#!/usr/bin/env bash
# The next session's first lease call (at most ~560 s, on a fresh machine): the committed run in one process, with
# the time the whole grid needs, and the profile of the two points issue 16 still has open at H = 7168. -24's
# committed run needed two processes: -23's call2.sh gave its bench 290 s, and 633 of the grid's rows took that.
#   precompile (70 s): the default's kernels at both H (no probes)
#   profile (30 s): hc_post at 256 x 7168 beside vLLM's TileLang (2-4 % faster in -24's repeats), and mhc_pre at
#     32 x 7168 (8.0-8.2 us against 8 asked), graph-replayed
#   bench (440 s): the default alone as ours beside every other backend, T = 1 .. 80 000, both H, graph-replayed up
#     to 4096 tokens. Its bench.jsonl now gives each row's at_s, so where the time goes is on record.
# Usage: W=$OUT/n; mkdir -p $W; timeout -k 5 570 bash results/gpu/2026-12-07-h100-engines-24/lease/next.sh $W \
#        > $W/log 2>&1; cat $W/summary.txt     (carry .gpu-site: all four bundles)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  stage "profile"
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
    --op hc_post --op mhc_pre --tokens 32,256 --hidden 7168 --mode graph --out "$O/prof.md" > "$O/prof.log" 2>&1 )
BACKEND=tilelang BENCH_S=440 STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 30
  echo "-- headline"; python3 -m mhc_verify.bench_report "$O/bench" --headline 1,8,32,256,1024,4096,65536,80000
  echo "-- prof"; head -c 4000 "$O/prof.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
