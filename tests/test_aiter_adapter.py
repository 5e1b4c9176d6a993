"""The aiter adapter, exercised against a recording TEST DOUBLE of aiter's call surface (no aiter
here): argument order, shapes, layouts and output unpacking, the version guard, and honest
unavailability. None of this validates aiter; a ROCm run does (README, "Running on ROCm")."""

import importlib

import pytest
import torch

import aiter_test_double as double
from mhc_kernels.aiter.hip import AiterBackend, is_known_bad, parse_version
from mhc_kernels.aiter.triton import AiterTritonBackend
from mhc_verify.cases import Case, build_inputs
from mhc_verify.cli import main
from mhc_verify.runner import run_case
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.setattr(double, "__version__", "0.1.14")
    double.calls.clear()
    b = AiterBackend(module=double).with_overrides(
        default_constraints=AiterBackend.default_constraints.__class__(hc_mult=(4,), hidden_multiple_of=256,
                                                                       devices=("cpu",), n_splits=(1,)),
        constraints={}, device_type="cpu")
    return b


def test_unavailable_here_with_the_import_error():
    ok, reason = AiterBackend().available()
    assert not ok and "cannot import aiter" in reason and "No module named 'aiter'" in reason
    ok, reason = AiterTritonBackend().available()
    assert not ok and "aiter.ops.triton.fusions.mhc" in reason


def test_double_is_labelled(backend):
    ok, reason = backend.available()
    assert ok and "TEST DOUBLE" in reason


def test_required_aiter_fails_the_run(tmp_path):
    assert main(["check", "--backend", "torch", "--require-backend", "aiter", "--op", "hc_post",
                 "--examples", "2", "--out", str(tmp_path), "--no-progress"]) == 1


@pytest.mark.parametrize("version,bad", [("0.1.13", True), ("0.1.13.post2", True), ("0.1.14", False),
                                         ("0.1.14+rocm7", False), ("0.2.0", False), ("unknown", False)])
def test_version_guard(version, bad):
    assert is_known_bad(version) is bad


def test_known_bad_version_is_reported_not_skipped(backend, monkeypatch):
    monkeypatch.setattr(double, "__version__", "0.1.13")
    issues = backend.known_issues
    assert "PR 3033" in issues["prenorm_gemm"] and "0.1.13" in issues["prenorm_gemm"]
    assert run_case(backend, Case("prenorm_gemm", 5, 4, 256)).status == "pass"  # still checked


def test_prenorm_gemm_marshalling(backend):
    case = Case("prenorm_gemm", 7, 4, 256, n_splits=1)
    assert run_case(backend, case).status == "pass"
    name, args = double.calls[0]
    assert name == "mhc_pre_gemm_sqrsum"
    (out_shape, _, out_stride), (sq_shape, _, _), (x_shape, x_dtype, _), (fn_shape, _, _), tile_k = args
    assert out_shape == (1, 7, 24) and out_stride == (7 * 32, 32, 1)  # rows padded to 32 mixes
    assert sq_shape == (1, 7) and x_shape == (7, 1024) and x_dtype == torch.bfloat16 and fn_shape == (24, 1024)
    assert tile_k == 128


@pytest.mark.parametrize("norm", [False, True])
def test_pre_big_fuse_marshalling(backend, norm):
    assert run_case(backend, Case("pre_big_fuse", 6, 4, 256, norm_weight=norm)).status == "pass"
    name, args = double.calls[-1]
    assert name == ("mhc_pre_big_fuse_rmsnorm" if norm else "mhc_pre_big_fuse")
    assert args[0][0] == (6, 4, 1) and args[1][0] == (6, 4, 4) and args[2][0] == (6, 256)
    assert args[3][2] == (6 * 32, 32, 1)  # partials handed over in aiter's padded layout


@pytest.mark.parametrize("op", ["mhc_pre", "hc_post", "fused_post_pre"])
def test_engine_ops_unpack_in_contract_order(backend, op):
    case = Case(op, 9, 4, 512, norm_weight=(op != "hc_post"))
    result = run_case(backend, case)
    assert result.status == "pass", result.reason
    assert double.calls[0][0] == {"mhc_pre": "mhc_pre", "hc_post": "mhc_post",
                                  "fused_post_pre": "mhc_fused_post_pre"}[op]


def test_constraints_match_the_engine(backend):
    result = run_case(backend, Case("hc_post", 3, 4, 320))
    assert result.status == "not_applicable" and "multiple of 256" in result.reason
    assert run_case(backend, Case("hc_post", 3, 2, 256)).status == "not_applicable"


def test_property_suite_runs_through_the_adapter(backend):
    stats = check_pair(backend, "fused_post_pre", PROFILES["dev"], 8, diagnostics=False)
    assert stats.verdict == "pass" and stats.cases > 0
    assert "mhc_fused_post_pre" in backend.provenance()["called"]


def test_version_parsing():
    assert parse_version("0.1.14.dev3+g1234") == (0, 1, 14)


def test_an_unrelated_aiter_package_is_not_mistaken_for_amds():
    import types
    impostor = types.ModuleType("aiter")
    impostor.__file__ = "/site-packages/aiter/__init__.py"
    ok, reason = AiterBackend(module=impostor).available()
    assert not ok and "amd-aiter" in reason
