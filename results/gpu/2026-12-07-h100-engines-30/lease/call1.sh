#!/usr/bin/env bash
# Lease call 1 of the thirty-third session (at most ~560 s): the gate of the default with the prenorm_gemm op at
# 129-256 tokens on gemm_multicast.py's kernel, fn3 before the PDL wait and chunk_sum's early trigger
# (TileLangDecode.op_multicast_*, mid_probes.TileLangOpFn3FirstWindow's op), on an H100 carrying .gpu-site:
#   1. scripts/gate_and_bench.sh's precompile (the default's kernels, those of the window included; 110 s, so that
#      call 2, the committed run, finds them compiled) beside 1000 stress reruns of the default at the op's
#      129 / 192 / 256 x 7168 (every third a CUDA-graph replay);
#   2. bits: the default against mid_probes.TileLangOpOwnPipelineChunks (the same K ranges, tiles and order, fn3 after
#      the wait) at 129 / 160 / 192 / 193 / 255 / 256 tokens, both H, three warm reruns and a graph replay each;
#   3. the op's nightly check (the default, --examples 12 plus the anchors);
#   4. the bench, graph-replayed: the op at 128-257 tokens, both H, the default beside the default before
#      (mid_probes.TileLangOpMiddleBefore) and DeepGEMM;
#   5. scripts/debug/gemm_timeline.py at 256 x 4096, fn3 before and after the wait: where the GEMM's time goes.
# Usage: W=/tmp/c1; bash results/gpu/2026-12-07-h100-engines-30/lease/call1.sh $W > /tmp/c1.log 2>&1; \
#        tar -cJf $OUT/c1.tar.xz -C /tmp c1 c1.log; cat $W/timeline.txt    (carry .gpu-site: site, vllm-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
export DEADLINE=${DEADLINE:-$(( $(date +%s) + 540 ))}
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
cap() { local room=$(( DEADLINE - $(date +%s) - 10 )); (( room < $1 )) && echo $(( room > 1 ? room : 1 )) || echo "$1"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
git log -1 --format='tree %H %cs' > "$O/tree.txt" 2>&1 || true
BACKEND=tilelang STRESS="prenorm_gemm:129 prenorm_gemm:192 prenorm_gemm:256" PRECOMPILE_S=110 PRECOMPILE_PROBES= \
  STAGES=precompile bash scripts/gate_and_bench.sh "$O/gate" > "$O/gate-precompile.log" 2>&1
step bits-own
timeout -k 5 "$(cap 100)" python3 scripts/debug/probe_bitwise_check.py \
  --probe mhc_kernels.tilelang.decode_backend:TileLangDecode --against "$P:TileLangOpOwnPipelineChunks" \
  --op prenorm_gemm --tokens 129,160,192,193,255,256 --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-own.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-own.log")" >> "$O/timeline.txt"
step gate
BACKEND=tilelang GATE_OPS=prenorm_gemm GATE_S=$(cap 120) STAGES=gate bash scripts/gate_and_bench.sh "$O/gate" \
  > "$O/gate-check.log" 2>&1
echo "   rc=$?" >> "$O/timeline.txt"
step bench
timeout -k 10 "$(cap 110)" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpMiddleBefore" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,129,160,192,224,256,257 --hidden 4096,7168 --mode graph \
  --precompile off --ours tilelang --ours tilelang-op-middle-before --out "$O/bench" --force 2>&1 \
  | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
for variant in fn3-first no-fn3-first; do
  step "timeline-$variant"
  flag=$([[ $variant == no-fn3-first ]] && echo --no-fn3-first)
  timeout -k 5 "$(cap 45)" python3 scripts/debug/gemm_timeline.py --tokens 256 --hidden 4096 $flag \
    --out "$O/gemm-timeline-256x4096-$variant.md" 2>&1 | quiet > "$O/timeline-$variant.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
done
step done
