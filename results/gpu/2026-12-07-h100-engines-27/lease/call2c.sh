#!/usr/bin/env bash
# Lease call 2c of the thirtieth session (ran: 99 s on call 2b's warm machine, whose .tilelang-cache and the engines'
# JIT caches held every kernel): the committed run of the default, the whole grid in one process. The same bench as
# -26/lease/call2.sh's (every backend, T = 1 .. 80 000, both H, graph-replayed to 4096 tokens), without its precompile
# stage; on a fresh machine run -26/lease/call2.sh with BENCH_S=540 and a 600 s call instead (its 560 s cut this
# session's first try off in the bench: the compiles took 107 s of its precompile and most of its bench).
# Usage: W=/tmp/c2c; mkdir -p $W; bash results/gpu/2026-12-07-h100-engines-27/lease/call2c.sh $W > $W/log 2>&1; \
#        tar -cJf $OUT/c2c.tar.xz -C /tmp c2c   (carry .gpu-site: site, vllm-, sglang-, aiter-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang BENCH_S=${BENCH_S:-540} STAGES=bench bash scripts/gate_and_bench.sh "$O"
