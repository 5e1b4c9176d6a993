#!/usr/bin/env bash
# Lease call 1 of the twenty-fifth session (at most ~330 s): the prenorm_gemm op's chunks summed by the last chunk
# on a counter (mid_probes.TileLangOpChunksOnCounter, gemm.build_prenorm_gemm's counter_chunks), for the op at
# 256 x 4096 where DeepGEMM leads (6.0 against 6.7 us, -20 / -21): no chunk_sum launch, no cluster.
#   precompile (70 s): the default's kernels and the probe's ("counter="); beside it 1000 stress reruns each of the
#     probe at the op's 97 / 193 / 256 x 4096 and 128 / 256 x 7168 (2, 4 and 7 chunks a split), and from 40 s the GPU
#     bit test of its outputs against the default's (eager, three reruns; a graph captured on a side stream)
#   op bench (55 s): the op at 64-1024 tokens, both H: the default, the probe, DeepGEMM
#   op profile (25 s): the op at 256 x 4096, the same three
#   gate (80 s): the probe's nightly check of prenorm_gemm with the path anchors
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 330 bash results/gpu/2026-12-06-h100-engines-22/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangOpChunksOnCounter PRECOMPILE_S=70 PRECOMPILE_PROBES="--probes-matching counter=" \
  GPU_BITS="counted" GPU_BITS_S=60 STRESS="prenorm_gemm:128,256" STRESS_S=75
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 10 75 python3 -m mhc_verify stress --backend $BACKEND --op prenorm_gemm --tokens 97,193,256 --hidden 4096 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/prenorm_gemm_4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-prenorm_gemm_4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 55 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $BACKEND --ours tilelang-op-chunks-on-counter --backend vllm-deepgemm --op prenorm_gemm \
    --tokens 64,128,160,192,224,256,384,512,768,1024 --hidden 4096,7168 --mode graph --precompile off \
    --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $BACKEND \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph \
    --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
GATE_S=80 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 40
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
