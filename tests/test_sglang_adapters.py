"""The SGLang adapters (kernels/sglang) against the test double of SGLang's modules
(tests/doubles/sglang_mhc.py): which entry point each op calls with which arguments, the calls
recorded under their qualified names, the guards SGLang's call sites have (and no other), the
declared TF32 GEMMs judged, and mhc_pre's small-batch shape rule reported as not applicable. None of
this validates SGLang: its real kernels run on the GPU (scripts/gpu_engines.sh)."""

import dataclasses

import pytest

from doubles import sglang_mhc
from mhc_kernels import BUILTIN_BACKENDS
from mhc_kernels.base import Constraints
from mhc_kernels.sglang.backend import (SglangTileLangBackend, SglangTorchBackend, SglangTritonBackend,
                                        SmallBatchConstraints)
from mhc_verify.cases import Case
from mhc_verify.registry import discover
from mhc_verify.runner import run_case
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES

BACKENDS = {"sglang-tilelang": SglangTileLangBackend, "sglang-triton": SglangTritonBackend,
            "sglang-torch": SglangTorchBackend}
MHC = "sglang.kernels.ops.layernorm.mhc"


def on_cpu(backend):
    """The same backend with its device moved to the CPU (the double runs there); every other
    declared constraint, mhc_pre's small-batch rule included, stays."""
    def moved(c: Constraints) -> Constraints:
        return dataclasses.replace(c, devices=("cpu",))

    return backend.with_overrides(device_type="cpu", default_constraints=moved(backend.default_constraints),
                                  constraints={op: moved(c) for op, c in backend.constraints.items()})


def sglang(cls, gemm="tf32"):
    return on_cpu(cls(modules=sglang_mhc.modules(gemm)))


def test_every_sglang_backend_is_built_in_and_unavailable_here_with_its_reason():
    infos = discover()
    for name in BACKENDS:
        assert name in BUILTIN_BACKENDS
        assert not infos[name].available
        # without the bundle sglang does not import; with it (tests/test_sglang_compile.py) there is no GPU
        assert "cannot import" in infos[name].reason or "no CUDA device" in infos[name].reason, infos[name].reason


@pytest.mark.parametrize("cls,ops", [
    (SglangTileLangBackend, ("mhc_pre", "prenorm_gemm", "pre_big_fuse", "hc_post", "fused_post_pre", "sinkhorn")),
    (SglangTritonBackend, ("hc_head", "layer_input", "hc_post")),
    (SglangTorchBackend, ("mhc_pre", "hc_post", "fused_post_pre")),
])
def test_sglang_adapters_pass_through_their_double(cls, ops):
    backend = sglang(cls)
    ok, reason = backend.available()
    assert ok and "TEST DOUBLE" in reason
    assert set(backend.implements()) == set(ops)
    for op in ops:
        stats = check_pair(backend, op, PROFILES["dev"], max_examples=4, use_target=False)
        # the only failure allowed is the double's empty-grid launch at T = 0 where SGLang has no guard
        assert all(f["kind"] == "error RuntimeError" and f["case"]["T"] == 0 for f in stats.failures), stats.reason
        assert stats.verdict in ("pass", "ERROR"), (op, stats.reason)
    prov = backend.provenance()
    assert prov["test_double"] is True and prov["sglang"] == "TEST DOUBLE"
    assert all(key.startswith("sglang.kernels.ops.layernorm.") for key in prov["calls"])


def test_sglang_tilelang_calls_the_entry_points_sglang_calls():
    backend = sglang(SglangTileLangBackend)
    for op in ("hc_post", "fused_post_pre", "pre_big_fuse", "sinkhorn"):
        assert run_case(backend, Case(op, 3, 4, 128, seed=1)).status == "pass", op
    assert run_case(backend, Case("prenorm_gemm", 33, 4, 128, seed=1)).status == "pass"
    assert run_case(backend, Case("pre_big_fuse", 3, 4, 128, seed=1, norm_weight=True)).status == "pass"
    assert run_case(backend, Case("mhc_pre", 5, 4, 4096, seed=1)).status == "pass"
    assert set(backend.provenance()["calls"]) == {
        f"{MHC}.mhc_pre", f"{MHC}.mhc_post", f"{MHC}.mhc_fused_post_pre", f"{MHC}._mhc_pre_gemm_sqrsum_dispatch",
        f"{MHC}.mhc_pre_big_fuse_tilelang", f"{MHC}.mhc_pre_big_fuse_with_norm_tilelang", f"{MHC}.hc_split_sinkhorn"}


def test_mhc_pre_small_batch_rule_is_a_constraint_never_a_silent_skip():
    """Up to 2048 tokens SGLang's mhc_pre runs only for n*H in {16384, 28672} (mhc.py:1140-1150):
    other hidden sizes are 'not applicable' with the reason; above 2048 tokens they run."""
    backend = sglang(SglangTileLangBackend)
    assert isinstance(backend.constraints_for("mhc_pre"), SmallBatchConstraints)
    result = run_case(backend, Case("mhc_pre", 7, 4, 128, seed=2))
    assert result.status == "not_applicable" and "16384, 28672" in result.reason
    assert run_case(backend, Case("mhc_pre", 2049, 4, 64, seed=2)).status == "pass"
    # the double raises as SGLang does: calling past the constraint would be an error, not a pass
    raw = backend.with_overrides(constraints={})
    assert run_case(raw, Case("mhc_pre", 7, 4, 128, seed=2)).status == "error"


def test_guards_are_sglangs_own():
    """SGLang's call sites return before the kernel at T = 0 for mhc_pre (deepseek_v4.py:3381), the
    post (deepseek_v4_mhc.py:533), the fused post+pre (mhc.py:1670), hc_split_sinkhorn (mhc.py:436)
    and hc_head (deepseek_v4.py:3923); the big fuse has none: T = 0 reaches the double's empty-grid
    error. The prenorm GEMM is launched only above 32 tokens (mhc.py:1140, 1693): T = 0 and any T <= 32
    are outside it, never an engine finding; the split-H post only up to 384 tokens."""
    tl = sglang(SglangTileLangBackend)
    for op in ("mhc_pre", "hc_post", "fused_post_pre", "sinkhorn"):
        assert run_case(tl, Case(op, 0, 4, 4096)).status == "pass", op
    result = run_case(tl, Case("pre_big_fuse", 0, 4, 128))
    assert result.status == "error" and "grid dimension must be positive" in result.reason
    for t in (0, 32):
        result = run_case(tl, Case("prenorm_gemm", t, 4, 128))
        assert result.status == "not_applicable" and "below the minimum 33" in result.reason, t
    assert "above the maximum 384" in run_case(sglang(SglangTritonBackend), Case("hc_post", 385, 4, 128)).reason
    tr = sglang(SglangTritonBackend)
    for op in ("hc_head", "hc_post", "layer_input"):
        assert run_case(tr, Case(op, 0, 4, 128)).status == "pass", op


def test_tf32_declaration_is_judged():
    """The TileLang GEMMs are declared TF32; the double rounds fn to TF32, so an fp32 declaration
    fails on the exact-integer family that exposes it."""
    case = Case("prenorm_gemm", 40, 4, 128, family="exact_int")
    backend = sglang(SglangTileLangBackend)
    assert backend.precision_for("prenorm_gemm").matmul == "tf32"
    assert run_case(backend, case).status == "pass"
    posing = backend.with_overrides(precision={})
    assert run_case(posing, case).status == "fail"


def test_declared_constraints_and_reasons():
    tr = SglangTritonBackend()
    assert tr.constraints_for("hc_head").hc_mult == (1, 2, 4, 8)  # mhc_head.py pads n to a power of two
    assert tr.constraints_for("hc_post").hc_mult == (4,) and not tr.constraints_for("hc_post").strided_inputs
    assert SglangTorchBackend().constraints_for("mhc_pre").norm_weight is False
    tl = SglangTileLangBackend()
    for op in ("mixes", "pre_mix", "layer_input", "hc_head"):
        assert op not in tl.implements() and tl.not_implemented[op]
    assert "hc_head" in SglangTorchBackend.not_implemented
