#!/usr/bin/env bash
# False-alarm calibration on GPUs (issue 6): healthy GPU backends, ci profile, as many cases per
# (backend, op) as CAL_S seconds allow, sharded: one process per (backend, op) x PROCS_PER_PAIR on
# every GPU in GPUS, each `mhc-verify check --seed S` writing its own report; at the time limit each
# shard writes the cases it judged (SIGTERM -> partial report), and `mhc-verify merge` adds them up.
#   bash scripts/gpu_calibration.sh OUT_DIR
#   env: BACKENDS ("tilelang tile_kernels"), OPS (every op), GPUS (all visible, e.g. "0 1"),
#        PROCS_PER_PAIR (1), CAL_S (420), SKIP_MERGE=1 (merge elsewhere later),
#        PROCS ("backend:op:k ..." gives those pairs k processes per GPU instead: slow ops get more),
#        MODEL_PARAMS_BACKENDS ("tile_kernels": run with --model-params, since TileKernels compiles its
#        epsilons, multiplier and Sinkhorn repeat into each kernel and any other value recompiles),
#        SEED_BASE (default: drawn from the clock, so that two runs judge different cases; every
#        shard's seed is in its report's command line, which replays it)
# A shard's failure is a failure of the merged report (exit 1), with its reproducer.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: gpu_calibration.sh OUT_DIR}
mkdir -p "$out/shards"
gpus=${GPUS:-$(nvidia-smi --query-gpu=index --format=csv,noheader | tr '\n' ' ')}
ops=${OPS:-$(python3 -c 'from mhc_reference.contract import OPS; print(" ".join(OPS))')}
seed=${SEED_BASE:-$(( ($(date +%s) % 100000) * 100 ))}
echo "calibration: seeds from $((seed + 1))"
pids=()
for gpu in $gpus; do
  for backend in ${BACKENDS:-tilelang tile_kernels}; do
    for op in $ops; do
      procs=${PROCS_PER_PAIR:-1}
      for spec in ${PROCS:-}; do [ "${spec%:*}" = "$backend:$op" ] && procs=${spec##*:}; done
      extra=()
      [[ " ${MODEL_PARAMS_BACKENDS-tile_kernels} " == *" $backend "* ]] && extra=(--model-params)
      for rep in $(seq 1 "$procs"); do
        seed=$((seed + 1))
        shard="$out/shards/gpu$gpu-$backend-$op-$seed"
        OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} CUDA_VISIBLE_DEVICES=$gpu timeout "${CAL_S:-420}" python3 -m mhc_verify check --profile ci \
          --backend "$backend" --op "$op" --examples 1000000 --seed "$seed" "${extra[@]}" --out "$shard" --force --no-progress \
          > "$shard.log" 2>&1 &
        pids+=($!)
      done
    done
  done
done
echo "calibration: ${#pids[@]} shards on GPUs [$gpus] for ${CAL_S:-420} s"
wait "${pids[@]}"
# Shards of ops a backend does not implement end at once with a "not implemented" pair; merge keeps them.
[ -n "${SKIP_MERGE:-}" ] && exit 0
python3 -m mhc_verify merge "$out/shards" --out "$out/merged" --force 2>&1 | grep -v ':INFO\]' | tee "$out/merge.log"
