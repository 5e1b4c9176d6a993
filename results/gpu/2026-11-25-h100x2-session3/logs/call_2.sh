#!/usr/bin/env bash
# lease call 2 (2 x H100). GPU0: bench of the GEMM ops (new default: 128-wide K tiles, >= 16 per CTA,
# fn3 cached), --vary-sms stress (driver-API green contexts), Int32Offset's negative control, TileKernels
# 1000 reruns, then calibration. GPU1: nightly check of the GEMM ops, then calibration.
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-550}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; C=/tmp/cal; mkdir -p $R $C
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz
         tar -czf $OUT/calib.tgz.tmp --exclude='*.png' -C /tmp cal 2>/dev/null && mv $OUT/calib.tgz.tmp $OUT/calib.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; }
PROCS_ALL="tilelang:fused_post_pre:3 tilelang:mhc_pre:2 tilelang:pre_big_fuse:2 tile_kernels:fused_post_pre:2 tile_kernels:mhc_pre:2 tile_kernels:pre_big_fuse:2"
OPS_CAL="prenorm_gemm pre_big_fuse mhc_pre hc_head fused_post_pre sinkhorn"
calibrate() { local gpu=$1 left=$((deadline - $(date +%s) - 12))
  echo "== $(date -u +%T) calibration on GPU$gpu for $left s"
  [ $left -gt 40 ] && SKIP_MERGE=1 GPUS=$gpu CAL_S=$left OPS="$OPS_CAL" PROCS="$PROCS_ALL" bash scripts/gpu_calibration.sh $C/gpu$gpu > $R/calibration-gpu$gpu.log 2>&1; }
( export CUDA_VISIBLE_DEVICES=0
  STAGES=none bash scripts/gpu_results.sh $R/env0 > /dev/null 2>&1
  run bench-gemm 100 python3 -m mhc_verify.bench --backend tilelang --op prenorm_gemm --op mhc_pre --op hc_head --op fused_post_pre --op pre_big_fuse --out $R/bench-gemm
  run stress-sms 80 python3 -m mhc_verify stress --backend tilelang --op mhc_pre --op hc_post --tokens 65536 --hidden 7168 --reruns 96 --vary-sms --out $R/stress-sms --no-progress
  run int32-control 45 python3 -m mhc_verify stress --backend mhc_kernels.tilelang.planted:Int32Offset --op hc_post --tokens 65536 --hidden 7168 --reruns 6 --judge-every 1 --out $R/int32-control --no-progress
  run stress-1000-tk 140 python3 -m mhc_verify stress --backend tile_kernels --op pre_big_fuse --tokens 65536 --hidden 7168 --reruns 1000 --out $R/stress-1000-tk --no-progress
  calibrate 0
  echo "== $(date -u +%T) gpu0 done" ) > $R/gpu0.log 2>&1 &
p0=$!
( export CUDA_VISIBLE_DEVICES=1
  STAGES=none bash scripts/gpu_results.sh $R/env1 > /dev/null 2>&1
  run nightly-a 220 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 8 --op prenorm_gemm --op mhc_pre --out $R/nightly-a --no-progress &
  run nightly-b 220 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 8 --op hc_head --op fused_post_pre --out $R/nightly-b --no-progress &
  wait
  python3 -m mhc_verify merge $R/nightly-a $R/nightly-b --out $R/nightly > $R/nightly-merge.log 2>&1
  calibrate 1
  echo "== $(date -u +%T) gpu1 done" ) > $R/gpu1.log 2>&1 &
p1=$!
while kill -0 $p0 2>/dev/null || kill -0 $p1 2>/dev/null; do
  sleep 15; pack
  if [ $(date +%s) -gt $deadline ]; then echo "deadline: SIGTERM to the rest" >> $R/gpu0.log; pkill -TERM -f "mhc_verify|gemm_variants"; sleep 10; break; fi
done
pack; echo "call 2 done after $(( $(date +%s) - t0 )) s"
