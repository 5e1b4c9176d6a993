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


class XNotScaled(_Post):
    """x is added unscaled: post weights taken as 1."""
    name = "mut-post-x-unscaled"
    imitates = "the post multiply dropped from the epilogue"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, torch.ones_like(post_mix), comb_mix)


class PostSquared(_Post):
    """x is scaled by post * post."""
    name = "mut-post-post-squared"
    imitates = "the post multiplier applied by both the mixes and hc_post"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix * post_mix, comb_mix)


class XSubtracted(_Post):
    """post * x is subtracted instead of added."""
    name = "mut-post-x-subtracted"
    imitates = "a sign error in the epilogue"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, -post_mix, comb_mix)


class ResidualOfStream0(_Post):
    """Every input stream reads residual stream 0."""
    name = "mut-post-residual-stream0"
    imitates = "a stream stride of 0"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual[:, :1].expand_as(residual), post_mix, comb_mix)


class InputStreamsReversed(_Post):
    """Input stream i is read from residual stream n-1-i."""
    name = "mut-post-input-streams-reversed"
    imitates = "a stream loop counting down over a pointer that counts up"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual.flip(1), post_mix, comb_mix)


class OutputStreamsShifted(_Post):
    """Output stream j is written to slot j+1 (the last to slot 0)."""
    name = "mut-post-output-shifted"
    imitates = "an output stream index off by one (modulo n)"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix, comb_mix).roll(1, dims=1)


class LastInputStreamSkipped(_Post):
    """The sum over input streams stops at n-1."""
    name = "mut-post-last-input-skipped"
    imitates = "for (i = 0; i < n - 1; ++i)"

    def _post(self, x, residual, post_mix, comb_mix):
        comb = comb_mix.clone()
        comb[:, -1, :] = 0
        return super()._post(x, residual, post_mix, comb)


class CombBf16(_Post):
    """comb_mix is rounded to bf16 before the multiply."""
    name = "mut-post-comb-bf16"
    imitates = "fp32 comb weights loaded through a bf16 pointer cast"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix, comb_mix.to(torch.bfloat16).float())


class PostMixBf16(_Post):
    """post_mix is rounded to bf16 before the multiply."""
    name = "mut-post-post-bf16"
    imitates = "fp32 weights loaded through a bf16 pointer cast"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix.to(torch.bfloat16).float(), comb_mix)


class XThroughFp16(_Post):
    """x is loaded as fp16: inf past 65504, subnormal or 0 below 2^-14."""
    name = "mut-post-x-fp16"
    imitates = "an fp16 load of bf16 activations"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x.to(torch.float16).float(), residual, post_mix, comb_mix)


class Bf16Accumulation(_Post):
    """Each term is rounded to bf16 and the sum accumulates in bf16."""
    name = "mut-post-bf16-accumulate"
    imitates = "an accumulator declared in the output dtype"

    def _post(self, x, residual, post_mix, comb_mix):
        acc = (post_mix * x.float().unsqueeze(1)).to(torch.bfloat16)
        for i in range(residual.shape[1]):
            acc = acc + (comb_mix[:, i, :, None] * residual[:, i:i + 1].float()).to(torch.bfloat16)
        return acc


class MixedRoundedFirst(_Post):
    """The comb-mixed residual is rounded to bf16 before post * x is added: rounded twice."""
    name = "mut-post-mixed-rounded-first"
    imitates = "two kernels with a bf16 tensor between them"

    def _post(self, x, residual, post_mix, comb_mix):
        mixed = torch.einsum("tij,tih->tjh", comb_mix, residual.float()).to(torch.bfloat16).float()
        return (mixed + post_mix * x.float().unsqueeze(1)).to(torch.bfloat16)


class XProductBf16(_Post):
    """post * x is computed in bf16 (rounded) before the fp32 add."""
    name = "mut-post-x-product-bf16"
    imitates = "a bf16 multiply where the operands were not upcast"

    def _post(self, x, residual, post_mix, comb_mix):
        px = (post_mix.to(torch.bfloat16) * x.unsqueeze(1)).float()
        return (torch.einsum("tij,tih->tjh", comb_mix, residual.float()) + px).to(torch.bfloat16)


class PostOfToken0(_Post):
    """Every token uses the post weights of token 0."""
    name = "mut-post-post-token0"
    imitates = "a token stride of 0 passed for post_mix"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix[:1].expand_as(post_mix), comb_mix)


class CombOfToken0(_Post):
    """Every token uses the comb mix of token 0."""
    name = "mut-post-comb-token0"
    imitates = "a token stride of 0 passed for comb_mix"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x, residual, post_mix, comb_mix[:1].expand_as(comb_mix))


class XOfNextToken(_Post):
    """Token t adds the x of token t+1 (the last token that of token 0)."""
    name = "mut-post-x-next-token"
    imitates = "a token index off by one in x's address"

    def _post(self, x, residual, post_mix, comb_mix):
        return super()._post(x.roll(-1, dims=0), residual, post_mix, comb_mix)


class HiddenTailUnmixed(_Post):
    """When H is not a multiple of 64, the columns past the last full tile pass the residual through."""
    name = "mut-post-hidden-tail-unmixed"
    imitates = "a scalar tail loop that copies instead of mixing"

    def _post(self, x, residual, post_mix, comb_mix):
        out = super()._post(x, residual, post_mix, comb_mix)
        tail = (out.shape[-1] // 64) * 64
        out[..., tail:] = residual[..., tail:]
        return out
