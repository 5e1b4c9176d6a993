"""The gate end to end with real lm-eval, offline: a tiny random transformers model (tokenizer
trained here on the gsm8k text) behind a loopback OpenAI-compatible server.

Random weights score 0, so the threshold check must fail and say why; the model compared with
itself must pass the paired check. Request failures must fail the gate closed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsm8k_fixtures import require_modules, write_gsm8k_data
from mhc_verify.gsm8k.config import parse_config
from mhc_verify.gsm8k.gate import GateOptions, run_gate

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ("lm_eval", "transformers", "tokenizers", "datasets", "aiohttp", "tenacity", "requests")


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """No hub: everything here is built locally or read from local JSONL."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("HF_DATASETS_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    # lm-eval's and datasets' caches go to a scratch folder, not the user's home.
    mp.setenv("HF_HOME", str(tmp_path_factory.mktemp("hf_home")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """gsm8k-format questions made here: 8 test, 3 train (one with U+2028, so it is among most
    few-shot prompts)."""
    return write_gsm8k_data(tmp_path_factory.mktemp("gsm8k"), n_test=8, n_train=3)


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory, data_dir):
    """The loopback server on 127.0.0.1 (a free port), in this process; it also stops itself after
    10 minutes in all or 3 idle, should teardown never come."""
    require_modules(*NEEDED)
    from mhc_verify.gsm8k.tiny_model import build_tiny_model
    from mhc_verify.gsm8k.tiny_server import TinyEngine, start

    model_dir = build_tiny_model(data_dir, tmp_path_factory.mktemp("tiny-model"))
    server = start(TinyEngine(model_dir, threads=None), 0, model_name="tiny-gsm8k", max_lifetime_s=600,
                   idle_timeout_s=180)
    yield server
    server.stop()


def external_config(server, **lm_eval):
    return parse_config({
        "name": "tiny-external", "model": "tiny-gsm8k", "endpoint": f"{server.url}/v1/completions",
        "task": {"name": "gsm8k_offline", "num_fewshot": 2, "limit": 4, "expected_n": 4},
        "lm_eval": {"max_gen_toks": 8, "max_retries": 1, "request_timeout_s": 60, "run_timeout_s": 300, **lm_eval},
        "backends": {"tiny": {}}, "candidate": "tiny", "gate": {"floor": 0.5},
    })


def check(report, name):
    return next(c for c in report["checks"] if c["name"] == name)


@pytest.fixture(scope="module")
def clean_run(tiny_server, data_dir, tmp_path_factory):
    tiny_server.set_faults()
    return run_gate(external_config(tiny_server),
                    GateOptions(data_dir=data_dir, out_dir=tmp_path_factory.mktemp("clean")))


def test_threshold_fails_on_random_weights(clean_run):
    rep = clean_run.report
    assert not clean_run.passed and rep["verdict"] == "FAIL"
    assert check(rep, "integrity:candidate")["passed"], check(rep, "integrity:candidate")
    assert rep["reasons"] == [
        "threshold: flexible-extract: exact_match 0.0000 ± 0.0000 is below the floor 0.5000",
        "threshold: strict-match: exact_match 0.0000 ± 0.0000 is below the floor 0.5000"]
    run = rep["runs"]["candidate"]
    assert run["n_shot"] == 2 and run["metrics"]["strict-match"]["n"] == 4
    assert run["lm_eval_version"].startswith("0.4.")
    prov = rep["provenance"]
    assert prov["data_sha256"]["test.jsonl"] and prov["lm_eval_version"] and prov["num_fewshot"] == 2
    # lm-eval really produced the samples the gate read.
    text = Path(run["samples_path"]).read_text(encoding="utf-8")
    samples = text.strip("\n").split("\n")
    assert len(samples) == 8 and json.loads(samples[0])["filter"] in ("strict-match", "flexible-extract")
    # The U+2028 few-shot example reached the samples file raw (splitlines() would tear these lines).
    assert "\u2028" in text and len(text.splitlines()) > len(samples)
    md = clean_run.markdown_path.read_text()
    assert "# gsm8k gate: tiny-external — FAIL" in md and "below the floor 0.5000" in md
    assert json.loads(clean_run.json_path.read_text())["verdict"] == "FAIL"


def test_paired_against_itself_passes(clean_run, tiny_server, data_dir, tmp_path):
    """The model against itself: a second run, paired question by question with the first, finds no
    discordant question (same prompts, same answers), yet on 4 questions it is inconclusive, not a
    pass; without kernel-path evidence for the backend the A/B comparison fails closed."""
    tiny_server.set_faults()
    baseline = Path(clean_run.report["runs"]["candidate"]["provenance"]["run_dir"])
    out = run_gate(external_config(tiny_server),
                   GateOptions(data_dir=data_dir, out_dir=tmp_path, baseline_samples=baseline))
    rep = out.report
    assert check(rep, "paired")["inconclusive"], rep["reasons"]
    assert not check(rep, "threshold")["passed"]
    assert "has no kernel_evidence.must patterns" in "\n".join(check(rep, "kernel_path:candidate")["reasons"])
    for flt in ("flexible-extract", "strict-match"):
        d = check(rep, "paired")["details"][flt]
        assert (d["n"], d["b"], d["c"], d["p_value"]) == (4, 0, 0, 1.0)
    assert rep["discordant"] == {"flexible-extract": [], "strict-match": []}
    # The same run given as both sides is no pair.
    same = run_gate(external_config(tiny_server),
                    GateOptions(out_dir=tmp_path / "p", checks=("paired",), baseline_samples=baseline,
                                candidate_samples=baseline))
    assert same.verdict == "FAIL" and "pairing needs two distinct runs" in "\n".join(same.report["reasons"])


def test_equivalent_lm_eval_command_is_accepted(clean_run):
    """The `lm_eval` command the report records (and `lm_eval.runner: cli` runs) uses only flags the
    installed lm-eval has. (Running it costs ~20 s more than the API: it indexes every built-in task.)"""
    import subprocess
    import sys

    meta = json.loads((Path(clean_run.report["runs"]["candidate"]["provenance"]["run_dir"]) / "mhc_run.json")
                      .read_text())
    flags = [a for a in meta["equivalent_cli"].split() if a.startswith("--")]
    assert {"--model", "--model_args", "--tasks", "--num_fewshot", "--log_samples", "--include_path",
            "--limit", "--output_path"} <= set(flags)
    help_text = subprocess.run([sys.executable, "-m", "lm_eval", "run", "--help"], capture_output=True, text=True,
                               timeout=120).stdout
    for flag in flags:
        assert flag in help_text, f"lm_eval has no {flag}"


def test_null_completions_fail_closed(tiny_server, data_dir, tmp_path):
    tiny_server.set_faults(null_text_every=2)
    try:
        out = run_gate(external_config(tiny_server), GateOptions(data_dir=data_dir, out_dir=tmp_path))
    finally:
        tiny_server.set_faults()
    assert not out.passed
    assert any("2 requests got no text from the engine" in r for r in out.report["reasons"]), out.report["reasons"]


def test_request_errors_fail_closed(tiny_server, data_dir, tmp_path):
    tiny_server.set_faults(http_error_every=1)
    try:
        out = run_gate(external_config(tiny_server), GateOptions(data_dir=data_dir, out_dir=tmp_path))
    finally:
        tiny_server.set_faults()
    assert not out.passed
    text = "\n".join(out.report["reasons"])
    assert "run:candidate: lm-eval exited with code" in text, text
    assert check(out.report, "threshold")["reasons"] == ["no candidate run to check"]


def test_aa_mode(tiny_server, data_dir, tmp_path):
    tiny_server.set_faults()
    out = run_gate(external_config(tiny_server), GateOptions(data_dir=data_dir, out_dir=tmp_path, aa=True))
    assert out.passed, out.report["reasons"]
    aa = check(out.report, "aa")
    assert aa["details"]["recommended_aa_discordance"] == 0.0  # greedy on one CPU: deterministic
    assert set(out.report["runs"]) == {"A1", "A2"}
    assert "A/A discordance" in out.markdown_path.read_text()


def test_shipped_tiny_config_end_to_end(data_dir, tmp_path):
    """The README's command on the shipped config: the gate starts the tiny server per backend."""
    require_modules(*NEEDED)
    from mhc_verify.gsm8k.__main__ import main

    code = main(["--config", str(ROOT / "eval_configs" / "gsm8k" / "tiny-loopback.yaml"),
                 "--data-dir", str(data_dir), "--out", str(tmp_path)])
    rep = json.loads((tmp_path / "gsm8k_gate.json").read_text())
    assert code == 1 and rep["verdict"] == "FAIL"
    assert not check(rep, "threshold")["passed"]
    assert any("below the floor 0.5000" in r for r in rep["reasons"])
    paired = check(rep, "paired")
    assert paired["inconclusive"] and paired["details"]["strict-match"]["b"] == 0, rep["reasons"]
    for label in ("candidate", "baseline"):
        assert check(rep, f"kernel_path:{label}")["passed"], rep["reasons"]
    for label in ("candidate", "baseline"):
        prov = rep["runs"][label]["provenance"]
        assert prov["server_clean_shutdown"] is True, prov
        assert Path(prov["server_log"]).read_text().count("POST /v1/completions") == 6
        assert "python -m lm_eval" in prov["lm_eval_equivalent_cli"] and "--use_cache" in prov["lm_eval_equivalent_cli"]
    assert "{port}" not in rep["provenance"]["endpoint"] and "127.0.0.1:" in rep["provenance"]["endpoint"]
    assert rep["runs"]["baseline"]["backend"] == "tiny-again"


def test_resume_answers_from_the_request_cache(tiny_server, data_dir, tmp_path):
    """Issue case 7: a resumed run asks the engine only what lm-eval's request cache lacks."""
    tiny_server.set_faults()
    first = run_gate(external_config(tiny_server), GateOptions(data_dir=data_dir, out_dir=tmp_path, no_baseline=True))
    asked = tiny_server.state.requests
    again = run_gate(external_config(tiny_server),
                     GateOptions(data_dir=data_dir, out_dir=tmp_path, no_baseline=True, resume=True))
    assert tiny_server.state.requests == asked  # every completion came from the cache
    log = Path(again.report["runs"]["candidate"]["provenance"]["lm_eval_log"]).read_text()
    assert "Cached requests: 4, Requests remaining: 0" in log
    assert again.report["runs"]["candidate"]["metrics"] == first.report["runs"]["candidate"]["metrics"]
