#!/usr/bin/env bash
# lease call 10 (one H100), session 2026-11-25 (fourth): TileKernels rerun on SM partitions (before
# enabling it in tests/stress), and the pytest property suite on the GPU for our kernels and
# TileKernels (ci profile, the README's test command plus --require-backend).
t0=$(date +%s); deadline=$((t0 + ${BUDGET_S:-270}))
cd "$(dirname "$0")/.."
source scripts/device_env.sh
R=/tmp/res; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp --exclude='*.png' -C /tmp res 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
run() { local name=$1 limit=$2; shift 2; echo "== $(date -u +%T) $name (limit $limit s): $*"
        timeout "$limit" "$@" > $R/$name.log 2>&1; local rc=$?; echo "== $(date -u +%T) $name rc=$rc"; pack; }
( nvidia-smi > $R/nvidia-smi.txt 2>&1
  STAGES=none bash scripts/gpu_results.sh $R/env > /dev/null 2>&1
  run tk-vary-sms 80 python3 -m mhc_verify stress --backend tile_kernels --op mhc_pre --op hc_post --tokens 65536 --hidden 7168 --reruns 300 --vary-sms --out $R/tk-vary-sms --no-progress
  left=$((deadline - $(date +%s) - 5))
  run pytest-gpu-tilelang $((left / 2)) python3 -m pytest -v -p mhc_verify.pytest_plugin -p no:cacheprovider tests/test_properties.py -k "tilelang" --require-backend tilelang -rs --durations=10
  left=$((deadline - $(date +%s) - 5))
  run pytest-gpu-tile_kernels $left python3 -m pytest -v -p mhc_verify.pytest_plugin -p no:cacheprovider tests/test_properties.py -k "tile_kernels" --require-backend tile_kernels -rs --durations=10
  echo "== $(date -u +%T) done" ) > $R/main.log 2>&1
pack; echo "call 10 done after $(( $(date +%s) - t0 )) s"
