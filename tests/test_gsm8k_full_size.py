"""The whole gsm8k test set, 20-shot, through the shipped DeepSeek-V4 ROCm config, against a fast
fake engine on loopback (tests/gsm8k_fake_engine.py): no parser limit or size-dependent defect can
hide behind `--limit`. The data (1319 test, 200 train questions, one few-shot example with U+2028)
is made here. Most of each run's ~30 s is lm-eval building 1319 20-shot prompts (~19 s on 2 cores);
the 1319 requests take ~7 s at 64 in flight.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gsm8k_fixtures import require_modules, write_gsm8k_data
from mhc_verify.gsm8k.config import load_config
from mhc_verify.gsm8k.gate import GateOptions, run_gate

ROOT = Path(__file__).resolve().parents[1]
FAKE_ENGINE = ROOT / "tests" / "gsm8k_fake_engine.py"


@pytest.fixture(scope="module")
def full_data(tmp_path_factory) -> Path:
    require_modules("lm_eval", "datasets", "aiohttp")
    return write_gsm8k_data(tmp_path_factory.mktemp("gsm8k-full"), n_test=1319, n_train=200)


def shipped_rocm_config(candidate_env: dict[str, str] | None = None, server_env: dict[str, str] | None = None):
    """dsv4-pro-rocm.yaml as shipped (task, lm_eval, backends, evidence, gate), with the fake engine
    as the server command."""
    cfg = load_config(ROOT / "eval_configs" / "gsm8k" / "dsv4-pro-rocm.yaml")
    # idle timeout: lm-eval builds the 1319 20-shot prompts (~19 s on 2 idle cores) before its first
    # request; beside an xdist worker compiling kernels that took over 60 s and the engine had left
    command = ("{python}", str(FAKE_ENGINE), "--data-dir", "{data_dir}", "--port", "{port}",
               "--served-model-name", "{model}", "--max-lifetime-s", "300", "--idle-timeout-s", "240")
    server = dataclasses.replace(cfg.server, command=command, port=0, startup_timeout_s=60, shutdown_timeout_s=15,
                                 env={**cfg.server.env, **(server_env or {})})
    backends = dict(cfg.backends)
    if candidate_env:
        cand = backends[cfg.candidate]
        backends[cfg.candidate] = dataclasses.replace(cand, env={**cand.env, **candidate_env})
    return dataclasses.replace(cfg, server=server, backends=backends,
                               lm_eval=dataclasses.replace(cfg.lm_eval, run_timeout_s=300))


@pytest.fixture(scope="module")
def correct_ab(full_data, tmp_path_factory):
    return run_gate(shipped_rocm_config(), GateOptions(data_dir=full_data, out_dir=tmp_path_factory.mktemp("ab"),
                                                       server_poll_s=0.2))


def test_full_size_ab_passes_against_a_correct_engine(correct_ab):
    rep = correct_ab.report
    assert correct_ab.verdict == "PASS", rep["reasons"]
    for label in ("candidate", "baseline"):
        run = rep["runs"][label]
        assert run["n_shot"] == 20 and run["metrics"]["strict-match"]["n"] == 1319
        assert run["metrics"]["strict-match"]["value"] == 1.0
        # The U+2028 few-shot example is in the samples file the gate read whole.
        assert "\u2028" in Path(run["samples_path"]).read_text(encoding="utf-8")
    quoted = "\n".join(c["notes"][0] for c in rep["checks"] if c["name"].startswith("kernel_path:"))
    assert "mHC: using aiter kernels" in quoted and "mHC: using TileLang kernels" in quoted
    d = next(c for c in rep["checks"] if c["name"] == "paired")["details"]["strict-match"]
    assert (d["b"], d["c"]) == (0, 0) and d["mdd_observed"] <= 0.01


def candidate_against_correct_baseline(cfg, correct_ab, full_data, tmp_path):
    """(outcome, its reasons as one text): a candidate run paired with the correct A/B run's baseline."""
    baseline = Path(correct_ab.report["runs"]["baseline"]["provenance"]["run_dir"])
    out = run_gate(cfg, GateOptions(data_dir=full_data, out_dir=tmp_path, baseline_samples=baseline,
                                    server_poll_s=0.2))
    return out, "\n".join(out.report["reasons"])


def test_full_size_fails_against_an_engine_two_points_worse(correct_ab, full_data, tmp_path):
    out, text = candidate_against_correct_baseline(shipped_rocm_config(candidate_env={"MHC_FAKE_WRONG_EVERY": "50"}),
                                                   correct_ab, full_data, tmp_path)
    assert out.verdict == "FAIL"
    assert "candidate is worse than baseline: 27 regressions vs 0 improvements out of 1319" in text, text
    # 0.9795 clears the 0.94 floor: only the paired test sees the 2-point drop.
    assert next(c for c in out.report["checks"] if c["name"] == "threshold")["passed"]


def test_full_size_fails_when_the_engine_never_logs_the_kernel_path(correct_ab, full_data, tmp_path):
    out, text = candidate_against_correct_baseline(shipped_rocm_config(server_env={"MHC_FAKE_KERNEL_LOG": "none"}),
                                                   correct_ab, full_data, tmp_path)
    assert out.verdict == "FAIL"
    assert "kernel_path:candidate: engine log" in text and "never shows" in text and "backend 'aiter'" in text, text
