#!/usr/bin/env bash
# Lease call 2 of the fourteenth session, on call 1's warm machine (its kernels and the rivals' compiled):
# the full benchmark of TileLangNarrowBt16, the one candidate among ours, that call 1's cold run could not
# finish inside its cap (344 of 650 rows in 324 s, the rest compiles). 183 s warm.
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 575 bash results/gpu/2026-12-05-h100-engines-11/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 STAGES=bench BENCH_DEFAULT=0 BENCH_S=560 \
  bash scripts/gate_and_bench.sh "$O"
