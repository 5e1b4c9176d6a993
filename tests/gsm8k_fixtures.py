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
GENERATION_KWARGS = {"until": ["Question:", "</s>", "<|im_end|>"], "do_sample": False, "temperature": 0.0}
_run_counter = 0


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
              stderr: float | None = 0.006, n_effective: int | None = None, model: str = "fake",
              max_gen_toks: int = 256, generation_kwargs: dict[str, Any] | None = None,
              task_version: Any = 3.0, backend: str | None = "a",
              engine_log: str | None = "INFO [deepseek_v4.py] mHC: using {backend} kernels") -> Path:
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
                "target_hash": _h(f"work\n#### {i}"), "exact_match": 1.0 if ok else 0.0},
                ensure_ascii=False))  # as lm-eval writes them: U+2028 and the like stay raw
    (out / f"samples_{TASK}_{DATE}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    task_results: dict[str, Any] = {"alias": TASK}
    for flt, marks in per_filter.items():
        if flt == drop_filter or drop_metric:
            continue
        task_results[f"exact_match,{flt}"] = sum(marks) / len(marks) + results_value_delta
        task_results[f"exact_match_stderr,{flt}"] = stderr
    global _run_counter
    _run_counter += 1
    results = {
        "results": {TASK: task_results}, "n-shot": {TASK: n_shot},
        "n-samples": {TASK: {"original": 1319, "effective": n if n_effective is None else n_effective}},
        "configs": {TASK: {"generation_kwargs": generation_kwargs or dict(GENERATION_KWARGS)}},
        "versions": {TASK: task_version},
        "config": {"model": "local-completions", "gen_kwargs": None,
                   "model_args": {"model": model, "base_url": f"http://127.0.0.1:{8000 + _run_counter}/v1/completions",
                                  "max_gen_toks": max_gen_toks}, "limit": None},
        # Each written run is a distinct run, as two lm-eval runs are (they start at different times).
        "lm_eval_version": "0.4.13", "date": 1767225600.0 + _run_counter,
    }
    (out / f"results_{DATE}.json").write_text(json.dumps(results))
    if with_meta:
        m: dict[str, Any] = {"null_marker": NULL_COMPLETION_MARKER, "exit_code": 0, "log_warnings": [],
                             "backend": backend}
        if engine_log is not None:
            (folder / "engine.log").write_text("INFO starting engine\n" + engine_log.format(backend=backend) + "\n")
            m["engine_log"] = str(folder / "engine.log")
        m.update(meta or {})
        (folder / RUN_META_FILE).write_text(json.dumps(m))
    return folder


# A few-shot example shaped like gsm8k train question 2381 ("Clive opens a box ..."), whose text
# holds two U+2028 LINE SEPARATORs: lm-eval writes them raw into the samples file, where a reader
# that splits lines at every Unicode line boundary tears the record apart.
LINE_SEPARATOR_QUESTION = ("Clive opens a box full of different colored balls.\u2028The box holds 6 blue balls, "
                           "4 red balls, 3 times as many green balls as blue ones and twice as many yellow ones "
                           "as red ones.\u2028How many balls are in the box Clive opens?")
LINE_SEPARATOR_ANSWER = ("Green: 3 * 6 = <<3*6=18>>18 balls.\nYellow: 2 * 4 = <<2*4=8>>8 balls.\n"
                         "Total: 6 + 4 + 18 + 8 = <<6+4+18+8=36>>36 balls.\n#### 36")
_NAMES = ("Ava", "Ben", "Cleo", "Dev", "Emi", "Finn", "Gus", "Hana", "Ivo", "Jun")
_THINGS = ("apples", "stamps", "marbles", "books", "shells", "pencils", "coins", "cards")


def gsm8k_row(i: int) -> dict[str, str]:
    """A gsm8k-format question (a two-step sum) whose gold answer is known: distinct for every ``i``."""
    name, thing = _NAMES[i % len(_NAMES)], _THINGS[(i // len(_NAMES)) % len(_THINGS)]
    a, b = 3 + i % 97, 2 + (7 * i) % 89
    c = 1 + (i // 3) % (a + b - 1)
    return {"question": f"{name} has {a} {thing}, buys {b} more and then gives away {c}. "
                        f"How many {thing} does {name} have now? (case {i})",
            "answer": f"{name} has {a} + {b} = <<{a}+{b}={a + b}>>{a + b} {thing} after buying.\n"
                      f"Then {a + b} - {c} = <<{a + b}-{c}={a + b - c}>>{a + b - c} {thing} are left.\n"
                      f"#### {a + b - c}"}


def write_gsm8k_data(folder: Path, n_test: int, n_train: int) -> Path:
    """Write gsm8k-format ``test.jsonl`` and ``train.jsonl`` into ``folder`` (made by the tests, so a
    fresh clone needs no gsm8k download). Train row 0 holds U+2028 characters; with few train rows it
    is among most questions' few-shot examples."""
    folder.mkdir(parents=True, exist_ok=True)
    train = [{"question": LINE_SEPARATOR_QUESTION, "answer": LINE_SEPARATOR_ANSWER}]
    train += [gsm8k_row(100_000 + i) for i in range(n_train - 1)]
    for split, rows in (("test", [gsm8k_row(i) for i in range(n_test)]), ("train", train)):
        # ensure_ascii=False as the hub export writes it: U+2028 stays a raw character in the file.
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                               encoding="utf-8")
    return folder


BASE_CONFIG: dict[str, Any] = {
    "name": "unit",
    "model": "fake",
    "endpoint": "http://127.0.0.1:9/v1/completions",
    "task": {"name": TASK, "num_fewshot": 20, "limit": 10, "expected_n": 10},
    "backends": {"a": {"env": {}, "kernel_evidence": {"must": [r"mHC: using a\b"], "must_not": [r"mHC: using b\b"]}},
                 "b": {"env": {"X": "1"}, "kernel_evidence": {"must": [r"mHC: using b\b"],
                                                               "must_not": [r"mHC: using a\b"]}}},
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
