#!/usr/bin/env bash
# Lease call 2 of the twenty-ninth session (at most ~540 s): the committed run of the default with call 1's adoptions
# (the "lane_vectors" Sinkhorn in every fused pre to 4096 tokens but mhc_pre's middle pre at 129-256 x 7168; mhc_pre's
# and fused_post_pre's GEMM above 4096 tokens on the prenorm_gemm op's schedule), in one process with the time the
# whole grid needs (-25/lease/call2.sh's plan).
#   precompile (70 s): the default's kernels at both H (no probes)
#   bench (BENCH_S, 450 s): the default alone as ours beside every other backend, T = 1 .. 80 000, both H, graph-replayed up
#     to 4096 tokens
# Usage: W=/tmp/c2; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-07-h100-engines-26/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt   (carry .gpu-site: site, vllm-,
#        sglang-, aiter-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" STAGES=precompile bash scripts/gate_and_bench.sh "$O"
BACKEND=tilelang BENCH_S=${BENCH_S:-450} STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  echo "-- backends"; cat "$O/backends.txt"
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 30
  echo "-- headline"; python3 -m mhc_verify.bench_report "$O/bench" --headline 1,8,32,256,1024,4096,65536,80000
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
