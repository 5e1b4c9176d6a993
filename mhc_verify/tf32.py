"""TF32 operand conversion, emulated bit by bit on float32 tensors (any device).

TF32 keeps fp32's sign and 8-bit exponent and 10 explicit mantissa bits: the low 13 bits of the
fp32 pattern go. A tensor core fed raw fp32 bits may drop them (truncation, round toward zero) or
round them to nearest (ties to even, or ties away from zero as PTX cvt.rna.tf32.f32 does). All
three are here, so that a kernel's products can be matched against each
(scripts/debug/tf32_probe.py) and planted CPU kernels can imitate them (tests/test_depth_tf32.py).

Non-finite values are returned unchanged; a finite value whose rounding carries past the largest
exponent becomes inf, as IEEE rounding does. Subnormals go through the same bit arithmetic (TF32's
subnormal spacing is 2^13 fp32 subnormal steps); hardware that flushes them to zero is not imitated.
"""

from __future__ import annotations

import torch

DROPPED_BITS = 13  # fp32's 23 explicit mantissa bits -> TF32's 10
_LOW = (1 << DROPPED_BITS) - 1
_HALF = 1 << (DROPPED_BITS - 1)


def _bits(v: torch.Tensor) -> torch.Tensor:
    if v.dtype != torch.float32:
        raise TypeError(f"TF32 emulation takes float32, got {v.dtype}")
    return v.contiguous().view(torch.int32)


def tf32_truncate(v: torch.Tensor) -> torch.Tensor:
    """float32 -> float32 holding the TF32 value with the low 13 mantissa bits cleared (toward zero)."""
    out = (_bits(v) & ~_LOW).view(torch.float32)
    return torch.where(torch.isfinite(v), out, v)


def tf32_round_nearest(v: torch.Tensor) -> torch.Tensor:
    """float32 -> float32 holding the TF32 value nearest to v, ties to even (the kept LSB even)."""
    b = _bits(v)
    lsb = (b >> DROPPED_BITS) & 1
    # adding (half - 1 + lsb) to the magnitude bits carries into the kept bits exactly when the
    # dropped part is above half, or equal to half with an odd kept LSB; the sign bit is never
    # reached from a finite value (the largest finite pattern carries into the inf pattern).
    out = ((b + (_HALF - 1) + lsb) & ~_LOW).view(torch.float32)
    return torch.where(torch.isfinite(v), out, v)


def tf32_round_nearest_away(v: torch.Tensor) -> torch.Tensor:
    """float32 -> float32 holding the TF32 value nearest to v, ties away from zero (PTX cvt.rna.tf32.f32)."""
    out = ((_bits(v) + _HALF) & ~_LOW).view(torch.float32)
    return torch.where(torch.isfinite(v), out, v)


MODES = ("exact", "truncate", "nearest", "nearest_away")


def tf32(v: torch.Tensor, mode: str) -> torch.Tensor:
    """``mode``: one of MODES ("exact": v unchanged)."""
    if mode == "truncate":
        return tf32_truncate(v)
    if mode == "nearest":
        return tf32_round_nearest(v)
    if mode == "nearest_away":
        return tf32_round_nearest_away(v)
    if mode == "exact":
        return v
    raise ValueError(f"unknown TF32 mode {mode!r}")
