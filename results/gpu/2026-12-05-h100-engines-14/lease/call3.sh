#!/usr/bin/env bash
# call2.sh cut to the session's last ~170 s of device time (either card: the comparison is side by side):
# H = 7168 and mhc_pre only, no precompile (each process compiles what it first calls; the next ones find
# TileLang's disk cache).
#   bitwise (70 s): TileLangWgmmaFnBeforeWait against the default at 24 / 32 tokens (its reruns read fn3 from
#     the cache: the kernel under test), eager, reruns, a graph replay
#   stress (30 s): 1000 reruns at 32 tokens, every third a graph replay, judged every 100th
#   bench (45 s): the default and the probe side by side at 16 / 24 / 32 tokens, graph-replayed
# Usage: W=/tmp/c3s17; rm -rf $W; mkdir -p $W; timeout -k 5 170 bash results/gpu/2026-12-05-h100-engines-14/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3s17        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
P=mhc_kernels.tilelang.mid_probes:TileLangWgmmaFnBeforeWait
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
echo "== $(date -u +%T) bitwise" | tee -a "$O/timeline.txt"
timeout -k 5 70 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre --tokens 24,32 --hidden 7168 \
  > "$O/bitwise.log" 2>&1
echo "== $(date -u +%T) stress" | tee -a "$O/timeline.txt"
timeout -k 5 30 python3 -m mhc_verify stress --backend $P --op mhc_pre --tokens 32 --hidden 7168 --reruns 1000 \
  --judge-every 100 --cuda-graph --out "$O/stress" --no-progress > "$O/stress.log" 2>&1
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang \
  --ours tilelang-wgmma-fn-before-wait --op mhc_pre --tokens 16,24,32 --hidden 7168 \
  --mode graph --precompile off --out "$O/bench-fn3" --force > "$O/bench-fn3.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
