#!/usr/bin/env bash
# Lease call 2 of the sixteenth session's plan (a fresh machine, at most ~480 s): mid_probes.TileLangFnBeforeWait
# (the FMA decode GEMM stages fn's slice before its PDL wait; claims the default's bits) and
# TileLangFnBeforeWaitFma32 (the same, with mhc_pre's FMA decode GEMM to 32 tokens: other bits at 17-32).
#   precompile (110 s): the default's kernels, the probes' decode GEMMs ("fn_before_wait") and
#     TileLangNoPdlWindow's kernels ("no_pdl"); beside it 1000
#     stress reruns each (every third a CUDA-graph replay) of TileLangFnBeforeWait at mhc_pre 1 / 16,
#     fused_post_pre 1 / 16, hc_head 8 / 64: its loads before the wait are where a stale read would show
#   bitwise (70 s): scripts/debug/probe_bitwise_check.py, the probe against the default at 1 / 8 / 16 tokens
#     (mhc_pre, fused_post_pre, hc_head), both H: eager, reruns and a graph replay; the same for
#     TileLangNoPdlWindow (pre_big_fuse, hc_post, mhc_pre at 512 / 1024 tokens)
#   bench (90 s): the default and both probes side by side at 1-64 tokens (no rival: their first calls
#     compile), mhc_pre / fused_post_pre / hc_head, both H, graph-replayed
#   l2-window (160 s): scripts/debug/l2_window.py, each op replayed with its inputs rotating over k = 1 / 2 / 4
#     copies (k = 1: the benchmark's replay): pre_big_fuse ours, TileKernels and TileLangNoPdlWindow (the op
#     without PDL at 256-1024 tokens) around 512 x 7168 and at 1024 x 4096; hc_post ours, vLLM,
#     TileLangPostPerToken (a CTA per token, as vLLM's; -12: ties vLLM there) and TileLangNoPdlWindow
#     at 256-640 tokens, both H (one call's data 33-48 MB at 448-640 x 4096 and 256-372 x 7168: does a
#     per-token hc_post win wherever that is, or only at 512 / 640 x 4096?); mhc_pre ours and the no-PDL
#     probe (its middle GEMM without PDL) at 512 / 1024 tokens, both H. Why: TileKernels runs without PDL by default (tile_kernels/config.py:
#     _DEFAULT_USE_PDL = False), so each of its calls starts once the one before has ended; ours and vLLM's
#     launch while the previous call's CTAs exit. Ours falls off L2 between 448 and 512 x 7168 (6.3 ->
#     11.8 us, -11), TileKernels gradually (6.5 -> 8.5 -> 12.0 at 576).
# Adopt TileLangFnBeforeWait only where bitwise says ALL OK, every stress run 0 failures, and the bench faster;
# TileLangFnBeforeWaitFma32 needs the full gate (nightly checks) first.
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 480 bash results/gpu/2026-12-05-h100-engines-13/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
BACKEND=$P:TileLangFnBeforeWait STAGES="precompile" PRECOMPILE_PROBES="--probes-matching fn_before_wait --probes-matching no_pdl" \
  PRECOMPILE_S=110 STRESS_S=110 STRESS="mhc_pre:1,16 fused_post_pre:1,16 hc_head:8,64" bash scripts/gate_and_bench.sh "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
echo "== $(date -u +%T) bitwise" | tee -a "$O/timeline.txt"
timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangFnBeforeWait \
  --op mhc_pre,fused_post_pre,hc_head --tokens 1,8,16 --hidden 7168,4096 > "$O/bitwise.log" 2>&1
tail -n 1 "$O/bitwise.log" | tee -a "$O/timeline.txt"
timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangNoPdlWindow \
  --op pre_big_fuse,hc_post,mhc_pre --tokens 512,1024 --hidden 7168,4096 > "$O/bitwise-no-pdl.log" 2>&1
tail -n 1 "$O/bitwise-no-pdl.log" | tee -a "$O/timeline.txt"
echo "== $(date -u +%T) bench" | tee -a "$O/timeline.txt"
timeout -k 5 90 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangFnBeforeWait \
  --backend $P:TileLangFnBeforeWaitFma32 --op mhc_pre --op fused_post_pre --op hc_head \
  --tokens 1,2,4,8,16,24,32,64 --hidden 7168,4096 --mode graph --precompile off --ours tilelang \
  --ours tilelang-fn-before-wait --ours tilelang-fn-before-wait-fma32 --out "$O/bench-fn" --force \
  > "$O/bench-fn.log" 2>&1
echo "== $(date -u +%T) l2-window" | tee -a "$O/timeline.txt"
timeout -k 5 60 python3 scripts/debug/l2_window.py --backend tilelang --backend tile_kernels \
  --backend $P:TileLangNoPdlWindow --op pre_big_fuse --tokens 448,512,576,640,1024 --hidden 7168,4096 \
  --out "$O/l2-pre-big-fuse.md" > "$O/l2-pre-big-fuse.log" 2>&1
timeout -k 5 70 python3 scripts/debug/l2_window.py --backend tilelang --backend vllm-tilelang \
  --backend $P:TileLangPostPerToken --backend $P:TileLangNoPdlWindow --op hc_post --tokens 256,384,512,640 \
  --hidden 4096,7168 --out "$O/l2-hc-post.md" > "$O/l2-hc-post.log" 2>&1
timeout -k 5 30 python3 scripts/debug/l2_window.py --backend tilelang --backend $P:TileLangNoPdlWindow \
  --op mhc_pre --tokens 512,1024 --hidden 7168,4096 --out "$O/l2-mhc-pre.md" > "$O/l2-mhc-pre.log" 2>&1
echo "== $(date -u +%T) done" | tee -a "$O/timeline.txt"
