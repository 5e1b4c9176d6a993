#!/usr/bin/env bash
# lease call 4 (2 x H100), session 2026-11-25 (fourth). GPU0: the op-schedule sweep
# (scripts/debug/gemm_schedules.py), the prenorm_gemm bench, stress of the op with the chunk_sum
# kernel. GPU1: nightly check of prenorm_gemm on the new default, then ci calibration of prenorm_gemm.
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-450}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; C=/tmp/cal; mkdir -p $R $C
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz
         tar -czf $OUT/calib.tgz.tmp --exclude='*.png' -C /tmp cal 2>/dev/null && mv $OUT/calib.tgz.tmp $OUT/calib.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; }
( export CUDA_VISIBLE_DEVICES=0
  nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env0 > /dev/null 2>&1
  run gemm_schedules 230 python3 scripts/debug/gemm_schedules.py
  run bench-gemm 80 python3 -m mhc_verify.bench --backend tilelang --op prenorm_gemm --out $R/bench-gemm
  left=$((deadline - $(date +%s) - 10))
  run stress-gemm $left python3 -m mhc_verify stress --backend tilelang --op prenorm_gemm --tokens 4093,16384,65536 --hidden 7168 --reruns 200 --vary-config --out $R/stress-gemm --no-progress
  echo "== $(date -u +%T) gpu0 done" ) > $R/gpu0.log 2>&1 &
p0=$!
( export CUDA_VISIBLE_DEVICES=1
  STAGES=none bash scripts/gpu_results.sh $R/env1 > /dev/null 2>&1
  run nightly-gemm 200 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 16 --op prenorm_gemm --out $R/nightly-gemm --no-progress
  left=$((deadline - $(date +%s) - 15))
  echo "== $(date -u +%T) calibration for $left s"
  [ $left -gt 40 ] && SKIP_MERGE=1 GPUS=1 CAL_S=$left BACKENDS=tilelang OPS=prenorm_gemm PROCS="tilelang:prenorm_gemm:14" bash scripts/gpu_calibration.sh $C > $R/calibration.log 2>&1
  echo "== $(date -u +%T) gpu1 done" ) > $R/gpu1.log 2>&1 &
p1=$!
while kill -0 $p0 2>/dev/null || kill -0 $p1 2>/dev/null; do
  sleep 15; pack
  if [ $(date +%s) -gt $deadline ]; then echo "deadline: SIGTERM to the rest" >> $R/gpu0.log; pkill -TERM -f "mhc_verify|gemm_schedules"; sleep 10; break; fi
done
pack; echo "call 4 done after $(( $(date +%s) - t0 )) s"
