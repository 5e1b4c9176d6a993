#!/usr/bin/env bash
# Lease call 3: the runs calls 1-2 lost to memory contention (their OOMs were other jobs' memory,
# not the kernels'), the per-kernel profile of decode, and the TF32 probe.
#   A (alone on the GPU)  scripts/debug/profile_ops.py; sglang-torch hc_post (one 32 GB allocation)
#   B (side by side, three heavy jobs at most)  depth T = 4096; checks of sglang-torch mhc_pre and
#     aiter-triton fused_post_pre; the swap vllm-tilelang -> sglang-tilelang; aiter's fused stress at
#     80 000; scripts/debug/tf32_probe.py where present
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
echo "== $(date -u +%T) start"
timeout -k 10 100 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
  --backend sglang-tilelang --backend tile_kernels --op mhc_pre --op fused_post_pre --op hc_head \
  --tokens 1,8,32,128,4096 --hidden 7168 --out "$O/profile.md" > "$O/profile.log" 2>&1
echo "== $(date -u +%T) profile done"
STAGES=check EXAMPLES=8 PAIR_S=70 CHECK_PAIRS="sglang-torch:hc_post" bash scripts/gpu_engines.sh "$O/check-alone" > "$O/check-alone.log" 2>&1
echo "== $(date -u +%T) phase B"
PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang"
( env STAGES=depth DEPTH_TOKENS=4096 DEPTH_S=230 SWAP_PAIRS="$PAIRS" bash scripts/gpu_engines.sh "$O/depth-4096" > "$O/depth-4096.log" 2>&1 ) &
( env STAGES=check EXAMPLES=8 PAIR_S=110 CHECK_PAIRS="sglang-torch:mhc_pre aiter-triton:fused_post_pre" bash scripts/gpu_engines.sh "$O/check-b" > "$O/check-b.log" 2>&1 ) &
( timeout -k 15 220 python3 -m mhc_verify swap --from vllm-tilelang --to sglang-tilelang --profile nightly --examples 6 \
    --out "$O/swap/vllm-tilelang-sglang-tilelang" --force 2>&1 | grep -v ':INFO\]\|Warning: T.vectorized' | tail -n 30 ) > "$O/swap.log" 2>&1 &
( sleep 100; timeout -k 15 120 python3 -m mhc_verify stress --backend aiter-triton --op fused_post_pre --tokens 80000 \
    --reruns 1000 --judge-every 250 --out "$O/stress/aiter-triton-fused_post_pre-80000" --no-progress 2>&1 \
    | grep -v ':INFO\]' | tail -n 25 ) > "$O/stress.log" 2>&1 &
if [ -f scripts/debug/tf32_probe.py ]; then
  ( timeout -k 10 150 python3 scripts/debug/tf32_probe.py 2>&1 | grep -v ':INFO\]\|Warning: T.vectorized' ) > "$O/tf32_probe.log" 2>&1 &
fi
wait
echo "== $(date -u +%T) all done"
