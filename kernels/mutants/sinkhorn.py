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
