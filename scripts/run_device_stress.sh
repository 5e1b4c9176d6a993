#!/usr/bin/env bash
# Race stress on a GPU machine (see mhc_verify/stress.py), packed under OUT_DIR.
#   bash scripts/run_device_stress.sh OUT_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: run_device_stress.sh OUT_DIR}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
# Healthy third-party kernels at the sizes that matter: 1000 reruns, bitwise + fp64 bound checks.
python3 -m mhc_verify stress --backend tile_kernels --op mhc_pre --op hc_post --tokens 65536,80000 --hidden 7168 \
  --reruns "${RERUNS:-1000}" --judge-every 100 --out "$out/healthy" --no-progress 2>&1 | tee "$out/healthy.log"
# Planted races (emulated on the GPU's memory): each must be caught.
python3 -m mhc_verify stress --backend mhc_kernels.cpu_races:SqrsumRowSwapRaceCuda --op prenorm_gemm \
  --tokens 65536 --hidden 7168 --reruns 200 --judge-every 50 --out "$out/race-sqrsum" --no-progress 2>&1 | tee "$out/race-sqrsum.log"
python3 -m mhc_verify stress --backend mhc_kernels.cpu_races:StaleBlockRaceCuda --op hc_post \
  --tokens 80000 --hidden 7168 --reruns 200 --judge-every 50 --out "$out/race-stale" --no-progress 2>&1 | tee "$out/race-stale.log"
