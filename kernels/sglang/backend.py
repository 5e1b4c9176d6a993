"""SGLang's own mHC kernels (``sglang.kernels.ops.layernorm``), called as SGLang calls them.

Call sites quoted (SGLang 0.5.23 wheel, paths under ``sglang/``; kernels/sglang/README.md lists all):
  sglang-tilelang  kernels/ops/layernorm/mhc.py, the TileLang ops of DeepSeek-V4's CUDA path:
                   mhc_pre (srt/models/deepseek_v4.py:3429, keyword arguments, no n_splits),
                   mhc_post (srt/models/deepseek_v4_mhc.py:588, reached through post(), which
                   returns before any kernel at zero tokens, deepseek_v4_mhc.py:533),
                   mhc_fused_post_pre (srt/models/deepseek_common/amd/deepseek_v4_fused_mhc.py:449,
                   post as [T, n, 1], norm_weight / norm_eps keywords), hc_split_sinkhorn
                   (deepseek_v4.py:3483 and deepseek_v4_mhc.py:427, on mixes [T, 1, M]), and the two
                   kernels mhc_pre launches: the prenorm GEMM it runs above 2048 tokens
                   (mhc.py:1193, _mhc_pre_gemm_sqrsum_dispatch()(...)) and the big fuse
                   (mhc.py:1216 / 1238, mhc_pre_big_fuse_[with_norm_]tilelang).
  sglang-triton    the Triton kernels DeepSeek-V4 calls on CUDA: fused_hc_head
                   (kernels/ops/layernorm/mhc_head.py; deepseek_v4.py:3935, x.contiguous(), only
                   when x.numel() > 0), mhc_combine (mhc.py:2743; deepseek_v4_mhc.py:517 on
                   x.flatten(1)) and mhc_post_split_h (kernels/ops/layernorm/mhc_post_split_h.py;
                   deepseek_v4_mhc.py:562 / 584, the small-batch post).
  sglang-torch     mhc.py's torch fallbacks _mhc_pre_torch / _mhc_post_torch, which
                   _mhc_pre_dispatch / _mhc_post_dispatch take when SGLANG_OPT_USE_TILELANG_MHC_PRE /
                   _POST are off (mhc.py:1987, 2036).

Declared departures (file:line in the README): every TileLang prenorm GEMM multiplies fp32 operands
with T.gemm, i.e. TF32 tensor cores (mhc.py:645, 751; DeepGEMM's tf32_hc_prenorm_gemm where
SGLang selects it, mhc.py:1130, is TF32 too); mhc_pre needs n*H in {16384, 28672} up to 2048
tokens (mhc.py:1140-1150) and n <= 4 (hc_mult3 <= 32, mhc.py:608, 688); fused_hc_head pads n to a
power of two and masks with the padded count (mhc_head.py:63, 82, 133).

SGLang's bundle (../shared/device/sglang-site.sh) ships ``sglang_mhc_standalone``, whose prepare()
states the single-GPU parallel layout mhc_pre / mhc_post read outside a server; the adapter calls it
once before the first SGLang import when it is importable (a full SGLang install has no such module).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from mhc_kernels.base import ConstraintError, Constraints, Precision
from mhc_kernels.engine import EngineBackend
from mhc_reference.contract import OpSpec

LAYERNORM = "sglang.kernels.ops.layernorm"
MHC = f"{LAYERNORM}.mhc"
MHC_HEAD = f"{LAYERNORM}.mhc_head"
POST_SPLIT_H = f"{LAYERNORM}.mhc_post_split_h"
STANDALONE = "sglang_mhc_standalone"

_CUDA = ("cuda",)
# The TileLang GEMMs (mhc.py:598, 679) feed fp32 x and fn to T.gemm: TF32 tensor-core products.
_TF32 = Precision(matmul="tf32", elementwise_ulps=4.0, deterministic=True)
_FP32 = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)


@dataclass(frozen=True)
class SmallBatchConstraints(Constraints):
    """Constraints plus mhc_pre's small-batch rule: up to ``small_batch_tokens`` tokens SGLang runs
    its split-K GEMM, whose hidden block is chosen only for K = n*H in ``small_batch_k``; any
    other K raises NotImplementedError there (mhc.py:1140-1150)."""

    small_batch_tokens: int = 2048
    small_batch_k: tuple[int, ...] = (16384, 28672)

    def check(self, spec: OpSpec, sizes: Mapping[str, int], inputs: Mapping[str, Any],
              params: Mapping[str, Any], backend: str) -> None:
        super().check(spec, sizes, inputs, params, backend)
        t, k = sizes.get("T"), sizes.get("K")
        if t is not None and k is not None and t <= self.small_batch_tokens and k not in self.small_batch_k:
            raise ConstraintError(f"{backend}/{spec.name}: T={t} <= {self.small_batch_tokens} needs K = n*H in "
                                  f"{list(self.small_batch_k)} (SGLang's split-K GEMM), got K={k}")


class _Sglang(EngineBackend):
    package = "sglang"

    def module(self, name: str) -> Any:
        if name not in self._given:
            _prepare_bundle()
        return super().module(name)

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        prov["SGLANG_OPT_DEEPGEMM_HC_PRENORM"] = os.environ.get("SGLANG_OPT_DEEPGEMM_HC_PRENORM", "unset")
        return prov


_PREPARED = False


def _prepare_bundle() -> None:
    """Run the standalone bundle's prepare() once, where the bundle is on the path (see the module
    docstring); with a full SGLang install the module is absent and nothing happens."""
    global _PREPARED
    if _PREPARED:
        return
    try:
        standalone = importlib.import_module(STANDALONE)
    except ImportError:
        _PREPARED = True
        return
    standalone.prepare()
    _PREPARED = True


def _n_of_mixes(m: int) -> int:
    return int(round((m + 1) ** 0.5)) - 1


class SglangTileLangBackend(_Sglang):
    name = "sglang-tilelang"
    description = "SGLang's TileLang mHC kernels (DeepSeek-V4's CUDA path, kernels/ops/layernorm/mhc.py)"
    modules = (MHC,)
    default_precision = _FP32
    precision = {"mhc_pre": _TF32, "fused_post_pre": _TF32, "prenorm_gemm": _TF32}
    # DeepSeek-V4's n = 4 (hc_mult3 = n*n + 2n <= 32 is asserted by every TileLang GEMM: n <= 4).
    default_constraints = Constraints(hc_mult=(4,), devices=_CUDA)
    constraints = {
        # mhc.py:1140-1150 (split-K GEMM up to 2048 tokens), 1190 (n_splits == 1 otherwise), 610
        # (K % 256 in the GEMM above 2048 tokens); the call site passes no n_splits (deepseek_v4.py:3429).
        "mhc_pre": SmallBatchConstraints(hc_mult=(4,), hidden_multiple_of=64, n_splits=(1,), devices=_CUDA),
        # mhc.py:610 asserts K % hidden_block (256); one split (out is [T, M]). SGLang launches this
        # GEMM only above 2048 tokens in mhc_pre (mhc.py:1140, 1193) and above 32 in the fused op
        # (mhc.py:1693, 1765): never at fewer than 33 tokens, so neither at T = 0, where it raises
        # (an invalid TMA descriptor for zero rows; seen on an H200, not an engine finding).
        "prenorm_gemm": Constraints(hc_mult=(4,), hidden_multiple_of=64, n_splits=(1,), min_tokens=33,
                                    devices=_CUDA),
        # above 32 tokens the fused op runs the same GEMM (mhc.py:1765): K % 256; n_splits is chosen
        # inside (mhc.py:1694-1698), the call site passes none.
        "fused_post_pre": Constraints(hc_mult=(4,), hidden_multiple_of=64, n_splits=(1,), devices=_CUDA),
    }
    not_implemented = {
        "mixes": ("SGLang has no kernel from split-K partials to the comb logits: its TileLang big fuse "
                  "goes on to Sinkhorn and layer_input (op pre_big_fuse)"),
        "pre_mix": "SGLang has no separate pre gate from split-K partials",
        "layer_input": "SGLang's collapse is the Triton mhc_combine (backend sglang-triton)",
        "hc_head": "SGLang's hc_head is the Triton fused_hc_head (backend sglang-triton)",
    }

    def _deep_gemm_selected(self) -> bool:
        # mhc.py:218-224: SGLANG_OPT_DEEPGEMM_HC_PRENORM and DeepGEMM's JIT; the bundle's prepare()
        # turns the variable off (the DeepGEMM wrapper is not carried), so the TileLang GEMM runs.
        return os.environ.get("SGLANG_OPT_DEEPGEMM_HC_PRENORM", "1").lower() not in ("0", "false", "")

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        prov["prenorm_gemm_in_mhc_pre"] = (
            "DeepGEMM tf32_hc_prenorm_gemm if SGLang's ENABLE_JIT_DEEPGEMM (TF32)" if self._deep_gemm_selected()
            else "TileLang mhc_pre_gemm_sqrsum_splitk (T <= 2048) / mhc_pre_gemm_sqrsum_tilelang (TF32)")
        return prov

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        if t == 0:  # DeepseekV4DecoderLayer.hc_pre returns before mhc_pre at zero tokens (deepseek_v4.py:3381)
            return (torch.empty(0, n, 1, device=residual.device), torch.empty(0, n, n, device=residual.device),
                    torch.empty(0, h, dtype=torch.bfloat16, device=residual.device))
        norm_kwargs = {} if norm_weight is None else {"norm_weight": norm_weight, "norm_eps": norm_eps}
        return self.call(MHC, "mhc_pre", residual=residual, fn=fn, hc_scale=hc_scale, hc_base=hc_base,
                         rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
                         hc_post_mult_value=hc_post_mult_value, sinkhorn_repeat=sinkhorn_repeat, **norm_kwargs)

    def prenorm_gemm(self, x, fn, n_splits):
        t, k = x.shape
        m = fn.shape[0]
        out = torch.empty(1, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(1, t, dtype=torch.float32, device=x.device)
        # mhc.py:1193: _mhc_pre_gemm_sqrsum_dispatch()(x, fn, out.squeeze(0), sqrsum.squeeze(0), M, K)
        kernel = self.call(MHC, "_mhc_pre_gemm_sqrsum_dispatch")
        kernel(x, fn, out.squeeze(0), sqrsum.squeeze(0), m, k)
        return out, sqrsum

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        s, t, m = mixes_partial.shape
        n, h = residual.shape[1], residual.shape[2]
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n * n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if norm_weight is not None:  # mhc.py:1216
            self.call(MHC, "mhc_pre_big_fuse_with_norm_tilelang", mixes_partial, sqrsum_partial, hc_scale, hc_base,
                      residual, post, comb, layer_input, norm_weight, h, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                      hc_post_mult_value, sinkhorn_repeat, norm_eps, s, n, m)
        else:  # mhc.py:1238
            self.call(MHC, "mhc_pre_big_fuse_tilelang", mixes_partial, sqrsum_partial, hc_scale, hc_base, residual,
                      post, comb, layer_input, h, rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                      sinkhorn_repeat, s, n, m)
        return post.view(t, n, 1), comb.view(t, n, n), layer_input

    def hc_post(self, x, residual, post_mix, comb_mix):
        if x.shape[0] == 0:  # deepseek_v4_mhc.py:533, post() before any kernel
            return torch.empty((0, residual.shape[1], x.shape[-1]), dtype=x.dtype, device=x.device)
        # post() passes the coefficients' post as [T, n] (deepseek_v4_mhc.py:588)
        return self.call(MHC, "mhc_post", x, residual, post_mix.squeeze(-1), comb_mix)

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        # deepseek_v4_fused_mhc.py:449: post as [T, n, 1], hc_eps for both epsilons at the model's values
        return self.call(MHC, "mhc_fused_post_pre", x, residual, post_mix, comb_mix, fn, hc_scale, hc_base,
                         rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                         norm_weight=norm_weight, norm_eps=norm_eps)

    def sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        # hc_split_sinkhorn (mhc.py:427) takes the RMS-scaled mixes [T, 1, M] and builds the comb
        # logits as mixes[2n:] * hc_scale[2] + hc_base[2n:] (mhc.py:272-276). With scale 1 and base 0
        # (both exact in fp32) those logits are the contract's comb_logits, so comb is the contract's
        # sinkhorn; pre and post (from zero mixes) are not judged here.
        t, n, _ = comb_logits.shape
        dev = comb_logits.device
        mixes = torch.cat([torch.zeros(t, 2 * n, device=dev), comb_logits.reshape(t, n * n)], dim=1)
        mixes = mixes.view(t, 1, n * n + 2 * n)
        scale = torch.ones(3, device=dev)
        base = torch.zeros(n * n + 2 * n, device=dev)
        _, _, comb = self.call(MHC, "hc_split_sinkhorn", mixes, scale, base, n, sinkhorn_repeat, hc_sinkhorn_eps)
        return comb.squeeze(1)


class SglangTritonBackend(_Sglang):
    name = "sglang-triton"
    description = "SGLang's Triton mHC kernels on CUDA (fused_hc_head, mhc_combine, mhc_post_split_h)"
    modules = (MHC, MHC_HEAD, POST_SPLIT_H)
    default_precision = _FP32
    default_constraints = Constraints(devices=_CUDA)
    constraints = {
        # mhc_head.py:133 pads n to a power of two and the masks compare with the padded count
        # (mhc_head.py:63, 82): another n reads past fn, hc_base and the row.
        "hc_head": Constraints(hc_mult=(1, 2, 4, 8), devices=_CUDA),
        # mhc_post_split_h.py:12-16 hardcode 4 streams; :40 asserts contiguous inputs. SGLang calls it
        # for at most 384 tokens ("the kernel's own tile limit", srt/models/deepseek_v4_mhc.py:553-561;
        # 1..64 on sm90, :578-583): its 32-bit offsets (token * 4 * H, mhc_post_split_h.py:15) pass
        # 2^31 past 74 898 tokens at H = 7168 (an illegal address at 80 000 on an H200), never reached.
        "hc_post": Constraints(hc_mult=(4,), devices=_CUDA, strided_inputs=False, max_tokens=384),
        # mhc.py:2747 asserts x_flat.stride(1) == 1 and :2182 reads stream k at k*H: a residual whose
        # rows are not dense [n*H] is outside it (SGLang's residual is dense; pre may be strided,
        # but the contract's strided layout strides both).
        "layer_input": Constraints(devices=_CUDA, strided_inputs=False),
    }
    not_implemented = {
        "mhc_pre": "SGLang's Triton mix kernels (hc_mix_stats*) compute RMS-scaled mixes, no layer_input",
        "fused_post_pre": "SGLang has no Triton fused post+pre on CUDA",
    }

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        t, _, h = residual.shape
        if residual.numel() == 0:
            # deepseek_v4.py:3923/3943: zero rows go to hc_head_torch, whose result is an empty [0, H]
            return torch.empty(t, h, dtype=residual.dtype, device=residual.device)
        return self.call(MHC_HEAD, "fused_hc_head", residual.contiguous(), fn, hc_scale, hc_base, norm_eps=rms_eps,
                         hc_eps=hc_eps)

    def layer_input(self, residual, pre):
        # deepseek_v4_mhc.py:478 + 517: mhc_combine(x.flatten(1), pre, cfg.mult, x.dtype)
        return self.call(MHC, "mhc_combine", residual.flatten(1), pre, residual.shape[1], residual.dtype)

    def hc_post(self, x, residual, post_mix, comb_mix):
        if x.shape[0] == 0:  # deepseek_v4_mhc.py:533
            return torch.empty((0, residual.shape[1], x.shape[-1]), dtype=x.dtype, device=x.device)
        return self.call(POST_SPLIT_H, "mhc_post_split_h", x, residual, post_mix.squeeze(-1), comb_mix)


class SglangTorchBackend(_Sglang):
    name = "sglang-torch"
    description = "SGLang's torch mHC fallback (mhc.py _mhc_pre_torch / _mhc_post_torch)"
    modules = (MHC,)
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=False)
    # _mhc_pre_torch takes no norm_weight (mhc.py:1900-1910; _mhc_pre_dispatch reports it unfused).
    default_constraints = Constraints(devices=_CUDA, norm_weight=False)
    not_implemented = {"hc_head": "SGLang's torch hc_head (deepseek_v4.py:664 hc_head_torch) lives in the model "
                                  "module, which needs the whole server to import"}

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        return self.call(MHC, "_mhc_pre_torch", residual=residual, fn=fn, hc_scale=hc_scale, hc_base=hc_base,
                         rms_eps=rms_eps, hc_pre_eps=hc_pre_eps, hc_sinkhorn_eps=hc_sinkhorn_eps,
                         hc_post_mult_value=hc_post_mult_value, sinkhorn_repeat=sinkhorn_repeat)

    def hc_post(self, x, residual, post_mix, comb_mix):
        return self.call(MHC, "_mhc_post_torch", x, residual, post_mix, comb_mix)

    # hc_post then hc_pre, as an unfused seam runs them (mhc.py hc_post / hc_pre, 2087 / 2040).
    fused_post_pre = _Sglang.compose_post_then_pre
