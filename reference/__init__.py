"""mhc_reference: the float64 reference of every mHC op, and the op contract.

Each op's math lives in its own module with the formula in its docstring. Inputs are taken
exactly as the kernel saw them (bf16 and fp32 convert to float64 exactly), computed in float64 on
the inputs' device, chunked over tokens so memory stays bounded at any T.
This package imports nothing from mhc_kernels or mhc_verify (tests/test_import_rules.py).
"""

from importlib import import_module
from typing import Callable

import torch

from mhc_reference.contract import OPS


def reference_for(op: str) -> Callable[[dict, dict], dict[str, torch.Tensor]]:
    """The float64 reference of an op: ``f(inputs, params) -> {output name: float64 tensor}``.

    Every op module is named after its op and exposes ``reference``.
    """
    if op not in OPS:
        raise KeyError(f"no reference for unknown op {op!r}")
    return import_module(f"mhc_reference.{op}").reference
