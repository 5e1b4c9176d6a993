#!/usr/bin/env bash
# Lease call 2 of the twentieth session (a fresh machine, at most ~420 s): after call 1 (TileLangTwentieth wrong in
# its gate and 1.6-6 x slower; TileLangMidDeepShape 0.91 / 0.94 x the default at 512 / 640 x 7168, H = 4096 not
# reached), the deep shape's gate and its H = 4096 points, and why the split failed:
#   precompile (100 s): the default's kernels, the deep shape's and the split's; beside it 1000 stress reruns each
#     (every third a CUDA-graph replay) of TileLangMidDeepShape at mhc_pre 512 / 1024 and fused_post_pre 512
#     (H = 7168), then at mhc_pre 512 / 1024 x 4096
#   gate (130 s): TileLangMidDeepShape's nightly checks of mhc_pre and fused_post_pre; beside them
#     scripts/debug/split_in_kernel_check.py (the split GEMM's bits on the failing cases' inputs, the probes
#     against the default, again after an 80 000-token split call, and the kernels' times alone), then its quick
#     sections under compute-sanitizer's memcheck
#   bench (80 s): mhc_pre and fused_post_pre at 384-1024 tokens, H = 4096 first, graph-replayed: the default, the
#     deep shape, vLLM on DeepGEMM
#   profile (30 s): mhc_pre at 512 / 1024 x 4096: the default, the deep shape, vLLM
# Usage: W=/tmp/c2; rm -rf $W; mkdir -p $W; timeout -k 5 440 bash results/gpu/2026-12-06-h100-engines-17/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c2; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
D=$P:TileLangMidDeepShape
export BACKEND=$D PRECOMPILE_S=100 STRESS_S=100 GATE_S=130 \
  PRECOMPILE_PROBES="--probes-matching mid_deep --probes-matching split_in_kernel --probes-matching decode_tma" \
  GATE_OPS="mhc_pre fused_post_pre" STRESS="mhc_pre:512,1024 fused_post_pre:512"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep 60  # behind the first stress points
  timeout -k 5 40 python3 -m mhc_verify stress --backend $D --op mhc_pre --tokens 512,1024 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/mhc_pre_512-1024_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-mhc_pre_512-1024_h4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 70 python3 scripts/debug/split_in_kernel_check.py > "$O/split-check.log" 2>&1
  CS=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
  echo "compute-sanitizer: ${CS:-none}" > "$O/split-memcheck.log"
  [[ -n "$CS" ]] && timeout -k 5 55 "$CS" --tool memcheck --print-limit 20 python3 scripts/debug/split_in_kernel_check.py \
    --quick >> "$O/split-memcheck.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  stage "deep bench"
  timeout -k 5 80 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $D --ours tilelang-mid-deep-shape \
    --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 384,512,640,768,1024 --hidden 4096,7168 \
    --mode graph --precompile off --out "$O/bench-deep" --force > "$O/bench-deep.log" 2>&1
  stage profile
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend $D --backend vllm-tilelang \
    --op mhc_pre --tokens 512,1024 --hidden 4096 --mode graph --out "$O/prof-deep.md" > "$O/prof-deep.log" 2>&1
  stage done )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- split-check"; grep -v "INFO\]" "$O/split-check.log" | tail -n 30
  echo "-- split-memcheck"; grep -v "INFO\]" "$O/split-memcheck.log" | grep -E "=====|ok|FAIL|ALL|sanitizer" | head -n 40
  echo "-- bench-deep"; sed -n '/## Our probes against/,/png/p' "$O/bench-deep/bench.md"
  echo "-- prof-deep"; cat "$O/prof-deep.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
