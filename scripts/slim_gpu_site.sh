#!/usr/bin/env bash
# Repacks .gpu-site/site.tar.xz (made by ../shared/device/gpu-site.sh: tilelang, tile-kernels, z3,
# tvm_ffi) smaller, so that the tree, that bundle and vLLM's bundle with DeepGEMM (6.8 MB) fit in the
# 64 MiB a device call carries (46 MB -> about 37 MB):
#   - z3/lib/libz3.so is a second 22.6 MB copy of libz3.so.4.15: it becomes a symlink to it;
#   - tvm_ffi/3rdparty/libbacktrace (sources of a library already linked into tvm_ffi's .so) is
#     dropped. (tvm_ffi/lib/libtvm_ffi_testing.so stays: tilelang's import loads it; an H200 run
#     without it found every tilelang and SGLang backend unavailable.)
#   - tilelang/3rdparty/tvm/src (TVM's C++ sources, 13 MB; its libraries are prebuilt in tilelang/lib) is dropped:
#     tilelang compiles its kernels against tilelang/src and 3rdparty/cutlass/include only (contrib/nvcc.py,
#     jit/adapter/libgen.py). Without it the twenty-ninth session compiled decode_pre_cluster and the TMA GEMM for
#     sm_90a here, and the bundle (1.5 MB less) fits the tree and all four bundles in a call again.
#   - tilelang/src's C++ sources (*.cc, *.cpp: TileLang's own compiler, prebuilt in tilelang/lib; its headers and
#     tl_templates, which kernels include, stay) and cutlass/tools (the profiler and libraries; tilelang passes
#     only cutlass/include to nvcc: env.py, contrib/nvcc.py): 7.5 MB of text, 0.83 MB of the bundle, so that the tree
#     with the -27 results and all four bundles (65.2 MB) stay within what a call took (65.3). Checked on the CPU: the
#     GEMM (TMA and cp.async), chunk_sum, the pipelined hc_post and the overlap pre compile for sm_90a with nvcc
#     against the slimmed bundle's include paths alone; on an H100 (results/gpu/2026-12-07-h100-engines-27, call 5)
#     TileLang from it compiled and ran the op's and hc_post's nightly checks, carried with the tree and all four
#     bundles.
#   - xz -9e instead of the default preset.
# Nothing that tilelang loads or compiles against is removed: TileLang's cutlass/tvm headers and
# templates stay. The bundle is replaced in place (../shared/device/gpu-site.sh rebuilds the original).
#
#   bash scripts/slim_gpu_site.sh     # about 2 minutes on 2 cores
set -euo pipefail
top=$(git rev-parse --show-toplevel)
src=$top/.gpu-site/site.tar.xz
[ -f "$src" ] || { echo "no $src: run ../shared/device/gpu-site.sh first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$src" -C "$tmp"
z3=$tmp/site/z3/lib
if [ -f "$z3/libz3.so" ] && [ ! -L "$z3/libz3.so" ] && cmp -s "$z3/libz3.so" "$z3/libz3.so.4.15"; then
  ln -sf libz3.so.4.15 "$z3/libz3.so"
fi
rm -rf "$tmp/site/tvm_ffi/3rdparty/libbacktrace" "$tmp/site/tilelang/3rdparty/tvm/src" \
  "$tmp/site/tilelang/3rdparty/cutlass/tools"
find "$tmp/site/tilelang/src" -type f \( -name '*.cc' -o -name '*.cpp' \) -delete
tar -C "$tmp" -cf - site | xz -9e -T"$(nproc)" > "$tmp/site.tar.xz"
before=$(stat -c %s "$src")
mv "$tmp/site.tar.xz" "$src"
echo "$src: $before -> $(stat -c %s "$src") bytes"
