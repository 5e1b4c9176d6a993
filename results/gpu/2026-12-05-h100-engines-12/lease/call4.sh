#!/usr/bin/env bash
# Lease call 4 of the fifteenth session, on call 3's warm machine (every backend compiled): the L2 window,
# where the committed runs lose by the most (pre_big_fuse at 512 x 7168: TileKernels 1.53-1.57 x; hc_post
# at 512 x 4096: vLLM 1.20 x in -11), with two probes whose kernels the default's precompile has:
#   mid_probes.TileLangPreBigFuseDecode: pre_big_fuse on decode_pre (a CTA per 512 columns and token) up to
#     1024 tokens, the residual read by hidden blocks across many CTAs instead of a CTA per token
#   mid_probes.TileLangPostPerToken: hc_post one CTA per token above 256 tokens (post.py's kernel)
# beside the default, TileKernels, vLLM and SGLang at 256-1024 tokens, both H: graph-replayed (bench-l2,
# 60 s), then the same points eager (bench-l2-eager, 50 s: does the window follow the replays?).
# Usage: W=/tmp/c4; rm -rf $W; mkdir -p $W; timeout -k 5 125 bash results/gpu/2026-12-05-h100-engines-12/lease/call4.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c4.tar.xz -C /tmp c4        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
for mode in graph eager; do
  echo "== $(date -u +%T) bench-l2 $mode" | tee -a "$O/timeline.txt"
  timeout -k 5 $([[ $mode == graph ]] && echo 60 || echo 50) python3 -m mhc_verify.bench --backend tilelang \
    --backend $P:TileLangPreBigFuseDecode --backend $P:TileLangPostPerToken --backend tile_kernels \
    --backend vllm-tilelang --backend sglang-tilelang --op pre_big_fuse --op hc_post \
    --tokens 256,384,512,640,768,1024 --hidden 7168,4096 --mode $mode --precompile off --ours tilelang \
    --ours tilelang-pre-big-fuse-decode --ours tilelang-post-per-token --out "$O/bench-l2-$mode" --force \
    > "$O/bench-l2-$mode.log" 2>&1
done
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
