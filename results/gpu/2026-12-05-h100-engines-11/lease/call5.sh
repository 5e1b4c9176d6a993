#!/usr/bin/env bash
# Lease call 5 of the fourteenth session (a fresh machine, ~300 device-seconds left): the first GPU run of
# mid_probes.TileLangEarlySinkhorn (the "gather_rcp" Sinkhorn: the normalisations' divisions written out,
# checked once per call; decode_pre's hc_scale / hc_base loaded at the top), in one call of at most ~245 s:
#   precompile (130 s): the default's kernels and the probe's fused pres without norm
#   bitwise (40 s): the probe against the default, mhc_pre / fused_post_pre / pre_big_fuse at 1-256 tokens,
#     both H, on the benchmark's inputs and on logits whose exp underflows; reruns and a graph replay
#   bench (70 s): the probe beside the default, the three ops at 1-512 tokens, both H, graph-replayed
# A probe only: its gate (nightly checks, 1000 stress reruns) comes before any adoption.
# Usage: W=/tmp/c5; mkdir -p $W; timeout -k 5 255 bash results/gpu/2026-12-05-h100-engines-11/lease/call5.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c5.tar.xz -C /tmp c5        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stage precompile
timeout -k 10 130 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 \
  --probes-matching "norm=False,gather_rcp" --probes-matching "norm=False,prefetch,gather_rcp" > "$O/precompile.log" 2>&1
stage bitwise
timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangEarlySinkhorn --against tilelang \
  --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,16,32,64,256 --hidden 7168,4096 > "$O/bitwise.log" 2>&1
stage bench
timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangEarlySinkhorn \
  --op mhc_pre --op fused_post_pre --op pre_big_fuse --tokens 1,8,16,32,64,128,256,512 --hidden 7168,4096 \
  --mode graph --precompile off --ours tilelang --ours tilelang-early-sinkhorn --out "$O/bench" --force \
  > "$O/bench.log" 2>&1
stage done
