"""mixes: RMS-scale the projected mixes and split them into pre, post and comb logits.

    mix   = sum_s mixes_partial[s]           sq = sum_s sqrsum_partial[s]
    r     = rsqrt(sq / K + rms_eps)          m  = mix * r
    pre   = sigmoid(m[:n] * s0 + b[:n]) + hc_pre_eps
    post  = sigmoid(m[n:2n] * s1 + b[n:2n]) * hc_post_mult_value
    comb_logits = m[2n:].view(n, n) * s2 + b[2n:].view(n, n)

``token_mixes`` is written for one token (vmappable) with a rounding hook at every step a kernel
rounds: the identity here, a perturbation in the error model (mhc_verify.error_model).
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import no_perturb


def token_mixes(mix: torch.Tensor, sq: torch.Tensor, hc_scale: torch.Tensor, hc_base: torch.Tensor, n: int,
                rms_numel: int, rms_eps: float, hc_pre_eps: float, hc_post_mult_value: float,
                perturb=no_perturb) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mix [..., M], sq [...] float64 -> pre [..., n], post [..., n], comb_logits [..., n, n]."""
    arg = perturb("rms_arg", sq / rms_numel + rms_eps, fp_ops=2)
    r = perturb("rsqrt", torch.rsqrt(arg), transcendentals=1)
    m = perturb("scaled", mix * r.unsqueeze(-1), fp_ops=1)
    pre_logit = perturb("pre_logit", m[..., :n] * hc_scale[0] + hc_base[:n], fp_ops=2)
    pre = perturb("pre", torch.sigmoid(pre_logit) + hc_pre_eps, fp_ops=3, transcendentals=1)
    post_logit = perturb("post_logit", m[..., n:2 * n] * hc_scale[1] + hc_base[n:2 * n], fp_ops=2)
    post = perturb("post", torch.sigmoid(post_logit) * hc_post_mult_value, fp_ops=3, transcendentals=1)
    comb = m[..., 2 * n:] * hc_scale[2] + hc_base[2 * n:]
    comb = perturb("comb_logit", comb, fp_ops=2)
    return pre, post, comb.reshape(*comb.shape[:-1], n, n)


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    m = inputs["hc_base"].shape[0]
    n = int(round((m + 1) ** 0.5)) - 1
    pre, post, comb = token_mixes(
        inputs["mixes_partial"].double().sum(0), inputs["sqrsum_partial"].double().sum(0),
        inputs["hc_scale"].double(), inputs["hc_base"].double(), n, params["rms_numel"], params["rms_eps"],
        params["hc_pre_eps"], params["hc_post_mult_value"])
    return {"pre": pre, "post": post, "comb_logits": comb}
