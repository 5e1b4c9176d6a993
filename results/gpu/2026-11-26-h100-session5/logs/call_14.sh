#!/usr/bin/env bash
# lease call 14 (one H100), session 2026-11-26 (fifth): the runner's one-call part, STAGES="check bench"
# (nightly check of every GPU backend in one process, EXAMPLES=8, then the benchmark), timed, written
# under /tmp and packed into $OUT (call 13 wrote 40 files into $OUT: only 8 came back).
t0=$(date +%s)
cd "$(dirname "$0")/.."
R=/tmp/run14; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp run14 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
( while sleep 45; do pack; done ) & packer=$!
STAGES="check bench" timeout 580 bash scripts/gpu_results.sh $R/run > $R/runner.log 2>&1; echo "runner rc=$? after $(( $(date +%s) - t0 )) s" >> $R/runner.log
kill $packer; find $R -name '*.png' -size +1M -delete; pack
tail -3 $R/runner.log; cat $R/run/timeline.txt
