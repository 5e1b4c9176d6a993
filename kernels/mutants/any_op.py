"""Planted bugs that any op can have: unwritten tails, NaN laundering, size-dependent failures."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import Mutant


class _Any(Mutant):
    family = "any op"
    ops = ("hc_post", "fused_post_pre")


class TailTokensUnwritten(_Any):
    """The last token of a T that is not a multiple of 64 is never written (garbage stays)."""
    name = "mut-any-tail-unwritten"

    def _post(self, x, residual, post_mix, comb_mix):
        out = super()._post(x, residual, post_mix, comb_mix)
        if out.shape[0] % 64:
            out[-1] = float("nan")
        return out


class NanToZero(_Any):
    """NaN outputs replaced by zero (hides a NaN input)."""
    name = "mut-any-nan-to-zero"

    def _post(self, x, residual, post_mix, comb_mix):
        return torch.nan_to_num(super()._post(x, residual, post_mix, comb_mix), nan=0.0)


class WrongOnlyAtLargeT(_Any):
    """Correct below 65 536 tokens, a row off beyond (an int32-offset bug)."""
    name = "mut-any-large-t"
    cpu_killable = False

    def _post(self, x, residual, post_mix, comb_mix):
        out = super()._post(x, residual, post_mix, comb_mix)
        if out.shape[0] >= 65_536:
            out[-1] = out[0]
        return out


class WrongOnlyAtH7168(_Any):
    """Correct except at H = 7168, where the last hidden column is dropped."""
    name = "mut-any-h7168"
    cpu_killable = False

    def _post(self, x, residual, post_mix, comb_mix):
        out = super()._post(x, residual, post_mix, comb_mix)
        if out.shape[-1] == 7168:
            out[..., -1] = 0
        return out
