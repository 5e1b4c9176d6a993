"""The engine adapters (kernels/vllm, kernels/aiter/triton.py) against test doubles of the engines'
modules (tests/doubles): which entry point each op calls, with which arguments and buffers, the
calls recorded under their qualified names, no guard the engine lacks, declared departures judged
and their distance from the engines' op reported, and honest unavailability where the engine is
not installed. None of this validates vLLM or aiter: their real kernels run on the GPU
(results/gpu/, scripts/gpu_engines.sh)."""

import pytest
import torch

from doubles import aiter_triton_mhc, vllm_mhc
from mhc_kernels import BUILTIN_BACKENDS
from mhc_kernels.aiter.triton import AiterTritonBackend
from mhc_kernels.base import Constraints
from mhc_kernels.vllm.backend import (VllmDeepGemmBackend, VllmTileLangBackend, VllmTorchBackend,
                                      VllmTritonBackend)
from mhc_verify.cases import Case
from mhc_verify.registry import discover
from mhc_verify.runner import run_case
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES

ENGINE_BACKENDS = {"vllm-tilelang": VllmTileLangBackend, "vllm-triton": VllmTritonBackend,
                   "vllm-torch": VllmTorchBackend, "vllm-deepgemm": VllmDeepGemmBackend,
                   "aiter-triton": AiterTritonBackend}


def on_cpu(backend):
    """The same backend with its device moved to the CPU (the doubles run there); every other
    declared constraint stays."""
    def moved(c: Constraints) -> Constraints:
        return Constraints(**{**c.__dict__, "devices": ("cpu",)})

    return backend.with_overrides(device_type="cpu", default_constraints=moved(backend.default_constraints),
                                  constraints={op: moved(c) for op, c in backend.constraints.items()})


def vllm(cls, deep_gemm_selected=False):
    return on_cpu(cls(modules=vllm_mhc.modules(deep_gemm_selected)))


def test_every_engine_backend_is_built_in_and_unavailable_here_with_its_reason():
    infos = discover()
    for name in ENGINE_BACKENDS:
        assert name in BUILTIN_BACKENDS
        assert not infos[name].available
        assert "cannot import" in infos[name].reason, infos[name].reason


@pytest.mark.parametrize("cls,ops", [
    (VllmTileLangBackend, ("prenorm_gemm", "pre_big_fuse", "mhc_pre", "hc_post", "fused_post_pre", "hc_head")),
    (VllmTritonBackend, ("layer_input", "pre_mix", "hc_head")),
    (VllmTorchBackend, ("mhc_pre", "hc_post", "fused_post_pre")),
    (VllmDeepGemmBackend, ("prenorm_gemm",)),
])
def test_vllm_adapters_pass_through_their_doubles(cls, ops):
    backend = vllm(cls)
    ok, reason = backend.available()
    assert ok and "TEST DOUBLE" in reason
    assert set(backend.implements()) == set(ops)
    for op in ops:
        stats = check_pair(backend, op, PROFILES["dev"], max_examples=4, use_target=False)
        # the doubles compute the right function; the only failure allowed is the double's own
        # empty-grid launch at T = 0, which the TileLang ops inherit from vLLM (no guard added)
        assert all(f["kind"] == "error RuntimeError" and f["case"]["T"] == 0 for f in stats.failures), stats.reason
        assert stats.cases >= 4 and stats.verdict in ("pass", "ERROR"), (op, stats.reason)
    prov = backend.provenance()
    assert prov["test_double"] is True and prov["vllm"] == "TEST DOUBLE"
    assert all(key.startswith(("vllm.model_executor.kernels.mhc.", "vllm.utils.deep_gemm.")) for key in prov["calls"])


def test_vllm_tilelang_calls_the_entry_points_vllm_calls():
    backend = vllm(VllmTileLangBackend)
    for op in ("mhc_pre", "hc_post", "fused_post_pre", "hc_head", "prenorm_gemm", "pre_big_fuse"):
        assert run_case(backend, Case(op, 3, 4, 128, seed=1)).status == "pass"
    mhc = "vllm.model_executor.kernels.mhc"
    assert set(backend.provenance()["calls"]) == {
        f"{mhc}.tilelang.mhc_pre_tilelang", f"{mhc}.tilelang.mhc_post_tilelang",
        f"{mhc}.tilelang.mhc_fused_post_pre_tilelang", f"{mhc}.tilelang.hc_head_fused_kernel_tilelang",
        f"{mhc}.tilelang_kernels._HC_PRENORM_GEMM_TILELANG_KERNEL",
        f"{mhc}.tilelang_kernels._MHC_PRE_BIG_FUSE_TILELANG_KERNEL"}


def test_no_guard_the_engine_lacks():
    """vLLM's mhc_pre/post/fused launch at T = 0 (the double raises as an empty grid does): the
    adapter passes T = 0 through and the error is reported; hc_head, which vLLM guards, passes."""
    backend = vllm(VllmTileLangBackend)
    for op in ("mhc_pre", "hc_post", "fused_post_pre"):
        result = run_case(backend, Case(op, 0, 4, 128))
        assert result.status == "error" and "grid dimension must be positive" in result.reason, op
        assert result.failure_kinds() == ("error RuntimeError",)
    assert run_case(backend, Case("hc_head", 0, 4, 128)).status == "pass"


def test_declared_gemm_precision_follows_vllms_choice_of_deepgemm():
    assert vllm(VllmTileLangBackend).precision_for("mhc_pre").matmul == "fp32"
    chosen = vllm(VllmTileLangBackend, deep_gemm_selected=True)
    assert chosen.precision_for("mhc_pre").matmul == "tf32"
    assert chosen.precision_for("fused_post_pre").matmul == "tf32"
    assert chosen.precision_for("prenorm_gemm").matmul == "fp32"  # the op is the TileLang GEMM alone
    assert "DeepGEMM" in chosen.provenance()["prenorm_gemm_in_mhc_pre"]


def test_deepgemm_double_is_tf32_and_the_fp32_declaration_would_catch_it():
    case = Case("prenorm_gemm", 9, 4, 128, family="exact_int", n_splits=2)
    assert run_case(vllm(VllmDeepGemmBackend), case).status == "pass"
    posing = vllm(VllmDeepGemmBackend).with_overrides(default_precision=VllmTileLangBackend.default_precision)
    assert run_case(posing, case).status == "fail"


def aiter(sqrsum_source="unrounded", gemm_fn="bf16", **overrides):
    double = aiter_triton_mhc.module(sqrsum_source, gemm_fn)
    return on_cpu(AiterTritonBackend(modules={aiter_triton_mhc.NAME: double})).with_overrides(**overrides)


def test_aiter_triton_judged_as_declared_and_its_distance_from_the_engines_op_reported():
    backend = aiter()
    assert backend.departures("fused_post_pre") == ("sum of squares from the unrounded fp32 residual; "
                                                    "fn rounded to bf16 in the GEMM")
    assert backend.departures("hc_post") is None
    stats = check_pair(backend, "fused_post_pre", PROFILES["dev"], max_examples=6, use_target=False)
    assert stats.verdict == "pass", stats.reason
    assert stats.departures and stats.engine_ratio_max
    # fn in bf16 moves the mixes far outside the engines' fp32 bounds: the report must show it
    assert stats.engine_ratio_max["post_mix_out"] > 1 and stats.engine_ratio_max["comb_mix_out"] > 1
    assert check_pair(backend, "hc_post", PROFILES["dev"], max_examples=4, use_target=False).verdict == "pass"
    assert set(backend.provenance()["calls"]) == {"aiter.ops.triton.fusions.mhc.mhc_post",
                                                  "aiter.ops.triton.fusions.mhc.mhc_post_pre"}


def test_a_semantics_declaration_is_judged_not_trusted():
    """Squaring the bf16 residual and squaring the unrounded one are told apart, each passing only
    under its own declaration. The difference is ~2^-9/sqrt(K) of the sum of squares against an
    fp32 accumulation bound of ~8 u sqrt(K): visible at small K (here K = 64, ~60x apart); at the
    model's K = 28 672 it sits inside the bound, so there the declaration changes little (the
    report's engine-semantics column is what shows a swap's effect)."""
    from mhc_kernels.base import Precision, Semantics

    case = Case("fused_post_pre", 16, 4, 16, seed=3)
    fp32 = {"fused_post_pre": Precision(matmul="fp32", deterministic=True)}
    unrounded = {"fused_post_pre": Semantics(sqrsum_from_unrounded=True)}
    assert run_case(aiter("unrounded", "fp32", precision=fp32), case).status == "pass"
    assert run_case(aiter("rounded", "fp32", precision=fp32, semantics={}), case).status == "pass"
    for double, declared in (("rounded", unrounded), ("unrounded", {})):
        result = run_case(aiter(double, "fp32", precision=fp32, semantics=declared), case)
        assert result.status == "fail" and "bound post_mix_out" in result.failure_kinds(), (double, declared)


def test_aiter_triton_says_why_mhc_pre_is_not_implemented():
    backend = aiter()
    assert "mhc_pre" not in backend.implements()
    assert "another function" in backend.not_implemented["mhc_pre"]


def test_aiter_triton_fused_post_pre_declares_exactly_where_it_does_not_compile_on_nvidia():
    """mhc_post_pre's split kernel does not compile on NVIDIA where K = n*H <= 8 (a tl.dot with K
    below 16; measured for sm_90 in tests/test_aiter_triton_compile.py, which also checks that this
    declaration matches the compiler). The adapter refuses exactly those shapes on a CUDA build of
    torch, nothing on ROCm (Triton's AMD backend compiles them), and the case generator never draws
    them; a case that asks anyway is not applicable, with the reason, never an error."""
    from hypothesis import given, settings

    from mhc_reference.contract import dim_sizes
    from mhc_verify.strategies import anchor_cases, cases

    backend = aiter()
    expected_min = 0 if getattr(torch.version, "hip", None) else 9
    assert backend.constraints_for("fused_post_pre").min_k == expected_min
    assert backend.constraints_for("hc_post").min_k == 0  # mhc_post has no dot: it compiles at H = 1
    for n in (2, 4, 8):
        for h in (1, 2, 3, 4, 5, 8, 16, 7168):
            refused = backend.supports("fused_post_pre", dim_sizes(1, n, h), {}, {})
            assert bool(refused) == (n * h < expected_min), (n, h, refused)
    drawn = set()

    @settings(max_examples=60, database=None, derandomize=True)
    @given(cases("fused_post_pre", backend, PROFILES["ci"]))
    def collect(case):
        drawn.add((case.n, case.H))

    collect()
    assert drawn and all(n * h >= expected_min for n, h in drawn), drawn
    assert all(c.n * c.H >= expected_min for c in anchor_cases("fused_post_pre", backend, PROFILES["ci"]))
    if expected_min:
        result = run_case(backend, Case("fused_post_pre", 1, 4, 1))
        assert result.status == "not_applicable" and "K = n*H = 4*1 = 4 is below the minimum 9" in result.reason
        assert run_case(backend, Case("fused_post_pre", 1, 4, 3)).status == "pass"
