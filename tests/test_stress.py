"""The stress machinery on the CPU: healthy backends pass, planted races are caught and located."""

import json
import math

import pytest

from mhc_kernels.cpu_races import SqrsumRowSwapRace, StaleBlockRace
from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify.cases import Case
from mhc_verify.cli import main
from mhc_verify.stress import clopper_pearson_upper, stress_case


def test_clopper_pearson():
    assert clopper_pearson_upper(0, 1000) == pytest.approx(2.9912e-3, rel=1e-3)  # "0/1000 -> <= 3.0e-3"
    # 5/100: the exact 95 % one-sided upper bound is 0.1023
    assert clopper_pearson_upper(5, 100) == pytest.approx(0.1023, abs=2e-4)
    assert clopper_pearson_upper(3, 3) == 1.0


@pytest.mark.parametrize("op", ["prenorm_gemm", "hc_post"])
def test_healthy_backend_has_no_failures(op):
    result = stress_case(TorchNativeBackend(), Case(op, 300, 4, 64, seed=3, n_splits=2 if op == "prenorm_gemm" else 1),
                         reruns=25, judge_every=5)
    assert result.failures == [] and result.judged == 5


def test_sqrsum_row_swap_race_is_caught_and_located():
    race = SqrsumRowSwapRace()
    race.rate = 0.3
    result = stress_case(race, Case("prenorm_gemm", 300, 4, 64, seed=1), reruns=40, judge_every=4)
    assert 0 < result.failed_reruns < result.reruns  # some reruns, not all: a moving error
    bitwise = [f for f in result.failures if f.kind == "bitwise"]
    assert bitwise and all(1 <= len(f.tokens) <= 2 and len(f.blocks) == 1 for f in bitwise)
    assert clopper_pearson_upper(result.failed_reruns, result.reruns) < 1


def test_stale_block_race_is_caught_with_blocks_and_heatmap(tmp_path):
    race = StaleBlockRace()
    race.rate = 0.3
    result = stress_case(race, Case("hc_post", 256, 4, 32, seed=2), reruns=30, judge_every=10)
    assert result.failed_reruns > 0
    bitwise = [f for f in result.failures if f.kind == "bitwise"]
    assert bitwise and len(bitwise[0].blocks) == 1 and len(bitwise[0].tokens) <= 64
    assert result.heatmap


def test_cli_resumes(tmp_path):
    args = ["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "130,67", "--hidden", "32",
            "--reruns", "4", "--judge-every", "2", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["p_fail_upper_95"] == pytest.approx(1 - 0.05 ** 0.25)
    assert main(args) == 0  # resumed: nothing left to run
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2
    assert main(["stress", "--backend", "mhc_kernels.cpu_races:StaleBlockRace", "--op", "hc_post", "--tokens", "256",
                 "--hidden", "32", "--reruns", "60", "--out", str(tmp_path / "race"), "--no-progress"]) == 1


def test_sigterm_keeps_the_partial_case_and_the_race_it_caught(tmp_path):
    """`timeout` stops a long stress case: the reruns done so far, with the failures they located,
    are recorded (marked interrupted), and running the command again redoes that case whole."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "mhc_verify", "stress", "--backend", "mhc_kernels.cpu_races:StaleBlockRace",
           "--op", "hc_post", "--tokens", "256", "--hidden", "32", "--reruns", "10000000", "--judge-every", "50",
           "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(15)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    rec = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert rec["interrupted"] and 0 < rec["reruns"] < 10000000
    assert 0 < rec["failed_reruns"] <= rec["reruns"] and rec["failures"][0]["blocks"]
    assert "INTERRUPTED" in (out / "report.md").read_text()


def test_judge_budget_keeps_the_fp64_checks_a_bounded_share_of_the_run():
    case = Case("hc_post", 300, 4, 64, seed=5)
    unlimited = stress_case(TorchNativeBackend(), case, reruns=12, judge_every=1)
    assert unlimited.judged == 12 and unlimited.judge_seconds > 0
    # on the CPU a judgement costs far more than the op: a budget of 0.01 x the kernel's time
    # allows rerun 0 (the bitwise baseline) and nothing after it
    frugal = stress_case(TorchNativeBackend(), case, reruns=12, judge_every=1, judge_budget=0.01)
    assert frugal.judged == 1 and frugal.failures == []
    assert "judged in fp64" in frugal.summary()


class _WithRacyVariant(TorchNativeBackend):
    """Healthy itself; one of its stress variants (as a split or block knob might be) races."""

    name = "torch-with-racy-variant"

    def stress_variants(self, op):
        race = StaleBlockRace()
        race.rate = 0.5
        return {"racy-blocks": race, "same": TorchNativeBackend()}


def test_vary_config_alternates_variants_and_names_the_racy_one():
    case = Case("hc_post", 256, 4, 32, seed=4)
    plain = stress_case(_WithRacyVariant(), case, reruns=36, judge_every=6)
    assert plain.failures == [] and plain.variants == ["torch-with-racy-variant"]
    varied = stress_case(_WithRacyVariant(), case, reruns=36, judge_every=6, vary_config=True)
    assert varied.variants == ["torch-with-racy-variant", "racy-blocks", "same"]
    assert varied.failures and {f.variant for f in varied.failures} == {"racy-blocks"}
    # six reruns per configuration, in turn: the racy one owns reruns 6-11, 24-29
    assert all((f.rerun // 6) % 3 == 1 for f in varied.failures)
    assert "racy-blocks" in varied.summary()


def test_tilelang_offers_its_gemm_knobs_as_stress_variants():
    from mhc_kernels.tilelang.backend import TileLangBackend

    backend = TileLangBackend()  # constructing it touches no GPU
    variants = backend.stress_variants("mhc_pre")
    assert set(variants) == {"long-chunks", "bk64"}
    assert variants["long-chunks"].min_tiles_per_chunk > backend.min_tiles_per_chunk
    assert variants["long-chunks"].gemm_tunables == backend.gemm_tunables
    assert backend.gemm_tunables[128]["block_k"] == 128 and variants["bk64"].gemm_tunables == {}
    assert backend.stress_variants("hc_post") == {}
    # the op (3-stage pipeline, one CTA per SM) also runs on the fused pre's 2-stage tunables
    op_variants = backend.stress_variants("prenorm_gemm")
    assert set(op_variants) == {"long-chunks", "bk64", "two-ctas-per-sm"}
    assert op_variants["two-ctas-per-sm"].op_gemm_tunables == backend.gemm_tunables != backend.op_gemm_tunables


class _FakePartitions:
    """Stands in for SmPartitions on the CPU: 'running on fewer SMs' here flips one output element,
    as a kernel whose result depended on the SM count would."""

    total = 8
    streams = {"sms=4/8": None, "sms=2/8": None}

    def run(self, name, call):
        out = call()
        if name == "sms=2/8":
            out = {k: v.clone() for k, v in out.items()}
            first = next(iter(out))
            out[first].view(-1)[5] += 1.0
        return out


def test_vary_sms_compares_partitions_with_the_full_device_baseline():
    case = Case("hc_post", 128, 4, 32, seed=5)
    result = stress_case(TorchNativeBackend(), case, reruns=36, judge_every=100, partitions=_FakePartitions())
    assert result.variants == ["torch", "sms=4/8", "sms=2/8"]
    assert result.failures and {f.variant for f in result.failures} == {"sms=2/8"}
    assert all(f.kind == "bitwise" for f in result.failures)  # judged against the full device's bits
    assert set(result.seconds_per_rerun) == {"torch", "sms=4/8", "sms=2/8"}


def test_vary_sms_without_a_gpu_fails_loudly(tmp_path, capsys):
    import torch

    from mhc_verify.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the CPU-only refusal is not what runs here")
    code = main(["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "64", "--hidden", "64",
                 "--reruns", "2", "--vary-sms", "--out", str(tmp_path), "--no-progress"])
    assert code == 1 and "green contexts unavailable" in capsys.readouterr().err


def _post_always_wrong_on(rows: slice, name: str) -> type:
    """A torch backend whose hc_post is wrong (x 2 + 1) on the token ``rows`` on every call: the
    bound check, not the bitwise one, finds it, and the heatmap must still show where."""

    class PostAlwaysWrong(TorchNativeBackend):
        def _post(self, x, residual, post_mix, comb_mix):
            out = super()._post(x, residual, post_mix, comb_mix)
            out[rows] = out[rows] * 2 + 1
            return out

    PostAlwaysWrong.name = name
    return PostAlwaysWrong


_TailAlwaysWrong = _post_always_wrong_on(slice(-1, None), "torch-tail-always-wrong")  # as a tail block skipping a row
_FirstRowAlwaysWrong = _post_always_wrong_on(slice(0, 1), "torch-first-row-always-wrong")
_EveryRowWrong = _post_always_wrong_on(slice(None), "torch-every-row-wrong")


def test_bound_failures_are_located_and_drawn(tmp_path):
    from mhc_verify.stress import BOUND_ROW, plot_heatmap

    result = stress_case(_TailAlwaysWrong(), Case("hc_post", 200, 4, 32, seed=6), reruns=4, judge_every=1)
    assert result.failed_reruns == 4 and all(f.kind == "bound" and f.tokens == [199] for f in result.failures)
    assert result.heatmap == {f"3,{BOUND_ROW}": 4}
    png = plot_heatmap(result, tmp_path / "heat.png")
    assert png is not None and png.stat().st_size > 1000


def test_heatmap_spans_the_whole_token_range():
    """Bad rows only in the first block: the picture still runs to the last token block (200 tokens,
    4 blocks of 64), or it would read as if every block were bad."""
    from mhc_verify.stress import heatmap_grid

    result = stress_case(_FirstRowAlwaysWrong(), Case("hc_post", 200, 4, 32, seed=6), reruns=2, judge_every=1)
    labels, grid = heatmap_grid(result)
    assert labels == ["over the bound (any stream)"] and grid.shape == (1, 4)
    assert grid[0].tolist() == [2, 0, 0, 0]


def test_heatmap_counts_every_failing_row_not_the_first_64():
    """A bound failure on all 200 rows fills every block: the messages keep the first 64 rows, the
    heatmap counts them all (it once drew only the first 64, as if the bug sat at the start)."""
    from mhc_verify.stress import heatmap_grid

    result = stress_case(_EveryRowWrong(), Case("hc_post", 200, 4, 32, seed=6), reruns=2, judge_every=1)
    _, grid = heatmap_grid(result)
    assert grid[0].tolist() == [128, 128, 128, 16]  # 2 reruns x (64, 64, 64, 8) rows
    assert all(len(f.tokens) == 64 for f in result.failures)


def test_row_runs():
    import torch

    from mhc_verify.compare import row_runs

    assert row_runs(torch.tensor([], dtype=torch.long)) == []
    assert row_runs(torch.tensor([3])) == [(3, 4)]
    assert row_runs(torch.tensor([0, 1, 2, 5, 7, 8])) == [(0, 3), (5, 6), (7, 9)]


def test_n_splits_default_is_what_an_engine_passes(tmp_path):
    """--n-splits engine (the default): per op and T the benchmark's split count, 16 for the GEMM ops
    at a few hundred tokens on an H100 / H200's 132 SMs (ENGINE_SMS for a CPU backend), 1 for the ops
    without partials; a backend that takes only some counts gets the largest it takes up to that."""
    import dataclasses

    from mhc_verify.stress import ENGINE_SPLITS, splits_for

    torch_backend = TorchNativeBackend()
    assert splits_for(ENGINE_SPLITS, "prenorm_gemm", 256, 4096, torch_backend) == [16]
    assert splits_for(ENGINE_SPLITS, "mhc_pre", 65_536, 7168, torch_backend) == [1]
    assert splits_for(ENGINE_SPLITS, "hc_post", 256, 4096, torch_backend) == [1]
    assert splits_for([2, 4], "prenorm_gemm", 256, 4096, torch_backend) == [2, 4]

    class OnlySomeSplits(TorchNativeBackend):
        def constraints_for(self, op):
            return dataclasses.replace(super().constraints_for(op), n_splits=(1, 4))

    assert splits_for(ENGINE_SPLITS, "prenorm_gemm", 256, 4096, OnlySomeSplits()) == [4]
    args = ["stress", "--backend", "torch", "--op", "prenorm_gemm", "--tokens", "256", "--hidden", "4096",
            "--reruns", "2", "--judge-every", "2", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    record = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])
    assert record["case"]["n_splits"] == 16
    # a word other than "engine" is a usage error (exit 2), as a non-positive count is
    assert main(args[:-3] + ["--n-splits", "engines", "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    assert main(args[:-3] + ["--n-splits", "0", "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
