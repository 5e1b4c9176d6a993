#!/usr/bin/env bash
# Lease call 1 (carry .gpu-site with WITH_DEEPGEMM=1 vllm-site): every engine backend listed,
# DeepGEMM's prenorm GEMM and vLLM's mhc_pre with DeepGEMM selected, the aiter hc_post check that
# wrote no report last time (run bare, with its exit code), and the engines' swaps.
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
STAGES=backends ENGINES="vllm-tilelang vllm-triton vllm-torch vllm-deepgemm aiter-triton" bash scripts/gpu_engines.sh "$O"
echo "== $(date -u +%T) aiter-triton hc_post, bare" | tee -a "$O/timeline.txt"
( time timeout 90 python3 -X faulthandler -m mhc_verify check --profile nightly --model-params --backend aiter-triton \
    --require-backend aiter-triton --op hc_post --examples 8 --out "$O/check/aiter-triton-hc_post" --force --no-progress
  echo "exit code $?" ) > "$O/aiter-hc_post.log" 2>&1
tail -n 30 "$O/aiter-hc_post.log"
STAGES=check CHECK_PAIRS="vllm-deepgemm:prenorm_gemm" PAIR_S=45 bash scripts/gpu_engines.sh "$O"
VLLM_USE_DEEP_GEMM=1 STAGES=check CHECK_PAIRS="vllm-tilelang:mhc_pre" PAIR_S=50 bash scripts/gpu_engines.sh "$O/deepgemm-selected"
STAGES=swap SWAP_PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton tilelang:tile_kernels" \
  SWAP_S=55 SWAP_EXAMPLES=8 SWAP_ARGS="--op mhc_pre --op fused_post_pre --op hc_post --op hc_head" bash scripts/gpu_engines.sh "$O"
