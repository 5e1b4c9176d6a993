"""A TEST DOUBLE of aiter's mHC call surface: it records every call and computes outputs with the
torch fp32 fallback so the adapter's marshalling can be checked on a CPU. It validates nothing
about aiter itself, and the backend labels it as a double wherever it appears."""

from __future__ import annotations

import torch

from mhc_kernels.torch_native import (hc_post_fp32, layer_input_fp32, mixes_fp32, prenorm_gemm_fp32,
                                      rms_norm_bf16, sinkhorn_fp32)

IS_TEST_DOUBLE = True
__version__ = "0.1.14"
__name__ = "aiter_test_double"
calls: list[tuple[str, list]] = []


def _record(name, *args):
    calls.append((name, [(tuple(a.shape), a.dtype, tuple(a.stride())) if isinstance(a, torch.Tensor) else a
                         for a in args]))


def mhc_pre_gemm_sqrsum(out, sqrsum, x, fn, tile_k=128):
    _record("mhc_pre_gemm_sqrsum", out, sqrsum, x, fn, tile_k)
    assert tile_k in (64, 128)
    mixes, sq = prenorm_gemm_fp32(x, fn, out.shape[0])
    out.copy_(mixes)
    sqrsum.copy_(sq)


def _big_fuse(post_mix, comb_mix, layer_input, mul, sq, scale, base, residual, rms_eps, pre_eps, sk_eps, post_mult,
              repeat, norm_weight=None, norm_eps=0.0):
    t, n, h = residual.shape
    pre, post, logits = mixes_fp32(mul, sq, scale, base, rms_eps, pre_eps, post_mult, n * h)
    post_mix.copy_(post.unsqueeze(-1))
    comb_mix.copy_(sinkhorn_fp32(logits, repeat, sk_eps))
    li = layer_input_fp32(residual, pre)
    layer_input.copy_(li if norm_weight is None else rms_norm_bf16(li, norm_weight, norm_eps))


def mhc_pre_big_fuse(post_mix, comb_mix, layer_input, mul, sq, scale, base, residual, rms_eps=1e-6, pre_eps=1e-6,
                     sk_eps=1e-6, post_mult=1.0, repeat=20):
    _record("mhc_pre_big_fuse", post_mix, comb_mix, layer_input, mul, sq, scale, base, residual, rms_eps, pre_eps,
            sk_eps, post_mult, repeat)
    _big_fuse(post_mix, comb_mix, layer_input, mul, sq, scale, base, residual, rms_eps, pre_eps, sk_eps, post_mult,
              repeat)


def mhc_pre_big_fuse_rmsnorm(post_mix, comb_mix, out, mul, sq, scale, base, residual, norm_weight, rms_eps=1e-6,
                             pre_eps=1e-6, sk_eps=1e-6, norm_eps=1e-6, post_mult=1.0, repeat=20):
    _record("mhc_pre_big_fuse_rmsnorm", post_mix, comb_mix, out, mul, sq, scale, base, residual, norm_weight,
            rms_eps, pre_eps, sk_eps, norm_eps, post_mult, repeat)
    _big_fuse(post_mix, comb_mix, out, mul, sq, scale, base, residual, rms_eps, pre_eps, sk_eps, post_mult, repeat,
              norm_weight, norm_eps)


def mhc_pre(residual, fn, scale, base, rms_eps=1e-6, pre_eps=1e-6, sk_eps=1e-6, post_mult=1.0, repeat=20,
            norm_weight=None, norm_eps=1e-6):
    _record("mhc_pre", residual, fn, scale, base, rms_eps, pre_eps, sk_eps, post_mult, repeat, norm_weight, norm_eps)
    t, n, h = residual.shape
    mul, sq = prenorm_gemm_fp32(residual.reshape(t, n * h), fn, 1)
    post = torch.empty(t, n, 1)
    comb = torch.empty(t, n, n)
    li = torch.empty(t, h, dtype=torch.bfloat16)
    _big_fuse(post, comb, li, mul, sq, scale, base, residual, rms_eps, pre_eps, sk_eps, post_mult, repeat,
              norm_weight, norm_eps)
    return post, comb, li


def mhc_post(out, x, residual, post_layer_mix, comb_res_mix, store_nt=-1):
    _record("mhc_post", out, x, residual, post_layer_mix, comb_res_mix, store_nt)
    out.copy_(hc_post_fp32(x, residual, post_layer_mix, comb_res_mix))


def mhc_fused_post_pre(layer_input, residual_in, post_layer_mix, comb_res_mix, fn, scale, base, rms_eps=1e-6,
                       pre_eps=1e-6, sk_eps=1e-6, post_mult=1.0, repeat=20, norm_weight=None, norm_eps=1e-6,
                       force_fused=False):
    _record("mhc_fused_post_pre", layer_input, residual_in, post_layer_mix, comb_res_mix, fn, scale, base)
    nxt = hc_post_fp32(layer_input, residual_in, post_layer_mix, comb_res_mix)
    post, comb, li = mhc_pre(nxt, fn, scale, base, rms_eps, pre_eps, sk_eps, post_mult, repeat, norm_weight,
                             norm_eps)
    return post, comb, li, nxt
