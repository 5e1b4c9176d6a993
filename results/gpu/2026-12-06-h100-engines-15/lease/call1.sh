#!/usr/bin/env bash
# Lease call 1 of the eighteenth session (a fresh machine, at most ~585 s; one call, for each refused call
# costs 90 device-seconds): the gate of mid_probes.TileLangPostWindowFn3Tma (three changes that each claim the
# default's bits: the hc_post op one CTA per token at 449-704 x 4096; fn3 staged before the tensor-core decode
# GEMM's PDL wait, second version; mhc_pre's and fused_post_pre's GEMM on the TMA kernel above 4096 tokens),
# each change timed beside the default at its own points, then the full benchmark with the probe alone as ours
# (the committed run once the gate passes and the three are adopted; where one is not, its points are the
# rejected kernels').
#   precompile (90 s): the default's kernels and the fn3 probe's; beside it 1000 stress reruns each (every third
#     a CUDA-graph replay) at mhc_pre 24 / 32 / 8192 and fused_post_pre 32, H = 7168
#   gate (85 s): nightly checks of mhc_pre, fused_post_pre and hc_post; beside them 1000 stress reruns of hc_post
#     at 512 / 640 x 4096 and scripts/debug/probe_bitwise_check.py against the default: mhc_pre / fused_post_pre
#     at 17 / 24 / 32 / 8192 tokens, both H; hc_post at 449 / 512 / 640 / 704 x 4096
#   side by side (30 + 15 + 45 s): the probe, the default and vLLM (SGLang for hc_post) at each change's points:
#     mhc_pre / fused_post_pre at 24 / 32 tokens, both H, graph-replayed; hc_post at 512 / 640 x 4096; mhc_pre /
#     fused_post_pre at 65 536 / 80 000 tokens, both H, eager
#   bench (300 s): every backend side by side, the issue's T = 1 .. 80 000, both H, graph-replayed up to 4096
# Usage: W=/tmp/c18; rm -rf $W; mkdir -p $W; timeout -k 5 590 bash results/gpu/2026-12-06-h100-engines-15/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c18; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes:TileLangPostWindowFn3Tma
N=tilelang-post-window-fn3-tma
export BACKEND=$P BENCH_DEFAULT=0 PRECOMPILE_S=90 STRESS_S=90 GATE_S=85 BENCH_S=300 \
  PRECOMPILE_PROBES="--probes-matching fn3_before_wait" \
  GATE_OPS="mhc_pre fused_post_pre hc_post" STRESS="mhc_pre:24,32,8192 fused_post_pre:32"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 30 python3 -m mhc_verify stress --backend $P --op hc_post --tokens 512,640 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/hc_post_512-640_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-hc_post_512-640_h4096.log"
  timeout -k 5 80 python3 scripts/debug/probe_bitwise_check.py --probe $P --op mhc_pre,fused_post_pre \
    --tokens 17,24,32,8192 --hidden 4096,7168 > "$O/bitwise-fn3-tma.log" 2>&1 ) &
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 40 python3 scripts/debug/probe_bitwise_check.py --probe $P --op hc_post \
    --tokens 449,512,640,704 --hidden 4096 > "$O/bitwise-post.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  stage "side by side"
  timeout -k 5 30 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
    --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 24,32 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-fn3" --force > "$O/bench-fn3.log" 2>&1
  timeout -k 5 15 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
    --backend vllm-tilelang --backend sglang-tilelang --op hc_post --tokens 512,640 --hidden 4096 --mode graph \
    --precompile off --out "$O/bench-post" --force > "$O/bench-post.log" 2>&1
  timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --backend $P --ours tilelang --ours $N \
    --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 65536,80000 --hidden 7168,4096 --mode eager \
    --precompile off --out "$O/bench-tma" --force > "$O/bench-tma.log" 2>&1 )
STAGES=bench bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 3; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for f in "$O"/bitwise-*.log; do echo "-- $f"; tail -n 2 "$f"; done
  for b in bench-fn3 bench-post bench-tma bench; do echo "-- $b"; grep -E "^\| (mhc_pre|fused_post_pre|hc_post) \|" "$O/$b/bench.md" | head -n 40; done
} > "$O/summary.txt" 2>&1
