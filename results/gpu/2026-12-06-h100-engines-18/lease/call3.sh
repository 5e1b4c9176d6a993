#!/usr/bin/env bash
# Lease call 3 of the twenty-first session (a fresh machine, at most ~280 s: refusals had left 426 s of device
# time): the nightly checks of the committed default (call 2's benchmark) on the ops call 1's gate did not check as
# it runs: mhc_pre, pre_big_fuse, prenorm_gemm (call 1 checked the op with the four-stage probe) and hc_head; each
# with the nightly profile's path anchors (both sides of every threshold of TileLangDecode.path_boundaries up to 4097
# tokens at H = 7168), which no GPU had run for these ops. Beside them the times of mid_probes.TileLangOpPlainDeep,
# for the op at 256 x 4096 (DeepGEMM 1.17 x in call 2): the caller's splits alone on six TMA stages from 129 tokens
# (its gate is a later call's).
#   precompile (70 s): the default's kernels and the probe's; beside it, from 30 s, the default's nightly check of
#     hc_head (100 s)
#   bench (30 s): the op at 192 / 256 / 320 tokens, both H: the default, the probe, DeepGEMM
#   gate (130 s): the default's mhc_pre, pre_big_fuse, prenorm_gemm side by side
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 280 bash results/gpu/2026-12-06-h100-engines-18/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
D=mhc_kernels.tilelang.mid_probes:TileLangOpPlainDeep
export BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="--probes-matching stages=6" STRESS=""
( sleep "${HEAD_DELAY_S:-30}"; GATE_S=100 GATE_OPS="hc_head" STAGES=gate bash scripts/gate_and_bench.sh "$O" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  echo "== $(date -u +%T) op bench" >> "$O/timeline.txt"
  timeout -k 5 30 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $D --ours tilelang-op-plain-deep \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 192,256,320 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1 )
GATE_S=130 GATE_OPS="mhc_pre pre_big_fuse prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  echo "-- op bench"; sed -n '/## Our probes against/,$p' "$O/bench-op/bench.md" | head -n 30
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
