"""prenorm GEMM: the mixes projection and the sum of squares, as split-K partials.

    mixes_partial[s, t, j] = sum_{k in split s} x[t, k] * fn[j, k]
    sqrsum_partial[s, t]   = sum_{k in split s} x[t, k]^2

split s covers the contiguous columns [s*K/S, (s+1)*K/S). Summing over s gives x @ fn.T and
sum(x*x). float64 products of a bf16 and an fp32 value are exact; the sums round in float64 only.
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import token_chunks


def prenorm_gemm(x: torch.Tensor, fn: torch.Tensor, n_splits: int) -> tuple[torch.Tensor, torch.Tensor]:
    t, k = x.shape
    m = fn.shape[0]
    w = fn.double().view(m, n_splits, k // n_splits).transpose(0, 1)  # [S, M, K/S]
    mixes = torch.empty(n_splits, t, m, dtype=torch.float64, device=x.device)
    sqrsum = torch.empty(n_splits, t, dtype=torch.float64, device=x.device)
    for rows in token_chunks(t, k):
        xs = x[rows].double().view(-1, n_splits, k // n_splits).transpose(0, 1)  # [S, t, K/S]
        mixes[:, rows] = torch.bmm(xs, w.transpose(1, 2))
        sqrsum[:, rows] = xs.square().sum(-1)
    return mixes, sqrsum


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    mixes, sqrsum = prenorm_gemm(inputs["x"], inputs["fn"], params["n_splits"])
    return {"mixes_partial": mixes, "sqrsum_partial": sqrsum}
