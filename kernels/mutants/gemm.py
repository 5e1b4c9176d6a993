"""Planted bugs in the prenorm GEMM + sum of squares."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant, round_mantissa
from mhc_kernels.torch_native import prenorm_gemm_fp32

GEMM_OPS = ("prenorm_gemm", "mhc_pre", "fused_post_pre", "hc_head")


class _Gemm(Mutant):
    family = "prenorm_gemm"
    ops = GEMM_OPS


class DropLastSplit(_Gemm):
    """The last split-K partial is never written (left zero)."""
    name = "mut-gemm-drop-last-split"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        mixes[-1], sq[-1] = 0, 0
        return mixes, sq


class SqrsumOverH(_Gemm):
    """The sum of squares covers the first H columns only, not n*H."""
    name = "mut-gemm-sqrsum-over-h"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        n = fn.shape[0]
        n = int(round((n + 1) ** 0.5)) - 1 if n > 8 else n
        keep = x.shape[1] // max(n, 1)
        sq_h = x.float()[:, :keep].square().sum(-1)
        sq.zero_()
        sq[0] = sq_h
        return mixes, sq


class HiddenTailOffByOne(_Gemm):
    """The loop over K stops one column early: the last column of each split is dropped."""
    name = "mut-gemm-tail-off-by-one"

    def _gemm(self, x, fn, n_splits):
        k = x.shape[1] // n_splits
        mask = torch.ones(x.shape[1], device=x.device)
        mask[k - 1::k] = 0
        return prenorm_gemm_fp32((x.float() * mask).to(x.dtype), fn, n_splits)


class Tf32Gemm(_Gemm):
    """fn enters the products rounded to TF32 while fp32 is declared."""
    name = "mut-gemm-tf32"
    imitates = "a TF32 tensor-core GEMM behind an fp32 declaration"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x, round_mantissa(fn, 11), n_splits)


class Bf16Gemm(_Gemm):
    """fn enters the products rounded to bf16 while fp32 is declared."""
    name = "mut-gemm-bf16"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x, fn.to(torch.bfloat16).float(), n_splits)


class Bf16Partials(_Gemm):
    """Split-K partials stored in bf16 precision."""
    name = "mut-gemm-bf16-partials"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        return mixes.to(torch.bfloat16).float(), sq


class NormWeightIgnored(Mutant):
    """The fused RMSNorm weight is ignored (unit weight)."""
    name = "mut-pre-norm-weight-ignored"
    family = "prenorm_gemm"
    ops = PRE_OPS

    def _norm(self, layer_input, norm_weight, norm_eps):
        return super()._norm(layer_input, torch.ones_like(norm_weight), norm_eps)


class NormWithoutRounding(Mutant):
    """RMSNorm applied to the fp32 collapse before it is rounded to bf16 (the engine rounds first)."""
    name = "mut-pre-norm-unrounded"
    family = "prenorm_gemm"
    ops = PRE_OPS

    def _collapse(self, residual, weights):
        self._last = (weights.unsqueeze(-1) * residual.float()).sum(1)
        return self._last.to(torch.bfloat16)

    def _norm(self, layer_input, norm_weight, norm_eps):
        v = self._last
        return (v * torch.rsqrt(v.square().mean(-1, keepdim=True) + norm_eps) * norm_weight.float()).to(torch.bfloat16)
