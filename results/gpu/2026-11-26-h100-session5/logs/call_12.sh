#!/usr/bin/env bash
# lease call 12 (one H100), session 2026-11-26 (fifth): the GPU bits test with the plugin loaded
# (call 11 ran it without -p mhc_verify.pytest_plugin: usage error); tests/stress with the op's new
# entries (200 reruns); the full benchmark without a time cut (call 11's stopped at 115 s, partial).
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-500}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp --exclude='*.png' -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; pack; }
( nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env > /dev/null 2>&1
  run pytest-bits 90 python3 -m pytest -v -p mhc_verify.pytest_plugin -p no:cacheprovider tests/test_tilelang_gpu_bits.py --require-backend tilelang -rs
  run bench 240 python3 -m mhc_verify.bench --out $R/bench
  left=$((deadline - $(date +%s) - 5))
  run pytest-stress-op $left python3 -m pytest -v -p mhc_verify.pytest_plugin -p no:cacheprovider tests/stress -k prenorm_gemm --require-backend tilelang --stress-reruns 200 --stress-out $R/stress-op -rs
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 12 done after $(( $(date +%s) - t0 )) s"
