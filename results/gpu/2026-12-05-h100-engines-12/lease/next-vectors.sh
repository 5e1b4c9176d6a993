#!/usr/bin/env bash
# For the next session's first call (a fresh machine, at most ~490 s): the gate and the timing of
# mid_probes.TileLangSinkhornVectors (sinkhorn.py's "vectors" layout: Sinkhorn on the scaling vectors,
# no shuffle and no division on the chain; built after call 6 put the default's Sinkhorn at 1.7 us of
# mhc_pre's 8.1 / 8.9 us at 16 / 32 x 7168; CPU-emulated only, never run on a GPU). Not the default's
# bits (other roundings), so its gate is the full one:
#   precompile (150 s): the default's kernels and the probe's fused pres (",vectors"); beside it 1000
#     stress reruns each (every third a CUDA-graph replay) of mhc_pre at 1 / 16 / 32 (decode_pre) and 64 /
#     256 (the middle pre), fused_post_pre at 16 / 128, pre_big_fuse at 16 / 512
#   gate (200 s): nightly checks of the probe on mhc_pre, fused_post_pre and pre_big_fuse
#   share (60 s): scripts/debug/sinkhorn_share.py, the default and the probe at 1 / 16 / 32 tokens
#   bench (60 s): the default and the probe side by side, mhc_pre / fused_post_pre / pre_big_fuse at 1-1024
#     tokens, both H, graph-replayed
# Adopt only where the gate passes, every stress run shows 0 failures, and the bench shows it faster;
# then a committed full benchmark (-12/lease/call3.sh's shape) of the new default.
# Usage: W=/tmp/v1; rm -rf $W; mkdir -p $W; timeout -k 5 490 bash results/gpu/2026-12-05-h100-engines-12/lease/next-vectors.sh \
#        $W > $W/log 2>&1; tar -cJf $OUT/v1.tar.xz -C /tmp v1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangSinkhornVectors STAGES="precompile gate" PRECOMPILE_PROBES="--probes-matching ,vectors" \
  PRECOMPILE_S=150 STRESS_S=150 GATE_S=200 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" \
  STRESS="mhc_pre:1,16,32,64,256 fused_post_pre:16,128 pre_big_fuse:16,512" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
echo "== $(date -u +%T) share" | tee -a "$O/timeline.txt"
timeout -k 5 60 python3 scripts/debug/sinkhorn_share.py --backend tilelang --backend $P:TileLangSinkhornVectors \
  --tokens 1,16,32 --hidden 7168,4096 --out "$O/sinkhorn-share.md" > "$O/sinkhorn-share.log" 2>&1
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 5 60 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangSinkhornVectors \
  --op mhc_pre --op fused_post_pre --op pre_big_fuse --tokens 1,16,32,64,128,256,512,1024 --hidden 7168,4096 \
  --mode graph --precompile off --ours tilelang --ours tilelang-sinkhorn-vectors --out "$O/bench-vectors" --force \
  > "$O/bench-vectors.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
