#!/usr/bin/env bash
# Lease call 1 of the twenty-ninth session (at most ~575 s, on a fresh machine): the session's two probes for the points
# issue 16 still has open, checked, timed beside the default and vLLM, and gated in one call.
#   precompile (110 s): the default's kernels and TileLangLaneVectors' (the "lane_vectors" Sinkhorn), both H; beside it
#     1000 stress reruns of mid_probes.TileLangTwentyNinth (both probes at once) at mhc_pre 32 / 256 / 8192 and
#     fused_post_pre 16, H = 7168
#   bits (40 s): TileLangLaneVectors against TileLangSinkhornVectors ("vectors", whose bits it claims), 1-32 tokens
#   bench (100 s + 60 s): graph-replayed mhc_pre / fused_post_pre / pre_big_fuse at 1-4096 tokens, the default,
#     TileLangLaneVectors, vLLM's TileLang; eager mhc_pre / fused_post_pre at 8192 / 65 536 / 80 000 tokens, the
#     default, TileLangPreOpSchedule, vLLM's TileLang; both H
#   profile (20 s): mhc_pre at 32 x 7168 per kernel, the default and TileLangLaneVectors
#   gate (150 s): TileLangTwentyNinth's nightly checks of mhc_pre, fused_post_pre and pre_big_fuse, side by side
#   repeats (60 s): three more processes at mhc_pre 32 x 7168 (graph) and 65 536 x 4096 (eager)
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 590 bash results/gpu/2026-12-07-h100-engines-26/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
M=mhc_kernels.tilelang.mid_probes
G=$M:TileLangTwentyNinth
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
BACKEND=$G PRECOMPILE_S=110 PRECOMPILE_PROBES="--probes-matching lane_vectors" \
  STRESS="mhc_pre:32 mhc_pre:256 fused_post_pre:16 mhc_pre:8192" STRESS_S=100 STAGES=precompile \
  bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "bits"
  timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $M:TileLangLaneVectors \
    --against $M:TileLangSinkhornVectors --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,16,32 \
    > "$O/bits-lane-vectors.log" 2>&1; tail -n 1 "$O/bits-lane-vectors.log" >> "$O/timeline.txt"
  stage "bench pre"
  timeout -k 5 100 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $M:TileLangLaneVectors --ours tilelang-lane-vectors --backend vllm-tilelang \
    --op mhc_pre --op fused_post_pre --op pre_big_fuse --tokens 1,8,16,32,64,256,1024,4096 --hidden 7168,4096 \
    --mode graph --precompile off --out "$O/bench-pre" --force > "$O/bench-pre.log" 2>&1
  stage "bench big"
  timeout -k 5 60 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $M:TileLangPreOpSchedule --ours tilelang-pre-op-schedule --backend vllm-tilelang \
    --op mhc_pre --op fused_post_pre --tokens 8192,65536,80000 --hidden 4096,7168 --mode graph \
    --graph-max-tokens 4096 --precompile off --out "$O/bench-big" --force > "$O/bench-big.log" 2>&1
  stage "profile"
  timeout -k 5 20 python3 scripts/debug/profile_ops.py --backend tilelang --backend $M:TileLangLaneVectors \
    --op mhc_pre --tokens 32 --hidden 7168 --mode graph --out "$O/prof.md" > "$O/prof.log" 2>&1 )
BACKEND=$G GATE_S=150 GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" STAGES=gate bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "repeats"
  for r in 1 2 3; do
    timeout -k 5 20 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
      --backend $G --ours tilelang-twenty-ninth --backend vllm-tilelang \
      --op mhc_pre --tokens 32,65536 --hidden 7168,4096 --mode graph --graph-max-tokens 4096 --precompile off \
      --out "$O/repeat$r" --force > "$O/repeat$r.log" 2>&1
  done
  stage "done" )
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- bits"; grep -cE "^ok" "$O/bits-lane-vectors.log"; grep -E "FAIL|Error" "$O/bits-lane-vectors.log" | head -n 5
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for b in bench-pre bench-big; do echo "-- $b"; sed -n '/## Our probes against/,/^!\[/p' "$O/$b/bench.md" | head -n 60; done
  for r in 1 2 3; do echo "-- repeat$r"; grep -E "^\| (32|65536) \|" "$O/repeat$r/bench.md" | cut -c1-200; done
  echo "-- prof"; head -c 3000 "$O/prof.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
