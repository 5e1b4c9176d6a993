#!/usr/bin/env bash
# The next session's first lease call (at most ~340 s; not run in the twenty-fifth session, whose device time was
# spent): the two loads-first builds, each bitwise the default's, for the op at 256 x 4096 (DeepGEMM 5.9 against
# 6.8 us): chunk_sum with each thread's loads ahead of its stores (mid_probes.TileLangChunkSumLoadsFirst: the
# default's chunk_sum had four dependent ld, ld, st chains a thread in its sm_90a PTX) and the counter probe whose
# last chunk now loads first (TileLangOpChunksOnCounter: twelve such chains in calls 1-2).
#   precompile (70 s): the default's kernels and both probes'; beside it 1000 stress reruns each of the chunk_sum
#     probe at the op's 17 / 128 / 256 x 7168 (gate_and_bench's) and of both at 256 x 4096, and from 40 s both
#     probes' GPU bit tests
#   op bench (65 s): the op at 1-1024 tokens, both H: the default, both probes, DeepGEMM
#   op profile (25 s): the op at 256 x 4096: the default, both probes, DeepGEMM
#   gate (80 s), only where the chunk_sum probe beat the default at 256 x 4096 in the op bench: its nightly check
#     of prenorm_gemm with the path anchors
# Usage: W=/tmp/n1; rm -rf $W; mkdir -p $W; timeout -k 5 345 bash results/gpu/2026-12-06-h100-engines-22/lease/next.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/n1.tar.xz -C /tmp n1; cat $W/summary.txt        (carry .gpu-site: site, vllm-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangChunkSumLoadsFirst PRECOMPILE_S=70 \
  PRECOMPILE_PROBES="--probes-matching loads_first --probes-matching counter=2] --probes-matching counter=4] --probes-matching counter=7]" \
  GPU_BITS="loads_first or counted" GPU_BITS_S=90 STRESS="prenorm_gemm:17,128,256" STRESS_S=75
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  for probe in TileLangChunkSumLoadsFirst TileLangOpChunksOnCounter; do
    timeout -k 10 35 python3 -m mhc_verify stress --backend $P:$probe --op prenorm_gemm --tokens 256 --hidden 4096 \
      --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/${probe}_4096" --no-progress 2>&1 | tail -n 25 \
      > "$O/stress-${probe}_4096.log"
  done ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 65 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $BACKEND --ours tilelang-chunk-sum-loads-first --backend $P:TileLangOpChunksOnCounter \
    --ours tilelang-op-chunks-on-counter --backend vllm-deepgemm --op prenorm_gemm \
    --tokens 1,8,17,32,64,128,192,256,512,768,1024 --hidden 4096,7168 --mode graph --precompile off \
    --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $BACKEND \
    --backend $P:TileLangOpChunksOnCounter --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 \
    --mode graph --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
# the nightly check only where the chunk_sum probe beat the default at 256 x 4096 (a session's device time is short)
verdict=$(python3 scripts/bench_verdict.py "$O/bench-op" tilelang-chunk-sum-loads-first tilelang --op prenorm_gemm \
  --tokens 256 --hidden 4096)
echo "$verdict" >> "$O/timeline.txt"
[[ "$verdict" == gate* ]] && GATE_S=80 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 40
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
