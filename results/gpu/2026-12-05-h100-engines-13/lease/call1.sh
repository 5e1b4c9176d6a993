#!/usr/bin/env bash
# Lease call 1 of the sixteenth session's plan (a fresh machine, at most ~500 s): the full gate of
# mid_probes.TileLangDecodeFloorNext (the scaling-vector Sinkhorn, fn staged before the decode GEMM's PDL
# wait, the FMA decode GEMM to 32 tokens), and its timing beside the default and TileLangSinkhornVectors alone.
# Neither is the default's bits (other roundings in the Sinkhorn; fp32 FMA partials at 17-32 tokens), so:
#   precompile (150 s): the default's kernels and the probes' (",vectors", "fn_before_wait"); beside it 1000
#     stress reruns each (every third a CUDA-graph replay) of the candidate at mhc_pre 1 / 16 / 32 (decode_pre;
#     the FMA GEMM at 32) and 64 / 256 (the middle pre), fused_post_pre 16 / 128, pre_big_fuse 16 / 512
#   gate (200 s): nightly checks of the candidate on mhc_pre, fused_post_pre and pre_big_fuse
#   share (50 s): scripts/debug/sinkhorn_share.py, the default and the candidate at 1 / 16 / 32 tokens, H = 7168
#   bench (80 s): the default, TileLangSinkhornVectors and the candidate side by side, mhc_pre / fused_post_pre /
#     pre_big_fuse at 1-1024 tokens, both H, graph-replayed
# Adopt only where the gate passes, every stress run shows 0 failures, and the bench shows it faster; then a
# committed full benchmark (-12/lease/call3.sh's shape) of the new default.
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 500 bash results/gpu/2026-12-05-h100-engines-13/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangDecodeFloorNext STAGES="precompile gate" \
  PRECOMPILE_PROBES="--probes-matching ,vectors --probes-matching fn_before_wait" \
  PRECOMPILE_S=150 STRESS_S=150 GATE_S=200 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" \
  STRESS="mhc_pre:1,16,32,64,256 fused_post_pre:16,128 pre_big_fuse:16,512" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
echo "== $(date -u +%T) share" | tee -a "$O/timeline.txt"
timeout -k 5 50 python3 scripts/debug/sinkhorn_share.py --backend tilelang --backend $P:TileLangDecodeFloorNext \
  --op mhc_pre --op fused_post_pre --tokens 1,16,32 --hidden 7168 --out "$O/sinkhorn-share.md" \
  > "$O/sinkhorn-share.log" 2>&1
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 5 80 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangSinkhornVectors \
  --backend $P:TileLangDecodeFloorNext --op mhc_pre --op fused_post_pre --op pre_big_fuse \
  --tokens 1,8,16,24,32,64,128,256,512,1024 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-sinkhorn-vectors --ours tilelang-decode-floor-next --out "$O/bench-floor" --force \
  > "$O/bench-floor.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
