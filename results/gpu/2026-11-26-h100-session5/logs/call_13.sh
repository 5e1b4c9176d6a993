#!/usr/bin/env bash
# lease call 13 (one H100), session 2026-11-26 (fifth): the one-command GPU runner, whole, with its
# default stage limits, on the final kernels: bash scripts/gpu_results.sh OUT (check: one nightly
# process per backend; bench; healthy stress; planted races). Its output dir is under $OUT, so
# whatever it wrote comes back even if the call is cut.
t0=$(date +%s)
cd "$(dirname "$0")/.."
echo "tree: $(cat .lease/REV 2>/dev/null)" > $OUT/tree.txt
nvidia-smi > $OUT/nvidia-smi.txt 2>&1
timeout 585 bash scripts/gpu_results.sh $OUT/run > $OUT/runner.log 2>&1; echo "runner rc=$?" >> $OUT/runner.log
find $OUT -name '*.png' -size +2M -delete
echo "call 13 done after $(( $(date +%s) - t0 )) s"
