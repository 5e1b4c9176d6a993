#!/usr/bin/env bash
# For the next session's first call (a cold machine, at most ~450 s): the gate of
# mid_probes.TileLangEarlySinkhornMid, TileLangEarlySinkhorn (call 5: 0.84-0.97 x the default's time up to
# 128 tokens, bitwise the default on 180 GPU checks) plus the middle pre's early constants (built after
# call 5, bitwise on the CPU emulator, never run on a GPU). next-bench.sh, on the same warm machine, times
# the two beside the default and runs the full benchmark of the gated one:
#   precompile (180 s): the default's kernels and every kernel with early constants (the probe's fused
#     pres: decode_pre and the middle pre, with norm, one buffer); beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) where the probe's code runs: mhc_pre at 1 / 16 / 32 (decode_pre)
#     and 64 / 256 (the middle pre), fused_post_pre at 16 and 128, pre_big_fuse at 16 (decode_pre on the
#     caller's partials), 64 and 512
#   gate (200 s): nightly checks of the probe on mhc_pre, fused_post_pre and pre_big_fuse
#   bitwise (45 s): the probe against the default on pre_big_fuse (call 5's check stopped before it) and
#     mhc_pre at the middle path's counts (its new change), 1-512 tokens
# Adopt (TileLangDecode.sinkhorn_layout = "gather_rcp", decode_pre_early_constants and
# mid_pre_early_constants True) only where the gate passes, every stress run shows 0 failures, the
# bitwise check says ALL OK and next-bench.sh shows it no slower than TileLangEarlySinkhorn.
# Usage: W=/tmp/g1; mkdir -p $W; timeout -k 5 450 bash results/gpu/2026-12-05-h100-engines-11/lease/next-gate.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/g1.tar.xz -C /tmp g1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangEarlySinkhornMid STAGES="precompile gate" PRECOMPILE_PROBES="--probes-matching early_constants" \
  PRECOMPILE_S=180 STRESS_S=180 GATE_S=200 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" \
  STRESS="mhc_pre:1,16,32,64,256 fused_post_pre:16,128 pre_big_fuse:16,64,512" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
echo "== $(date -u +%T) bitwise" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 45 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangEarlySinkhornMid \
  --against tilelang --op pre_big_fuse,mhc_pre --tokens 1,16,64,256,512 --hidden 7168,4096 > "$O/bitwise.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
