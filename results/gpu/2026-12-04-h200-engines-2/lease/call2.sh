#!/usr/bin/env bash
# Lease call 2: SGLang's backends listed and checked, the engines' swaps, depth at decode, aiter hc_post.
# Writes straight into OUT (what a stopped command leaves still comes back).
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
ENGINES="vllm-tilelang vllm-triton vllm-torch aiter-triton sglang-tilelang sglang-triton sglang-torch" STAGES=backends \
  bash scripts/gpu_engines.sh "$O" > "$O/stage-backends.log" 2>&1
STAGES=check CHECK_PAIRS="sglang-tilelang:mhc_pre sglang-tilelang:fused_post_pre sglang-tilelang:hc_post sglang-triton:hc_head aiter-triton:hc_post" \
  PAIR_S=38 EXAMPLES=6 bash scripts/gpu_engines.sh "$O" > "$O/stage-check.log" 2>&1
STAGES=swap SWAP_PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton vllm-tilelang:sglang-tilelang tilelang:tile_kernels" \
  SWAP_S=36 SWAP_EXAMPLES=6 SWAP_ARGS="--op fused_post_pre --op mhc_pre" bash scripts/gpu_engines.sh "$O" > "$O/stage-swap.log" 2>&1
STAGES=depth DEPTH_TOKENS=64 DEPTH_S=100 bash scripts/gpu_engines.sh "$O" > "$O/stage-depth.log" 2>&1
