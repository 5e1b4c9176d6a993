#!/usr/bin/env bash
# Lease call 3 of the nineteenth session (a fresh machine, at most ~560 s): the committed run of the new default
# (decode_pre as one cluster per token with the barrier split, TileLangDecode.decode_pre_cluster; the prenorm_gemm
# op on the caller's splits via TMA at 321-704 tokens, op_plain_tma_tokens), gated once more where call 2's gate
# ran out of memory (five nightly checks on one GPU) or did not reach (the op's window):
#   precompile (80 s): the default's kernels; beside it 1000 stress reruns each (every third a CUDA-graph replay)
#     at mhc_pre 1 / 16 / 32, fused_post_pre 32, pre_big_fuse 16 and the op at 384 / 640 tokens (H = 7168), and
#     tests/test_tilelang_gpu_bits.py's TMA pre at 67 457 tokens and cluster pres
#   gate (120 s): the nightly checks of mhc_pre, fused_post_pre and pre_big_fuse (three at once, as -15's passed)
#   bench (300 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to 4096
# Usage: W=/tmp/c39; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-16/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c39; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
export BACKEND=tilelang PRECOMPILE_S=80 STRESS_S=80 GATE_S=120 BENCH_S=300 PRECOMPILE_PROBES="" \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" STRESS="mhc_pre:1,16,32 fused_post_pre:32 pre_big_fuse:16 prenorm_gemm:384,640"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep 40  # behind the precompile's first kernels
  timeout -k 5 60 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k "tma_gemm_gives or cluster_pre_gives" --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES="precompile gate bench" bash scripts/gate_and_bench.sh "$O"
wait
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log "$O"/gpu-bits.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench"; sed -n '/## Where ours/,/## Our probes\|## Backend provenance/p' "$O/bench/bench.md" | head -n 40
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
