"""Unit checks of the error model's pieces."""

import math

import torch

from mhc_kernels.base import Precision
from mhc_kernels.torch_native import TorchNativeBackend, prenorm_gemm_fp32
from mhc_verify.cases import Case, build_inputs
from mhc_verify.error_model import gemm_bounds, lowest_set_bit, representation_error, ulp
from mhc_verify.runner import run_case


def test_ulp_and_lowest_bit():
    v = torch.tensor([1.0, 1.5, 3.0, 2.0 ** -130, 0.0, 96.0], dtype=torch.float64)
    assert ulp(v, torch.bfloat16).tolist()[:3] == [2.0 ** -7, 2.0 ** -7, 2.0 ** -6]
    assert ulp(v, torch.bfloat16)[3] == 2.0 ** -133  # subnormal step
    assert lowest_set_bit(v).tolist() == [1.0, 0.5, 1.0, 2.0 ** -130, 0.0, 32.0]


def test_representation_error():
    v = torch.tensor([1.0, 1 + 2.0 ** -10, 1 + 2.0 ** -12], dtype=torch.float32)
    assert representation_error(v, 11).tolist() == [0.0, 0.0, 2.0 ** -10]
    assert representation_error(v, 24).tolist() == [0.0, 0.0, 0.0]


def test_exact_inputs_get_a_zero_accumulation_bound():
    case = Case("prenorm_gemm", 17, 4, 64, family="exact_int", n_splits=2)
    inputs = build_inputs(case)
    mix_err, sq_err = gemm_bounds(inputs["x"], inputs["fn"], 2, Precision())
    assert float(mix_err.max()) == 0.0 and float(sq_err.max()) == 0.0
    tf32_err, _ = gemm_bounds(inputs["x"], inputs["fn"], 2, Precision(matmul="tf32"))
    assert float(tf32_err.max()) > 0  # 13-bit weights are not representable in TF32


class _Tf32Gemm(TorchNativeBackend):
    """Rounds fn to TF32 (10 explicit mantissa bits) but declares fp32, as a TF32 GEMM would."""

    name = "tf32-posing-as-fp32"

    def prenorm_gemm(self, x, fn, n_splits):
        m, e = torch.frexp(fn)
        rounded = torch.ldexp(torch.round(torch.ldexp(m, torch.full_like(e, 11))), e - 11)
        return prenorm_gemm_fp32(x, rounded, n_splits)


def test_tf32_posing_as_fp32_is_caught_on_exact_inputs():
    case = Case("prenorm_gemm", 9, 4, 256, family="exact_int")
    assert run_case(TorchNativeBackend(), case).status == "pass"
    result = run_case(_Tf32Gemm(), case)
    assert result.status == "fail" and "mixes_partial" in result.reason
    # and declared honestly as TF32 it passes
    honest = _Tf32Gemm().with_overrides(default_precision=Precision(matmul="tf32"))
    assert run_case(honest, case).status == "pass"


def test_rounding_flip_at_a_power_of_two_is_bounded():
    """Exact collapse just past the midpoint below -4 (gap 2^-6 below, 2^-5 above): the kernel's fp32
    value may round to the other neighbour; the RMSNorm bound must allow it (found by the 2200-case run)."""
    from mhc_verify.error_model import bf16_toward_zero, norm_bounds

    c = torch.tensor([[-3.9921877153377996, 1.0, 2.0, -0.5]], dtype=torch.float64)
    assert bf16_toward_zero(c.abs())[0, 0].item() == 3.984375
    w = torch.ones(4, dtype=torch.bfloat16)
    tight = norm_bounds(c, torch.full_like(c, 1e-9), w, 1e-6, Precision())
    loose = norm_bounds(c, torch.full_like(c, 1e-6), w, 1e-6, Precision())
    assert tight[0, 0] < 1e-4 < loose[0, 0]  # 2.2e-7 from the midpoint: only the larger error can flip it


def test_sign_test_p_value_is_the_exact_binomial_tail():
    """Twice the smaller tail of Binomial(n, 1/2), exactly (math.comb) for small n; and usable for
    the tens of millions of misrounded elements of a badly wrong output."""
    import math

    from mhc_verify.compare import _binomial_two_sided_p

    for k, n in [(0, 1), (3, 10), (40, 100), (480, 1000), (9, 9)]:
        lo = min(k, n - k)
        exact = min(1.0, 2 * sum(math.comb(n, i) for i in range(lo + 1)) / 2 ** n)
        assert math.isclose(_binomial_two_sided_p(k, n), exact, rel_tol=1e-9), (k, n)
    assert _binomial_two_sided_p(10_000_000, 30_000_000) == 0.0  # 1e7 terms, vectorised
