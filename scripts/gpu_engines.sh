#!/usr/bin/env bash
# One command on an NVIDIA GPU: the engines' own mHC kernels (vLLM's TileLang, Triton, torch and
# DeepGEMM paths; aiter's Triton kernels; SGLang's TileLang, Triton and torch paths) through the suite, with provenance, under OUT_DIR:
#   backends  mhc-verify backends, every engine backend required (an absent one fails the stage)
#   check     mhc-verify check, nightly profile with the model's parameters, every engine backend
#   stress    mhc-verify stress, 1000 reruns at 65 536 and 80 000 tokens of the engines' main ops
#   swap      mhc-verify swap for the engines' actual swaps (SWAP_PAIRS)
#   depth     mhc-verify depth: 61 layers at DSV4-Pro shape (H = 7168), decode (DEPTH_TOKENS: 64 and 4096),
#             every available backend in one chain run, plus the swap verdicts at depth (SWAP_PAIRS)
#   bench     python -m mhc_verify.bench: the engines' kernels beside ours and TileKernels, CUDA-graph
#             replay per call over the decode T grid (BENCH_TOKENS, BENCH_HIDDEN, BENCH_MODE)
# Usage: bash scripts/gpu_engines.sh OUT_DIR   (STAGES, EXAMPLES=8, RERUNS=1000, PAIR_S=90 per checked
#        (backend, op) of CHECK_PAIRS (default: every op of every engine; an entry is BACKEND:OP, BACKEND a
#        name or a module:attr spec such as mhc_kernels.tilelang.decode_backend:TileLangDecode),
#        STRESS_PAIRS (the same form), STRESS_S=70 per stressed (backend, op), JUDGE_EVERY=100,
#        DEPTH_BACKENDS, DEPTH_TOKENS, DEPTH_S, BENCH_S=230,
#        BENCH_TOKENS, BENCH_HIDDEN, BENCH_MODE, BENCH_ARGS: extra bench arguments, SWAP_ARGS: extra swap arguments
#        such as --op mhc_pre)
# Bundles (carried in .gpu-site, unpacked by scripts/device_env.sh): ../shared/device/gpu-site.sh,
# WITH_DEEPGEMM=1 ../shared/device/vllm-site.sh, scripts/aiter_site.sh <aiter checkout>,
# ../shared/device/sglang-site.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: scripts/gpu_engines.sh OUT_DIR}
mkdir -p "$out"
stamp() { echo "== $(date -u +%T) $*" | tee -a "$out/timeline.txt"; }
ENGINES=${ENGINES:-vllm-tilelang vllm-triton vllm-torch vllm-deepgemm aiter-triton sglang-tilelang sglang-triton sglang-torch}
{
  echo "date: $(date -u --iso-8601=seconds)"
  echo "command: bash scripts/gpu_engines.sh $*  (STAGES=${STAGES:-backends check stress swap depth bench} EXAMPLES=${EXAMPLES:-8} RERUNS=${RERUNS:-1000} VLLM_USE_DEEP_GEMM=$VLLM_USE_DEEP_GEMM)"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo 'not a git checkout') $(git status --porcelain 2>/dev/null | wc -l) uncommitted paths"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  python3 - <<'PY'
import importlib.metadata as md, json, platform, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
for d in ("vllm", "sglang", "tilelang", "tile-kernels", "triton", "hypothesis"):
    try: print(d, md.version(d))
    except md.PackageNotFoundError: print(d, "not installed")
try:
    import aiter, pathlib
    print("aiter", json.loads((pathlib.Path(aiter.__file__).parent / "BUNDLE.json").read_text()))
except Exception as e: print("aiter", type(e).__name__, e)
PY
} > "$out/environment.txt" 2>&1
cat "$out/environment.txt"
stages=" ${STAGES:-backends check stress swap depth bench} "
require=(); for b in $ENGINES; do require+=(--require-backend "$b"); done

if [[ $stages == *" backends "* ]]; then
  stamp backends
  python3 -m mhc_verify backends "${require[@]}" 2>&1 | tee "$out/backends.txt"
fi

if [[ $stages == *" check "* ]]; then
  # One process per (backend, op): a kernel that faults poisons the CUDA context of its process
  # (seen: an illegal address), and must not hide the pairs after it. Merged into one report.
  pairs=${CHECK_PAIRS:-}
  if [ -z "$pairs" ]; then
    for b in $ENGINES; do
      for op in $(python3 -c "from mhc_verify.registry import discover; i = discover()['$b']; print(' '.join(i.implements) if i.available else '-')"); do
        pairs="$pairs $b:$op"
      done
    done
  fi
  for pair in $pairs; do
    b=${pair%:*}; op=${pair##*:}  # split at the last colon: the backend may be a module:attr spec
    {
      stamp "check $b $op (nightly, model parameters)"
      if [ "$op" = - ]; then op_args=(); else op_args=(--op "$op"); fi
      timeout -k 15 "${PAIR_S:-90}" python3 -m mhc_verify check --profile nightly --model-params --backend "$b" \
        --require-backend "$b" "${op_args[@]}" --examples "${EXAMPLES:-8}" --out "$out/check/$b-$op" --force --no-progress \
        2>&1 | grep -v ':INFO\]' | tail -n 40 | tee -a "$out/check.log"
    }
  done
  python3 -m mhc_verify merge "$out"/check/*/report.json --out "$out/check-merged" --force 2>&1 | tail -n 60 | tee -a "$out/check.log"
fi

if [[ $stages == *" stress "* ]]; then
  for pair in ${STRESS_PAIRS:-vllm-tilelang:mhc_pre vllm-tilelang:fused_post_pre vllm-tilelang:hc_post aiter-triton:hc_post aiter-triton:fused_post_pre sglang-tilelang:mhc_pre sglang-tilelang:fused_post_pre sglang-tilelang:hc_post}; do
    b=${pair%:*}; op=${pair##*:}  # split at the last colon: the backend may be a module:attr spec
    stamp "stress $b $op"
    timeout -k 15 "${STRESS_S:-70}" python3 -m mhc_verify stress --backend "$b" --op "$op" --tokens 65536,80000 \
      --reruns "${RERUNS:-1000}" --judge-every "${JUDGE_EVERY:-100}" --out "$out/stress-$b-$op" --no-progress 2>&1 \
      | grep -v ':INFO\]' | tail -n 30 | tee "$out/stress-$b-$op.log"
  done
fi

if [[ $stages == *" swap "* ]]; then
  # The engines' actual swaps, each op both backends implement, on the same drawn cases.
  for pair in ${SWAP_PAIRS:-vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang torch-cuda:sglang-tilelang torch-cuda:sglang-triton sglang-torch:sglang-tilelang}; do
    a=${pair%%:*}; b=${pair#*:}
    stamp "swap $a -> $b"
    timeout -k 15 "${SWAP_S:-75}" python3 -m mhc_verify swap --from "$a" --to "$b" --profile nightly ${SWAP_ARGS:-} \
      --examples "${SWAP_EXAMPLES:-10}" --out "$out/swap-$a-$b" --force 2>&1 | grep -v ':INFO\]' | tail -n 20 \
      | tee -a "$out/swap.log"
  done
fi

if [[ $stages == *" depth "* ]]; then
  # Only the backends available here are chained (an unavailable one is named in backends.log).
  depth_backends=$(python3 -c "from mhc_verify.registry import discover; d = discover()
print(' '.join(f'--backend {b}' for b in '${DEPTH_BACKENDS:-torch-cuda tilelang tile_kernels vllm-tilelang vllm-torch aiter-triton sglang-tilelang sglang-torch}'.split() if b in d and d[b].available))" 2>/dev/null)
  swaps=$(for pair in ${SWAP_PAIRS:-vllm-torch:vllm-tilelang vllm-tilelang:tilelang vllm-tilelang:aiter-triton torch-cuda:aiter-triton tilelang:tile_kernels vllm-tilelang:sglang-tilelang torch-cuda:sglang-tilelang sglang-torch:sglang-tilelang}; do
    a=${pair%%:*}; b=${pair#*:}
    [[ $depth_backends == *"--backend $a"* && $depth_backends == *"--backend $b"* ]] && echo "--swap $a:$b"; done)
  for tokens in ${DEPTH_TOKENS:-64 4096}; do
    stamp "depth T=$tokens"
    # One run per token count: every chain once, every swap verdict at depth from the same chains.
    timeout -k 15 "${DEPTH_S:-540}" python3 -m mhc_verify depth $depth_backends $swaps --layers 61 --hidden 7168 \
      --tokens "$tokens" --out "$out/depth-T$tokens" --force 2>&1 | grep -v ':INFO\]' | tee -a "$out/depth.log"
  done
fi

if [[ $stages == *" bench "* ]]; then
  # Decode as the engines run it: per-call time replayed from CUDA graphs (eager and host time beside
  # it), T = 1..4096 plus 65 536 at H = 7168, every backend side by side. A stop writes what it has.
  stamp bench
  timeout -k 15 "${BENCH_S:-230}" python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels \
    --backend vllm-tilelang --backend aiter-triton --backend vllm-triton --backend sglang-tilelang --backend sglang-triton \
    --backend torch-cuda --op mhc_pre --op fused_post_pre --op hc_post --op hc_head --op pre_big_fuse --op prenorm_gemm \
    --tokens "${BENCH_TOKENS:-1,2,4,8,16,32,64,128,256,512,1024,4096,65536}" --hidden "${BENCH_HIDDEN:-7168}" \
    --mode "${BENCH_MODE:-both}" ${BENCH_ARGS:-} --out "$out/bench" --force 2>&1 | grep -v ':INFO\]' | tee "$out/bench.log"
fi
stamp done
