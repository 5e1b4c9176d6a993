#!/usr/bin/env bash
# Lease call 2 of the seventeenth session (a fresh machine, at most ~230 s, the session's last device time):
# the tensor-core decode GEMM's fn3 staged before its PDL wait, second version. Call 1 measured the first
# (T.copy before the wait) at +4-5 us at 32 tokens: its loads and shared stores interleaved, each load behind
# the store before it. The second loads every 16-byte piece into registers first, then stores them.
#   precompile (110 s): the default's kernels and the probe's ("fn3_before_wait")
#   bitwise (40 s): mid_probes.TileLangWgmmaFnBeforeWait against the default, mhc_pre / fused_post_pre at 17 /
#     32 tokens, both H (the reruns read fn3 from the cache: the kernel under test)
#   stress (30 s): 1000 reruns of mhc_pre at 32 x 7168, every third a graph replay, judged every 100th
#   bench (50 s): the default and the probe side by side at 16 / 24 / 32 tokens, both H, graph-replayed
# Usage: W=/tmp/c2s17; rm -rf $W; mkdir -p $W; timeout -k 5 235 bash results/gpu/2026-12-05-h100-engines-14/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2s17        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
P=mhc_kernels.tilelang.mid_probes:TileLangWgmmaFnBeforeWait
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
echo "== $(date -u +%T) precompile" | tee -a "$O/timeline.txt"
timeout -k 5 110 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes-matching fn3_before_wait \
  > "$O/precompile.log" 2>&1
echo "== $(date -u +%T) bitwise" | tee -a "$O/timeline.txt"
timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre,fused_post_pre --tokens 17,32 \
  --hidden 4096,7168 > "$O/bitwise.log" 2>&1
echo "== $(date -u +%T) stress" | tee -a "$O/timeline.txt"
timeout -k 5 30 python3 -m mhc_verify stress --backend $P --op mhc_pre --tokens 32 --hidden 7168 --reruns 1000 \
  --judge-every 100 --cuda-graph --out "$O/stress" --no-progress > "$O/stress.log" 2>&1
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 5 50 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang \
  --ours tilelang-wgmma-fn-before-wait --op mhc_pre --op fused_post_pre --tokens 16,24,32 --hidden 7168,4096 \
  --mode graph --precompile off --out "$O/bench-fn3" --force > "$O/bench-fn3.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
