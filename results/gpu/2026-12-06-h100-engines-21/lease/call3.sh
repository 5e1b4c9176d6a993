#!/usr/bin/env bash
# Lease call 3 of the twenty-fourth session (at most ~330 s, ~170 without the gate): the op's middle GEMM at 129-256 tokens on TMA in 256-column
# K tiles, every tile of a CTA in flight (mid_probes.TileLangOpMidWide: at H = 4096 the default's 32 K ranges of 512
# columns and chunk_sum), for the op at 160-256 x 4096, where DeepGEMM led every kernel of ours in calls 1-2 and the
# window on 256-column tiles (TileLangOpPlainWide) came within 1.09 x.
#   precompile (70 s): the default's kernels and the probe's (",mid_wide"); beside it 1000 stress reruns each of the
#     probe at the op's 129 / 192 / 256 x 4096 (where it differs from the default), and from 40 s the GPU bit test of
#     its mixes against the default's
#   op bench (40 s): the op at 128-320 x 4096 and 256 x 7168: the default, the probe, TileLangOpPlainWide, DeepGEMM
#   op profile (25 s): the op at 256 x 4096, the same four
#   gate (80 s), only where the probe beat DeepGEMM at 256 x 4096 in the op bench: its nightly check of prenorm_gemm
#     with the path anchors (its window's edges among them)
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 330 bash results/gpu/2026-12-06-h100-engines-21/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangOpMidWide PRECOMPILE_S=70 PRECOMPILE_PROBES="--probes-matching mid_wide" \
  GPU_BITS="mid_wide" GPU_BITS_S=60
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 10 75 python3 -m mhc_verify stress --backend $BACKEND --op prenorm_gemm --tokens 129,192,256 --hidden 4096 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/prenorm_gemm_4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-prenorm_gemm_4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $P:TileLangOpMidWide --ours tilelang-op-mid-wide --backend $P:TileLangOpPlainWide \
    --ours tilelang-op-plain-wide --backend vllm-deepgemm --op prenorm_gemm --tokens 128,160,192,224,256,320 \
    --hidden 4096,7168 --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangOpMidWide \
    --backend $P:TileLangOpPlainWide --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph \
    --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
# the nightly check only where the probe beat DeepGEMM at 256 x 4096 (the session's device time is short)
verdict=$(python3 - "$O" <<'PY'
import json, pathlib, sys
try:
    rows = json.loads((pathlib.Path(sys.argv[1]) / "bench-op" / "bench.json").read_text())["rows"]
    t = {r["backend"]: r["us"] for r in rows if r["op"] == "prenorm_gemm" and r["T"] == 256 and r["H"] == 4096}
    print(f"{'gate' if (t.get('tilelang-op-mid-wide') or 1e9) < (t.get('vllm-deepgemm') or 0) else 'skip'}: 256 x 4096 {t}")
except Exception as e:  # the bench wrote nothing: no gate
    print(f"skip: {e!r}")
PY
)
echo "$verdict" >> "$O/timeline.txt"
[[ "$verdict" == gate* ]] && GATE_S=80 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 30
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
