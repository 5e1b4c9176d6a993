#!/usr/bin/env bash
# For the next session's first call (a cold machine, at most ~440 s): the gate of
# mid_probes.TileLangEarlySinkhorn (call 5: 0.85-0.97 x the default's time up to 128 tokens, bitwise the
# default on 180 GPU checks), then, on the same warm machine, scripts/gate_and_bench.sh with
# STAGES=bench BENCH_DEFAULT=0 BACKEND=<the same> (about 190 s warm) is the committed run if it passes:
#   precompile (170 s): the default's kernels and every gather_rcp kernel (with norm, one buffer); beside
#     it 1000 stress reruns each (every third a CUDA-graph replay) where the probe's code runs: mhc_pre at
#     1 / 16 / 32 (decode_pre) and 64 / 256 (the middle pre), fused_post_pre at 16 and 128,
#     pre_big_fuse at 16 (decode_pre on the caller's partials), 64 and 512
#   gate (200 s): nightly checks of the probe on mhc_pre, fused_post_pre and pre_big_fuse
#   bitwise (45 s): pre_big_fuse against the default (call 5's check stopped before it), 1-512 tokens
# Adopt (TileLangDecode.sinkhorn_layout = "gather_rcp", decode_pre_early_constants = True) only where the
# gate passes, every stress run shows 0 failures and the bitwise check says ALL OK.
# Usage: W=/tmp/g1; mkdir -p $W; timeout -k 5 440 bash results/gpu/2026-12-05-h100-engines-11/lease/next-gate.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/g1.tar.xz -C /tmp g1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangEarlySinkhorn STAGES="precompile gate" PRECOMPILE_PROBES="--probes-matching gather_rcp" \
  PRECOMPILE_S=170 STRESS_S=170 GATE_S=200 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" \
  STRESS="mhc_pre:1,16,32,64,256 fused_post_pre:16,128 pre_big_fuse:16,64,512" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
echo "== $(date -u +%T) bitwise" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 45 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangEarlySinkhorn \
  --against tilelang --op pre_big_fuse --tokens 1,16,32,64,256,512 --hidden 7168,4096 > "$O/bitwise.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
