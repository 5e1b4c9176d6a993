"""The 'max err / torch fp32 err' diagnostic judges each backend against the reference of its own
intermediates: in the fused post+pre, the pre reads the residual the backend itself wrote."""

import pytest
import torch

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_reference.contract import get_op
from mhc_verify.cases import Case, build_inputs
from mhc_verify.runner import _torch_ratio


def test_fused_post_pre_ratio_uses_each_backends_own_residual():
    case = Case("fused_post_pre", 64, 4, 64, seed=11)
    inputs = build_inputs(case, "cpu")
    params = case.param_dict()
    torch_backend = TorchNativeBackend()
    reference_run = torch_backend.run(case.op, inputs, params)
    # "ours": a post whose bf16 output differs from torch's by one ulp in a whole token row (a
    # legitimate rounding difference), and an exact-as-torch pre on that residual
    residual = reference_run["residual_out"].clone()
    bits = residual[5].view(torch.int16)
    residual[5] = (bits + torch.where(bits >= 0, 1, -1).to(torch.int16)).view(torch.bfloat16)
    pre = get_op("mhc_pre")
    pre_inputs = {name: inputs.get(name) for name in pre.input_names} | {"residual": residual}
    pre_out = torch_backend.run("mhc_pre", pre_inputs, {k: params[k] for k in pre.param_names if k in params})
    post_mix, comb_mix, layer_input = pre_out["post_mix"], pre_out["comb_mix"], pre_out["layer_input"]
    ours = {"residual_out": residual, "post_mix_out": post_mix, "comb_mix_out": comb_mix,
            "layer_input": layer_input}
    ratios = _torch_ratio(case, inputs, params, ours)
    # the pre ran the same arithmetic as torch's on its own residual: as accurate as torch's
    for name in ("post_mix_out", "comb_mix_out"):
        assert ratios[name] < 4, (name, ratios[name])


class _OffByOneUlp(TorchNativeBackend):
    """torch's outputs with every bf16 output an ulp away: a backend that is not torch, with errors."""

    name = "torch-off-by-one-ulp"

    def run(self, op, inputs, params):
        out = super().run(op, inputs, params)
        return {k: (v.view(torch.int16) + 1).view(torch.bfloat16) if v.dtype == torch.bfloat16 else v
                for k, v in out.items()}


@pytest.fixture
def reference_builds(monkeypatch) -> list:
    """One entry per float64 reference the runner builds (runner.reference_outputs calls)."""
    from mhc_verify import runner

    built = []
    real = runner.reference_outputs
    monkeypatch.setattr(runner, "reference_outputs", lambda *a, **k: built.append(1) or real(*a, **k))
    return built


def test_diagnostic_shares_the_judgements_reference(reference_builds):
    """run_case builds the float64 reference once for the verdict and the diagnostic (twice only for
    the fused post+pre, whose torch run needs its own), and the ratios are those of a separate build."""
    from mhc_verify import runner

    built = reference_builds
    for op, expected in (("hc_post", 1), ("mhc_pre", 1), ("fused_post_pre", 2)):
        built.clear()
        case = Case(op, 33, 4, 64, seed=5)
        result = runner.run_case(_OffByOneUlp(), case, diagnostics=True)
        assert len(built) == expected, (op, len(built))
        inputs = build_inputs(case, "cpu")
        separate = _torch_ratio(case, inputs, case.param_dict(), _OffByOneUlp().run(op, inputs, case.param_dict()))
        assert result.torch_ratio == separate and result.torch_ratio, (op, result.torch_ratio, separate)


def test_no_diagnostic_where_the_case_is_judged_in_token_chunks(monkeypatch, reference_builds):
    """A case too large to judge in one piece gets its verdict but no diagnostic: the diagnostic would
    build a float64 reference of the whole case, the memory the chunked judgement avoids."""
    from mhc_verify import runner

    monkeypatch.setattr(runner, "JUDGE_CHUNK_ELEMENTS", 1 << 12)  # hc_post at 33 x 4 x 64: 3 chunks
    built = reference_builds
    result = runner.run_case(_OffByOneUlp(), Case("hc_post", 33, 4, 64, seed=5), diagnostics=True)
    assert result.status in ("pass", "fail") and result.checks
    assert result.torch_ratio == {} and len(built) == 3, (result.torch_ratio, len(built))
