#!/usr/bin/env bash
# Lease call 5 of the thirtieth session (ran, in two calls of 100 and 54 s; the first one's self-matching pkill ended
# it after its check, hence the second, written as below): on a fresh H100 carrying the tree and all four bundles
# (65.2 MB, site.tar.xz slimmed by scripts/slim_gpu_site.sh without tilelang/src's C++ sources and cutlass/tools):
#   1. TileLang from the slimmed bundle: nightly checks of the op and hc_post (compiles and runs);
#   2. the lost-report scenario of -26/lease/call2.sh: the bench under its own timeout, its output piped into a filter
#      that is killed under it after 12 s; the bench must go on and write its bench.md.
# Usage: bash results/gpu/2026-12-07-h100-engines-27/lease/call5.sh $OUT   (carry .gpu-site)
set -u
cd "$(dirname "$0")/../../../.."
O=${1:?out dir}; mkdir -p "$O"
source scripts/device_env.sh
export PYTHONWARNINGS=ignore
python3 -c "import tilelang; print('tilelang', tilelang.__version__, tilelang.__file__)"
timeout -k 5 100 python3 -m mhc_verify check --backend tilelang --require-backend tilelang --op prenorm_gemm \
  --op hc_post --examples 4 --out "$O/chk" --no-progress > "$O/chk.log" 2>&1
echo "check rc=$?"
( timeout -k 5 50 python3 -m mhc_verify.bench --backend tilelang --backend tile_kernels --op hc_post --op mhc_pre \
    --op hc_head --tokens 1,8,64,512,4096 --hidden 4096,7168 --mode graph --precompile off --out "$O/pipe" --force 2>&1 \
    | ( echo $BASHPID > "$O/filter.pid"; exec grep -v zzz ) > "$O/pipe.log" ) &
sleep 12
kill "$(cat "$O/filter.pid")"
echo "filter killed at $(date -u +%T)"
wait
echo "bench done at $(date -u +%T)"
ls "$O/pipe"
