#!/usr/bin/env bash
# lease call 17 (one H100), session 2026-11-26 (fifth): after the planted-race refactor (the healthy
# GEMM path, kernel swapped): the planted stage of the runner; the GPU bits test; the pytest-benchmark
# suite (benchmarks/) over every GPU backend. Written under /tmp, packed into $OUT.
t0=$(date +%s)
cd "$(dirname "$0")/.."
R=/tmp/run17; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp run17 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
( while sleep 45; do pack; done ) & packer=$!
STAGES="planted" timeout 240 bash scripts/gpu_results.sh $R/run > $R/runner.log 2>&1; echo "runner rc=$? after $(( $(date +%s) - t0 )) s" >> $R/runner.log
source scripts/device_env.sh
timeout 90 python3 -m pytest -v -p mhc_verify.pytest_plugin -p no:cacheprovider tests/test_tilelang_gpu_bits.py --require-backend tilelang -rs 2>&1 | grep -v ':INFO\]' > $R/pytest-bits.log
timeout 200 python3 -m pytest benchmarks --benchmark-only -p mhc_verify.pytest_plugin -p no:cacheprovider -k "tilelang or tile_kernels or torch-cuda" --require-backend tilelang --benchmark-json $R/benchmarks.json -rs 2>&1 | grep -v ':INFO\]' > $R/pytest-benchmarks.log
echo "all done after $(( $(date +%s) - t0 )) s" >> $R/runner.log
kill $packer; find $R -name '*.png' -size +1M -delete; pack
tail -3 $R/runner.log; tail -3 $R/pytest-bits.log; tail -3 $R/pytest-benchmarks.log
