#!/usr/bin/env bash
# mhc_pre's decode floor (issue 16: <= 8 us at T <= 32; 9.0 / 9.7 us at 16 / 32 tokens, H = 7168, in
# results/gpu/2026-12-04-h200-engines-6) in one GPU call of at most 9.7 minutes (the stages' caps:
# 140 + 120 + 170 + 150 s). Its probes (kernels/tilelang/mid_probes.py), built on the CPU in the
# seventh session and never run on a GPU:
#   tilelang-sinkhorn-rows  the warp Sinkhorn a lane per row, nvcc's division fast path written out
#                           (kernels/tilelang/sinkhorn.py): bitwise the default's results, shorter chain
#   tilelang-gemm-bt16      the FMA decode GEMM at 16 tokens per CTA for 9-32 tokens (the tensor cores
#                           there today)
#   tilelang-decode-floor   both
# Stages (each under its own timeout; STAGES picks some):
#   precompile  16 CPUs, the probes' kernels included
#   check       scripts/debug/sinkhorn_rows_check.py --no-timing: the written-out division against
#               '/' on every significand, the rows layout bitwise against the default on every op
#   bench       (alone) graph-replayed, H = 7168 and 4096, T = 1 .. 1024: `tilelang` and the probes
#               beside vLLM (both paths) and TileKernels, on mhc_pre, fused_post_pre, pre_big_fuse
#   gate        (side by side) for tilelang-decode-floor: nightly checks of mhc_pre, fused_post_pre and
#               pre_big_fuse (--examples 12), 1000 stress reruns on both sides of its GEMM threshold
# A probe becomes a default only after check and gate pass and bench shows it faster (README's rule).
# Usage: bash scripts/probe_decode_floor.sh OUT_DIR   (STAGES="precompile check bench gate"; the caps
# PRECOMPILE_S=140 CHECK_S=120 BENCH_S=170 GATE_S=150: the sixth session's gate gave each
# nightly check 230 s, so a gate alone, STAGES="precompile gate", may take GATE_S=230)
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/probe_decode_floor.sh OUT_DIR}
mkdir -p "$out"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
STAGES=${STAGES:-precompile check bench gate}
P=mhc_kernels.tilelang.mid_probes
F=$P:TileLangDecodeFloor
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$out/timeline.txt"; }
if [[ " $STAGES " == *" precompile "* ]]; then
  stage precompile
  timeout -k 10 "${PRECOMPILE_S:-140}" python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes \
    > "$out/precompile.log" 2>&1
fi
if [[ " $STAGES " == *" check "* ]]; then
  stage check
  timeout -k 10 "${CHECK_S:-120}" python3 scripts/debug/sinkhorn_rows_check.py --no-timing 2>&1 | quiet > "$out/check.log"
fi
if [[ " $STAGES " == *" bench "* ]]; then
  stage bench
  timeout -k 15 "${BENCH_S:-170}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangSinkhornRows" \
    --backend "$P:TileLangGemmBlockT16" --backend "$F" --backend vllm-tilelang --backend vllm-deepgemm \
    --backend tile_kernels --op mhc_pre --op fused_post_pre --op pre_big_fuse \
    --tokens 1,2,4,8,16,32,64,128,256,512,1024 --hidden 7168,4096 --mode graph --precompile off \
    --ours tilelang --ours tilelang-sinkhorn-rows --ours tilelang-gemm-bt16 --ours tilelang-decode-floor \
    --out "$out/bench" --force 2>&1 | quiet > "$out/bench.log"
fi
if [[ " $STAGES " == *" gate "* ]]; then
  stage gate
  check() {  # op cap
    timeout -k 15 "$2" python3 -m mhc_verify check --profile nightly --backend "$F" \
      --require-backend tilelang-decode-floor --op "$1" --examples 12 --out "$out/check/$1" --force --no-progress \
      2>&1 | quiet | tail -n 30 > "$out/check-$1.log"
  }
  stress() {  # op tokens
    timeout -k 10 60 python3 -m mhc_verify stress --backend "$F" --op "$1" --tokens "$2" --hidden 7168 \
      --reruns 1000 --judge-every 100 --cuda-graph --out "$out/stress/$1" --no-progress 2>&1 | quiet \
      | tail -n 25 > "$out/stress-$1.log"
  }
  ( check mhc_pre "${GATE_S:-150}" ) &
  ( check fused_post_pre "${GATE_S:-150}" ) &
  ( check pre_big_fuse "${GATE_S:-150}" ) &
  ( stress mhc_pre 1,8,9,16,32,33,64; stress fused_post_pre 8,9,32,33; stress pre_big_fuse 16,32,33,64 ) &
  wait
  python3 -m mhc_verify merge "$out"/check/*/report.json --out "$out/check-merged" --force 2>&1 | tail -n 12 \
    > "$out/check-merged.log"
fi
stage done
