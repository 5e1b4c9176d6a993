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
    request_timeout_s: float = 600
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
class KernelEvidence:
    """What the engine's log must and must not show when this backend really ran (regexes, searched
    line by line): without it an environment switch that the engine ignored, or misspelt, turns an
    A/B comparison into an A/A one that passes."""

    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendConfig:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""
    kernel_evidence: KernelEvidence = field(default_factory=KernelEvidence)


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
    # Non-inferiority: a paired pass also needs the minimum detectable drop (at ``power``, at the
    # observed discordance) to be at most this; otherwise "not shown worse" is only "could not see".
    margin: float = 0.01
    max_empty_rate: float = 0.001  # empty completions above this fraction fail the run
    max_unfinished_rate: float | None = None  # completions with no "#### " answer line; None: not checked


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


def _number(v: Any, where: str, lo: float | None = None, hi: float | None = None, *,
            open_interval: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise ConfigError(f"{where}: expected a number, got {v!r}")
    if open_interval:
        if (lo is not None and v <= lo) or (hi is not None and v >= hi):
            raise ConfigError(f"{where}: {v} is outside ({lo}, {hi}), the ends excluded")
    elif (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ConfigError(f"{where}: {v} is outside [{lo}, {hi}]")
    return float(v)


def _integer(v: Any, where: str, lo: int, hi: int | None = None) -> int:
    """An integer in [lo, hi]; 1.7, "8" and True are errors, not silently converted."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}: expected an integer, got {v!r}")
    if v < lo or (hi is not None and v > hi):
        raise ConfigError(f"{where}: {v} is outside [{lo}, {hi if hi is not None else 'inf'}]")
    return v


def _text(v: Any, where: str, *, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: expected a non-empty string, got {v!r}")
    return v


def _text_list(v: Any, where: str) -> tuple[str, ...]:
    """A list of non-empty strings (a bare string is an error: it is not a list of its characters)."""
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: expected a list of non-empty strings, got {v!r}")
    if len(set(v)) != len(v):
        raise ConfigError(f"{where}: repeated entries in {v!r}")
    return tuple(v)


def _patterns(v: Any, where: str) -> tuple[str, ...]:
    patterns = _text_list(v if v is not None else [], where)
    for p in patterns:
        try:
            re.compile(p)
        except re.error as e:
            raise ConfigError(f"{where}: {p!r} is not a valid regular expression: {e}") from e
    return patterns


def _task(d: dict[str, Any]) -> TaskConfig:
    d = _take(d or {}, "task", {"name", "data_dir", "num_fewshot", "limit", "expected_n", "filters", "metric"})
    limit = d.get("limit")
    if limit is not None:
        _integer(limit, "task.limit", 1)
    expected = _integer(d.get("expected_n", limit if limit is not None else GSM8K_TEST_SIZE), "task.expected_n", 1)
    if limit is not None and expected != limit:
        raise ConfigError(f"task.expected_n ({expected}) differs from task.limit ({limit})")
    nshot = _integer(d.get("num_fewshot", 20), "task.num_fewshot", 0)
    filters = _text_list(d.get("filters", list(DEFAULT_FILTERS)), "task.filters")
    if not filters:
        raise ConfigError("task.filters: at least one filter is needed")
    return TaskConfig(name=_text(d.get("name", "gsm8k_offline"), "task.name"),  # type: ignore[arg-type]
                      data_dir=_text(d.get("data_dir"), "task.data_dir", optional=True), num_fewshot=nshot,
                      limit=limit, expected_n=expected, filters=filters,
                      metric=_text(d.get("metric", "exact_match"), "task.metric"))  # type: ignore[arg-type]


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
    timeout = _number(d.get("request_timeout_s", 600), "lm_eval.request_timeout_s", 0, open_interval=True)
    return LmEvalConfig(
        runner=runner, batch_size=_integer(d.get("batch_size", 1), "lm_eval.batch_size", 1),
        num_concurrent=_integer(d.get("num_concurrent", 1), "lm_eval.num_concurrent", 1),
        max_retries=_integer(d.get("max_retries", 3), "lm_eval.max_retries", 1),
        max_gen_toks=_integer(d.get("max_gen_toks", 256), "lm_eval.max_gen_toks", 1),
        request_timeout_s=int(timeout) if timeout == int(timeout) else timeout,  # type: ignore[arg-type]
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
    port = _integer(d.get("port", 8000), "server.port", 0, 65535)
    health_path = _text(d.get("health_path", "/health"), "server.health_path")
    if not health_path.startswith("/"):  # type: ignore[union-attr]
        raise ConfigError(f"server.health_path: must start with '/', got {health_path!r}")
    return ServerConfig(
        command=tuple(str(a) for a in cmd), host=_text(d.get("host", "127.0.0.1"), "server.host"),  # type: ignore[arg-type]
        port=port, health_path=health_path,  # type: ignore[arg-type]
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
        b = _take(b or {}, f"backends.{name}", {"env", "description", "kernel_evidence"})
        ev = _take(b.get("kernel_evidence") or {}, f"backends.{name}.kernel_evidence", {"must", "must_not"})
        evidence = KernelEvidence(must=_patterns(ev.get("must"), f"backends.{name}.kernel_evidence.must"),
                                  must_not=_patterns(ev.get("must_not"), f"backends.{name}.kernel_evidence.must_not"))
        out[str(name)] = BackendConfig(str(name), _env(b.get("env"), f"backends.{name}.env"),
                                       str(b.get("description", "")), evidence)
    return out


def _flip_rate(v: Any) -> float:
    rate = _number(v, "gate.aa_discordance", 0, 1)
    if rate == 1:  # the MDD model needs room for a drop on top of the flip rate
        raise ConfigError("gate.aa_discordance: 1 leaves no room for a drop; expected [0, 1)")
    return rate


def _gate(d: dict[str, Any], filters: tuple[str, ...]) -> GateThresholds:
    d = _take(d or {}, "gate", {"floor", "floors", "alpha", "power", "aa_discordance", "margin", "max_empty_rate",
                                "max_unfinished_rate"})
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
    aa, unfinished = d.get("aa_discordance"), d.get("max_unfinished_rate")
    return GateThresholds(
        floors=floors, alpha=_number(d.get("alpha", 0.05), "gate.alpha", 0, 1, open_interval=True),
        power=_number(d.get("power", 0.8), "gate.power", 0, 1, open_interval=True),
        aa_discordance=None if aa is None else _flip_rate(aa),
        margin=_number(d.get("margin", 0.01), "gate.margin", 0, 1, open_interval=True),
        max_empty_rate=_number(d.get("max_empty_rate", 0.001), "gate.max_empty_rate", 0, 1),
        max_unfinished_rate=None if unfinished is None else _number(unfinished, "gate.max_unfinished_rate", 0, 1))


def parse_config(raw: dict[str, Any], source: Path | None = None, source_sha256: str | None = None) -> GateConfig:
    """Build a :class:`GateConfig` from a parsed YAML mapping, checking it as it goes."""
    raw = _take(raw, "config", {"name", "description", "model", "endpoint", "task", "lm_eval", "server",
                                "backends", "candidate", "baseline", "gate", "documented_baselines"})
    for key in ("name", "model", "endpoint"):
        if not raw.get(key):
            raise ConfigError(f"config: '{key}' is required")
        _text(raw[key], key)
    task = _task(raw.get("task"))
    backends = _backends(raw.get("backends"))
    candidate = str(raw.get("candidate") or next(iter(backends)))
    if candidate not in backends:
        raise ConfigError(f"candidate: backend {candidate!r} is not among backends {sorted(backends)}")
    bl = _take(raw.get("baseline") or {}, "baseline", {"backend", "samples"})
    baseline = BaselineConfig(backend=_text(bl.get("backend"), "baseline.backend", optional=True),
                              samples=_text(bl.get("samples"), "baseline.samples", optional=True))
    if baseline.backend and baseline.samples:
        raise ConfigError("baseline: give 'backend' or 'samples', not both")
    if baseline.backend and baseline.backend not in backends:
        raise ConfigError(f"baseline.backend: {baseline.backend!r} is not among backends {sorted(backends)}")
    gate = _gate(raw.get("gate"), task.filters)
    stray = set(gate.floors) - set(task.filters)
    if stray:
        raise ConfigError(f"gate.floors: {sorted(stray)} are not among task.filters {list(task.filters)}")
    docs = raw.get("documented_baselines") or []
    if not isinstance(docs, list) or not all(isinstance(x, dict) for x in docs):
        raise ConfigError("documented_baselines: expected a list of mappings")
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
