"""A copy of the torch backend that computes in bf16 instead of fp32: the suite must reject it.

It exists to prove the bounds are not vacuous (tests/test_bound_not_vacuous.py). It declares fp32
like the real backend, as a kernel that silently lost precision would.
"""

from __future__ import annotations

import torch

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_reference.contract import get_op


def _low(v):
    return v.to(torch.bfloat16) if isinstance(v, torch.Tensor) and v.is_floating_point() else v


class TorchBf16Backend(TorchNativeBackend):
    name = "torch-bf16-math"
    description = "the torch fallback computing in bf16 (a known-bad backend)"

    def available(self) -> tuple[bool, str]:
        return True, "test backend: computes in bf16 while declaring fp32"


def _bf16_method(op: str):
    fp32_method = getattr(TorchNativeBackend, op)
    outputs = get_op(op).outputs

    def method(self, *args, **kwargs):
        saved = torch.Tensor.float
        torch.Tensor.float = lambda t: t  # the fallback's fp32 upcasts become no-ops: bf16 math throughout
        try:
            outs = fp32_method(self, *map(_low, args), **{k: _low(v) for k, v in kwargs.items()})
        finally:
            torch.Tensor.float = saved
        outs = outs if isinstance(outs, tuple) else (outs,)
        return tuple(o.to(s.dtype) for o, s in zip(outs, outputs))

    return method


for _op in TorchNativeBackend().implements():
    setattr(TorchBf16Backend, _op, _bf16_method(_op))
