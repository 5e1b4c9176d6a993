"""pre_mix: the pre gate alone, from the prenorm GEMM's split-K partials.

    pre = sigmoid(m[:n] * s0 + b[:n]) + hc_pre_eps,  m = sum_s mixes_partial[s] * rsqrt(sq / K + rms_eps)

The same numbers as ``mixes``' pre output (mhc_reference.mixes); engines compute it alone where the
pre gate is carried to the next sublayer (vLLM's delayed pre, ``mhc_pre_mix_triton``).
"""

from __future__ import annotations

import torch

from mhc_reference import mixes


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    full = mixes.reference(inputs, {**params, "hc_post_mult_value": 1.0})
    return {"pre": full["pre"]}
