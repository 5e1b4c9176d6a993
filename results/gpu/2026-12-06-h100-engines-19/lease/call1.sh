#!/usr/bin/env bash
# Lease call 1 of the twenty-second session (a fresh machine, at most ~560 s): the two points issue 16 still has open
# (the op at 256 x 4096, DeepGEMM 1.17 x; mhc_pre 8.1 us at 32 x 7168, 8 asked) and, beside the times, the gate of the
# probes for them, so that a winner can become the default in call 2 without another gate call.
#   precompile (90 s): the default's kernels and the probes' (dsmem_pre, the op's deep plain windows); beside it
#     1000 stress reruns each (every third a CUDA-graph replay, judged every 100th) of mid_probes.TileLangTwentySecond
#     (the dsmem cluster pre and the six-stage plain window at once) at mhc_pre 1 / 17 / 32, fused_post_pre 32,
#     pre_big_fuse 16 and the op at 129 / 256 / 320 / 704 tokens (H = 7168), and from 40 s the GPU bit tests of
#     TileLangPreDsmem (bitwise the default)
#   decode bench (40 s): mhc_pre and fused_post_pre at 1 / 16 / 17 / 32 tokens, both H: the default, TileLangPreDsmem, vLLM
#   decode profile (30 s): mhc_pre at 32 x 7168, the default and TileLangPreDsmem, where its time goes
#   op bench (40 s): the op at 192 / 256 / 320 / 512 / 704 tokens, both H: the default, TileLangOpPlainDeep (six
#     128-column stages from 129 tokens), TileLangOpPlainDeep64 (twelve 64-column stages), DeepGEMM
#   op profile (25 s): the op at 256 x 4096, the same four
#   gate (150 s): TileLangTwentySecond's nightly checks of mhc_pre, fused_post_pre and prenorm_gemm with the path
#     anchors; then (90 s) pre_big_fuse's (on a GPU of > 100 GB all four at once), beside 1000 stress reruns of
#     TileLangOpPlainDeep64 at the op's 129-704
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-19/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangTwentySecond PRECOMPILE_S=90 STRESS_S=90 \
  PRECOMPILE_PROBES="--probes-matching dsmem_pre --probes-matching stages=" \
  STRESS="mhc_pre:1,17,32 fused_post_pre:32 pre_big_fuse:16 prenorm_gemm:129,256,320,704"
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep "${BITS_DELAY_S:-40}"  # behind the precompile's first kernels
  timeout -k 5 60 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k dsmem --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "decode bench"
  timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangPreDsmem \
    --ours tilelang-pre-dsmem --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 1,16,17,32 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-decode" --force > "$O/bench-decode.log" 2>&1
  stage "decode profile"
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangPreDsmem --op mhc_pre \
    --tokens 32 --hidden 7168 --mode graph --out "$O/prof-decode.md" > "$O/prof-decode.log" 2>&1
  stage "op bench"
  timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpPlainDeep \
    --ours tilelang-op-plain-deep --backend $P:TileLangOpPlainDeep64 --ours tilelang-op-plain-deep64 \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 192,256,320,512,704 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangOpPlainDeep \
    --backend $P:TileLangOpPlainDeep64 --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 \
    --mode graph --out "$O/prof-op.md" > "$O/prof-op.log" 2>&1 )
# four checks at once where the GPU holds their float64 references (> 100 GB: an H200), else three, then the fourth
together=$(awk -F', ' 'NR == 2 {print ($4 + 0 > 100000) ? 1 : 0}' "$O/gpu.csv" 2>/dev/null)
first="mhc_pre fused_post_pre prenorm_gemm"; [[ "$together" == 1 ]] && first="$first pre_big_fuse"
GATE_S=150 GATE_OPS="$first" STAGES=gate bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 85 python3 -m mhc_verify stress --backend $P:TileLangOpPlainDeep64 --op prenorm_gemm \
    --tokens 129,256,320,704 --hidden 7168 --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/deep64" \
    --no-progress 2>&1 | grep -v ':INFO\]' | tail -n 25 > "$O/stress-deep64.log" ) &
[[ "$together" == 1 ]] || GATE_S=90 GATE_OPS="pre_big_fuse" STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  echo "-- gpu-bits"; tail -n 4 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  for b in bench-decode bench-op; do echo "-- $b"; sed -n '/## Our probes against/,$p' "$O/$b/bench.md" | head -n 40; done
  for p in prof-decode prof-op; do echo "-- $p"; head -c 3500 "$O/$p.md"; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
