#!/usr/bin/env bash
# Lease call 1 (fourth session): what issue 15 still lacks, and the first measurements for issue 16.
#   A (side by side, four processes, at most three at 80 000 tokens at once)
#     A1 aiter-triton fused_post_pre, nightly check (interrupted at 11 of 12 cases last session)
#     A2 aiter-triton fused_post_pre, 1000 stress reruns at 80 000 (806 last session)
#     A3 DeepGEMM (vLLM's bundle built WITH_DEEPGEMM=1): backends, nightly check of vllm-deepgemm,
#        1000 stress reruns at 65 536 and 80 000
#     A4 vllm-tilelang mhc_pre / fused_post_pre with VLLM_USE_DEEP_GEMM=1 (vLLM's own Hopper path:
#        its prenorm GEMM is DeepGEMM's), nightly; then our decode kernels' new uses (pre_big_fuse,
#        hc_post, hc_head far above 32 tokens: TileLangDecodeEverywhere) through a ci check
#   B (alone on the GPU, timing)
#     B1 1000 stress reruns of our mhc_pre at 65 536 x 7168 (issue 16: <= 60 s wall)
#     B2 benchmark: prenorm_gemm and mhc_pre with vllm-deepgemm beside ours (VLLM_USE_DEEP_GEMM=1)
#     B3 benchmark: the decode kernels far above 32 tokens beside the default and the rivals
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
EVERY=mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
( env STAGES=check EXAMPLES=12 PAIR_S=230 CHECK_PAIRS="aiter-triton:fused_post_pre" \
    bash scripts/gpu_engines.sh "$O/a1" > "$O/a1.log" 2>&1 ) &
( sleep 60; timeout -k 15 200 python3 -m mhc_verify stress --backend aiter-triton --op fused_post_pre --tokens 80000 \
    --reruns 1000 --judge-every 250 --out "$O/stress/aiter-triton-fused_post_pre-80000" --no-progress 2>&1 \
    | quiet | tail -n 25 ) > "$O/a2.log" 2>&1 &
( env ENGINES=vllm-deepgemm STAGES="backends check stress" EXAMPLES=12 PAIR_S=110 STRESS_S=75 JUDGE_EVERY=250 \
    STRESS_PAIRS="vllm-deepgemm:prenorm_gemm" bash scripts/gpu_engines.sh "$O/a3" > "$O/a3.log" 2>&1 ) &
( env VLLM_USE_DEEP_GEMM=1 STAGES=check EXAMPLES=8 PAIR_S=100 \
    CHECK_PAIRS="vllm-tilelang:mhc_pre vllm-tilelang:fused_post_pre" bash scripts/gpu_engines.sh "$O/a4" > "$O/a4.log" 2>&1
  timeout -k 15 60 python3 -m mhc_verify check --profile ci --backend "$EVERY" --op pre_big_fuse --op hc_post \
    --op hc_head --examples 25 --out "$O/a4/check-everywhere" --force --no-progress 2>&1 | quiet | tail -n 30 \
    > "$O/a4-everywhere.log" 2>&1 ) &
wait
echo "== $(date -u +%T) B1 stress timing"
( time timeout -k 15 100 python3 -m mhc_verify stress --backend tilelang --op mhc_pre --tokens 65536 --hidden 7168 \
    --reruns 1000 --judge-every 100 --out "$O/stress/tilelang-mhc_pre-65536" --no-progress ) 2>&1 | quiet | tail -n 25 > "$O/b1.log"
echo "== $(date -u +%T) B2 bench DeepGEMM"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 110 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" \
  --backend vllm-deepgemm --backend vllm-tilelang --backend tile_kernels --backend sglang-tilelang --backend torch-cuda \
  --op prenorm_gemm --op mhc_pre --tokens 1,8,32,128,512,4096,65536 --hidden 7168 --mode both \
  --graph-max-tokens 4096 --out "$O/bench-deepgemm" --force 2>&1 | quiet > "$O/b2.log"
echo "== $(date -u +%T) B3 bench decode thresholds"
timeout -k 15 120 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" --backend "$EVERY" \
  --backend tile_kernels --backend vllm-tilelang --backend sglang-tilelang --backend sglang-triton \
  --op hc_post --op pre_big_fuse --op hc_head --tokens 1,8,32,64,128,256,512,1024,4096 --hidden 7168 --mode graph \
  --graph-max-tokens 4096 --out "$O/bench-thresholds" --force 2>&1 | quiet > "$O/b3.log"
echo "== $(date -u +%T) all done"
