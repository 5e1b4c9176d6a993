#!/usr/bin/env bash
# Lease call 1 of the thirteenth session: the gate of mid_probes.TileLangNarrowSums (the twelfth's
# candidate default TileLangGatherOpTma, the gather Sinkhorn and the op's TMA GEMM from 1025 tokens, plus
# decode_pre's narrow sums), a GPU bitwise check of the narrow sums, a graph-replay profile of the
# losses, and a benchmark of our three configurations beside vLLM's TileLang, in one call of at most
# ~575 s:
#   precompile + stress (95 s; scripts/gate_and_bench.sh): the default's kernels and the TMA, gather and
#     narrow ones (344 configurations); beside it 1000 stress reruns each (every third a CUDA-graph replay) of the candidate
#     where its new code runs; after the precompile (40 s) the narrow sums bitwise against TileLangGatherOpTma
#   gate (150 s): nightly checks of the candidate on mhc_pre, fused_post_pre, pre_big_fuse, prenorm_gemm
#   profile (80 s): scripts/debug/profile_ops.py --mode graph, each kernel's place in a replayed call,
#     ours (default and candidate), vLLM's (TileLang, DeepGEMM) and TileKernels', at 16-768 tokens, where
#     ours loses or misses a floor
#   bench (185 s): tilelang, TileLangGatherOpTma, TileLangNarrowSums, TileLangNarrowBt16 (the FMA decode GEMM
#     at block_t 16 for 9-16 tokens on top), vllm-tilelang, both H, T = 1 .. 4096, graph-replayed, the ops
#     whose kernels the candidates change (not hc_head, hc_post): the full run of every backend is the next
#     call's, on the default adopted
#   bench-post (25 s): hc_post at 128 .. 4096 x 4096, mid_probes.TileLangPostWide2048 beside the default,
#     vLLM's and SGLang's TileLang (its precompile: --probes-matching h_blk=2048)
# Adopt (TileLangDecode.sinkhorn_layout = "gather", op_gemm_tma_from_tokens = 1025, and
# decode_pre_narrow_sums where it is no slower) only where the gate passes, every stress run shows 0
# failures and the bench shows the candidate no slower.
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 590 bash results/gpu/2026-12-05-engines-10/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
( sleep "${BITWISE_DELAY:-90}"  # after the precompile (its kernels compiled last); its own 40 s cap
  source scripts/device_env.sh
  PYTHONWARNINGS=ignore timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangNarrowSums \
    --against $P:TileLangGatherOpTma --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,16,32 --hidden 7168,4096 \
    > "$O/bitwise-narrow.log" 2>&1 ) &
BACKEND=$P:TileLangNarrowSums STAGES="precompile gate" \
  PRECOMPILE_PROBES="--probes-matching ,tma] --probes-matching ,gather] --probes-matching ,narrow_sums] --probes-matching h_blk=2048 --probes-matching block_t=16" PRECOMPILE_S=95 STRESS_S=95 GATE_S=150 \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse prenorm_gemm" \
  STRESS="mhc_pre:16,32 pre_big_fuse:32,1024 fused_post_pre:32 prenorm_gemm:1024,1025,4096" \
  bash scripts/gate_and_bench.sh "$O"
wait
source scripts/device_env.sh
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
echo "== $(date -u +%T) profile" | tee -a "$O/timeline.txt"
for h in 7168 4096; do
  timeout -k 5 40 python3 scripts/debug/profile_ops.py --mode graph --calls 20 --backend tilelang \
    --backend $P:TileLangNarrowSums --backend vllm-tilelang --backend vllm-deepgemm --backend tile_kernels \
    --op mhc_pre --op pre_big_fuse --op hc_post --op prenorm_gemm --tokens 16,32,64,128,256,512,768 --hidden $h \
    --out "$O/profile-graph-H$h.md" 2>&1 | quiet > "$O/profile-H$h.log"
done
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 15 185 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangGatherOpTma \
  --backend $P:TileLangNarrowSums --backend $P:TileLangNarrowBt16 --backend vllm-tilelang --op mhc_pre \
  --op fused_post_pre --op pre_big_fuse --op prenorm_gemm --tokens 1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096 \
  --hidden 7168,4096 --mode graph --precompile off --ours tilelang --ours tilelang-gather-op-tma \
  --ours tilelang-narrow-sums --ours tilelang-narrow-bt16 --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) bench-post" | tee -a "$O/timeline.txt"
timeout -k 5 25 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangPostWide2048 \
  --backend vllm-tilelang --backend sglang-tilelang --op hc_post --tokens 128,256,512,768,1024,1536,4096 \
  --hidden 4096 --mode graph --precompile off --ours tilelang --ours tilelang-post-wide-2048 \
  --out "$O/bench-post" --force 2>&1 | quiet > "$O/bench-post.log"
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
