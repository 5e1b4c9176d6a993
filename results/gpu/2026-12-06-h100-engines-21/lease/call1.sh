#!/usr/bin/env bash
# Lease call 1 of the twenty-fourth session (a fresh machine, at most ~570 s): each TMA GEMM tile's sum of squares under
# its wgmma batch (mid_probes.TileLangSquaresUnderWgmma: the op's plain window and its GEMM from 1025 tokens, mhc_pre's
# deep middle GEMM and its GEMM from 67 457; TileLangDecodeTmaSquares: the decode tensor-core GEMM on TMA too), and
# the op's plain window from 129 tokens with it (TileLangSquaresPlainFrom129), for the op at 192 / 256 x 4096
# (DeepGEMM ahead) and mhc_pre at 32 x 7168 (8.03 us, 8 asked).
#   precompile (90 s): the default's kernels and the probes' (",squares_under_wgmma"); beside it 1000 stress reruns each
#     of the gate probe TileLangTwentyFourth (all three at once) at the op's 129 / 193 / 256 and mhc_pre's 32 / 1024
#     tokens (H = 7168), and from 40 s the GPU bit test of the squares probes against the default (three reruns)
#   op bench (80 s): the op at 64-4096 tokens, both H: the default, both op probes, DeepGEMM
#   pre bench (70 s): mhc_pre and fused_post_pre at 17-32 and 384-1024 tokens, both H: the default and both pre probes
#   op profile (25 s): the op at 256 x 4096: the default, the window from 129, DeepGEMM
#   gate (150 s): TileLangTwentyFourth's nightly checks of prenorm_gemm and mhc_pre with the path anchors
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 570 bash results/gpu/2026-12-06-h100-engines-21/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangTwentyFourth PRECOMPILE_S=90 STRESS_S=100 PRECOMPILE_PROBES="--probes-matching squares_under_wgmma" \
  STRESS="prenorm_gemm:129,193,256 mhc_pre:32,1024" GPU_BITS="squares" GPU_BITS_S=100
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "op bench"
  timeout -k 5 80 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $P:TileLangSquaresUnderWgmma --ours tilelang-squares-under-wgmma \
    --backend $P:TileLangSquaresPlainFrom129 --ours tilelang-squares-plain-from129 --backend vllm-deepgemm \
    --op prenorm_gemm --tokens 64,128,160,192,224,256,320,512,704,1024,4096 --hidden 4096,7168 --mode graph \
    --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "pre bench"
  timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $P:TileLangSquaresUnderWgmma --ours tilelang-squares-under-wgmma \
    --backend $P:TileLangDecodeTmaSquares --ours tilelang-decode-tma-squares \
    --op mhc_pre --op fused_post_pre --tokens 17,24,32,384,512,768,1024 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-pre" --force > "$O/bench-pre.log" 2>&1
  stage "op profile"
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangSquaresPlainFrom129 \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph --out "$O/prof-op.md" \
    > "$O/prof-op.log" 2>&1 )
GATE_S=150 GATE_OPS="prenorm_gemm mhc_pre" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  echo "-- gpu-bits"; tail -n 8 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  for b in bench-op bench-pre; do echo "-- $b"; sed -n '/## Our probes against/,$p' "$O/$b/bench.md" | head -n 60; done
  grep -B 2 -A 14 "prenorm_gemm, H = 4096" "$O/bench-op/bench.md" | head -n 20
  echo "-- prof-op"; head -c 2500 "$O/prof-op.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
