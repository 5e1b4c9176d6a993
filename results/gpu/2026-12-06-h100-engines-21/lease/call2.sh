#!/usr/bin/env bash
# Lease call 2 of the twenty-fourth session (at most ~400 s): fn3's 72 live rows alone on every TMA GEMM, TMA zero-filling
# the wgmma's 8 padding rows (mid_probes.TileLangFn3LiveRows: 5.5 % fewer bytes a CTA of the op's window), with the
# op's window from 129 tokens (TileLangLiveFrom129) and on 256-column tiles, three stages (TileLangOpPlainWide), for the
# op at 160-320 x 4096 where call 1 had DeepGEMM 1.09-1.13 x ahead of every kernel of ours.
#   precompile (80 s): the default's kernels and the probes' (",live_rows"); beside it 1000 stress reruns each of the
#     wide probe (all three at once) at the op's 129 / 256 and mhc_pre's 512 tokens (H = 7168), and from 40 s the GPU
#     bit tests of the live rows against the default (three reruns)
#   op bench (60 s): the op at 128-704 tokens, both H: the default, the three probes, DeepGEMM
#   op profile (25 s): the op at 256 x 4096: the default, the two window probes, DeepGEMM
#   gate (80 s): the wide probe's nightly check of prenorm_gemm with the path anchors
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 400 bash results/gpu/2026-12-06-h100-engines-21/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangOpPlainWide PRECOMPILE_S=80 STRESS_S=80 PRECOMPILE_PROBES="--probes-matching live_rows" \
  STRESS="prenorm_gemm:129,256 mhc_pre:512" GPU_BITS="live_rows" GPU_BITS_S=80
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 60 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $P:TileLangFn3LiveRows --ours tilelang-fn3-live-rows --backend $P:TileLangLiveFrom129 \
    --ours tilelang-live-from129 --backend $P:TileLangOpPlainWide --ours tilelang-op-plain-wide --backend vllm-deepgemm \
    --op prenorm_gemm --tokens 128,160,192,256,320,512,704 --hidden 4096,7168 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangLiveFrom129 \
    --backend $P:TileLangOpPlainWide --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph \
    --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
GATE_S=80 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 40
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
