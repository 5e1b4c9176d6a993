#!/usr/bin/env bash
# Lease call 3 of the twenty-ninth session (at most ~240 s, on call 2's warm machine: its kernels in the tree's
# .tilelang-cache): repeats at the points issue 16 still has in doubt, beside the backends that were fastest there.
#   precompile (PRECOMPILE_S, 30 s): the default's kernels at both H (no probes; from the cache; 70 s on a fresh machine)
#   repeats (ROUNDS=2 rounds of 65 s + 40 s at most): each a process of its own. Graph-replayed: hc_post at 16 / 64 /
#     128 tokens, mhc_pre at 32, the op at 256, both H; then eager at 65 536 tokens mhc_pre and pre_big_fuse, both H;
#     ours beside vLLM's TileLang and DeepGEMM and SGLang's TileLang
# Usage: W=/tmp/c3; mkdir -p $W; timeout -k 5 250 bash results/gpu/2026-12-07-h100-engines-26/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=tilelang PRECOMPILE_S=${PRECOMPILE_S:-30} PRECOMPILE_PROBES="" STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  rivals=(--backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang)
  for r in $(seq 1 "${ROUNDS:-2}"); do
    echo "== $(date -u +%T) repeat $r" >> "$O/timeline.txt"
    timeout -k 5 65 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op hc_post \
      --op mhc_pre --op prenorm_gemm --tokens 16,32,64,128,256 --hidden 7168,4096 --mode graph --precompile off \
      --out "$O/decode$r" --force > "$O/decode$r.log" 2>&1
    timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang "${rivals[@]}" --op mhc_pre \
      --op pre_big_fuse --tokens 65536 --hidden 7168,4096 --mode graph --precompile off --out "$O/large$r" --force \
      > "$O/large$r.log" 2>&1
  done
  echo "== $(date -u +%T) done" >> "$O/timeline.txt" )
{ cat "$O/timeline.txt"
  for r in $(seq 1 "${ROUNDS:-2}"); do for k in decode large; do echo "-- $k$r"
    python3 -m mhc_verify.bench_report "$O/$k$r" --headline 16,32,64,128,256,65536 2>&1 | grep -E "^\||^H ="; done; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
