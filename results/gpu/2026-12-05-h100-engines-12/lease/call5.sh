#!/usr/bin/env bash
# Lease call 5 of the fifteenth session (a fresh machine, ~330 s): the one count where the adopted default
# lost time, and where the decode floor's time goes now.
#   precompile (150 s): the default's kernels, and the middle pres with the gathered-reciprocal Sinkhorn
#     and the constants late (no norm; one buffer or two, with and without the prefetch): those of
#     mid_probes.TileLangEarlySinkhorn and, on one buffer, TileLangMidConstantsTwoBuffers
#   bitwise (30 s): TileLangMidConstantsTwoBuffers against the default at 1024 tokens (its one-buffer
#     pre), mhc_pre and pre_big_fuse, both H
#   bench-mid (75 s): the default, TileLangEarlySinkhorn and TileLangMidConstantsTwoBuffers side by side,
#     mhc_pre / fused_post_pre / pre_big_fuse at 256-2048 tokens, both H, graph-replayed: is mhc_pre's
#     1.02 x at 1024 x 7168 (call 2) the early loads on one buffer?
#   profile (60 s): per-kernel start / end inside graph replays of mhc_pre and fused_post_pre at 1-64 x
#     7168, the default beside vLLM (the 8 us floor: 8.1 / 8.9 us at 16 / 32 tokens in call 3)
# Usage: W=/tmp/c5; rm -rf $W; mkdir -p $W; timeout -k 5 330 bash results/gpu/2026-12-05-h100-engines-12/lease/call5.sh \
#        $W > $W/log 2>&1; tar -cJf $OUT/c5.tar.xz -C /tmp c5        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stage precompile
timeout -k 5 150 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes-matching "norm=False,gather_rcp]" \
  --probes-matching "norm=False,one_buffer,gather_rcp]" --probes-matching "norm=False,prefetch,gather_rcp]" \
  > "$O/precompile.log" 2>&1
stage bitwise
timeout -k 5 30 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangMidConstantsTwoBuffers --against tilelang \
  --op mhc_pre,pre_big_fuse --tokens 1024 --hidden 7168,4096 > "$O/bitwise.log" 2>&1
stage bench-mid
timeout -k 5 75 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangEarlySinkhorn \
  --backend $P:TileLangMidConstantsTwoBuffers --op mhc_pre --op fused_post_pre --op pre_big_fuse \
  --tokens 256,512,768,1024,1280,1536,2048 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-early-sinkhorn --ours tilelang-mid-constants-two-buffers --out "$O/bench-mid" --force \
  > "$O/bench-mid.log" 2>&1
stage profile
timeout -k 5 60 python3 scripts/debug/profile_ops.py --mode graph --calls 20 --backend tilelang --backend vllm-deepgemm \
  --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 1,16,32,64 --hidden 7168 \
  --out "$O/profile-graph-H7168.md" > "$O/profile-H7168.log" 2>&1
stage done
