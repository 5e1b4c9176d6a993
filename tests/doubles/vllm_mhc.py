"""TEST DOUBLE of vLLM's mHC kernel modules (``vllm.model_executor.kernels.mhc.{tilelang,
tilelang_kernels,triton,torch}`` and ``vllm.utils.deep_gemm``): the same entry points with the same
signatures and output conventions, computed by this suite's fp32 torch ops on the CPU. It checks
how the adapters call vLLM, never vLLM itself (``IS_TEST_DOUBLE``: the provenance says so).

Like the real TileLang kernels, the double launches nothing at T = 0 only where vLLM guards it
(hc_head); elsewhere it raises as an empty grid does, so an adapter that adds a guard vLLM lacks
is caught.
"""

from __future__ import annotations

import types

import torch

from mhc_kernels.torch_native import (TorchNativeBackend, hc_post_fp32, layer_input_fp32, mixes_fp32,
                                      prenorm_gemm_fp32)

_TORCH = TorchNativeBackend()


def _grid(t: int) -> None:
    if t == 0:
        raise RuntimeError("grid dimension must be positive (TEST DOUBLE of a TileLang launch)")


def _module(name: str, **functions) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.IS_TEST_DOUBLE = True
    mod.__file__ = __file__
    for key, fn in functions.items():
        if callable(fn) and not isinstance(fn, type):
            fn.__module__ = name
        setattr(mod, key, fn)
    return mod


# -- vllm.model_executor.kernels.mhc.tilelang -------------------------------------------------------
def mhc_pre_tilelang(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                     sinkhorn_repeat, n_splits=1, norm_weight=None, norm_eps=1e-6):
    _grid(residual.shape[0])
    return _TORCH.mhc_pre(residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                          hc_post_mult_value, sinkhorn_repeat, norm_eps, 1)


def mhc_post_tilelang(x, residual, post_layer_mix, comb_res_mix):
    _grid(residual.shape[0])
    return hc_post_fp32(x, residual, post_layer_mix, comb_res_mix)


def mhc_fused_post_pre_tilelang(x, residual, post_layer_mix, comb_res_mix, fn, hc_scale, hc_base, rms_eps,
                                hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, n_splits=1,
                                tile_n=1, norm_weight=None, norm_eps=1e-6):
    _grid(residual.shape[0])
    return _TORCH.fused_post_pre(x, residual, post_layer_mix, comb_res_mix, fn, hc_scale, hc_base, norm_weight,
                                 rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                 norm_eps, 1)


def hc_head_fused_kernel_tilelang(hs_flat, fn, hc_scale, hc_base, rms_eps, hc_eps):
    t, _, h = hs_flat.shape
    if t == 0:  # vLLM guards this one (tilelang.py: hc_head_fused_kernel_tilelang)
        return torch.empty(0, h, dtype=torch.bfloat16, device=hs_flat.device)
    return _TORCH.hc_head(hs_flat, fn, hc_scale, hc_base, rms_eps, hc_eps)


# -- vllm.model_executor.kernels.mhc.tilelang_kernels ------------------------------------------------
def _prenorm_gemm_kernel(x, fn, out, sqrsum, hidden_size, hc_mult, tile_n=12, n_thr=512, n_splits=1):
    assert out.shape[0] == n_splits and x.shape[1] == hc_mult * hidden_size
    _grid(x.shape[0])
    mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
    out.copy_(mixes)
    sqrsum.copy_(sq)


def _pre_big_fuse_kernel(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix, comb_mix,
                         layer_input, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                         norm_weight=None, norm_eps=1e-6):
    t, n, h = residual.shape
    _grid(t)
    post, comb, li = _TORCH.pre_big_fuse(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, norm_weight,
                                         rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                         norm_eps)
    post_mix.copy_(post.view(t, n))
    comb_mix.copy_(comb.view(t, n * n))
    layer_input.copy_(li)


# -- vllm.model_executor.kernels.mhc.triton -----------------------------------------------------------
def hc_collapse_triton(x, pre_mix):
    return layer_input_fp32(x, pre_mix)


def mhc_pre_mix_triton(gemm_out, sqrsum, hc_scale, hc_base, hc_mult, hc_hidden_size, rms_eps, hc_pre_eps):
    return mixes_fp32(gemm_out, sqrsum, hc_scale, hc_base, rms_eps, hc_pre_eps, 1.0, hc_hidden_size)[0]


def _hc_head_triton(hs_flat, fn, hc_scale, hc_base, out, hidden_size, rms_eps, hc_eps, hc_mult):
    if hs_flat.shape[0]:
        out.copy_(_TORCH.hc_head(hs_flat, fn, hc_scale, hc_base, rms_eps, hc_eps))


# -- vllm.model_executor.kernels.mhc.torch --------------------------------------------------------------
def mhc_pre_torch(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                  sinkhorn_repeat, n_splits=1):
    return _TORCH.mhc_pre(residual, fn, hc_scale, hc_base, None, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                          hc_post_mult_value, sinkhorn_repeat, 1e-6, 1)


def mhc_post_torch(x, residual, post_layer_mix, comb_res_mix):
    return hc_post_fp32(x, residual, post_layer_mix, comb_res_mix)


# -- vllm.utils.deep_gemm ----------------------------------------------------------------------------------
def tf32_hc_prenorm_gemm(x, fn, out, sqrsum, num_split):
    # TF32 products, as DeepGEMM's: fn rounded to 10 mantissa bits (x is bf16, exact in TF32)
    fn_tf32 = (fn.view(torch.int32) + 0x1000 & ~0x1FFF).view(torch.float32)
    mixes, sq = prenorm_gemm_fp32(x, fn_tf32, num_split)
    out.copy_(mixes)
    sqrsum.copy_(sq)


class _Kernel:
    """A callable object, as vLLM's JIT kernels (VllmTileLangJitKernel instances) are."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)


def modules(deep_gemm_selected: bool = False) -> dict[str, types.ModuleType]:
    """The doubles, keyed by the module each stands in for (``EngineBackend(modules=...)``)."""
    mhc = "vllm.model_executor.kernels.mhc"
    return {
        f"{mhc}.tilelang": _module(f"{mhc}.tilelang", mhc_pre_tilelang=mhc_pre_tilelang,
                                   mhc_post_tilelang=mhc_post_tilelang,
                                   mhc_fused_post_pre_tilelang=mhc_fused_post_pre_tilelang,
                                   hc_head_fused_kernel_tilelang=hc_head_fused_kernel_tilelang),
        f"{mhc}.tilelang_kernels": _module(f"{mhc}.tilelang_kernels",
                                           _HC_PRENORM_GEMM_TILELANG_KERNEL=_Kernel(_prenorm_gemm_kernel),
                                           _MHC_PRE_BIG_FUSE_TILELANG_KERNEL=_Kernel(_pre_big_fuse_kernel)),
        f"{mhc}.triton": _module(f"{mhc}.triton", hc_collapse_triton=hc_collapse_triton,
                                 mhc_pre_mix_triton=mhc_pre_mix_triton, _hc_head_triton=_hc_head_triton),
        f"{mhc}.torch": _module(f"{mhc}.torch", mhc_pre_torch=mhc_pre_torch, mhc_post_torch=mhc_post_torch),
        "vllm.utils.deep_gemm": _module("vllm.utils.deep_gemm", tf32_hc_prenorm_gemm=tf32_hc_prenorm_gemm,
                                        is_deep_gemm_supported=lambda: deep_gemm_selected,
                                        has_deep_gemm=lambda: True),
    }
