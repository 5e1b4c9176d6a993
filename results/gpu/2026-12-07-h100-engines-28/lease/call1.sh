#!/usr/bin/env bash
# Lease call 1 of the thirty-first session: the prenorm_gemm op with fn3 multicast across clusters of token blocks
# (kernels/tilelang/gemm_multicast.py; probes mid_probes.TileLangOpMulticast*), on a fresh H100 carrying .gpu-site:
#   1. bits: the multicast and its cluster-of-one control against the plain window (TileLangOpPlainTma, the same
#      K ranges, tiles and order) at 129-704 tokens, both H; the multicast against the control at 65-128;
#   2. the bench, graph-replayed: the op at 64-704 tokens, both H, the probes beside the default, the plain window
#      and DeepGEMM;
#   3. a profile of the op per kernel (graph-replayed) at 128-512 x 4096: the multicast, the default, DeepGEMM.
# Each step under its own timeout (a cross-CTA pipeline that hangs ends its step, not the call).
# Usage: bash results/gpu/2026-12-07-h100-engines-28/lease/call1.sh $OUT   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
step() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
bits() {  # name cap probe against tokens
  step "bits-$1"
  timeout -k 5 "$2" python3 scripts/debug/probe_bitwise_check.py --probe "$P:$3" --against "$P:$4" --op prenorm_gemm \
    --tokens "$5" --hidden 4096,7168 --reruns 3 2>&1 | quiet > "$O/bits-$1.log"
  echo "   rc=${PIPESTATUS[0]} $(tail -1 "$O/bits-$1.log")" >> "$O/timeline.txt"
}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > "$O/gpu.txt" 2>&1
git log -1 --format='%H %cI' > "$O/tree.txt" 2>/dev/null || true
bits first 90 TileLangOpMulticast TileLangOpPlainTma 256
bits mc 120 TileLangOpMulticast TileLangOpPlainTma 129,192,193,257,320,512,704
bits alone 90 TileLangOpMulticastAlone TileLangOpPlainTma 129,256,512
bits small 60 TileLangOpMulticast TileLangOpMulticastAlone 65,100,128
step bench
timeout -k 10 "${BENCH_S:-200}" python3 -m mhc_verify.bench --backend tilelang --backend "$P:TileLangOpMulticast" \
  --backend "$P:TileLangOpMulticastAlone" --backend "$P:TileLangOpMulticast5" --backend "$P:TileLangOpMulticast64" \
  --backend "$P:TileLangOpMulticastChunks" --backend "$P:TileLangOpPlainTma" --backend vllm-deepgemm \
  --op prenorm_gemm --tokens 64,65,128,129,192,256,320,512,704 --hidden 4096,7168 --mode graph --precompile off \
  --ours tilelang --ours tilelang-op-multicast --ours tilelang-op-multicast-alone --ours tilelang-op-multicast5 \
  --ours tilelang-op-multicast64 --ours tilelang-op-multicast-chunks --ours tilelang-op-plain-tma \
  --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step profile
timeout -k 5 "${PROFILE_S:-60}" python3 scripts/debug/profile_ops.py --backend tilelang --backend "$P:TileLangOpMulticast" \
  --backend vllm-deepgemm --op prenorm_gemm --tokens 128,192,256,512 --hidden 4096 --mode graph \
  --out "$O/profile-op-H4096-graph.md" 2>&1 | quiet > "$O/profile.log"
echo "   rc=${PIPESTATUS[0]}" >> "$O/timeline.txt"
step done
