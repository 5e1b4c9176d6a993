#!/usr/bin/env bash
# The next call (not run in the nineteenth session: its device time was spent; ~420 s, a fresh machine, either
# card for the side-by-side numbers): mid_probes.TileLangMidDeepShape (mhc_pre's and fused_post_pre's middle
# GEMM at 385-1024 tokens in DeepGEMM's shape: 64-token blocks, the most K ranges keeping one CTA per SM, TMA,
# 4 stages; the fused pre on those few parts), for vLLM's lead at 512 / 1024 x 4096 (1.04 / 1.09 x in call 3).
#   precompile (80 s): the default's kernels and the probe's GEMM; beside it 1000 stress reruns each (every
#     third a CUDA-graph replay) of the probe at mhc_pre 512 / 1024 and fused_post_pre 512 (H = 7168), and at
#     mhc_pre 512 / 1024 x 4096
#   gate (120 s): the probe's nightly checks of mhc_pre and fused_post_pre
#   side by side (70 s): mhc_pre and fused_post_pre at 384-1024 tokens, both H, graph-replayed: the default,
#     the probe, vLLM
#   profile (40 s): mhc_pre at 512 / 1024 x 4096, the default, the probe, vLLM
# Usage: W=/tmp/cn; rm -rf $W; mkdir -p $W; timeout -k 5 440 bash results/gpu/2026-12-06-h100-engines-16/lease/next.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/cn.tar.xz -C /tmp cn; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
D=$P:TileLangMidDeepShape
export BACKEND=$D PRECOMPILE_S=80 STRESS_S=80 GATE_S=120 PRECOMPILE_PROBES="--probes-matching mid_deep" \
  GATE_OPS="mhc_pre fused_post_pre" STRESS="mhc_pre:512,1024 fused_post_pre:512"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep 40  # behind the precompile's first kernels
  timeout -k 5 40 python3 -m mhc_verify stress --backend $D --op mhc_pre --tokens 512,1024 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/mhc_pre_512-1024_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-mhc_pre_512-1024_h4096.log" ) &
STAGES="precompile gate" bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  stage "side by side"
  timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $D --ours tilelang-mid-deep-shape \
    --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 384,448,512,640,768,1024 --hidden 4096,7168 \
    --mode graph --precompile off --out "$O/bench-deep" --force > "$O/bench-deep.log" 2>&1
  stage profile
  timeout -k 5 40 python3 scripts/debug/profile_ops.py --backend tilelang --backend $D --backend vllm-tilelang \
    --op mhc_pre --tokens 512,1024 --hidden 4096 --mode graph --out "$O/prof-deep.md" > "$O/prof-deep.log" 2>&1
  stage done )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench-deep"; sed -n '/## Our probes against/,/png/p' "$O/bench-deep/bench.md"
  echo "-- prof-deep"; cat "$O/prof-deep.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
