#!/usr/bin/env bash
# lease call 1 (2 x H100). GPU0: gemm variants (split_fn sweep, GEMM alone), 1000-rerun stress timing
# (fused pre 65 536), vary-config + vary-sms, planted races. GPU1: nightly check of tilelang (new
# default: 128-wide K tiles) as two processes, then calibration.
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-555}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; C=/tmp/cal; mkdir -p $R $C
git_rev=$(cat .lease/REV 2>/dev/null); echo "tree: $git_rev" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz
         tar -czf $OUT/calib.tgz.tmp --exclude='*.png' -C /tmp cal 2>/dev/null && mv $OUT/calib.tgz.tmp $OUT/calib.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; echo "== $(date -u +%T) $name rc=$?"; }
( export CUDA_VISIBLE_DEVICES=0
  nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env0 > /dev/null 2>&1
  run gemm_variants 170 python3 scripts/debug/gemm_variants.py
  run stress-1000 150 python3 -m mhc_verify stress --backend tilelang --op pre_big_fuse --op mhc_pre --tokens 65536 --hidden 7168 --reruns 1000 --out $R/stress-1000 --no-progress
  run stress-1000-tk 60 python3 -m mhc_verify stress --backend tile_kernels --op pre_big_fuse --tokens 65536 --hidden 7168 --reruns 1000 --out $R/stress-1000-tk --no-progress
  echo "== $(date -u +%T) planted + varied (parallel)"
  left=$((deadline - $(date +%s) - 10))
  for race in SplitKNoAtomic:prenorm_gemm:4093,65536 WorkspaceNotZeroed:prenorm_gemm:4093,65536 TailSkipsRows:prenorm_gemm:4093,65537 Int32Offset:hc_post:80000,65536; do
    IFS=: read -r cls op tokens <<<"$race"
    reruns=60; [ $cls = Int32Offset ] && reruns=4
    run planted-$cls $left python3 -m mhc_verify stress --backend mhc_kernels.tilelang.planted:$cls --op $op --tokens $tokens --hidden 7168 --reruns $reruns --judge-every 10 --out $R/planted-$cls --no-progress &
  done
  run stress-varied $((left - 5)) python3 -m mhc_verify stress --backend tilelang --op mhc_pre --op hc_post --tokens 65536 --hidden 7168 --reruns 240 --vary-config --vary-sms --out $R/stress-varied --no-progress
  wait
  echo "== $(date -u +%T) gpu0 done" ) > $R/gpu0.log 2>&1 &
p0=$!
( export CUDA_VISIBLE_DEVICES=1
  STAGES=none bash scripts/gpu_results.sh $R/env1 > /dev/null 2>&1
  echo "== $(date -u +%T) nightly check, two processes"
  run nightly-a 330 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 12 --op prenorm_gemm --op mhc_pre --op hc_head --op layer_input --out $R/nightly-a --no-progress &
  run nightly-b 330 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 12 --op fused_post_pre --op hc_post --op pre_big_fuse --out $R/nightly-b --no-progress &
  wait
  python3 -m mhc_verify merge $R/nightly-a $R/nightly-b --out $R/nightly > $R/nightly-merge.log 2>&1
  left=$((deadline - $(date +%s) - 15))
  echo "== $(date -u +%T) calibration for $left s"
  [ $left -gt 40 ] && SKIP_MERGE=1 GPUS=1 CAL_S=$left bash scripts/gpu_calibration.sh $C > $R/calibration.log 2>&1
  echo "== $(date -u +%T) gpu1 done" ) > $R/gpu1.log 2>&1 &
p1=$!
while kill -0 $p0 2>/dev/null || kill -0 $p1 2>/dev/null; do
  sleep 15; pack
  if [ $(date +%s) -gt $deadline ]; then echo "deadline: SIGTERM to the rest" >> $R/gpu0.log; pkill -TERM -f "mhc_verify|gemm_variants"; sleep 10; break; fi
done
pack; echo "call 1 done after $(( $(date +%s) - t0 )) s"
