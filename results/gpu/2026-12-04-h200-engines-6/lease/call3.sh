#!/usr/bin/env bash
# Lease call 3 (sixth session): the benchmark of the new default `tilelang` (call 1's thresholds,
# call 2's per-op pdl_early_max_tokens, mhc_pre's 128-token middle GEMM blocks from 512 tokens).
#   1 (side by side) precompile (16 CPUs); 1000 stress reruns (every third a CUDA-graph replay) of
#     `tilelang` on both sides of the new selections (mhc_pre 256 / 257 / 511 / 512, fused_post_pre 512)
#   2 (alone) the benchmark: every backend side by side, H = 7168 and 4096, T = 1 .. 80 000,
#     graph-replayed up to 4096 tokens, vLLM on DeepGEMM. Left out: vllm-triton (its hc_head faults at
#     80 000 tokens and takes the CUDA context: the first session's finding 4) and torch-cuda (our
#     torch fallback, 219 us at T = 1 in the fifth session's run: not a rival, and the time is short)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) precompile + stress"
python3 -m mhc_verify backends > "$O/backends.txt" 2>&1
( timeout -k 10 100 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 > "$O/precompile.log" 2>&1 ) &
( timeout -k 10 90 python3 -m mhc_verify stress --backend tilelang --op mhc_pre --tokens 256,257,511,512 --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/mhc_pre" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-mhc_pre.log"
  timeout -k 10 40 python3 -m mhc_verify stress --backend tilelang --op fused_post_pre --tokens 512 --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/fused_post_pre" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-fused_post_pre.log" ) &
wait
echo "== $(date -u +%T) bench"
timeout -k 15 440 python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels \
  --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend aiter-triton --backend sglang-triton \
  --op mhc_pre --op fused_post_pre --op hc_head --op hc_post --op pre_big_fuse --op prenorm_gemm \
  --tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000 --hidden 7168,4096 --mode graph --graph-max-tokens 4096 \
  --precompile off --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) all done"
