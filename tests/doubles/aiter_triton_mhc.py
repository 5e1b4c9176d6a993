"""TEST DOUBLE of aiter's Triton mHC module (``aiter.ops.triton.fusions.mhc``): ``mhc_post`` and
``mhc_post_pre`` with aiter's signatures and buffer conventions, computed in torch on the CPU the
way aiter's kernels compute (the post in fp32; the next pre's GEMM from the bf16 residual times fn
cast to bf16, its sum of squares from the unrounded fp32 residual; the exp-domain Sinkhorn). It
checks how the adapter calls aiter, never aiter itself (``IS_TEST_DOUBLE``).

``sqrsum_source="rounded"`` makes a double that squares the bf16 residual instead, and
``gemm_fn="fp32"`` one that keeps fn in fp32: kernels whose declarations would then be false.
"""

from __future__ import annotations

import types

import torch

from mhc_kernels.torch_native import TorchNativeBackend, hc_post_fp32, layer_input_fp32

NAME = "aiter.ops.triton.fusions.mhc"
_TORCH = TorchNativeBackend()


def _post_fp32(layer_input, residual, post_mix, comb_mix) -> torch.Tensor:
    post = post_mix.view(post_mix.shape[0], -1, 1)
    return torch.einsum("tij,tih->tjh", comb_mix, residual.float()) + post * layer_input.float().unsqueeze(1)


def module(sqrsum_source: str = "unrounded", gemm_fn: str = "bf16") -> types.ModuleType:
    def mhc_post(out, layer_input, residual, post_mix, comb_mix, config=None):
        result = hc_post_fp32(layer_input, residual, post_mix.view(*post_mix.shape[:2], 1), comb_mix)
        if out is None:
            return result
        out.copy_(result)
        return out

    def mhc_post_pre(layer_input, residual_in, post_mix, comb_mix, phi, alphas, bias, n, eps=1e-6,
                     hc_pre_eps=1e-6, hc_post_mult_value=2.0, sinkhorn_iters=20, asymmetric_exp_domain=False,
                     hc_sinkhorn_eps=1e-6, residual_out=None, h_post=None, h_res=None, layer_input_out=None,
                     acc_partial=None, acc_sq_partial=None, config=None):
        assert asymmetric_exp_domain, "the double models the engines' (exp-domain) Sinkhorn only"
        t, _, h = residual_in.shape
        fp32 = _post_fp32(layer_input, residual_in, post_mix, comb_mix)
        rounded = fp32.to(torch.bfloat16)
        x = rounded.reshape(t, n * h).float()
        fn = (phi.to(torch.bfloat16) if gemm_fn == "bf16" else phi).float().T  # aiter: phi ... .to(out_dtype)
        mixes = (x @ fn.T).unsqueeze(0)
        squares = (fp32 if sqrsum_source == "unrounded" else rounded.float()).reshape(t, n * h).square()
        sqrsum = squares.sum(-1).unsqueeze(0)
        pre, post, comb = _TORCH._mixes(mixes, sqrsum, alphas, bias, eps, hc_pre_eps, hc_post_mult_value, n * h)
        comb = _TORCH._sinkhorn(comb, sinkhorn_iters, hc_sinkhorn_eps)
        li = layer_input_fp32(rounded, pre)
        for buf, value in ((h_post, post), (h_res, comb)):
            buf.copy_(value.view(buf.shape))
        return h_post, h_res, li, rounded

    mod = types.ModuleType(NAME)
    mod.IS_TEST_DOUBLE = True
    mod.__file__ = __file__
    mod.mhc_post, mod.mhc_post_pre = mhc_post, mhc_post_pre
    return mod
