#!/usr/bin/env bash
# Lease call 2 of the thirty-third session (at most ~560 s, a fresh machine): the gate of the default with the
# op's GEMM at 129-256 tokens adding a tile's squares under its wgmmas and writing its partials from the accumulator's
# registers (TileLangDecode.op_multicast_overlap_squares, op_multicast_direct_epilogue), against the kernel before
# them (mid_probes.TileLangOpEpilogueBefore, call 1's default), on an H100 carrying .gpu-site:
#   1. scripts/gate_and_bench.sh's precompile (the default's kernels; 110 s, so that the committed run, the next call
#      on this machine, finds them compiled) beside 1000 stress reruns of the default at the op's 129 / 192 / 256 x
#      7168, then 1000 at 256 x 4096 (every third a CUDA-graph replay);
#   2. bits: the default against TileLangOpEpilogueBefore at 129 / 160 / 192 / 193 / 255 / 256 tokens, both H
#      (the same values in the same order: bitwise);
#   3. the op's nightly check (the default, --examples 12 plus the anchors);
#   4. the bench, graph-replayed: the op at 128-257 tokens, both H, the default beside the kernel before and DeepGEMM;
#   5. scripts/debug/gemm_timeline.py at 256 x 4096, the default's kernel and the one before.
# Usage: W=/tmp/c3; bash results/gpu/2026-12-07-h100-engines-30/lease/call2.sh $W > /tmp/c3.log 2>&1; \
#        tar -cJf $OUT/c3.tar.xz -C /tmp c3 c3.log; cat $W/timeline.txt    (carry .gpu-site)
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
python3 -c "from mhc_verify.bench import source_digest; print('sources', source_digest())" > "$O/tree.txt" 2>&1
BACKEND=tilelang STRESS="prenorm_gemm:129 prenorm_gemm:192 prenorm_gemm:256" PRECOMPILE_S=110 PRECOMPILE_PROBES= \
  STAGES=precompile bash scripts/gate_and_bench.sh "$O/gate" > "$O/gate-precompile.log" 2>&1
step stress-4096
timeout -k 10 "$(cap 40)" python3 -m mhc_verify stress --backend tilelang --op prenorm_gemm --tokens 256 --hidden 4096 \
  --reruns 1000 --judge-every 100 --cuda-graph --out "$O/gate/stress/prenorm_gemm_256x4096" --no-progress 2>&1 \
  | quiet | tail -n 25 > "$O/stress-256x4096.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step bits-before
timeout -k 5 "$(cap 80)" python3 scripts/debug/probe_bitwise_check.py \
  --probe mhc_kernels.tilelang.decode_backend:TileLangDecode --against "$P:TileLangOpEpilogueBefore" \
  --op prenorm_gemm --tokens 129,160,192,193,255,256 --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-before.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-before.log")" >> "$O/timeline.txt"
step gate
BACKEND=tilelang GATE_OPS=prenorm_gemm GATE_S=$(cap 120) STAGES=gate bash scripts/gate_and_bench.sh "$O/gate" \
  > "$O/gate-check.log" 2>&1
echo "   rc=$?" >> "$O/timeline.txt"
step bench
timeout -k 10 "$(cap 90)" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpEpilogueBefore" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,129,160,192,224,256,257 --hidden 4096,7168 --mode graph \
  --precompile off --ours tilelang --ours tilelang-op-epilogue-before --out "$O/bench" --force 2>&1 \
  | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
for variant in default epilogue-before; do
  step "timeline-$variant"
  flag=$([[ $variant == epilogue-before ]] && echo --epilogue-before)
  timeout -k 5 "$(cap 45)" python3 scripts/debug/gemm_timeline.py --tokens 256 --hidden 4096 $flag \
    --out "$O/gemm-timeline-256x4096-$variant.md" 2>&1 | quiet > "$O/timeline-$variant.log"
  echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
done
step done
