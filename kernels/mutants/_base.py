"""The base of every planted-bug backend: the healthy torch backend with one step changed."""

from __future__ import annotations

import torch

from mhc_kernels.torch_native import TorchNativeBackend


class Mutant(TorchNativeBackend):
    """One planted bug. ``family``: the op family; ``ops``: the ops it changes; ``cpu_killable``:
    whether the CPU ``ci`` profile can expose it (False: it needs the nightly GPU profile's sizes)."""

    family = ""
    ops: tuple[str, ...] = ()
    cpu_killable = True
    imitates = ""

    def available(self) -> tuple[bool, str]:
        return True, f"planted bug: {(self.__doc__ or '').strip().splitlines()[0]}"


def round_mantissa(v: torch.Tensor, bits: int) -> torch.Tensor:
    """Round float32 values to ``bits`` significant bits (round half to even)."""
    m, e = torch.frexp(v)
    return torch.ldexp(torch.round(torch.ldexp(m, torch.full_like(e, bits))), e - bits)


PRE_OPS = ("pre_big_fuse", "mhc_pre", "fused_post_pre")
