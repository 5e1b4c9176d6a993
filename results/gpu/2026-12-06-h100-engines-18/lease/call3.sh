#!/usr/bin/env bash
# Lease call 3 of the twenty-first session (a fresh machine, at most ~330 s: two refusals had left 531 s of device
# time): the nightly checks of the committed default (call 2's benchmark) on the ops call 1's gate did not check as
# it runs: mhc_pre, pre_big_fuse, prenorm_gemm (call 1 checked the op with the four-stage probe) and hc_head; each
# with the nightly profile's path anchors (both sides of every threshold of TileLangDecode.path_boundaries up to 4097
# tokens at H = 7168), which no GPU had run for these ops. Beside them mid_probes.TileLangOpPlainDeep, for the op at
# 256 x 4096 (DeepGEMM 1.17 x in call 2): the caller's splits alone on six TMA stages from 129 tokens.
#   precompile (80 s): the default's kernels and the probe's; beside it 1000 stress reruns each of the probe at the
#     op's 256 / 320 x 7168 and 256 x 4096 (S = 16), and from 30 s the default's nightly check of hc_head (110 s)
#   bench (50 s): the op at 128-512 tokens, both H: the default, the probe, DeepGEMM
#   gate (150 s): the default's mhc_pre, pre_big_fuse, prenorm_gemm side by side
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 330 bash results/gpu/2026-12-06-h100-engines-18/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
D=mhc_kernels.tilelang.mid_probes:TileLangOpPlainDeep
export BACKEND=tilelang PRECOMPILE_S=80 PRECOMPILE_PROBES="--probes-matching stages=6" STRESS=""
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep "${STRESS_DELAY_S:-30}"  # behind the precompile's first kernels
  for h in 7168 4096; do
    tokens=$([[ $h == 7168 ]] && echo 256,320 || echo 256)
    timeout -k 5 40 python3 -m mhc_verify stress --backend $D --op prenorm_gemm --tokens $tokens --hidden $h \
      --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/prenorm_gemm_h$h" --no-progress 2>&1 \
      | tail -n 25 > "$O/stress-prenorm_gemm_h$h.log"
  done ) &
( sleep "${HEAD_DELAY_S:-30}"; GATE_S=110 GATE_OPS="hc_head" STAGES=gate bash scripts/gate_and_bench.sh "$O" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  echo "== $(date -u +%T) op bench" >> "$O/timeline.txt"
  timeout -k 5 50 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $D --ours tilelang-op-plain-deep \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 128,192,256,320,384,512 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1 )
GATE_S=150 GATE_OPS="mhc_pre pre_big_fuse prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  echo "-- op bench"; sed -n '/## Our probes against/,$p' "$O/bench-op/bench.md" | head -n 30
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
