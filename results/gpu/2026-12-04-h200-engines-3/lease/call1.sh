#!/usr/bin/env bash
# Lease call 1 of the third session: no timing in this call, so jobs share the GPU side by side.
#   check   the nightly checks SGLang's backends had not finished (issue 18) and aiter's post+pre (15)
#   stress  1000 reruns at 80 000 (and 65 536 where not done) of the engines' main ops (15, 18)
#   swap    every engine swap, every op both backends implement, ci profile (19)
#   depth   61 layers at H = 7168, T = 64 and T = 4096, every available backend (21)
# Usage (on the lease): bash <this> OUT_DIR; each job writes under OUT_DIR/<job>/.
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
echo "== $(date -u +%T) start; tilelang cache entries: $(find "$TILELANG_CACHE_DIR" -name kernel.cubin 2>/dev/null | wc -l)"
run() {  # run NAME VAR=VALUE... : one gpu_engines.sh invocation with its own out dir and log
  local name=$1; shift
  ( env "$@" bash scripts/gpu_engines.sh "$O/$name" > "$O/$name.log" 2>&1 ) &
}
run check-a STAGES=check PAIR_S=150 CHECK_PAIRS="sglang-tilelang:mhc_pre sglang-tilelang:fused_post_pre"
run check-b STAGES=check PAIR_S=55 CHECK_PAIRS="sglang-tilelang:prenorm_gemm sglang-tilelang:sinkhorn sglang-triton:layer_input sglang-triton:hc_post sglang-torch:mhc_pre sglang-torch:hc_post"
run check-c STAGES=check PAIR_S=130 CHECK_PAIRS="aiter-triton:fused_post_pre sglang-tilelang:pre_big_fuse sglang-torch:fused_post_pre"
# stress: gpu_engines.sh's stress stage runs both 65 536 and 80 000; vLLM's 65 536 runs are done (session 2)
( for pair in vllm-tilelang:fused_post_pre:120 vllm-tilelang:mhc_pre:90 sglang-triton:hc_head:80; do
    IFS=: read -r b op cap <<< "$pair"
    echo "== $(date -u +%T) stress $b $op 80000"
    timeout -k 15 "$cap" python3 -m mhc_verify stress --backend "$b" --op "$op" --tokens 80000 --reruns 1000 \
      --judge-every 250 --out "$O/stress/$b-$op-80000" --no-progress 2>&1 | grep -v ':INFO\]' | tail -n 25
  done ) > "$O/stress-a.log" 2>&1 &
run stress-b STAGES=stress JUDGE_EVERY=250 STRESS_S=130 RERUNS=1000 STRESS_PAIRS="aiter-triton:fused_post_pre sglang-tilelang:fused_post_pre aiter-triton:hc_post"
for pair in vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton \
            tilelang:tile_kernels vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang; do
  run "swap-${pair/:/-}" STAGES=swap SWAP_S=330 SWAP_EXAMPLES=10 SWAP_PAIRS="$pair" SWAP_ARGS="--profile ci"
done
run depth-64 STAGES=depth DEPTH_TOKENS=64 DEPTH_S=330 SWAP_PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang"
run depth-4096 STAGES=depth DEPTH_TOKENS=4096 DEPTH_S=380 SWAP_PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang"
wait
echo "== $(date -u +%T) all done"
nvidia-smi --query-gpu=memory.used --format=csv
