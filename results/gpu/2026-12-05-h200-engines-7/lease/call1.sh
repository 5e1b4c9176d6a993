#!/usr/bin/env bash
# Lease call 1 (ninth session): every probe built in the seventh and eighth sessions, judged in one call
# (scripts/probe_losses.sh: precompile + H = 4096 profile, bitwise checks, four graph-replayed benches).
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$O/gpu.csv" 2>&1
bash scripts/probe_losses.sh "$O"
