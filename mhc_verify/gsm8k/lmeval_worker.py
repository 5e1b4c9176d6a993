"""Runs one lm-eval evaluation through lm-eval's Python API; the gate starts it as a subprocess.

    python -m mhc_verify.gsm8k.lmeval_worker SPEC.json

Why not the ``lm_eval`` command: the command always indexes every built-in task (~14k YAML
files, ~20 s here) even when the task comes from ``--include_path``; the API can skip that. The
outputs are written by lm-eval's own ``EvaluationTracker``, so they are the files the command
writes. (``lm_eval.runner: cli`` in the config runs the command instead.)

SPEC keys: model, model_args (mapping), task, include_path, include_defaults, num_fewshot, limit,
batch_size, output_path, use_cache (lm-eval's request cache, for resuming).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run(spec: dict[str, Any]) -> int:
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import make_table

    try:
        from lm_eval.utils import setup_logging
        setup_logging()
    except ImportError:  # older 0.4.x configure logging on import
        pass

    task_manager = TaskManager(include_path=spec["include_path"], include_defaults=spec["include_defaults"])
    tracker = EvaluationTracker(output_path=spec["output_path"])
    results = simple_evaluate(
        model=spec["model"], model_args=spec["model_args"], tasks=[spec["task"]],
        num_fewshot=spec["num_fewshot"], batch_size=spec["batch_size"], limit=spec.get("limit"),
        log_samples=True, evaluation_tracker=tracker, task_manager=task_manager, use_cache=spec.get("use_cache"))
    if results is None:
        print("lm-eval returned no results", file=sys.stderr)
        return 3
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    print(make_table(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    return run(json.loads(Path(argv[0]).read_text()))


if __name__ == "__main__":
    raise SystemExit(main())
