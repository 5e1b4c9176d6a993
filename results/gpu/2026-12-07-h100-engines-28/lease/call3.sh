#!/usr/bin/env bash
# Lease call 3 of the thirty-first session: the default's middle shape for the op (two chunks a split, chunk_sum) on
# the written-out TMA pipeline of call 1's control (mid_probes.TileLangOpOwnPipelineChunks: four stages hold a chunk's
# four tiles at once), on an H100 carrying .gpu-site:
#   1. bits against the default at 256 tokens, both H (the same K ranges, tiles and order: 32 of them);
#   2. the bench, graph-replayed: the op at 128 / 192 / 256 tokens, both H, beside the default and DeepGEMM;
#   3. a profile per kernel (graph-replayed) at 256 x 4096.
# Usage: bash results/gpu/2026-12-07-h100-engines-28/lease/call3.sh $OUT   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
step bits
timeout -k 5 60 python3 scripts/debug/probe_bitwise_check.py --probe "$P:TileLangOpOwnPipelineChunks" --against tilelang \
  --op prenorm_gemm --tokens 256 --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits.log"
echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits.log")" >> "$O/timeline.txt"
step bench
timeout -k 10 "${BENCH_S:-100}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpOwnPipelineChunks" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,192,256 --hidden 4096,7168 --mode graph --precompile off \
  --ours tilelang --ours tilelang-op-own-pipeline-chunks --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step profile
timeout -k 5 "${PROFILE_S:-45}" python3 scripts/debug/profile_ops.py --backend tilelang \
  --backend "$P:TileLangOpOwnPipelineChunks" --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 \
  --mode graph --out "$O/profile-op-H4096-graph.md" 2>&1 | quiet > "$O/profile.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step done
