"""Planted bugs in layer_input / the head's collapse."""

from __future__ import annotations

import torch

from mhc_kernels.mutants._base import PRE_OPS, Mutant


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
