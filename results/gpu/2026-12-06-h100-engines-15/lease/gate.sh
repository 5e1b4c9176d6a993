#!/usr/bin/env bash
# Lease call 1 of the eighteenth session (a fresh machine, at most ~500 s): the gate of
# mid_probes.TileLangPostWindowFn3Tma, three changes that each claim the default's bits, then each timed beside
# the default and the rivals, and where mhc_pre's time goes at 512 / 1024 x 4096 (vLLM 1.04 / 1.10 x there):
#   - the hc_post op one CTA per token (post.py's kernel) at 449-704 tokens, H = 4096
#     (TileLangPostPerTokenWindow; 7.7 / 7.6 against 9.2 / 9.1 us at 512 x 4096 in -12 and -13);
#   - the tensor-core decode GEMM (mhc_pre, fused_post_pre at 17-32 tokens) staging fn3 before its PDL wait,
#     second version: every 16-byte piece loaded into registers, then stored (TileLangWgmmaFnBeforeWait);
#   - mhc_pre's and fused_post_pre's GEMM on the TMA kernel above 4096 tokens (TileLangPreTma; vLLM 1.03 x at
#     80 000 x 4096).
#   precompile (100 s): the default's kernels and the fn3 probe's; beside it 1000 stress reruns each (every
#     third a CUDA-graph replay) at mhc_pre 24 / 32 / 8192 and fused_post_pre 32, H = 7168
#   gate (100 s): nightly checks of mhc_pre, fused_post_pre and hc_post; beside them 1000 stress reruns of
#     hc_post at 512 / 640 x 4096 (the window) and scripts/debug/probe_bitwise_check.py, the probe against the
#     default (eager, reruns, a graph replay): mhc_pre / fused_post_pre at 17 / 24 / 32 / 8192 tokens, both H;
#     hc_post at 449 / 512 / 640 / 704 x 4096
#   bench (70 + 45 s): the probe beside the default and vLLM (mhc_pre, fused_post_pre at 8-32 tokens, both H),
#     and beside vLLM and SGLang (hc_post at 384-768 x 4096), graph-replayed; (75 s) mhc_pre and fused_post_pre
#     at 65 536 / 80 000 tokens, both H, beside vLLM (eager)
#   profile (45 s): scripts/debug/profile_ops.py, mhc_pre at 512 / 1024 x 4096, ours and vLLM's, graph-replayed:
#     each kernel's start and end within its call
# Usage: W=/tmp/g18; rm -rf $W; mkdir -p $W; timeout -k 5 500 bash results/gpu/2026-12-06-h100-engines-15/lease/gate.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/g.tar.xz -C /tmp g18; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes:TileLangPostWindowFn3Tma
N=tilelang-post-window-fn3-tma
export BACKEND=$P PRECOMPILE_S=100 STRESS_S=100 GATE_S=100 PRECOMPILE_PROBES="--probes-matching fn3_before_wait" \
  GATE_OPS="mhc_pre fused_post_pre hc_post" STRESS="mhc_pre:24,32,8192 fused_post_pre:32"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 40 python3 -m mhc_verify stress --backend $P --op hc_post --tokens 512,640 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/hc_post_512-640_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-hc_post_512-640_h4096.log"
  timeout -k 5 90 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre,fused_post_pre \
    --tokens 17,24,32,8192 --hidden 4096,7168 > "$O/bitwise-fn3-tma.log" 2>&1
  timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P --op hc_post \
    --tokens 449,512,640,704 --hidden 4096 > "$O/bitwise-post.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
source scripts/device_env.sh
export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stage "bench fn3"
timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
  --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 8,16,24,32 --hidden 7168,4096 --mode graph \
  --precompile off --out "$O/bench-fn3" --force > "$O/bench-fn3.log" 2>&1
stage "bench post"
timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
  --backend vllm-tilelang --backend sglang-tilelang --op hc_post --tokens 384,448,512,576,640,704,768 --hidden 4096 \
  --mode graph --precompile off --out "$O/bench-post" --force > "$O/bench-post.log" 2>&1
stage "bench tma"
timeout -k 5 75 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
  --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 65536,80000 --hidden 7168,4096 --mode eager \
  --precompile off --out "$O/bench-tma" --force > "$O/bench-tma.log" 2>&1
stage profile
timeout -k 5 45 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang --op mhc_pre \
  --tokens 512,1024 --hidden 4096 --mode graph --out "$O/prof-mhc-pre.md" > "$O/prof.log" 2>&1
stage done
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 3; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for f in "$O"/bitwise-*.log; do echo "-- $f"; tail -n 2 "$f"; done
  for b in bench-fn3 bench-post bench-tma; do echo "-- $b"; grep -E "^\| (mhc_pre|fused_post_pre|hc_post) \|" "$O/$b/bench.md" | head -n 40; done
} > "$O/summary.txt" 2>&1
