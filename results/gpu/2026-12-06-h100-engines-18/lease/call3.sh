#!/usr/bin/env bash
# Lease call 3 of the twenty-first session (a fresh machine, at most ~250 s: refusals had left 321 s of device time):
# the times of two probes for the two points left, and what remains of the default's nightly checks.
#   precompile (70 s): the default's kernels and the probes'; beside it (from 40 s) the GPU bit tests of
#     mid_probes.TileLangPreDsmem (the cluster pre's weights through distributed shared memory: bitwise the default,
#     three reruns, mhc_pre 1 / 17 / 32, fused_post_pre 32, pre_big_fuse 16)
#   decode bench (40 s): mhc_pre and fused_post_pre at 1 / 16 / 17 / 32 tokens, both H: the default, TileLangPreDsmem,
#     vLLM (mhc_pre at 32 x 7168: 8.1 us in call 2, 8 asked)
#   op bench (25 s): the op at 192 / 256 / 320 tokens, both H: the default, mid_probes.TileLangOpPlainDeep (the
#     caller's splits alone on six TMA stages from 129 tokens), DeepGEMM (1.17 x at 256 x 4096 in call 2)
#   gate (90 s): the default's nightly checks of mhc_pre, pre_big_fuse and prenorm_gemm, with the path anchors (both
#     sides of every threshold up to 4097 tokens), which no GPU had run for these ops; what the time holds
# Usage: W=/tmp/c3; rm -rf $W; mkdir -p $W; timeout -k 5 250 bash results/gpu/2026-12-06-h100-engines-18/lease/call3.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c3.tar.xz -C /tmp c3; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=tilelang PRECOMPILE_S=70 PRECOMPILE_PROBES="--probes-matching dsmem_pre --probes-matching stages=6" STRESS=""
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep "${BITS_DELAY_S:-40}"  # behind the precompile's first kernels
  timeout -k 5 60 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k dsmem --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  echo "== $(date -u +%T) decode bench" >> "$O/timeline.txt"
  timeout -k 5 40 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangPreDsmem \
    --ours tilelang-pre-dsmem --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 1,16,17,32 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-decode" --force > "$O/bench-decode.log" 2>&1
  echo "== $(date -u +%T) op bench" >> "$O/timeline.txt"
  timeout -k 5 25 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpPlainDeep \
    --ours tilelang-op-plain-deep --backend vllm-deepgemm --op prenorm_gemm --tokens 192,256,320 --hidden 7168,4096 \
    --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1 )
GATE_S=90 GATE_OPS="mhc_pre pre_big_fuse prenorm_gemm" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"
  echo "-- gpu-bits"; tail -n 4 "$O/gpu-bits.log"
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 6 "$f"; done
  for b in bench-decode bench-op; do echo "-- $b"; sed -n '/## Our probes against/,$p' "$O/$b/bench.md" | head -n 30; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
