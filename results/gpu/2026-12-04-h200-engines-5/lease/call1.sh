#!/usr/bin/env bash
# Lease call 1 (fifth session, 2026-12-04): what the last session left unrun, and a profile of the
# middle token counts before any kernel changes there.
#   A (alone on the GPU; the precompile busies only the CPUs) precompile our kernels at the nightly
#     profile's hidden sizes; scripts/debug/pre_overlap_check.py and decode_variants_check.py
#     (bitwise against today's kernels, then timed)
#   B (alone) scripts/debug/profile_ops.py: per-kernel time of mhc_pre, fused_post_pre, hc_head at
#     T = 64 .. 1024 for ours, the decode path stretched to 1024 (TileLangDecodeEverywhere) and vLLM
#     on DeepGEMM; a graph-replayed benchmark of the same
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
EVERY=mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
( timeout -k 10 200 python3 - <<'PY' 2>&1 | quiet > "$O/precompile.log"
from mhc_kernels.tilelang._build import device_target
from mhc_kernels.tilelang.precompile import compile_in_parallel, jobs
todo = [j for h in (7168,) for j in jobs(h)]
todo += [(f"decode_pre[H={h},parts={s},norm={b}]", "decode.decode_pre_kernel", (4, h, s, b), {})
         for h in (7168,) for s in (1, 2, 4, 8, 16) for b in (False, True)]
print(compile_in_parallel(todo, device_target(), 12))
PY
) &
PRE=$!
( timeout -k 10 170 python3 scripts/debug/pre_overlap_check.py 2>&1 | quiet > "$O/pre_overlap_check.log"
  echo "rc $?" >> "$O/pre_overlap_check.log"
  timeout -k 10 130 python3 scripts/debug/decode_variants_check.py 2>&1 | quiet > "$O/decode_variants_check.log"
  echo "rc $?" >> "$O/decode_variants_check.log" )
wait $PRE
echo "== $(date -u +%T) A done"
VLLM_USE_DEEP_GEMM=1 timeout -k 10 80 python3 scripts/debug/profile_ops.py --backend tilelang --backend "$EVERY" \
  --backend vllm-tilelang --op mhc_pre --op fused_post_pre --op hc_head --tokens 64,128,256,512,1024 --hidden 7168 \
  --out "$O/profile_mid.md" 2>&1 | quiet | tail -n 5 > "$O/profile_mid.log"
VLLM_USE_DEEP_GEMM=1 timeout -k 10 90 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" \
  --backend "$EVERY" --backend vllm-tilelang --op mhc_pre --op fused_post_pre --op hc_head \
  --op pre_big_fuse --tokens 32,64,128,256,512,1024 --hidden 7168 --mode graph --out "$O/bench_mid" --force \
  2>&1 | quiet > "$O/bench_mid.log"
echo "== $(date -u +%T) B done"
echo "== $(date -u +%T) all done"
