"""layer_input: collapse the n streams with the pre weights.

    layer_input[t, h] = sum_k pre[t, k] * residual[t, k, h]      (one rounding, to bf16, by the kernel)

With a norm weight (vLLM's fused-norm pre), the engine rounds that collapse to bf16 and applies
RMSNorm to it:  li = bf16(collapse);  out = li * rsqrt(mean_h(li^2) + norm_eps) * w.
The reference returns the exact float64 value; the harness compares after the kernel's rounding.
"""

from __future__ import annotations

import torch

from mhc_reference._chunks import token_chunks


def collapse(residual: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
    t, n, h = residual.shape
    out = torch.empty(t, h, dtype=torch.float64, device=residual.device)
    for rows in token_chunks(t, n * h):
        out[rows] = torch.einsum("tk,tkh->th", pre[rows].double(), residual[rows].double())
    return out


def rms_normalize(collapsed_bf16: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm of the bf16-rounded collapse, in float64 (no further rounding)."""
    li = collapsed_bf16.double()
    return li * torch.rsqrt(li.square().mean(-1, keepdim=True) + eps) * weight.double()


def reference(inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    return {"layer_input": collapse(inputs["residual"], inputs["pre"])}
