#!/usr/bin/env bash
# Lease call 2 (sixth session): PDL dependents launched early (TileLangDecode.pdl_early, the probe
# mid_probes.TileLangPdlEarly), on top of call 1's adopted thresholds (hc_head's middle path from 129
# tokens, the prenorm_gemm op on the decode / middle GEMMs to 128).
#   1 precompile (16 CPUs), the pdl_early kernels included
#   2 (alone) the benchmark, graph-replayed, H = 7168 and 4096, T = 1 .. 1024: `tilelang` beside
#     tilelang-pdl-early, vLLM (both paths), SGLang, TileKernels
#   3 (side by side) the gate for tilelang-pdl-early: nightly checks of mhc_pre, fused_post_pre,
#     hc_head, prenorm_gemm (--examples 12, the anchors first); 1000 stress reruns (every third a
#     CUDA-graph replay) on both sides of every threshold
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
E=mhc_kernels.tilelang.mid_probes:TileLangPdlEarly
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) precompile"
timeout -k 10 100 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --pdl-early > "$O/precompile.log" 2>&1
echo "== $(date -u +%T) bench"
timeout -k 15 190 python3 -m mhc_verify.bench --backend tilelang --backend "$E" --backend vllm-tilelang \
  --backend vllm-deepgemm --backend sglang-tilelang --backend tile_kernels \
  --op mhc_pre --op fused_post_pre --op hc_head --op prenorm_gemm \
  --tokens 1,2,4,8,16,32,64,128,256,512,1024 --hidden 7168,4096 --mode graph --precompile off \
  --ours tilelang --ours tilelang-pdl-early --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) gate"
check() {  # op cap
  timeout -k 15 "$2" python3 -m mhc_verify check --profile nightly --backend "$E" --require-backend tilelang-pdl-early \
    --op "$1" --examples 12 --out "$O/check/$1" --force --no-progress 2>&1 | quiet | tail -n 30 > "$O/check-$1.log"
}
stress() {  # op tokens
  timeout -k 10 70 python3 -m mhc_verify stress --backend "$E" --op "$1" --tokens "$2" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-$1.log"
}
( check mhc_pre 230 ) &
( check fused_post_pre 230 ) &
( check hc_head 100; check prenorm_gemm 125 ) &
( stress mhc_pre 1,8,9,32,33,128,1024,4096; stress fused_post_pre 1,32,33,256,1024; stress hc_head 128,129,1024,1025
  stress prenorm_gemm 32,33,128,129 ) &
wait
python3 -m mhc_verify merge "$O"/check/*/report.json --out "$O/check-merged" --force 2>&1 | tail -n 12 > "$O/check-merged.log"
echo "== $(date -u +%T) all done"
