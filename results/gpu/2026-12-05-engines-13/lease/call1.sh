#!/usr/bin/env bash
# Lease call 1 of the sixteenth session (a fresh machine, at most ~580 s): -12/lease/next-vectors.sh (the
# full gate and the timing of mid_probes.TileLangSinkhornVectors beside the default), then on the same warm
# machine scripts/debug/l2_window.py: are the L2 window's losses (pre_big_fuse 512 x 7168 against
# TileKernels, hc_post 512 x 4096 against vLLM) the rival's data surviving from one replay to the next?
# Each op replayed with its inputs rotating over k = 1 / 2 / 4 copies (k = 1: the benchmark's replay).
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 580 bash results/gpu/2026-12-05-engines-13/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
timeout -k 5 480 bash results/gpu/2026-12-05-h100-engines-12/lease/next-vectors.sh "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
echo "== $(date -u +%T) l2-window" | tee -a "$O/timeline.txt"
timeout -k 5 45 python3 scripts/debug/l2_window.py --backend tilelang --backend tile_kernels --op pre_big_fuse \
  --tokens 384,512,576,640 --hidden 7168 --out "$O/l2-pre-big-fuse.md" > "$O/l2-pre-big-fuse.log" 2>&1
timeout -k 5 40 python3 scripts/debug/l2_window.py --backend tilelang --backend vllm-tilelang --op hc_post \
  --tokens 384,512,640 --hidden 4096 --out "$O/l2-hc-post.md" > "$O/l2-hc-post.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
