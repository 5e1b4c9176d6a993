#!/usr/bin/env bash
# Lease call 3 of the twenty-sixth session (at most ~255 s, on a fresh machine): mid_probes.TileLangOpCoResident, the
# op's middle K ranges for two CTAs per SM (no kernel of its own: the default's GEMM over more ranges, chunk_sum over
# more chunks):
#   precompile (70 s): the default's kernels at both H
#   stress (60 s): 1000 reruns of the probe at the op's 192 / 256 / 768 x 7168 and 256 x 4096
#   op bench (90 s; DeepGEMM compiles its kernels at its first calls): the op at 192 / 256 / 768 / 1024 tokens, both
#     H (where the probe's ranges differ): the default, the probe, DeepGEMM
#   gate (60 s): the probe's nightly check of prenorm_gemm with the path anchors, only where it beat the default at
#     256 x 4096 in the op bench
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 255 bash results/gpu/2026-12-07-h100-engines-23/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt     (carry .gpu-site: site, vllm-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes:TileLangOpCoResident
export BACKEND=$P PRECOMPILE_S=70 PRECOMPILE_PROBES="" STRESS="prenorm_gemm:192,256,768" STRESS_S=45
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 10 25 python3 -m mhc_verify stress --backend $P --op prenorm_gemm --tokens 256 --hidden 4096 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/TileLangOpCoResident_4096" --no-progress 2>&1 \
    | tail -n 25 > "$O/stress-TileLangOpCoResident_4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 90 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P \
    --ours tilelang-op-co-resident --backend vllm-deepgemm --op prenorm_gemm --tokens 192,256,768,1024 \
    --hidden 4096,7168 --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1 )
verdict=$(python3 scripts/bench_verdict.py "$O/bench-op" tilelang-op-co-resident tilelang --op prenorm_gemm \
  --tokens 256 --hidden 4096)
echo "$verdict" >> "$O/timeline.txt"
[[ "$verdict" == gate* ]] && GATE_S=60 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 20
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
