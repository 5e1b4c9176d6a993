"""Adapter for AMD aiter's HIP mHC ops (ROCm, JIT module ``module_mhc``).

HIP ops (``aiter.ops.mhc``, JIT module ``module_mhc``), called as vLLM's ``_aiter_ops`` calls them:
  prenorm_gemm   mhc_pre_gemm_sqrsum(out [S, T, M] (rows padded to 32), sqrsum [S, T], x [T, K], fn, tile_k)
  pre_big_fuse   mhc_pre_big_fuse(post [T,n,1], comb [T,n,n], layer_input, partials..., residual, eps...)
                 mhc_pre_big_fuse_rmsnorm(...) with norm_weight
  mhc_pre        aiter.mhc_pre(residual, fn, hc_scale, hc_base, eps..., norm_weight, norm_eps)
                 (aiter picks split-K itself: the contract's n_splits does not change the function)
  hc_post        mhc_post(out, x, residual, post_layer_mix, comb_res_mix)
  fused_post_pre aiter.mhc_fused_post_pre(x, residual, post, comb, fn, ...) -> (post, comb, li, next_residual)
aiter < 0.1.14 raced in mhc_pre_gemm_sqrsum (ROCm/aiter PR 3033: a row's sum of squares stored
through a lane index that also hit other rows, wrong at large token counts): such a version is
still checked, and every report names the race.

Precision: NOT measured on ROCm hardware here (this workplace lends NVIDIA GPUs only). Declared as
TF32-class products with fp32 accumulation, the class of the MFMA paths aiter uses for an fp32
operand; the first ROCm run confirms or refutes it, and a change needs that evidence.

aiter's Triton mHC kernels are another backend: mhc_kernels.aiter.triton.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch

from mhc_kernels.base import Backend, Constraints, Precision

FIXED_VERSION = (0, 1, 14)
RACE = ("aiter < 0.1.14 races in mhc_pre_gemm_sqrsum (ROCm/aiter PR 3033): rows' sums of squares "
        "can take a neighbour's value at large token counts")
_ROCM = ("cuda",)  # ROCm torch exposes the GPU as device type "cuda"


def parse_version(text: str) -> tuple[int, ...]:
    """Leading numeric release parts: '0.1.13.post2' -> (0, 1, 13), '0.1.14rc1+rocm' -> (0, 1, 14)."""
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts)


def is_known_bad(version: str) -> bool:
    parsed = parse_version(version)
    return bool(parsed) and parsed < FIXED_VERSION


def _aiter_version(module: Any) -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = getattr(module, "__version__", None)
    if found:
        return str(found)
    for dist in ("amd-aiter", "aiter"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


class AiterBackend(Backend):
    name = "aiter"
    description = "AMD aiter HIP mHC ops (module_mhc)"
    device_type = "cuda"
    default_precision = Precision(matmul="tf32", elementwise_ulps=4.0, deterministic=False)
    default_constraints = Constraints(hc_mult=(4,), hidden_multiple_of=256, devices=_ROCM, n_splits=(1,))
    constraints = {
        "prenorm_gemm": Constraints(hc_mult=(4,), hidden_multiple_of=256, devices=_ROCM, min_tokens=1),
        "pre_big_fuse": Constraints(hc_mult=(4,), hidden_multiple_of=256, devices=_ROCM, min_tokens=1),
    }

    def __init__(self, module: Any = None) -> None:
        # ``module``: the aiter module to call (tests pass a recording test double here).
        self._module = module
        self.called: list[str] = []

    def _aiter(self):
        if self._module is None:
            self._module = importlib.import_module("aiter")
        return self._module

    @property
    def known_issues(self) -> dict[str, str]:  # type: ignore[override]
        try:
            version = _aiter_version(self._aiter())
        except Exception:  # noqa: BLE001 - unavailable: nothing known to report
            return {}
        if not is_known_bad(version):
            return {}
        note = f"installed aiter {version}: {RACE}"
        return {op: note for op in ("prenorm_gemm", "mhc_pre", "fused_post_pre")}

    def available(self) -> tuple[bool, str]:
        try:
            module = self._aiter()
        except Exception as e:  # noqa: BLE001 - the import error is the reason
            return False, f"cannot import aiter: {type(e).__name__}: {e}"
        if getattr(module, "IS_TEST_DOUBLE", False):
            return True, "aiter TEST DOUBLE (records calls; not a validation of aiter)"
        missing = [f for f in ("mhc_pre_gemm_sqrsum", "mhc_pre", "mhc_post") if not hasattr(module, f)]
        if missing:
            return False, (f"the importable 'aiter' ({getattr(module, '__file__', '?')}) has no {missing}: "
                           "too old for mHC, or PyPI's unrelated 'aiter' package (AMD's is 'amd-aiter')")
        if not getattr(torch.version, "hip", None):
            return False, f"aiter {_aiter_version(module)} imported, but torch is not a ROCm build"
        if not torch.cuda.is_available():
            return False, "no ROCm GPU visible to torch"
        return True, f"aiter {_aiter_version(module)} on {torch.cuda.get_device_name()}"

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        try:
            module = self._aiter()
            ops = importlib.import_module(module.__name__ + ".ops.mhc") if not getattr(
                module, "IS_TEST_DOUBLE", False) else module
            prov.update({
                "aiter": _aiter_version(module), "aiter_file": getattr(module, "__file__", None),
                "ops_file": getattr(ops, "__file__", None), "jit_module": "module_mhc",
                # Which functions ran, and from where: a silent fallback to another path shows here.
                "called": sorted(set(self.called)),
                "functions": {name: getattr(getattr(module, name, None), "__module__", None)
                              for name in ("mhc_pre_gemm_sqrsum", "mhc_pre", "mhc_post", "mhc_fused_post_pre")},
                "known_bad_version": is_known_bad(_aiter_version(module)),
                "precision_source": "declared, not measured on ROCm hardware",
            })
        except Exception as e:  # noqa: BLE001
            prov["error"] = f"{type(e).__name__}: {e}"
        return prov

    def _call(self, name: str, *args, **kwargs):
        self.called.append(name)
        return getattr(self._aiter(), name)(*args, **kwargs)

    @staticmethod
    def _tile_k(k: int, splits: int) -> int:
        # aiter's kernel takes tile_k 64 or 128 and needs two K tiles per split in flight.
        return 128 if k % (splits * 128) == 0 and k // splits >= 256 else 64

    def prenorm_gemm(self, x, fn, n_splits):
        t, k = x.shape
        m = fn.shape[0]
        padded = torch.empty(n_splits, t, (m + 31) // 32 * 32, dtype=torch.float32, device=x.device)
        out = padded[:, :, :m]  # aiter writes rows with a stride padded to 32 mixes
        sqrsum = torch.empty(n_splits, t, dtype=torch.float32, device=x.device)
        self._call("mhc_pre_gemm_sqrsum", out, sqrsum, x, fn, self._tile_k(k, n_splits))
        return out.contiguous(), sqrsum

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        t, n, h = residual.shape
        s, _, m = mixes_partial.shape
        padded = torch.empty(s, t, (m + 31) // 32 * 32, dtype=torch.float32, device=residual.device)
        padded[:, :, :m].copy_(mixes_partial)  # the layout aiter's own GEMM hands over
        post = torch.empty(t, n, 1, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if norm_weight is None:
            self._call("mhc_pre_big_fuse", post, comb, layer_input, padded[:, :, :m], sqrsum_partial, hc_scale,
                       hc_base, residual, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat)
        else:
            self._call("mhc_pre_big_fuse_rmsnorm", post, comb, layer_input, padded[:, :, :m], sqrsum_partial,
                       hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps, norm_eps,
                       hc_post_mult_value, sinkhorn_repeat)
        return post, comb, layer_input

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        if t == 0:  # the engines return before launching on zero tokens
            return (torch.empty(0, n, 1, device=residual.device), torch.empty(0, n, n, device=residual.device),
                    torch.empty(0, h, dtype=torch.bfloat16, device=residual.device))
        return tuple(self._call("mhc_pre", residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                                hc_post_mult_value, sinkhorn_repeat, norm_weight, norm_eps))

    def hc_post(self, x, residual, post_mix, comb_mix):
        out = torch.empty_like(residual)
        if residual.shape[0]:
            self._call("mhc_post", out, x, residual, post_mix, comb_mix)
        return out

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        if t == 0:
            return (torch.empty_like(residual), torch.empty(0, n, 1, device=residual.device),
                    torch.empty(0, n, n, device=residual.device),
                    torch.empty(0, h, dtype=torch.bfloat16, device=residual.device))
        post, comb, layer_input, next_residual = self._call(
            "mhc_fused_post_pre", x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, rms_eps, hc_pre_eps,
            hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_weight, norm_eps)
        return next_residual, post, comb, layer_input
