"""Compile vLLM's own TileLang mHC kernels for sm_90a on a machine without a GPU (a helper of
tests/test_vllm_compile.py, run in a fresh interpreter: importing vLLM sets environment variables and
patches torch's inductor, and the platform forced here must not leak into other tests).

    python tests/vllm_tilelang_compile_probe.py SITE HIDDEN

SITE is a directory holding vLLM's pure-Python files (scripts/vllm_cpu_site.sh builds it). Prints one
JSON line per kernel: its name, vLLM's compile key, the compiled kernel's target arch, whether the
CUDA source has a __global__ kernel and PDL's grid-dependency instructions, whether a loadable module
(the host library around the cubin) was produced, the seconds it took, or the error.

How the platform is forced: vLLM resolves ``vllm.platforms.current_platform`` lazily, on first access,
into the module global ``_current_platform`` (vllm/platforms/__init__.py:295, 302-318 in 0.33.0), by
probing NVML (``cuda_platform_plugin``, :57-105), which finds no GPU here. Nothing reads it while
``vllm.platforms`` imports, so setting ``_current_platform`` first makes every later
``from vllm.platforms import current_platform`` see the CUDA platform. Which CUDA platform: vLLM's own
``CudaPlatform`` (vllm/platforms/cuda.py:1054; the NVML-less variant here) with the two answers a CPU
cannot give stated as an H100/H200 gives them: compute capability 9.0 (``get_device_capability``,
cuda.py:1010-1012, read by the fused post+pre's dispatch, tilelang_kernels.py:74-76) and PDL support
(``is_arch_support_pdl``, cuda.py:736-744, read once at import into ``ENABLE_PDL``,
tilelang_kernels.py:24). The compile itself is vLLM's compile-only warmup path
(``VllmTileLangJitKernel.compile``: storage-less tensors, no launch), with TileLang's default target
(``TILELANG_DEFAULT_TARGET``, read at compile time) set to sm_90a.

Unforced, vLLM resolves ``UnspecifiedPlatform`` here and the kernels would still build, but not as on
Hopper: ``ENABLE_PDL`` off, and without the ptxas register-usage pass config vLLM adds on CUDA
(vllm/tilelang_utils/__init__.py:52-60).
"""

from __future__ import annotations

import json
import os
import sys
import time

TARGET = {"kind": "cuda", "arch": "sm_90a"}
N = 4
# DeepSeek-V4's pre / head parameters (reference/contract.py's defaults): baked into vLLM's compile keys
EPS = dict(rms_eps=1e-6, hc_pre_eps=1e-6, hc_sinkhorn_eps=1e-6, hc_post_mult_value=2.0)
SINKHORN_REPEAT, NORM_EPS, HC_EPS = 20, 1e-6, 1e-6
PDL_SYNC, PDL_TRIGGER = "cudaGridDependencySynchronize", "cudaTriggerProgrammaticLaunchCompletion"

# Every TileLang kernel configuration the vllm-tilelang adapter reaches on Hopper without DeepGEMM
# (the bundle's VLLM_USE_DEEP_GEMM=0), as vLLM's runtime dispatch (each owner's ``dispatch``, called by
# its ``__call__``) selects it:
#   prenorm_gemm          HcPrenormGemmTileLangKernel, n_splits=1: three configs by token count
#                         (tilelang_kernels.py:1162-1189: T < 128 small tile, up to 1023, >= 1024 block_m)
#   pre_big_fuse*         MhcPreBigFuseTileLangKernel after the TileLang GEMM (1 split: mhc_pre,
#                         fused_post_pre at T > 32) and after the fused post+pre (its splits), with and
#                         without norm_weight
#   mhc_post              MhcPostTileLangKernel (hc_post; fused_post_pre at T > 32)
#   fused_post_pre        MhcFusedTileLangKernel, T <= 32: one config per band of
#                         mhc_fused_post_pre_split_config (tilelang_kernels.py:79-115; the single-pass
#                         config is SM100+ only)
#   hc_head               HcHeadFusedTileLangKernel
KERNELS = (
    "prenorm_gemm[T<128]", "prenorm_gemm[128<=T<1024]", "prenorm_gemm[T>=1024]",
    "pre_big_fuse[S=1]", "pre_big_fuse_with_norm[S=1]", "pre_big_fuse[S=fused]", "pre_big_fuse_with_norm[S=fused]",
    "mhc_post", "fused_post_pre[T<16]", "fused_post_pre[16<=T<=32]", "hc_head",
)


def force_hopper_cuda_platform():
    """State vLLM's CUDA platform as an H100/H200 presents it, before anything resolves it."""
    import vllm.platforms as platforms

    assert platforms._current_platform is None, "vLLM's platform was resolved before it could be forced"
    from vllm.platforms.cuda import CudaPlatform
    from vllm.platforms.interface import DeviceCapability

    class HopperCudaPlatform(CudaPlatform):
        @classmethod
        def get_device_capability(cls, device_id: int = 0):
            return DeviceCapability(major=9, minor=0)

        @classmethod
        def is_arch_support_pdl(cls) -> bool:
            return True

    platforms._current_platform = HopperCudaPlatform()
    return platforms.current_platform


def compile_keys(k, hidden: int):
    """(name, kernel owner, vLLM's compile key) for every configuration in KERNELS."""
    gemm = k._HC_PRENORM_GEMM_TILELANG_KERNEL
    for name, tokens in zip(KERNELS[:3], (1, 128, 1024)):
        yield name, gemm, gemm.dispatch(num_tokens=tokens, hc_hidden_size=N * hidden, hidden_size=hidden,
                                        hc_mult=N, n_out=N * N + 2 * N)
    configs = {k.mhc_fused_post_pre_split_config(t, hidden, N) for t in range(1, k._FUSED_POST_PRE_MAX_TOKENS + 1)}
    bands = (k.mhc_fused_post_pre_split_config(1, hidden, N), k.mhc_fused_post_pre_split_config(16, hidden, N))
    assert None not in configs and configs == set(bands), f"fused post+pre configs at T <= 32: {configs}"
    fused_splits = bands[0][1]
    assert fused_splits == bands[1][1]
    big = k._MHC_PRE_BIG_FUSE_TILELANG_KERNEL
    for name in KERNELS[3:7]:
        yield name, big, big.dispatch(hidden_size=hidden, hc_mult=N, n_splits=1 if "S=1" in name else fused_splits,
                                      is_broadcast=False, use_norm_weight="norm" in name, **EPS,
                                      sinkhorn_repeat=SINKHORN_REPEAT, norm_eps=NORM_EPS)
    post = k._MHC_POST_TILELANG_KERNEL
    yield "mhc_post", post, post.dispatch(hidden_size=hidden, hc_mult=N)
    fused = k._MHC_FUSED_TILELANG_KERNEL
    for name, tokens in zip(KERNELS[8:10], (1, 16)):
        yield name, fused, fused.dispatch(num_tokens=tokens, hidden_size=hidden, hc_mult=N)
    head = k._HC_HEAD_FUSED_TILELANG_KERNEL
    yield "hc_head", head, head.dispatch(hidden_size=hidden, hc_mult=N, rms_eps=EPS["rms_eps"], hc_eps=HC_EPS)


def _jit_impl(owner, key):
    try:
        return owner.kernel(key)
    except TypeError:  # owners with a single kernel take no key
        return owner.kernel()


def compile_one(owner, key):
    """vLLM's compile-only warmup for one key; returns the TileLang kernel it put in the JIT cache."""
    impl = _jit_impl(owner, key)
    before = set(impl._kernel_cache)
    owner.compile(key)
    new = [kernel for cache_key, kernel in impl._kernel_cache.items() if cache_key not in before]
    assert len(new) == 1, f"expected one new compiled kernel, got {len(new)}"
    return new[0]


def describe(kernel) -> dict:
    source = kernel.get_kernel_source()
    libpath = getattr(kernel.adapter, "libpath", None)
    artifact = getattr(kernel, "artifact", None)
    return dict(
        arch=str(kernel.target.attrs.get("arch", "")),
        source_chars=len(source),
        global_kernel="__global__" in source,
        pdl_sync=PDL_SYNC in source,
        pdl_trigger=PDL_TRIGGER in source,
        # a fresh build holds the runtime module (host code + cubin); a TileLang disk-cache hit, the library
        library=bool((artifact is not None and artifact.rt_mod is not None)
                     or (libpath and os.path.isfile(libpath))),
    )


def main(site: str, hidden: int) -> None:
    sys.path.insert(0, site)
    os.environ["TILELANG_DEFAULT_TARGET"] = json.dumps(TARGET)
    platform = force_hopper_cuda_platform()
    import vllm
    import vllm.model_executor.kernels.mhc.tilelang_kernels as k

    from vllm.tilelang_utils import _get_pass_configs

    print(json.dumps(dict(vllm=vllm.__version__, vllm_file=vllm.__file__, platform=type(platform).__name__,
                          is_cuda=platform.is_cuda(), enable_pdl=k.ENABLE_PDL,
                          pass_configs={str(getattr(key, "value", key)): value
                                        for key, value in _get_pass_configs().items()})), flush=True)
    for name, owner, key in compile_keys(k, hidden):
        start = time.perf_counter()
        row = dict(name=name, key=repr(key))
        try:
            row.update(describe(compile_one(owner, key)))
        except Exception as e:  # noqa: BLE001 - reported per kernel, the others still compile
            row["error"] = f"{type(e).__name__}: {e}"[-3000:]
        row["seconds"] = round(time.perf_counter() - start, 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
