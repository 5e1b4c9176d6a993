#!/usr/bin/env bash
# Lease call 2 of the eighteenth session (at most ~185 s, no precompile: each process compiles what it first
# calls): after call 1's adoptions (the hc_post op one CTA per token at 449-704 x 4096; mhc_pre's large-T GEMM
# on TMA from 67 457 tokens), where the time goes at the points vLLM still leads (mhc_pre 512 / 1024 x 4096:
# 1.03 / 1.11 x in call 1's benchmark), the TMA pre's bits, and the hc_post window's neighbours timed (call 1's side-by-side
# bench of it ran out of its 15 s):
#   post (50 s): hc_post at 384-768 x 4096, the default beside the one before (TileLangPostWideCpAsyncPre),
#     vLLM and SGLang, graph-replayed
#   profile (60 s): scripts/debug/profile_ops.py, mhc_pre and fused_post_pre at 512 / 1024 x 4096, ours and
#     vLLM's, graph-replayed: each kernel's start and end within its call
#   tma bits (45 s): tests/test_tilelang_gpu_bits.py's mhc_pre at 67 457 tokens, the default's TMA GEMM
#     against every GEMM on cp.async, bitwise
# Usage: W=/tmp/c218; rm -rf $W; mkdir -p $W; timeout -k 5 185 bash results/gpu/2026-12-06-h100-engines-15/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c218; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
B=mhc_kernels.tilelang.mid_probes
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stage post
timeout -k 5 50 python3 -m mhc_verify.bench --backend tilelang --backend $B:TileLangPostWideCpAsyncPre --ours tilelang \
  --ours tilelang-post-wide-cp-async-pre --backend vllm-tilelang --backend sglang-tilelang --op hc_post \
  --tokens 384,448,512,576,640,704,768 --hidden 4096 --mode graph --precompile off --out "$O/bench-post" --force \
  > "$O/bench-post.log" 2>&1
stage profile
timeout -k 5 60 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang --op mhc_pre \
  --op fused_post_pre --tokens 512,1024 --hidden 4096 --mode graph --out "$O/prof-mid.md" > "$O/prof.log" 2>&1
stage "tma bits"
timeout -k 5 45 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py -k tma_gemm_gives \
  --require-backend tilelang > "$O/tma-bits.log" 2>&1
stage done
{ cat "$O/timeline.txt"; for b in bench-post; do echo "-- $b"; grep -E "^\| [0-9]+ \|" "$O/$b/bench.md" | cut -c1-160; done
  echo "-- prof"; cat "$O/prof-mid.md"; echo "-- tma bits"
  tail -n 3 "$O/tma-bits.log"; } > "$O/summary.txt" 2>&1
true  # the summary above reads what the stages wrote; a missing one is in it, not a failed call
