"""vLLM's own mHC kernels (``vllm/model_executor/kernels/mhc``), called as vLLM calls them.

Call sites quoted (vLLM 0.33.0 wheel; kernels/vllm/README.md lists them all):
  vllm-tilelang   the CUDA path: models/deepseek_v4/nvidia/model.py calls mhc_pre_tilelang and
                  mhc_fused_post_pre_tilelang(..., n_splits=1, tile_n=1, norm_weight, norm_eps);
                  layers/mhc.py's MHCPostOp / MHCHeadOp.forward_cuda call mhc_post_tilelang and
                  hc_head_fused_kernel_tilelang. prenorm_gemm and pre_big_fuse are the two JIT
                  kernels mhc_pre_tilelang launches (tilelang.py: _hc_prenorm_gemm_outputs's
                  TileLang branch, then _MHC_PRE_BIG_FUSE_TILELANG_KERNEL).
  vllm-triton     kernels/mhc/triton.py: hc_collapse_triton (layer_input), mhc_pre_mix_triton (the
                  pre gate of the delayed pre: op pre_mix), _hc_head_triton (hc_head on ROCm
                  without TileLang, layers/mhc.py MHCHeadOp.forward_hip).
  vllm-torch      kernels/mhc/torch.py: mhc_pre_torch, mhc_post_torch, and the fused post+pre as
                  MHCFusedPostPreOp.forward_native composes them.
  vllm-deepgemm   vllm.utils.deep_gemm.tf32_hc_prenorm_gemm, vLLM's default CUDA prenorm GEMM
                  where DeepGEMM is installed (declared TF32, as its name says).

Whether mhc_pre_tilelang runs DeepGEMM or its TileLang GEMM is vLLM's choice
(``is_deep_gemm_supported()``: Hopper/Blackwell, VLLM_USE_DEEP_GEMM, deep_gemm importable); the
declared GEMM precision follows it and the provenance records which ran.
"""

from __future__ import annotations

from typing import Any

import torch

from mhc_kernels.base import Constraints, Precision
from mhc_kernels.engine import EngineBackend

MHC = "vllm.model_executor.kernels.mhc"
TILELANG = f"{MHC}.tilelang"
TILELANG_KERNELS = f"{MHC}.tilelang_kernels"
TRITON = f"{MHC}.triton"
TORCH = f"{MHC}.torch"
DEEP_GEMM = "vllm.utils.deep_gemm"

_CUDA = ("cuda",)
# DeepSeek-V4's shapes: 4 streams; the TileLang prenorm GEMM asserts K/n_splits % 512 == 0
# (tilelang_kernels.py, HcPrenormGemmTileLangKernel.__call__), i.e. H % 128 at n = 4.
_DSV4 = Constraints(hc_mult=(4,), hidden_multiple_of=128, devices=_CUDA)


class _Vllm(EngineBackend):
    package = "vllm"


class VllmTileLangBackend(_Vllm):
    name = "vllm-tilelang"
    description = "vLLM's TileLang mHC kernels (the CUDA path of DeepSeek-V4)"
    modules = (TILELANG, TILELANG_KERNELS, DEEP_GEMM)
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)
    default_constraints = _DSV4
    # The TileLang GEMM alone (the branch _hc_prenorm_gemm_outputs takes without DeepGEMM) writes
    # one split: the op with S > 1 is DeepGEMM's (vllm-deepgemm).
    constraints = {"prenorm_gemm": Constraints(hc_mult=(4,), hidden_multiple_of=128, devices=_CUDA,
                                               n_splits=(1,))}

    def _deep_gemm_selected(self) -> bool:
        try:
            return bool(self.engine(DEEP_GEMM, "is_deep_gemm_supported")())
        except Exception:  # noqa: BLE001 - not importable: vLLM takes its TileLang GEMM
            return False

    def precision_for(self, op: str) -> Precision:
        # mhc_pre and fused_post_pre run the GEMM vLLM selects: DeepGEMM's is TF32.
        if op in ("mhc_pre", "fused_post_pre") and self._deep_gemm_selected():
            return Precision(matmul="tf32", elementwise_ulps=4.0, deterministic=True)
        return super().precision_for(op)

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        prov["prenorm_gemm_in_mhc_pre"] = ("DeepGEMM tf32_hc_prenorm_gemm" if self._deep_gemm_selected()
                                           else "TileLang _HC_PRENORM_GEMM_TILELANG_KERNEL (fp32)")
        return prov

    def prenorm_gemm(self, x, fn, n_splits):
        t, k = x.shape
        m = fn.shape[0]
        n = int(round((m + 1) ** 0.5)) - 1
        out = torch.empty(1, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(1, t, dtype=torch.float32, device=x.device)
        self.call(TILELANG_KERNELS, "_HC_PRENORM_GEMM_TILELANG_KERNEL", x, fn, out, sqrsum, k // n, n)
        return out, sqrsum

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        t, n, h = residual.shape
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n * n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        self.call(TILELANG_KERNELS, "_MHC_PRE_BIG_FUSE_TILELANG_KERNEL", mixes_partial, sqrsum_partial, hc_scale,
                  hc_base, residual, post, comb, layer_input, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                  hc_post_mult_value, sinkhorn_repeat, norm_weight=norm_weight, norm_eps=norm_eps)
        return post.view(t, n, 1), comb.view(t, n, n), layer_input

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        return self.call(TILELANG, "mhc_pre_tilelang", residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps,
                         hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, n_splits=n_splits,
                         norm_weight=norm_weight, norm_eps=norm_eps)

    def hc_post(self, x, residual, post_mix, comb_mix):
        return self.call(TILELANG, "mhc_post_tilelang", x, residual, post_mix, comb_mix)

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        return self.call(TILELANG, "mhc_fused_post_pre_tilelang", x, residual, post_mix, comb_mix, fn, hc_scale,
                         hc_base, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                         n_splits=n_splits, tile_n=1, norm_weight=norm_weight, norm_eps=norm_eps)

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        return self.call(TILELANG, "hc_head_fused_kernel_tilelang", residual, fn, hc_scale, hc_base, rms_eps,
                         hc_eps)


class VllmTritonBackend(_Vllm):
    name = "vllm-triton"
    description = "vLLM's Triton mHC kernels (collapse, the delayed pre's gate, hc_head's ROCm fallback)"
    modules = (TRITON,)
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)
    default_constraints = Constraints(devices=_CUDA)
    not_implemented = {
        "mhc_pre": "vLLM has no Triton pre (its Triton file holds the collapse, the pre gate and hc_head)",
        "hc_post": "vLLM has no Triton post",
        "fused_post_pre": "vLLM has no Triton fused post+pre",
        "mixes": "mhc_pre_mix_triton computes the pre gate only: judged as the op pre_mix",
    }

    def layer_input(self, residual, pre):
        return self.call(TRITON, "hc_collapse_triton", residual, pre)

    def pre_mix(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, rms_numel):
        n = int(round((hc_base.shape[0] + 1) ** 0.5)) - 1
        return self.call(TRITON, "mhc_pre_mix_triton", mixes_partial, sqrsum_partial, hc_scale, hc_base, n,
                         rms_numel, rms_eps, hc_pre_eps)

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        t, n, h = residual.shape
        # MHCHeadOp.forward_hip allocates the output and calls the registered op hc_head_triton,
        # whose body is _hc_head_triton (layers/mhc.py; kernels/mhc/triton.py).
        out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        self.call(TRITON, "_hc_head_triton", residual, fn, hc_scale, hc_base, out, h, rms_eps, hc_eps, n)
        return out


class VllmTorchBackend(_Vllm):
    name = "vllm-torch"
    description = "vLLM's torch mHC fallback (kernels/mhc/torch.py)"
    modules = (TORCH,)
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=False)
    # mhc_pre_torch takes no norm_weight (MHCPreOp.forward_native drops it).
    default_constraints = Constraints(devices=_CUDA, norm_weight=False)
    not_implemented = {"hc_head": "vLLM has no native hc_head (MHCHeadOp.forward_native raises "
                                  "NotImplementedError)"}

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        return self.call(TORCH, "mhc_pre_torch", residual, fn, hc_scale, hc_base, rms_eps, hc_pre_eps,
                         hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, n_splits)

    def hc_post(self, x, residual, post_mix, comb_mix):
        return self.call(TORCH, "mhc_post_torch", x, residual, post_mix, comb_mix)

    # MHCFusedPostPreOp.forward_native: mhc_post_torch, then mhc_pre_torch on its output.
    fused_post_pre = _Vllm.compose_post_then_pre


class VllmDeepGemmBackend(_Vllm):
    name = "vllm-deepgemm"
    description = "DeepGEMM's tf32_hc_prenorm_gemm as vLLM calls it (vllm.utils.deep_gemm)"
    modules = (DEEP_GEMM,)
    default_precision = Precision(matmul="tf32", elementwise_ulps=4.0, deterministic=False)
    default_constraints = Constraints(hc_mult=(4,), hidden_multiple_of=128, devices=_CUDA)

    def unavailable_reason(self) -> str | None:
        has = self.engine(DEEP_GEMM, "has_deep_gemm")
        if not has():
            return "vLLM imports, but its DeepGEMM extension (vllm/third_party/deep_gemm) does not"
        return None

    def prenorm_gemm(self, x, fn, n_splits):
        t = x.shape[0]
        out = torch.empty(n_splits, t, fn.shape[0], dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(n_splits, t, dtype=torch.float32, device=x.device)
        self.call(DEEP_GEMM, "tf32_hc_prenorm_gemm", x, fn, out, sqrsum, n_splits)
        return out, sqrsum
