"""The gate's decisions on constructed lm-eval output: pass, below floor, McNemar significant, and
every fail-closed case (each must fail and say why, never pass)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gsm8k_fixtures import DATE, TASK, config_dict, write_run
from mhc_verify.gsm8k.cli import add_parser
from mhc_verify.gsm8k.config import ConfigError, load_config, parse_config
from mhc_verify.gsm8k.gate import GateOptions, run_gate
from mhc_verify.gsm8k.lmeval_output import NULL_COMPLETION_MARKER

ALL_RIGHT = [True] * 10


def gate(tmp_path: Path, cand: Path, base: Path | None = None, checks: tuple[str, ...] | None = None,
         **cfg_overrides):
    cfg = parse_config(config_dict(**cfg_overrides))
    opts = GateOptions(candidate_samples=cand, baseline_samples=base, out_dir=tmp_path / "report", checks=checks)
    return run_gate(cfg, opts)


def failed_check(outcome, name: str) -> list[str]:
    check = next(c for c in outcome.report["checks"] if c["name"] == name)
    assert not check["passed"], f"{name} passed: {check}"
    return check["reasons"]


def reasons_text(outcome) -> str:
    return "\n".join(outcome.report["reasons"])


def assert_fails_with(outcome, *fragments: str) -> None:
    assert not outcome.passed and outcome.report["verdict"] == "FAIL"
    text = reasons_text(outcome)
    for f in fragments:
        assert f in text, f"{f!r} not among the reasons:\n{text}"


# --- pass / threshold / paired ---------------------------------------------------------------

FULL = {"limit": None, "expected_n": 1319}


def test_pass_threshold_and_paired(tmp_path):
    cand = write_run(tmp_path / "c", [True] * 1309 + [True] * 9 + [False])
    base = write_run(tmp_path / "b", [True] * 1309 + [True] * 8 + [False, True])
    out = gate(tmp_path, cand, base, task=FULL)
    assert out.passed and out.verdict == "PASS", out.report["reasons"]
    paired = next(c for c in out.report["checks"] if c["name"] == "paired")
    d = paired["details"]["strict-match"]
    assert (d["n"], d["b"], d["c"]) == (1319, 1, 1)
    assert d["p_value"] == pytest.approx(0.75)
    assert d["mdd_observed"] <= 0.01  # what makes it a pass and not "inconclusive"
    assert [c["name"] for c in out.report["checks"]] == [
        "integrity:candidate", "integrity:baseline", "kernel_path:candidate", "kernel_path:baseline", "threshold",
        "paired"]
    kernel = next(c for c in out.report["checks"] if c["name"] == "kernel_path:candidate")
    assert "'INFO [deepseek_v4.py] mHC: using a kernels'" in kernel["notes"][0]  # the log line, quoted
    assert out.json_path.is_file() and out.markdown_path.is_file()
    # The discordant questions are in the report with both answers.
    rows = out.report["discordant"]["strict-match"]
    assert [(r["doc_id"], r["direction"]) for r in rows] == [(1318, "regression"), (1317, "improvement")]
    assert rows[0]["question"] == "Question 1318?" and rows[0]["gold"] == "1318"
    assert rows[0]["candidate"]["extracted"] == "[invalid]" and rows[0]["baseline"]["extracted"] == "1318"
    md = out.markdown_path.read_text()
    assert "PASS" in md and "| 1318 | regression |" in md and "Question 1318?" in md
    assert "mHC: using a kernels" in md


def test_below_floor_fails_and_says_why(tmp_path):
    cand = write_run(tmp_path / "c", [True] * 4 + [False] * 6)
    out = gate(tmp_path, cand)
    assert_fails_with(out, "flexible-extract: exact_match 0.4000 ± 0.0060 is below the floor 0.5000")
    assert [c["name"] for c in out.report["checks"]] == ["integrity:candidate", "kernel_path:candidate", "threshold"]


def test_floor_per_filter(tmp_path):
    marks = {"flexible-extract": [True] * 6 + [False] * 4, "strict-match": [True] * 4 + [False] * 6}
    d = config_dict()
    d["gate"] = {"floors": {"flexible-extract": 0.6, "strict-match": 0.3}}
    out = run_gate(parse_config(d), GateOptions(candidate_samples=write_run(tmp_path / "c", marks),
                                                out_dir=tmp_path / "report"))
    assert out.passed, out.report["reasons"]
    d["gate"] = {"floors": {"flexible-extract": 0.6, "strict-match": 0.5}}
    out = run_gate(parse_config(d), GateOptions(candidate_samples=tmp_path / "c", out_dir=tmp_path / "r2"))
    assert_fails_with(out, "strict-match: exact_match 0.4000")


def test_mcnemar_significant_fails(tmp_path):
    n = 100
    base_marks = [True] * 95 + [False] * 5
    cand_marks = list(base_marks)
    for i in range(8):  # 8 regressions, 0 improvements: p = 2^-8
        cand_marks[i] = False
    cand = write_run(tmp_path / "c", cand_marks)
    base = write_run(tmp_path / "b", base_marks)
    out = gate(tmp_path, cand, base, task={"limit": n, "expected_n": n}, gate={"floor": 0.8})
    assert_fails_with(out, "candidate is worse than baseline: 8 regressions vs 0 improvements out of 100",
                      "p = 0.003906")
    # The threshold alone (0.87 >= 0.8) passes: only the paired test sees this drop.
    assert next(c for c in out.report["checks"] if c["name"] == "threshold")["passed"]


def test_small_difference_on_few_questions_is_inconclusive(tmp_path, capsys):
    """Not significant, but 100 questions at 4 % discordance see only drops of ~9.5 points: the
    paired check is inconclusive (issue case 3), never a pass."""
    base_marks = [True] * 95 + [False] * 5
    cand_marks = [False, False, False] + [True] * 92 + [True, False, False, False, False]
    out = gate(tmp_path, write_run(tmp_path / "c", cand_marks), write_run(tmp_path / "b", base_marks),
               task={"limit": 100, "expected_n": 100}, gate={"floor": 0.8})
    assert not out.passed and out.verdict == "INCONCLUSIVE", out.report["reasons"]
    paired = next(c for c in out.report["checks"] if c["name"] == "paired")
    d = paired["details"]["flexible-extract"]
    assert (d["b"], d["c"]) == (3, 1) and d["p_value"] == pytest.approx(5 / 16) and not d["significant"]
    assert d["mdd_observed"] > 0.01 and paired["inconclusive"]
    assert "inconclusive: not shown worse" in out.report["reasons"][0]
    assert "**inconclusive**" in out.markdown_path.read_text()


def test_both_runs_at_zero_are_inconclusive_not_a_pass(tmp_path):
    """The issue's example: both runs at 0.000 (no discordance at all) on 10 questions: the MDD is
    far above the margin, so `--checks paired` must not pass."""
    out = gate(tmp_path, write_run(tmp_path / "c", [False] * 10), write_run(tmp_path / "b", [False] * 10),
               checks=("paired",))
    assert out.verdict == "INCONCLUSIVE", out.report["reasons"]
    d = next(c for c in out.report["checks"] if c["name"] == "paired")["details"]["strict-match"]
    assert (d["b"], d["c"]) == (0, 0) and d["mdd_observed"] > 0.5


def test_a_real_failure_outranks_inconclusive(tmp_path):
    marks = [True] * 100
    worse = [False] * 8 + [True] * 92
    out = gate(tmp_path, write_run(tmp_path / "c", worse), write_run(tmp_path / "b", marks),
               task={"limit": 100, "expected_n": 100}, gate={"floor": 0.8})
    assert out.verdict == "FAIL" and "candidate is worse than baseline" in reasons_text(out)


# --- fail closed -----------------------------------------------------------------------------

def test_missing_filter(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, drop_filter="strict-match"))
    assert_fails_with(out, "filter 'strict-match': no exact_match in the results", "no samples logged")


def test_missing_metric(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, drop_metric=True))
    assert_fails_with(out, "filter 'flexible-extract': no exact_match in the results")


def test_fewer_samples_than_expected(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, drop_docs={3}))
    assert_fails_with(out, "9 samples, fewer than the expected 10")


def test_default_expects_the_full_test_set(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT),
               task={"name": TASK, "num_fewshot": 20, "limit": None, "expected_n": 1319})
    assert_fails_with(out, "fewer than the expected 1319", "lm-eval evaluated 10 questions, expected 1319")


def test_request_error_marker(tmp_path):
    responses = [f"#### {i}" for i in range(10)]
    responses[4] = NULL_COMPLETION_MARKER
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, responses=responses))
    assert_fails_with(out, "1 requests got no text from the engine (request errors; doc_id 4)")


def test_empty_completion_from_unknown_run(tmp_path):
    responses = [f"#### {i}" for i in range(10)]
    responses[2] = ""
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, responses=responses, with_meta=False))
    assert_fails_with(out, "1 empty completions (doc_id 2) in a run the gate did not make")


def test_empty_completions_above_the_rate_fail(tmp_path):
    """Issue case 9: a kernel that makes 1 % of answers end at once fails the run; one stray empty
    completion in 1319 (0.08 %, within the default 0.1 %) is noted."""
    responses = [f"#### {i}" for i in range(1319)]
    responses[2] = ""
    out = gate(tmp_path, write_run(tmp_path / "c", [True] * 1319, responses=responses), task=FULL)
    assert out.passed, out.report["reasons"]
    assert any("1 empty completions (0.08% of 1319" in n for n in out.report["checks"][0]["notes"])
    for i in range(0, 1319, 100):  # 14 of 1319: 1.06 %
        responses[i] = ""
    out = gate(tmp_path / "2", write_run(tmp_path / "c2", [True] * 1319, responses=responses), task=FULL)
    assert_fails_with(out, "15 empty completions (1.14% of 1319", "above the configured 0.10%")


def test_unfinished_completions_above_the_rate_fail(tmp_path):
    responses = [f"#### {i}" for i in range(100)]
    for i in range(0, 100, 20):
        responses[i] = "First, 3 + 4 = 7. Then"  # cut before its answer line
    run = write_run(tmp_path / "c", [True] * 100, responses=responses)
    out = gate(tmp_path, run, task={"limit": 100, "expected_n": 100}, gate={"max_unfinished_rate": 0.04})
    assert_fails_with(out, "5 completions without a '####' answer line (5.00% of 100", "above the configured 4.00%")
    out = gate(tmp_path / "2", run, task={"limit": 100, "expected_n": 100}, gate={"max_unfinished_rate": 0.05})
    assert out.passed, out.report["reasons"]


def test_lm_eval_exit_code_recorded(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, meta={"exit_code": 1}))
    assert_fails_with(out, "lm-eval exited with code 1")


def test_changed_fewshot_count(tmp_path):
    cand = write_run(tmp_path / "c", ALL_RIGHT)
    base = write_run(tmp_path / "b", ALL_RIGHT, n_shot=5)
    out = gate(tmp_path, cand, base)
    assert_fails_with(out, "integrity:baseline: few-shot count is 5, the config asks for 20",
                      "few-shot count differs: candidate 20, baseline 5")


def test_changed_prompt_hash(tmp_path):
    cand = write_run(tmp_path / "c", ALL_RIGHT)
    base = write_run(tmp_path / "b", ALL_RIGHT, prompt_salt=" (other few-shot examples)", prompt_salt_docs={1, 7})
    out = gate(tmp_path, cand, base)
    assert_fails_with(out, "prompt hash differs between the runs for 2 questions (doc_id 1, 7)")


def test_malformed_results_json(tmp_path):
    cand = write_run(tmp_path / "c", ALL_RIGHT)
    (cand / "lm_eval_out" / "model" / f"results_{DATE}.json").write_text("{not json")
    out = gate(tmp_path, cand)
    assert_fails_with(out, "malformed lm-eval output", "not readable JSON")


def test_malformed_samples_line(tmp_path):
    cand = write_run(tmp_path / "c", ALL_RIGHT)
    samples = cand / "lm_eval_out" / "model" / f"samples_{TASK}_{DATE}.jsonl"
    samples.write_text(samples.read_text() + '{"doc_id": "x"}\n')
    out = gate(tmp_path, cand)
    assert_fails_with(out, "needs integer 'doc_id'")


def test_results_and_samples_disagree(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT, results_value_delta=-0.2))
    assert_fails_with(out, "samples give 1.000000, results say 0.800000")


def test_missing_samples_file(tmp_path):
    cand = write_run(tmp_path / "c", ALL_RIGHT)
    (cand / "lm_eval_out" / "model" / f"samples_{TASK}_{DATE}.jsonl").unlink()
    out = gate(tmp_path, cand)
    assert_fails_with(out, "was lm-eval run with --log_samples?")


def test_no_run_at_path(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT), tmp_path / "nothing-here")
    assert_fails_with(out, "run:baseline")


def test_no_floor_fails(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT), gate={"floor": None})
    assert_fails_with(out, "no floor configured")


def test_paired_requested_without_baseline(tmp_path):
    out = gate(tmp_path, write_run(tmp_path / "c", ALL_RIGHT), checks=("paired",))
    assert_fails_with(out, "paired: no baseline")


# --- A/A -------------------------------------------------------------------------------------

def test_aa_check_measures_discordance(tmp_path):
    from mhc_verify.gsm8k.checks import check_aa
    from mhc_verify.gsm8k.config import GateThresholds
    from mhc_verify.gsm8k.lmeval_output import read_run

    task = parse_config(config_dict(task={"limit": 100, "expected_n": 100})).task
    thresholds = GateThresholds(alpha=0.05, power=0.8)
    first = [True] * 90 + [False] * 10
    second = [False] * 5 + [True] * 85 + [True] * 4 + [False] * 6  # 5 lost, 4 won
    a = read_run(write_run(tmp_path / "a", first), TASK, label="A1")
    b = read_run(write_run(tmp_path / "b", second), TASK, label="A2")
    res = check_aa(a, b, task, thresholds)
    assert res.passed, res.reasons
    assert res.details["recommended_aa_discordance"] == pytest.approx(0.09)
    assert (res.details["strict-match"]["b"], res.details["strict-match"]["c"]) == (5, 4)
    # Ten flips, all one way: the engine does not reproduce itself.
    skewed = read_run(write_run(tmp_path / "c", [False] * 10 + [True] * 90), TASK, label="A2")
    res = check_aa(read_run(write_run(tmp_path / "d", [True] * 100), TASK, label="A1"), skewed, task, thresholds)
    assert not res.passed and "differ beyond chance" in res.reasons[0]


# --- configuration ---------------------------------------------------------------------------

def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config(config_dict(gate={"flor": 0.9}))


def test_config_rejects_floor_and_floors():
    with pytest.raises(ConfigError, match="not both"):
        parse_config(config_dict(gate={"floors": {"strict-match": 0.9}}))


def test_config_rejects_limit_expected_mismatch():
    with pytest.raises(ConfigError, match=r"differs from task\.limit"):
        parse_config(config_dict(task={"limit": 5, "expected_n": 10}))


def test_baseline_backend_needs_a_managed_server(tmp_path):
    cfg = parse_config(config_dict(baseline={"backend": "b"}))
    with pytest.raises(ConfigError, match="needs the gate to start the server"):
        run_gate(cfg, GateOptions(out_dir=tmp_path, data_dir=tmp_path))


def test_shipped_configs_load():
    root = Path(__file__).resolve().parents[1] / "eval_configs" / "gsm8k"
    names = {p.stem for p in root.glob("*.yaml")}
    assert {"dsv4-pro-rocm", "dsv4-pro-cuda", "dsv4-flash-rocm", "dsv4-flash-cuda", "tiny-loopback"} <= names
    for p in root.glob("*.yaml"):
        cfg = load_config(p)
        assert cfg.task.filters == ("flexible-extract", "strict-match")
    pro = load_config(root / "dsv4-pro-rocm.yaml")
    assert pro.gate.floors == {"flexible-extract": 0.94, "strict-match": 0.94}
    assert (pro.task.num_fewshot, pro.task.expected_n, pro.gate.alpha, pro.gate.power) == (20, 1319, 0.05, 0.8)
    assert pro.backends["tilelang"].env == {"VLLM_ROCM_USE_TILELANG_MHC": "1"} and pro.backends["aiter"].env == {}
    assert pro.baseline.backend == "tilelang" and pro.candidate == "aiter"
    seeds = {(d["backend"], d["flexible-extract"], d["strict-match"]) for d in pro.documented_baselines}
    assert seeds == {("aiter", 0.9507, 0.9515), ("tilelang", 0.9553, 0.9560)}
    assert not any("--speculative-config" in a for a in pro.server.command)  # no MTP


def test_cli_exit_codes(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    good = write_run(tmp_path / "c", ALL_RIGHT)
    cfg_path = tmp_path / "unit.yaml"
    cfg_path.write_text(json.dumps(config_dict()))  # JSON is YAML
    args = parser.parse_args(["gsm8k-gate", "--config", str(cfg_path), "--candidate-samples", str(good),
                              "--out", str(tmp_path / "r1")])
    assert args.func(args) == 0
    low = write_run(tmp_path / "low", [False] * 10)
    args = parser.parse_args(["gsm8k-gate", "--config", str(cfg_path), "--candidate-samples", str(low),
                              "--out", str(tmp_path / "r2")])
    assert args.func(args) == 1
    assert "below the floor" in capsys.readouterr().out
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text("name: x\n")
    args = parser.parse_args(["gsm8k-gate", "--config", str(bad_cfg)])
    assert args.func(args) == 2


def test_cli_limit_sets_the_expected_count(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    cfg_path = tmp_path / "unit.yaml"
    cfg_path.write_text(json.dumps(config_dict()))
    run10 = write_run(tmp_path / "c", ALL_RIGHT)
    args = parser.parse_args(["gsm8k-gate", "--config", str(cfg_path), "--candidate-samples", str(run10),
                              "--limit", "5", "--out", str(tmp_path / "r")])
    assert args.func(args) == 1
    assert "10 samples, more than the expected 5" in capsys.readouterr().out


# --- samples with Unicode line boundaries inside strings (issue case 1) ------------------------

def test_samples_with_line_separators_in_prompts_parse(tmp_path):
    """lm-eval writes U+2028 raw (a few-shot example holds it); records end at "\\n" only."""
    from gsm8k_fixtures import LINE_SEPARATOR_QUESTION

    responses = [f"The answer is\u2028#### {i}\u2029" for i in range(10)]
    cand = write_run(tmp_path / "c", ALL_RIGHT, responses=responses, prompt_salt=LINE_SEPARATOR_QUESTION)
    text = (cand / "lm_eval_out" / "model" / f"samples_{TASK}_{DATE}.jsonl").read_text(encoding="utf-8")
    assert "\u2028" in text and len(text.splitlines()) > text.count("\n")  # the trap is really there
    out = gate(tmp_path, cand)
    assert out.passed, out.report["reasons"]
    assert out.report["runs"]["candidate"]["metrics"]["strict-match"]["n"] == 10


# --- configuration validated before anything runs (issue case 5) -------------------------------

@pytest.mark.parametrize("section, key, value, message", [
    ("gate", "alpha", 0, "gate.alpha: 0 is outside (0, 1)"),
    ("gate", "alpha", 1, "gate.alpha: 1 is outside (0, 1)"),
    ("gate", "power", 1, "gate.power: 1 is outside (0, 1)"),
    ("gate", "power", 0.0, "gate.power: 0.0 is outside (0, 1)"),
    ("gate", "margin", 0, "gate.margin: 0 is outside (0, 1)"),
    ("gate", "aa_discordance", 1, "gate.aa_discordance: 1 leaves no room"),
    ("gate", "max_empty_rate", -0.1, "gate.max_empty_rate: -0.1 is outside [0, 1]"),
    ("gate", "max_unfinished_rate", "5%", "gate.max_unfinished_rate: expected a number"),
    ("lm_eval", "batch_size", "abc", "lm_eval.batch_size: expected an integer, got 'abc'"),
    ("lm_eval", "batch_size", 1.7, "lm_eval.batch_size: expected an integer, got 1.7"),
    ("lm_eval", "batch_size", 0, "lm_eval.batch_size: 0 is outside [1, inf]"),
    ("lm_eval", "num_concurrent", True, "lm_eval.num_concurrent: expected an integer, got True"),
    ("lm_eval", "max_gen_toks", 2.5, "lm_eval.max_gen_toks: expected an integer"),
    ("lm_eval", "max_retries", 0, "lm_eval.max_retries: 0 is outside [1, inf]"),
    ("lm_eval", "request_timeout_s", "30s", "lm_eval.request_timeout_s: expected a number, got '30s'"),
    ("lm_eval", "request_timeout_s", 0, "lm_eval.request_timeout_s: 0 is outside (0, None)"),
    ("task", "filters", "strict-match", "task.filters: expected a list of non-empty strings, got 'strict-match'"),
    ("task", "filters", ["strict-match", "strict-match"], "task.filters: repeated entries"),
    ("task", "filters", [], "task.filters: at least one filter"),
    ("task", "num_fewshot", 2.0, "task.num_fewshot: expected an integer"),
    ("task", "limit", "10", "task.limit: expected an integer"),
    ("task", "name", 5, "task.name: expected a non-empty string"),
    ("server", "port", 70000, "server.port: 70000 is outside [0, 65535]"),
    ("server", "health_path", "health", "server.health_path: must start with '/'"),
])
def test_config_errors_are_one_line_and_name_the_key(section, key, value, message, tmp_path, capsys):
    d = config_dict()
    if section == "server":
        d["server"] = {"command": ["x"], key: value}
    else:
        d.setdefault(section, {})[key] = value
    if section == "task" and key == "filters":
        d["gate"] = {"floor": 0.5}
    with pytest.raises(ConfigError) as e:
        parse_config(d)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)
    # Through the command line: exit 2, one line, and nothing run or written.
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    cfg_path = tmp_path / "bad.yaml"
    cfg_path.write_text(json.dumps(d))
    args = parser.parse_args(["gsm8k-gate", "--config", str(cfg_path), "--out", str(tmp_path / "out")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_kernel_evidence_patterns_are_checked_on_load():
    d = config_dict()
    d["backends"]["a"]["kernel_evidence"] = {"must": ["(unclosed"]}
    with pytest.raises(ConfigError, match=r"backends\.a\.kernel_evidence\.must: '\(unclosed' is not a valid"):
        parse_config(d)
    d["backends"]["a"]["kernel_evidence"] = {"must": "mhc"}
    with pytest.raises(ConfigError, match="expected a list of non-empty strings"):
        parse_config(d)
    d["backends"]["a"]["kernel_evidence"] = {"mustnt": ["x"]}
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config(d)
