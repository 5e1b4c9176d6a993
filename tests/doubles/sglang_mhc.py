"""TEST DOUBLE of SGLang's mHC kernel modules (``sglang.kernels.ops.layernorm.{mhc,mhc_head,
mhc_post_split_h}``): the same entry points with the same signatures, asserts and buffer
conventions, computed by this suite's torch ops on the CPU. It checks how the adapters call SGLang,
never SGLang itself (``IS_TEST_DOUBLE``: the provenance says so).

Like SGLang's kernels, the double raises where SGLang's code raises: mhc_pre's split-K GEMM up to
2048 tokens only for n*H in {16384, 28672}, a launch with zero tokens where SGLang has no guard
(mhc_pre, mhc_post, the big fuse), so an adapter that adds a guard SGLang lacks, or calls outside a
declared constraint, is caught. ``gemm="tf32"`` (the default) rounds fn to TF32 as the TileLang
GEMM's tensor cores do; ``gemm="fp32"`` makes a double whose TF32 declaration is merely loose.
"""

from __future__ import annotations

import types

import torch

from mhc_kernels.torch_native import TorchNativeBackend, hc_post_fp32, layer_input_fp32, prenorm_gemm_fp32

_TORCH = TorchNativeBackend()
MHC = "sglang.kernels.ops.layernorm.mhc"
MHC_HEAD = "sglang.kernels.ops.layernorm.mhc_head"
POST_SPLIT_H = "sglang.kernels.ops.layernorm.mhc_post_split_h"


def _grid(t: int) -> None:
    if t == 0:
        raise RuntimeError("grid dimension must be positive (TEST DOUBLE of a TileLang launch)")


def _tf32(fn: torch.Tensor) -> torch.Tensor:
    return (fn.view(torch.int32) + 0x1000 & ~0x1FFF).view(torch.float32)


def _module(name: str, **functions) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.IS_TEST_DOUBLE = True
    mod.__file__ = __file__
    for key, fn in functions.items():
        setattr(mod, key, fn)
    return mod


def modules(gemm: str = "tf32") -> dict[str, types.ModuleType]:
    """The doubles, keyed by the module each stands in for (``EngineBackend(modules=...)``)."""
    fn_in_gemm = _tf32 if gemm == "tf32" else (lambda fn: fn)

    def _gemm(x, fn, splits):
        return prenorm_gemm_fp32(x, fn_in_gemm(fn), splits)

    def _finish(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps):
        return _TORCH.pre_big_fuse(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                                   hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                   1e-6 if norm_eps is None else norm_eps)

    # -- mhc.py -----------------------------------------------------------------------------------------
    def mhc_pre(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                sinkhorn_repeat, n_splits=1, n_splits_pre=32, *, norm_weight=None, norm_eps=None):
        t, n, h = residual.shape
        if t <= 2048:
            assert n_splits == 1
            if n * h not in (16384, 28672):
                raise NotImplementedError(f"mhc_pre splitk kernel only supports hc_hidden_size in "
                                          f"{{16384, 28672}}, got {n * h}")
        _grid(t)
        mixes, sqrsum = _gemm(residual.reshape(t, n * h), fn, 1)
        return _finish(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                       hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)

    def _gemm_sqrsum(x, fn, out, sqrsum, hc_mult3, hc_hidden_size, token_block=32, hidden_block=256):
        assert hc_mult3 <= 32 and hc_hidden_size % hidden_block == 0
        assert out.shape == (x.shape[0], hc_mult3) and sqrsum.shape == (x.shape[0],)
        _grid(x.shape[0])
        mixes, sq = _gemm(x, fn, 1)
        out.copy_(mixes[0])
        sqrsum.copy_(sq[0])

    def _mhc_pre_gemm_sqrsum_dispatch():
        return _gemm_sqrsum

    def _big_fuse(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix, comb_mix, layer_input,
                  norm_weight, hidden_size, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                  sinkhorn_repeat, norm_eps, n_splits, hc_mult, gemm_last_dim):
        t = residual.shape[0]
        assert gemm_out_mul.shape == (n_splits, t, gemm_last_dim) and residual.shape[1:] == (hc_mult, hidden_size)
        _grid(t)
        post, comb, li = _finish(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps,
                                 hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)
        post_mix.copy_(post.view(post_mix.shape))
        comb_mix.copy_(comb.view(comb_mix.shape))
        layer_input.copy_(li)

    def mhc_pre_big_fuse_tilelang(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix, comb_mix,
                                  layer_input, hidden_size, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                                  sinkhorn_repeat, n_splits=16, hc_mult=4, gemm_last_dim=-1):
        _big_fuse(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix, comb_mix, layer_input, None,
                  hidden_size, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, None,
                  n_splits, hc_mult, gemm_last_dim)

    def mhc_pre_big_fuse_with_norm_tilelang(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix,
                                            comb_mix, layer_input, norm_weight, hidden_size, rms_eps, hc_pre_eps,
                                            hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps,
                                            n_splits=16, hc_mult=4, gemm_last_dim=-1):
        _big_fuse(gemm_out_mul, gemm_out_sqrsum, hc_scale, hc_base, residual, post_mix, comb_mix, layer_input,
                  norm_weight, hidden_size, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                  sinkhorn_repeat, norm_eps, n_splits, hc_mult, gemm_last_dim)

    def mhc_post(x, residual, post_layer_mix, comb_res_mix):
        _grid(x.shape[0])
        t, n, _ = residual.shape
        return hc_post_fp32(x, residual, post_layer_mix.reshape(t, n, 1), comb_res_mix)

    def mhc_fused_post_pre(x, residual, post_layer_mix, comb_res_mix, fn, hc_scale, hc_base, rms_eps, hc_pre_eps,
                           hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, n_splits=1, tile_n=1, *,
                           norm_weight=None, norm_eps=None):
        t, n, h = residual.shape
        assert post_layer_mix.shape in ((t, n, 1), (t, n))
        if t == 0:  # SGLang guards this one (mhc.py:1670)
            return (torch.empty_like(residual), torch.empty(0, n, 1), torch.empty(0, n, n),
                    torch.empty(0, h, dtype=torch.bfloat16))
        new_residual = hc_post_fp32(x, residual, post_layer_mix.reshape(t, n, 1), comb_res_mix)
        mixes, sqrsum = _gemm(new_residual.reshape(t, n * h), fn, 1)
        post, comb, li = _finish(mixes, sqrsum, hc_scale, hc_base, new_residual, norm_weight, rms_eps, hc_pre_eps,
                                 hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)
        return new_residual, post, comb, li

    def hc_split_sinkhorn(mixes, hc_scale, hc_base, hc_mult=4, sinkhorn_iters=20, eps=1e-6):
        b, s, _ = mixes.shape
        if b * s == 0:  # SGLang guards this one (mhc.py:436)
            return (mixes.new_empty(b, s, hc_mult), mixes.new_empty(b, s, hc_mult),
                    mixes.new_empty(b, s, hc_mult, hc_mult))
        n = hc_mult
        flat = mixes.reshape(b * s, -1)
        pre = torch.sigmoid(flat[:, :n] * hc_scale[0] + hc_base[:n]) + eps
        post = 2 * torch.sigmoid(flat[:, n:2 * n] * hc_scale[1] + hc_base[n:2 * n])
        logits = (flat[:, 2 * n:] * hc_scale[2] + hc_base[2 * n:]).view(-1, n, n)
        comb = _TORCH._sinkhorn(logits, sinkhorn_iters, eps)
        return pre.view(b, s, n), post.view(b, s, n), comb.view(b, s, n, n)

    def mhc_combine(x_flat, pre, hc, out_dtype):
        assert x_flat.stride(1) == 1
        m = x_flat.shape[0]
        return layer_input_fp32(x_flat.view(m, hc, x_flat.shape[1] // hc), pre).to(out_dtype)

    def _mhc_pre_torch(residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                       sinkhorn_repeat):
        return _TORCH.mhc_pre(residual, fn, hc_scale, hc_base, None, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                              hc_post_mult_value, sinkhorn_repeat, 1e-6, 1)

    def _mhc_post_torch(x, residual, post_layer_mix, comb_res_mix):
        return hc_post_fp32(x, residual, post_layer_mix, comb_res_mix)

    # -- mhc_head.py ---------------------------------------------------------------------------------------
    def fused_hc_head(x, hc_fn, hc_scale, hc_base, norm_eps, hc_eps):
        assert x.is_contiguous() and hc_fn.is_contiguous() and x.dim() == 3
        return _TORCH.hc_head(x, hc_fn, hc_scale, hc_base, norm_eps, hc_eps)

    # -- mhc_post_split_h.py -------------------------------------------------------------------------------------
    def mhc_post_split_h(x, residual, post, comb, *, block_size=None):
        assert residual.shape == (x.shape[0], 4, x.shape[1])
        assert all(t.is_contiguous() for t in (x, residual, post, comb))
        return hc_post_fp32(x, residual, post.view(x.shape[0], 4, 1), comb)

    return {
        MHC: _module(MHC, mhc_pre=mhc_pre, _mhc_pre_gemm_sqrsum_dispatch=_mhc_pre_gemm_sqrsum_dispatch,
                     mhc_pre_big_fuse_tilelang=mhc_pre_big_fuse_tilelang,
                     mhc_pre_big_fuse_with_norm_tilelang=mhc_pre_big_fuse_with_norm_tilelang, mhc_post=mhc_post,
                     mhc_fused_post_pre=mhc_fused_post_pre, hc_split_sinkhorn=hc_split_sinkhorn,
                     mhc_combine=mhc_combine, _mhc_pre_torch=_mhc_pre_torch, _mhc_post_torch=_mhc_post_torch),
        MHC_HEAD: _module(MHC_HEAD, fused_hc_head=fused_hc_head),
        POST_SPLIT_H: _module(POST_SPLIT_H, mhc_post_split_h=mhc_post_split_h),
    }
