"""One lm-eval run of gsm8k against an OpenAI-compatible completions endpoint (``local-completions``).

The run happens in a subprocess (its own process group, a wall-clock limit, its log in a file) so
that a hung or crashing evaluation becomes a clear failure of the gate rather than of the gate's
process. ``lm_eval.runner: library`` runs :mod:`mhc_verify.gsm8k.lmeval_worker`; ``cli`` runs
``python -m lm_eval``. Either way lm-eval writes its usual results and samples files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mhc_verify.gsm8k.config import GateConfig
from mhc_verify.gsm8k.lmeval_output import NULL_COMPLETION_MARKER, RUN_META_FILE
from mhc_verify.gsm8k.server import log_tail

OFFLINE_TASK = "gsm8k_offline"
DATA_DIR_ENV = "MHC_VERIFY_GSM8K_DATA_DIR"
MIN_LM_EVAL = (0, 4, 8)  # custom_dataset (the offline task's loader) and the API used here
# lm-eval log lines worth carrying into the report: transient request failures it retried.
_LOG_MARKERS = ("API request failed", "Retry attempt", "API returned null content")
# Why a failed run failed, most specific first: connection errors show up in lm-eval's log as the
# aiohttp message (often once per request), a crash as the last exception line.
_ROOT_CAUSES = (re.compile(r"Cannot connect to host [^\]]*\]?"), re.compile(r"Connection refused"),
                re.compile(r"(?:ServerTimeoutError|TimeoutError|ClientResponseError)[^\n]*"),
                re.compile(r"^\w*(?:Error|Exception)(?:: .*)?$"))


class LmEvalMissing(RuntimeError):
    """lm-eval (with its API-model extras) is not installed, or too old."""


def lm_eval_version() -> str:
    """The installed lm-eval version; raises :class:`LmEvalMissing` when absent or too old."""
    try:
        version = metadata.version("lm_eval")
    except metadata.PackageNotFoundError as e:
        raise LmEvalMissing("lm-eval is not installed: pip install 'lm-eval[api]>=0.4.8,<0.5' "
                            "(or the mhc-verify 'eval' extra)") from e
    parts = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    if parts < MIN_LM_EVAL:
        raise LmEvalMissing(f"lm-eval {version} is too old; the gate needs >= "
                            f"{'.'.join(map(str, MIN_LM_EVAL))}")
    return version


def task_include_path() -> Path:
    """``eval_configs/lm_eval_tasks`` of this checkout (where the ``gsm8k_offline`` task lives)."""
    path = Path(__file__).resolve().parents[2] / "eval_configs" / "lm_eval_tasks"
    if not (path / "gsm8k_offline" / "gsm8k_offline.yaml").is_file():
        raise FileNotFoundError(f"{path}: the gsm8k_offline task is not there (run from a source checkout)")
    return path


def model_args(cfg: GateConfig, endpoint: str) -> dict[str, Any]:
    """``local-completions`` arguments. No tokenizer: prompts go as text and the engine tokenizes,
    so nothing is fetched from the hub for the model's tokenizer."""
    lm = cfg.lm_eval
    args: dict[str, Any] = {
        "model": cfg.model, "base_url": endpoint, "tokenizer_backend": "none",
        "num_concurrent": lm.num_concurrent, "max_retries": lm.max_retries, "max_gen_toks": lm.max_gen_toks,
        "timeout": lm.request_timeout_s,
    }
    args.update(lm.model_args)
    return args


def _cli_model_args(args: dict[str, Any]) -> str:
    bad = [k for k, v in args.items() if "," in str(v) or "=" in str(v)]
    if bad:
        raise ValueError(f"model_args {bad} hold ',' or '=' and cannot be passed on the lm_eval command line; "
                         "use lm_eval.runner: library")
    return ",".join(f"{k}={v}" for k, v in args.items())


def cli_command(cfg: GateConfig, endpoint: str, output_path: Path, include_path: Path,
                python: str = sys.executable) -> list[str]:
    """The ``lm_eval`` command equivalent to the run (executed by the cli runner, shown in reports)."""
    t = cfg.task
    cmd = [python, "-m", "lm_eval", "--model", "local-completions",
           "--model_args", _cli_model_args(model_args(cfg, endpoint)),
           "--tasks", t.name, "--num_fewshot", str(t.num_fewshot), "--batch_size", str(cfg.lm_eval.batch_size),
           "--output_path", str(output_path), "--log_samples", "--use_cache", str(cache_path(output_path))]
    if t.name == OFFLINE_TASK:
        cmd += ["--include_path", str(include_path)]
    if t.limit is not None:
        cmd += ["--limit", str(t.limit)]
    return cmd


def cache_path(output_path: Path) -> Path:
    """lm-eval's request cache of one run (``--use_cache``; lm-eval appends ``_rank0.db``): every
    answered request is committed as it arrives, so a resumed run asks only the rest."""
    return output_path.parent / "lm_eval_cache" / "requests"


def run_env(cfg: GateConfig, endpoint: str, data_dir: Path | None) -> dict[str, str]:
    """Environment added to the lm-eval process."""
    env = {
        # Failed generations (null text) become this marker instead of "", so they cannot pass
        # for an empty answer; the integrity check counts them as request errors.
        "LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER": NULL_COMPLETION_MARKER,
        "TOKENIZERS_PARALLELISM": "false",
    }
    if cfg.task.name == OFFLINE_TASK:
        if data_dir is None:
            raise ValueError(f"task {OFFLINE_TASK} needs a data folder: --data-dir or task.data_dir")
        env[DATA_DIR_ENV] = str(data_dir)
        # Offline task, offline run: a hub access attempt fails at once instead of hanging.
        env["HF_HUB_OFFLINE"] = "1"
        env["HF_DATASETS_OFFLINE"] = "1"
    host = urlparse(endpoint).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        # A proxy set for the outside world must not intercept requests to the local engine.
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"]))
        env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env


@dataclass
class LmEvalRun:
    run_dir: Path
    output_path: Path
    log_path: Path
    command: list[str]
    env: dict[str, str]
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    log_warnings: list[str] = field(default_factory=list)
    equivalent_cli: str = ""  # the run as one `lm_eval` command line

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def failure(self) -> str:
        what = (f"lm-eval ran past {self.seconds:.0f}s and was stopped" if self.timed_out
                else f"lm-eval exited with code {self.exit_code}")
        cause = root_cause(self.log_path)
        if cause:
            what += f": {cause}"
        return f"{what}; log {self.log_path}:\n{log_tail(self.log_path, 25)}"


def root_cause(log_path: Path) -> str | None:
    """The most telling error in an lm-eval log, with how many lines carry it (None if none)."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None
    for rx in _ROOT_CAUSES:
        hits = [m.group(0).strip() for line in lines if (m := rx.search(line.strip()))]
        if hits:
            last = hits[-1]
            return f"{last} ({len(hits)} log line{'s' if len(hits) > 1 else ''})"
    return None


def _scan_log(path: Path) -> list[str]:
    counts: dict[str, int] = {}
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                for m in _LOG_MARKERS:
                    if m in line:
                        counts[m] = counts.get(m, 0) + 1
    except OSError:
        return []
    return [f"{n} line(s) with {m!r}" for m, n in counts.items()]


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it after 30 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def _equivalent_cli(cfg: GateConfig, endpoint: str, output_path: Path, include_path: Path,
                    env_add: dict[str, str]) -> str:
    """The run as one shell line, for the report (a reader can re-run it by hand)."""
    try:
        cmd = cli_command(cfg, endpoint, output_path, include_path, python="python")
    except ValueError as e:
        return f"(not expressible on the command line: {e})"
    keep = ("LMEVAL_MODEL_NONE_ANSWER_PLACEHOLDER", DATA_DIR_ENV, "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    prefix = " ".join(f"{k}={shlex.quote(env_add[k])}" for k in keep if k in env_add)
    return f"{prefix} {shlex.join(cmd)}".strip()


def run_lm_eval(cfg: GateConfig, endpoint: str, run_dir: Path, data_dir: Path | None,
                extra_meta: dict[str, Any] | None = None) -> LmEvalRun:
    """Run gsm8k once into ``run_dir/lm_eval_out``; write ``run_dir/mhc_run.json`` describing it."""
    lm_eval_version()
    run_dir.mkdir(parents=True, exist_ok=True)
    output_path = run_dir / "lm_eval_out"
    include_path = task_include_path()
    env_add = run_env(cfg, endpoint, data_dir)
    if cfg.lm_eval.runner == "cli":
        cmd = cli_command(cfg, endpoint, output_path, include_path)
    else:
        spec = {"model": "local-completions", "model_args": model_args(cfg, endpoint), "task": cfg.task.name,
                "include_path": str(include_path), "include_defaults": cfg.task.name != OFFLINE_TASK,
                "num_fewshot": cfg.task.num_fewshot, "limit": cfg.task.limit,
                "batch_size": cfg.lm_eval.batch_size, "output_path": str(output_path),
                "use_cache": str(cache_path(output_path))}
        spec_path = run_dir / "lm_eval_spec.json"
        spec_path.write_text(json.dumps(spec, indent=2) + "\n")
        cmd = [sys.executable, "-m", "mhc_verify.gsm8k.lmeval_worker", str(spec_path)]
    run = LmEvalRun(run_dir=run_dir, output_path=output_path, log_path=run_dir / "lm_eval.log", command=cmd,
                    env=env_add)
    t0 = time.monotonic()
    with run.log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **env_add}, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            run.exit_code = proc.wait(timeout=cfg.lm_eval.run_timeout_s)
        except subprocess.TimeoutExpired:
            run.timed_out = True
            _stop_group(proc)
            run.exit_code = proc.returncode
        except BaseException:
            # Interrupted (Ctrl-C): lm-eval runs in its own session and would carry on alone.
            _stop_group(proc)
            raise
    run.seconds = time.monotonic() - t0
    run.log_warnings = _scan_log(run.log_path)
    run.equivalent_cli = _equivalent_cli(cfg, endpoint, output_path, include_path, env_add)
    meta = {
        "null_marker": NULL_COMPLETION_MARKER, "exit_code": run.exit_code, "timed_out": run.timed_out,
        "seconds": round(run.seconds, 1), "runner": cfg.lm_eval.runner, "command": shlex.join(cmd),
        "equivalent_cli": run.equivalent_cli,
        "env_added": env_add, "endpoint": endpoint, "log_warnings": run.log_warnings, **(extra_meta or {}),
    }
    (run_dir / RUN_META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return run
