#!/usr/bin/env bash
# The next session's first lease call (a fresh machine, at most ~560 s): the gate of mid_probes.TileLangOpPlainFrom257
# (the default's plain window from 257 tokens instead of 321; this session's calls 1-2: 0.76-0.89 x the default's
# time at 257-320 tokens) and the committed run with it as ours:
#   precompile (90 s): the default's kernels (the probe's are among them) and TileLangOpPlainDeep's six-stage one;
#     beside it 1000 stress reruns of the probe at the op's 257 / 288 / 320 tokens (H = 7168), and from 40 s the GPU
#     bit test of the plain window's four against six stages (call 1 gated the six-stage kernel)
#   gate (90 s): the probe's nightly check of prenorm_gemm, with the path anchors (256 / 257, 704 / 705)
#   bench (360 s): the probe alone as ours (BENCH_DEFAULT=0) beside every other backend, the issue's T = 1 .. 80 000,
#     both H, graph-replayed up to 4096: the committed run if the gate passes (the default then takes the window)
# Usage: W=/tmp/n1; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-19/lease/next.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/n1.tar.xz -C /tmp n1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
export BACKEND=mhc_kernels.tilelang.mid_probes:TileLangOpPlainFrom257 PRECOMPILE_S=90 STRESS_S=80 GATE_S=90 \
  BENCH_S=360 BENCH_DEFAULT=0 PRECOMPILE_PROBES="--probes-matching stages=6" STRESS="prenorm_gemm:257,288,320" \
  GATE_OPS="prenorm_gemm" GPU_BITS="plain_windows"
STAGES="precompile gate bench" bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  echo "-- gpu-bits"; tail -n 4 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 40
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
