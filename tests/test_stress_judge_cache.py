"""Stress judges its reruns against a float64 reference built once per case (mhc_verify.judge_cache),
with the verdicts, statistics and failure rows of runner.judge, and still sees what changes."""

import dataclasses

import pytest
import torch

import mhc_verify.runner as runner
from mhc_kernels.base import Precision
from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify.cases import Case, build_inputs
from mhc_verify.judge_cache import CachedJudge, bits_equal
from mhc_verify.stress import stress_case


class _WrongAt(TorchNativeBackend):
    """Healthy except on the calls in ``wrong_at`` (0-based), where one element of ``output`` is
    doubled plus one: a race that hits one rerun. ``scribble_at``: calls that also write into the
    residual input (a kernel writing where it reads)."""

    name = "torch-wrong-at"

    def __init__(self, output: str, wrong_at=(), scribble_at=(), deterministic: bool = True) -> None:
        super().__init__()
        self.output, self.wrong_at, self.scribble_at, self.calls = output, set(wrong_at), set(scribble_at), 0
        self.default_precision = dataclasses.replace(self.default_precision, deterministic=deterministic)

    def run(self, op, inputs, params):
        call, self.calls = self.calls, self.calls + 1
        if call in self.scribble_at:
            inputs["residual"].view(-1)[3] = 1000.0
        out = super().run(op, inputs, params)
        if call in self.wrong_at:
            out = {k: v.clone() for k, v in out.items()}
            flat = out[self.output].view(-1)
            flat[11] = flat[11] * 2 + 1
        return out


def _count_references(monkeypatch) -> list[int]:
    calls = [0]
    real = runner.reference_outputs

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "reference_outputs", counting)
    return calls


@pytest.mark.parametrize("op", ["mhc_pre", "fused_post_pre", "hc_post"])
@pytest.mark.parametrize("chunk_elements", [None, 4000])
def test_reference_is_built_once_per_case_not_per_judgement(monkeypatch, op, chunk_elements):
    if chunk_elements:
        monkeypatch.setattr(runner, "JUDGE_CHUNK_ELEMENTS", chunk_elements)  # several token chunks
    references = _count_references(monkeypatch)
    case = Case(op, 96, 4, 64, seed=7)
    result = stress_case(TorchNativeBackend(), case, reruns=12, judge_every=3)
    assert result.failures == [] and result.judged == 4
    chunks = len(runner.judge_chunks(case, build_inputs(case, "cpu"), TorchNativeBackend().run(
        op, build_inputs(case, "cpu"), case.param_dict())))
    assert chunks > 1 if chunk_elements else chunks == 1
    assert references[0] == chunks  # one build of each chunk, whatever the number of judgements
    assert result.times.reference_builds == 1 and result.times.reference_cached
    assert "1 builds, kept for every judgement" in result.summary()


@pytest.mark.parametrize("op", ["mhc_pre", "fused_post_pre", "hc_post", "prenorm_gemm", "hc_head", "pre_big_fuse"])
@pytest.mark.parametrize("family", ["normal", "nonfinite", "heavy_tail"])
def test_cached_judgement_is_runner_judge(monkeypatch, op, family):
    """Bit for bit the same CaseResult (checks, statistics, rows), passing or failing, in one piece
    or in chunks, from the cache's first and later judgements."""
    case = Case(op, 40, 4, 64, family=family, seed=13, n_splits=2 if op in ("prenorm_gemm", "pre_big_fuse") else 1)
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    backend = TorchNativeBackend()
    healthy = backend.run(op, inputs, params)
    wrong = {k: v.clone() for k, v in healthy.items()}
    first = next(iter(wrong))
    wrong[first].view(-1)[5] = wrong[first].view(-1)[5] * 3 + 1
    for chunk_elements in (runner.JUDGE_CHUNK_ELEMENTS, 3000):
        monkeypatch.setattr(runner, "JUDGE_CHUNK_ELEMENTS", chunk_elements)
        cached = CachedJudge(backend, case, inputs, params)
        for outputs in (healthy, wrong, healthy):
            expected = runner.judge(backend, case, inputs, params, outputs)
            got = cached(outputs)
            assert (got.status, got.reason) == (expected.status, expected.reason)
            assert got.checks == expected.checks
        # fused_post_pre's reference reads the residual the kernel wrote: each new one is a new build
        assert cached.times.builds == (3 if op == "fused_post_pre" else 1)


def test_without_memory_for_the_cache_every_judgement_builds():
    case = Case("mhc_pre", 64, 4, 64, seed=3)
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    backend = TorchNativeBackend()
    outputs = backend.run("mhc_pre", inputs, params)
    judge = CachedJudge(backend, case, inputs, params, memory_limit=0)
    for _ in range(3):
        assert judge(outputs).checks == runner.judge(backend, case, inputs, params, outputs).checks
    assert judge.times.builds == 3 and not judge.cached


@pytest.mark.parametrize("op,output", [("mhc_pre", "layer_input"), ("mhc_pre", "comb_mix"),
                                       ("fused_post_pre", "residual_out"), ("hc_post", "out")])
def test_a_change_at_one_rerun_is_still_caught(op, output):
    case = Case(op, 96, 4, 64, seed=9)
    # deterministic: the bitwise comparison with the baseline catches rerun 7
    result = stress_case(_WrongAt(output, wrong_at={7}), case, reruns=12, judge_every=100)
    assert [(f.rerun, f.kind) for f in result.failures] == [(7, "bitwise")]
    # not deterministic: only a judgement can see it; rerun 8 is judged against the kept reference
    result = stress_case(_WrongAt(output, wrong_at={8}, deterministic=False), case, reruns=12, judge_every=4)
    assert [(f.rerun, f.kind) for f in result.failures] == [(8, "bound")] and result.judged == 3
    builds = 2 if op == "fused_post_pre" else 1  # the wrong residual_out is what its pre reads: built anew
    assert result.times.reference_builds == builds


def test_a_kernel_writing_into_its_inputs_is_judged_on_what_it_read():
    """The key of the cache is the inputs' bits: after a kernel scribbles on its residual, the
    judgement uses the reference of the scribbled inputs, as runner.judge would."""
    case = Case("mhc_pre", 64, 4, 64, seed=4)
    backend = _WrongAt("layer_input", scribble_at={5}, deterministic=False)
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    judge = CachedJudge(backend, case, inputs, params)
    for call in range(8):
        outputs = backend.run("mhc_pre", inputs, params)
        assert judge(outputs).checks == runner.judge(backend, case, inputs, params, outputs).checks
    assert judge.times.builds == 2


def test_bits_equal():
    a = torch.tensor([0.0, 1.0, float("nan")], dtype=torch.bfloat16)
    assert bits_equal(a, a.clone())
    assert not bits_equal(a, torch.tensor([-0.0, 1.0, float("nan")], dtype=torch.bfloat16))
    assert not bits_equal(a, a.float())
    assert not bits_equal(a, a[:2])


def test_bitwise_treats_nan_payloads_and_signed_zeros_as_before():
    """The fast bit comparison falls back to the value comparison, which counts -0 == +0 and any
    NaN == any NaN: what was equal to the baseline stays equal, what differs is still located."""
    from mhc_verify.stress import _Config, _StressRun

    run = _StressRun({"": _Config(TorchNativeBackend(), "")}, Case("hc_post", 4, 4, 8, seed=1), 1, 1.0, False, None)
    first = torch.zeros(4, 4, 8, dtype=torch.bfloat16)
    first[1, 2, 3] = float("nan")
    same = first.clone()
    same[0, 0, 0] = -0.0
    same.view(torch.int16)[1, 2, 3] = first.view(torch.int16)[1, 2, 3] ^ 1  # another NaN payload
    run._compare_bitwise(1, "", {"out": same}, {"out": first})
    assert run.failures == []
    other = first.clone()
    other[2, 1, 5] = 1.0
    run._compare_bitwise(2, "", {"out": other}, {"out": first})
    assert [(f.rerun, f.kind, f.tokens, f.streams, f.hidden_ranges) for f in run.failures] == [
        (2, "bitwise", [2], [1], [(5, 6)])]


def _check_output_before_issue16(name, out, ref, bound):
    """check_output as it was before the comparison was split from its preparation and trimmed of
    passes and syncs (verbatim): the oracle that the trimmed one reports the same."""
    from mhc_reference._rounding import round_to_bf16
    from mhc_verify.compare import SIGN_TEST_MIN, OutputCheck, _binomial_two_sided_p, row_runs
    from mhc_verify.error_model import output_rounding

    o = out.double()
    r = ref.to(o.device)
    b = bound.to(o.device)
    finite_ref = torch.isfinite(r)
    same_nonfinite = (torch.isnan(r) & torch.isnan(o)) | (torch.isinf(r) & (o == r))
    mismatch = (finite_ref & ~torch.isfinite(o)) | (~finite_ref & ~same_nonfinite)
    err = (o - r).abs()
    total = b + output_rounding(r, b, out.dtype)
    unbounded = finite_ref & ~torch.isfinite(total)
    checked = finite_ref & torch.isfinite(o) & torch.isfinite(total)
    ratio = torch.where(checked, err / total, torch.zeros_like(err))
    ratio = torch.where(checked & (err == 0), torch.zeros_like(ratio), ratio)
    over = checked & (err > total)
    bad = over | mismatch | unbounded
    max_ratio = float(ratio.max()) if ratio.numel() else 0.0
    worst = tuple(int(i) for i in torch.unravel_index(ratio.argmax(), ratio.shape)) if ratio.numel() else None
    bad_rows, bad_row_runs = [], []
    if bad.any() and bad.dim() > 0:
        rows_dim = 1 if name.endswith("_partial") and bad.dim() > 1 else 0
        rows = bad.movedim(rows_dim, 0).reshape(bad.shape[rows_dim], -1).any(-1).nonzero().flatten().cpu()
        bad_rows = [int(i) for i in rows[:64]]
        bad_row_runs = row_runs(rows)
    result = OutputCheck(
        name=name, elements=out.numel(), max_ratio=max_ratio,
        max_abs_err=float(torch.where(checked, err, torch.zeros_like(err)).max()) if err.numel() else 0.0,
        violations=int(over.sum()), nonfinite_mismatches=int(mismatch.sum()), unbounded=int(unbounded.sum()),
        worst_index=worst, bad_rows=bad_rows, bad_row_runs=bad_row_runs)
    if checked.any():
        flat = ratio[checked]
        k = min(256, flat.numel())
        result.ratio_sample = [float(v) for v in torch.topk(flat, k).values[:8]]
    if out.dtype == torch.bfloat16 and checked.any():
        nearest = round_to_bf16(r)
        cr = (o == nearest) & checked
        result.correctly_rounded = float(cr.sum()) / float(checked.sum())
        miss = checked & ~cr & (r != 0)
        toward = miss & (o.abs() < r.abs())
        result.toward_zero = int(toward.sum())
        result.away_from_zero = int(miss.sum()) - result.toward_zero
        n_miss = result.toward_zero + result.away_from_zero
        if n_miss >= SIGN_TEST_MIN:
            result.sign_test_p = _binomial_two_sided_p(result.toward_zero, n_miss)
    return result


@pytest.mark.parametrize("op", ["mhc_pre", "fused_post_pre", "hc_post", "prenorm_gemm", "hc_head", "sinkhorn"])
@pytest.mark.parametrize("family", ["normal", "nonfinite", "huge", "tiny", "zeros", "exact_int"])
def test_check_output_reports_what_it_did_before(op, family):
    from mhc_verify.bounds import op_bounds
    from mhc_verify.compare import check_output

    case = Case(op, 33, 4, 64, family=family, seed=21)
    inputs, params = build_inputs(case, "cpu"), case.param_dict()
    backend = TorchNativeBackend()
    outputs = backend.run(op, inputs, params)
    ref = runner.reference_outputs(case, inputs, params, outputs)
    bounds = op_bounds(op, inputs, params, ref, outputs, backend.precision_for(op))
    g = torch.Generator().manual_seed(5)
    for name, out in outputs.items():
        spoilt = out.clone().view(-1)
        idx = torch.randint(0, spoilt.numel(), (max(3, spoilt.numel() // 50),), generator=g)
        spoilt[idx] = spoilt[idx] * 1.01 + 1e-3
        specials = torch.tensor([float("nan"), float("inf"), 0.0], dtype=out.dtype)
        spoilt[idx[:3]] = specials[: idx[:3].numel()]
        for value in (out, spoilt.view(out.shape)):
            assert check_output(name, value, ref[name], bounds[name]) == _check_output_before_issue16(
                name, value, ref[name], bounds[name])
