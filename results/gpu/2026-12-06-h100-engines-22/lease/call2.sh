#!/usr/bin/env bash
# Lease call 2 of the twenty-fifth session (at most ~340 s): the op's chunks summed on a counter without call 1's
# fences (call 1's build, every thread fencing, was 1.4-1.8 x the default's time): the counter's acq_rel atomic
# alone (mid_probes.TileLangOpChunksOnCounter) and with the counting thread fencing around it
# (TileLangOpCounterFirstThreadFence), for the op at 256 x 4096 where DeepGEMM leads (5.9 against 6.9 us in call 1).
#   precompile (70 s): the default's kernels and the two probes'; beside it 1000 stress reruns each of the atomic
#     alone at the op's 97 / 193 / 256 x 4096 and 128 / 256 x 7168 (2, 4 and 7 chunks a split), of the fenced one at
#     256 x 4096, and from 40 s the GPU bit tests of both against the default (eager, three reruns; a graph captured
#     on a side stream)
#   op bench (60 s): the op at 64-1024 tokens, both H: the default, the two probes, DeepGEMM
#   op profile (25 s): the op at 256 x 4096: the default, the atomic alone, DeepGEMM
#   gate (80 s), only where the atomic alone beat DeepGEMM at 256 x 4096 in the op bench: its nightly check of
#     prenorm_gemm with the path anchors
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 340 bash results/gpu/2026-12-06-h100-engines-22/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangOpChunksOnCounter PRECOMPILE_S=70 PRECOMPILE_PROBES="--probes-matching counter=2] --probes-matching counter=4] --probes-matching counter=7] --probes-matching fence=first_thread" \
  GPU_BITS="counted" GPU_BITS_S=75 STRESS="prenorm_gemm:128,256" STRESS_S=75
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 10 75 python3 -m mhc_verify stress --backend $BACKEND --op prenorm_gemm --tokens 97,193,256 --hidden 4096 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/prenorm_gemm_4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-prenorm_gemm_4096.log"
  timeout -k 10 30 python3 -m mhc_verify stress --backend $P:TileLangOpCounterFirstThreadFence --op prenorm_gemm \
    --tokens 256 --hidden 4096 --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/fenced_4096" \
    --no-progress 2>&1 | tail -n 25 > "$O/stress-fenced_4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 60 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $BACKEND --ours tilelang-op-chunks-on-counter --backend $P:TileLangOpCounterFirstThreadFence \
    --ours tilelang-op-counter-first-thread-fence --backend vllm-deepgemm --op prenorm_gemm \
    --tokens 64,128,160,192,224,256,384,512,768,1024 --hidden 4096,7168 --mode graph --precompile off \
    --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $BACKEND \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph \
    --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
# the nightly check only where the atomic alone beat DeepGEMM at 256 x 4096 (the session's device time is short)
verdict=$(python3 - "$O" <<'PY'
import json, pathlib, sys
try:
    rows = json.loads((pathlib.Path(sys.argv[1]) / "bench-op" / "bench.json").read_text())["rows"]
    t = {r["backend"]: r["us"] for r in rows if r["op"] == "prenorm_gemm" and r["T"] == 256 and r["H"] == 4096}
    won = (t.get('tilelang-op-chunks-on-counter') or 1e9) < (t.get('vllm-deepgemm') or 0)
    print(f"{'gate' if won else 'skip'}: 256 x 4096 {t}")
except Exception as e:  # the bench wrote nothing: no gate
    print(f"skip: {e!r}")
PY
)
echo "$verdict" >> "$O/timeline.txt"
[[ "$verdict" == gate* ]] && GATE_S=80 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,/^!\[/p' "$O/bench-op/bench.md" | head -n 40
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
