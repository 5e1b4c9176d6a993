"""mhc_kernels: the kernels under test, each behind the backend contract in ``mhc_kernels.base``.

Importing this package imports no kernel library: each backend imports its own lazily, inside
``available()`` and its op methods, so a missing GPU package makes a backend unavailable (with
the import error as the reason), never an import failure of the suite.
"""

# name -> "module:attr" of the built-in backends; the harness adds entry points and ad-hoc ones.
BUILTIN_BACKENDS: dict[str, str] = {
    "torch": "mhc_kernels.torch_native:TorchNativeBackend",
    "torch-cuda": "mhc_kernels.torch_native:TorchNativeCudaBackend",
    "tilelang": "mhc_kernels.tilelang.decode_backend:TileLangDecode",
    "tilelang-base": "mhc_kernels.tilelang.backend:TileLangBackend",
    "tile_kernels": "mhc_kernels.tile_kernels_backend:TileKernelsBackend",
    "aiter": "mhc_kernels.aiter.hip:AiterBackend",
    "aiter-triton": "mhc_kernels.aiter.triton:AiterTritonBackend",
    "vllm-tilelang": "mhc_kernels.vllm.backend:VllmTileLangBackend",
    "vllm-triton": "mhc_kernels.vllm.backend:VllmTritonBackend",
    "vllm-torch": "mhc_kernels.vllm.backend:VllmTorchBackend",
    "vllm-deepgemm": "mhc_kernels.vllm.backend:VllmDeepGemmBackend",
    "sglang-tilelang": "mhc_kernels.sglang.backend:SglangTileLangBackend",
    "sglang-triton": "mhc_kernels.sglang.backend:SglangTritonBackend",
    "sglang-torch": "mhc_kernels.sglang.backend:SglangTorchBackend",
}
