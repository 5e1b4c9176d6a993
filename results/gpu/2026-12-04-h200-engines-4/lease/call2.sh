#!/usr/bin/env bash
# Lease call 2: call 1 without the tilelang import it lost (its slimmed bundle dropped a library tilelang loads):
#   A (A1-A3 ran in call 1)
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
for op in mhc_pre fused_post_pre; do
  ( env VLLM_USE_DEEP_GEMM=1 STAGES=check EXAMPLES=8 PAIR_S=100 CHECK_PAIRS="vllm-tilelang:$op" \
      bash scripts/gpu_engines.sh "$O/a4-$op" > "$O/a4-$op.log" 2>&1 ) &
done
( timeout -k 15 100 python3 -m mhc_verify check --profile ci --backend "$EVERY" --op pre_big_fuse --op hc_post \
    --op hc_head --examples 25 --out "$O/check-everywhere" --force --no-progress 2>&1 | quiet | tail -n 30 \
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
