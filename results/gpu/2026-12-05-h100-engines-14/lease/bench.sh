#!/usr/bin/env bash
# The committed benchmark of the default (an H100, a fresh machine, at most ~585 s), after gate.sh's
# changes are adopted: the default's kernels precompiled (no probe), then every backend side by side on
# the issue's grid (scripts/gate_and_bench.sh's bench stage), as -12's call 3.
# Usage: W=/tmp/b17; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-05-h100-engines-14/lease/bench.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/b.tar.xz -C /tmp b17        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang STAGES="precompile bench" PRECOMPILE_PROBES="" PRECOMPILE_S=170 BENCH_S=400 \
  bash scripts/gate_and_bench.sh "$O"
