#!/usr/bin/env bash
# Lease call 3 of the fifteenth session (a fresh machine): the committed benchmark of the default after
# the adoption of the gathered-reciprocal Sinkhorn and both fused pres' early constants (calls 1-2 gated
# and timed them as mid_probes.TileLangEarlySinkhornMid, -11/lease/next-gate.sh and next-bench.sh), in one
# call of at most ~580 s:
#   precompile (170 s): the default's kernels at both H, 16 processes (no probe: call 4's are the default's)
#   bench (400 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to
#     4096 tokens; the rivals compile at their first rows (call 2's run of the candidate reached 427 of
#     ~650 rows in 210 s that way)
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-12/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang STAGES="precompile bench" PRECOMPILE_PROBES="" PRECOMPILE_S=170 BENCH_S=400 \
  bash scripts/gate_and_bench.sh "$O"
