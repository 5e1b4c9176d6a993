"""hc_head: collapse the streams after the last layer.

    x = residual.view(T, n*H)
    w = sigmoid((x @ fn.T) * rsqrt(mean(x*x) + rms_eps) * hc_scale[0] + hc_base) + hc_eps     # [T, n]
    out[t, h] = sum_k w[t, k] * residual[t, k, h]
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import no_perturb
from mhc_reference.layer_input import collapse
from mhc_reference.prenorm_gemm import prenorm_gemm


def token_head_weights(mix: torch.Tensor, sq: torch.Tensor, hc_scale: torch.Tensor, hc_base: torch.Tensor,
                       rms_numel: int, rms_eps: float, hc_eps: float, perturb=no_perturb) -> torch.Tensor:
    arg = perturb("rms_arg", sq / rms_numel + rms_eps, fp_ops=2)
    r = perturb("rsqrt", torch.rsqrt(arg), transcendentals=1)
    logit = perturb("logit", mix * r.unsqueeze(-1) * hc_scale[0] + hc_base, fp_ops=3)
    return perturb("weight", torch.sigmoid(logit) + hc_eps, fp_ops=3, transcendentals=1)


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    residual = inputs["residual"]
    t, n, h = residual.shape
    mixes, sqrsum = prenorm_gemm(residual.reshape(t, n * h), inputs["fn"], 1)
    w = token_head_weights(mixes[0], sqrsum[0], inputs["hc_scale"].double(), inputs["hc_base"].double(), n * h,
                           params["rms_eps"], params["hc_eps"])
    return {"out": collapse(residual, w), "weights": w, "mixes": mixes[0], "sqrsum": sqrsum[0]}
