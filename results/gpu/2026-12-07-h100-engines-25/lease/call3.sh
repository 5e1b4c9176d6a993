#!/usr/bin/env bash
# Lease call 3 of the twenty-eighth session (at most ~420 s): three repeats at the points call 2's committed run did not
# give to ours, and at mhc_pre's floor point, beside the backends that were fastest there.
#   precompile (70 s): the default's kernels at both H (no probes)
#   repeats (3 x 115 s at most; the first process also compiles the rivals' kernels): each a process of its own, graph-replayed to 4096 tokens: hc_post at 16 / 64 / 128 tokens,
#     mhc_pre at 32, the op at 256, both H; then eager at 65 536 tokens mhc_pre and pre_big_fuse, both H; ours beside
#     vLLM's TileLang and DeepGEMM and SGLang's TileLang
# Usage: W=/tmp/c3; mkdir -p $W; timeout -k 5 420 bash results/gpu/2026-12-07-h100-engines-25/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="" STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  rivals=(--backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang)
  for r in 1 2 3; do
    echo "== $(date -u +%T) repeat $r" >> "$O/timeline.txt"
    timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op hc_post \
      --op mhc_pre --op prenorm_gemm --tokens 16,32,64,128,256 --hidden 7168,4096 --mode graph --precompile off \
      --out "$O/decode$r" --force > "$O/decode$r.log" 2>&1
    timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op mhc_pre \
      --op pre_big_fuse --tokens 65536 --hidden 7168,4096 --mode graph --precompile off --out "$O/large$r" --force \
      > "$O/large$r.log" 2>&1
  done
  echo "== $(date -u +%T) done" >> "$O/timeline.txt" )
{ cat "$O/timeline.txt"
  for r in 1 2 3; do for k in decode large; do echo "-- $k$r"
    python3 -m mhc_verify.bench_report "$O/$k$r" --headline 16,32,64,128,256,65536 2>&1 | grep -E "^\||^H ="; done; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
