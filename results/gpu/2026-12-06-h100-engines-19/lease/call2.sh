#!/usr/bin/env bash
# Lease call 2 of the twenty-second session, on call 1's machine while it was still warm (15 s of wall; the budget
# left, 143 s, was too little for a fresh machine): the op at the plain window's lower edge, where call 1 found the
# default's middle path slow at 320 tokens. The default, TileLangOpPlainDeep (six stages from 129),
# TileLangOpPlainTma (four stages from 129: the default's kernel over a wider window) and DeepGEMM, graph-replayed.
# Usage (the run's command, run in the repository root with .gpu-site carried; its output went to $OUT/bench-edge):
#   bash results/gpu/2026-12-06-h100-engines-19/lease/call2.sh "$OUT"
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
echo "== $(date -u +%T) edge bench" >> "$O/timeline.txt"
timeout -k 5 100 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpPlainDeep \
  --ours tilelang-op-plain-deep --backend $P:TileLangOpPlainTma --ours tilelang-op-plain-tma --backend vllm-deepgemm \
  --op prenorm_gemm --tokens 257,288,320,384,640,704 --hidden 7168,4096 --mode graph --precompile off \
  --out "$O/bench-edge" --force > "$O/bench-edge.log" 2>&1
echo "== $(date -u +%T) done" >> "$O/timeline.txt"
sed -n '/## Our probes against/,/## Backend provenance/p' "$O/bench-edge/bench.md"
true  # what the bench wrote is in its folder; a missing one shows there, not as a failed call
