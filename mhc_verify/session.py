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
from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis.errors import FlakyFailure
from hypothesis import seed as hypothesis_seed

from mhc_kernels.base import Backend
from mhc_verify.case_json import VERSION_FIELD, project_version
from mhc_verify.cases import Case
from mhc_verify.interrupt import reraise_if_stopping, stop_requested
from mhc_verify.runner import CaseResult, DeviceLost, device_lost, innermost_traceback, run_case
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
    torch_ratio_case: dict[str, str] = field(default_factory=dict)  # Case.short() of each output's largest ratio
    biased_cases: int = 0  # cases whose rounding-bias sign test had p < 1e-9 (diagnostic)
    max_tokens: int = 0  # the largest T judged
    max_elements: int = 0  # the largest T*n*H judged (2^31 = 2147483648 is the int32 limit)
    failure: dict | None = None  # the first of ``failures`` (wrong values before crashes)
    failures: list[dict] = field(default_factory=list)  # one per failure kind, each with its reproducer
    reproducer_file: str | None = None
    departures: str | None = None  # what the backend declares it computes differently (Backend.departures)
    engine_ratio_max: dict[str, float] = field(default_factory=dict)  # max err/bound vs the engines' op
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
            self.note_torch_ratio(k, v, result.case.short())
        for k, v in result.engine_ratio.items():
            self.engine_ratio_max[k] = max(self.engine_ratio_max.get(k, 0.0), v)

    def note_torch_ratio(self, output: str, ratio: float, case: str | None) -> None:
        """``ratio`` becomes the output's largest against torch fp32 if it is the first or a larger one, with the
        case that gave it. ``case`` None (a shard from before reports kept the case): the ratio is noted without
        one, and a case noted for a smaller ratio is dropped, not left beside a ratio it did not give."""
        if output not in self.torch_ratio_max or ratio > self.torch_ratio_max[output]:
            self.torch_ratio_max[output] = ratio
            if case is None:
                self.torch_ratio_case.pop(output, None)
            else:
                self.torch_ratio_case[output] = case


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
            "backend_spec": result.backend_spec or result.backend, "command": "",
            VERSION_FIELD: project_version()}
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


def _size_key(case: Case) -> tuple:
    """Smaller is a simpler reproducer: fewer elements, fewer tokens, then the shorter descriptor."""
    return (case.T * case.n * case.H, case.T, case.n_splits, len(case.to_json()))


_KIND_EXCEPTIONS: dict[str, type] = {}


def _kind_exception(kind: str) -> type:
    """One AssertionError subclass per failure kind: Hypothesis tells bugs apart by exception type
    and place, so each kind is searched for and shrunk on its own (report_multiple_bugs)."""
    if kind not in _KIND_EXCEPTIONS:
        _KIND_EXCEPTIONS[kind] = type("CaseFailed", (AssertionError,), {"kind": kind})
    return _KIND_EXCEPTIONS[kind]


def check_pair(backend: Backend, op: str, profile: Profile, max_examples: int | None = None,
               repro_dir: Path | None = None, progress: Callable[[CaseResult], None] | None = None,
               use_target: bool = True, diagnostics: bool = True, seed: int | None = None,
               stats: PairStats | None = None) -> PairStats:
    """Check one (backend, op). ``stats``, if given, is filled in place: a caller that is interrupted
    (Ctrl-C, SIGTERM) keeps the cases judged so far.

    Every distinct failure kind (``CaseResult.failure_kinds``: an error type, a non-finite
    mismatch or a bound failure per output) gets its own minimal reproducer: the anchors run first
    and none of their failures stops the search, then Hypothesis searches and shrinks each kind
    apart, so a crash at T = 0 cannot hide a wrong value at T = 5."""
    stats = stats if stats is not None else PairStats(backend.name, op)
    stats.departures = backend.departures(op)
    worst_by_kind: dict[str, CaseResult] = {}
    first_failure: list[CaseResult] = []

    def judge_one(case: Case) -> CaseResult:
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
        kinds = result.failure_kinds()
        lost = device_lost(backend) if result.status == "error" else None
        if lost:  # this case's kernel faulted: it gets its own kind, and nothing more can run
            kinds = (f"device lost: {result.failure_kinds()[0]}",)
            worst_by_kind[kinds[0]] = result
            _record_failures(stats, worst_by_kind)
            raise DeviceLost(f"{backend.name}/{op} {case.short()}: the CUDA context is lost ({lost})")
        for kind in kinds:
            known = worst_by_kind.get(kind)
            if known is None or _size_key(case) <= _size_key(known.case):
                worst_by_kind[kind] = result
        if kinds:
            first_failure[:1] = first_failure[:1] or [result]
            # Recorded at once (replaced by smaller cases later): a run interrupted while
            # Hypothesis shrinks still reports this pair as failing, with every kind seen so far.
            _record_failures(stats, worst_by_kind)
        return result

    try:
        return _search(backend, op, profile, max_examples, repro_dir, use_target, seed, stats, judge_one,
                       worst_by_kind, first_failure)
    except (DeviceLost, KeyboardInterrupt):
        # a faulting case, or a stop (timeout, Ctrl-C): every kind seen so far keeps its file
        if repro_dir is not None:
            _write_reproducers(stats, worst_by_kind, repro_dir, backend)
        raise


def _search(backend, op, profile, max_examples, repro_dir, use_target, seed, stats, judge_one, worst_by_kind,
            first_failure) -> PairStats:
    flaky_anchor: CaseResult | None = None
    for anchor in anchor_cases(op, backend, profile):
        result = judge_one(anchor)
        # A failing anchor runs once more, as Hypothesis re-runs a failing drawn case: a failure
        # that does not reproduce is flaky (a race, an uninitialised read), never a clean verdict.
        if result.failure_kinds() and flaky_anchor is None:
            try:
                reproduced = bool(run_case(backend, anchor, diagnostics=False).failure_kinds())
            except Exception:  # noqa: BLE001 - failing again, only differently: not flaky
                reproduced = True
            if not reproduced:
                flaky_anchor = result

    def body(case: Case) -> None:
        result = judge_one(case)
        kinds = result.failure_kinds()
        if kinds:
            raise _kind_exception(kinds[0])(result.summary())
        if use_target and result.status == "pass":
            target(min(result.max_ratio, 1e6), label="max err/bound")

    phases = [Phase.generate, Phase.target, Phase.shrink] if use_target else [Phase.generate, Phase.shrink]
    body = given(cases(op, backend, profile))(body)
    body = settings(max_examples=max_examples or profile.max_examples, deadline=None, database=None,
                    derandomize=seed is None, print_blob=False, suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=True, phases=phases)(body)
    if seed is not None:
        body = hypothesis_seed(seed)(body)
    flaky = None
    try:
        body()
    except FlakyFailure as e:
        # A failing case that passed when Hypothesis re-ran it: a kernel whose result or crash
        # depends on more than its inputs (a race, an uninitialised read, a launch that fails once).
        flaky = e
    except AssertionError:
        pass
    except BaseExceptionGroup as group:  # several kinds: each is recorded in worst_by_kind
        rest = group.subgroup(lambda e: not isinstance(e, (AssertionError, BaseExceptionGroup)))
        if rest is not None:
            raise rest
    if flaky is not None and not first_failure:
        raise flaky
    if flaky is not None or flaky_anchor is not None:
        how = f"Hypothesis re-ran the same case ({type(flaky).__name__})" if flaky else "the anchor ran again"
        first = first_failure[0] if flaky is not None else flaky_anchor
        stats.reason = f"FLAKY: failed once, then passed when {how}; first failure: {first.reason}"
    if worst_by_kind:
        _record_failures(stats, worst_by_kind, flaky=flaky is not None or flaky_anchor is not None)
        if repro_dir is not None:
            _write_reproducers(stats, worst_by_kind, repro_dir, backend)
    elif stats.cases == 0:
        stats.verdict = "ERROR"
        stats.reason = f"no applicable case ({stats.not_applicable} drawn cases were outside the backend's constraints)"
    return stats


def _write_reproducers(stats: PairStats, worst_by_kind: dict[str, CaseResult], repro_dir: Path,
                       backend: Backend) -> None:
    written: dict[int, str] = {}  # kinds shown by one case share its file
    for failure in stats.failures:
        result = worst_by_kind[failure["kind"]]
        if id(result) not in written:
            written[id(result)] = str(write_reproducer(repro_dir, result, backend))
        failure["reproducer_file"] = written[id(result)]
    if stats.failures:
        stats.reproducer_file = stats.failures[0]["reproducer_file"]


def _record_failures(stats: PairStats, worst_by_kind: dict[str, CaseResult], flaky: bool = False) -> None:
    """The pair's verdict from every failure kind seen: FAIL when any output was wrong, ERROR when
    the kernel only crashed; one entry (and one reproducer) per kind, wrong values first."""
    kinds = sorted(worst_by_kind, key=lambda k: (k.startswith("error"), k))
    stats.failures = []
    for kind in kinds:
        result = worst_by_kind[kind]
        output = kind.split(" ", 1)[-1]  # "bound post_mix_out" -> that output's own problem
        own = next((c.problem() for c in result.checks if c.name == output and not kind.startswith("error")), None)
        stats.failures.append({"kind": kind, "status": result.status, "case": json.loads(result.case.to_json()),
                               "summary": result.summary(), "reason": own or result.reason,
                               "reproducer": result.reproducer()})
    worst = worst_by_kind[kinds[0]]
    stats.verdict = "FAIL" if worst.status == "fail" else "ERROR"
    stats.failure = stats.failures[0]
    if not flaky:
        head = f"{len(kinds)} failure kinds: " if len(kinds) > 1 else ""
        stats.reason = head + "; ".join(f"[{k}] {worst_by_kind[k].case.short()}: "
                                        f"{worst_by_kind[k].reason.splitlines()[0][:300]}" for k in kinds)


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
