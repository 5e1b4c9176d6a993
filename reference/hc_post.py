"""hc_post: write the sublayer output back into the n residual streams.

    out[t, j, h] = sum_i comb_mix[t, i, j] * residual[t, i, h] + post_mix[t, j] * x[t, h]
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import token_chunks


def hc_post(x, residual, post_mix, comb_mix) -> torch.Tensor:
    t, n, h = residual.shape
    out = torch.empty(t, n, h, dtype=torch.float64, device=residual.device)
    for rows in token_chunks(t, 2 * n * h):
        mixed = torch.einsum("tij,tih->tjh", comb_mix[rows].double(), residual[rows].double())
        out[rows] = mixed + post_mix[rows].double() * x[rows].double().unsqueeze(1)
    return out


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    return {"out": hc_post(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])}
