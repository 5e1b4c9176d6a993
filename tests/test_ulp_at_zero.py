"""Regression for the ulp at zero (found on an H100 by our TileLang kernels and torch-cuda alike).

frexp(0) reports exponent 0, so the ulp of an exact zero came out as 2^-8 in bf16: a bf16 value that
underflows to 0 got its rounding midpoint at 2^-9 (a false alarm when the GPU's sigmoid underflowed
to 0 and the float64 one did not), and a zero output was allowed an error of 2^-9 (a false pass).
"""

import torch

import mhc_kernels.torch_native as torch_native
from mhc_kernels.torch_native import TorchNativeBackend, mixes_fp32
from mhc_reference import reference_for
from mhc_verify.cases import Case, build_inputs
from mhc_verify.error_model import SUBNORMAL_STEP, output_rounding, ulp
from mhc_verify.runner import judge


def test_ulp_of_zero_is_the_smallest_subnormal():
    zero = torch.zeros(3, dtype=torch.float64)
    assert torch.all(ulp(zero, torch.bfloat16) == SUBNORMAL_STEP[torch.bfloat16])
    assert torch.all(ulp(zero, torch.float32) == SUBNORMAL_STEP[torch.float32])
    assert float(output_rounding(zero, zero, torch.bfloat16).max()) == 2.0 ** -134


class _ExpSigmoid(TorchNativeBackend):
    """fp32 sigmoid as 1 / (1 + exp(-z)), as CUDA computes it: exactly 0 below z = -88.7."""

    name = "torch-exp-sigmoid"

    def _mixes(self, *args):
        saved = torch_native.torch.sigmoid
        torch_native.torch.sigmoid = lambda z: 1.0 / (1.0 + torch.exp(-z))
        try:
            return mixes_fp32(*args)
        finally:
            torch_native.torch.sigmoid = saved


def _underflowing_case():
    case = Case.from_json('{"H": 256, "T": 8, "family": "saturating", "n": 4, "norm_weight": true, '
                          '"op": "pre_big_fuse", "params": [["hc_pre_eps", 0.0]], "seed": 5}')
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    mp, sp, scale, base = inputs["mixes_partial"], inputs["sqrsum_partial"], inputs["hc_scale"], inputs["hc_base"]
    r = torch.rsqrt(sp.double().sum(0)[0] / (4 * 256) + params["rms_eps"])
    logits = torch.tensor([-135.0, -114.0, -97.0, -93.6], dtype=torch.float64)  # every pre weight < 2^-126
    mp[0, 0, :4] = ((logits - base[:4].double()) / (r * scale[0].double())).float()
    return case, inputs, params


def test_pre_weights_underflowing_to_zero_are_inside_the_bound():
    case, inputs, params = _underflowing_case()
    backend = _ExpSigmoid()
    result = judge(backend, case, inputs, params, backend.run(case.op, inputs, params))
    assert result.status == "pass", [(c.name, c.max_ratio, c.violations) for c in result.checks]


def test_garbage_in_a_zero_output_is_caught():
    case = Case.from_json('{"H": 64, "T": 16, "family": "zeros", "n": 4, "op": "layer_input", "seed": 3}')
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    ref = reference_for("layer_input")(inputs, params)["layer_input"]
    zero_rows = (ref == 0).all(-1)
    assert zero_rows.any()
    out = TorchNativeBackend().run("layer_input", inputs, params)
    out["layer_input"][zero_rows] = 1e-3  # far below the old 2^-9 tolerance at zero
    result = judge(TorchNativeBackend(), case, inputs, params, out)
    assert result.status == "fail"
