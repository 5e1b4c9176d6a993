#!/usr/bin/env bash
# Lease call 6 of the fifteenth session (a fresh machine, ~200 s of the session's last 310): where the
# decode floor's time goes, without touching a kernel. sinkhorn_repeat is a runtime argument of our
# fused pres, so scripts/debug/sinkhorn_share.py times mhc_pre, fused_post_pre and pre_big_fuse at 1 /
# 16 / 32 tokens, both H, graph-replayed, at r = 1 .. 20 repeats: the Sinkhorn chain's cost on the
# critical path (slope, share) and where another path takes over (plateau), for the default
# ("gather_rcp") and TileLangSinkhornGather (the fourteenth session's "gather", constants late).
#   precompile (130 s): the default's kernels and the gather probe's decode_pre (",gather,narrow_sums]")
#   share (90 s)
# Usage: W=/tmp/c6; rm -rf $W; mkdir -p $W; timeout -k 5 235 bash results/gpu/2026-12-05-h100-engines-12/lease/call6.sh \
#        $W > $W/log 2>&1; tar -cJf $OUT/c6.tar.xz -C /tmp c6        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stage precompile
timeout -k 5 130 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes-matching ",gather,narrow_sums]" \
  > "$O/precompile.log" 2>&1
stage share
timeout -k 5 90 python3 scripts/debug/sinkhorn_share.py --backend tilelang \
  --backend mhc_kernels.tilelang.mid_probes:TileLangSinkhornGather --tokens 1,16,32 --hidden 7168,4096 \
  --out "$O/sinkhorn-share.md" > "$O/sinkhorn-share.log" 2>&1
echo "share rc=$?" | tee -a "$O/timeline.txt"
stage done
