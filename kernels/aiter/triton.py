"""AMD aiter's Triton mHC kernels (``aiter.ops.triton.fusions.mhc``), on any GPU Triton targets.

What runs (ROCm/aiter, ``aiter/ops/triton/fusions/mhc.py``):
  hc_post         mhc_post(out, x, residual, post_mix, comb_mix, config=...): exactly the engines'
                  hc_post (fp32 products and sums, one bf16 rounding); n must be a power of two.
  fused_post_pre  mhc_post_pre(x, residual, post_mix, comb_mix, fn.T, hc_scale, hc_base, n, rms_eps,
                  hc_pre_eps, hc_post_mult_value, sinkhorn_repeat, asymmetric_exp_domain=True,
                  hc_sinkhorn_eps=..., h_post / h_res fp32 buffers), as SGLang calls it on ROCm
                  (srt/models/deepseek_common/amd/deepseek_v4_fused_mhc.py, try_fused_hc_post_pre:
                  ``hc_fn_t``, the exp-domain Sinkhorn, fp32 h_post and h_res). Two departures from
                  the engines' unfused op, declared below, both in its split kernel
                  (_triton_kernels/fusions/mhc.py, _mhc_post_pre_split_kernel): the GEMM multiplies
                  the bf16 residual by fn cast to bf16 (``phi ... .to(out_dtype)``, then
                  ``tl.dot(out_flat_cast, phi_flat)``) and the sum of squares reads the unrounded
                  fp32 residual (``tl.sum(out_flat * out_flat)``).
Not implemented, with the reason in ``not_implemented``: mhc() (a different function, see there).

Configs: aiter's tuned tables exist for gfx942/gfx950 only and carry ``waves_per_eu``, an AMD-only
launch option Triton on CUDA rejects, and get_mhc_post_config has no fallback; the adapter passes
``config={}``, i.e. aiter's own in-code defaults for every block size.
"""

from __future__ import annotations

import os

import torch

from mhc_kernels.base import Constraints, Precision, Semantics
from mhc_kernels.engine import EngineBackend

FUSIONS = "aiter.ops.triton.fusions.mhc"


class AiterTritonBackend(EngineBackend):
    name = "aiter-triton"
    description = "AMD aiter's Triton mHC kernels (mhc_post, mhc_post_pre), run through Triton on this GPU"
    package = "aiter"
    modules = (FUSIONS,)
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)
    precision = {"fused_post_pre": Precision(matmul="bf16", elementwise_ulps=4.0, deterministic=True)}
    semantics = {"fused_post_pre": Semantics(sqrsum_from_unrounded=True)}
    constraints = {
        # tl.arange(0, n) over the streams and n*n Sinkhorn tiles need powers of two.
        "hc_post": Constraints(hc_mult=(2, 4, 8), devices=("cuda",)),
        # min_k: on NVIDIA, mhc_post_pre's split kernel does not compile where K = n*H <= 8. With
        # config={}, BLOCK_K = min(512, next_pow2(K)) (fusions/mhc.py:597-598) and the split kernel
        # gets BLOCK_C = BLOCK_K // n (:610, :709); its tl.dot(out_flat_cast, phi_flat)
        # (_triton_kernels/fusions/mhc.py:940) then has K = n*BLOCK_C = min(512, next_pow2(n*H)), and
        # Triton's NVIDIA backend needs K >= 16 for bf16 (triton/backends/nvidia/compiler.py:19-29):
        # "CompilationError at 164:15 ... Input shapes should have M >= 1, N >= 1 and K >= 16".
        # Measured (aiter e4048607a535, Triton 3.6.0, sm_90; tests/test_aiter_triton_compile.py):
        # fails for (n, H) = (2, 1..4), (4, 1..2), (8, 1), compiles from n*H = 9 up (seen on an
        # H200 as 7 swap cases at H = 1, n = 4). Engines run H = 4096 and 7168. Triton's AMD backend
        # has no lower bound on a dot's K (backends/amd/compiler.py:15-18; gfx942 compiles it).
        "fused_post_pre": Constraints(hc_mult=(2, 4, 8), devices=("cuda",), norm_weight=False,
                                      min_k=0 if getattr(torch.version, "hip", None) else 9),
    }
    not_implemented = {
        "mhc_pre": ("aiter's Triton has no standalone pre with the engines' Sinkhorn: mhc() computes another "
                    "function (log-domain Sinkhorn without eps, bf16 outputs, phi in x's dtype)"),
    }

    def module(self, name: str):
        # Without ROCm, aiter's import would load its HIP ops and call rocminfo; its Triton-only mode
        # is how aiter documents using these kernels elsewhere. On ROCm the HIP backend needs them.
        if not getattr(torch.version, "hip", None):
            os.environ.setdefault("AITER_TRITON_ONLY", "1")
        return super().module(name)

    def engine_version(self) -> str:
        found = super().engine_version()
        if found != "unknown":
            return found
        try:  # a source-tree bundle (scripts/aiter_site.sh) records the commit it was packed from
            import json
            from importlib.resources import files

            info = json.loads(files("aiter").joinpath("BUNDLE.json").read_text())
            return f"source {info['commit'][:12]} ({info['date']})"
        except Exception:  # noqa: BLE001
            return "unknown"

    def hc_post(self, x, residual, post_mix, comb_mix):
        out = torch.empty_like(residual)
        return self.call(FUSIONS, "mhc_post", out, x, residual, post_mix, comb_mix, config={})

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        if t == 0:  # SGLang's call site returns before the launch at zero tokens (try_fused_hc_post_pre)
            return (torch.empty_like(residual), torch.empty(0, n, 1, device=residual.device),
                    torch.empty(0, n, n, device=residual.device),
                    torch.empty(0, h, dtype=torch.bfloat16, device=residual.device))
        h_post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        h_res = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        _, _, layer_input, residual_out = self.call(
            FUSIONS, "mhc_post_pre", x, residual, post_mix, comb_mix, fn.T, hc_scale, hc_base, n, rms_eps,
            hc_pre_eps, hc_post_mult_value, sinkhorn_repeat, asymmetric_exp_domain=True,
            hc_sinkhorn_eps=hc_sinkhorn_eps, h_post=h_post, h_res=h_res, config={})
        return residual_out, h_post.view(t, n, 1), h_res, layer_input
