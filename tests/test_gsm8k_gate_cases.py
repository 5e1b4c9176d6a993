"""The gate's answers to the numbered cases of the readiness review: pairing identity (4), kernel-path
evidence (2), pre-flight and root cause (6), a reused --out and --resume (7), the report's lm_eval
command and endpoint (8). Constructed lm-eval output and loopback stand-ins only: fast."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gsm8k_fixtures import GENERATION_KWARGS, config_dict, write_run
from mhc_verify.gsm8k.config import ConfigError, parse_config
from mhc_verify.gsm8k.gate import GateOptions, run_gate
from mhc_verify.gsm8k.runner import root_cause
from mhc_verify.gsm8k.server import preflight

N = [True] * 10


def paired(tmp_path: Path, cand: Path, base: Path, **cfg):
    return run_gate(parse_config(config_dict(**cfg)), GateOptions(
        candidate_samples=cand, baseline_samples=base, out_dir=tmp_path / "report", checks=("paired",)))


def reasons(out) -> str:
    return "\n".join(out.report["reasons"])


# --- 4: pairing identity ---------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"generation_kwargs": {**GENERATION_KWARGS, "temperature": 0.8, "do_sample": True}},
     "generation settings differ (generation_kwargs)"),
    ({"max_gen_toks": 4}, "generation settings differ (model_args)"),
    ({"model": "another-model"}, "model differs: candidate 'fake', baseline 'another-model'"),
    ({"task_version": 2.0}, "task version differs: candidate 3.0, baseline 2.0"),
])
def test_pairing_refuses_other_settings(tmp_path, change, message):
    out = paired(tmp_path, write_run(tmp_path / "c", N), write_run(tmp_path / "b", N, **change))
    assert out.verdict == "FAIL" and message in reasons(out), reasons(out)


def test_pairing_refuses_the_same_run_twice(tmp_path):
    run = write_run(tmp_path / "c", N)
    out = paired(tmp_path, run, run)
    assert out.verdict == "FAIL" and "pairing needs two distinct runs" in reasons(out)
    copy = tmp_path / "copy"
    import shutil
    shutil.copytree(run, copy)
    out = paired(tmp_path / "2", run, copy)
    assert "pairing needs two distinct runs" in reasons(out)


def test_pairing_ignores_transport_settings(tmp_path):
    """Another port or concurrency is the same experiment: only the 10-question power is missing."""
    out = paired(tmp_path, write_run(tmp_path / "c", N), write_run(tmp_path / "b", N))
    assert out.verdict == "INCONCLUSIVE", reasons(out)


# --- 2: kernel-path evidence -----------------------------------------------------------------

def test_ab_without_configured_evidence_fails_closed(tmp_path):
    d = config_dict()
    d["backends"]["a"].pop("kernel_evidence")
    out = paired(tmp_path, write_run(tmp_path / "c", N), write_run(tmp_path / "b", N, backend="b"),
                 backends=d["backends"])
    assert out.verdict == "FAIL" and "backend 'a' has no kernel_evidence.must patterns" in reasons(out)


def test_ab_with_an_ignored_switch_fails(tmp_path):
    """A misspelt switch left the 'b' run on path a: its log shows a, which b must not."""
    base = write_run(tmp_path / "b", N, backend="b", engine_log="INFO [deepseek_v4.py] mHC: using a kernels")
    out = paired(tmp_path, write_run(tmp_path / "c", N), base)
    text = reasons(out)
    assert out.verdict == "FAIL"
    assert "never shows /mHC: using b\\b/ (backend 'b')" in text and "which backend 'b' must not" in text, text


def test_ab_without_an_engine_log_fails_closed(tmp_path):
    out = paired(tmp_path, write_run(tmp_path / "c", N, engine_log=None), write_run(tmp_path / "b", N))
    assert out.verdict == "FAIL" and "no engine log to search for the kernel path" in reasons(out)


def test_threshold_only_run_reports_evidence_without_requiring_it(tmp_path):
    out = run_gate(parse_config(config_dict()), GateOptions(
        candidate_samples=write_run(tmp_path / "c", N, engine_log=None), out_dir=tmp_path / "r"))
    assert out.passed, reasons(out)


# --- 6: pre-flight and root cause --------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_preflight_says_why_in_one_line():
    port = closed_port()
    why = preflight(f"http://127.0.0.1:{port}/v1/completions", "m", timeout=5)
    assert why is not None and why.startswith(f"endpoint pre-flight: cannot connect to http://127.0.0.1:{port}/v1/models")
    assert "\n" not in why


def test_no_server_run_against_a_dead_endpoint_fails_before_lm_eval(tmp_path):
    from gsm8k_fixtures import write_gsm8k_data

    d = config_dict(endpoint=f"http://127.0.0.1:{closed_port()}/v1/completions")
    out = run_gate(parse_config(d), GateOptions(data_dir=write_gsm8k_data(tmp_path / "data", 3, 2),
                                                out_dir=tmp_path / "r", manage_server=False))
    assert out.verdict == "FAIL"
    assert out.report["reasons"][0].startswith("run:candidate: endpoint pre-flight: cannot connect to"), reasons(out)
    assert not (tmp_path / "r" / "runs" / "candidate" / "lm_eval.log").exists()  # lm-eval never started


def test_root_cause_names_the_connection_error(tmp_path):
    log = tmp_path / "lm_eval.log"
    line = ("ERROR [api_models:560] API request failed: Cannot connect to host 127.0.0.1:9 ssl:default "
            "[Connect call failed ('127.0.0.1', 9)]")
    log.write_text("INFO start\n" + (line + "\n") * 89 + "Traceback (most recent call last):\n"
                   "RuntimeError: something later\n")
    assert root_cause(log) == ("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed "
                               "('127.0.0.1', 9)] (89 log lines)")
    log.write_text("Traceback (most recent call last):\n  File x\nKeyError: 'text'\n")
    assert root_cause(log) == "KeyError: 'text' (1 log line)"


# --- 7: a reused --out, and --resume -------------------------------------------------------------

def test_reused_out_is_refused_with_a_clear_message(tmp_path):
    cfg = parse_config(config_dict())
    run = write_run(tmp_path / "c", N)
    run_gate(cfg, GateOptions(candidate_samples=run, out_dir=tmp_path / "r"))
    with pytest.raises(ConfigError, match=r"already holds files .*give a new --out, or --resume"):
        run_gate(cfg, GateOptions(candidate_samples=run, out_dir=tmp_path / "r"))
    with pytest.raises(ConfigError, match="nothing to resume"):
        run_gate(cfg, GateOptions(candidate_samples=run, out_dir=tmp_path / "empty", resume=True))
    # Resuming with other settings (here another candidate backend) is refused too.
    with pytest.raises(ConfigError, match="was started with other settings"):
        from gsm8k_fixtures import write_gsm8k_data
        run_gate(cfg, GateOptions(candidate_backend="b", out_dir=tmp_path / "r", resume=True,
                                  data_dir=write_gsm8k_data(tmp_path / "data", 3, 2)))
