"""The gate's YAML configuration (``eval_configs/gsm8k/*.yaml``), read strictly.

Unknown keys are errors, not ignored: a misspelt ``floors`` that silently fell back to "no floor"
would turn the gate into a pass. See ``eval_configs/gsm8k/README.md`` for every key.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILTERS = ("flexible-extract", "strict-match")
GSM8K_TEST_SIZE = 1319
# The placeholders a server command or an endpoint may hold. Only these are substituted, so a
# JSON argument such as --compilation-config '{"mode": 3}' passes through untouched.
PLACEHOLDERS = ("host", "port", "model", "data_dir", "out_dir", "run_dir", "python")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


class ConfigError(ValueError):
    """The configuration is missing something or holds something it must not."""


@dataclass(frozen=True)
class TaskConfig:
    name: str = "gsm8k_offline"  # gsm8k_offline (local JSONL) or gsm8k (lm-eval built-in, HF hub)
    data_dir: str | None = None  # folder with train.jsonl/test.jsonl, for gsm8k_offline
    num_fewshot: int = 20
    limit: int | None = None
    expected_n: int = GSM8K_TEST_SIZE
    filters: tuple[str, ...] = DEFAULT_FILTERS
    metric: str = "exact_match"


@dataclass(frozen=True)
class LmEvalConfig:
    runner: str = "library"  # "library": lm-eval's Python API in a subprocess; "cli": the lm_eval command
    batch_size: int = 1
    num_concurrent: int = 1
    max_retries: int = 3
    max_gen_toks: int = 256
    request_timeout_s: int = 600
    run_timeout_s: float = 6 * 3600
    model_args: dict[str, Any] = field(default_factory=dict)  # extra local-completions arguments


@dataclass(frozen=True)
class ServerConfig:
    command: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 8000  # 0: pick a free port and pass it as {port}
    health_path: str = "/health"
    startup_timeout_s: float = 1800
    shutdown_timeout_s: float = 60
    env: dict[str, str] = field(default_factory=dict)  # for every backend


@dataclass(frozen=True)
class BackendConfig:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class BaselineConfig:
    backend: str | None = None  # a backend the gate runs itself
    samples: str | None = None  # or a previous run's lm-eval output (folder, results JSON or samples JSONL)


@dataclass(frozen=True)
class GateThresholds:
    floors: dict[str, float | None] = field(default_factory=dict)
    alpha: float = 0.05
    power: float = 0.8
    aa_discordance: float | None = None  # the engine's own A/A flip rate, if measured


@dataclass(frozen=True)
class GateConfig:
    name: str
    model: str
    endpoint: str
    task: TaskConfig
    lm_eval: LmEvalConfig
    server: ServerConfig | None
    backends: dict[str, BackendConfig]
    candidate: str
    baseline: BaselineConfig
    gate: GateThresholds
    description: str = ""
    documented_baselines: tuple[dict[str, Any], ...] = ()
    source: Path | None = None
    source_sha256: str | None = None


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace the known ``{placeholder}`` names in ``template``; leave every other brace alone."""
    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise ConfigError(f"placeholder {{{key}}} has no value here (in {template!r})")
        return str(values[key])
    return _PLACEHOLDER_RE.sub(repl, template)


def _take(d: dict[str, Any], where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
    unknown = set(d) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    return d


def _env(d: Any, where: str) -> dict[str, str]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping of environment variables")
    # YAML reads 1 as an int; the environment only holds strings.
    return {str(k): str(v) for k, v in d.items()}


def _number(v: Any, where: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ConfigError(f"{where}: {v} is outside [{lo}, {hi}]")
    return float(v)


def _task(d: dict[str, Any]) -> TaskConfig:
    d = _take(d or {}, "task", {"name", "data_dir", "num_fewshot", "limit", "expected_n", "filters", "metric"})
    limit = d.get("limit")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ConfigError(f"task.limit: expected a positive integer, got {limit!r}")
    expected = d.get("expected_n", limit if limit is not None else GSM8K_TEST_SIZE)
    if not isinstance(expected, int) or expected <= 0:
        raise ConfigError(f"task.expected_n: expected a positive integer, got {expected!r}")
    if limit is not None and expected != limit:
        raise ConfigError(f"task.expected_n ({expected}) differs from task.limit ({limit})")
    nshot = d.get("num_fewshot", 20)
    if not isinstance(nshot, int) or nshot < 0:
        raise ConfigError(f"task.num_fewshot: expected an integer >= 0, got {nshot!r}")
    filters = tuple(d.get("filters", DEFAULT_FILTERS))
    if not filters:
        raise ConfigError("task.filters: at least one filter is needed")
    return TaskConfig(name=str(d.get("name", "gsm8k_offline")), data_dir=d.get("data_dir"), num_fewshot=nshot,
                      limit=limit, expected_n=expected, filters=filters, metric=str(d.get("metric", "exact_match")))


def _lm_eval(d: dict[str, Any]) -> LmEvalConfig:
    d = _take(d or {}, "lm_eval", {"runner", "batch_size", "num_concurrent", "max_retries", "max_gen_toks",
                                   "request_timeout_s", "run_timeout_s", "model_args"})
    runner = d.get("runner", "library")
    if runner not in ("library", "cli"):
        raise ConfigError(f"lm_eval.runner: 'library' or 'cli', got {runner!r}")
    extra = d.get("model_args") or {}
    if not isinstance(extra, dict):
        raise ConfigError("lm_eval.model_args: expected a mapping")
    reserved = {"model", "base_url", "num_concurrent", "max_retries", "max_gen_toks", "timeout", "batch_size"}
    clash = reserved & set(extra)
    if clash:
        raise ConfigError(f"lm_eval.model_args: {sorted(clash)} are set by the gate from other keys")
    return LmEvalConfig(
        runner=runner, batch_size=int(d.get("batch_size", 1)), num_concurrent=int(d.get("num_concurrent", 1)),
        max_retries=int(d.get("max_retries", 3)), max_gen_toks=int(d.get("max_gen_toks", 256)),
        request_timeout_s=int(d.get("request_timeout_s", 600)),
        run_timeout_s=_number(d.get("run_timeout_s", 6 * 3600), "lm_eval.run_timeout_s", 1), model_args=dict(extra))


def _server(d: dict[str, Any] | None) -> ServerConfig | None:
    if d is None:
        return None
    d = _take(d, "server", {"command", "host", "port", "health_path", "startup_timeout_s", "shutdown_timeout_s",
                            "env"})
    cmd = d.get("command")
    if isinstance(cmd, str):
        cmd = shlex.split(cmd)
    if not cmd or not isinstance(cmd, list):
        raise ConfigError("server.command: a list of arguments (or one shell-quoted string) is required")
    port = d.get("port", 8000)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(f"server.port: expected 0..65535, got {port!r}")
    return ServerConfig(
        command=tuple(str(a) for a in cmd), host=str(d.get("host", "127.0.0.1")), port=port,
        health_path=str(d.get("health_path", "/health")),
        startup_timeout_s=_number(d.get("startup_timeout_s", 1800), "server.startup_timeout_s", 1),
        shutdown_timeout_s=_number(d.get("shutdown_timeout_s", 60), "server.shutdown_timeout_s", 1),
        env=_env(d.get("env"), "server.env"))


def _backends(d: Any) -> dict[str, BackendConfig]:
    if not d:
        return {"default": BackendConfig("default")}
    if not isinstance(d, dict):
        raise ConfigError("backends: expected a mapping name -> {env, description}")
    out = {}
    for name, b in d.items():
        b = _take(b or {}, f"backends.{name}", {"env", "description"})
        out[str(name)] = BackendConfig(str(name), _env(b.get("env"), f"backends.{name}.env"),
                                       str(b.get("description", "")))
    return out


def _gate(d: dict[str, Any], filters: tuple[str, ...]) -> GateThresholds:
    d = _take(d or {}, "gate", {"floor", "floors", "alpha", "power", "aa_discordance"})
    if "floor" in d and "floors" in d:
        raise ConfigError("gate: give 'floor' (every filter) or 'floors' (per filter), not both")
    if "floors" in d:
        raw = d["floors"] or {}
        if not isinstance(raw, dict):
            raise ConfigError("gate.floors: expected a mapping filter -> floor (or null)")
        floors = {str(k): (None if v is None else _number(v, f"gate.floors.{k}", 0, 1)) for k, v in raw.items()}
    elif "floor" in d:
        v = d["floor"]
        floors = {f: (None if v is None else _number(v, "gate.floor", 0, 1)) for f in filters}
    else:
        # No floor at all is a configuration the threshold check refuses (fail closed), not a pass.
        floors = {f: None for f in filters}
    aa = d.get("aa_discordance")
    return GateThresholds(
        floors=floors, alpha=_number(d.get("alpha", 0.05), "gate.alpha", 0, 1),
        power=_number(d.get("power", 0.8), "gate.power", 0, 1),
        aa_discordance=None if aa is None else _number(aa, "gate.aa_discordance", 0, 1))


def parse_config(raw: dict[str, Any], source: Path | None = None, source_sha256: str | None = None) -> GateConfig:
    """Build a :class:`GateConfig` from a parsed YAML mapping, checking it as it goes."""
    raw = _take(raw, "config", {"name", "description", "model", "endpoint", "task", "lm_eval", "server",
                                "backends", "candidate", "baseline", "gate", "documented_baselines"})
    for key in ("name", "model", "endpoint"):
        if not raw.get(key):
            raise ConfigError(f"config: '{key}' is required")
    task = _task(raw.get("task"))
    backends = _backends(raw.get("backends"))
    candidate = str(raw.get("candidate") or next(iter(backends)))
    if candidate not in backends:
        raise ConfigError(f"candidate: backend {candidate!r} is not among backends {sorted(backends)}")
    bl = _take(raw.get("baseline") or {}, "baseline", {"backend", "samples"})
    baseline = BaselineConfig(backend=bl.get("backend"), samples=bl.get("samples"))
    if baseline.backend and baseline.samples:
        raise ConfigError("baseline: give 'backend' or 'samples', not both")
    if baseline.backend and baseline.backend not in backends:
        raise ConfigError(f"baseline.backend: {baseline.backend!r} is not among backends {sorted(backends)}")
    gate = _gate(raw.get("gate"), task.filters)
    stray = set(gate.floors) - set(task.filters)
    if stray:
        raise ConfigError(f"gate.floors: {sorted(stray)} are not among task.filters {list(task.filters)}")
    docs = raw.get("documented_baselines") or []
    if not isinstance(docs, list):
        raise ConfigError("documented_baselines: expected a list")
    return GateConfig(
        name=str(raw["name"]), description=str(raw.get("description", "")), model=str(raw["model"]),
        endpoint=str(raw["endpoint"]), task=task, lm_eval=_lm_eval(raw.get("lm_eval")),
        server=_server(raw.get("server")), backends=backends, candidate=candidate, baseline=baseline, gate=gate,
        documented_baselines=tuple(docs), source=source, source_sha256=source_sha256)


def load_config(path: str | Path) -> GateConfig:
    """Read and check a gate configuration file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return parse_config(raw, source=path, source_sha256=hashlib.sha256(text).hexdigest())
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from e
