#!/usr/bin/env bash
# For the next session's second call, on next-gate.sh's warm machine (its kernels compiled; ~260 s):
#   bench-early (40 s): the default, TileLangEarlySinkhorn and TileLangEarlySinkhornMid side by side,
#     mhc_pre / fused_post_pre / pre_big_fuse at 1-1024 tokens, both H, graph-replayed
#   bench (210 s): every backend side by side with TileLangEarlySinkhornMid alone among ours, the issue's
#     T = 1 .. 80 000: the committed run if next-gate.sh's gate passed and it is adopted
# Usage: W=/tmp/g2; mkdir -p $W; timeout -k 5 270 bash results/gpu/2026-12-05-h100-engines-11/lease/next-bench.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/g2.tar.xz -C /tmp g2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
echo "== $(date -u +%T) bench-early" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangEarlySinkhorn \
  --backend $P:TileLangEarlySinkhornMid --op mhc_pre --op fused_post_pre --op pre_big_fuse \
  --tokens 1,16,32,64,128,256,512,1024 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-early-sinkhorn --ours tilelang-early-sinkhorn-mid --out "$O/bench-early" --force > "$O/bench-early.log" 2>&1
BACKEND=$P:TileLangEarlySinkhornMid STAGES=bench BENCH_DEFAULT=0 BENCH_S=210 bash scripts/gate_and_bench.sh "$O"
