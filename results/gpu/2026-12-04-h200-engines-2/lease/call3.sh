#!/usr/bin/env bash
# Lease call 3 (what budget was left): three independent jobs side by side, each small in GPU memory
# next to the 141 GB (no timing is taken in this call, so sharing the GPU changes no number):
#   swaps  the engines' actual swaps, ci profile (decode and small T, where vLLM's fused kernel departs)
#   depth  61 layers at H = 7168, T = 64, every available backend, every swap at depth
#   stress 1000 reruns at 65 536 and 80 000 tokens of the engines' pre and fused post+pre
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
(
  for pair in vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton vllm-tilelang:sglang-tilelang tilelang:tile_kernels; do
    a=${pair%%:*}; b=${pair#*:}
    echo "== $(date -u +%T) swap $a -> $b"
    timeout -k 10 60 python3 -m mhc_verify swap --from "$a" --to "$b" --profile ci --examples 10 \
      --op fused_post_pre --op mhc_pre --op hc_post --out "$O/swap-$a-$b" --force 2>&1 | grep -v 'INFO\]\|Warning: T.vectorized'
  done
) > "$O/swap.log" 2>&1 &
(
  echo "== $(date -u +%T) depth T=64"
  timeout -k 10 280 python3 -m mhc_verify depth --backend torch-cuda --backend tilelang --backend tile_kernels \
    --backend vllm-tilelang --backend vllm-torch --backend aiter-triton --backend sglang-tilelang --backend sglang-torch \
    --swap vllm-torch:vllm-tilelang --swap vllm-tilelang:tilelang --swap vllm-tilelang:aiter-triton \
    --swap torch-cuda:aiter-triton --swap tilelang:tile_kernels --swap vllm-tilelang:sglang-tilelang \
    --swap sglang-torch:sglang-tilelang --layers 61 --hidden 7168 --tokens 64 --out "$O/depth-T64" --force 2>&1 \
    | grep -v 'INFO\]\|Warning: T.vectorized'
) > "$O/depth.log" 2>&1 &
(
  for pair in vllm-tilelang:mhc_pre vllm-tilelang:fused_post_pre sglang-tilelang:mhc_pre; do
    b=${pair%%:*}; op=${pair#*:}
    echo "== $(date -u +%T) stress $b $op"
    timeout -k 10 70 python3 -m mhc_verify stress --backend "$b" --op "$op" --tokens 65536,80000 --reruns 1000 \
      --judge-every 250 --out "$O/stress-$b-$op" --no-progress 2>&1 | grep -v 'INFO\]\|Warning: T.vectorized' | tail -n 25
  done
) > "$O/stress.log" 2>&1 &
wait
