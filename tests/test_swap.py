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


class CorruptTokens(TorchNativeBackend):
    """Equal to the fp32 backend but for every 7th token's post weights, off by 2^-14 relative: a
    localized loss far above fp32 rounding, on a kernel bitwise A elsewhere."""

    name = "planted-corrupt-tokens"

    def mhc_pre(self, *args, **kwargs):
        post, comb, layer_input = super().mhc_pre(*args, **kwargs)
        post = post.clone()
        post[::7] *= 1 + 2.0 ** -14
        return post, comb, layer_input


def test_summation_order_alone_is_at_least_as_accurate_and_real_losses_are_caught():
    """Eight seeded runs of 25 cases each. A pure summation-order change: never "less" (nor "more")
    accurate; its maxima differ by more than k = 2 at times (comb_mix after 20 Sinkhorn steps), which
    the case-by-case rule called "less accurate" in 13 and "more accurate" in 4 of 32 such runs. fn
    rounded to bf16 and a few corrupted tokens: caught in every run (32 of 32 when measured)."""
    for seed in range(1, 9):
        result = swap_pair(TorchNativeBackend(), ReversedSum(), "mhc_pre", PROFILES["dev"], max_examples=25, seed=seed)
        assert result.verdict == SAME, (seed, result.worst.b_worse[:1] if result.worst else result.summary())
        assert result.summary()["per_output"]["post_mix"]["change_max_ulps"] > 0  # the two really differ
        for planted in (Bf16Fn(), CorruptTokens()):
            caught = swap_pair(TorchNativeBackend(), planted, "mhc_pre", PROFILES["dev"], max_examples=25, seed=seed)
            assert caught.verdict == LESS, (seed, planted.name, caught.summary())


def test_a_seeded_swap_draws_the_same_cases():
    """--seed reaches Hypothesis (it once only turned derandomizing off: every run drew anew)."""
    runs = [swap_pair(TorchNativeBackend(), ReversedSum(), "mhc_pre", PROFILES["dev"], max_examples=6, seed=5)
            for _ in range(2)]
    assert [c.case for c in runs[0].cases] == [c.case for c in runs[1].cases]


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
