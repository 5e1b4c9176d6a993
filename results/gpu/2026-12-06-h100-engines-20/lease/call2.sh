#!/usr/bin/env bash
# Lease call 2 of the twenty-third session (a fresh machine, at most ~570 s): the op at 256 x 4096 (DeepGEMM 5.8 against
# 6.7 us in call 1) with each split's chunks summed inside their cluster through distributed shared memory
# (mid_probes.TileLangOpChunksDsmem), no chunk_sum launch; the tree's default has the plain window from 257 (call 1's gate).
#   precompile (80 s): the default's kernels and both cluster probes' (",cluster="); beside it 1000 stress reruns each
#     of the dsmem probe at the op's 128 / 193 / 256 tokens (H = 7168: 7, 2 and 2 chunks a split), and from 40 s the
#     GPU bit test of both cluster probes against the default (test_the_cluster_sum_gives_chunk_sums_bits)
#   op bench (40 s): the op at 64 / 128 / 192 / 256 tokens, both H: the default, the dsmem probe, the scratch
#     cluster probe (TileLangGemmOpCluster, -9: 1.26-1.80 x), DeepGEMM
#   op profile (25 s): the op at 256 x 4096, the same four
#   gate (75 s): the dsmem probe's nightly check of prenorm_gemm with the path anchors
#   bench (BENCH_S=290 s), only where the probe beat DeepGEMM at 256 x 4096 in the op bench, its bits held and its
#     stress found nothing: the dsmem probe alone as ours beside every other backend, the committed-run candidate
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 570 bash results/gpu/2026-12-06-h100-engines-20/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangOpChunksDsmem PRECOMPILE_S=80 STRESS_S=80 PRECOMPILE_PROBES="--probes-matching ,cluster=" \
  STRESS="prenorm_gemm:128,193,256" GPU_BITS="cluster_sum" GPU_BITS_S=75
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpChunksDsmem \
    --ours tilelang-op-chunks-dsmem --backend $P:TileLangGemmOpCluster --ours tilelang-gemm-op-cluster \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 64,128,192,256 --hidden 4096,7168 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangOpChunksDsmem \
    --backend $P:TileLangGemmOpCluster --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 \
    --mode graph --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
GATE_S=75 GATE_OPS="prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
# the committed-run candidate only where the probe leads at the one point it is for, and its checks held
verdict=$(python3 - "$O" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
try:
    rows = json.loads((out / "bench-op" / "bench.json").read_text())["rows"]
    t = {r["backend"]: r["us"] for r in rows if r["op"] == "prenorm_gemm" and r["T"] == 256 and r["H"] == 4096}
    bits = (out / "gpu-bits.log").read_text()
    stress = "".join(p.read_text() for p in out.glob("stress-*.log"))
    ok = (t.get("tilelang-op-chunks-dsmem") or 1e9) < (t.get("vllm-deepgemm") or 0) and " passed" in bits \
        and "failed" not in bits.replace("0/1000 reruns failed", "") and "0 with failures" in stress
    print(f"{'bench' if ok else 'skip'}: 256 x 4096 {t}")
except Exception as e:  # a stage that did not write its file: no bench
    print(f"skip: {e!r}")
PY
)
echo "$verdict" >> "$O/timeline.txt"
[[ "$verdict" == bench* ]] && BENCH_S=290 BENCH_DEFAULT=0 STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  echo "-- gpu-bits"; tail -n 6 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  echo "-- bench-op"; sed -n '/## Our probes against/,$p' "$O/bench-op/bench.md" | head -n 30
  grep -A 8 "prenorm_gemm, H = 4096" "$O/bench-op/bench.md" | head -n 10
  echo "-- prof-op"; head -c 3000 "$O/prof-op.md"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" 2>/dev/null | head -n 30
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
