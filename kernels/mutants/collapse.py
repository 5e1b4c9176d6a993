"""Planted bugs in layer_input / the head's collapse."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant, round_mantissa


class _Collapse(Mutant):
    family = "layer_input"
    ops = ("layer_input", "hc_head") + PRE_OPS


class WrongStreamWeights(_Collapse):
    """Stream k is weighted with stream k+1's pre weight."""
    name = "mut-li-wrong-stream"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights.roll(1, dims=-1))


class Bf16Accumulation(_Collapse):
    """The weighted sum accumulates in bf16."""
    name = "mut-li-bf16-accumulate"

    def _collapse(self, residual, weights):
        acc = torch.zeros(residual.shape[0], residual.shape[2], dtype=torch.bfloat16, device=residual.device)
        for k in range(residual.shape[1]):
            acc = acc + (weights[:, k:k + 1] * residual[:, k].float()).to(torch.bfloat16)
        return acc


class IgnoresStrides(_Collapse):
    """Reads the residual as if it were contiguous (wrong only for strided inputs)."""
    name = "mut-li-ignores-strides"

    def _collapse(self, residual, weights):
        if residual.is_contiguous():
            return super()._collapse(residual, weights)
        flat = torch.as_strided(residual, residual.shape, (residual.shape[1] * residual.shape[2], residual.shape[2], 1))
        return super()._collapse(flat, weights)


class HeadEpsDropped(Mutant):
    """hc_eps is not added to the head weights."""
    name = "mut-head-eps-dropped"
    family = "layer_input"
    ops = ("hc_head",)

    def _head_weights(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        return super()._head_weights(residual, fn, hc_scale, hc_base, rms_eps, 0.0)


def _collapse32(residual, weights):
    return (weights.unsqueeze(-1) * residual.float()).sum(1)


def _truncate_bf16(v):
    """fp32 -> bf16 by dropping the low 16 bits (round toward zero)."""
    return (v.contiguous().view(torch.int32) & ~0xFFFF).view(torch.float32).to(torch.bfloat16)


class StreamsReversed(_Collapse):
    """Stream k of the residual is read as stream n-1-k (the weights are not reversed)."""
    name = "mut-li-streams-reversed"
    imitates = "a stream loop counting down over a pointer that counts up"

    def _collapse(self, residual, weights):
        return super()._collapse(residual.flip(1), weights)


class LastStreamDropped(_Collapse):
    """The sum over streams stops at n-1."""
    name = "mut-li-last-stream-dropped"
    imitates = "for (k = 0; k < n - 1; ++k)"

    def _collapse(self, residual, weights):
        return super()._collapse(residual[:, :-1], weights[:, :-1])


class MeanOverStreams(_Collapse):
    """The weighted sum over streams is divided by n (a mean)."""
    name = "mut-li-mean-over-streams"
    imitates = "a mean-reduction template used for a weighted sum"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights / residual.shape[1])


class TruncatingRound(_Collapse):
    """fp32 -> bf16 by truncation instead of round-to-nearest-even."""
    name = "mut-li-bf16-truncation"
    imitates = "__float2bfloat16_rz where __float2bfloat16_rn is due"

    def _collapse(self, residual, weights):
        return _truncate_bf16(_collapse32(residual, weights))


class DoubleRounding(_Collapse):
    """The fp32 sum goes through a 12-bit intermediate before bf16: rounded twice."""
    name = "mut-li-double-rounding"
    imitates = "a reduced-precision intermediate before the bf16 store"

    def _collapse(self, residual, weights):
        return round_mantissa(_collapse32(residual, weights), 12).to(torch.bfloat16)


class WeightsBf16(_Collapse):
    """The pre weights are rounded to bf16 before the multiply."""
    name = "mut-li-weights-bf16"
    imitates = "fp32 weights loaded through a bf16 pointer cast"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights.to(torch.bfloat16).float())


class WeightsOneTokenLate(_Collapse):
    """Token t uses the pre weights of token t-1 (token 0 those of the last)."""
    name = "mut-li-weights-token-shift"
    imitates = "a token index off by one in the weights' address"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights.roll(1, dims=0))


class WeightsOfToken0(_Collapse):
    """Every token uses the pre weights of token 0."""
    name = "mut-li-weights-token0"
    imitates = "a token stride of 0 passed for the weights"

    def _collapse(self, residual, weights):
        return super()._collapse(residual, weights[:1].expand_as(weights))


class Fp16Output(_Collapse):
    """The fp32 sum is stored through fp16 (overflow past 65504, 11-bit rounding), then bf16."""
    name = "mut-li-fp16-output"
    imitates = "a half output buffer where bf16 was declared"

    def _collapse(self, residual, weights):
        return _collapse32(residual, weights).to(torch.float16).to(torch.bfloat16)


class WeightStridesIgnored(_Collapse):
    """Reads the pre weights as if they were contiguous (wrong only for strided weights)."""
    name = "mut-li-weight-strides-ignored"
    imitates = "a kernel that assumes contiguous weights, called without .contiguous()"

    def _collapse(self, residual, weights):
        if not weights.is_contiguous():
            weights = torch.as_strided(weights, weights.shape, (weights.shape[1], 1))
        return super()._collapse(residual, weights)


class HiddenTailZero(_Collapse):
    """When H is not a multiple of 64, the hidden columns past the last full 64-wide tile are left 0."""
    name = "mut-li-hidden-tail-zero"
    imitates = "an H loop of H // BLOCK_H iterations with no tail"

    def _collapse(self, residual, weights):
        out = super()._collapse(residual, weights)
        out[:, (out.shape[1] // 64) * 64:] = 0
        return out


class _Norm(Mutant):
    family = "layer_input"
    ops = PRE_OPS


class NormMeanOverPaddedH(_Norm):
    """The RMSNorm mean of squares divides by H rounded up to a multiple of 64."""
    name = "mut-li-norm-padded-mean"
    imitates = "a mean over the padded tile width"

    def _norm(self, layer_input, norm_weight, norm_eps):
        v = layer_input.float()
        h = -(-v.shape[-1] // 64) * 64
        rstd = torch.rsqrt(v.square().sum(-1, keepdim=True) / h + norm_eps)
        return (v * rstd * norm_weight.float()).to(torch.bfloat16)


class NormEpsDropped(_Norm):
    """norm_eps is ignored: an all-zero row gives 0 * inf = NaN."""
    name = "mut-li-norm-eps-dropped"
    imitates = "an eps argument accepted and never used"

    def _norm(self, layer_input, norm_weight, norm_eps):
        return super()._norm(layer_input, norm_weight, 0.0)


class NormEpsOutsideSqrt(_Norm):
    """rsqrt(mean) + eps instead of rsqrt(mean + eps)."""
    name = "mut-li-norm-eps-outside"
    imitates = "a misplaced parenthesis"

    def _norm(self, layer_input, norm_weight, norm_eps):
        v = layer_input.float()
        rstd = torch.rsqrt(v.square().mean(-1, keepdim=True)) + norm_eps
        return (v * rstd * norm_weight.float()).to(torch.bfloat16)


class NormWeightRoundedFirst(_Norm):
    """x * weight is rounded to bf16 before the rstd multiply: rounded twice."""
    name = "mut-li-norm-weight-rounded-first"
    imitates = "the weight multiply done in bf16 ahead of the fp32 scale"

    def _norm(self, layer_input, norm_weight, norm_eps):
        v = layer_input.float()
        rstd = torch.rsqrt(v.square().mean(-1, keepdim=True) + norm_eps)
        return ((layer_input * norm_weight).float() * rstd).to(torch.bfloat16)


class NormRstdBf16(_Norm):
    """The RMSNorm scale rsqrt(mean + eps) is rounded to bf16."""
    name = "mut-li-norm-rstd-bf16"
    imitates = "the scale kept in a bf16 register"

    def _norm(self, layer_input, norm_weight, norm_eps):
        v = layer_input.float()
        rstd = torch.rsqrt(v.square().mean(-1, keepdim=True) + norm_eps).to(torch.bfloat16).float()
        return (v * rstd * norm_weight.float()).to(torch.bfloat16)


class NormWeightPlusOne(_Norm):
    """The RMSNorm multiplies by (1 + weight)."""
    name = "mut-li-norm-weight-plus-one"
    imitates = "Gemma's RMSNorm convention (weights stored as offsets from 1)"

    def _norm(self, layer_input, norm_weight, norm_eps):
        return super()._norm(layer_input, norm_weight.float() + 1, norm_eps)


class NormWeightShifted(_Norm):
    """Hidden column h is scaled by weight[h-1] (weight[H-1] for column 0)."""
    name = "mut-li-norm-weight-shifted"
    imitates = "a weight pointer off by one element"

    def _norm(self, layer_input, norm_weight, norm_eps):
        return super()._norm(layer_input, norm_weight.roll(1), norm_eps)


class _Head(Mutant):
    family = "layer_input"
    ops = ("hc_head",)


class HeadScaleIgnored(_Head):
    """The head's hc_scale is ignored (scale 1)."""
    name = "mut-head-scale-ignored"
    imitates = "a scale argument accepted and never used"

    def _head_weights(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        return super()._head_weights(residual, fn, torch.ones_like(hc_scale), hc_base, rms_eps, hc_eps)


class HeadRmsOverH(_Head):
    """The head's mean square divides by H instead of n*H."""
    name = "mut-head-rms-over-h"
    imitates = "the head's RMS over one stream's width"

    def _head_weights(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        t, n, h = residual.shape
        mixes, sqrsum = self._gemm(residual.reshape(t, n * h), fn, 1)
        rstd = torch.rsqrt(sqrsum[0] / h + rms_eps).unsqueeze(-1)
        return torch.sigmoid(mixes[0] * rstd * hc_scale[0] + hc_base) + hc_eps


class HeadEpsInsideSigmoid(_Head):
    """hc_eps is added to the head logit instead of after the sigmoid."""
    name = "mut-head-eps-inside"
    imitates = "a misplaced parenthesis"

    def _head_weights(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        return super()._head_weights(residual, fn, hc_scale, hc_base + hc_eps, rms_eps, 0.0)
