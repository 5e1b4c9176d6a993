#!/usr/bin/env bash
# Lease call 2 of the nineteenth session (a fresh machine, at most ~500 s): after call 1 (the cluster pre faster
# at 16-32 x 7168 but slower at one token; the TMA and one-tile decode GEMMs slower; the op on the caller's splits
# via TMA faster at 512 tokens only; vLLM's lead at 512 / 1024 x 4096 in our GEMM and, at 1024, our pre), the gate
# of every new candidate at once (mid_probes.TileLangNineteenth: the split-barrier cluster pre, the 512-thread FMA
# decode GEMM at 17-32 tokens, the middle GEMM on half a wave, the op via TMA at 129-1024), then each beside the
# default and the engines.
#   precompile (110 s): the default's kernels and the probes'; beside it 1000 stress reruns each (every third a
#     CUDA-graph replay) of the gate probe at mhc_pre 24 / 32 / 1024, fused_post_pre 32, prenorm_gemm 512
#     (H = 7168), and at mhc_pre 1024 x 4096
#   gate (150 s): the gate probe's nightly checks of mhc_pre, fused_post_pre, pre_big_fuse, hc_head and the
#     prenorm_gemm op; beside them the split-barrier pre's bitwise checks against the default (1-32 tokens, three
#     ops) and tests/test_tilelang_gpu_bits.py's cluster pres and TMA pre
#   decode bench (70 s): mhc_pre and fused_post_pre at 1-32 tokens, both H: the default, the two cluster pres, the
#     two FMA decode GEMMs (512 / 1024 threads), the split-barrier pre with the 512-thread GEMM, vLLM
#   middle bench (70 s): mhc_pre, fused_post_pre and hc_head at 64-4096 tokens, both H: the default, the half wave,
#     vLLM
#   op bench (35 s): the op at 256-1024 tokens, both H: the default, the op via TMA, DeepGEMM
#   decode profile (30 s): mhc_pre at 1 / 32 x 7168, the default, the split-barrier pre, the 512-thread GEMM
# Usage: W=/tmp/c29; rm -rf $W; mkdir -p $W; timeout -k 5 580 bash results/gpu/2026-12-06-h100-engines-16/lease/call2.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c2.tar.xz -C /tmp c29; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
G=$P:TileLangNineteenth
export BACKEND=$G PRECOMPILE_S=100 STRESS_S=110 GATE_S=150 \
  PRECOMPILE_PROBES="--probes-matching decode_pre_cluster --probes-matching fma512 --probes-matching fma1024 --probes-matching op_plain_tma" \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse hc_head prenorm_gemm" \
  STRESS="mhc_pre:24,32,1024 fused_post_pre:32 prenorm_gemm:512"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  sleep 45  # behind the precompile's first kernels
  timeout -k 5 50 python3 -m mhc_verify stress --backend $G --op mhc_pre --tokens 1024 --hidden 4096 --reruns 1000 \
    --judge-every 100 --cuda-graph --out "$O/stress/mhc_pre_1024_h4096" --no-progress 2>&1 | tail -n 25 \
    > "$O/stress-mhc_pre_1024_h4096.log" ) &
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 45 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangPreCluster2 \
    --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,8,16,17,24,32 --hidden 4096,7168 > "$O/bitwise-cluster2.log" 2>&1
  timeout -k 5 80 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k "tma_gemm_gives or cluster_pre_gives" --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  ours=(--backend tilelang --ours tilelang)
  for probe in TileLangPreCluster:tilelang-pre-cluster TileLangPreCluster2:tilelang-pre-cluster2 \
      TileLangFma512:tilelang-fma512 TileLangFma1024:tilelang-fma1024 TileLangPreCluster2Fma512:tilelang-pre-cluster2-fma512; do
    ours+=(--backend "$P:${probe%%:*}" --ours "${probe#*:}")
  done
  stage "decode bench"
  timeout -k 5 70 python3 -m mhc_verify.bench "${ours[@]}" --backend vllm-tilelang --op mhc_pre --op fused_post_pre \
    --tokens 1,8,16,17,24,32 --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-decode" --force \
    > "$O/bench-decode.log" 2>&1
  stage "middle bench"
  timeout -k 5 70 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangMidHalfWave \
    --ours tilelang-mid-half-wave --backend vllm-tilelang --op mhc_pre --op fused_post_pre --op hc_head \
    --tokens 64,128,256,512,768,1024,2048,4096 --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-mid" \
    --force > "$O/bench-mid.log" 2>&1
  stage "op bench"
  timeout -k 5 35 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpPlainTma \
    --ours tilelang-op-plain-tma --backend vllm-deepgemm --op prenorm_gemm --tokens 256,384,448,512,640,768,1024 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "decode profile"
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangPreCluster2 \
    --backend $P:TileLangFma512 --op mhc_pre --tokens 1,32 --hidden 7168 --mode graph --out "$O/prof-decode.md" \
    > "$O/prof-decode.log" 2>&1
  stage done )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for f in "$O"/bitwise-*.log "$O"/gpu-bits.log; do echo "-- $f"; tail -n 3 "$f"; done
  for b in bench-decode bench-mid bench-op; do echo "-- $b"; sed -n '/## Our probes against/,$p' "$O/$b/bench.md" | head -n 80; done
  echo "-- prof-decode"; cat "$O/prof-decode.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
