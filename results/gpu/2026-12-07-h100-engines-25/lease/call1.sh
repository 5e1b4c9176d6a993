#!/usr/bin/env bash
# Lease call 1 of the twenty-eighth session (at most ~565 s, on a fresh machine): the session's probes for the two
# points issue 16 still has open, checked, timed beside the rivals and gated in one call.
#   precompile (75 s): the default's kernels and the probes' (trigger_first, hc_post_pipelined), both H; beside it
#     1000 stress reruns of mid_probes.TileLangTwentyEighth (both probes at once) at hc_post 256 and mhc_pre 32 x 7168
#   bits (45 s): each probe against the default, bitwise (scripts/debug/probe_bitwise_check.py: eager, reruns, a graph
#     replay): TileLangTwentyEighth on hc_post (64-4096 tokens) and the pres (1-32), TileLangPostPipelined3 and
#     TileLangPostEarly on hc_post
#   bench (190 s): graph-replayed, both H. hc_post at 32-4096 tokens: the default, TileLangPostPipelined,
#     TileLangPostPipelined3, TileLangPostEarly, vLLM's and SGLang's TileLang; mhc_pre / fused_post_pre /
#     pre_big_fuse at 1-32 tokens: the default, TileLangPreTriggerFirst, vLLM's TileLang
#   profile (30 s): hc_post at 256 x 7168 (the default, the pipeline, vLLM) and mhc_pre at 32 x 7168 (the default,
#     trigger_first), per kernel, graph-replayed
#   repeats (60 s): three more processes at hc_post 256 x 7168 / 512 x 4096 and mhc_pre 32 x 7168
#   gate (110 s): TileLangTwentyEighth's nightly checks of hc_post and mhc_pre, side by side
# Usage: W=/tmp/c1; mkdir -p $W; timeout -k 5 565 bash results/gpu/2026-12-07-h100-engines-25/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1; cat $W/summary.txt   (carry .gpu-site: site, vllm-, sglang-site;
#        the logs go back as one archive: a call returns a limited count of files)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
M=mhc_kernels.tilelang.mid_probes
G=$M:TileLangTwentyEighth
stage() { echo "== $(date -u +%T) $1" >> "$O/timeline.txt"; }
BACKEND=$G PRECOMPILE_S=75 PRECOMPILE_PROBES="--probes-matching trigger_first --probes-matching hc_post_pipelined" \
  STRESS="hc_post:256 mhc_pre:32" STRESS_S=75 STAGES=precompile bash scripts/gate_and_bench.sh "$O"
( source scripts/device_env.sh
  export PYTHONWARNINGS=ignore VLLM_USE_DEEP_GEMM=1
  stage "bits"
  bits() { timeout -k 5 "$1" python3 scripts/debug/probe_bitwise_check.py --probe "$2" --op "$3" --tokens "$4" \
             > "$O/bits-${2##*:}-${3%%,*}.log" 2>&1; tail -n 1 "$O/bits-${2##*:}-${3%%,*}.log" >> "$O/timeline.txt"; }
  bits 20 $G hc_post 64,256,512,640,1024,4096
  bits 15 $G mhc_pre,fused_post_pre,pre_big_fuse 1,16,32
  bits 5 $M:TileLangPostPipelined3 hc_post 256,512
  bits 5 $M:TileLangPostEarly hc_post 8,256,512
  stage "bench hc_post"
  timeout -k 5 110 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $M:TileLangPostPipelined --ours tilelang-post-pipelined \
    --backend $M:TileLangPostPipelined3 --ours tilelang-post-pipelined3 \
    --backend $M:TileLangPostEarly --ours tilelang-post-early \
    --backend vllm-tilelang --backend sglang-tilelang --op hc_post --tokens 32,64,128,192,256,384,512,640,1024,4096 \
    --hidden 7168,4096 --mode graph --precompile off --out "$O/bench-post" --force > "$O/bench-post.log" 2>&1
  stage "bench pre"
  timeout -k 5 80 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
    --backend $M:TileLangPreTriggerFirst --ours tilelang-pre-trigger-first --backend vllm-tilelang \
    --op mhc_pre --op fused_post_pre --op pre_big_fuse --tokens 1,8,16,24,32 --hidden 7168,4096 --mode graph \
    --precompile off --out "$O/bench-pre" --force > "$O/bench-pre.log" 2>&1
  stage "profile"
  timeout -k 5 30 python3 scripts/debug/profile_ops.py --backend tilelang --backend $M:TileLangPostPipelined \
    --backend $M:TileLangPreTriggerFirst --backend vllm-tilelang --op hc_post --op mhc_pre --tokens 32,256 \
    --hidden 7168 --mode graph --out "$O/prof.md" > "$O/prof.log" 2>&1
  stage "repeats"
  for r in 1 2 3; do
    timeout -k 5 20 python3 -m mhc_verify.bench --backend tilelang --ours tilelang \
      --backend $M:TileLangTwentyEighth --ours tilelang-twenty-eighth --backend vllm-tilelang \
      --op hc_post --op mhc_pre --tokens 32,256,512 --hidden 7168,4096 --mode graph --precompile off \
      --out "$O/repeat$r" --force > "$O/repeat$r.log" 2>&1
  done )
BACKEND=$G GATE_S=110 GATE_OPS="hc_post mhc_pre" STAGES=gate bash scripts/gate_and_bench.sh "$O"
{ cat "$O/timeline.txt"; grep -E '"(configs|compiled|seconds)"' "$O/precompile.log"
  for f in "$O"/stress-*.log; do echo "-- $f"; grep -iE "fail|pass|reruns" "$f" | tail -n 4; done
  for f in "$O"/bits-*.log; do echo "-- $f"; grep -c " ok" "$f"; grep -E "FAIL|Error" "$f" | head -n 5; done
  for f in "$O"/check-*.log; do echo "-- $f"; tail -n 4 "$f"; done
  for b in bench-post bench-pre; do echo "-- $b"; sed -n '/## Our probes against/,/^!\[/p' "$O/$b/bench.md" | head -n 40
    grep -E "^\| (32|192|256|512) \|" "$O/$b/bench.md" | cut -c1-260 | head -n 24; done
  for r in 1 2 3; do echo "-- repeat$r"; grep -E "^\| (32|256|512) \|" "$O/repeat$r/bench.md" | cut -c1-200; done
  echo "-- prof"; head -c 5000 "$O/prof.md"
} > "$O/summary.txt" 2>&1
true  # the summary reads what the stages wrote; a missing one is in it, not a failed call
