#!/usr/bin/env bash
# Runs `mhc-verify check` (nightly profile) on a GPU machine and packs the report.
#   EXAMPLES=40 bash scripts/run_device_check.sh OUT_DIR BACKEND [BACKEND ...]
# On a machine where the project is pip-installed, `mhc-verify check --profile nightly --backend ...`
# is the same thing; this script also works from a bare checkout (see scripts/device_env.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/device_env.sh
out=${1:?usage: run_device_check.sh OUT_DIR BACKEND...}
shift
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
python3 -m mhc_verify backends > "$out/backends.txt" 2>&1
args=()
for b in "$@"; do args+=(--backend "$b"); done
python3 -m mhc_verify check --profile nightly "${args[@]}" --examples "${EXAMPLES:-40}" --out "$out/check" --force \
  --no-progress 2>&1 | tee "$out/check.log"
