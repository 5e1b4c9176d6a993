#!/usr/bin/env bash
# One command on an NVIDIA GPU: records what our TileLang kernels, TileKernels and the torch backend
# do there, with provenance, under results/gpu/<date>-<gpu>/ (or OUT_DIR):
#   1. mhc-verify check, nightly profile, every GPU backend (BACKENDS; tilelang required: its absence fails)
#   2. python -m mhc_verify.bench: GB/s and ratio to the copy bandwidth measured in the same run
#   3. mhc-verify stress: healthy kernels at T = 65 536 / 80 000 (T*n*H past 2^31), perturbed by CUDA
#      graph replays, GEMM configurations and SM partitions, and the planted races of
#      mhc_kernels.tilelang.planted, each of which must be caught
# Usage: bash scripts/gpu_results.sh [OUT_DIR]      (EXAMPLES, RERUNS, PLANTED_RERUNS, BACKENDS, *_S time limits)
#        STAGES="check bench stress planted" selects stages (e.g. to run bench on a second GPU at the
#        same time: CUDA_VISIBLE_DEVICES=1 STAGES=bench BENCH_S=240 bash scripts/gpu_results.sh OUT &)
# Works from a bare checkout (scripts/device_env.sh unpacks a carried .gpu-site bundle if present)
# and where the project is pip-installed. Each stage has a time limit (CHECK_S 420, BENCH_S 150,
# STRESS_S 75, GRAPH_S 40, PLANTED_S 35 per race, INT32_S 75 for the 2^31 race); a stage stopped by
# its limit still writes its partial report, marked so. On an H100 (2026-11-26,
# results/gpu/2026-11-26-h100-session5): STAGES="check bench" 319 s (check 273, bench 43 after the
# check compiled the kernels; run first, the bench compiles them itself: 122 s), STAGES="stress
# planted" 308 s. A 10-minute budget therefore takes two calls, or with two GPUs STAGES=bench on the
# second beside the rest (with BENCH_S=240).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
slug=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | tr 'A-Z' 'a-z')
out=${1:-results/gpu/$(date -u +%F)-${slug:-gpu}}
mkdir -p "$out"
stamp() { echo "== $(date -u +%T) $*" | tee -a "$out/timeline.txt"; }
{
  echo "date: $(date -u --iso-8601=seconds)"
  echo "command: bash scripts/gpu_results.sh $*  (EXAMPLES=${EXAMPLES:-8} RERUNS=${RERUNS:-1000} PLANTED_RERUNS=${PLANTED_RERUNS:-100})"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo 'not a git checkout') $(git status --porcelain 2>/dev/null | wc -l) uncommitted paths"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  python3 - <<'PY'
import importlib.metadata as md, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
for d in ("tilelang", "tile-kernels", "triton", "hypothesis"):
    try: print(d, md.version(d))
    except md.PackageNotFoundError: print(d, "not installed")
PY
} > "$out/environment${CUDA_VISIBLE_DEVICES:+-gpu$CUDA_VISIBLE_DEVICES}.txt" 2>&1
cat "$out/environment${CUDA_VISIBLE_DEVICES:+-gpu$CUDA_VISIBLE_DEVICES}.txt"
stages=" ${STAGES:-check bench stress planted} "

if [[ $stages == *" check "* ]]; then
# One process, the backends in turn. Not one process per backend side by side: on 2026-11-26 three
# such processes on one H100 ran out of its 80 GB together (each alone fits), and the suite rightly
# reports an out-of-memory error as a failure: a false alarm made by the runner.
stamp "check (nightly)"
backend_args=()
for b in ${BACKENDS:-tilelang tile_kernels torch-cuda}; do backend_args+=(--backend "$b"); done
timeout "${CHECK_S:-420}" python3 -m mhc_verify check --profile nightly "${backend_args[@]}" --require-backend tilelang \
  --examples "${EXAMPLES:-8}" --out "$out/check" --force --no-progress 2>&1 | grep -v ':INFO\]' | tee "$out/check.log"
fi

if [[ $stages == *" bench "* ]]; then
stamp "bench"
timeout "${BENCH_S:-150}" python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels --backend torch-cuda \
  --tokens "${BENCH_TOKENS:-1,8,64,512,4096,65536,80000}" --out "$out/bench" --force 2>&1 | grep -v ':INFO\]' | tee "$out/bench.log"
fi

if [[ $stages == *" stress "* ]]; then
stamp "stress: healthy kernels"
timeout "${STRESS_S:-75}" python3 -m mhc_verify stress --backend tilelang --op pre_big_fuse --op mhc_pre --op hc_post \
  --tokens 65536,80000 --hidden 7168 --reruns "${RERUNS:-1000}" --judge-every 100 --out "$out/stress-healthy" \
  --no-progress 2>&1 | grep -v ':INFO\]' | tee "$out/stress-healthy.log"
stamp "stress: healthy GEMM + pre, perturbed: CUDA graph replays, GEMM configurations, 1/2-1/8 of the SMs"
timeout "${GRAPH_S:-40}" python3 -m mhc_verify stress --backend tilelang --op mhc_pre --tokens 65536 --hidden 7168 \
  --reruns "${RERUNS:-1000}" --judge-every 100 --cuda-graph --vary-config --vary-sms --out "$out/stress-graph" \
  --no-progress 2>&1 | grep -v ':INFO\]' | tee "$out/stress-graph.log"
fi

if [[ $stages == *" planted "* ]]; then
stamp "stress: planted races (each must be caught)"
for race in SplitKNoAtomic:prenorm_gemm:4093,65536 WorkspaceNotZeroed:prenorm_gemm:4093,65536 \
            TailSkipsRows:prenorm_gemm:4093,65537 Int32Offset:hc_post:80000,65536; do
  # Int32Offset is wrong only past 2^31 elements: T = 65 536 (1.9e9) is its negative control.
  IFS=: read -r cls op tokens <<<"$race"
  limit=${PLANTED_S:-35}
  [ "$cls" = Int32Offset ] && limit=${INT32_S:-75}  # 80 000 x 7168: start-up, compiles and one fp64 judgement of 2.3e9 elements took > 26 s on an H100
  timeout "$limit" python3 -m mhc_verify stress --backend "mhc_kernels.tilelang.planted:$cls" --op "$op" \
    --tokens "$tokens" --hidden 7168 --reruns "${PLANTED_RERUNS:-100}" --judge-every 10 --out "$out/planted-$cls" \
    --no-progress 2>&1 | grep -v ':INFO\]' | tee "$out/planted-$cls.log"
done
fi
stamp "done"
