#!/usr/bin/env bash
# lease call 18 (one H100), session 2026-11-26 (fifth): the final tree's benchmark paths after the
# op_splits refactor: python -m mhc_verify.bench (prenorm_gemm, pre_big_fuse, hc_post; ours and
# TileKernels) and pytest benchmarks at 65 536 tokens. Written under /tmp, packed into $OUT.
t0=$(date +%s)
cd "$(dirname "$0")/.."
R=/tmp/run18; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
source scripts/device_env.sh
timeout 150 python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels --op prenorm_gemm --op pre_big_fuse --op hc_post --out $R/bench 2>&1 | grep -v ':INFO\]' > $R/bench.log
timeout 120 python3 -m pytest benchmarks --benchmark-only -p mhc_verify.pytest_plugin -p no:cacheprovider -k "65536 and (tilelang or tile_kernels)" --require-backend tilelang -rs 2>&1 | grep -v ':INFO\]' > $R/pytest-benchmarks.log
echo "done after $(( $(date +%s) - t0 )) s" >> $R/tree.txt
tar -czf $OUT/results.tgz -C /tmp run18
tail -2 $R/tree.txt; grep -E "T= +(4096|65536|80000)" $R/bench.log | head -20; tail -2 $R/pytest-benchmarks.log
