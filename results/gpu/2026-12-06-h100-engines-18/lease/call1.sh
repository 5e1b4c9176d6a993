#!/usr/bin/env bash
# Lease call 1 of the twenty-first session (a fresh machine, at most ~560 s): the 1.00 x points at 65 536 / 80 000
# tokens (-16's committed run: hc_post against SGLang, the prenorm_gemm op at H = 4096 against DeepGEMM).
#   precompile (100 s): the default's kernels, hc_post_wide on a flat grid and the op's four-stage TMA GEMM; beside
#     it 1000 stress reruns each (every third a CUDA-graph replay) of mid_probes.TileLangTwentyFirst (both probes) at
#     hc_post 4097 / 80 000 (past gridDim.y's 65 535), fused_post_pre 4097 and the op at 65 536 tokens (H = 7168)
#   gate (150 s): its nightly checks of hc_post, fused_post_pre and prenorm_gemm; beside them the GPU bit tests
#     (the flat kernel against post.py's, four stages against three)
#   bench (150 s): the default, TileLangHcPostFlat and TileLangOpFourStages side by side as ours, with vLLM
#     (TileLang, DeepGEMM) and SGLang, hc_post / fused_post_pre / the op at 4096, 65 536 and 80 000 tokens, both H
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 560 bash results/gpu/2026-12-06-h100-engines-18/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
export BACKEND=$P:TileLangTwentyFirst PRECOMPILE_S=100 STRESS_S=100 GATE_S=150 \
  PRECOMPILE_PROBES="--probes-matching flat_grid --probes-matching op_four_stages" \
  GATE_OPS="hc_post fused_post_pre prenorm_gemm" STRESS="hc_post:4097,80000 fused_post_pre:4097 prenorm_gemm:65536"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 120 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k "flat_hc_post or four_stages" --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
  echo "== $(date -u +%T) bench" >> "$O/timeline.txt"
  timeout -k 10 150 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangHcPostFlat \
    --ours tilelang-hc-post-flat --backend $P:TileLangOpFourStages --ours tilelang-op-four-stages \
    --backend vllm-tilelang --backend vllm-deepgemm --backend sglang-tilelang --op hc_post --op prenorm_gemm \
    --op fused_post_pre --tokens 4096,65536,80000 --hidden 7168,4096 --mode graph --graph-max-tokens 4096 \
    --precompile off --out "$O/bench" --force > "$O/bench.log" 2>&1
  echo "== $(date -u +%T) done" >> "$O/timeline.txt" )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log "$O"/gpu-bits.log; do echo "-- $f"; tail -n 4 "$f"; done
  echo "-- bench"; sed -n '/## Our probes/,/## Backend provenance/p' "$O/bench/bench.md" | head -n 60
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
