#!/usr/bin/env bash
# Where our kernels still lose at 16-1024 tokens (issue 16; the sixth session's list in
# results/gpu/2026-12-04-h200-engines-6/README.md), in one GPU call of about 9 minutes:
#   profile  scripts/debug/profile_ops.py: every kernel of mhc_pre and fused_post_pre with its device
#            time, ours (`tilelang`) beside vLLM on DeepGEMM, T = 16 .. 1024, H = 4096 (where mhc_pre
#            loses by up to 1.18 x; H = 7168 is on record in that folder's profile.md)
#   bench    graph-replayed, H = 7168 and 4096, T = 8 .. 4096: `tilelang` beside the probes that split
#            PDL early in fused_post_pre (its pre only, its hc_post only: which one made the op slower
#            in that session's call 2), the decode kernels everywhere (pre_big_fuse's decode_pre at
#            256-4096 tokens: the overlap kernel loses 1.51 x at 1024 x 4096), the prenorm_gemm op's
#            middle GEMM by wave cost (256-1024), the prenorm_gemm op's large-T GEMM launching its
#            dependents early (the 4096-token copy floor), the middle GEMM's K ranges down to one
#            tile (more CTAs at 64-128 tokens), vLLM (both paths) and TileKernels
# Usage: bash scripts/probe_middle_counts.sh OUT_DIR   (PROFILE_S=120, BENCH_S=300, TOKENS, HIDDEN)
# Ten backends x 4 ops x 9 token counts x 2 hidden sizes may not fit BENCH_S: a stopped bench keeps its
# rows (bench.md says INTERRUPTED); HIDDEN=4096 alone is the half that matters most (where ours loses).
# Bundles as for scripts/gpu_engines.sh (carried in .gpu-site, unpacked by scripts/device_env.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/probe_middle_counts.sh OUT_DIR}
mkdir -p "$out"
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
TOKENS=${TOKENS:-8,16,32,64,128,256,512,1024,4096}
HIDDEN=${HIDDEN:-7168,4096}
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) precompile" | tee -a "$out/timeline.txt"
timeout -k 10 140 python3 -m mhc_kernels.tilelang.precompile --hidden "$HIDDEN" --probes > "$out/precompile.log" 2>&1
echo "== $(date -u +%T) profile" | tee -a "$out/timeline.txt"
timeout -k 10 "${PROFILE_S:-120}" python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
  --op mhc_pre --op fused_post_pre --tokens 16,32,64,128,256,512,1024 --hidden 4096 \
  --out "$out/profile.md" 2>&1 | quiet > "$out/profile.log"
echo "== $(date -u +%T) bench" | tee -a "$out/timeline.txt"
timeout -k 15 "${BENCH_S:-300}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangPdlEarlyFusedPre" \
  --backend "$P:TileLangPdlEarlyFusedPost" --backend mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere \
  --backend "$P:TileLangGemmOpWaveCost" --backend "$P:TileLangPdlEarlyBaseGemm" --backend "$P:TileLangMidOneTile" \
  --backend vllm-tilelang --backend vllm-deepgemm --backend tile_kernels \
  --op mhc_pre --op fused_post_pre --op pre_big_fuse --op prenorm_gemm \
  --tokens "$TOKENS" --hidden "$HIDDEN" --mode graph --precompile off \
  --ours tilelang --ours tilelang-pdl-fused-pre --ours tilelang-pdl-fused-post --ours tilelang-decode-everywhere \
  --ours tilelang-gemm-op-waves --ours tilelang-pdl-base-gemm --ours tilelang-mid-one-tile --out "$out/bench" --force \
  2>&1 | quiet > "$out/bench.log"
echo "== $(date -u +%T) done" | tee -a "$out/timeline.txt"
