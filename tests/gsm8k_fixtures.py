"""Helpers for the gsm8k gate tests: lm-eval-shaped run output built by hand, and config dicts.

``write_run`` writes what lm-eval 0.4.x writes with ``--log_samples`` (results JSON + samples
JSONL, the fields the gate reads) plus the gate's ``mhc_run.json``, with switches to break it in
each of the ways the gate must catch.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from mhc_verify.gsm8k.lmeval_output import NULL_COMPLETION_MARKER, RUN_META_FILE

TASK = "gsm8k_offline"
FILTERS = ("flexible-extract", "strict-match")
DATE = "2026-01-01T00-00-00.000000"


def require_modules(*names: str) -> None:
    """Fail (never skip) when an optional dependency of the gate tests is missing."""
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        pytest.fail(f"the gsm8k gate tests need {missing}: install the eval extra "
                    "(pip install -e '.[eval]'; lm-eval[api]>=0.4.8,<0.5 and transformers)", pytrace=False)


def _h(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def write_run(folder: Path, correct: list[bool] | dict[str, list[bool]], *, n_shot: int = 20,
              responses: list[str] | None = None, prompt_salt: str = "", prompt_salt_docs: set[int] | None = None,
              drop_filter: str | None = None, drop_metric: bool = False, results_value_delta: float = 0.0,
              drop_docs: set[int] | None = None, meta: dict[str, Any] | None = None, with_meta: bool = True,
              stderr: float | None = 0.006, n_effective: int | None = None) -> Path:
    """Write one run under ``folder`` and return ``folder``.

    ``correct``: per question (the same for both filters) or per filter. ``prompt_salt`` changes the
    prompt hash of ``prompt_salt_docs`` (all when None). ``drop_*`` remove pieces of the output.
    """
    per_filter = correct if isinstance(correct, dict) else {f: list(correct) for f in FILTERS}
    n = len(next(iter(per_filter.values())))
    responses = responses or [f"The answer is #### {i}" for i in range(n)]
    out = folder / "lm_eval_out" / "model"
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for flt, marks in per_filter.items():
        if flt == drop_filter:
            continue
        for i, ok in enumerate(marks):
            if drop_docs and i in drop_docs:
                continue
            salted = prompt_salt and (prompt_salt_docs is None or i in prompt_salt_docs)
            prompt = f"{n_shot}-shot prompt for question {i}{prompt_salt if salted else ''}"
            lines.append(json.dumps({
                "doc_id": i, "doc": {"question": f"Question {i}?", "answer": f"work\n#### {i}"},
                "target": f"work\n#### {i}", "arguments": {"gen_args_0": {"arg_0": prompt}},
                "resps": [[responses[i]]], "filtered_resps": [str(i) if ok else "[invalid]"], "filter": flt,
                "metrics": ["exact_match"], "doc_hash": _h(f"doc{i}"), "prompt_hash": _h(prompt),
                "target_hash": _h(f"work\n#### {i}"), "exact_match": 1.0 if ok else 0.0}))
    (out / f"samples_{TASK}_{DATE}.jsonl").write_text("\n".join(lines) + "\n")
    task_results: dict[str, Any] = {"alias": TASK}
    for flt, marks in per_filter.items():
        if flt == drop_filter or drop_metric:
            continue
        task_results[f"exact_match,{flt}"] = sum(marks) / len(marks) + results_value_delta
        task_results[f"exact_match_stderr,{flt}"] = stderr
    results = {
        "results": {TASK: task_results}, "n-shot": {TASK: n_shot},
        "n-samples": {TASK: {"original": 1319, "effective": n if n_effective is None else n_effective}},
        "config": {"model": "local-completions", "model_args": {"model": "fake"}, "limit": None},
        "lm_eval_version": "0.4.13", "date": 1767225600.0,
    }
    (out / f"results_{DATE}.json").write_text(json.dumps(results))
    if with_meta:
        m = {"null_marker": NULL_COMPLETION_MARKER, "exit_code": 0, "log_warnings": []}
        m.update(meta or {})
        (folder / RUN_META_FILE).write_text(json.dumps(m))
    return folder


BASE_CONFIG: dict[str, Any] = {
    "name": "unit",
    "model": "fake",
    "endpoint": "http://127.0.0.1:9/v1/completions",
    "task": {"name": TASK, "num_fewshot": 20, "limit": 10, "expected_n": 10},
    "backends": {"a": {"env": {}}, "b": {"env": {"X": "1"}}},
    "candidate": "a",
    "gate": {"floor": 0.5, "alpha": 0.05, "power": 0.8},
}


def config_dict(**overrides: Any) -> dict[str, Any]:
    """A copy of BASE_CONFIG with top-level keys replaced (``task``/``gate`` merged one level)."""
    d = copy.deepcopy(BASE_CONFIG)
    for k, v in overrides.items():
        if k in ("task", "gate") and isinstance(v, dict):
            d[k].update(v)
        else:
            d[k] = v
    return d
