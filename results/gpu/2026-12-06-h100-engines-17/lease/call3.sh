#!/usr/bin/env bash
# Lease call 3 of the twentieth session (a fresh machine, at most ~560 s). Calls 1 and 2 ran a gemm.py whose every
# prenorm GEMM dropped its tiles' sums of squares (a refactor in this session, 769814e; fixed, and
# tests/test_tilelang_compile.py now checks the generated source): both probes' gates failed on it and their times
# were of that kernel. On the fixed tree (the default's GEMMs string for string 8b48ad0's, -16's committed run):
#   precompile (90 s): the default's kernels and the deep shape's; beside it 1000 stress reruns each (every third a
#     CUDA-graph replay) of mid_probes.TileLangMidDeepShape at mhc_pre 512 / 1024 and fused_post_pre 512 (H = 7168)
#   gate (120 s): the deep shape's nightly checks of mhc_pre and fused_post_pre; beside them 1000 stress reruns at
#     mhc_pre 512 / 1024 x 4096, then scripts/debug/split_in_kernel_check.py (the split's bits and times, fixed)
#   bench (300 s): the deep shape alone as ours (BENCH_DEFAULT=0: outside 385-1024 tokens it runs the default's
#     kernels), every rival side by side, the issue's grid: the committed run if the gate passes
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-17/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
D=$P:TileLangMidDeepShape
export BACKEND=$D BENCH_DEFAULT=0 PRECOMPILE_S=90 STRESS_S=90 GATE_S=120 BENCH_S=300 \
  PRECOMPILE_PROBES="--probes-matching mid_deep" GATE_OPS="mhc_pre fused_post_pre" \
  STRESS="mhc_pre:512,1024 fused_post_pre:512"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 50 python3 -m mhc_verify stress --backend $D --op mhc_pre --tokens 512,1024 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/mhc_pre_512-1024_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-mhc_pre_512-1024_h4096.log"
  timeout -k 5 60 python3 scripts/debug/split_in_kernel_check.py > "$O/split-check.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- split-check"; grep -v "INFO\]" "$O/split-check.log" | grep -E "FAIL|time|ALL" | tail -n 12
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 40
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
