"""Planted bugs in the softmax + Sinkhorn projection."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant


class _Sk(Mutant):
    family = "sinkhorn"
    ops = ("sinkhorn",) + PRE_OPS


class RepeatMinusOne(_Sk):
    """One Sinkhorn round fewer than asked."""
    name = "mut-sk-repeat-minus-one"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, max(1, repeat - 1), eps) if repeat > 1 else super()._sinkhorn(logits, 1, 0.0)


class RowsColumnsSwapped(_Sk):
    """Normalises rows where columns are due and vice versa."""
    name = "mut-sk-rows-cols-swapped"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits.transpose(-1, -2), repeat, eps).transpose(-1, -2)


class EpsAfterTheSum(_Sk):
    """c / sum + eps instead of c / (sum + eps)."""
    name = "mut-sk-eps-after-sum"

    def _sinkhorn(self, logits, repeat, eps):
        c = torch.softmax(logits, -1) + eps
        c = c / c.sum(-2, keepdim=True) + eps
        for _ in range(repeat - 1):
            c = c / c.sum(-1, keepdim=True) + eps
            c = c / c.sum(-2, keepdim=True) + eps
        return c


class SoftmaxWithoutMax(_Sk):
    """exp without subtracting the row maximum: overflows at large logits."""
    name = "mut-sk-softmax-no-max"

    def _sinkhorn(self, logits, repeat, eps):
        e = torch.exp(logits)
        c = e / e.sum(-1, keepdim=True) + eps
        c = c / (c.sum(-2, keepdim=True) + eps)
        for _ in range(repeat - 1):
            c = c / (c.sum(-1, keepdim=True) + eps)
            c = c / (c.sum(-2, keepdim=True) + eps)
        return c


class LastRoundRowsOnly(_Sk):
    """The last round normalises rows only."""
    name = "mut-sk-last-round-rows-only"

    def _sinkhorn(self, logits, repeat, eps):
        c = super()._sinkhorn(logits, max(1, repeat - 1), eps)
        return c / (c.sum(-1, keepdim=True) + eps) if repeat > 1 else c / (c.sum(-1, keepdim=True) + eps)


class SoftmaxOverColumns(_Sk):
    """softmax over dim -2 instead of -1."""
    name = "mut-sk-softmax-dim"

    def _sinkhorn(self, logits, repeat, eps):
        c = torch.softmax(logits, -2) + eps
        c = c / (c.sum(-2, keepdim=True) + eps)
        for _ in range(repeat - 1):
            c = c / (c.sum(-1, keepdim=True) + eps)
            c = c / (c.sum(-2, keepdim=True) + eps)
        return c


def _rows(c, eps):
    return c / (c.sum(-1, keepdim=True) + eps)


def _cols(c, eps):
    return c / (c.sum(-2, keepdim=True) + eps)


def _rounds(c, repeat, eps):
    """The healthy projection after the softmax: columns, then repeat-1 rounds of rows and columns."""
    c = _cols(c, eps)
    for _ in range(repeat - 1):
        c = _cols(_rows(c, eps), eps)
    return c


class RepeatCappedAt10(_Sk):
    """At most 10 Sinkhorn rounds, whatever sinkhorn_repeat asks."""
    name = "mut-sk-repeat-capped-10"
    imitates = "a fixed-size unrolled loop (#pragma unroll 10) with an early break"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, min(repeat, 10), eps)


class RepeatPlusOne(_Sk):
    """One Sinkhorn round more than asked."""
    name = "mut-sk-repeat-plus-one"
    imitates = "a loop of range(repeat) after an unrolled first round"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, repeat + 1, eps)


class SoftmaxEpsMissing(_Sk):
    """eps is not added after the softmax (the first normalisation's numerators lack it)."""
    name = "mut-sk-softmax-eps-missing"
    imitates = "eps added on one code path and forgotten on the other"

    def _sinkhorn(self, logits, repeat, eps):
        return _rounds(torch.softmax(logits, -1), repeat, eps)


class SoftmaxEpsTwice(_Sk):
    """eps is added twice after the softmax."""
    name = "mut-sk-softmax-eps-twice"
    imitates = "an eps folded into the softmax and added again by the caller"

    def _sinkhorn(self, logits, repeat, eps):
        return _rounds(torch.softmax(logits, -1) + 2 * eps, repeat, eps)


class EpsIgnored(_Sk):
    """hc_sinkhorn_eps is ignored everywhere (eps = 0)."""
    name = "mut-sk-eps-ignored"
    imitates = "an eps argument accepted and never used"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, repeat, 0.0)


class RowEpsMissing(_Sk):
    """The row normalisations of the loop divide by the bare row sums (no eps)."""
    name = "mut-sk-row-eps-missing"
    imitates = "the row step written without eps, the column step with it"

    def _sinkhorn(self, logits, repeat, eps):
        c = _cols(torch.softmax(logits, -1) + eps, eps)
        for _ in range(repeat - 1):
            c = _cols(_rows(c, 0.0), eps)
        return c


class ExpNotSoftmax(_Sk):
    """exp(logits - row max) without the division by the row sum."""
    name = "mut-sk-exp-not-softmax"
    imitates = "a softmax whose normalisation was left to the Sinkhorn rounds"

    def _sinkhorn(self, logits, repeat, eps):
        return _rounds(torch.exp(logits - logits.amax(-1, keepdim=True)) + eps, repeat, eps)


class SoftmaxSubtractsMin(_Sk):
    """The softmax subtracts the row minimum instead of the maximum: overflows at a large spread."""
    name = "mut-sk-softmax-minus-min"
    imitates = "amin where amax was meant"

    def _sinkhorn(self, logits, repeat, eps):
        e = torch.exp(logits - logits.amin(-1, keepdim=True))
        return _rounds(e / e.sum(-1, keepdim=True) + eps, repeat, eps)


class SoftmaxGlobalMax(_Sk):
    """The softmax subtracts the maximum of the whole n x n matrix: a row far below it underflows to 0/0."""
    name = "mut-sk-softmax-global-max"
    imitates = "a max reduction over the tile instead of the row"

    def _sinkhorn(self, logits, repeat, eps):
        e = torch.exp(logits - logits.amax((-1, -2), keepdim=True))
        return _rounds(e / e.sum(-1, keepdim=True) + eps, repeat, eps)


class FirstNormalisesRows(_Sk):
    """The first normalisation after the softmax is over rows instead of columns."""
    name = "mut-sk-first-norm-rows"
    imitates = "the reduction axis of the first normalisation swapped"

    def _sinkhorn(self, logits, repeat, eps):
        c = _rows(torch.softmax(logits, -1) + eps, eps)
        for _ in range(repeat - 1):
            c = _cols(_rows(c, eps), eps)
        return c


class LoopOrderSwapped(_Sk):
    """Each round of the loop normalises columns, then rows (the result ends on a row step)."""
    name = "mut-sk-loop-order-swapped"
    imitates = "the two steps of the loop body in the wrong order"

    def _sinkhorn(self, logits, repeat, eps):
        c = _cols(torch.softmax(logits, -1) + eps, eps)
        for _ in range(repeat - 1):
            c = _rows(_cols(c, eps), eps)
        return c


class ExtraRowNormalisation(_Sk):
    """A final row normalisation after the last column step."""
    name = "mut-sk-extra-row-norm"
    imitates = "a stray row step left in the epilogue"

    def _sinkhorn(self, logits, repeat, eps):
        return _rows(super()._sinkhorn(logits, repeat, eps), eps)


class StaleColumnSums(_Sk):
    """Each round divides by column sums taken before that round's row normalisation."""
    name = "mut-sk-stale-col-sums"
    imitates = "both reductions hoisted to the top of the loop body"

    def _sinkhorn(self, logits, repeat, eps):
        c = _cols(torch.softmax(logits, -1) + eps, eps)
        for _ in range(repeat - 1):
            r, s = c.sum(-1, keepdim=True), c.sum(-2, keepdim=True)
            c = c / (r + eps) / (s + eps)
        return c


class LogitsBf16(_Sk):
    """The comb logits are rounded to bf16 before the softmax."""
    name = "mut-sk-logits-bf16"
    imitates = "a bf16 buffer between the mixes and the Sinkhorn kernel"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits.to(torch.bfloat16).float(), repeat, eps)


class OutputBf16(_Sk):
    """comb_mix is rounded to bf16 before it is stored as fp32."""
    name = "mut-sk-output-bf16"
    imitates = "comb_mix staged through a bf16 buffer"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, repeat, eps).to(torch.bfloat16).float()


class OutputTransposed(_Sk):
    """comb_mix is stored transposed."""
    name = "mut-sk-output-transposed"
    imitates = "an [n, n] store with swapped strides"

    def _sinkhorn(self, logits, repeat, eps):
        return super()._sinkhorn(logits, repeat, eps).transpose(-1, -2).contiguous()
