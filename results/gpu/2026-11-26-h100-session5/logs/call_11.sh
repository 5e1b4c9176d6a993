#!/usr/bin/env bash
# lease call 11 (one H100), session 2026-11-26 (fifth): the prenorm_gemm op on a 3-stage pipeline
# (backend.OP_K_TILES). 1. schedule sweep, new default against the 2-stage op, bits compared;
# 2. the GPU bits test (3 == 2 stages); 3. nightly check of the op; 4. the full benchmark;
# 5. the op under stress (1000 reruns, GEMM configurations incl. two CTAs per SM, SM partitions).
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-540}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp --exclude='*.png' -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; pack; }
( nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env > /dev/null 2>&1
  run schedules 120 python3 scripts/debug/gemm_schedules.py --tokens 4096,65536,80000 --only default,op-two-stages --pre-gemm
  run pytest-bits 60 python3 -m pytest -v -p no:cacheprovider tests/test_tilelang_gpu_bits.py --require-backend tilelang -rs
  run nightly 150 python3 -m mhc_verify check --profile nightly --backend tilelang --require-backend tilelang --examples 20 --op prenorm_gemm --out $R/nightly --no-progress
  run bench 115 python3 -m mhc_verify.bench --out $R/bench
  left=$((deadline - $(date +%s) - 5))
  run stress $left python3 -m mhc_verify stress --backend tilelang --op prenorm_gemm --tokens 80000,65536,4096 --hidden 4096 --reruns 1000 --judge-every 100 --vary-config --vary-sms --out $R/stress --no-progress
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 11 done after $(( $(date +%s) - t0 )) s"
