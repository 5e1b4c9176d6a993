"""Planted races for the CPU: backends that go wrong on a random fraction of calls, as racing GPU
kernels do. They exist to prove the stress runner catches such bugs (tests/test_stress.py); they
declare themselves deterministic, as the healthy backend does, so bitwise rerun checks apply.

The randomness comes from the OS, not from torch's generator: like a real race it is not
reproducible from the inputs' seed.
"""

from __future__ import annotations

import random

import torch

from mhc_kernels.torch_native import TorchNativeBackend, hc_post_fp32, prenorm_gemm_fp32

_os_random = random.SystemRandom()


class SqrsumRowSwapRace(TorchNativeBackend):
    """aiter < 0.1.14's bug, imitated: on a fraction of calls, two rows of one 64-token block
    exchange their sums of squares (a lane index that also hits a neighbour's row)."""

    name = "race-cpu-sqrsum-swap"
    rate = 0.1

    def _gemm(self, x, fn, n_splits):  # used by prenorm_gemm, mhc_pre and fused_post_pre alike
        mixes, sqrsum = prenorm_gemm_fp32(x, fn, n_splits)
        t = x.shape[0]
        if t >= 2 and _os_random.random() < self.rate:
            a = _os_random.randrange(t)
            b = min(t - 1, (a // 64) * 64 + _os_random.randrange(64))
            if b == a:
                b = a - 1 if a else a + 1
            sqrsum[:, [a, b]] = sqrsum[:, [b, a]]
        return mixes, sqrsum


class StaleBlockRace(TorchNativeBackend):
    """An in-place kernel whose blocks race: on a fraction of calls, one 64-token block of hc_post's
    output still holds the residual it was about to overwrite (the write lost to a stale copy)."""

    name = "race-cpu-stale-block"
    rate = 0.1

    def _post(self, x, residual, post_mix, comb_mix):
        out = hc_post_fp32(x, residual, post_mix, comb_mix)
        t = out.shape[0]
        if t and _os_random.random() < self.rate:
            start = _os_random.randrange(0, t, 64)
            out[start:start + 64] = residual[start:start + 64]
        return out


class SqrsumRowSwapRaceCuda(SqrsumRowSwapRace):
    """The same planted row swap, run on the GPU's memory (an emulation, not a hardware race)."""

    name = "race-cuda-sqrsum-swap"
    device_type = "cuda"


class StaleBlockRaceCuda(StaleBlockRace):
    """The same planted stale block, run on the GPU's memory (an emulation, not a hardware race)."""

    name = "race-cuda-stale-block"
    device_type = "cuda"
