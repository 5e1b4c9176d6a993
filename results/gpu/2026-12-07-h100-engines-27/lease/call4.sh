#!/usr/bin/env bash
# Lease call 4 of the thirtieth session (ran, in two calls of 33 and 36 s on call 3's warm machine): per-kernel
# profiles of the prenorm_gemm op, ours beside DeepGEMM, at 64-1024 x 4096 graph-replayed and 65 536 x 4096 eager.
# Usage: W=/tmp/c4; mkdir -p $W; bash results/gpu/2026-12-07-h100-engines-27/lease/call4.sh $W; \
#        tar -cJf $OUT/c4.tar.xz -C /tmp c4   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
timeout -k 5 60 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-deepgemm --op prenorm_gemm \
  --tokens 64,128,256,512,1024 --hidden 4096 --mode graph --out "$O/prof-op-decode.md" > "$O/prof1.log" 2>&1
timeout -k 5 60 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-deepgemm --op prenorm_gemm \
  --tokens 65536 --hidden 4096 --out "$O/prof-op-65536.md" > "$O/prof2.log" 2>&1
true
