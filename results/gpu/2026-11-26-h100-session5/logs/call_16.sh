#!/usr/bin/env bash
# lease call 16 (one H100), session 2026-11-26 (fifth): STAGES="planted" again after the heatmap fix
# (every failing row, the whole token range): the four planted races, their heatmaps.
t0=$(date +%s)
cd "$(dirname "$0")/.."
R=/tmp/run16; mkdir -p $R
echo "tree: $(cat .lease/REV 2>/dev/null)" > $R/tree.txt
pack() { tar -czf $OUT/results.tgz.tmp -C /tmp run16 2>/dev/null && mv $OUT/results.tgz.tmp $OUT/results.tgz; }
( while sleep 45; do pack; done ) & packer=$!
STAGES="planted" timeout 300 bash scripts/gpu_results.sh $R/run > $R/runner.log 2>&1; echo "runner rc=$? after $(( $(date +%s) - t0 )) s" >> $R/runner.log
kill $packer; find $R -name '*.png' -size +1M -delete; pack
tail -3 $R/runner.log; cat $R/run/timeline.txt
