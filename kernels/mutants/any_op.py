"""Planted bugs that any op can have: unwritten tails, NaN laundering, size-dependent failures."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant


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


# The rest change layer_input's collapse (the cheapest op to judge; hc_head and the fused pre ops
# call the same step), except where another op's path is the point.
class _AnyLi(Mutant):
    family = "any op"
    ops = ("layer_input", "hc_head") + PRE_OPS


class TailBlockZero(_AnyLi):
    """Tokens past the last full 64-token block are left zero (a zero-initialised output)."""
    name = "mut-any-tail-block-zero"
    imitates = "a grid of T // 64 blocks instead of ceil(T / 64)"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[(out.shape[0] // 64) * 64:] = 0
        return out


class FirstTokenZeroed(_AnyLi):
    """Token 0's output is zero."""
    name = "mut-any-first-token-zeroed"
    imitates = "a loop starting at token 1"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[:1] = 0
        return out


class LastTokenDuplicated(_AnyLi):
    """The last token's output is a copy of the previous token's."""
    name = "mut-any-last-token-duplicated"
    imitates = "a clamped token index min(t, T - 2)"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        if out.shape[0] >= 2:
            out[-1] = out[-2]
        return out


class BlocksSwapped(_AnyLi):
    """Token blocks 0 and 1 (64 tokens each) are written to each other's place when T >= 128."""
    name = "mut-any-blocks-swapped"
    imitates = "a block swizzle applied to the store but not to the load"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        if out.shape[0] >= 128:
            out[:128] = torch.cat([out[64:128], out[:64]])
        return out


class OddTokensCopyEven(_AnyLi):
    """Each odd token gets the output of the even token before it."""
    name = "mut-any-odd-tokens-copy-even"
    imitates = "two tokens per thread, the second one's address not advanced"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[1::2] = out[0:out.shape[0] - 1:2]
        return out


class WrapsAt256Tokens(_AnyLi):
    """Token t >= 256 gets the output of token t - 256."""
    name = "mut-any-wraps-at-256-tokens"
    imitates = "a token offset kept in a uint8 block counter"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        for start in range(256, out.shape[0], 256):
            rows = out[start:start + 256].shape[0]
            out[start:start + rows] = out[start - 256:start - 256 + rows]
        return out


class HiddenWrapsAt256(_AnyLi):
    """Hidden column c >= 256 gets the value of column c - 256 (one H tile, reused)."""
    name = "mut-any-hidden-wraps-at-256"
    imitates = "a loop over H tiles that never advances the column offset"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        for start in range(256, out.shape[1], 256):
            cols = out[:, start:start + 256].shape[1]
            out[:, start:start + cols] = out[:, start - 256:start - 256 + cols]
        return out


class WrongOnlyAtH257(_AnyLi):
    """Correct except at H = 257, where the last hidden column is zero."""
    name = "mut-any-h257"
    imitates = "a specialised kernel for one hidden size (like mut-any-h7168, at a CPU size)"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        if out.shape[1] == 257:
            out[:, -1] = 0
        return out


class SmallHiddenTruncates(_AnyLi):
    """For H < 64 the output is rounded to bf16 by truncation (a separate small-H path)."""
    name = "mut-any-small-h-truncates"
    imitates = "a fallback kernel for narrow rows with a different conversion"

    def _collapse(self, residual, weights):
        if residual.shape[2] >= 64:
            return super()._collapse(residual, weights)
        v = (weights.unsqueeze(-1) * residual.float()).sum(1)
        return (v.view(torch.int32) & ~0xFFFF).view(torch.float32).to(torch.bfloat16)


class TailTokensTruncate(_AnyLi):
    """When T is not a multiple of 64, every output is rounded to bf16 by truncation."""
    name = "mut-any-ragged-t-truncates"
    imitates = "a masked (ragged) path with its own, wrong conversion"

    def _collapse(self, residual, weights):
        if residual.shape[0] % 64 == 0:
            return super()._collapse(residual, weights)
        v = (weights.unsqueeze(-1) * residual.float()).sum(1)
        return (v.view(torch.int32) & ~0xFFFF).view(torch.float32).to(torch.bfloat16)


class StridedDropsLastStream(_AnyLi):
    """Correct for contiguous inputs; with a non-contiguous residual the last stream is skipped."""
    name = "mut-any-strided-last-stream"
    imitates = "a .contiguous() fallback path with its own loop bound"

    def _collapse(self, residual, weights):
        if residual.is_contiguous():
            return super()._collapse(residual, weights)
        return super()._collapse(residual[:, :-1], weights[:, :-1])


class DecodePathWrong(_AnyLi):
    """For T = 1 (decode) the output is stream 0 times its weight only."""
    name = "mut-any-decode-path"
    imitates = "a separate single-token kernel with a bug of its own"

    def _collapse(self, residual, weights):
        if residual.shape[0] != 1:
            return super()._collapse(residual, weights)
        return (weights[:, :1, None] * residual[:, :1].float()).sum(1).to(torch.bfloat16)


class CrashOnEmpty(_AnyLi):
    """Raises on T = 0 (a launch with an empty grid)."""
    name = "mut-any-crash-on-empty"
    imitates = "CUDA's 'invalid configuration argument' for a grid of 0 blocks"

    def _collapse(self, residual, weights):
        if residual.shape[0] == 0:
            raise RuntimeError("CUDA error: invalid configuration argument")
        return super()._collapse(residual, weights)


class NanPoisonsRow(_AnyLi):
    """A NaN anywhere in a token's residual makes that token's whole output NaN."""
    name = "mut-any-nan-poisons-row"
    imitates = "a per-row reduction (max or norm) folded into an elementwise op"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        bad = torch.isnan(residual.float()).flatten(1).any(1)
        out[bad] = float("nan")
        return out


class InfSaturated(_AnyLi):
    """Infinite outputs are saturated to the largest finite bf16."""
    name = "mut-any-inf-saturated"
    imitates = "a saturating (satfinite) conversion"

    def _collapse(self, residual, weights):
        big = torch.finfo(torch.bfloat16).max
        return super()._collapse(residual, weights).clamp(-big, big)


class InfToNan(_AnyLi):
    """Infinite outputs come out as NaN."""
    name = "mut-any-inf-to-nan"
    imitates = "inf - inf in a rescaling step"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[torch.isinf(out)] = float("nan")
        return out


class ZeroTokensSkipped(_AnyLi):
    """Tokens whose residual is all zero are skipped (their output stays NaN garbage)."""
    name = "mut-any-zero-tokens-skipped"
    imitates = "an early exit for zero rows that forgets to write the output"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[(residual == 0).flatten(1).all(1)] = float("nan")
        return out


class LargeValuesClamped(_AnyLi):
    """Outputs are clamped to +-2^32."""
    name = "mut-any-large-clamped"
    imitates = "a clamp with a limit chosen for another tensor"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights).clamp(-2.0 ** 32, 2.0 ** 32)


class MixesLastTokenStale(Mutant):
    """The mixes of the last token (T >= 2) are computed from the previous token's partials."""
    name = "mut-any-mixes-last-token-stale"
    family = "any op"
    ops = ("mixes",) + PRE_OPS
    imitates = "a tail iteration that reuses the previous token's registers"

    def _mixes(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_post_mult_value,
               rms_numel):
        if mixes_partial.shape[1] >= 2:
            mixes_partial, sqrsum_partial = mixes_partial.clone(), sqrsum_partial.clone()
            mixes_partial[:, -1], sqrsum_partial[:, -1] = mixes_partial[:, -2], sqrsum_partial[:, -2]
        return super()._mixes(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps,
                              hc_post_mult_value, rms_numel)


class SinkhornOneRoundUnlessN4(Mutant):
    """Correct for n = 4; for any other n the Sinkhorn projection stops after one round."""
    name = "mut-any-sinkhorn-n-not-4"
    family = "any op"
    ops = ("sinkhorn",) + PRE_OPS
    imitates = "a kernel tuned for hc_mult = 4 with a generic fallback that ignores sinkhorn_repeat"

    def _sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        repeat = sinkhorn_repeat if comb_logits.shape[-1] == 4 else 1
        return super()._sinkhorn(comb_logits, repeat, hc_sinkhorn_eps)


class GemmOddTokenSkipped(Mutant):
    """When T is odd, the last token's GEMM partials are left zero (two tokens per block)."""
    name = "mut-any-gemm-odd-t"
    family = "any op"
    ops = ("prenorm_gemm", "mhc_pre", "fused_post_pre", "hc_head")
    imitates = "a grid of T // 2 blocks of two tokens"

    def _gemm(self, x, fn, n_splits):
        mixes, sq = super()._gemm(x, fn, n_splits)
        if x.shape[0] % 2:
            mixes[:, -1], sq[:, -1] = 0, 0
        return mixes, sq
