"""Planted bugs in the mixes: RMS scale, sigmoid pre/post, comb logits."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant


def _split(mixes_partial, sqrsum_partial, rms_numel):
    return mixes_partial.sum(0), sqrsum_partial.sum(0)


class _Mix(Mutant):
    family = "mixes"
    ops = ("mixes",) + PRE_OPS

    def _parts(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        mix, sq = _split(mixes_partial, sqrsum_partial, rms_numel)
        m = mix * torch.rsqrt(sq / rms_numel + rms_eps).unsqueeze(-1)
        return n, m

    def _finish(self, n, m, hc_scale, hc_base, hc_pre_eps, post_mult):
        pre = torch.sigmoid(m[:, :n] * hc_scale[0] + hc_base[:n]) + hc_pre_eps
        post = torch.sigmoid(m[:, n:2 * n] * hc_scale[1] + hc_base[n:2 * n]) * post_mult
        comb = m[:, 2 * n:].reshape(-1, n, n) * hc_scale[2] + hc_base[2 * n:].view(1, n, n)
        return pre, post, comb


class PreEpsDropped(_Mix):
    """hc_pre_eps is not added to the pre weights."""
    name = "mut-mix-pre-eps-dropped"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m, hc_scale, hc_base, 0.0, post_mult)


class PreEpsInsideSigmoid(_Mix):
    """hc_pre_eps added to the logit instead of after the sigmoid."""
    name = "mut-mix-pre-eps-inside"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        pre, post, comb = self._finish(n, m, hc_scale, hc_base, 0.0, post_mult)
        return torch.sigmoid(m[:, :n] * hc_scale[0] + hc_base[:n] + hc_pre_eps), post, comb


class PrePostSwapped(_Mix):
    """The pre and post halves of the mixes are swapped."""
    name = "mut-mix-pre-post-swapped"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        m = torch.cat([m[:, n:2 * n], m[:, :n], m[:, 2 * n:]], 1)
        return self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)


class PostMultIgnored(_Mix):
    """hc_post_mult_value is ignored."""
    name = "mut-mix-post-mult-ignored"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m, hc_scale, hc_base, hc_pre_eps, 1.0)


class PostMultSquared(_Mix):
    """hc_post_mult_value applied twice."""
    name = "mut-mix-post-mult-squared"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult * post_mult)


class ScaleIndexSwapped(_Mix):
    """hc_scale[0] and hc_scale[1] are swapped."""
    name = "mut-mix-scale-swapped"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m, hc_scale[[1, 0, 2]], hc_base, hc_pre_eps, post_mult)


class RmsEpsOutsideSqrt(_Mix):
    """rsqrt(sq/K) + eps instead of rsqrt(sq/K + eps)."""
    name = "mut-mix-rms-eps-outside"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        mix, sq = _split(mp, sp, rms_numel)
        m = mix * (torch.rsqrt(sq / rms_numel) + rms_eps).unsqueeze(-1)
        return self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)


class RmsOverH(_Mix):
    """The mean square divides by H instead of n*H."""
    name = "mut-mix-rms-over-h"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        return super()._mixes(mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, max(1, rms_numel // n))


class BaseOffByOne(_Mix):
    """The comb biases read one entry too early (hc_base[2n-1:-1])."""
    name = "mut-mix-comb-base-shifted"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        shifted = torch.cat([hc_base[:2 * n], hc_base[2 * n - 1:-1]])
        pre, post, _ = self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)
        return pre, post, self._finish(n, m, hc_scale, shifted, hc_pre_eps, post_mult)[2]


class RsqrtWithoutEps(_Mix):
    """rsqrt(sq/K) without rms_eps: an all-zero token gives inf * 0 = NaN."""
    name = "mut-mix-rms-no-eps"
    imitates = "an eps argument accepted and never used"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        return super()._mixes(mp, sp, hc_scale, hc_base, 0.0, hc_pre_eps, post_mult, rms_numel)


class EpsAddedToTheSum(_Mix):
    """rsqrt((sq + eps) / K): eps added to the sum of squares, not to the mean."""
    name = "mut-mix-rms-eps-in-sum"
    imitates = "an RMSNorm rewritten as rsqrt(sum + eps) * sqrt(K)"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        return super()._mixes(mp, sp, hc_scale, hc_base, rms_eps / rms_numel, hc_pre_eps, post_mult, rms_numel)


class BaseBeforeScale(_Mix):
    """(m + base) * scale instead of m * scale + base, for all three groups."""
    name = "mut-mix-base-before-scale"
    imitates = "an FMA with its operands in the wrong order"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m + hc_base, hc_scale, torch.zeros_like(hc_base), hc_pre_eps, post_mult)


class CombWithoutBase(_Mix):
    """The comb logits miss their biases."""
    name = "mut-mix-comb-no-base"
    imitates = "a bias add present in the pre/post branch and missing from the comb branch"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        pre, post, _ = self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)
        return pre, post, m[:, 2 * n:].reshape(-1, n, n) * hc_scale[2]


class PostMultOnPre(_Mix):
    """hc_post_mult_value multiplies the pre weights instead of the post weights."""
    name = "mut-mix-post-mult-on-pre"
    imitates = "the multiplier applied at the wrong output pointer"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        pre, post, comb = super()._mixes(mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, 1.0, rms_numel)
        return pre * post_mult, post, comb


class CombLogitsTransposed(_Mix):
    """The comb logits are stored column-major: comb[i, j] holds logit (j, i)."""
    name = "mut-mix-comb-transposed"
    imitates = "an [n, n] store with swapped strides"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        pre, post, comb = super()._mixes(mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel)
        return pre, post, comb.transpose(-1, -2).contiguous()


class CombUsesPreScale(_Mix):
    """The comb logits are scaled by hc_scale[0] instead of hc_scale[2]."""
    name = "mut-mix-comb-pre-scale"
    imitates = "a scale index hard-coded to 0"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        return self._finish(n, m, hc_scale[[0, 1, 0]], hc_base, hc_pre_eps, post_mult)


class SqrsumFirstSplitOnly(_Mix):
    """Only split 0 of the sum-of-squares partials is read."""
    name = "mut-mix-sqrsum-split0"
    imitates = "a reduction over S partials that reads one"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        return super()._mixes(mp, sp[:1], hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel)


class MixesLastSplitMissing(_Mix):
    """The mixes partials are summed over range(S - 1): the last split is missing (all of it when S = 1)."""
    name = "mut-mix-last-split-missing"
    imitates = "a split-K reduction loop bound off by one"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        return super()._mixes(mp[:-1], sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel)


class LogitsBf16(_Mix):
    """The pre and post logits are rounded to bf16 before the sigmoid."""
    name = "mut-mix-logits-bf16"
    imitates = "a bf16 intermediate buffer between the GEMM epilogue and the sigmoid"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        lo = (m[:, :2 * n] * hc_scale[:2].repeat_interleave(n) + hc_base[:2 * n]).to(torch.bfloat16).float()
        _, _, comb = self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)
        return torch.sigmoid(lo[:, :n]) + hc_pre_eps, torch.sigmoid(lo[:, n:]) * post_mult, comb


class CombNotRmsScaled(_Mix):
    """The comb logits use the raw mixes: the RMS scale reaches pre and post only."""
    name = "mut-mix-comb-unscaled"
    imitates = "the rstd multiply placed inside the pre/post branch only"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        pre, post, _ = self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)
        return pre, post, self._finish(n, mp.sum(0), hc_scale, hc_base, hc_pre_eps, post_mult)[2]


class PostBaseFromPre(_Mix):
    """The post logits take the pre biases hc_base[:n]."""
    name = "mut-mix-post-base-from-pre"
    imitates = "a bias pointer not advanced by n"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        base = torch.cat([hc_base[:n], hc_base[:n], hc_base[2 * n:]])
        return super()._mixes(mp, sp, hc_scale, base, rms_eps, hc_pre_eps, post_mult, rms_numel)


class CombBaseSubtracted(_Mix):
    """The comb biases are subtracted."""
    name = "mut-mix-comb-base-sign"
    imitates = "a sign error in the bias add"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        base = torch.cat([hc_base[:2 * n], -hc_base[2 * n:]])
        return super()._mixes(mp, sp, hc_scale, base, rms_eps, hc_pre_eps, post_mult, rms_numel)


class PreLogitNegated(_Mix):
    """pre = sigmoid(-logit) + eps: the sign of the pre logit is flipped."""
    name = "mut-mix-pre-logit-negated"
    imitates = "sigmoid written as 1 / (1 + exp(x))"

    def _mixes(self, mp, sp, hc_scale, hc_base, rms_eps, hc_pre_eps, post_mult, rms_numel):
        n, m = self._parts(mp, sp, hc_scale, hc_base, rms_eps, rms_numel)
        pre, post, comb = self._finish(n, m, hc_scale, hc_base, hc_pre_eps, post_mult)
        return torch.sigmoid(-(m[:, :n] * hc_scale[0] + hc_base[:n])) + hc_pre_eps, post, comb
