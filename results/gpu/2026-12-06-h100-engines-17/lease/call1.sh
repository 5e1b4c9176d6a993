#!/usr/bin/env bash
# Lease call 1 of the twentieth session (a fresh machine, at most ~500 s): fn split in the GEMM kernel from fp32
# (gemm.build_prenorm_gemm's split_in_kernel, on the TMA kernel: 12 KB of fn per 128-column tile against fn3's 20)
# where our GEMM trails DeepGEMM's, which reads fn in fp32: mid_probes.TileLangTwentieth (the decode tensor-core
# GEMM at 17-32 tokens, the op at 129-1024, mhc_pre's middle GEMM at 385-1024 in DeepGEMM's shape, all on TMA with
# the split) and TileLangSplitInKernel (the default's own TMA GEMMs with the split); mid_probes.TileLangMidDeepShape
# (the deep shape on fn3, -16's next.sh, never run) beside them.
#   precompile (100 s): the default's kernels and the probes'; beside it 1000 stress reruns each (every third a
#     CUDA-graph replay) of TileLangTwentieth at mhc_pre 32 / 512 / 1024, fused_post_pre 32 / 512 and the op at
#     256 / 1024 tokens (H = 7168)
#   gate (130 s): TileLangTwentieth's nightly checks of mhc_pre, fused_post_pre and the op; beside them
#     tests/test_tilelang_gpu_bits.py's split tests (the kernel's bits against split_fn's for every tiling the
#     probes launch, with NaN / inf / subnormal fn; the probes' outputs against the default's where bitwise)
#   bench (110 s): mhc_pre and fused_post_pre at 16-32 and 384-1024 tokens, the op at 128-1024, both H,
#     graph-replayed: the default, the two probes of ours, vLLM on DeepGEMM (and DeepGEMM alone for the op)
#   profile (65 s): mhc_pre at 32 x 7168 and 512 x 4096 (the default, TileLangTwentieth, vLLM), the op at
#     256 x 4096 (the default, TileLangTwentieth, DeepGEMM)
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 520 bash results/gpu/2026-12-06-h100-engines-17/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
G=$P:TileLangTwentieth
export BACKEND=$G PRECOMPILE_S=100 STRESS_S=100 GATE_S=130 \
  PRECOMPILE_PROBES="--probes-matching split_in_kernel --probes-matching mid_deep" \
  GATE_OPS="mhc_pre fused_post_pre prenorm_gemm" STRESS="mhc_pre:32,512,1024 fused_post_pre:32,512 prenorm_gemm:256,1024"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 120 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k "split" --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  ours=(--backend tilelang --ours tilelang --backend $G --ours tilelang-twentieth)
  stage "pre bench"
  timeout -k 5 80 python3 -m mhc_verify.bench "${ours[@]}" --backend $P:TileLangMidDeepShape --ours tilelang-mid-deep-shape \
    --backend vllm-tilelang --op mhc_pre --op fused_post_pre --tokens 16,17,24,32,384,512,640,768,1024 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-pre" --force > "$O/bench-pre.log" 2>&1
  stage "op bench"
  timeout -k 5 40 python3 -m mhc_verify.bench "${ours[@]}" --backend $P:TileLangSplitInKernel --ours tilelang-split-in-kernel \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 128,192,256,320,384,512,640,768,1024 --hidden 7168,4096 \
    --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage profile
  timeout -k 5 25 python3 scripts/debug/profile_ops.py --backend tilelang --backend $G --backend vllm-tilelang \
    --op mhc_pre --tokens 32 --hidden 7168 --mode graph --out "$O/prof-32.md" > "$O/prof-32.log" 2>&1
  timeout -k 5 20 python3 scripts/debug/profile_ops.py --backend tilelang --backend $G --backend vllm-tilelang \
    --op mhc_pre --tokens 512 --hidden 4096 --mode graph --out "$O/prof-pre-4096.md" > "$O/prof-pre-4096.log" 2>&1
  timeout -k 5 20 python3 scripts/debug/profile_ops.py --backend tilelang --backend $G --backend vllm-deepgemm \
    --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph --out "$O/prof-op-4096.md" > "$O/prof-op-4096.log" 2>&1
  stage done )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log "$O"/gpu-bits.log; do echo "-- $f"; tail -n 6 "$f"; done
  for b in bench-pre bench-op; do echo "-- $b"; sed -n '/## Our probes against/,$p' "$O/$b/bench.md" | head -n 80; done
  for f in prof-32 prof-pre-4096 prof-op-4096; do echo "-- $f"; cat "$O/$f.md"; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
