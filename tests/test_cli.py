"""The CLI end to end: backends listing, check with a report, reproducer files and bit-exact replay."""

import json
import subprocess
import sys

import pytest

from mhc_verify.cli import main

BF16 = "mhc_kernels.torch_native.bf16:TorchBf16Backend"


def test_backends_lists_unavailable_with_reasons(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "torch-cuda" in out
    assert "NO" in out  # at least the GPU backends are unavailable here, each with its reason
    assert main(["backends", "--require-backend", "torch-cuda"]) in (0, 1)


def test_required_unavailable_backend_fails(tmp_path):
    code = main(["check", "--backend", "torch", "--require-backend", "torch-cuda", "--op", "hc_post",
                 "--examples", "3", "--out", str(tmp_path), "--no-progress"])
    import torch
    assert code == (0 if torch.cuda.is_available() else 1)


def test_check_writes_report(tmp_path):
    code = main(["check", "--backend", "torch", "--op", "hc_post", "--op", "sinkhorn", "--examples", "8",
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = {(r["backend"], r["op"]): r["verdict"] for r in report["results"]}
    assert verdicts == {("torch", "hc_post"): "pass", ("torch", "sinkhorn"): "pass"}
    md = (tmp_path / "report.md").read_text()
    assert "| hc_post | torch | **pass**" in md and "Bound tightness" in md


def test_failure_writes_reproducer_that_replays_bit_exactly(tmp_path, capsys):
    code = main(["check", "--backend", BF16, "--op", "hc_post", "--examples", "20", "--out", str(tmp_path),
                 "--no-progress"])
    assert code == 1
    files = list((tmp_path / "repro").glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["backend"] == "torch-bf16-math" and data["case"]["op"] == "hc_post"
    assert "torch" in data["environment"] and "backend_provenance" in data
    capsys.readouterr()
    assert main(["replay", str(files[0]), "--backend", BF16]) == 1
    replayed = capsys.readouterr().out
    first_line = data["reason"].split(";")[0]
    assert first_line in replayed  # the same elements over the bound, the same worst ratio
    assert "mhc-verify replay" in (tmp_path / "report.md").read_text()


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "mhc_verify", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "check" in out.stdout and "replay" in out.stdout


def test_model_params_pins_every_scalar_to_the_contract_default(tmp_path):
    """--model-params: epsilons, multiplier and Sinkhorn repeat are the model's in every case (what
    a backend that compiles them into its kernels needs), while shapes and data are still drawn."""
    from hypothesis import given, settings

    from mhc_kernels.torch_native import TorchNativeBackend
    from mhc_reference.contract import get_op
    from mhc_verify.strategies import PROFILES, cases, with_model_params

    profile = with_model_params(PROFILES["ci"])
    spec = get_op("fused_post_pre")
    seen_params, seen_shapes = set(), set()

    @settings(max_examples=40, database=None, derandomize=True)
    @given(cases("fused_post_pre", TorchNativeBackend(), profile))
    def collect(case):
        seen_params.add(case.params)
        seen_shapes.add((case.T, case.H, case.n_splits))

    collect()
    assert seen_params == {tuple((p.name, p.default) for p in spec.params if p.name in dict(next(iter(seen_params))))}
    assert len(seen_shapes) > 5
    assert main(["check", "--backend", "torch", "--op", "mhc_pre", "--examples", "5", "--model-params",
                 "--out", str(tmp_path), "--no-progress"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert "+model-params" in report["meta"]["profile"] and "--model-params" in report["meta"]["command"]


def test_default_run_names_every_unavailable_gpu_backend_with_its_reason(tmp_path, capsys):
    """The main job's default (torch plus every GPU backend) never drops a GPU backend silently:
    each one that cannot run here is printed and reported with its reason, and is not a failure."""
    from mhc_verify.registry import discover

    unavailable = {n: b.reason for n, b in discover([]).items()
                   if not b.available and (b.backend is None or b.backend.device_type == "cuda")}
    code = main(["check", "--op", "hc_post", "--examples", "2", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    err = capsys.readouterr().err
    report = json.loads((tmp_path / "report.json").read_text())
    listed = {r["backend"]: r for r in report["results"] if r["verdict"] == "unavailable"}
    for name, reason in unavailable.items():
        assert f"skipped: backend {name} unavailable: {reason}" in err
        assert listed[name]["reason"] == reason
