"""sinkhorn: project the comb logits onto (nearly) doubly-stochastic matrices.

    c = softmax(logits, dim=-1) + eps
    c = c / (c.sum(-2) + eps)                      # columns
    repeat - 1 times:
        c = c / (c.sum(-1) + eps)                  # rows
        c = c / (c.sum(-2) + eps)                  # columns

softmax subtracts the row maximum (the result is the same function; it keeps exp finite).
``token_sinkhorn`` marks every step a kernel rounds (see mhc_reference.mixes).
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import no_perturb


def token_sinkhorn(logits: torch.Tensor, repeat: int, eps: float, perturb=no_perturb) -> torch.Tensor:
    """logits [..., n, n] float64 -> comb [..., n, n]."""
    n = logits.shape[-1]
    # exp(z) amplifies an absolute error of z into a relative one: z = l - max is a rounding point.
    z = perturb("softmax_arg", logits - logits.amax(-1, keepdim=True), fp_ops=2)
    e = perturb("exp", torch.exp(z), transcendentals=1)
    c = perturb("softmax", e / e.sum(-1, keepdim=True), fp_ops=n)
    c = perturb("softmax_eps", c + eps, fp_ops=1)
    c = perturb("col_0", c / (c.sum(-2, keepdim=True) + eps), fp_ops=n + 1)
    for i in range(1, repeat):
        c = perturb(f"row_{i}", c / (c.sum(-1, keepdim=True) + eps), fp_ops=n + 1)
        c = perturb(f"col_{i}", c / (c.sum(-2, keepdim=True) + eps), fp_ops=n + 1)
    return c


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    return {"comb_mix": token_sinkhorn(inputs["comb_logits"].double(), params["sinkhorn_repeat"],
                                       params["hc_sinkhorn_eps"])}
