#!/usr/bin/env bash
# The run that makes a default and the README's numbers (issue 16, item 5), in one GPU call of at most
# 9.8 minutes (the caps below add up to 585 s):
#   precompile  (PRECOMPILE_S=80) our kernels at both H, 16 processes; beside it the stress runs:
#               1000 reruns each (every third a CUDA-graph replay, judged every 100th) of $BACKEND at
#               STRESS's points, H = 7168 (STRESS_S=80 for them all), and with GPU_BITS (a pytest -k
#               expression) tests/test_tilelang_gpu_bits.py's tests it selects, from BITS_DELAY_S=40 (behind
#               the precompile's first kernels), into gpu-bits.log (GPU_BITS_S=60)
#   gate        (GATE_S=170) nightly checks of $BACKEND, --examples 12 plus the anchors, every op of
#               GATE_OPS side by side (their reports merged into check-merged/)
#   bench       (BENCH_S=335) every backend side by side, H = 7168 and 4096, T = 1 .. 80 000,
#               graph-replayed up to 4096 tokens, vLLM on DeepGEMM: the committed run. Left out:
#               vllm-triton (its hc_head faults at 80 000 tokens and takes the CUDA context, the first
#               session's finding 4) and torch-cuda (our torch fallback, 219 us at T = 1: not a rival)
# Usage: BACKEND=tilelang GATE_OPS="mhc_pre pre_big_fuse" STRESS="mhc_pre:16,32,33 pre_big_fuse:1024" \
#        bash scripts/gate_and_bench.sh OUT_DIR      (STAGES="precompile gate bench"; BENCH_TOKENS: the
#        bench's T list, default the issue's 1 .. 80 000 grid; PRECOMPILE_PROBES: which probes' kernels the
#        precompile adds, default all of them (--probes), e.g. "--probes-matching ,gather]" for one, set
#        and empty for none)
# BACKEND may be a module:Class probe (then the bench puts it beside `tilelang` as one of ours; with
# BENCH_DEFAULT=0 in place of it: the candidate alone, which fits BENCH_S where two of ours did not: on
# the -10 H200 two of ours stopped at 965 rows in 330 s, prenorm_gemm at H = 4096 not reached).
# DEADLINE (epoch seconds, optional; a lease script sets it once for all its stages): each stage's cap is cut to
# end 20 s before it, so that a stage stops under its own timeout and writes its partial report while the call's
# outer timeout is still away. Why: -26/lease/call2.sh's bench (BENCH_S=450 behind a 107 s precompile stage) was
# still running when its call's 560 s ran out, and no bench.md came back.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/gate_and_bench.sh OUT_DIR}
mkdir -p "$out"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
STAGES=${STAGES:-precompile gate bench}
BACKEND=${BACKEND:-tilelang}
GATE_OPS=${GATE_OPS:-mhc_pre fused_post_pre pre_big_fuse hc_post hc_head prenorm_gemm}
STRESS=${STRESS:-}
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$out/timeline.txt"; }
capped() {  # capped NAME SECONDS: SECONDS, or less where DEADLINE leaves less (then said in the timeline)
  local cap=$2
  if [[ -n "${DEADLINE:-}" ]]; then
    local room=$(( DEADLINE - $(date +%s) - 20 ))
    (( room < 1 )) && room=1
    if (( room < cap )); then
      cap=$room
      echo "   $1 capped at $cap s by DEADLINE" >> "$out/timeline.txt"
    fi
  fi
  echo "$cap"
}
name=$(python3 -c "from mhc_verify.registry import discover_named as d; print(next(iter(d(['$BACKEND']))))")
echo "backend $BACKEND ($name); gate ops: $GATE_OPS; stress: ${STRESS:-none}" | tee -a "$out/timeline.txt"
if [[ " $STAGES " == *" precompile "* ]]; then
  stage "precompile + stress"
  python3 -m mhc_verify backends > "$out/backends.txt" 2>&1
  ( timeout -k 10 "$(capped precompile "${PRECOMPILE_S:-80}")" python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 ${PRECOMPILE_PROBES---probes} \
      > "$out/precompile.log" 2>&1 ) &
  ( stress_start=$(date +%s)
    for point in $STRESS; do
      op=${point%%:*} tokens=${point#*:}
      room=$(( ${STRESS_S:-80} - $(date +%s) + stress_start ))
      (( room < 10 )) && { echo "stress $op $tokens: not run, STRESS_S spent" >> "$out/timeline.txt"; continue; }
      timeout -k 10 "$room" python3 -m mhc_verify stress --backend "$BACKEND" --op "$op" --tokens "$tokens" \
        --hidden 7168 --reruns 1000 --judge-every 100 --cuda-graph --out "$out/stress/${op}_${tokens//,/-}" \
        --no-progress 2>&1 | quiet | tail -n 25 > "$out/stress-${op}_${tokens//,/-}.log"
    done ) &
  if [[ -n "${GPU_BITS:-}" ]]; then
    ( sleep "${BITS_DELAY_S:-40}"
      timeout -k 5 "${GPU_BITS_S:-60}" python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin \
        tests/test_tilelang_gpu_bits.py -k "$GPU_BITS" --require-backend tilelang > "$out/gpu-bits.log" 2>&1 ) &
  fi
  wait
fi
if [[ " $STAGES " == *" gate "* ]]; then
  stage gate
  gate_cap=$(capped gate "${GATE_S:-170}")  # once for the checks that run side by side
  for op in $GATE_OPS; do
    ( timeout -k 15 "$gate_cap" python3 -m mhc_verify check --profile nightly --backend "$BACKEND" \
        --require-backend "$name" --op "$op" --examples 12 --out "$out/check/$op" --force --no-progress 2>&1 | quiet \
        | tail -n 30 > "$out/check-$op.log" ) &
  done
  wait
  python3 -m mhc_verify merge "$out"/check/*/report.json --out "$out/check-merged" --force 2>&1 | tail -n 12 \
    > "$out/check-merged.log"
fi
if [[ " $STAGES " == *" bench "* ]]; then
  stage bench
  ours=(--backend tilelang --ours tilelang)
  if [[ "$name" != tilelang ]]; then
    [[ "${BENCH_DEFAULT:-1}" == 0 ]] && ours=()
    ours+=(--backend "$BACKEND" --ours "$name")
  fi
  timeout -k 15 "$(capped bench "${BENCH_S:-335}")" python3 -m mhc_verify.bench "${ours[@]}" --backend tile_kernels \
    --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --backend aiter-triton \
    --backend sglang-triton --op mhc_pre --op fused_post_pre --op hc_head --op hc_post --op pre_big_fuse \
    --op prenorm_gemm --tokens "${BENCH_TOKENS:-1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000}" \
    --hidden 7168,4096 --mode graph --graph-max-tokens 4096 --precompile off --out "$out/bench" --force 2>&1 | quiet > "$out/bench.log"
fi
stage done
