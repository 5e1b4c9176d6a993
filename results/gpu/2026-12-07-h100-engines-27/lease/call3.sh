#!/usr/bin/env bash
# Lease call 3 of the thirtieth session (ran: 249 s on call 2c's warm machine): three rounds of repeats at the points the
# committed run left in doubt, each round two processes, ours beside vLLM's TileLang and DeepGEMM, SGLang's TileLang
# and TileKernels, graph-replayed: hc_post, the op and pre_big_fuse at 1 / 128 / 256 / 1024 x 4096; the op and mhc_pre
# at 65 536 / 80 000 tokens, both H (graph-replayed there too: the bench's default --graph-max-tokens).
# Usage: W=/tmp/c3; mkdir -p $W; bash results/gpu/2026-12-07-h100-engines-27/lease/call3.sh $W; \
#        tar -cJf $OUT/c3.tar.xz -C /tmp c3   (carry .gpu-site; kernels from the warm machine's caches)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
rivals=(--backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend tile_kernels)
for r in $(seq 1 "${ROUNDS:-3}"); do
  echo "== $(date -u +%T) repeat $r" >> "$O/timeline.txt"
  timeout -k 5 60 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op hc_post \
    --op prenorm_gemm --op pre_big_fuse --tokens 1,128,256,1024 --hidden 4096 --mode graph --precompile off \
    --out "$O/decode$r" --force > "$O/decode$r.log" 2>&1
  timeout -k 5 50 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op prenorm_gemm \
    --op mhc_pre --tokens 65536,80000 --hidden 4096,7168 --mode graph --precompile off --out "$O/large$r" --force \
    > "$O/large$r.log" 2>&1
done
echo "== $(date -u +%T) done" >> "$O/timeline.txt"
