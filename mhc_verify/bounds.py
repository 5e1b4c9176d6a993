"""Per-op assembly of the error model: which intermediate's error feeds which output.

``op_bounds(op, inputs, params, ref, outputs, precision)`` returns, for every output of the op, a
float64 tensor of absolute bounds *before* the output's own rounding (compare.py adds half an ulp).
"""

from __future__ import annotations

from typing import Callable

import torch

from mhc_kernels.base import Precision
from mhc_reference.hc_head import token_head_weights
from mhc_reference.mixes import token_mixes
from mhc_reference.sinkhorn import token_sinkhorn
from mhc_verify.error_model import (collapse_bounds, gamma, gemm_bounds, norm_bounds, partial_sum_bounds,
                                    propagate)

Bounds = dict[str, torch.Tensor]


def _prenorm_gemm(inputs, params, ref, outputs, precision) -> Bounds:
    mix_err, sq_err = gemm_bounds(inputs["x"], inputs["fn"], params["n_splits"], precision)
    return {"mixes_partial": mix_err, "sqrsum_partial": sq_err}


def _mix_and_sinkhorn_bounds(mix, mix_err, sq, sq_err, hc_scale, hc_base, n, rms_numel, params, precision,
                             with_sinkhorn: bool):
    def token_fn(m, s, scale, base, perturb):
        pre, post, logits = token_mixes(m, s, scale, base, n, rms_numel, params["rms_eps"], params["hc_pre_eps"],
                                        params["hc_post_mult_value"], perturb=perturb)
        if not with_sinkhorn:
            return pre, post, logits
        return pre, post, token_sinkhorn(logits, params["sinkhorn_repeat"], params["hc_sinkhorn_eps"], perturb)

    return propagate(token_fn, (mix, sq), (mix_err, sq_err), (hc_scale.double(), hc_base.double()), precision)


def _mixes(inputs, params, ref, outputs, precision) -> Bounds:
    mix, mix_err = partial_sum_bounds(inputs["mixes_partial"], None)
    sq, sq_err = partial_sum_bounds(inputs["sqrsum_partial"], None)
    n = ref["pre"].shape[-1]
    e_pre, e_post, e_logits = _mix_and_sinkhorn_bounds(mix, mix_err, sq, sq_err, inputs["hc_scale"],
                                                       inputs["hc_base"], n, params["rms_numel"], params,
                                                       precision, with_sinkhorn=False)
    return {"pre": e_pre, "post": e_post, "comb_logits": e_logits}


def _pre_mix(inputs, params, ref, outputs, precision) -> Bounds:
    return {"pre": _mixes(inputs, {**params, "hc_post_mult_value": 1.0}, ref, outputs, precision)["pre"]}


def _sinkhorn(inputs, params, ref, outputs, precision) -> Bounds:
    def token_fn(logits, perturb):
        return (token_sinkhorn(logits, params["sinkhorn_repeat"], params["hc_sinkhorn_eps"], perturb),)

    (e,) = propagate(token_fn, (inputs["comb_logits"].double(),), (None,), (), precision)
    return {"comb_mix": e}


def _layer_input(inputs, params, ref, outputs, precision) -> Bounds:
    pre = inputs["pre"].double()
    return {"layer_input": collapse_bounds(inputs["residual"], pre, torch.zeros_like(pre))}


def _pre_tail(mix, mix_err, sq, sq_err, inputs, residual, params, ref, precision) -> dict[str, torch.Tensor]:
    t, n, h = residual.shape
    e_pre, e_post, e_comb = _mix_and_sinkhorn_bounds(mix, mix_err, sq, sq_err, inputs["hc_scale"],
                                                     inputs["hc_base"], n, n * h, params, precision, True)
    e_li = collapse_bounds(residual, ref["pre"], e_pre)
    if inputs.get("norm_weight") is not None:
        e_li = norm_bounds(ref["collapse"], e_li, inputs["norm_weight"], params["norm_eps"], precision)
    return {"post_mix": e_post.unsqueeze(-1), "comb_mix": e_comb, "layer_input": e_li}


def _pre_big_fuse(inputs, params, ref, outputs, precision) -> Bounds:
    mix, mix_err = partial_sum_bounds(inputs["mixes_partial"], None)
    sq, sq_err = partial_sum_bounds(inputs["sqrsum_partial"], None)
    return _pre_tail(mix, mix_err, sq, sq_err, inputs, inputs["residual"], params, ref, precision)


def _gemm_of(residual, fn, n_splits, precision):
    t, n, h = residual.shape
    x = residual.reshape(t, n * h)
    mix_err, sq_err = gemm_bounds(x, fn, n_splits, precision)
    # The kernel rounds each partial to fp32 and sums the S partials: bound both on top of the GEMM's.
    from mhc_reference.prenorm_gemm import prenorm_gemm
    mix_p, sq_p = prenorm_gemm(x, fn, n_splits)
    mix, mix_sum_err = partial_sum_bounds(mix_p, mix_err + gamma(1) * mix_p.abs())
    sq, sq_sum_err = partial_sum_bounds(sq_p, sq_err + gamma(1) * sq_p.abs())
    return mix, mix_sum_err, sq, sq_sum_err


def _mhc_pre(inputs, params, ref, outputs, precision) -> Bounds:
    mix, mix_err, sq, sq_err = _gemm_of(inputs["residual"], inputs["fn"], params["n_splits"], precision)
    return _pre_tail(mix, mix_err, sq, sq_err, inputs, inputs["residual"], params, ref, precision)


def _post_bounds(x, residual, post_mix, comb_mix) -> torch.Tensor:
    n = residual.shape[1]
    terms = (torch.einsum("tij,tih->tjh", comb_mix.double().abs(), residual.double().abs())
             + post_mix.double().abs() * x.double().abs().unsqueeze(1))
    return gamma(n + 1) * terms


def _hc_post(inputs, params, ref, outputs, precision) -> Bounds:
    return {"out": _post_bounds(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])}


def _hc_head(inputs, params, ref, outputs, precision) -> Bounds:
    residual = inputs["residual"]
    t, n, h = residual.shape
    mix, mix_err, sq, sq_err = _gemm_of(residual, inputs["fn"], 1, precision)

    def token_fn(m, s, scale, base, perturb):
        return (token_head_weights(m, s, scale, base, n * h, params["rms_eps"], params["hc_eps"], perturb),)

    (e_w,) = propagate(token_fn, (mix, sq), (mix_err, sq_err),
                       (inputs["hc_scale"].double(), inputs["hc_base"].double()), precision)
    return {"out": collapse_bounds(residual, ref["weights"], e_w)}


def _unrounded_input_errors(x, x_err, fn) -> tuple[torch.Tensor, torch.Tensor]:
    """Extra error of x @ fn.T and sum(x*x) when the kernel reads its own fp32 value of x, which is
    within x_err of the exact x (a fused kernel that keeps hc_post's result in registers)."""
    xf, ef = x.flatten(1).double(), x_err.flatten(1)
    return ef @ fn.double().abs().T, (2 * xf.abs() * ef + ef.square()).sum(-1)


def _fused_post_pre(inputs, params, ref, outputs, precision) -> Bounds:
    post_err = _post_bounds(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])
    bounds = {"residual_out": post_err}
    pre_input, gemm_input, sqrsum_input = ref["pre_input"], ref["gemm_input"], ref["sqrsum_input"]
    mix, mix_err, sq, sq_err = _gemm_of(gemm_input, inputs["fn"], params["n_splits"], precision)
    if sqrsum_input is not gemm_input:
        _, _, sq, sq_err = _gemm_of(sqrsum_input, inputs["fn"][:1], params["n_splits"], precision)
    # A float64 input is the exact hc_post output (a declared Semantics departure): the kernel's
    # fp32 value of it is off by up to hc_post's own bound, and that error enters the sums.
    if gemm_input.dtype == torch.float64:
        mix_err = mix_err + _unrounded_input_errors(gemm_input, post_err, inputs["fn"])[0]
    if sqrsum_input.dtype == torch.float64:
        sq_err = sq_err + _unrounded_input_errors(sqrsum_input, post_err, inputs["fn"][:1])[1]
    tail = _pre_tail(mix, mix_err, sq, sq_err, inputs, pre_input, params, ref, precision)
    bounds.update(post_mix_out=tail["post_mix"], comb_mix_out=tail["comb_mix"], layer_input=tail["layer_input"])
    return bounds


OP_BOUNDS: dict[str, Callable[..., Bounds]] = {
    "prenorm_gemm": _prenorm_gemm, "mixes": _mixes, "pre_mix": _pre_mix, "sinkhorn": _sinkhorn, "layer_input": _layer_input,
    "pre_big_fuse": _pre_big_fuse, "mhc_pre": _mhc_pre, "hc_post": _hc_post, "hc_head": _hc_head,
    "fused_post_pre": _fused_post_pre,
}


def op_bounds(op: str, inputs: dict, params: dict, ref: dict, outputs: dict, precision: Precision) -> Bounds:
    return OP_BOUNDS[op](inputs, params, ref, outputs, precision)
