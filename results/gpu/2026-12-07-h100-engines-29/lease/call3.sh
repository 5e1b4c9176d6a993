#!/usr/bin/env bash
# Lease call 3 of the thirty-second session (written, not run: the session's device time went to asks that got no
# machine): the gate of mid_probes.TileLangOpFn3FirstWindow, the op at 129-256 tokens with fn3 loaded before the PDL
# wait, before any adoption, on an H100 carrying .gpu-site:
#   1. bits: against TileLangOpOwnPipelineChunks (the same K ranges and kernels) at 129 / 160 / 192 / 193 / 255 / 256,
#      against the default at 256, both H;
#   2. scripts/gate_and_bench.sh's precompile (the default's kernels) beside 1000 stress reruns of the probe at the
#      op's 129 / 192 / 256 x 7168, then the op's nightly check;
#   3. the bench, graph-replayed: the op at 128 / 129 / 160 / 192 / 224 / 256 / 257 tokens, both H, the default and
#      the probe beside DeepGEMM;
#   4. scripts/debug/gemm_timeline.py at 256 x 4096: where the GEMM's time goes after its PDL wait (stamps from every
#      CTA), fn3 before the wait and after it.
# Adoption then: TileLangDecode's op_multicast_* knobs as the probe sets them, and the committed run of the default
# (-26/lease/call2.sh's whole grid, BENCH_S=540 in a 600 s call).
# Usage: W=/tmp/c3; bash results/gpu/2026-12-07-h100-engines-29/lease/call3.sh $W; tar -cJf $OUT/c3.tar.xz -C /tmp c3
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
step bits-own
timeout -k 5 120 python3 scripts/debug/probe_bitwise_check.py --probe "$P:TileLangOpFn3FirstWindow" \
  --against "$P:TileLangOpOwnPipelineChunks" --op prenorm_gemm --tokens 129,160,192,193,255,256 --hidden 4096,7168 \
  --reruns 3 2>&1 | quiet > "$O/bits-own.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-own.log")" >> "$O/timeline.txt"
step bits-default
timeout -k 5 90 python3 scripts/debug/probe_bitwise_check.py --probe "$P:TileLangOpFn3FirstWindow" --against tilelang \
  --op prenorm_gemm --tokens 256 --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-default.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-default.log")" >> "$O/timeline.txt"
step gate
BACKEND="$P:TileLangOpFn3FirstWindow" GATE_OPS=prenorm_gemm STRESS="prenorm_gemm:129 prenorm_gemm:192 prenorm_gemm:256" \
  PRECOMPILE_PROBES= STAGES="precompile gate" bash scripts/gate_and_bench.sh "$O/gate" > "$O/gate.log" 2>&1
echo "   rc=$?" >> "$O/timeline.txt"
step bench
timeout -k 10 "${BENCH_S:-120}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpFn3FirstWindow" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,129,160,192,224,256,257 --hidden 4096,7168 --mode graph \
  --precompile off --ours tilelang --ours tilelang-op-fn3-first-window --out "$O/bench" --force 2>&1 \
  | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
for variant in fn3-first no-fn3-first; do
  step "timeline-$variant"
  flag=$([[ $variant == no-fn3-first ]] && echo --no-fn3-first)
  timeout -k 5 60 python3 scripts/debug/gemm_timeline.py --tokens 256 --hidden 4096 $flag \
    --out "$O/gemm-timeline-256x4096-$variant.md" 2>&1 | quiet > "$O/timeline-$variant.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
done
step done
