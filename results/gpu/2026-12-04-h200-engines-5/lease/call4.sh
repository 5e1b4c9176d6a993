#!/usr/bin/env bash
# Lease call 4: the nightly check again for the ops call 3's check stopped: fused_post_pre and
# hc_post raised "h_blk=1024 must divide hidden=64" (hc_post_wide's 1024-column blocks asked at
# H < 1024; now capped at the largest power of two dividing H), hc_head stopped at its time limit;
# stress of hc_post at the small hidden sizes; then the benchmark at H = 4096 (alone).
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
check() {  # op cap
  timeout -k 15 "$2" python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang \
    --op "$1" --examples 12 --out "$O/check/$1" --force --no-progress 2>&1 | quiet | tail -n 30 > "$O/check-$1.log"
}
( check fused_post_pre 190 ) &
( check hc_head 190 ) &
( check hc_post 120
  for h in 64 256 512; do
    timeout -k 10 30 python3 -m mhc_verify stress --backend tilelang --op hc_post --tokens 31,32,61 --hidden $h \
      --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/hc_post-$h" --no-progress 2>&1 | quiet \
      | tail -n 6 > "$O/stress-hc_post-$h.log"
  done ) &
wait
python3 -m mhc_verify merge "$O"/check/*/report.json --out "$O/check-merged" --force 2>&1 | tail -n 12 > "$O/check-merged.log"
echo "== $(date -u +%T) bench"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 225 python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels \
  --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend aiter-triton --backend sglang-triton \
  --backend torch-cuda --op mhc_pre --op fused_post_pre --op hc_head --op hc_post --op pre_big_fuse --op prenorm_gemm \
  --tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000 --hidden 4096 --mode graph --graph-max-tokens 4096 \
  --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) all done"
