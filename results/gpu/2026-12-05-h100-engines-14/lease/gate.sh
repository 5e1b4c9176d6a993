#!/usr/bin/env bash
# The gate of mid_probes.TileLangPreBigFuseNoPdlFn3First alone (call1.sh less its benchmark, plus a short
# side-by-side timing), for a card of either kind (at most ~300 s, a fresh machine): when no H100 is lent
# for call1.sh, its gate runs here and the committed benchmark, once both changes are the default's, is
# bench.sh on an H100.
#   precompile + stress (110 s), gate + bitwise (90 s): as call1.sh
#   timing (60 s): the default and the probe side by side, graph-replayed, no rival: mhc_pre and
#     fused_post_pre at 1-64 tokens (the fn3 change: 17-32), pre_big_fuse at 448-1024 (the no-PDL window),
#     both H
# Usage: W=/tmp/g17; rm -rf $W; mkdir -p $W; timeout -k 5 300 bash results/gpu/2026-12-05-h100-engines-14/lease/gate.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/g.tar.xz -C /tmp g17        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes:TileLangPreBigFuseNoPdlFn3First
export BACKEND=$P PRECOMPILE_S=110 STRESS_S=110 GATE_S=90 \
  PRECOMPILE_PROBES="--probes-matching no_pdl --probes-matching fn3_before_wait" \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" STRESS="mhc_pre:24,32 fused_post_pre:32 pre_big_fuse:512,576,640"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  timeout -k 5 90 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre,fused_post_pre \
    --tokens 17,24,32 --hidden 4096,7168 > "$O/bitwise-fn3.log" 2>&1
  timeout -k 5 60 python3 scripts/debug/probe_bitwise_check.py --probe $P --op pre_big_fuse \
    --tokens 512,576,640,1024 --hidden 4096,7168 > "$O/bitwise-no-pdl.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
echo "== $(date -u +%T) timing" | tee -a "$O/timeline.txt"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 35 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang \
    --ours tilelang-pre-big-fuse-no-pdl-fn3-first --op mhc_pre --op fused_post_pre --tokens 1,8,16,17,24,32,64 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-fn3" --force > "$O/bench-fn3.log" 2>&1
  timeout -k 5 25 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang \
    --ours tilelang-pre-big-fuse-no-pdl-fn3-first --op pre_big_fuse --tokens 448,512,576,640,1024 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-window" --force > "$O/bench-window.log" 2>&1 )
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
