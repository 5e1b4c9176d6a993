#!/usr/bin/env bash
# Lease call 1 (sixth session): where our kernels still lose at 16-1024 tokens (issue 16).
#   1 precompile our kernels at both H on the 16 CPUs (python -m mhc_kernels.tilelang.precompile)
#   2 (alone) scripts/debug/profile_ops.py: every kernel of mhc_pre, hc_head, prenorm_gemm with its
#     device time, ours beside vLLM (TileLang and DeepGEMM paths), T = 16 .. 1024, H = 7168
#   3 (alone) the benchmark, graph-replayed, H = 7168 and 4096, T = 16 .. 1024: `tilelang` beside
#     the probes of kernels/tilelang/mid_probes.py, vLLM (both paths) and TileKernels
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) precompile"
timeout -k 10 110 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 > "$O/precompile.log" 2>&1
echo "== $(date -u +%T) profile"
timeout -k 10 120 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
  --backend vllm-deepgemm --op mhc_pre --op hc_head --op prenorm_gemm --tokens 16,32,128,256,1024 --hidden 7168 \
  --out "$O/profile.md" 2>&1 | quiet > "$O/profile.log"
echo "== $(date -u +%T) bench"
timeout -k 15 300 python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangMid" \
  --backend "$P:TileLangMidBlock128" --backend "$P:TileLangGemmOp" --backend "$P:TileLangMidEightPerSm" \
  --backend vllm-tilelang --backend vllm-deepgemm --backend tile_kernels \
  --op mhc_pre --op fused_post_pre --op hc_head --op pre_big_fuse --op prenorm_gemm \
  --tokens 16,32,64,128,256,512,1024 --hidden 7168,4096 --mode graph \
  --ours tilelang --ours tilelang-mid --ours tilelang-mid-bm128 --ours tilelang-gemm-op --ours tilelang-mid-8sm \
  --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) all done"
