"""fused_post_pre: hc_post of layer L, then mhc_pre of layer L+1, in one call.

    residual_out = bf16(hc_post(x, residual, post_mix, comb_mix))
    post_mix_out, comb_mix_out, layer_input = mhc_pre(residual_out, fn, ...)

Dtype-faithful: the pre of layer L+1 sees the bf16 residual the kernel wrote. The harness
passes that tensor as ``pre_input`` (after checking it against hc_post's reference), so an
off-by-one-ulp rounding of residual_out is judged once, not again through the pre.

A backend that declares a departure (``contract.Semantics``) gets the reference of what it
declares: the pre's GEMM and/or sum of squares read the exact, unrounded hc_post output instead of
the bf16 one. layer_input always collapses the bf16 residual the kernel wrote.
"""

from __future__ import annotations

import torch

from mhc_reference.contract import ENGINE_SEMANTICS, Semantics
from mhc_reference._rounding import round_to_bf16
from mhc_reference.hc_post import hc_post
from mhc_reference.pre_big_fuse import pre_from_partials
from mhc_reference.prenorm_gemm import prenorm_gemm


def reference(inputs: dict, params: dict, pre_input: torch.Tensor | None = None,
              semantics: Semantics = ENGINE_SEMANTICS) -> dict[str, torch.Tensor]:
    new_residual = hc_post(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])
    if pre_input is None:
        pre_input = round_to_bf16(new_residual).to(torch.bfloat16)
    t, n, h = pre_input.shape
    # The tensors the GEMM and the sum of squares read: bf16 (what was written) or float64
    # (the exact value a kernel that keeps fp32 in registers approximates).
    gemm_input = new_residual if semantics.gemm_from_unrounded else pre_input
    sqrsum_input = new_residual if semantics.sqrsum_from_unrounded else pre_input
    mixes, sqrsum = prenorm_gemm(gemm_input.reshape(t, n * h), inputs["fn"], 1)
    if sqrsum_input is not gemm_input:
        _, sqrsum = prenorm_gemm(sqrsum_input.reshape(t, n * h), inputs["fn"][:1], 1)
    pre = pre_from_partials(mixes, sqrsum, inputs["hc_scale"], inputs["hc_base"], pre_input,
                            inputs.get("norm_weight"), params)
    return {"residual_out": new_residual, "post_mix_out": pre["post_mix"], "comb_mix_out": pre["comb_mix"],
            "layer_input": pre["layer_input"], "pre": pre["pre"], "mixes": mixes[0], "sqrsum": sqrsum[0],
            "pre_input": pre_input, "gemm_input": gemm_input, "sqrsum_input": sqrsum_input,
            **({"collapse": pre["collapse"]} if "collapse" in pre else {})}
