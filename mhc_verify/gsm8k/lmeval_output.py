"""Reading one lm-eval run's output: ``results_<date>.json`` and ``samples_<task>_<date>.jsonl``.

lm-eval (0.4.x, ``--log_samples``) writes, under ``<output_path>/<model_name_sanitized>/``:

- ``results_<date>.json``: ``results[task]["<metric>,<filter>"]`` and ``"<metric>_stderr,<filter>"``,
  ``n-shot[task]``, ``n-samples[task]["effective"]``, ``config`` (model, model_args, limit),
  ``lm_eval_version``, ``date``;
- ``samples_<task>_<date>.jsonl``: one line per (question, filter) with ``doc_id``, ``doc``,
  ``target``, ``resps`` (raw completions), ``filtered_resps`` (the extracted answer), ``filter``,
  ``<metric>`` (0/1 here), ``doc_hash``, ``prompt_hash``, ``target_hash``.

Parsing never raises on bad content: every defect becomes a line in ``RunOutput.problems`` so the
gate can fail closed and say all that is wrong at once. Only "there is no run here" raises.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Set as LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER for runs the gate starts: lm-eval puts it where the
# engine returned no text, so such failures cannot pass for an (ordinary) empty completion.
NULL_COMPLETION_MARKER = "<<mhc-verify: engine returned no text>>"
# Written by the gate beside each run it makes (what ran, how, with which marker).
RUN_META_FILE = "mhc_run.json"

# Model arguments that say how to reach the engine, not what it generates: they may differ between
# two runs that are still a pair (a fresh server on another port, more requests in flight).
TRANSPORT_MODEL_ARGS = frozenset({"base_url", "num_concurrent", "max_retries", "timeout", "tokenizer_backend",
                                  "batch_size"})
_RESULTS_RE = re.compile(r"^results_(?P<date>.+)\.json$")


class RunNotFound(FileNotFoundError):
    """No lm-eval output where one was expected."""


@dataclass(frozen=True)
class Sample:
    """One question under one filter."""

    doc_id: int
    correct: bool
    response: str | None  # the raw completion
    extracted: str | None  # the filter's answer
    target: str
    question: str
    doc_hash: str | None
    prompt_hash: str | None
    target_hash: str | None


@dataclass(frozen=True)
class FilterMetric:
    value: float | None
    stderr: float | None


@dataclass
class RunOutput:
    """A parsed run; ``problems`` lists every defect found (empty when the output is well formed)."""

    label: str
    results_path: Path
    samples_path: Path | None
    task: str
    lm_eval_version: str | None = None
    n_shot: int | None = None
    n_effective: int | None = None
    metrics: dict[str, FilterMetric] = field(default_factory=dict)
    samples: dict[str, dict[int, Sample]] = field(default_factory=dict)  # filter -> doc_id -> sample
    config: dict[str, Any] = field(default_factory=dict)
    model: str | None = None  # the model name sent to the engine
    # What decides the completions besides the prompt: the task's generation_kwargs, lm-eval's
    # --gen_kwargs override, and the model arguments that shape generation.
    generation: dict[str, Any] = field(default_factory=dict)
    task_version: Any = None
    results_sha256: str | None = None
    date: float | None = None
    meta: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def filters(self) -> list[str]:
        return sorted(set(self.metrics) | set(self.samples))

    def responses(self) -> dict[int, str | None]:
        """doc_id -> raw completion (the same under every filter)."""
        out: dict[int, str | None] = {}
        for rows in self.samples.values():
            for doc_id, s in rows.items():
                out.setdefault(doc_id, s.response)
        return out


def find_run_files(path: str | Path, task: str) -> tuple[Path, Path | None]:
    """(results JSON, samples JSONL or None) for a run folder, a results file or a samples file.

    A folder must hold exactly one ``results_*.json`` (searched recursively): with several, which
    run is meant is ambiguous, and guessing could pair the wrong runs.
    """
    p = Path(path)
    if p.is_dir():
        found = sorted(p.rglob("results_*.json"))
        if not found:
            raise RunNotFound(f"no lm-eval results_*.json under {p}")
        if len(found) > 1:
            listing = ", ".join(str(f) for f in found[:5])
            raise RunNotFound(f"{len(found)} lm-eval results files under {p} ({listing}); point at one of them")
        results = found[0]
    elif p.is_file() and _RESULTS_RE.match(p.name):
        results = p
    elif p.is_file() and p.name.startswith("samples_") and p.suffix == ".jsonl":
        date = p.stem.rsplit("_", 1)[-1]
        results = p.with_name(f"results_{date}.json")
        if not results.is_file():
            raise RunNotFound(f"{p}: no results_{date}.json beside it (the gate needs both files of a run)")
        return results, p
    else:
        raise RunNotFound(f"{p}: not an lm-eval output folder, results_*.json or samples_*.jsonl")
    date = _RESULTS_RE.match(results.name).group("date")  # type: ignore[union-attr]
    samples = results.with_name(f"samples_{task}_{date}.jsonl")
    return results, samples if samples.is_file() else None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _first_text(v: Any) -> str | None:
    """The first string in a possibly nested list (lm-eval nests resps as [[text]])."""
    while isinstance(v, list) and v:
        v = v[0]
    return v if isinstance(v, str) else None


def _parse_results(run: RunOutput, data: Any, metric: str) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        run.problems.append(f"{run.results_path}: no 'results' mapping (not lm-eval output?)")
        return
    task_results = data["results"].get(run.task)
    if not isinstance(task_results, dict):
        found = sorted(data["results"])
        run.problems.append(f"{run.results_path}: no results for task {run.task!r} (found {found})")
        return
    for key, value in task_results.items():
        name, _, flt = key.partition(",")
        if name == metric and flt:
            run.metrics.setdefault(flt, FilterMetric(None, None))
            run.metrics[flt] = FilterMetric(_num(value), run.metrics[flt].stderr)
            if _num(value) is None:
                run.problems.append(f"{run.results_path}: {key} is not a number ({value!r})")
        elif name == f"{metric}_stderr" and flt:
            prev = run.metrics.get(flt, FilterMetric(None, None))
            run.metrics[flt] = FilterMetric(prev.value, _num(value))
    nshot = (data.get("n-shot") or {}).get(run.task)
    run.n_shot = nshot if isinstance(nshot, int) and not isinstance(nshot, bool) else None
    eff = ((data.get("n-samples") or {}).get(run.task) or {}).get("effective")
    run.n_effective = eff if isinstance(eff, int) else None
    run.lm_eval_version = data.get("lm_eval_version") if isinstance(data.get("lm_eval_version"), str) else None
    run.config = data.get("config") if isinstance(data.get("config"), dict) else {}
    model_args = run.config.get("model_args")  # a mapping, or "k=v,..." from older lm-eval
    if isinstance(model_args, str):
        model_args = dict(kv.split("=", 1) for kv in model_args.split(",") if "=" in kv)
    model_args = model_args if isinstance(model_args, dict) else {}
    run.model = str(model_args["model"]) if model_args.get("model") is not None else None
    task_config = (data.get("configs") or {}).get(run.task)
    run.generation = {
        "generation_kwargs": task_config.get("generation_kwargs") if isinstance(task_config, dict) else None,
        "gen_kwargs": run.config.get("gen_kwargs"),
        "model_args": {k: v for k, v in sorted(model_args.items()) if k not in TRANSPORT_MODEL_ARGS and k != "model"},
    }
    run.task_version = (data.get("versions") or {}).get(run.task)
    run.date = _num(data.get("date"))


def _parse_samples(run: RunOutput, metric: str) -> None:
    assert run.samples_path is not None
    try:
        # JSON Lines separates records by "\n" only. str.splitlines() would also split at U+2028,
        # U+2029, \x1c-\x1e and \x85, which lm-eval writes raw inside strings (ensure_ascii=False):
        # a gsm8k few-shot example holding U+2028 would tear its sample's line in two.
        lines = run.samples_path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as e:
        run.problems.append(f"{run.samples_path}: unreadable: {e}")
        return
    bad_lines = 0
    for lineno, line in enumerate(lines, 1):
        if bad_lines > 20:
            run.problems.append(f"{run.samples_path}: stopped reading after {bad_lines} bad lines")
            break
        if not line.strip():
            continue
        where = f"{run.samples_path.name}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            run.problems.append(f"{where}: not JSON ({e.msg})")
            bad_lines += 1
            continue
        doc_id, flt, score = row.get("doc_id"), row.get("filter"), row.get(metric)
        if not isinstance(doc_id, int) or not isinstance(flt, str) or _num(score) not in (0.0, 1.0):
            run.problems.append(f"{where}: needs integer 'doc_id', string 'filter' and 0/1 '{metric}' "
                                f"(got {doc_id!r}, {flt!r}, {score!r})")
            bad_lines += 1
            continue
        if "resps" not in row:
            run.problems.append(f"{where}: no 'resps' (the raw completion)")
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        sample = Sample(
            doc_id=doc_id, correct=_num(score) == 1.0, response=_first_text(row.get("resps")),
            extracted=_first_text(row.get("filtered_resps")), target=str(row.get("target", "")),
            question=str(doc.get("question", "")), doc_hash=row.get("doc_hash"),
            prompt_hash=row.get("prompt_hash"), target_hash=row.get("target_hash"))
        per_filter = run.samples.setdefault(flt, {})
        if doc_id in per_filter:
            run.problems.append(f"{where}: doc_id {doc_id} appears twice under filter {flt!r}")
            continue
        per_filter[doc_id] = sample


def read_run(path: str | Path, task: str, metric: str = "exact_match", label: str = "run") -> RunOutput:
    """Parse the lm-eval run at ``path`` (see :func:`find_run_files`); raises only :class:`RunNotFound`."""
    results_path, samples_path = find_run_files(path, task)
    run = RunOutput(label=label, results_path=results_path, samples_path=samples_path, task=task)
    try:
        raw = results_path.read_bytes()
        run.results_sha256 = hashlib.sha256(raw).hexdigest()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        run.problems.append(f"{results_path}: not readable JSON: {e}")
        data = None
    if data is not None:
        _parse_results(run, data, metric)
    if samples_path is None:
        run.problems.append(f"{results_path.parent}: no samples_{task}_*.jsonl beside the results "
                            "(was lm-eval run with --log_samples?)")
    else:
        _parse_samples(run, metric)
    # The gate's own record of the run, if the gate made it (searched up to the run folder).
    for folder in (results_path.parent, results_path.parent.parent, results_path.parent.parent.parent):
        meta_path = folder / RUN_META_FILE
        if meta_path.is_file():
            try:
                run.meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                run.problems.append(f"{meta_path}: unreadable: {e}")
            break
    return run
