"""Adapter for DeepSeek's TileKernels (`tile-kernels` on PyPI, MIT): third-party code under test.

What runs, exactly (also recorded in ``provenance()``):
  pre_big_fuse  tile_kernels.mhc.mhc_pre_big_fuse_fwd       (mixes + Sinkhorn + layer_input, one kernel)
  mhc_pre       GEMM stage in torch fp32 (TF32 off: TileKernels' own GEMM lives in DeepGEMM), then
                mhc_pre_big_fuse_fwd on its split-K partials
  sinkhorn      tile_kernels.mhc.mhc_sinkhorn_fwd
  layer_input   tile_kernels.mhc.mhc_pre_apply_mix_fwd
  hc_post       tile_kernels.mhc.mhc_post_fwd               ([1, T, ...] views: it takes seqs x tokens)
  hc_head       torch fp32 GEMM + rsqrt, then mhc_head_compute_mix_fwd and mhc_pre_apply_mix_fwd
  fused_post_pre  mhc_post_fwd then the mhc_pre path above
TileKernels has no fused RMSNorm weight in its pre, so norm_weight is declared unsupported.
Zero tokens return empty outputs without a launch, as the engines do.
"""

from __future__ import annotations

from typing import Any

import torch

from mhc_kernels.base import Backend, Constraints, Precision
from mhc_kernels.torch_native import prenorm_gemm_fp32

_CUDA = ("cuda",)
# Measured constraints of tile-kernels 2.1.0's CUDA path: hc_mult 4 is what its kernels are tuned
# and tested for; mhc_post_fwd asserts gcd(H, 1024) % 128 == 0.
_CONSTRAINTS = Constraints(hc_mult=(4,), hidden_multiple_of=128, devices=_CUDA, norm_weight=False)


class TileKernelsBackend(Backend):
    name = "tile_kernels"
    description = "DeepSeek TileKernels (tile-kernels on PyPI) mHC forward kernels"
    device_type = "cuda"
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)
    default_constraints = _CONSTRAINTS
    constraints = {"sinkhorn": Constraints(hc_mult=(4,), devices=_CUDA)}

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def available(self) -> tuple[bool, str]:
        try:
            import tile_kernels.mhc  # noqa: F401
        except Exception as e:  # noqa: BLE001 - the import error is the reason
            return False, f"cannot import tile_kernels: {type(e).__name__}: {e}"
        if not torch.cuda.is_available():
            return False, "no CUDA device (TileKernels' mHC kernels run on CUDA)"
        return True, f"tile-kernels {_version('tile-kernels')} on {torch.cuda.get_device_name()}"

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        try:
            import tile_kernels
            import tile_kernels.config as cfg

            prov.update({"tile_kernels": _version("tile-kernels"), "tile_kernels_file": tile_kernels.__file__,
                         "tilelang": _version("tilelang"), "pdl": cfg.get_pdl(),
                         "gemm_stage": "torch fp32 matmul (cuBLAS, allow_tf32="
                                       f"{torch.backends.cuda.matmul.allow_tf32})",
                         "calls": dict(self.calls)})
        except Exception as e:  # noqa: BLE001
            prov["error"] = f"{type(e).__name__}: {e}"
        if torch.cuda.is_available():
            prov["device"] = torch.cuda.get_device_name()
        return prov

    def _count(self, fn_name: str) -> None:
        self.calls[fn_name] = self.calls.get(fn_name, 0) + 1

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        from tile_kernels.mhc import mhc_pre_big_fuse_fwd

        t, n, h = residual.shape
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n * n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            self._count("mhc_pre_big_fuse_fwd")
            mhc_pre_big_fuse_fwd(mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, post, comb, layer_input,
                                 rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                 n_splits=mixes_partial.shape[0])
        return post.unsqueeze(-1), comb.view(t, n, n), layer_input

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        mixes, sqrsum = prenorm_gemm_fp32(residual.view(t, n * h), fn, n_splits)
        return self.pre_big_fuse(mixes, sqrsum, hc_scale, hc_base, residual, None, rms_eps, hc_pre_eps,
                                 hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)

    def sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        from tile_kernels.mhc import mhc_sinkhorn_fwd

        out = torch.empty_like(comb_logits)
        if comb_logits.shape[0]:
            self._count("mhc_sinkhorn_fwd")
            mhc_sinkhorn_fwd(comb_logits, out, sinkhorn_repeat, hc_sinkhorn_eps)
        return out

    def layer_input(self, residual, pre):
        from tile_kernels.mhc import mhc_pre_apply_mix_fwd

        t, n, h = residual.shape
        out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            self._count("mhc_pre_apply_mix_fwd")
            mhc_pre_apply_mix_fwd(residual.contiguous(), pre.contiguous(), out)
        return out

    def hc_post(self, x, residual, post_mix, comb_mix):
        from tile_kernels.mhc import mhc_post_fwd

        t, n, h = residual.shape
        if not t:
            return torch.empty_like(residual)
        self._count("mhc_post_fwd")
        out = mhc_post_fwd(x.unsqueeze(0), residual.unsqueeze(0), post_mix.unsqueeze(0), comb_mix.unsqueeze(0))
        return out.view(t, n, h)

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        from tile_kernels.mhc import mhc_head_compute_mix_fwd

        t, n, h = residual.shape
        mixes, sqrsum = prenorm_gemm_fp32(residual.view(t, n * h), fn, 1)
        scaled = (mixes[0] * torch.rsqrt(sqrsum[0] / (n * h) + rms_eps).unsqueeze(-1)).contiguous()
        weights = torch.empty_like(scaled)
        if t:
            self._count("mhc_head_compute_mix_fwd")
            mhc_head_compute_mix_fwd(scaled, hc_scale, hc_base, weights, hc_eps)
        return self.layer_input(residual, weights)

    fused_post_pre = Backend.compose_post_then_pre  # mhc_post_fwd, then the mhc_pre path above


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
