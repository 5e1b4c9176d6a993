#!/usr/bin/env bash
# Lease call 4 (alone on the GPU): where the decode path's time goes. Call 3 timed its FMA GEMM at
# 3.6 us (T = 1, graph) and hc_head whole at 4.7 us, but mhc_pre whole at 14 us: the per-kernel
# device time of each op (scripts/debug/profile_ops.py) beside vLLM's (DeepGEMM, its Hopper default).
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
echo "== $(date -u +%T) start"
VLLM_USE_DEEP_GEMM=1 timeout -k 10 110 python3 scripts/debug/profile_ops.py --backend "$DECODE" --backend vllm-tilelang \
  --op mhc_pre --op fused_post_pre --op hc_head --op pre_big_fuse --tokens 1,32 --hidden 7168 \
  --out "$O/profile_decode.md" 2>&1 | grep -v ':INFO\]\|Warning: T.vectorized' > "$O/profile.log"
echo "== $(date -u +%T) all done"
