#!/usr/bin/env bash
# Every probe aimed at a point where ours still loses (issue 16; the sixth session's list in
# results/gpu/2026-12-04-h200-engines-6/README.md), in one GPU call of at most 9.2 minutes (the caps
# below add up to 555 s). The probes (kernels/tilelang/mid_probes.py) were built on the CPU in the
# seventh and eighth sessions and have never run on a GPU:
#   tilelang-sinkhorn-rows   the warp Sinkhorn a lane per row (sinkhorn.py): bitwise the default's, a
#                            shorter chain (mhc_pre's 8 us floor at 16-32 tokens)
#   tilelang-decode-floor    that, and the FMA decode GEMM at 16 tokens per CTA for 9-32 tokens
#   tilelang-decode-floor-tm that, with token-major partials (each token's 112 contiguous: hc_head's
#                            layout, which took it from 5.38 to 4.63 us at 32 tokens)
#   tilelang-mid-lean        the middle path's pre on one residual buffer: 10 CTAs per SM instead of 7
#                            (pre_big_fuse at 1024 x 4096: 13.0 us against TileKernels' 8.4)
#   tilelang-mid-one-tile    the middle GEMM's K ranges down to one tile (mhc_pre at 64-128 x 4096)
#   tilelang-mid-waves       the middle GEMM's K ranges by wave cost (mhc_pre at 256-1024 x 4096)
#   tilelang-gemm-op-waves   the prenorm_gemm op's middle GEMM by wave cost (256-512 tokens, DeepGEMM
#                            1.05-1.28 x faster)
#   tilelang-pdl-base-gemm   its large-T GEMM launching its dependents early (the 4096 x 4096 copy floor)
#   tilelang-post-per-token  hc_post a CTA per token above 256 tokens (512 x 4096: SGLang 1.09 x)
#   tilelang-pdl-fused-pre / -post  PDL early in fused_post_pre's pre / its hc_post alone (PDL early in
#                            both slowed it from 8 tokens in the sixth session: which one; and its pre
#                            alone may gain as mhc_pre did: fused_post_pre at 64-1024 x 4096, vLLM 1.04 x)
# Stages (each under its own timeout; STAGES picks some; an env variable per cap):
#   precompile  (PRECOMPILE_S=110) our kernels and the probes', 16 processes; beside it, once the
#               defaults' kernels are in the cache, (PROFILE_S=70) scripts/debug/profile_ops.py at H =
#               4096: every kernel of mhc_pre and fused_post_pre with its device time, ours beside vLLM
#               (the profile issue 16 asks for before a kernel changes; H = 7168's is on record)
#   check       (CHECK_S=150 in all) sinkhorn_rows_check.py --no-timing (the written-out division
#               against '/' on every significand, the rows layout bitwise the default on every op);
#               probe_bitwise_check.py for tilelang-mid-lean and tilelang-post-per-token (bitwise the
#               default, run to run, graph replay) and for tilelang-decode-floor-tm (bitwise
#               tilelang-decode-floor, whose GEMM it shares)
#   bench       (BENCH_S=295 in all) graph-replayed, H = 7168 and 4096, four runs,
#               the probes side by side with the rivals at their points: decode (T = 1, 16, 32), middle
#               (mhc_pre and pre_big_fuse, 64 .. 4096; fused_post_pre takes mhc_pre's pre path), the
#               prenorm_gemm op (64 .. 4096), hc_post and fused_post_pre (64 .. 4096)
# A probe becomes a default only when its check passes and the bench shows it faster; one that changes
# the sums (decode-floor's GEMM, one-tile, waves) also needs its gate (scripts/gate_and_bench.sh).
# Usage: bash scripts/probe_losses.sh OUT_DIR   (STAGES="precompile check bench")
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/probe_losses.sh OUT_DIR}
mkdir -p "$out"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
STAGES=${STAGES:-precompile check bench}
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$out/timeline.txt"; }
left() { echo $(( ${BENCH_S:-295} - $(date +%s) + bench_start )); }
bench() {  # name cap args...: one graph-replayed run into $out/bench-NAME, never past the stage's cap
  local name=$1 cap=$2; shift 2
  local room; room=$(left)
  (( room < cap )) && cap=$room
  if (( cap < 20 )); then echo "skipped bench-$name: the stage's time is spent" | tee -a "$out/timeline.txt"; return; fi
  echo "   $(date -u +%T) bench-$name (cap $cap s)" >> "$out/timeline.txt"
  timeout -k 15 "$cap" python3 -m mhc_verify.bench "$@" --hidden 7168,4096 --mode graph --precompile off \
    --out "$out/bench-$name" --force 2>&1 | quiet > "$out/bench-$name.log"
}
if [[ " $STAGES " == *" precompile "* ]]; then
  stage precompile
  ( timeout -k 10 "${PRECOMPILE_S:-110}" python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes \
      > "$out/precompile.log" 2>&1 ) &
  ( sleep "${PROFILE_DELAY_S:-40}"  # the defaults' kernels come first in the job list
    timeout -k 10 "${PROFILE_S:-70}" python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
      --op mhc_pre --op fused_post_pre --tokens 16,32,64,128,256,512,1024 --hidden 4096 \
      --out "$out/profile-H4096.md" 2>&1 | quiet > "$out/profile.log" ) &
  wait
fi
if [[ " $STAGES " == *" check "* ]]; then
  stage check
  check_start=$(date +%s)
  timeout -k 10 "${ROWS_CHECK_S:-90}" python3 scripts/debug/sinkhorn_rows_check.py --no-timing 2>&1 | quiet \
    > "$out/check-rows.log"
  room=$(( ${CHECK_S:-150} - $(date +%s) + check_start ))
  timeout -k 10 $(( room / 2 > 10 ? room / 2 : 10 )) python3 scripts/debug/probe_bitwise_check.py \
    --probe "$P:TileLangMidLean" --tokens 64,512,1024,4096 2>&1 | quiet > "$out/check-lean.log"
  room=$(( ${CHECK_S:-150} - $(date +%s) + check_start ))
  timeout -k 10 $(( room / 2 > 10 ? room / 2 : 10 )) python3 scripts/debug/probe_bitwise_check.py \
    --probe "$P:TileLangPostPerToken" --op hc_post,fused_post_pre --tokens 257,512,1024,4096 2>&1 | quiet \
    > "$out/check-post.log"
  room=$(( ${CHECK_S:-150} - $(date +%s) + check_start ))
  timeout -k 10 $(( room > 10 ? room : 10 )) python3 scripts/debug/probe_bitwise_check.py \
    --probe "$P:TileLangDecodeFloorTokenMajor" --against "$P:TileLangDecodeFloor" --op mhc_pre,fused_post_pre \
    --tokens 1,8,9,16,32 2>&1 | quiet > "$out/check-floor-tm.log"
  grep -h "ALL OK\|FAILED$" "$out"/check-*.log | tee -a "$out/timeline.txt"
fi
if [[ " $STAGES " == *" bench "* ]]; then
  stage bench
  bench_start=$(date +%s)
  bench decode 60 --backend tilelang --backend "$P:TileLangSinkhornRows" --backend "$P:TileLangDecodeFloor" \
    --backend "$P:TileLangDecodeFloorTokenMajor" --backend vllm-tilelang --backend tile_kernels \
    --op mhc_pre --op fused_post_pre --op pre_big_fuse --tokens 1,16,32 --ours tilelang \
    --ours tilelang-sinkhorn-rows --ours tilelang-decode-floor --ours tilelang-decode-floor-tm
  bench middle 120 --backend tilelang --backend "$P:TileLangMidLean" --backend "$P:TileLangMidOneTile" \
    --backend "$P:TileLangMidWaveCost" --backend "$P:TileLangSinkhornRows" --backend vllm-tilelang \
    --backend tile_kernels --op mhc_pre --op pre_big_fuse --tokens 64,128,256,512,1024,4096 \
    --ours tilelang --ours tilelang-mid-lean --ours tilelang-mid-one-tile --ours tilelang-mid-waves \
    --ours tilelang-sinkhorn-rows
  bench gemm 45 --backend tilelang --backend "$P:TileLangGemmOpWaveCost" --backend "$P:TileLangPdlEarlyBaseGemm" \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 64,128,256,512,1024,4096 \
    --ours tilelang --ours tilelang-gemm-op-waves --ours tilelang-pdl-base-gemm
  bench post 70 --backend tilelang --backend "$P:TileLangPostPerToken" --backend "$P:TileLangPdlEarlyFusedPre" \
    --backend "$P:TileLangPdlEarlyFusedPost" --backend sglang-tilelang --backend vllm-tilelang \
    --op hc_post --op fused_post_pre --tokens 64,128,256,512,1024,4096 \
    --ours tilelang --ours tilelang-post-per-token --ours tilelang-pdl-fused-pre --ours tilelang-pdl-fused-post
fi
stage done
