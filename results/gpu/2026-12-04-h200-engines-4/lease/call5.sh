#!/usr/bin/env bash
# Lease call 5 (the session's last device time): the decode path as committed after call 4
# (decode_pre / decode_head partial sums branch-free, the decode GEMM per (M, T) from
# DECODE_GEMM_PLAN, thresholds DECODE_MAX_TOKENS[_BY_OP]).
#   1 (side by side, correctness) scripts/debug/decode_check.py; 1000 stress reruns (every third a
#     CUDA-graph replay) at the plan's boundaries; a ci check of every decode op
#   2 (alone) the benchmark: every backend side by side, H = 7168, T = 1 .. 80 000, graph-replayed
#     up to 4096 tokens, vLLM on DeepGEMM (its Hopper default). vllm-triton is left out: its hc_head
#     faults at 80 000 tokens (32-bit offsets, the first session's finding 4) and takes the process's
#     CUDA context with it.
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
stress() {  # op tokens
  timeout -k 10 100 python3 -m mhc_verify stress --backend "$DECODE" --op "$1" --tokens "$2" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-$1.log"
}
( timeout -k 10 90 python3 scripts/debug/decode_check.py --hidden 7168 2>&1 | quiet > "$O/decode_check.log" ) &
( stress mhc_pre 1,8,16,128 ) &
( stress hc_head 1,8,32,128 ) &
( stress fused_post_pre 1,32 ) &
( timeout -k 10 100 python3 -m mhc_verify check --profile ci --backend "$DECODE" --op mhc_pre --op fused_post_pre \
    --op hc_head --op hc_post --op pre_big_fuse --examples 20 --out "$O/check" --force --no-progress 2>&1 | quiet \
    | tail -n 30 > "$O/check.log" ) &
wait
echo "== $(date -u +%T) bench"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 270 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" \
  --backend tile_kernels --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend aiter-triton \
  --backend sglang-triton --backend torch-cuda --op mhc_pre --op fused_post_pre --op hc_head --op hc_post \
  --op pre_big_fuse --op prenorm_gemm --tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000 --hidden 7168 \
  --mode graph --graph-max-tokens 4096 --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) all done"
