#!/usr/bin/env bash
# lease call 3 (2 x H100): calibration on both GPUs (the pairs short of 10 000 cases), and on GPU0
# beside it the final default under --vary-config --vary-sms --cuda-graph, 1000 reruns at 65 536.
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-445}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; C=/tmp/cal; mkdir -p $R $C
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz
         tar -czf $OUT/calib.tgz.tmp --exclude='*.png' -C /tmp cal 2>/dev/null && mv $OUT/calib.tgz.tmp $OUT/calib.tgz; }
PROCS_ALL="tilelang:fused_post_pre:2 tilelang:mhc_pre:2 tile_kernels:fused_post_pre:2 tile_kernels:mhc_pre:2 tile_kernels:pre_big_fuse:2"
OPS_CAL="prenorm_gemm pre_big_fuse mhc_pre hc_head fused_post_pre"
for gpu in 0 1; do
  STAGES=none CUDA_VISIBLE_DEVICES=$gpu bash scripts/gpu_results.sh $R/env$gpu > /dev/null 2>&1
  SKIP_MERGE=1 GPUS=$gpu CAL_S=$((deadline - $(date +%s) - 12)) OPS="$OPS_CAL" PROCS="$PROCS_ALL" \
    bash scripts/gpu_calibration.sh $C/gpu$gpu > $R/calibration-gpu$gpu.log 2>&1 &
done
CUDA_VISIBLE_DEVICES=0 timeout $((deadline - $(date +%s) - 12)) python3 -m mhc_verify stress --backend tilelang \
  --op mhc_pre --op fused_post_pre --tokens 65536 --hidden 7168 --reruns 1000 --vary-config --vary-sms --cuda-graph \
  --out $R/stress-final --no-progress > $R/stress-final.log 2>&1 &
while [ $(date +%s) -lt $((deadline + 5)) ] && pgrep -f mhc_verify > /dev/null; do sleep 15; pack; done
pkill -TERM -f mhc_verify; sleep 8; pack; echo "call 3 done after $(( $(date +%s) - t0 )) s"
