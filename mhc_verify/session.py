"""The main job: property-based checks of every (backend, op), with statistics for the report.

For each pair Hypothesis draws case descriptors, the runner judges each case, and
``target(max err/bound)`` steers the search toward the worst cases. The first failure is shrunk
to a minimal case, written as a reproducer file, and ends that pair (other pairs go on).
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from hypothesis import HealthCheck, Phase, example, given, settings, target
from hypothesis import seed as hypothesis_seed

from mhc_kernels.base import Backend
from mhc_verify.cases import Case
from mhc_verify.interrupt import reraise_if_stopping, stop_requested
from mhc_verify.runner import CaseResult, innermost_traceback, run_case
from mhc_verify.strategies import Profile, anchor_cases, cases


@dataclass
class PairStats:
    backend: str
    op: str
    verdict: str = "pass"  # pass | FAIL | ERROR | not implemented | unavailable
    reason: str = ""
    cases: int = 0
    not_applicable: int = 0
    ratios: list[float] = field(default_factory=list)  # per-case max err/bound
    per_output_max: dict[str, float] = field(default_factory=dict)
    correctly_rounded_min: dict[str, float] = field(default_factory=dict)
    correctly_rounded_sum: dict[str, float] = field(default_factory=dict)
    correctly_rounded_n: dict[str, int] = field(default_factory=dict)
    torch_ratio_max: dict[str, float] = field(default_factory=dict)
    biased_cases: int = 0  # cases whose rounding-bias sign test had p < 1e-9 (diagnostic)
    max_tokens: int = 0  # the largest T judged
    max_elements: int = 0  # the largest T*n*H judged (2^31 = 2147483648 is the int32 limit)
    failure: dict | None = None
    reproducer_file: str | None = None
    seconds: float = 0.0

    def tightness(self) -> dict[str, float]:
        if not self.ratios:
            return {}
        r = sorted(self.ratios)
        return {"p50": statistics.median(r), "p99": r[min(len(r) - 1, math.ceil(0.99 * len(r)) - 1)],
                "max": r[-1]}

    def add(self, result: CaseResult) -> None:
        if result.status == "not_applicable":
            self.not_applicable += 1
            return
        self.cases += 1
        self.seconds += result.seconds
        self.max_tokens = max(self.max_tokens, result.case.T)
        self.max_elements = max(self.max_elements, result.case.T * result.case.n * result.case.H)
        if result.status == "pass":
            self.ratios.append(result.max_ratio)
        self.biased_cases += any(c.biased for c in result.checks)
        for c in result.checks:
            self.per_output_max[c.name] = max(self.per_output_max.get(c.name, 0.0), c.max_ratio)
            if c.correctly_rounded is not None:
                prev = self.correctly_rounded_min.get(c.name, 1.0)
                self.correctly_rounded_min[c.name] = min(prev, c.correctly_rounded)
                self.correctly_rounded_sum[c.name] = self.correctly_rounded_sum.get(c.name, 0) + c.correctly_rounded
                self.correctly_rounded_n[c.name] = self.correctly_rounded_n.get(c.name, 0) + 1
        for k, v in result.torch_ratio.items():
            self.torch_ratio_max[k] = max(self.torch_ratio_max.get(k, 0.0), v)


def provenance() -> dict:
    import datetime

    prov = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform()}
    if torch.cuda.is_available():
        prov["gpu"] = torch.cuda.get_device_name()
        prov["cuda"] = torch.version.cuda or f"hip {torch.version.hip}"
        prov["driver"] = _driver_version()
    try:
        import hypothesis
        prov["hypothesis"] = hypothesis.__version__
    except ImportError:  # pragma: no cover
        pass
    return prov


def _driver_version() -> str:
    import shutil
    import subprocess

    for cmd in (["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], ["rocm-smi", "--showdriverversion"]):
        if shutil.which(cmd[0]):
            try:
                return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
            except (OSError, subprocess.SubprocessError, IndexError):
                pass
    return "unknown"


def write_reproducer(directory: Path, result: CaseResult, backend: Backend) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = {"case": json.loads(result.case.to_json()), "backend": result.backend, "status": result.status,
            "reason": result.reason, "backend_provenance": _safe_provenance(backend), "environment": provenance(),
            "backend_spec": result.backend_spec or result.backend, "command": ""}
    name = f"{result.backend}-{result.case.op}-T{result.case.T}-seed{result.case.seed}.json".replace("/", "_")
    path = directory / name
    data["command"] = f"mhc-verify replay {path}"
    path.write_text(json.dumps(data, indent=2))
    return path


def _safe_provenance(backend: Backend) -> dict:
    try:
        return backend.provenance()
    except Exception as e:  # noqa: BLE001
        return {"error": str(e)}


def check_pair(backend: Backend, op: str, profile: Profile, max_examples: int | None = None,
               repro_dir: Path | None = None, progress: Callable[[CaseResult], None] | None = None,
               use_target: bool = True, diagnostics: bool = True, seed: int | None = None,
               stats: PairStats | None = None) -> PairStats:
    """Check one (backend, op). ``stats``, if given, is filled in place: a caller that is interrupted
    (Ctrl-C, SIGTERM) keeps the cases judged so far."""
    stats = stats if stats is not None else PairStats(backend.name, op)
    last_failure: list[CaseResult] = []

    def body(case: Case) -> None:
        if stop_requested():  # a stop whose KeyboardInterrupt some library swallowed: stop here
            raise KeyboardInterrupt("stop requested")
        try:
            result = run_case(backend, case, diagnostics=diagnostics)
        except Exception as e:  # noqa: BLE001 - a harness error is an ERROR verdict, never a pass
            reraise_if_stopping(e)
            result = CaseResult(case, backend.name, "error",
                                f"harness error {type(e).__name__}: {e!r}\n{innermost_traceback(e)}")
        stats.add(result)
        if progress:
            progress(result)
        if result.status in ("pass", "not_applicable"):
            if use_target and result.status == "pass":
                target(min(result.max_ratio, 1e6), label="max err/bound")
            return
        last_failure[:] = [result]
        # Recorded at once (replaced by the shrunk case below): a run interrupted while Hypothesis
        # shrinks still reports this pair as failing.
        _record_failure(stats, result)
        raise AssertionError(result.summary())

    phases = [Phase.generate, Phase.target, Phase.shrink] if use_target else [Phase.generate, Phase.shrink]
    body = given(cases(op, backend, profile))(body)
    for anchor in reversed(anchor_cases(op, backend, profile)):
        body = example(anchor)(body)
    body = settings(max_examples=max_examples or profile.max_examples, deadline=None, database=None,
                    derandomize=seed is None, print_blob=False, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, *phases])(body)
    if seed is not None:
        body = hypothesis_seed(seed)(body)
    try:
        body()
    except AssertionError:
        pass
    except Exception as e:  # noqa: BLE001
        # Hypothesis raises FlakyFailure (an ExceptionGroup) when a failing case passes on its
        # re-execution: a kernel whose result or crash depends on more than its inputs (a race, an
        # uninitialised read, a launch that fails once). Never a pass, never a crash of the run.
        if not last_failure:
            raise
        stats.reason = (f"FLAKY: failed once, then passed when Hypothesis re-ran the same case "
                        f"({type(e).__name__}); first failure: {last_failure[-1].reason}")
        if repro_dir is not None:
            stats.reproducer_file = str(write_reproducer(repro_dir, last_failure[-1], backend))
        return stats
    if last_failure:
        worst = last_failure[-1]
        _record_failure(stats, worst)
        if repro_dir is not None:
            stats.reproducer_file = str(write_reproducer(repro_dir, worst, backend))
    elif stats.cases == 0:
        stats.verdict = "ERROR"
        stats.reason = f"no applicable case ({stats.not_applicable} drawn cases were outside the backend's constraints)"
    return stats


def _record_failure(stats: PairStats, result: CaseResult) -> None:
    stats.verdict = "FAIL" if result.status == "fail" else "ERROR"
    stats.reason = result.reason
    stats.failure = {"case": json.loads(result.case.to_json()), "summary": result.summary(),
                     "reproducer": result.reproducer()}


def stats_to_json(stats: PairStats) -> dict:
    d = asdict(stats)
    d["tightness"] = stats.tightness()
    # Per-case ratios (6 significant digits) stay in the JSON so that reports of shards (processes,
    # GPUs, machines) merge into exact quantiles: ``mhc-verify merge``.
    d["ratios"] = [float(f"{r:.6g}") for r in stats.ratios]
    d["correctly_rounded_mean"] = {k: stats.correctly_rounded_sum[k] / stats.correctly_rounded_n[k]
                                   for k in stats.correctly_rounded_n}
    d.pop("correctly_rounded_sum")
    return d


def stats_from_json(d: dict) -> PairStats:
    """The inverse of ``stats_to_json`` (ratios at the 6 digits kept there)."""
    fields = {k: v for k, v in d.items() if k in PairStats.__dataclass_fields__}
    stats = PairStats(**fields)
    stats.ratios = list(d.get("ratios", []))
    stats.correctly_rounded_n = dict(d.get("correctly_rounded_n", {}))
    stats.correctly_rounded_sum = {k: d["correctly_rounded_mean"][k] * n for k, n in stats.correctly_rounded_n.items()}
    return stats
