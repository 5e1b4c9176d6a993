#!/usr/bin/env bash
# Lease call 3: the gate for the new default. `tilelang` is now TileLangDecode (decode path to 32
# tokens, the middle path to 4096, hc_head's decode path token-major to 256, hc_post_wide's 1024
# columns from 32); the previous default is `tilelang-base`.
#   1 (side by side) the nightly check of `tilelang` for every op whose kernels changed (mhc_pre,
#     fused_post_pre, pre_big_fuse, hc_head, hc_post; --examples 12, the four anchors first), three
#     heavy lanes at most (80 000 x 7168 in float64); 1000 stress reruns (every third a CUDA-graph
#     replay) on both sides of every threshold
#   2 (alone) the benchmark: every backend side by side, H = 7168, T = 1 .. 80 000, graph-replayed
#     up to 4096 tokens, vLLM on DeepGEMM. vllm-triton is left out: its hc_head faults at 80 000
#     tokens (32-bit offsets, the first session's finding 4) and takes the process's CUDA context.
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
python3 -m mhc_verify backends > "$O/backends.txt" 2>&1
check() {  # op cap
  timeout -k 15 "$2" python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang \
    --op "$1" --examples 12 --out "$O/check/$1" --force --no-progress 2>&1 | quiet | tail -n 30 > "$O/check-$1.log"
}
stress() {  # op tokens
  timeout -k 10 60 python3 -m mhc_verify stress --backend tilelang --op "$1" --tokens "$2" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-$1.log"
}
( check mhc_pre 265 ) &
( check fused_post_pre 265 ) &
( check pre_big_fuse 105; check hc_head 100; check hc_post 60 ) &
( stress mhc_pre 32,33,64,4096,4097; stress fused_post_pre 32,33,4096; stress pre_big_fuse 32,33,4096,4097
  stress hc_head 256,257; stress hc_post 31,32 ) &
wait
python3 -m mhc_verify merge "$O"/check/*/report.json --out "$O/check-merged" --force 2>&1 | tail -n 12 > "$O/check-merged.log"
echo "== $(date -u +%T) bench"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 255 python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels \
  --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend aiter-triton --backend sglang-triton \
  --backend torch-cuda --op mhc_pre --op fused_post_pre --op hc_head --op hc_post --op pre_big_fuse --op prenorm_gemm \
  --tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000 --hidden 7168 --mode graph --graph-max-tokens 4096 \
  --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) all done"
