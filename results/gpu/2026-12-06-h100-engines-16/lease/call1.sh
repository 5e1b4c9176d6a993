#!/usr/bin/env bash
# Lease call 1 of the nineteenth session (a fresh machine, at most ~585 s; one call, for each refused call costs
# 90 device-seconds): the decode floor's new candidates and the middle losses' probe, gated and timed beside the
# default and the engines, and the profiles the eighteenth session's call 2 never ran.
#   precompile (100 s): the default's kernels and the new probes'; beside it 1000 stress reruns each (every third
#     a CUDA-graph replay) of mid_probes.TileLangPreClusterGemmTma (decode_pre as one cluster per token, the
#     tensor-core decode GEMM on TMA; both claim the default's bits) at mhc_pre 1 / 32, fused_post_pre 32 and
#     pre_big_fuse 16 tokens, H = 7168
#   gate (85 s): its nightly checks of mhc_pre, fused_post_pre and pre_big_fuse; beside them the bitwise checks
#     against the default (probe_bitwise_check.py: TileLangPreCluster at 1-32 tokens on the three ops,
#     TileLangDecodeGemmTma at 17-32; tests/test_tilelang_gpu_bits.py's cluster pre and the TMA pre at 67 457)
#   decode bench (90 s): mhc_pre and fused_post_pre at 1-32 tokens, both H, graph-replayed: the default, the
#     four decode probes (the cluster pre, the TMA decode GEMM, the one-tile decode GEMM, the cluster with TMA)
#     and vLLM
#   decode profile (45 s): profile_ops.py, mhc_pre at 1 / 16 / 32 x 7168, the default and the two bitwise probes
#   op bench (45 s): the prenorm_gemm op at 128-1024 tokens, the default, TileLangOpPlainTma (the caller's
#     splits alone on a 4-stage TMA pipeline) and DeepGEMM
#   middle profile (60 s): mhc_pre and fused_post_pre at 512 / 1024 x 4096, ours and vLLM's (call 2 of -15)
#   op profile (30 s): the op at 256 x 4096, the default, TileLangOpPlainTma and DeepGEMM
#   post (45 s): hc_post at 384-768 x 4096, the default beside the one before, vLLM and SGLang (call 2 of -15)
# Usage: W=/tmp/c19; rm -rf $W; mkdir -p $W; timeout -k 5 585 bash results/gpu/2026-12-06-h100-engines-16/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c19; cat $W/summary.txt        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
P=mhc_kernels.tilelang.mid_probes
C=$P:TileLangPreClusterGemmTma
export BACKEND=$C PRECOMPILE_S=100 STRESS_S=90 GATE_S=85 \
  PRECOMPILE_PROBES="--probes-matching decode_pre_cluster --probes-matching one_tile --probes-matching decode_tma --probes-matching op_plain_tma" \
  GATE_OPS="mhc_pre fused_post_pre pre_big_fuse" STRESS="mhc_pre:1,32 fused_post_pre:32 pre_big_fuse:16"
STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 45 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangPreCluster \
    --op mhc_pre,fused_post_pre,pre_big_fuse --tokens 1,8,16,17,24,32 --hidden 4096,7168 > "$O/bitwise-cluster.log" 2>&1
  timeout -k 5 30 python3 scripts/debug/probe_bitwise_check.py --probe $P:TileLangDecodeGemmTma \
    --op mhc_pre,fused_post_pre --tokens 17,24,32 --hidden 4096,7168 > "$O/bitwise-decode-tma.log" 2>&1 ) &
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore
  timeout -k 5 80 python3 -m pytest -q -p no:cacheprovider -p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py \
    -k "tma_gemm_gives or cluster_pre_gives" --require-backend tilelang > "$O/gpu-bits.log" 2>&1 ) &
STAGES=gate bash scripts/gate_and_bench.sh "$O"
wait
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
  ours=(--backend tilelang --ours tilelang)
  for probe in TileLangPreCluster:tilelang-pre-cluster TileLangDecodeGemmTma:tilelang-decode-gemm-tma \
      TileLangDecodeGemmOneTile:tilelang-decode-gemm-one-tile TileLangPreClusterGemmTma:tilelang-pre-cluster-gemm-tma; do
    ours+=(--backend "$P:${probe%%:*}" --ours "${probe#*:}")
  done
  stage "decode bench"
  timeout -k 5 90 python3 -m mhc_verify.bench "${ours[@]}" --backend vllm-tilelang --op mhc_pre --op fused_post_pre \
    --tokens 1,8,16,17,24,32 --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-decode" --force \
    > "$O/bench-decode.log" 2>&1
  stage "decode profile"
  timeout -k 5 45 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangPreCluster \
    --backend $P:TileLangDecodeGemmTma --op mhc_pre --tokens 1,16,32 --hidden 7168 --mode graph \
    --out "$O/prof-decode.md" > "$O/prof-decode.log" 2>&1
  stage "op bench"
  timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --ours tilelang --backend $P:TileLangOpPlainTma \
    --ours tilelang-op-plain-tma --backend vllm-deepgemm --op prenorm_gemm --tokens 128,256,512,1024 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-op" --force > "$O/bench-op.log" 2>&1
  stage "middle profile"
  timeout -k 5 60 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang --op mhc_pre \
    --op fused_post_pre --tokens 512,1024 --hidden 4096 --mode graph --out "$O/prof-mid.md" > "$O/prof-mid.log" 2>&1
  stage "op profile"
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend $P:TileLangOpPlainTma \
    --backend vllm-deepgemm --op prenorm_gemm --tokens 256 --hidden 4096 --mode graph --out "$O/prof-op.md" \
    > "$O/prof-op.log" 2>&1
  stage post
  timeout -k 5 45 python3 -m mhc_verify.bench --backend tilelang --backend $P:TileLangPostWideCpAsyncPre --ours tilelang \
    --ours tilelang-post-wide-cp-async-pre --backend vllm-tilelang --backend sglang-tilelang --op hc_post \
    --tokens 384,448,512,576,640,704,768 --hidden 4096 --mode graph --precompile off --out "$O/bench-post" --force \
    > "$O/bench-post.log" 2>&1
  stage done )
{ cat "$O/timeline.txt"; for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 3; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for f in "$O"/bitwise-*.log "$O"/gpu-bits.log; do echo "-- $f"; tail -n 3 "$f"; done
  for b in bench-decode bench-op bench-post; do echo "-- $b"; grep -E "^\| [0-9]+ \|" "$O/$b/bench.md" | cut -c1-400; done
  for p in prof-decode prof-mid prof-op; do echo "-- $p"; cat "$O/$p.md"; done
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
