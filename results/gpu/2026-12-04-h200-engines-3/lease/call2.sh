#!/usr/bin/env bash
# Lease call 2: what call 1 left or showed, side by side (no timing in this call):
#   depth   61 layers at T = 64 and 4096 with the drift now tested against the correctly rounded chain
#   check   SGLang pairs that call 1's contention cut short; aiter-triton fused_post_pre to the end
#   stress  aiter-triton fused_post_pre (65 536, 80 000), vLLM fused at 80 000, SGLang fused / post
#   swap    SGLang's swaps on the nightly profile (its pre runs only at n*H in {16384, 28672})
#   probe   scripts/debug/sglang_fused_split_probe.py (call 1's fused_post_pre failure at H = 256)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
echo "== $(date -u +%T) start"
run() {  # run NAME VAR=VALUE... : one gpu_engines.sh invocation with its own out dir and log
  local name=$1; shift
  ( env "$@" bash scripts/gpu_engines.sh "$O/$name" > "$O/$name.log" 2>&1 ) &
}
PAIRS="vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang"
run depth-64 STAGES=depth DEPTH_TOKENS=64 DEPTH_S=330 SWAP_PAIRS="$PAIRS"
run depth-4096 STAGES=depth DEPTH_TOKENS=4096 DEPTH_S=420 SWAP_PAIRS="$PAIRS"
run check-a STAGES=check EXAMPLES=6 PAIR_S=190 CHECK_PAIRS="sglang-tilelang:fused_post_pre sglang-tilelang:prenorm_gemm sglang-tilelang:sinkhorn"
run check-b STAGES=check EXAMPLES=6 PAIR_S=100 CHECK_PAIRS="sglang-triton:layer_input sglang-triton:hc_post sglang-torch:mhc_pre sglang-torch:hc_post"
run check-c STAGES=check EXAMPLES=8 PAIR_S=400 CHECK_PAIRS="aiter-triton:fused_post_pre"
( for spec in aiter-triton:fused_post_pre:65536,80000:220 vllm-tilelang:fused_post_pre:80000:170; do
    IFS=: read -r b op tokens cap <<< "$spec"
    echo "== $(date -u +%T) stress $b $op $tokens"
    timeout -k 15 "$cap" python3 -m mhc_verify stress --backend "$b" --op "$op" --tokens "$tokens" --reruns 1000 \
      --judge-every 250 --out "$O/stress/$b-$op-${tokens/,/-}" --no-progress 2>&1 | grep -v ':INFO\]' | tail -n 25
  done ) > "$O/stress-a.log" 2>&1 &
( for spec in sglang-tilelang:fused_post_pre:80000:170 sglang-tilelang:hc_post:65536,80000:120; do
    IFS=: read -r b op tokens cap <<< "$spec"
    echo "== $(date -u +%T) stress $b $op $tokens"
    timeout -k 15 "$cap" python3 -m mhc_verify stress --backend "$b" --op "$op" --tokens "$tokens" --reruns 1000 \
      --judge-every 250 --out "$O/stress/$b-$op-${tokens/,/-}" --no-progress 2>&1 | grep -v ':INFO\]' | tail -n 25
  done ) > "$O/stress-b.log" 2>&1 &
( for pair in vllm-tilelang:sglang-tilelang sglang-torch:sglang-tilelang torch-cuda:sglang-triton; do
    a=${pair%%:*}; b=${pair#*:}
    echo "== $(date -u +%T) swap $a -> $b"
    timeout -k 15 140 python3 -m mhc_verify swap --from "$a" --to "$b" --profile nightly --examples 6 \
      --out "$O/swap/$a-$b" --force 2>&1 | grep -v ':INFO\]\|Warning: T.vectorized' | tail -n 25
  done ) > "$O/swap.log" 2>&1 &
( echo "== $(date -u +%T) probe"
  timeout -k 10 200 python3 scripts/debug/sglang_fused_split_probe.py 2>&1 | grep -v ':INFO\]\|Warning: T.vectorized'
  echo "== $(date -u +%T) replay of call 1's shrunk failure"
  timeout -k 10 90 python3 -m mhc_verify replay --backend sglang-tilelang --case '{"H": 256, "T": 1, "family": "huge", "layout": "contiguous", "n": 4, "n_splits": 1, "norm_weight": true, "op": "fused_post_pre", "params": [["rms_eps", 1e-06], ["hc_pre_eps", 1e-06], ["hc_sinkhorn_eps", 1e-06], ["hc_post_mult_value", 2.0], ["sinkhorn_repeat", 20], ["norm_eps", 1e-06]], "seed": 1196}' 2>&1 | grep -v ':INFO\]' | tail -n 30
) > "$O/probe.log" 2>&1 &
wait
echo "== $(date -u +%T) all done"
