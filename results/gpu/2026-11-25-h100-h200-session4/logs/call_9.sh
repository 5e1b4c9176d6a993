#!/usr/bin/env bash
# lease call 9 (one H100), session 2026-11-25 (fourth): the final tree through the suite: nightly
# check of all our ops (two processes), then the full benchmark (ours, TileKernels, torch-cuda), then
# the healthy stress stages of gpu_results.sh (1000 reruns past 2^31; CUDA graphs + configurations + SMs).
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-520}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp --exclude='*.png' -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; pack; }
( nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env > /dev/null 2>&1
  run nightly-a 270 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 12 --op prenorm_gemm --op mhc_pre --op hc_head --op layer_input --out $R/nightly-a --no-progress &
  run nightly-b 270 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 12 --op fused_post_pre --op hc_post --op pre_big_fuse --out $R/nightly-b --no-progress &
  wait
  python3 -m mhc_verify merge $R/nightly-a $R/nightly-b --out $R/nightly > $R/nightly-merge.log 2>&1; pack
  run bench 110 python3 -m mhc_verify.bench --out $R/bench
  left=$((deadline - $(date +%s) - 5))
  OUT_SAVED=$OUT; STAGES=stress STRESS_S=$((left * 6 / 10)) GRAPH_S=$((left * 4 / 10 - 5)) bash scripts/gpu_results.sh $R/stress > $R/stress.log 2>&1
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 9 done after $(( $(date +%s) - t0 )) s"
