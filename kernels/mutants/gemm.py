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


def _xs(x, n_splits):
    """x as fp32 split-K slices [S, T, K/S]."""
    t, k = x.shape
    return x.float().view(t, n_splits, k // n_splits).transpose(0, 1)


class SqrsumOfAbs(_Gemm):
    """The "sum of squares" sums |x| instead of x*x."""
    name = "mut-gemm-sqrsum-abs"
    imitates = "an L1 reduction template reused for the sum of squares"

    def _gemm(self, x, fn, n_splits):
        mixes, _ = prenorm_gemm_fp32(x, fn, n_splits)
        return mixes, _xs(x, n_splits).abs().sum(-1)


class PartialToNextSlot(_Gemm):
    """Split s is written to slot s+1; slot 0 keeps split 0, so split 0 counts twice and the last is lost."""
    name = "mut-gemm-partial-next-slot"
    imitates = "an output offset computed from (split + 1)"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        return torch.cat([mixes[:1], mixes[:-1]]), torch.cat([sq[:1], sq[:-1]])


class SqrsumFirstSplitRepeated(_Gemm):
    """Every split's sum-of-squares partial is split 0's."""
    name = "mut-gemm-sqrsum-first-split"
    imitates = "the sqrsum store indexed with a split id that is always 0"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        return mixes, sq[:1].expand_as(sq).contiguous()


class FnRowsSwapped(_Gemm):
    """Rows 0 and 1 of fn are exchanged (mixes 0 and 1 land in each other's columns)."""
    name = "mut-gemm-fn-rows-swapped"
    imitates = "a permuted row order of a repacked weight"

    def _gemm(self, x, fn, n_splits):
        order = torch.arange(fn.shape[0], device=fn.device)
        order[:2] = order[:2].flip(0)
        return prenorm_gemm_fp32(x, fn[order], n_splits)


class LastMixNegated(_Gemm):
    """The last mix (the last comb logit) comes out with its sign flipped."""
    name = "mut-gemm-last-mix-negated"
    imitates = "a sign error in one lane of the epilogue"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        mixes[..., -1] = -mixes[..., -1]
        return mixes, sq


class FnSplitsReversed(_Gemm):
    """Split s of x is multiplied by split S-1-s of fn."""
    name = "mut-gemm-fn-splits-reversed"
    imitates = "the fn tile offset computed from the reversed split index"

    def _gemm(self, x, fn, n_splits):
        m, k = fn.shape
        return prenorm_gemm_fp32(x, fn.view(m, n_splits, k // n_splits).flip(1).reshape(m, k), n_splits)


class KTailIgnored(_Gemm):
    """When K/S is not a multiple of the 64-wide K tile, the columns past the last full tile are skipped."""
    name = "mut-gemm-k-tail-ignored"
    imitates = "a K loop of K // BLOCK_K iterations with no tail"

    def _gemm(self, x, fn, n_splits):
        ks = x.shape[1] // n_splits
        keep = (torch.arange(x.shape[1], device=x.device) % ks) < (ks // 64) * 64
        return prenorm_gemm_fp32(torch.where(keep, x, torch.zeros_like(x)), fn, n_splits)


class SplitBoundaryOverlap(_Gemm):
    """Each split but the last also reads the first column of the next split (counted twice in the sum)."""
    name = "mut-gemm-split-overlap"
    imitates = "an inclusive split end (k <= end instead of k < end)"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        cols = torch.arange(1, n_splits, device=x.device) * (x.shape[1] // n_splits)
        xc = x.float()[:, cols].T  # [S-1, T]
        mixes[:-1] += xc.unsqueeze(-1) * fn[:, cols].T.unsqueeze(1)
        sq[:-1] += xc.square()
        return mixes, sq


class SquaresInBf16(_Gemm):
    """x*x is computed in bf16 (each square rounded to bf16) before the fp32 sum."""
    name = "mut-gemm-squares-bf16"
    imitates = "squaring in the input dtype before the upcast"

    def _gemm(self, x, fn, n_splits):
        mixes, _ = prenorm_gemm_fp32(x, fn, n_splits)
        t, k = x.shape
        sq = (x * x).float().view(t, n_splits, k // n_splits).sum(-1).T.contiguous()
        return mixes, sq


class XThroughFp16(_Gemm):
    """x is loaded as fp16: overflows to inf past 65504 and flushes below 2^-24."""
    name = "mut-gemm-x-fp16"
    imitates = "an fp16 load of bf16 activations (wrong dtype in the kernel signature)"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x.to(torch.float16).float(), fn, n_splits)


class SqrsumPartialsBf16(_Gemm):
    """The sum-of-squares partials are stored in bf16."""
    name = "mut-gemm-sqrsum-bf16"
    imitates = "a partials buffer allocated in the activation dtype"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        return mixes, sq.to(torch.bfloat16).float()


class PartialsAveraged(_Gemm):
    """Each split-K partial is divided by S (a mean where a sum is due)."""
    name = "mut-gemm-partials-averaged"
    imitates = "a split-K epilogue taken from a mean-reduction template"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        return mixes / n_splits, sq / n_splits


class MTailDropped(_Gemm):
    """When fn's row count (n*n + 2n; n for the head) is not a multiple of 8, the rows past the last full
    8-row tile give 0."""
    name = "mut-gemm-m-tail-dropped"
    imitates = "an M loop with no tail (correct for n = 2, 4, 6, 8 only)"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        mixes[..., (fn.shape[0] // 8) * 8:] = 0
        return mixes, sq


class SqrsumPairsExchanged(_Gemm):
    """Tokens 2i and 2i+1 exchange their sums of squares."""
    name = "mut-gemm-sqrsum-pairs-exchanged"
    imitates = "aiter < 0.1.14's mhc_pre_gemm_sqrsum race (ROCm/aiter PR 3033), made deterministic"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = prenorm_gemm_fp32(x, fn, n_splits)
        pairs = sq.shape[1] // 2 * 2
        sq[:, :pairs] = sq[:, :pairs].reshape(sq.shape[0], -1, 2).flip(-1).reshape(sq.shape[0], pairs)
        return mixes, sq
