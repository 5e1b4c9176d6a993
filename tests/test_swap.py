"""The swap verdict on planted pairs: a kernel with fn rounded to bf16 replacing an fp32 one is
"less accurate" (with a reproducer that replays for both); two fp32 kernels that differ only in
summation order are "at least as accurate"; the reverse of the first swap is "more accurate"."""

import json

import torch

from mhc_kernels.base import Constraints
from mhc_kernels.torch_native import TorchNativeBackend, prenorm_gemm_fp32
from mhc_verify.cases import Case
from mhc_verify.cli import main
from mhc_verify.strategies import PROFILES
from mhc_verify.swap import LESS, MORE, SAME, compare_case, swap_pair


class Bf16Fn(TorchNativeBackend):
    """fn rounded to bf16 before the GEMM, as aiter's Triton mhc_post_pre does."""

    name = "planted-bf16-fn"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x, fn.to(torch.bfloat16).float(), n_splits)


class ReversedSum(TorchNativeBackend):
    """The same fp32 GEMM summed in the opposite order along K: another rounding, the same accuracy."""

    name = "planted-reversed-sum"
    constraints = {"mhc_pre": Constraints(n_splits=(1,))}  # one split: reversing K keeps its partial whole

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x.flip(-1).contiguous(), fn.flip(-1).contiguous(), n_splits)


def test_bf16_fn_replacing_fp32_is_less_accurate_with_a_replayable_reproducer(tmp_path, capsys):
    result = swap_pair(TorchNativeBackend(), Bf16Fn(), "mhc_pre", PROFILES["dev"], max_examples=12)
    assert result.verdict == LESS, result.summary()
    assert result.worst is not None and result.reproducer.startswith("mhc-verify swap --from torch --to")
    case = Case.from_json(result.worst.case)
    assert compare_case(TorchNativeBackend(), Bf16Fn(), case).outputs  # replays
    code = main(["swap", "--from", "torch", "--to", "test_swap:Bf16Fn", "--op", "mhc_pre", "--profile", "dev", "--examples", "8",
                 "--out", str(tmp_path)])
    assert code == 1
    report = json.loads((tmp_path / "swap.json").read_text())
    assert report["results"][0]["verdict"] == LESS and report["results"][0]["reproducer"]
    assert (tmp_path / "swap.md").read_text().count("B less accurate") >= 1


def test_the_reverse_swap_is_more_accurate():
    result = swap_pair(Bf16Fn(), TorchNativeBackend(), "mhc_pre", PROFILES["dev"], max_examples=12)
    assert result.verdict == MORE, result.summary()


def test_summation_order_alone_is_mostly_at_least_as_accurate():
    """A pure summation-order change against fn rounded to bf16, over eight seeds of 25 cases each.
    The rule compares maxima of a few heavy-tailed fp32 rounding errors (comb_mix after 20 Sinkhorn
    steps, post_mix through the sigmoid), which differ by more than k = 2 at times: measured on a
    2-core Xeon (AVX-512), 1 and 2 of 8 runs "less accurate" (with 1 and 2 torch threads) where the
    case-by-case rule gave 3 of 8; the single derandomized run this test used to be passed with 2
    threads and failed with 1. This bounds the false alarms at what was measured; the bf16 swap is
    caught every time."""
    wrong, caught = [], 0
    for seed in range(1, 9):
        result = swap_pair(TorchNativeBackend(), ReversedSum(), "mhc_pre", PROFILES["dev"], max_examples=25, seed=seed)
        assert result.summary()["per_output"]["post_mix"]["change_max_ulps"] > 0  # the two really differ
        if result.verdict == LESS:
            wrong.append((seed, result.worst.b_worse[:1]))
        caught += swap_pair(TorchNativeBackend(), Bf16Fn(), "mhc_pre", PROFILES["dev"], max_examples=25,
                            seed=seed).verdict == LESS
    assert len(wrong) <= 2, wrong
    assert caught == 8


def test_swap_verdict(mhc_swap, mhc_profile, mhc_examples):
    """The swap verdict through the pytest plugin: `pytest tests/test_swap.py --swap A:B` judges B
    replacing A on every op both implement (skipped, saying so, without --swap)."""
    a, b, op = mhc_swap
    result = swap_pair(a, b, op, mhc_profile, mhc_examples)
    assert result.passed, f"{result.full_verdict}: {result.reproducer}"


class RaisesAtZeroTokens(TorchNativeBackend):
    """Launches an empty grid at T = 0, as vLLM's TileLang kernels do; exact elsewhere."""

    name = "planted-raises-at-T0"

    def run(self, op, inputs, params=None):
        if next(iter(v for v in inputs.values() if isinstance(v, torch.Tensor))).shape[0] == 0:
            raise RuntimeError("grid dimension must be positive")
        return super().run(op, inputs, params)


def test_a_crash_of_b_is_its_own_finding_beside_the_accuracy_verdict(tmp_path):
    """B raising where A runs must neither hide the accuracy verdict on the cases both ran nor be
    hidden by it: both are reported, each with its reproducer, and the swap does not pass."""
    result = swap_pair(TorchNativeBackend(), RaisesAtZeroTokens(), "hc_post", PROFILES["dev"], max_examples=10)
    assert result.b_raises and all(e.case["T"] == 0 for e in result.b_raises), result.errors
    assert result.verdict == SAME and result.cases  # the accuracy verdict over the cases both ran
    assert not result.passed and "B raises where A runs" in result.full_verdict
    code = main(["swap", "--from", "torch", "--to", "test_swap:RaisesAtZeroTokens", "--op", "hc_post", "--profile",
                 "dev", "--examples", "10", "--out", str(tmp_path)])
    assert code == 1
    report = json.loads((tmp_path / "swap.json").read_text())["results"][0]
    assert report["accuracy_verdict"] == SAME and "B raises" in report["verdict"]
    assert report["errors"][0]["reproducer"].startswith("mhc-verify swap --from torch --to test_swap:RaisesAtZeroTokens --case")
    md = (tmp_path / "swap.md").read_text()
    assert "grid dimension must be positive" in md and "--case" in md


class OnlyHugeHidden(TorchNativeBackend):
    """Runs only H a multiple of 2^20 (as SGLang's small-batch pre runs only n*H in {16384, 28672}):
    no case of a small profile is one it runs."""

    name = "planted-only-huge-hidden"
    constraints = {"hc_post": Constraints(hidden_multiple_of=1 << 20)}


def test_a_swap_where_b_runs_no_drawn_case_says_so_and_does_not_pass():
    """Seen on an H200: SGLang's mhc_pre under the ci profile; Hypothesis gave up (Unsatisfiable) and
    the whole swap command died with a traceback instead of a report."""
    result = swap_pair(TorchNativeBackend(), OnlyHugeHidden(), "hc_post", PROFILES["dev"], max_examples=5)
    assert not result.cases and not result.passed
    assert result.full_verdict.startswith("no case ran on both: every drawn case is outside the declared constraints")
    assert "multiple of 1048576" in result.full_verdict


class ContiguousOnly(TorchNativeBackend):
    """Refuses strided views, as SGLang's Triton kernels assert contiguity."""

    name = "planted-contiguous-only"
    constraints = {"layer_input": Constraints(strided_inputs=False)}


def test_a_case_b_refuses_under_its_constraints_is_outside_the_swap_not_a_crash():
    """Seen on an H200: a strided case refused by sglang-triton's declared contiguity was reported as
    "B raises where A runs" (a false finding)."""
    result = swap_pair(TorchNativeBackend(), ContiguousOnly(), "layer_input", PROFILES["ci"], max_examples=30)
    assert not result.errors and result.cases and result.passed, result.full_verdict
    assert "must be contiguous" in result.outside_b  # some drawn cases were refused, none counted as a crash


pytest_plugins = ["pytester"]

PLANTED = '''
import torch
from mhc_kernels.torch_native import TorchNativeBackend, prenorm_gemm_fp32


class Bf16Fn(TorchNativeBackend):
    name = "planted-bf16-fn"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x, fn.to(torch.bfloat16).float(), n_splits)
'''

SWAP_TEST = '''
from mhc_verify.swap import MORE, SAME, swap_pair


def test_swap(mhc_swap, mhc_profile, mhc_examples):
    a, b, op = mhc_swap
    assert swap_pair(a, b, op, mhc_profile, mhc_examples).verdict in (SAME, MORE)
'''


def test_the_plugin_runs_the_swap_and_fails_a_less_accurate_b(pytester):
    pytester.makepyfile(planted_swap=PLANTED, test_swap_plugin=SWAP_TEST)
    pytester.syspathinsert()
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--swap", "torch::planted_swap:Bf16Fn",
                                        "--mhc-profile", "dev", "--mhc-examples", "6", "-k", "mhc_pre")
    run.assert_outcomes(failed=1)
    skipped = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs")
    skipped.assert_outcomes(skipped=1)
    assert "no --swap A:B given" in skipped.stdout.str()
