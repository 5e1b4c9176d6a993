"""The float64 reference: exact where the math is exact, consistent across chunking and split-K."""

import torch

import mhc_reference._chunks as chunks
from mhc_reference import reference_for
from mhc_reference._rounding import round_to_bf16
from mhc_verify.cases import Case, build_inputs


def _run(op, **kw):
    case = Case(op=op, **kw)
    inputs = build_inputs(case)
    return inputs, reference_for(op)(inputs, case.param_dict())


def test_prenorm_gemm_exact_on_integers():
    inputs, ref = _run("prenorm_gemm", T=9, n=4, H=32, family="exact_int", n_splits=4)
    x, fn = inputs["x"].double(), inputs["fn"].double()
    assert torch.equal(ref["mixes_partial"].sum(0), x @ fn.T)
    assert torch.equal(ref["sqrsum_partial"].sum(0), x.square().sum(-1))


def test_split_k_does_not_change_the_function():
    a = _run("mhc_pre", T=7, n=4, H=32, n_splits=1, seed=5)[1]
    b = _run("mhc_pre", T=7, n=4, H=32, n_splits=8, seed=5)[1]
    for k in ("post_mix", "comb_mix", "layer_input"):
        assert torch.allclose(a[k], b[k], rtol=1e-13, atol=0)


def test_sinkhorn_is_nearly_doubly_stochastic():
    _, ref = _run("sinkhorn", T=50, n=4, H=8, params=(("sinkhorn_repeat", 200), ("hc_sinkhorn_eps", 0.0)))
    c = ref["comb_mix"]
    assert torch.allclose(c.sum(-2), torch.ones_like(c.sum(-2)), atol=1e-12)
    assert torch.allclose(c.sum(-1), torch.ones_like(c.sum(-1)), atol=1e-3)


def test_chunking_does_not_change_results(monkeypatch):
    inputs, whole = _run("fused_post_pre", T=33, n=4, H=64, norm_weight=True, seed=2)
    monkeypatch.setattr(chunks, "DEFAULT_BUDGET_ELEMENTS", 300)
    from mhc_reference import hc_post, layer_input, prenorm_gemm
    for mod in (hc_post, layer_input, prenorm_gemm):
        monkeypatch.setattr(mod, "token_chunks", lambda t, e, budget=300: chunks.token_chunks(t, e, 300))
    again = reference_for("fused_post_pre")(inputs, Case("fused_post_pre", 33, 4, 64, norm_weight=True).param_dict())
    for k in whole:  # float64 results may differ in the last bits with BLAS blocking, not more
        assert torch.allclose(whole[k].double(), again[k].double(), rtol=1e-14, atol=0, equal_nan=True), k


def test_pre_composes_gemm_and_fuse():
    inputs, full = _run("mhc_pre", T=11, n=3, H=16, seed=9)
    gemm = reference_for("prenorm_gemm")({"x": inputs["residual"].reshape(11, 48), "fn": inputs["fn"]},
                                         {"n_splits": 1})
    assert torch.equal(gemm["mixes_partial"][0], full["mixes"])


def test_round_to_bf16_matches_single_rounding_of_fp32():
    v = (torch.randn(100_000) * torch.exp(torch.randn(100_000) * 20)).float()
    assert torch.equal(round_to_bf16(v.double()), v.to(torch.bfloat16).double())


def test_zero_tokens():
    for op in ("mhc_pre", "hc_post", "hc_head", "fused_post_pre", "sinkhorn"):
        _, ref = _run(op, T=0, n=4, H=8)
        assert all(v.shape[0] == 0 or k.endswith("_partial") for k, v in ref.items() if v.dim())
