"""The gsm8k gate: get the runs (start the server per backend, run lm-eval, or read given output),
check them, decide, and write the report.

Modes:
- gate (default): the candidate backend against the floors (threshold) and, when a baseline is
  configured or given, question by question against the baseline (paired, exact McNemar);
- A/A (``aa=True``): the candidate backend twice, measuring the engine's own run-to-run
  discordance, which sets how small a drop the paired test can really see.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mhc_verify.gsm8k import checks
from mhc_verify.gsm8k.config import ConfigError, GateConfig, substitute
from mhc_verify.gsm8k.evidence import check_kernel_path
from mhc_verify.gsm8k.lmeval_output import RunNotFound, RunOutput, read_run
from mhc_verify.gsm8k.report import write_report
from mhc_verify.gsm8k.runner import OFFLINE_TASK, LmEvalMissing, lm_eval_version, run_lm_eval
from mhc_verify.gsm8k.server import ManagedServer, ServerError, free_port, preflight
from mhc_verify.gsm8k.stats import unpaired_minimum_detectable_drop

CHECK_NAMES = ("threshold", "paired")
REPORT_SCHEMA = "mhc-verify/gsm8k-gate/2"
# Written into the report folder before anything runs: what a --resume must match.
GATE_RUN_FILE = "gate_run.json"


@dataclass
class GateOptions:
    data_dir: Path | None = None
    out_dir: Path | None = None
    endpoint: str | None = None
    candidate_samples: Path | None = None
    candidate_backend: str | None = None  # overrides the config's candidate
    baseline_samples: Path | None = None
    baseline_backend: str | None = None
    no_baseline: bool = False
    aa: bool = False
    checks: tuple[str, ...] | None = None  # None: threshold, plus paired when there is a baseline
    manage_server: bool = True
    server_poll_s: float = 1.0
    engine_log: Path | None = None  # the running engine's log, for kernel-path evidence with --no-server
    resume: bool = False  # continue the gate run in out_dir (lm-eval's request cache answers what it had)


@dataclass
class Side:
    """One of the two runs being compared: made here from a backend, or read from given output."""

    label: str
    backend: str | None = None
    samples: Path | None = None
    run: RunOutput | None = None
    problems: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class GateOutcome:
    passed: bool
    report: dict[str, Any]
    json_path: Path
    markdown_path: Path

    @property
    def verdict(self) -> str:
        return str(self.report["verdict"])


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _git_commit() -> str | None:
    try:
        # rev-parse only reads; (describe --dirty would refresh the index, a write)
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _package_version(name: str) -> str | None:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def resolve_data_dir(cfg: GateConfig, opts: GateOptions) -> Path | None:
    """The gsm8k JSONL folder for the offline task (None for the hub task); raises ConfigError."""
    raw = opts.data_dir or cfg.task.data_dir
    if cfg.task.name != OFFLINE_TASK:
        return Path(raw).resolve() if raw else None
    if not raw:
        raise ConfigError(f"task {OFFLINE_TASK} reads local JSONL: pass --data-dir DIR (DIR/test.jsonl, "
                          "DIR/train.jsonl) or set task.data_dir, or use task.name: gsm8k for the HF hub")
    path = Path(raw).expanduser().resolve()
    missing = [f for f in ("test.jsonl", "train.jsonl") if not (path / f).is_file()]
    if missing:
        raise ConfigError(f"data folder {path} lacks {', '.join(missing)}")
    return path


def plan_sides(cfg: GateConfig, opts: GateOptions) -> tuple[Side, Side | None]:
    """(candidate, baseline or None) as the options and the config ask; raises ConfigError."""
    candidate = opts.candidate_backend or cfg.candidate
    if candidate not in cfg.backends:
        raise ConfigError(f"--candidate-backend {candidate!r} is not among {sorted(cfg.backends)}")
    if opts.aa:
        if opts.candidate_samples or opts.baseline_samples or opts.baseline_backend:
            raise ConfigError("A/A mode runs the candidate backend twice; it takes no samples or baseline options")
        return Side("A1", backend=candidate), Side("A2", backend=candidate)
    cand = (Side("candidate", samples=opts.candidate_samples) if opts.candidate_samples
            else Side("candidate", backend=candidate))
    base: Side | None
    if opts.no_baseline:
        base = None
    elif opts.baseline_samples:
        base = Side("baseline", samples=opts.baseline_samples)
    elif opts.baseline_backend:
        if opts.baseline_backend not in cfg.backends:
            raise ConfigError(f"--baseline-backend {opts.baseline_backend!r} is not among {sorted(cfg.backends)}")
        base = Side("baseline", backend=opts.baseline_backend)
    elif cfg.baseline.samples:
        base = Side("baseline", samples=Path(cfg.baseline.samples))
    elif cfg.baseline.backend:
        base = Side("baseline", backend=cfg.baseline.backend)
    else:
        base = None
    managed = cfg.server is not None and opts.manage_server
    for side in (cand, base):
        if side is None or side.backend is None or managed:
            continue
        # Without the gate restarting the engine, a backend's environment cannot take effect: the
        # "baseline" would be the candidate's server again, an A/A dressed as an A/B.
        if cfg.backends[side.backend].env and side is base:
            raise ConfigError(f"backend {side.backend!r} sets environment {sorted(cfg.backends[side.backend].env)}, "
                              "which needs the gate to start the server (server.command); otherwise give the "
                              "baseline as --baseline-samples")
    return cand, base


def _endpoint_values(cfg: GateConfig, out_dir: Path, run_dir: Path, data_dir: Path | None,
                     port: int | None) -> dict[str, str]:
    """Values of the placeholders in server.command and endpoint for one run."""
    values = {"model": cfg.model, "out_dir": str(out_dir), "run_dir": str(run_dir), "python": sys.executable}
    if data_dir is not None:
        values["data_dir"] = str(data_dir)
    if cfg.server is not None:
        values["host"] = cfg.server.host
        if port is not None:
            values["port"] = str(port)
    return values


def acquire(side: Side, cfg: GateConfig, opts: GateOptions, out_dir: Path, data_dir: Path | None) -> None:
    """Fill ``side.run`` (or ``side.problems``): read the given output, or run the backend."""
    metric = cfg.task.metric
    if side.samples is not None:
        side.provenance = {"source": "given lm-eval output", "path": str(side.samples)}
        try:
            side.run = read_run(side.samples, cfg.task.name, metric, label=side.label)
        except RunNotFound as e:
            side.problems.append(str(e))
        return
    assert side.backend is not None
    backend = cfg.backends[side.backend]
    run_dir = out_dir / "runs" / side.label
    run_dir.mkdir(parents=True, exist_ok=True)
    managed = cfg.server is not None and opts.manage_server
    prov: dict[str, Any] = {"source": "run by the gate", "backend": side.backend,
                            "backend_description": backend.description, "run_dir": str(run_dir)}
    side.provenance = prov
    try:
        if managed:
            assert cfg.server is not None
            port = cfg.server.port or free_port(cfg.server.host)
            values = _endpoint_values(cfg, out_dir, run_dir, data_dir, port)
            command = [substitute(a, values) for a in cfg.server.command]
            endpoint = substitute(opts.endpoint or cfg.endpoint, values)
            env = {**cfg.server.env, **backend.env}
            health = f"http://{cfg.server.host}:{port}{cfg.server.health_path}"
            prov.update({"server_command": shlex.join(command), "server_env": env, "endpoint": endpoint,
                         "server_log": str(run_dir / "server.log")})
            server = ManagedServer(command, env, health, run_dir / "server.log", host=cfg.server.host, port=port,
                                   startup_timeout_s=cfg.server.startup_timeout_s,
                                   shutdown_timeout_s=cfg.server.shutdown_timeout_s, poll_s=opts.server_poll_s)
            prov["engine_log"] = str(run_dir / "server.log")
            try:
                with server:
                    prov["server_startup_s"] = round(server.startup_s or 0.0, 1)
                    unreachable = preflight(endpoint, cfg.model)
                    if unreachable:
                        side.problems.append(unreachable)
                        return
                    lm = run_lm_eval(cfg, endpoint, run_dir, data_dir,
                                     {"backend": side.backend, "server_env": env, "server_command": command,
                                      "engine_log": prov["engine_log"], "config_sha256": cfg.source_sha256})
            finally:
                prov["server_exit_code"] = server.exit_code
                prov["server_clean_shutdown"] = server.clean_shutdown
        else:
            port = cfg.server.port if cfg.server is not None and cfg.server.port else None
            values = _endpoint_values(cfg, out_dir, run_dir, data_dir, port)
            endpoint = substitute(opts.endpoint or cfg.endpoint, values)
            prov.update({"endpoint": endpoint, "server": "not managed by the gate (already running)",
                         "server_env": {}})
            if backend.env:
                prov["note"] = (f"backend environment {backend.env} was not applied by the gate; the running "
                                "server must have been started with it")
            engine_log = str(opts.engine_log.resolve()) if opts.engine_log and side.label != "baseline" else None
            if engine_log:
                prov["engine_log"] = engine_log
            unreachable = preflight(endpoint, cfg.model)
            if unreachable:
                side.problems.append(unreachable)
                return
            lm = run_lm_eval(cfg, endpoint, run_dir, data_dir, {"backend": side.backend, "engine_log": engine_log,
                                                                "config_sha256": cfg.source_sha256})
    except (ServerError, ConfigError, LmEvalMissing, FileNotFoundError, ValueError, OSError) as e:
        side.problems.append(f"{type(e).__name__}: {e}")
        return
    prov.update({"lm_eval_log": str(lm.log_path), "lm_eval_seconds": round(lm.seconds, 1),
                 "lm_eval_exit_code": lm.exit_code, "lm_eval_command": shlex.join(lm.command),
                 "lm_eval_equivalent_cli": lm.equivalent_cli})
    if not lm.ok:
        side.problems.append(lm.failure())
        return
    try:
        side.run = read_run(lm.output_path, cfg.task.name, metric, label=side.label)
    except RunNotFound as e:
        side.problems.append(f"lm-eval exited 0 but wrote no usable output: {e}")


def _run_summary(side: Side, cfg: GateConfig) -> dict[str, Any]:
    run = side.run
    out: dict[str, Any] = {"label": side.label, "backend": _side_backend(side), "provenance": side.provenance,
                           "problems": side.problems}
    if run is None:
        return out
    model = run.model
    if run.meta and run.meta.get("equivalent_cli"):
        side.provenance.setdefault("lm_eval_equivalent_cli", run.meta["equivalent_cli"])
    out.update({
        "results_path": str(run.results_path), "samples_path": str(run.samples_path) if run.samples_path else None,
        "task": run.task, "lm_eval_version": run.lm_eval_version, "n_shot": run.n_shot,
        "n_effective": run.n_effective, "model": model,
        "metrics": {f: {"value": m.value, "stderr": m.stderr, "n": len(run.samples.get(f, {}))}
                    for f, m in sorted(run.metrics.items())},
        "date": dt.datetime.fromtimestamp(run.date, dt.timezone.utc).isoformat() if run.date else None,
    })
    return out


def _provenance(cfg: GateConfig, data_dir: Path | None, started: dt.datetime,
                sides: tuple[Side, Side | None]) -> dict[str, Any]:
    try:
        lm_version: str | None = lm_eval_version()
    except LmEvalMissing:
        lm_version = None
    prov: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"), "lm_eval_version": lm_version,
        "mhc_verify_version": _package_version("mhc-verify"), "mhc_verify_commit": _git_commit(),
        "python": platform.python_version(), "host": platform.node(),
        "config_path": str(cfg.source) if cfg.source else None, "config_sha256": cfg.source_sha256,
        # The URLs really asked (the template's {host}:{port} filled in), per run the gate made.
        "endpoint": ", ".join(dict.fromkeys(s.provenance["endpoint"] for s in sides
                                            if s is not None and s.provenance.get("endpoint"))) or None,
        "endpoint_template": cfg.endpoint,
        "model": cfg.model, "task": cfg.task.name, "num_fewshot": cfg.task.num_fewshot,
        "limit": cfg.task.limit, "expected_n": cfg.task.expected_n,
        "server_command": shlex.join(cfg.server.command) if cfg.server else None,
        "server_env": cfg.server.env if cfg.server else {},
        "backends": {n: {"env": b.env, "description": b.description} for n, b in cfg.backends.items()},
    }
    if data_dir is not None:
        prov["data_dir"] = str(data_dir)
        prov["data_sha256"] = {f: _sha256(data_dir / f) for f in ("test.jsonl", "train.jsonl")}
    return prov


def _side_backend(side: Side) -> str | None:
    # A given run made earlier by the gate still knows its backend.
    return side.backend or ((side.run.meta or {}).get("backend") if side.run is not None else None)


def _side_engine_log(side: Side) -> Path | None:
    raw = side.provenance.get("engine_log") or ((side.run.meta or {}).get("engine_log") if side.run else None)
    return Path(raw) if raw else None


def kernel_path_results(cfg: GateConfig, cand: Side, base: Side | None, required: bool) -> list[checks.CheckResult]:
    """Kernel-path evidence of each run that has a backend; ``required`` (A/B runs) fails closed on
    a backend without configured evidence or a run without an engine log."""
    results = []
    for side in (cand, base):
        if side is None or (side.run is None and not side.provenance.get("engine_log")):
            continue
        backend = _side_backend(side)
        evidence = cfg.backends[backend].kernel_evidence if backend in cfg.backends else None
        if not required and (evidence is None or not (evidence.must or evidence.must_not)):
            continue
        results.append(check_kernel_path(side.label, backend, evidence, _side_engine_log(side), required))
    return results


def decide(cfg: GateConfig, cand: Side, base: Side | None, aa: bool,
           wanted: tuple[str, ...] | None) -> list[checks.CheckResult]:
    """Every check, in report order."""
    results: list[checks.CheckResult] = []
    for side in (cand, base):
        if side is None:
            continue
        if side.problems:
            results.append(checks.CheckResult(f"run:{side.label}", False, reasons=list(side.problems)))
        if side.run is not None:
            results.append(checks.check_integrity(side.run, cfg.task, cfg.gate))
    wanted = wanted or (("threshold", "paired") if base is not None else ("threshold",))
    # An A/B comparison means nothing unless each side provably ran its kernel path.
    results += kernel_path_results(cfg, cand, base, required=not aa and base is not None and "paired" in wanted)
    if aa:
        if cand.run is not None and base is not None and base.run is not None:
            results.append(checks.check_aa(cand.run, base.run, cfg.task, cfg.gate))
        else:
            results.append(checks.CheckResult("aa", False, reasons=["A/A needs both runs; one is missing"]))
        return results
    if "threshold" in wanted:
        if cand.run is not None:
            results.append(checks.check_threshold(cand.run, cfg.task, cfg.gate))
        else:
            results.append(checks.CheckResult("threshold", False, reasons=["no candidate run to check"]))
    if "paired" in wanted:
        if base is None:
            results.append(checks.CheckResult("paired", False, reasons=[
                "no baseline: configure baseline.backend / baseline.samples or pass --baseline-samples"]))
        elif cand.run is not None and base.run is not None:
            results.append(checks.check_paired(cand.run, base.run, cfg.task, cfg.gate))
        else:
            results.append(checks.CheckResult("paired", False, reasons=["needs both runs; one is missing"]))
    return results


def prepare_out_dir(out_dir: Path, cfg: GateConfig, opts: GateOptions, sides: tuple[Side, Side | None]) -> None:
    """Make ``out_dir`` for this gate run, refusing one that holds another (ConfigError), or, with
    ``opts.resume``, clearing the lm-eval outputs a resumed run rewrites (its request cache stays)."""
    stamp = {"config_sha256": cfg.source_sha256, "config_name": cfg.name, "aa": opts.aa,
             "sides": {s.label: s.backend for s in sides if s is not None and s.backend is not None}}
    stamp_path = out_dir / GATE_RUN_FILE
    used = out_dir.is_dir() and any(out_dir.iterdir())
    if used and not opts.resume:
        raise ConfigError(f"--out {out_dir} already holds files (an earlier gate run?): give a new --out, "
                          "or --resume to continue the run there from lm-eval's request cache")
    if opts.resume:
        if not stamp_path.is_file():
            raise ConfigError(f"--resume: {out_dir} holds no {GATE_RUN_FILE}; nothing to resume there")
        try:
            before = json.loads(stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"--resume: {stamp_path} unreadable: {e}") from e
        if before != json.loads(json.dumps(stamp)):
            raise ConfigError(f"--resume: {out_dir} was started with other settings ({before}); this run is {stamp}")
        for side in sides:
            if side is not None and side.backend is not None:
                shutil.rmtree(out_dir / "runs" / side.label / "lm_eval_out", ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def run_gate(cfg: GateConfig, opts: GateOptions) -> GateOutcome:
    """Run the gate end to end and write the report; configuration errors raise :class:`ConfigError`."""
    started = _utc_now()
    if opts.checks is not None:
        unknown = set(opts.checks) - set(CHECK_NAMES)
        if unknown:
            raise ConfigError(f"unknown check(s) {sorted(unknown)}; choose from {list(CHECK_NAMES)}")
    cand, base = plan_sides(cfg, opts)
    needs_data = any(s is not None and s.backend is not None for s in (cand, base))
    # Given runs need no data folder; one is still recorded (with hashes) when named.
    data_dir = resolve_data_dir(cfg, opts) if needs_data or opts.data_dir or cfg.task.data_dir else None
    out_dir = (opts.out_dir or Path("reports") / "gsm8k" /
               f"{cfg.name}-{'aa-' if opts.aa else ''}{started.strftime('%Y%m%dT%H%M%SZ')}").resolve()
    prepare_out_dir(out_dir, cfg, opts, (cand, base))

    acquire(cand, cfg, opts, out_dir, data_dir)
    if base is not None:
        ab = not opts.aa and "paired" in (opts.checks or ("paired",))
        unproven = [r for r in kernel_path_results(cfg, cand, None, required=ab) if not r.passed]
        if cand.problems and cand.run is None:
            # Hours of baseline evaluation cannot rescue a candidate run that did not happen.
            base.problems.append(f"not run: the {cand.label} run failed")
        elif unproven and base.backend is not None:
            base.problems.append(f"not run: the {cand.label} run's kernel path is not proven")
        else:
            acquire(base, cfg, opts, out_dir, data_dir)

    results = decide(cfg, cand, base, opts.aa, opts.checks)
    failed = [r for r in results if not r.passed and not r.inconclusive]
    inconclusive = [r for r in results if r.inconclusive]
    passed = bool(results) and not failed and not inconclusive
    verdict = "PASS" if passed else ("INCONCLUSIVE" if not failed else "FAIL")
    reasons = [f"{r.name}: {reason}" for r in results for reason in r.reasons]
    discordant: dict[str, list[dict[str, Any]]] = {}
    if base is not None and cand.run is not None and base.run is not None:
        # "regression" = the reference run right, the other wrong: the candidate against the
        # baseline, or in A/A the second run against the first (as the aa check counts b).
        ref, other = (cand.run, base.run) if opts.aa else (base.run, cand.run)
        discordant = {f: checks.discordant_questions(other, ref, f) for f in cfg.task.filters}
    context: dict[str, Any] = {}
    if cand.run is not None:
        # What comparing two headline numbers could see, for contrast with the paired test.
        for f in cfg.task.filters:
            m = cand.run.metrics.get(f)
            if m is not None and m.value is not None and 0 < m.value < 1:
                context.setdefault("unpaired_mdd", {})[f] = unpaired_minimum_detectable_drop(
                    cfg.task.expected_n, m.value, cfg.gate.alpha, cfg.gate.power)
    report = {
        "schema": REPORT_SCHEMA, "mode": "aa" if opts.aa else "gate", "verdict": verdict,
        "reasons": reasons, "config": {
            "name": cfg.name, "description": cfg.description, "floors": cfg.gate.floors, "alpha": cfg.gate.alpha,
            "power": cfg.gate.power, "aa_discordance": cfg.gate.aa_discordance, "margin": cfg.gate.margin,
            "max_empty_rate": cfg.gate.max_empty_rate, "max_unfinished_rate": cfg.gate.max_unfinished_rate,
            "filters": list(cfg.task.filters),
            "metric": cfg.task.metric, "documented_baselines": list(cfg.documented_baselines)},
        "runs": {s.label: _run_summary(s, cfg) for s in (cand, base) if s is not None},
        "checks": [{"name": r.name, "passed": r.passed, "inconclusive": r.inconclusive, "reasons": r.reasons,
                    "notes": r.notes, "details": r.details} for r in results],
        "discordant": discordant, "context": context,
        "provenance": _provenance(cfg, data_dir, started, (cand, base)),
        "out_dir": str(out_dir),
    }
    json_path, md_path = write_report(report, out_dir)
    return GateOutcome(passed, report, json_path, md_path)
