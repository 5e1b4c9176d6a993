#!/usr/bin/env bash
# Lease call 3 of the fourteenth session, on the same warm machine: the graph-mode profile (each kernel's
# place in a replayed call, scripts/debug/profile_ops.py) of the candidate beside vLLM (TileLang and
# DeepGEMM) and TileKernels on this H100, the -10 H200 profile's ops plus fused_post_pre, 1-512 tokens. 71 s.
# Usage: W=/tmp/c3; mkdir -p $W; timeout -k 5 150 bash results/gpu/2026-12-05-h100-engines-11/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
for h in 7168 4096; do
  timeout -k 5 60 python3 scripts/debug/profile_ops.py --mode graph --calls 20 \
    --backend mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 --backend vllm-tilelang --backend vllm-deepgemm \
    --backend tile_kernels --op mhc_pre --op fused_post_pre --op pre_big_fuse --op hc_post --op prenorm_gemm \
    --tokens 1,16,32,64,128,256,512 --hidden $h --out "$O/profile-graph-H$h.md" > "$O/profile-H$h.log" 2>&1
  echo "H=$h rc=$?" | tee -a "$O/timeline.txt"
done
