#!/usr/bin/env bash
# Lease call 1 (tenth session), one GPU call of at most ~540 s:
#   precompile (110 s) our kernels and the probes'; beside it the H = 4096 profile (every kernel of
#     mhc_pre, prenorm_gemm and pre_big_fuse with its device time, ours beside vLLM and DeepGEMM, T = 32
#     .. 1024: the profile lost in the ninth session) and 1000 stress reruns (every third a CUDA-graph
#     replay) of the new default's prenorm_gemm op at its boundaries, of TileLangMidLean's pre at 1024
#     and of TileLangGemmOpBlock128 at 256 / 512 (H = 7168)
#   gate (150 s): nightly checks, --examples 12 plus the anchors, of mid_probes.TileLangMidLean (the
#     middle pre on one residual buffer at every T, with the default's new prenorm_gemm op) on mhc_pre,
#     pre_big_fuse, fused_post_pre and prenorm_gemm, of TileLangGemmOpBlock128 on prenorm_gemm; beside
#     them probe_bitwise_check.py: TileLangMidLean bitwise the default at 512 .. 4096 tokens
#   bench (215 s), graph-replayed, H = 7168 and 4096: the lean pre at 768 .. 2048 tokens (where its
#     10 CTAs per SM hold in one wave what the default's 7 take in two), the op's 128-token blocks at
#     128 .. 1024, hc_post / fused_post_pre per token and with PDL early in one half (not reached in
#     the ninth session), mhc_pre's decode kernels at 32 .. 256 x 4096.
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 550 bash results/gpu/2026-12-05-h200-engines-8/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
source scripts/device_env.sh
O=${1:?out dir}; mkdir -p "$O"
export PYTHONWARNINGS=ignore PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True VLLM_USE_DEEP_GEMM=1
P=mhc_kernels.tilelang.mid_probes
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
python3 -m mhc_verify backends > "$O/backends.txt" 2>&1
quiet() { grep -v ':INFO\]\|Warning: T.vectorized'; }
stage() { echo "== $(date -u +%T) $1" | tee -a "$O/timeline.txt"; }
stress() {  # backend op tokens
  timeout -k 10 "$room" python3 -m mhc_verify stress --backend "$1" --op "$2" --tokens "$3" --hidden 7168 \
    --reruns 1000 --judge-every 100 --cuda-graph --out "$O/stress/${1##*:}_${2}_${3//,/-}" --no-progress 2>&1 \
    | quiet | tail -n 25 > "$O/stress-${1##*:}_${2}_${3//,/-}.log"
}
bench() {  # name cap args...
  local name=$1 cap=$2; shift 2
  echo "   $(date -u +%T) bench-$name (cap $cap s)" >> "$O/timeline.txt"
  timeout -k 15 "$cap" python3 -m mhc_verify.bench "$@" --mode graph --precompile off --out "$O/bench-$name" \
    --force 2>&1 | quiet > "$O/bench-$name.log"
}

stage "precompile + profile + stress"
( timeout -k 10 110 python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes > "$O/precompile.log" 2>&1 ) &
( sleep 40
  timeout -k 10 75 python3 scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
    --backend vllm-deepgemm --op mhc_pre --op prenorm_gemm --op pre_big_fuse --tokens 32,64,128,256,512,1024 \
    --hidden 4096 --out "$O/profile-H4096.md" 2>&1 | quiet > "$O/profile.log" ) &
( start=$(date +%s)
  for point in "tilelang prenorm_gemm 128,129,256" "tilelang prenorm_gemm 1024,1025" \
               "$P:TileLangMidLean mhc_pre 1024" "$P:TileLangMidLean pre_big_fuse 1024" \
               "$P:TileLangGemmOpBlock128 prenorm_gemm 256,512"; do
    room=$(( 115 - $(date +%s) + start ))
    (( room < 10 )) && { echo "stress $point: not run, time spent" >> "$O/timeline.txt"; continue; }
    stress $point
  done ) &
wait

stage "gate + bitwise"
gate() {  # backend op
  local name; name=$(python3 -c "from mhc_verify.registry import discover_named as d; print(next(iter(d(['$1']))))")
  timeout -k 15 150 python3 -m mhc_verify check --profile nightly --backend "$1" --require-backend "$name" \
    --op "$2" --examples 12 --out "$O/check/${1##*:}_$2" --force --no-progress 2>&1 | quiet | tail -n 30 \
    > "$O/check-${1##*:}_$2.log"
}
for op in mhc_pre pre_big_fuse fused_post_pre prenorm_gemm; do gate "$P:TileLangMidLean" $op & done
gate "$P:TileLangGemmOpBlock128" prenorm_gemm &
( timeout -k 10 100 python3 scripts/debug/probe_bitwise_check.py --probe "$P:TileLangMidLean" \
    --tokens 512,768,1024,1536,2048,4096 2>&1 | quiet > "$O/check-lean-bitwise.log" ) &
wait
python3 -m mhc_verify merge "$O"/check/*/report.json --out "$O/check-merged" --force 2>&1 | tail -n 12 \
  > "$O/check-merged.log"
grep -h "ALL OK\|FAILED$" "$O"/check-lean-bitwise.log | tee -a "$O/timeline.txt"

stage bench
bench lean 80 --backend tilelang --backend "$P:TileLangMidLean" --backend vllm-tilelang --backend tile_kernels \
  --op mhc_pre --op pre_big_fuse --op fused_post_pre --tokens 768,1024,1536,2048 --hidden 7168,4096 \
  --ours tilelang --ours tilelang-mid-lean
bench gemm 35 --backend tilelang --backend "$P:TileLangGemmOpBlock128" --backend vllm-deepgemm \
  --op prenorm_gemm --tokens 128,256,512,1024 --hidden 7168,4096 --ours tilelang --ours tilelang-gemm-op-bm128
bench post 65 --backend tilelang --backend "$P:TileLangPostPerToken" --backend "$P:TileLangPdlEarlyFusedPre" \
  --backend "$P:TileLangPdlEarlyFusedPost" --backend sglang-tilelang --backend vllm-tilelang \
  --op hc_post --op fused_post_pre --tokens 64,256,512,1024,4096 --hidden 7168,4096 \
  --ours tilelang --ours tilelang-post-per-token --ours tilelang-pdl-fused-pre --ours tilelang-pdl-fused-post
bench h4096 30 --backend tilelang --backend mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere \
  --backend vllm-tilelang --op mhc_pre --tokens 32,64,128,256 --hidden 4096 \
  --ours tilelang --ours tilelang-decode-everywhere
stage done
