"""fused_post_pre: hc_post of layer L, then mhc_pre of layer L+1, in one call.

    residual_out = bf16(hc_post(x, residual, post_mix, comb_mix))
    post_mix_out, comb_mix_out, layer_input = mhc_pre(residual_out, fn, ...)

Dtype-faithful: the pre of layer L+1 sees the bf16 residual the kernel wrote. The harness
passes that tensor as ``pre_input`` (after checking it against hc_post's reference), so an
off-by-one-ulp rounding of residual_out is judged once, not again through the pre.
"""

from __future__ import annotations

import torch

from mhc_reference import mhc_pre
from mhc_reference._rounding import round_to_bf16
from mhc_reference.hc_post import hc_post


def reference(inputs: dict, params: dict, pre_input: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    new_residual = hc_post(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])
    if pre_input is None:
        pre_input = round_to_bf16(new_residual).to(torch.bfloat16)
    pre = mhc_pre.reference({**inputs, "residual": pre_input}, params)
    return {"residual_out": new_residual, "post_mix_out": pre["post_mix"], "comb_mix_out": pre["comb_mix"],
            "layer_input": pre["layer_input"], "pre": pre["pre"], "mixes": pre["mixes"], "sqrsum": pre["sqrsum"],
            "pre_input": pre_input, **({"collapse": pre["collapse"]} if "collapse" in pre else {})}
