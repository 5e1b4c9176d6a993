#!/usr/bin/env bash
# Lease call 4 (written in the eleventh session, not run: no device was lent). Probes, each claiming
# the default's bits:
#   mid_probes.TileLangGemmOpCluster (and TileLangGemmOpCluster128, 128-token blocks from 512): the op's
#     chunks summed inside a thread-block cluster, no chunk_sum launch; for the op's losses to DeepGEMM
#     at 256 x 4096 (5.9 against 6.8 us) and 512 x 7168 / 4096 (11.0 / 7.2 against 11.8 / 7.7)
#   mid_probes.TileLangGemmTma: every prenorm GEMM on TMA loads and a producer warpgroup; for mhc_pre at
#     64-512 x 4096 (vLLM 1.04-1.18 x; our GEMM ~1 us behind DeepGEMM's at the same partition) and the
#     op's copy ratio at 4096 x 4096 (85.5 %) and 65 536+ (91 %)
#   mid_probes.TileLangSinkhornGather: the warp Sinkhorn's sums by independent shuffles; for mhc_pre's
#     16-32-token floor (9.0 / 9.7 us at H = 7168, 8 asked)
# In one call of at most ~550 s:
#   precompile (130 s: a fresh machine has no kernel cache, ~310 configurations) our kernels and these
#     probes' (op_cluster_jobs, tma_jobs, the gather Sinkhorn's; not the earlier probes')
#   bitwise (180 s): TileLangGemmOpCluster == tilelang on the op; TileLangGemmOpCluster128 ==
#     TileLangGemmOpBlock128 at 512 .. 1024 tokens (the same blocks and K ranges, chunk_sum behind);
#     TileLangGemmTma == tilelang on mhc_pre, fused_post_pre, hc_head and the op; TileLangSinkhornGather
#     == tilelang on mhc_pre, fused_post_pre and pre_big_fuse; both H, run to run and on graph replay;
#     tests/test_tilelang_gpu_bits.py. Beside it 1000 stress reruns (every third a CUDA-graph replay)
#     of each probe where its new code runs, the op at the benchmark's S = 16 (with stress's default
#     S = 1 the op's chunks outnumber a cluster and chunk_sum runs instead)
#   bench (230 s), graph-replayed (eager above 4096), both H: the op, ours and the GEMM probes beside
#     DeepGEMM; mhc_pre, ours, the TMA and gather probes and the two together (TileLangTmaGather)
#     beside vLLM on DeepGEMM
# Usage: W=/tmp/c4; mkdir -p $W; timeout -k 5 570 bash results/gpu/2026-12-05-h200-engines-8/lease/call4.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c4.tar.xz -C /tmp c4        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
source scripts/device_env.sh
O=${1:?out dir}; mkdir -p "$O"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1

stage "precompile"
timeout -k 10 130 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes-matching ",tma]" \
  --probes-matching "cluster=" --probes-matching ",gather]" > "$O/precompile.log" 2>&1

stage "bitwise + stress"
bitwise() {  # name cap args...
  local name=$1 cap=$2; shift 2
  timeout -k 10 "$cap" python3 scripts/debug/probe_bitwise_check.py "$@" 2>&1 | quiet > "$O/bitwise-$name.log"
}
( bitwise cluster 40 --probe $P:TileLangGemmOpCluster --against tilelang --op prenorm_gemm \
    --tokens 33,64,128,256,257,512,768,1000,1024 --hidden 4096,7168
  bitwise cluster128 30 --probe $P:TileLangGemmOpCluster128 --against $P:TileLangGemmOpBlock128 --op prenorm_gemm \
    --tokens 512,640,768,1000,1024 --hidden 4096,7168
  bitwise tma 50 --probe $P:TileLangGemmTma --against tilelang --op mhc_pre,fused_post_pre,hc_head,prenorm_gemm \
    --tokens 1,16,33,64,256,512,1024,4096 --hidden 4096,7168
  bitwise gather 30 --probe $P:TileLangSinkhornGather --against tilelang --tokens 1,16,32,64,256,1024 \
    --hidden 4096,7168
  timeout -k 10 30 python3 -m pytest -q -p no:cacheprovider tests/test_tilelang_gpu_bits.py --require-backend tilelang \
    2>&1 | quiet | tail -n 30 > "$O/pytest-gpu-bits.log" ) &
stress() {  # probe op tokens hidden
  timeout -k 10 30 python3 -m mhc_verify stress --backend $P:$1 --op $2 --tokens $3 --hidden $4 --n-splits 16 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/$1_$2_$3_$4" --no-progress 2>&1 \
    | quiet | tail -n 25 > "$O/stress-$1_$2_$3_$4.log"
}
stress TileLangGemmOpCluster prenorm_gemm 256 4096
stress TileLangGemmOpCluster prenorm_gemm 768 7168
stress TileLangGemmOpCluster128 prenorm_gemm 512 7168
stress TileLangGemmTma mhc_pre 64 4096
stress TileLangGemmTma prenorm_gemm 4096 4096
stress TileLangSinkhornGather mhc_pre 32 7168
wait

stage "bench"
timeout -k 15 100 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangGemmOpCluster \
  --backend $P:TileLangGemmOpCluster128 --backend $P:TileLangGemmTma --backend vllm-deepgemm --op prenorm_gemm \
  --tokens 64,256,512,768,1024,4096,65536 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-gemm-op-cluster --ours tilelang-gemm-op-cluster-bm128 --ours tilelang-gemm-tma \
  --out "$O/bench-op" --force 2>&1 | quiet > "$O/bench-op.log"
timeout -k 15 130 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangGemmTma \
  --backend $P:TileLangSinkhornGather --backend $P:TileLangTmaGather --backend vllm-tilelang --op mhc_pre \
  --tokens 1,16,32,64,128,256,512,4096 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-gemm-tma --ours tilelang-sinkhorn-gather --ours tilelang-tma-gather --out "$O/bench-pre" \
  --force 2>&1 | quiet > "$O/bench-pre.log"
stage "done"
