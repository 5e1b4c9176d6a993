#!/usr/bin/env bash
# Lease call 3 (written in the tenth session, not run: the device paused its loans): mid_probes.
# TileLangMidCoResident, mhc_pre's 128-token middle GEMM K ranges for two co-resident CTAs per SM, for
# the loss call 1 found at 768 x 7168 (vLLM 28.2 us against our 32.0). In one call of ~330 s:
#   precompile (80 s) with the probes' kernels
#   gate (130 s): nightly checks of the probe on mhc_pre and fused_post_pre (its K ranges change the sums)
#   bench (120 s), graph-replayed, both H: the probe beside the default and vLLM at 512 .. 1536 tokens,
#     off the powers of two too
# Usage: W=/tmp/c3; mkdir -p $W; timeout -k 5 360 bash results/gpu/2026-12-05-h200-engines-8/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
source scripts/device_env.sh
O=${1:?out dir}; mkdir -p "$O"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes:TileLangMidCoResident
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
echo "== $(date -u +%T) precompile" | tee -a "$O/timeline.txt"
timeout -k 10 80 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes > "$O/precompile.log" 2>&1
echo "== $(date -u +%T) gate" | tee -a "$O/timeline.txt"
for op in mhc_pre fused_post_pre; do
  ( timeout -k 15 130 python3 -m mhc_verify check --profile nightly --backend "$P" --require-backend tilelang-mid-co-resident \
      --op $op --examples 12 --out "$O/check/$op" --force --no-progress 2>&1 | quiet | tail -n 30 > "$O/check-$op.log" ) &
done
wait
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 15 120 python3 -m mhc_verify.bench --backend tilelang --backend "$P" --backend vllm-tilelang \
  --op mhc_pre --op fused_post_pre --tokens 512,640,768,896,1024,1536 --hidden 7168,4096 --mode graph \
  --precompile off --ours tilelang --ours tilelang-mid-co-resident --out "$O/bench" --force 2>&1 | quiet > "$O/bench.log"
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
