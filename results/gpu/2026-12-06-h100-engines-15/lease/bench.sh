#!/usr/bin/env bash
# The benchmark alone (an H100, a fresh machine, at most ~585 s): BACKEND's kernels (default: tilelang, the
# default's; or a gated candidate, alone as ours) precompiled, then every backend side by side on the issue's
# grid (scripts/gate_and_bench.sh's bench stage).
# Usage: W=/tmp/b18; rm -rf $W; mkdir -p $W; BACKEND=tilelang \
#        timeout -k 5 585 bash results/gpu/2026-12-06-h100-engines-15/lease/bench.sh $W > $W/log 2>&1; \
#        tar -cJf $OUT/b.tar.xz -C /tmp b18        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
case "${BACKEND:-tilelang}" in
  *fn3*|*Fn3*) probes="--probes-matching fn3_before_wait";;
  *) probes="";;
esac
BACKEND=${BACKEND:-tilelang} BENCH_DEFAULT=0 STAGES="precompile bench" PRECOMPILE_PROBES="$probes" PRECOMPILE_S=150 \
  BENCH_S=400 bash scripts/gate_and_bench.sh "$O"
