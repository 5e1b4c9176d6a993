"""The engines' fp32 torch fallback for every mHC op (what vLLM runs without a fused kernel).

Written from the op contract, in the same order of operations as the engines' torch path:
fp32 GEMM, fp32 sum of squares, sigmoid/softmax in fp32, bf16 rounding once at the end.
"""

from __future__ import annotations

import torch

from mhc_kernels.base import Backend, Precision


def prenorm_gemm_fp32(x: torch.Tensor, fn: torch.Tensor, n_splits: int) -> tuple[torch.Tensor, torch.Tensor]:
    t, k = x.shape
    xs = x.float().view(t, n_splits, k // n_splits).transpose(0, 1)  # [S, T, K/S]
    fs = fn.view(fn.shape[0], n_splits, k // n_splits).transpose(0, 1)  # [S, M, K/S]
    mixes = torch.bmm(xs, fs.transpose(1, 2))
    sqrsum = xs.square().sum(-1)
    return mixes.contiguous(), sqrsum.contiguous()


def mixes_fp32(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_post_mult_value,
               rms_numel):
    n = hc_base.shape[0]
    n = int(round((n + 1) ** 0.5)) - 1
    mixes = mixes_partial.sum(0)
    rstd = torch.rsqrt(sqrsum_partial.sum(0) / rms_numel + rms_eps)
    m = mixes * rstd.unsqueeze(-1)
    pre = torch.sigmoid(m[:, :n] * hc_scale[0] + hc_base[:n]) + hc_pre_eps
    post = torch.sigmoid(m[:, n:2 * n] * hc_scale[1] + hc_base[n:2 * n]) * hc_post_mult_value
    comb = m[:, 2 * n:].reshape(-1, n, n) * hc_scale[2] + hc_base[2 * n:].view(1, n, n)
    return pre, post, comb


def sinkhorn_fp32(comb_logits: torch.Tensor, sinkhorn_repeat: int, hc_sinkhorn_eps: float) -> torch.Tensor:
    c = torch.softmax(comb_logits, dim=-1) + hc_sinkhorn_eps
    c = c / (c.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    for _ in range(sinkhorn_repeat - 1):
        c = c / (c.sum(dim=-1, keepdim=True) + hc_sinkhorn_eps)
        c = c / (c.sum(dim=-2, keepdim=True) + hc_sinkhorn_eps)
    return c


def layer_input_fp32(residual: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
    return (pre.unsqueeze(-1) * residual.float()).sum(dim=1).to(torch.bfloat16)


def rms_norm_bf16(v: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    vf = v.float()
    rstd = torch.rsqrt(vf.square().mean(-1, keepdim=True) + eps)
    return (vf * rstd * weight.float()).to(torch.bfloat16)


def hc_post_fp32(x, residual, post_mix, comb_mix) -> torch.Tensor:
    mixed = torch.einsum("tij,tih->tjh", comb_mix, residual.float())
    return (mixed + post_mix * x.float().unsqueeze(1)).to(torch.bfloat16)


class TorchNativeBackend(Backend):
    """Ops are composed from the hook methods below (``_gemm``, ``_mixes``, ``_sinkhorn``, ``_collapse``,
    ``_norm``, ``_post``, ``_head_weights``), so a planted-bug subclass changes one step everywhere it is used."""

    name = "torch"
    description = "fp32 torch ops, the engines' fallback path"
    device_type = "cpu"
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=True)

    def available(self) -> tuple[bool, str]:
        return True, f"torch {torch.__version__} on {self.device_type}"

    # -- hook points -------------------------------------------------------------------------------
    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x, fn, n_splits)

    def _mixes(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_post_mult_value,
               rms_numel):
        return mixes_fp32(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps,
                          hc_post_mult_value, rms_numel)

    def _sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        return sinkhorn_fp32(comb_logits, sinkhorn_repeat, hc_sinkhorn_eps)

    def _collapse(self, residual, weights):
        return layer_input_fp32(residual, weights)

    def _norm(self, layer_input, norm_weight, norm_eps):
        return rms_norm_bf16(layer_input, norm_weight, norm_eps)

    def _post(self, x, residual, post_mix, comb_mix):
        return hc_post_fp32(x, residual, post_mix, comb_mix)

    def _head_weights(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        t, n, h = residual.shape
        mixes, sqrsum = self._gemm(residual.reshape(t, n * h), fn, 1)
        rstd = torch.rsqrt(sqrsum[0] / (n * h) + rms_eps).unsqueeze(-1)
        return torch.sigmoid(mixes[0] * rstd * hc_scale[0] + hc_base) + hc_eps

    # -- ops -----------------------------------------------------------------------------------------
    def prenorm_gemm(self, x, fn, n_splits):
        return self._gemm(x, fn, n_splits)

    def mixes(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, hc_post_mult_value,
              rms_numel):
        return self._mixes(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps,
                           hc_post_mult_value, rms_numel)

    def pre_mix(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, rms_numel):
        return self._mixes(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps, 1.0,
                           rms_numel)[0]

    def sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        return self._sinkhorn(comb_logits, sinkhorn_repeat, hc_sinkhorn_eps)

    def layer_input(self, residual, pre):
        return self._collapse(residual, pre)

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        t, n, h = residual.shape
        pre, post, comb = self._mixes(mixes_partial, sqrsum_partial, hc_scale, hc_base, rms_eps, hc_pre_eps,
                                      hc_post_mult_value, n * h)
        comb = self._sinkhorn(comb, sinkhorn_repeat, hc_sinkhorn_eps)
        layer_input = self._collapse(residual, pre)
        if norm_weight is not None:
            layer_input = self._norm(layer_input, norm_weight, norm_eps)
        return post.unsqueeze(-1), comb, layer_input

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        mixes, sqrsum = self._gemm(residual.reshape(t, n * h), fn, n_splits)
        return self.pre_big_fuse(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                                 hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)

    def hc_post(self, x, residual, post_mix, comb_mix):
        return self._post(x, residual, post_mix, comb_mix)

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        return self._collapse(residual, self._head_weights(residual, fn, hc_scale, hc_base, rms_eps, hc_eps))

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        new_residual = self._post(x, residual, post_mix, comb_mix)
        post, comb, layer_input = self.mhc_pre(new_residual, fn, hc_scale, hc_base, norm_weight, rms_eps,
                                               hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                               norm_eps, n_splits)
        return new_residual, post, comb, layer_input


class TorchNativeCudaBackend(TorchNativeBackend):
    name = "torch-cuda"
    description = "the same fp32 torch ops on the GPU (cuBLAS with TF32 disabled)"
    device_type = "cuda"
    default_precision = Precision(matmul="fp32", elementwise_ulps=4.0, deterministic=False)

    def available(self) -> tuple[bool, str]:
        if not torch.cuda.is_available():
            return False, "torch.cuda.is_available() is False (no GPU or a CPU build of torch)"
        if torch.backends.cuda.matmul.allow_tf32:
            return False, "torch.backends.cuda.matmul.allow_tf32 is on: the fp32 declaration would be false"
        return True, f"torch {torch.__version__} on {torch.cuda.get_device_name()}"
