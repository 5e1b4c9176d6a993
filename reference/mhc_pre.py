"""mhc_pre: the fused pre the engines call.

    mixes_partial, sqrsum_partial = prenorm_gemm(residual.view(T, n*H), fn, n_splits)
    post_mix, comb_mix, layer_input = pre_big_fuse(partials, hc_scale, hc_base, residual, norm_weight)

The split-K factor does not change the exact function; the reference sums in float64.
Extra keys (``mixes``, ``sqrsum``, ``pre``) are intermediates the error model reads.
"""

from __future__ import annotations

import torch

from mhc_reference.pre_big_fuse import pre_from_partials
from mhc_reference.prenorm_gemm import prenorm_gemm


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    residual = inputs["residual"]
    t, n, h = residual.shape
    mixes, sqrsum = prenorm_gemm(residual.reshape(t, n * h), inputs["fn"], 1)
    out = pre_from_partials(mixes, sqrsum, inputs["hc_scale"], inputs["hc_base"], residual,
                            inputs.get("norm_weight"), params)
    out["mixes"], out["sqrsum"] = mixes[0], sqrsum[0]
    return out
