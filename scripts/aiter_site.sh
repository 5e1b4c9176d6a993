#!/usr/bin/env bash
# Packs AMD aiter's Python package from a source checkout (amd-aiter is not on PyPI) into
# .gpu-site/aiter-site.tar.xz (git-ignored), to run aiter's Triton mHC kernels on a GPU machine
# that cannot fetch anything. Only aiter/'s Python files and its Triton configs travel, unmodified,
# plus BUNDLE.json (the commit they came from); no C++/HIP source. Never commit what it packs.
#
#   bash scripts/aiter_site.sh SRC [REV]
#     SRC  an aiter git checkout or bare repository (git clone https://github.com/ROCm/aiter)
#     REV  the revision to pack (default HEAD)
#
# On the GPU machine (Triton is there; aiter's own setup would replace it, hence no install):
#   mkdir -p /tmp/asite && tar -xJf .gpu-site/aiter-site.tar.xz -C /tmp/asite \
#     && export PYTHONPATH=$PYTHONPATH:/tmp/asite AITER_TRITON_ONLY=1
# AITER_TRITON_ONLY=1 keeps `import aiter` from loading its HIP ops (it calls rocminfo otherwise).
set -euo pipefail
src=${1:?usage: scripts/aiter_site.sh SRC [REV]}
rev=${2:-HEAD}
top=$(git rev-parse --show-toplevel)
out=$top/.gpu-site
grep -qx '/.gpu-site/' "$top/.git/info/exclude" 2>/dev/null || echo '/.gpu-site/' >> "$top/.git/info/exclude"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
commit=$(git -C "$src" rev-parse "$rev")
date=$(git -C "$src" show -s --format=%cs "$commit")
git -C "$src" archive "$commit" aiter | tar -x -C "$tmp"
# Python files and the Triton kernels' tuned configs; the rest of aiter/ is C++/HIP and data.
find "$tmp/aiter" -type f ! -name '*.py' ! -path '*/ops/triton/configs/*' -delete
# FlyDSL's kernels and their AOT builds (ROCm-only, 3.5 MB of Python): nothing on the Triton mHC ops' import chain
# (aiter/__init__ with AITER_TRITON_ONLY, ops/triton/{__init__,fusions,_triton_kernels/fusions,utils,quant}) imports
# them, and without them the tree, site.tar.xz and the other bundles fit one device call's 64 MiB.
rm -rf "$tmp/aiter/ops/flydsl" "$tmp/aiter/aot"
find "$tmp/aiter" -type d -empty -delete
printf '{"source": "ROCm/aiter", "commit": "%s", "date": "%s"}\n' "$commit" "$date" > "$tmp/aiter/BUNDLE.json"
mkdir -p "$out"
tar -C "$tmp" -cf - aiter | xz -9e -T2 > "$out/aiter-site.tar.xz"
ls -la "$out/aiter-site.tar.xz"
