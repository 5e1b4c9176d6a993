#!/usr/bin/env bash
# lease call 6 (one GPU), session 2026-11-25 (fourth): clean timings, nothing else on the host:
# the op-schedule sweep, then the benchmark of prenorm_gemm and pre_big_fuse (ours and TileKernels).
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-240}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; pack; }
( nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env > /dev/null 2>&1
  run gemm_schedules 110 python3 scripts/debug/gemm_schedules.py
  left=$((deadline - $(date +%s) - 5))
  run bench $left python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels --op prenorm_gemm --op pre_big_fuse --out $R/bench
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 6 done after $(( $(date +%s) - t0 )) s"
