#!/usr/bin/env bash
# Lease call 2: the middle path (TileLangDecode.mid_max_tokens: mid_parts K ranges of the tensor-core
# GEMM, then pre_overlap.py's fused pre with the parts compiled in) and hc_head's token-major
# partials (now TileLangDecode's default).
#   A (alone) the benchmark, graph-replayed, H = 7168, T = 16 .. 4096: our default, the decode path,
#     the middle-path probes (kernels/tilelang/mid_probes.py) beside vLLM (DeepGEMM), SGLang and
#     TileKernels
#   B (side by side) scripts/debug/decode_check.py on TileLangMid (against the default path: reruns,
#     graph replays, non-finite patterns); 1000 stress reruns (every third a graph replay) of
#     TileLangMid at the middle path's token counts; a ci check of TileLangMid
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
DECODE=mhc_kernels.tilelang.decode_backend:TileLangDecode
MID=mhc_kernels.tilelang.mid_probes:TileLangMid
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) start"
VLLM_USE_DEEP_GEMM=1 timeout -k 15 280 python3 -m mhc_verify.bench --backend tilelang --backend "$DECODE" \
  --backend "$MID" --backend mhc_kernels.tilelang.mid_probes:TileLangMidTwoWaves \
  --backend mhc_kernels.tilelang.mid_probes:TileLangMidFrom16 --backend vllm-tilelang --backend sglang-tilelang \
  --backend tile_kernels --op mhc_pre --op fused_post_pre --op pre_big_fuse --op hc_post --op hc_head \
  --tokens 16,32,64,128,256,512,1024,2048,4096 --hidden 7168 --mode graph --out "$O/bench" --force \
  2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) A done"
stress() {  # op tokens
  timeout -k 10 110 python3 -m mhc_verify stress --backend "$MID" --op "$1" --tokens "$2" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1" --no-progress 2>&1 | quiet | tail -n 25 > "$O/stress-$1.log"
}
( timeout -k 10 120 python3 scripts/debug/decode_check.py --decode-backend "$MID" --tokens 129,256,512,1024,4096 \
    2>&1 | quiet > "$O/decode_check_mid.log" ) &
( stress mhc_pre 129,256,1024,4096 ) &
( stress fused_post_pre 256,2048 ) &
( stress pre_big_fuse 64,1024 ) &
( timeout -k 10 120 python3 -m mhc_verify check --profile ci --backend "$MID" --op mhc_pre --op fused_post_pre \
    --op pre_big_fuse --op hc_head --examples 25 --out "$O/check-ci" --force --no-progress 2>&1 | quiet \
    | tail -n 30 > "$O/check-ci.log" ) &
wait
echo "== $(date -u +%T) all done"
