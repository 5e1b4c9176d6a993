#!/usr/bin/env bash
# lease call 8 (one GPU), session 2026-11-25 (fourth): the one-wave op schedule leaves one CTA per SM
# at 4096 tokens; do deeper cp.async pipelines (more bytes in flight per SM) help it, and what do
# they do to the fused pre's GEMM? Then the prenorm_gemm bench on the current default. Nothing else runs.
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
  run gemm_stages 170 python3 scripts/debug/gemm_schedules.py --tokens 4096,65536,80000 --only default \
    --variant st3:block_k=128,num_stages=3,threads=256 --variant st4:block_k=128,num_stages=4,threads=256 \
    --variant bk64st6:block_k=64,num_stages=6,threads=256 --pre-gemm
  run host_overhead 40 python3 scripts/debug/host_overhead.py
  left=$((deadline - $(date +%s) - 5))
  run bench $left python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels --op prenorm_gemm --op pre_big_fuse --out $R/bench
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 8 done after $(( $(date +%s) - t0 )) s"
