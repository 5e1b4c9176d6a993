#!/usr/bin/env bash
# Lease call 4 of the fourteenth session (a fresh machine): the rest of TileLangNarrowBt16's gate, whose
# nightly checks of mhc_pre and fused_post_pre call 1 stopped at its 95 s cap (12 cases each, none
# failing: the compiles of a cold machine), then the L2 window of the two points where a rival won by
# the most in call 2's benchmark, in one call of at most ~455 s:
#   precompile (110 s): the default's kernels and the block_t 16 GEMMs, nothing beside it (call 1's stress
#     runs: 0 / 1000 at all five points)
#   gate (240 s): nightly checks of the candidate on mhc_pre and fused_post_pre
#   bench-l2 (95 s): pre_big_fuse, hc_post and mhc_pre at 256-768 tokens, both H, the candidate beside
#     TileKernels, vLLM and SGLang: pre_big_fuse at 512 x 7168 (TileKernels 1.57 x faster on this H100,
#     ours faster on the -10 H200) and hc_post at 512 x 4096 (vLLM 1.20 x), where the working set
#     (37 / 38 MB) is near the H100's 50 MB L2 and graph replays of the same inputs may hit it
# Usage: W=/tmp/c4; mkdir -p $W; timeout -k 5 465 bash results/gpu/2026-12-05-h100-engines-11/lease/call4.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c4.tar.xz -C /tmp c4        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangNarrowBt16 STAGES="precompile gate" PRECOMPILE_PROBES="--probes-matching block_t=16" \
  PRECOMPILE_S=110 GATE_S=240 GATE_OPS="mhc_pre fused_post_pre" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
echo "== $(date -u +%T) bench-l2" | tee -a "$O/timeline.txt"
PYTHONWARNINGS=ignore timeout -k 5 95 python3 -m mhc_verify.bench --backend $P:TileLangNarrowBt16 \
  --backend tile_kernels --backend vllm-tilelang --backend sglang-tilelang --op pre_big_fuse --op hc_post \
  --op mhc_pre --tokens 256,384,448,512,576,640,768 --hidden 7168,4096 --mode graph --precompile off \
  --ours tilelang-narrow-bt16 --out "$O/bench-l2" --force > "$O/bench-l2.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
