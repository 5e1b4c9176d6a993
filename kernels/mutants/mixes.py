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
