#!/usr/bin/env bash
# Lease call 2 of the thirteenth session (after call 1's candidate is adopted as `tilelang`): where the
# time goes, and the probes on top of the new default, in one call of at most ~330 s:
#   precompile (90 s): the default's kernels and the probes' below (block_t 16 FMA GEMM, 2048-column
#     hc_post_wide)
#   profile (80 s): scripts/debug/profile_ops.py --mode graph, each kernel's place in a replayed call,
#     ours, vLLM's (TileLang, DeepGEMM) and TileKernels', at 16-768 tokens, where ours loses or misses a floor
#   bench (120 s): mid_probes.TileLangNarrowBt16 (the FMA decode GEMM at block_t 16 for 9-16 tokens)
#     beside the default and vLLM's TileLang, mhc_pre and fused_post_pre at 1-64 tokens, both H
#   bench-post (30 s): mid_probes.TileLangPostWide2048 beside the default, vLLM's and SGLang's TileLang,
#     hc_post at 128 .. 4096 x 4096
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 360 bash results/gpu/2026-12-05-h200-engines-10/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
source scripts/device_env.sh
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
stage precompile
timeout -k 10 90 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes-matching h_blk=2048 \
  --probes-matching block_t=16 > "$O/precompile.log" 2>&1
stage profile
for h in 7168 4096; do
  timeout -k 5 40 python3 scripts/debug/profile_ops.py --mode graph --calls 20 --backend tilelang \
    --backend vllm-tilelang --backend vllm-deepgemm --backend tile_kernels --op mhc_pre --op pre_big_fuse \
    --op hc_post --op prenorm_gemm --tokens 16,32,64,128,256,512,768 --hidden $h \
    --out "$O/profile-graph-H$h.md" 2>&1 | quiet > "$O/profile-H$h.log"
done
stage bench
timeout -k 10 120 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangNarrowBt16 \
  --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 1,2,4,8,9,12,16,17,32,64 --hidden 7168,4096 \
  --mode graph --precompile off --ours tilelang --ours tilelang-narrow-bt16 --out "$O/bench" --force 2>&1 | quiet \
  > "$O/bench.log"
stage bench-post
timeout -k 5 30 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangPostWide2048 \
  --backend vllm-tilelang --backend sglang-tilelang --op hc_post --tokens 128,256,512,768,1024,1536,4096 \
  --hidden 4096 --mode graph --precompile off --ours tilelang --ours tilelang-post-wide-2048 \
  --out "$O/bench-post" --force 2>&1 | quiet > "$O/bench-post.log"
stage done
