#!/usr/bin/env bash
# Lease call 3: the decode path with its FMA GEMM (kernels/tilelang/decode_gemm.py).
#   1 (alone) scripts/debug/decode_gemm_check.py: the GEMM against float64, reruns, graph replays, and
#     its timing against the wgmma GEMM; scripts/debug/decode_check.py: the decode path against the
#     default path; a benchmark of the GEMM ops on the decode kernels up to 512 tokens (thresholds)
#   2 (side by side) the nightly check and 1000 stress reruns (every third a CUDA-graph replay) of
#     TileLangDecodeEverywhere, whose thresholds are at or above any TileLangDecode may take, so what
#     becomes the default has passed both
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
EVERY=mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
timeout -k 10 150 python3 scripts/debug/decode_gemm_check.py 2>&1 | quiet > "$O/decode_gemm_check.log"
echo "== $(date -u +%T) decode_gemm_check rc ${PIPESTATUS[0]}"
timeout -k 10 70 python3 scripts/debug/decode_check.py --hidden 7168 2>&1 | quiet > "$O/decode_check.log"
echo "== $(date -u +%T) decode_check rc ${PIPESTATUS[0]}"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 90 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" \
  --backend "$EVERY" --backend vllm-tilelang --backend tile_kernels --op mhc_pre --op fused_post_pre --op hc_head \
  --tokens 1,8,32,64,128,256,512 --hidden 7168 --mode graph --out "$O/bench-gemm-ops" --force 2>&1 | quiet > "$O/bench-gemm-ops.log"
echo "== $(date -u +%T) phase 2"
check() {  # op cap
  timeout -k 15 "$2" python3 -m mhc_verify check --profile nightly --model-params --backend "$EVERY" --op "$1" \
    --out "$O/check/$1" --force --no-progress 2>&1 | quiet | tail -n 30 > "$O/check-$1.log"
}
stress() {  # op tokens
  timeout -k 15 80 python3 -m mhc_verify stress --backend "$EVERY" --op "$1" --tokens "$2" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-$1.log"
}
( check mhc_pre 170; check hc_post 120 ) &
( check fused_post_pre 170; check pre_big_fuse 80 ) &
( check hc_head 170 ) &
( stress mhc_pre 1,32,128; stress fused_post_pre 1,32,128; stress pre_big_fuse 32,1024 ) &
( stress hc_head 1,32,512; stress hc_post 32,4096 ) &
wait
python3 -m mhc_verify merge "$O"/check/*/report.json --out "$O/check-merged" --force 2>&1 | tail -n 12 > "$O/check-merged.log"
echo "== $(date -u +%T) all done"
