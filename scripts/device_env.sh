# Source this on a GPU machine where the project is not pip-installed (e.g. the lent H100):
#   source scripts/device_env.sh
# It unpacks the carried .gpu-site bundles if present (site.tar.xz: tilelang, tile-kernels, made by
# ../shared/device/gpu-site.sh; vllm-site.tar.xz: vLLM's mHC kernels, ../shared/device/vllm-site.sh;
# aiter-site.tar.xz: aiter's Python package, scripts/aiter_site.sh; sglang-site.tar.xz: SGLang's mHC
# kernels, ../shared/device/sglang-site.sh, whose sglang_mhc_standalone.prepare() the adapters in
# kernels/sglang call before their first SGLang import), and makes mhc_reference /
# mhc_kernels / mhc_verify importable from this tree. vLLM takes its TileLang prenorm GEMM unless
# VLLM_USE_DEEP_GEMM=1 is set before (DeepGEMM is judged on its own as vllm-deepgemm).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -f "$here/.gpu-site/site.tar.xz" ] && [ ! -d /tmp/site ]; then
  tar -xJf "$here/.gpu-site/site.tar.xz" -C /tmp
fi
mkdir -p /tmp/mhc_pkgs
ln -sfn "$here/reference" /tmp/mhc_pkgs/mhc_reference
ln -sfn "$here/kernels" /tmp/mhc_pkgs/mhc_kernels
ln -sfn "$here/mhc_verify" /tmp/mhc_pkgs/mhc_verify
export PYTHONPATH=/tmp/mhc_pkgs${PYTHONPATH:+:$PYTHONPATH}
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site:$PYTHONPATH
for bundle in vllm aiter sglang; do
  if [ -f "$here/.gpu-site/$bundle-site.tar.xz" ]; then
    [ -d "/tmp/$bundle-site" ] || { mkdir -p "/tmp/$bundle-site" && tar -xJf "$here/.gpu-site/$bundle-site.tar.xz" -C "/tmp/$bundle-site"; }
    export PYTHONPATH=$PYTHONPATH:/tmp/$bundle-site
  fi
done
export AITER_TRITON_ONLY=1  # aiter's Triton ops only: its HIP ops need ROCm (import calls rocminfo)
export VLLM_USE_DEEP_GEMM=${VLLM_USE_DEEP_GEMM:-0}
# SGLang's mhc_pre takes its TileLang GEMM (the bundle lacks SGLang's DeepGEMM wrapper; prepare() sets the same)
export SGLANG_OPT_DEEPGEMM_HC_PRENORM=${SGLANG_OPT_DEEPGEMM_HC_PRENORM:-0}
export PYTHONUNBUFFERED=1
# TileLang's disk cache of compiled kernels inside the tree (ignored by git): every process of a run
# reuses what an earlier one compiled, and a copy carried to a fresh machine (carry .tilelang-cache)
# spares it the compiles. tilelang keys entries on the kernel text, target and version.
export TILELANG_CACHE_DIR=${TILELANG_CACHE_DIR:-$here/.tilelang-cache}
