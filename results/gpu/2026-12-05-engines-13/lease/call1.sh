#!/usr/bin/env bash
# Lease call 1 of the sixteenth session's plan (a fresh machine, at most ~490 s): -12/lease/next-vectors.sh, the
# full gate and the timing of mid_probes.TileLangSinkhornVectors beside the default (see that script).
# Usage: W=/tmp/c1; rm -rf $W; mkdir -p $W; timeout -k 5 490 bash results/gpu/2026-12-05-engines-13/lease/call1.sh $W \
#        > $W/log 2>&1; tar -cJf $OUT/c1.tar.xz -C /tmp c1        (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
timeout -k 5 480 bash results/gpu/2026-12-05-h100-engines-12/lease/next-vectors.sh "$O"
