#!/usr/bin/env bash
# Where our kernels still lose at 16-1024 tokens (issue 16), in one GPU call of about 6 minutes:
#   profile  scripts/debug/profile_ops.py: every kernel of mhc_pre, hc_head and the prenorm_gemm op with
#            its device time, ours (`tilelang`) beside vLLM on DeepGEMM, T = 64 .. 1024, H = 7168
#   bench    graph-replayed, H = 7168 and 4096, T = 16 .. 1024: `tilelang` beside the probes of
#            kernels/tilelang/mid_probes.py (hc_head's middle path, 128-token GEMM blocks, the
#            prenorm_gemm op on the decode / middle GEMMs, the middle path's pre at 8 CTAs per SM),
#            vLLM (TileLang and DeepGEMM paths),
#            SGLang and TileKernels
# Usage: bash scripts/probe_middle_counts.sh OUT_DIR   (PROFILE_S=150, BENCH_S=300, TOKENS, HIDDEN)
# Bundles as for scripts/gpu_engines.sh (carried in .gpu-site, unpacked by scripts/device_env.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/probe_middle_counts.sh OUT_DIR}
mkdir -p "$out"
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
TOKENS=${TOKENS:-16,32,64,128,256,512,1024}
HIDDEN=${HIDDEN:-7168,4096}
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) profile" | tee -a "$out/timeline.txt"
timeout -k 10 "${PROFILE_S:-150}" python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
  --backend vllm-deepgemm --op mhc_pre --op hc_head --op prenorm_gemm --tokens 64,128,256,512,1024 --hidden 7168 \
  --out "$out/profile.md" 2>&1 | quiet > "$out/profile.log"
echo "== $(date -u +%T) bench" | tee -a "$out/timeline.txt"
timeout -k 15 "${BENCH_S:-300}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangMid" \
  --backend "$P:TileLangMidBlock128" --backend "$P:TileLangGemmOp" --backend "$P:TileLangMidEightPerSm" \
  --backend vllm-tilelang --backend vllm-deepgemm \
  --backend sglang-tilelang --backend tile_kernels --op mhc_pre --op fused_post_pre --op hc_head --op pre_big_fuse \
  --op prenorm_gemm --tokens "$TOKENS" --hidden "$HIDDEN" --mode graph \
  --ours tilelang --ours tilelang-mid --ours tilelang-mid-bm128 --ours tilelang-gemm-op --ours tilelang-mid-8sm \
  --out "$out/bench" --force 2>&1 | quiet > "$out/bench.log"
echo "== $(date -u +%T) done" | tee -a "$out/timeline.txt"
