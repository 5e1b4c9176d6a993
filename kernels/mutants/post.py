"""Planted bugs in hc_post (and the post half of the fused post+pre)."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import Mutant


class _Post(Mutant):
    family = "hc_post"
    ops = ("hc_post", "fused_post_pre")


def _post32(x, residual, post_mix, comb_mix):
    return torch.einsum("tij,tih->tjh", comb_mix, residual.float()) + post_mix * x.float().unsqueeze(1)


class CombTransposed(_Post):
    """comb[i, j] read as comb[j, i]."""
    name = "mut-post-comb-transposed"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix, comb_mix.transpose(-1, -2).contiguous())


class PostWrongStream(_Post):
    """post weight of stream j applied to stream j+1."""
    name = "mut-post-wrong-stream"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix.roll(1, dims=1), comb_mix)


class TruncatingRound(_Post):
    """fp32 -> bf16 by truncation instead of round-to-nearest-even."""
    name = "mut-post-bf16-truncation"

    def _post(self, x, residual, post_mix, comb_mix):
        v = _post32(x, residual, post_mix, comb_mix)
        return (v.view(torch.int32) & ~0xFFFF).view(torch.float32).to(torch.bfloat16)


class DoubleRounding(_Post):
    """fp32 -> fp16 -> bf16: rounded twice."""
    name = "mut-post-double-rounding"

    def _post(self, x, residual, post_mix, comb_mix):
        v = _post32(x, residual, post_mix, comb_mix)
        m, e = torch.frexp(v)
        v = torch.ldexp(torch.round(torch.ldexp(m, torch.full_like(e, 11))), e - 11)  # an 11-bit intermediate
        return v.to(torch.bfloat16)


class ResidualNotMixed(_Post):
    """comb applied as the identity (the residual passes through unmixed)."""
    name = "mut-post-identity-comb"

    def _post(self, x, residual, post_mix, comb_mix):
        eye = torch.eye(comb_mix.shape[-1], device=comb_mix.device).expand_as(comb_mix)
        return super()._post(x, residual, post_mix, eye)
