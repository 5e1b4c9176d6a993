"""pre_big_fuse: everything after the prenorm GEMM, from its split-K partials.

    pre, post, comb_logits = mixes(partials)               (mhc_reference.mixes)
    comb_mix    = sinkhorn(comb_logits)                     (mhc_reference.sinkhorn)
    layer_input = sum_k pre[:, k] * residual[:, k]          (mhc_reference.layer_input)
    with norm_weight: layer_input = RMSNorm(bf16(layer_input)) * norm_weight
    post_mix    = post.unsqueeze(-1)
"""

from __future__ import annotations

import torch

from mhc_reference._rounding import round_to_bf16
from mhc_reference.layer_input import collapse, rms_normalize
from mhc_reference.mixes import token_mixes
from mhc_reference.sinkhorn import token_sinkhorn


def pre_from_partials(mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, params,
                      ) -> dict[str, torch.Tensor]:
    t, n, h = residual.shape
    pre, post, logits = token_mixes(
        mixes_partial.double().sum(0), sqrsum_partial.double().sum(0), hc_scale.double(), hc_base.double(), n,
        n * h, params["rms_eps"], params["hc_pre_eps"], params["hc_post_mult_value"])
    comb = token_sinkhorn(logits, params["sinkhorn_repeat"], params["hc_sinkhorn_eps"])
    layer_input = collapse(residual, pre)
    out = {"post_mix": post.unsqueeze(-1), "comb_mix": comb, "layer_input": layer_input, "pre": pre}
    if norm_weight is not None:
        out["collapse"] = layer_input
        out["layer_input"] = rms_normalize(round_to_bf16(layer_input), norm_weight, params["norm_eps"])
    return out


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    return pre_from_partials(inputs["mixes_partial"], inputs["sqrsum_partial"], inputs["hc_scale"],
                             inputs["hc_base"], inputs["residual"], inputs.get("norm_weight"), params)
