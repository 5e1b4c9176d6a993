"""Exact round-to-nearest-even of float64 values to bf16 (returned as float64).

torch's float64 -> bfloat16 cast goes through float32 and so rounds twice; this does it once.
"""

from __future__ import annotations

import torch

_BF16_MIN_NORMAL = 2.0 ** -126
_BF16_SUBNORMAL_STEP = 2.0 ** -133
_BF16_MAX = (2 - 2.0 ** -7) * 2.0 ** 127
_DROPPED_BITS = 52 - 7  # float64 mantissa bits below bf16's 7


def round_to_bf16(v: torch.Tensor) -> torch.Tensor:
    v = v.double()
    bits = v.view(torch.int64)
    keep_lsb = (bits >> _DROPPED_BITS) & 1
    rounded = (bits + ((1 << (_DROPPED_BITS - 1)) - 1) + keep_lsb) & ~((1 << _DROPPED_BITS) - 1)
    out = rounded.view(torch.float64)
    tiny = v.abs() < _BF16_MIN_NORMAL
    out = torch.where(tiny, torch.round(v / _BF16_SUBNORMAL_STEP) * _BF16_SUBNORMAL_STEP, out)
    # Values past the largest bf16 by at least half an ulp overflow to infinity.
    overflow = v.abs() >= _BF16_MAX + 2.0 ** 119
    out = torch.where(overflow & torch.isfinite(v), torch.copysign(torch.full_like(v, float("inf")), v), out)
    return torch.where(torch.isnan(v), v, out)
