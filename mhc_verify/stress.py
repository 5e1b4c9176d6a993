"""Race stress: rerun each (backend, op, large case) R times on fixed inputs and look for moving errors.

Races between thread blocks in global memory are invisible to compute-sanitizer's racecheck and
to a single fixed-seed test; they show as outputs that change between identical calls, or that are
wrong only sometimes, only at large T. Per rerun:
* poison: on CUDA, a NaN-filled block of the outputs' size is allocated and freed before the call,
  so the caching allocator hands the kernel NaN memory and an unwritten element stays NaN (on the
  CPU the allocator cannot be steered: there, unwritten elements are caught only when garbage
  breaks the bound);
* bitwise comparison with the first rerun that passed the bound check, for backends that declare
  themselves deterministic;
* the float64 bound check (runner.judge) on rerun 0 and every ``--judge-every``-th rerun after it;
* perturbation (CUDA): odd reruns run with a co-running kernel on a second stream; optionally
  (``--cuda-graph``) every third rerun is a CUDA graph replay, (``--vary-config``) reruns
  alternate between the backend's stress variants, (``--vary-sms``) reruns run on a fraction of
  the SMs (green contexts).
Every failure is localised (tokens, streams, hidden ranges, 64-token blocks), counted into a
per-block heatmap, and the failure rate gets an exact one-sided Clopper-Pearson upper bound.
Completed cases are appended to ``results.jsonl``; a rerun of the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from mhc_kernels.base import Backend
from mhc_reference.contract import get_op
from mhc_verify.cases import Case, build_inputs
from mhc_verify.interrupt import reraise_if_stopping, stop_requested
from mhc_verify.judge_cache import CachedJudge, bits_equal
from mhc_verify.plot_file import save_palette_png
from mhc_verify.sm_partitions import SmPartitions
from mhc_verify.stress_times import StressTimes

BLOCK_TOKENS = 64
# --n-splits' default: per op and T the split count an engine passes (mhc_verify.bench.op_splits, what
# the benchmark runs), on the backend's GPU's SM count, or ENGINE_SMS for a backend without one. At
# the default token counts (13 313 and up) that is 1 for every op; at decode counts 16, where a
# backend's kernel choice may depend on it (tilelang's prenorm_gemm op cuts each split into chunks).
ENGINE_SPLITS = "engine"
ENGINE_SMS = 132  # an H100's / H200's
BOUND_ROW = "bound"  # heatmap key of rows over the fp64 bound (bitwise differences are keyed by stream)
# fp64 judging may take at most this many times the kernel's time (CLI and the pytest stress job)
DEFAULT_JUDGE_BUDGET = 5.0
DEFAULT_TOKENS = (65_536, 131_072, 80_000, 13_313, 19_997)


def clopper_pearson_upper(failures: int, trials: int, confidence: float = 0.95) -> float:
    """Exact one-sided upper confidence bound of a binomial failure rate."""
    if trials == 0:
        return 1.0
    if failures >= trials:
        return 1.0
    alpha = 1 - confidence
    if failures == 0:
        return 1 - alpha ** (1 / trials)

    def cdf(p: float) -> float:  # P(X <= failures) for X ~ Binomial(trials, p)
        total = 0.0
        for i in range(failures + 1):
            log_term = (math.lgamma(trials + 1) - math.lgamma(i + 1) - math.lgamma(trials - i + 1)
                        + i * math.log(p) + (trials - i) * math.log1p(-p))
            total += math.exp(log_term)
        return total

    lo, hi = failures / trials, 1.0
    for _ in range(100):  # the p where P(X <= failures) = alpha
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > alpha else (lo, mid)
    return hi


@dataclass
class RerunFailure:
    rerun: int
    kind: str  # "bound" | "bitwise" | "error"
    detail: str
    tokens: list[int] = field(default_factory=list)
    streams: list[int] = field(default_factory=list)
    hidden_ranges: list[tuple[int, int]] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)
    variant: str = ""  # the backend configuration of this rerun (--vary-config), "" for the backend itself


@dataclass
class StressResult:
    backend: str
    case: dict
    reruns: int
    judged: int
    failures: list[RerunFailure]
    seconds: float
    kernel_seconds: float
    heatmap: dict[str, int]  # "block,stream" (bitwise) or "block,bound" (over the bound) -> bad rows
    interrupted: bool = False  # stopped (SIGTERM, Ctrl-C) after ``reruns`` reruns; a resume redoes it
    judge_seconds: float = 0.0  # time in the float64 bound checks (reference, bounds, comparison)
    variants: list[str] = field(default_factory=list)  # configurations alternated (--vary-config, --vary-sms)
    seconds_per_rerun: dict[str, float] = field(default_factory=dict)  # median call time per configuration
    times: StressTimes = field(default_factory=StressTimes)  # where the case's wall time went

    @property
    def failed_reruns(self) -> int:
        return len({f.rerun for f in self.failures})

    def summary(self) -> str:
        ub = clopper_pearson_upper(self.failed_reruns, self.reruns)
        head = (f"{self.backend} {Case.from_json(self.case).short()}: {self.failed_reruns}/{self.reruns} reruns "
                f"failed -> p_fail <= {ub:.2g} at 95 %")
        if self.interrupted:
            head += " (INTERRUPTED: partial)"
        if self.kernel_seconds > 0:
            head += (f"; {self.judged} judged in fp64 ({self.judge_seconds:.1f} s = "
                     f"{self.judge_seconds / self.kernel_seconds:.1f}x the kernel's {self.kernel_seconds:.2f} s)")
        if self.times.total:
            head += f"; {self.times.describe(self.seconds)}"
        if len(self.seconds_per_rerun) > 1:
            head += "; ms per call: " + ", ".join(f"{k} {v * 1e3:.3g}" for k, v in self.seconds_per_rerun.items())
        if self.failures:
            f = self.failures[0]
            head += (f"; first at rerun {f.rerun} ({f.kind}{', ' + f.variant if f.variant else ''}): "
                     f"tokens {f.tokens[:8]}, streams {f.streams}, blocks {f.blocks[:8]}")
        return head


def _localise(bad: torch.Tensor, spec_dims: tuple[str, ...]) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Token rows, streams and hidden ranges of a boolean mask laid out as the output's dims."""
    dims = list(spec_dims)
    t_dim = dims.index("T")
    tokens = bad.movedim(t_dim, 0).reshape(bad.shape[t_dim], -1).any(-1).nonzero().flatten().tolist()
    streams: list[int] = []
    if "n" in dims and dims.count("n") >= 1:
        s_dim = dims.index("n")
        streams = bad.movedim(s_dim, 0).reshape(bad.shape[s_dim], -1).any(-1).nonzero().flatten().tolist()
    ranges: list[tuple[int, int]] = []
    if "H" in dims:
        h_dim = dims.index("H")
        cols = bad.movedim(h_dim, 0).reshape(bad.shape[h_dim], -1).any(-1).nonzero().flatten().tolist()
        for c in cols:
            if ranges and ranges[-1][1] == c:
                ranges[-1] = (ranges[-1][0], c + 1)
            else:
                ranges.append((c, c + 1))
    return tokens, streams, ranges[:16]


def _poison_allocator(outputs_bytes: int, device: torch.device) -> None:
    if device.type != "cuda" or outputs_bytes == 0:
        return
    block = torch.empty(outputs_bytes // 4 + 1024, dtype=torch.float32, device=device)
    block.fill_(float("nan"))
    del block  # back to the caching allocator, NaN-filled: the next torch.empty reuses it


class _GraphReplay:
    """The backend's call captured once in a CUDA graph; each replay first fills the graph's own
    output buffers with NaN, so an element the replay does not write is seen."""

    def __init__(self, backend: Backend, op: str, inputs: dict, params: dict) -> None:
        warm = torch.cuda.Stream()
        warm.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(warm):  # compile and allocate outside the capture
            backend.run(op, inputs, params)
        torch.cuda.current_stream().wait_stream(warm)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = backend.run(op, inputs, params)

    def __call__(self) -> dict[str, torch.Tensor]:
        for value in self.outputs.values():
            value.fill_(float("nan"))
        self.graph.replay()
        return {k: v.clone() for k, v in self.outputs.items()}


@dataclass
class _Config:
    """One configuration the reruns alternate between: a backend, optionally on fewer SMs, and the
    name of the configuration whose bitwise baseline it must reproduce."""
    backend: Backend
    baseline: str
    sms: str = ""


class _StressRun:
    """The reruns of one case; ``done``, ``judged``, the timers and ``failures`` are updated as it
    goes, so an interrupted run leaves an exact partial record."""

    def __init__(self, configs: dict[str, _Config], case: Case, judge_every: int, judge_budget: float,
                 cuda_graph: bool, partitions: SmPartitions | None, progress=None) -> None:
        self.configs, self.case, self.judge_every, self.judge_budget = configs, case, judge_every, judge_budget
        self.cuda_graph, self.partitions, self.progress = cuda_graph, partitions, progress
        self.times = StressTimes()
        t0 = time.perf_counter()
        base = configs[""].backend
        self.device = torch.device("cuda" if base.device_type == "cuda" else "cpu")
        self.spec = get_op(case.op)
        self.params = case.param_dict()
        self.inputs = build_inputs(case, self.device)
        # one judge per backend object (configurations on fewer SMs share the backend's): each keeps
        # the float64 reference and bounds of these inputs for all its judgements
        self._judges: dict[int, CachedJudge] = {
            id(c.backend): CachedJudge(c.backend, case, self.inputs, self.params) for c in configs.values()}
        self._first_calls: set[tuple[str, bool]] = set()  # (configuration, graph replay) called once
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.times.setup = time.perf_counter() - t0
        self.deterministic = base.precision_for(case.op).deterministic
        self.side = torch.cuda.Stream() if self.device.type == "cuda" else None
        self.failures: list[RerunFailure] = []
        self.heat: dict[str, int] = {}
        self.done = self.judged = 0
        self.kernel_seconds = self.judge_seconds = 0.0
        self.kernel_by_config: dict[str, list[float]] = {name: [] for name in configs}
        self._baselines: dict[str, dict[str, torch.Tensor]] = {}
        self._replays: dict[str, _GraphReplay] = {}
        self._out_bytes = 0

    def run(self, reruns: int) -> None:
        names = list(self.configs)
        for r in range(reruns):
            self.done = r  # reruns finished before this one
            if stop_requested():  # a stop whose KeyboardInterrupt some library swallowed
                raise KeyboardInterrupt("stop requested")
            if self.progress:
                self.progress()
            # six reruns per configuration: each meets both side-stream and graph-replay reruns
            self._rerun(r, names[(r // 6) % len(names)])
        self.done = reruns

    def _graph_rerun(self, r: int, name: str) -> bool:
        return self.cuda_graph and self.device.type == "cuda" and r % 3 == 2 and not self.configs[name].sms

    def _call(self, r: int, name: str) -> dict[str, torch.Tensor]:
        config = self.configs[name]
        if self._graph_rerun(r, name):
            if name not in self._replays:
                self._replays[name] = _GraphReplay(config.backend, self.case.op, self.inputs, self.params)
            return self._replays[name]()
        call = lambda: config.backend.run(self.case.op, self.inputs, self.params)  # noqa: E731
        return self.partitions.run(config.sms, call) if config.sms else call()

    def _rerun(self, r: int, name: str) -> None:
        config = self.configs[name]
        first = self._baselines.get(config.baseline)
        _poison_allocator(self._out_bytes, self.device)
        if self.side is not None and r % 2:
            with torch.cuda.stream(self.side):  # perturb timing: a co-running kernel
                noise = torch.empty(1 << 24, device=self.device).uniform_()
                noise.mul_(2).add_(1)
        t0 = time.perf_counter()
        try:
            outputs = self._call(r, name)
        except Exception as e:  # noqa: BLE001 - a crash on a rerun is a failure of that rerun
            reraise_if_stopping(e)
            self.failures.append(RerunFailure(r, "error", f"{type(e).__name__}: {e!r}", variant=name))
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t0
        self.kernel_seconds += elapsed
        self.kernel_by_config[name].append(elapsed)
        first_call = (name, self._graph_rerun(r, name))
        if first_call not in self._first_calls:  # compiles (and a graph's capture) happen here
            self._first_calls.add(first_call)
            self.times.first_calls += elapsed
        else:
            self.times.calls += elapsed
        self._out_bytes = sum(v.numel() * v.element_size() for v in outputs.values())
        judge_ = self._judges[id(config.backend)]
        # The next judgement is expected to cost what the earlier ones did on average: judge only if
        # the total stays within the budget after it (not only before it). The reference and bounds
        # a judge keeps for every judgement are paid once, like a compile: outside the budget.
        once = sum(j.times.cached_seconds for j in self._judges.values())
        per_judgement = self.judge_seconds - once
        next_cost = per_judgement / self.judged if self.judged else 0.0
        within_budget = per_judgement + next_cost <= self.judge_budget * self.kernel_seconds
        # Judge rerun 0, every judge_every-th, and every rerun until one passes: the bitwise
        # baseline must itself be right, or every healthy rerun after a bad first one would differ.
        if first is None or (r % self.judge_every == 0 and within_budget):
            self.judged += 1
            t1 = time.perf_counter()
            result = judge_(outputs)
            self.judge_seconds += time.perf_counter() - t1
            if result.status != "pass":
                # every failing row (not only the first 64 per output): the heatmap shows where all are
                rows = sorted({row for c in result.checks for a, b in c.bad_row_runs for row in range(a, b)})
                self.failures.append(RerunFailure(r, "bound", result.reason[:500], tokens=rows[:64],
                                                  blocks=sorted({row // BLOCK_TOKENS for row in rows})[:64],
                                                  variant=name))
                self._add_heat(rows, BOUND_ROW)  # the bound check locates rows, not streams
            elif first is None:
                self._baselines[config.baseline] = {k: v.clone() for k, v in outputs.items()}
                return
        if first is not None and self.deterministic:
            t2 = time.perf_counter()
            self._compare_bitwise(r, name, outputs, first)
            self.times.bitwise += time.perf_counter() - t2

    def _compare_bitwise(self, r: int, name: str, outputs: dict, first: dict) -> None:
        for out_name, value in outputs.items():
            if bits_equal(value, first[out_name]):  # one pass on the device, one sync: the usual case
                continue
            # NaN against NaN (any payload) and -0 against +0 count as equal: only then look closer
            same = (value == first[out_name]) | (torch.isnan(value) & torch.isnan(first[out_name]))
            if bool(same.all()):
                continue
            bad = ~same
            tokens, streams, ranges = _localise(bad.cpu(), self.spec.output(out_name).dims)
            blocks = sorted({t // BLOCK_TOKENS for t in tokens})
            self.failures.append(RerunFailure(r, "bitwise", f"{out_name}: {int(bad.sum())} elements differ from the "
                                              f"baseline", tokens[:64], streams, ranges, blocks[:64], variant=name))
            self._add_heat(tokens, streams[0] if streams else 0)

    def _add_heat(self, tokens: list[int], row) -> None:
        """One count per bad token into the heatmap cell (its token block, ``row``)."""
        for t in tokens:
            key = f"{t // BLOCK_TOKENS},{row}"
            self.heat[key] = self.heat.get(key, 0) + 1


def stress_case(backend: Backend, case: Case, reruns: int, judge_every: int = 50,
                progress=None, cuda_graph: bool = False, judge_budget: float = float("inf"),
                vary_config: bool = False, partitions: SmPartitions | None = None) -> StressResult:
    """R reruns of one case. Perturbations between reruns: NaN-poisoned allocator, a co-running
    kernel on a second stream (odd reruns), and with ``cuda_graph`` every third rerun replays the
    call captured in a CUDA graph (as engines run decode steps) instead of launching it eagerly.

    Judging (the float64 bound check): rerun 0 and every rerun until one passes (the bitwise
    baseline must be right), then every ``judge_every``-th rerun while the time spent judging is at
    most ``judge_budget`` times the time spent in the kernel, so the reference never dominates a
    long run (at 80 000 x 7168 one judgement costs seconds, a rerun milliseconds).

    The reruns alternate, six at a time, between configurations: the backend itself; with
    ``vary_config`` the configurations its ``stress_variants(op)`` offers (other grids and CTA
    timings), each judged until it has a passing baseline of its own and then compared bitwise with
    it; with ``partitions`` (SmPartitions) the backend itself on fewer SMs, compared bitwise with the
    backend's own baseline (a deterministic kernel gives the same bits on any number of SMs)."""
    configs = {"": _Config(backend, "")}
    if vary_config:
        sizes = {"T": case.T, "n": case.n, "H": case.H}
        variants = backend.stress_variants(case.op).items()
        configs.update({name: _Config(b, name) for name, b in variants
                        if not b.supports(case.op, sizes, {}, case.param_dict())})
    if partitions is not None:
        configs.update({name: _Config(backend, "", sms=name) for name in partitions.streams})
    start = time.perf_counter()
    run = _StressRun(configs, case, judge_every, judge_budget, cuda_graph, partitions, progress)
    interrupted = False
    try:
        run.run(reruns)
    except KeyboardInterrupt:  # SIGTERM (timeout) or Ctrl-C: keep what the finished reruns showed
        interrupted = True
        run.done = max(run.done, max((f.rerun + 1 for f in run.failures), default=0))
    # the median: a configuration's first call also compiles its kernels (seconds, not milliseconds)
    per_config = {name or backend.name: round(statistics.median(times), 6)
                  for name, times in run.kernel_by_config.items() if times}
    run.times.add_judges([j.times for j in run._judges.values()], cached=any(j.cached for j in run._judges.values()))
    return StressResult(backend.name, json.loads(case.to_json()), run.done, run.judged, run.failures,
                        time.perf_counter() - start, run.kernel_seconds, run.heat, interrupted=interrupted,
                        judge_seconds=run.judge_seconds, variants=[n or backend.name for n in configs],
                        seconds_per_rerun=per_config, times=run.times)


def heatmap_grid(result: StressResult) -> tuple[list[str], torch.Tensor]:
    """The heatmap's row labels and [rows, token blocks] counts of bad rows over all reruns: one row
    per stream (bitwise differences) and one for bound failures; the columns span the case's whole
    token range, so that where the bad rows are not shows too."""
    keys = [(int(b), s) for b, s in (k.split(",") for k in result.heatmap)]
    streams = sorted({int(s) for _, s in keys if s != BOUND_ROW})
    labels = [f"stream {s}" for s in range(max(streams) + 1)] if streams else []
    if any(s == BOUND_ROW for _, s in keys):
        labels.append("over the bound (any stream)")
    tokens = Case.from_json(result.case).T
    blocks = max(max((b for b, _ in keys), default=-1) + 1, -(-tokens // BLOCK_TOKENS))
    grid = torch.zeros(len(labels), blocks)
    for (b, s), v in zip(keys, result.heatmap.values()):
        grid[len(labels) - 1 if s == BOUND_ROW else int(s), b] = v
    return labels, grid


def plot_heatmap(result: StressResult, path: Path) -> Path | None:
    if not result.heatmap:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("heatmap skipped: matplotlib is not installed (pip install matplotlib)", file=sys.stderr)
        return None
    labels, grid = heatmap_grid(result)
    fig, ax = plt.subplots(figsize=(10, 1.8 + 0.4 * len(labels)))
    im = ax.imshow(grid.numpy(), aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_xlabel(f"token block ({BLOCK_TOKENS} tokens)")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title(f"{result.backend} {Case.from_json(result.case).short()}\nbad rows per token block", fontsize=10)
    fig.colorbar(im, ax=ax, label="bad rows,\nall reruns")
    fig.tight_layout()
    save_palette_png(fig, path, dpi=100)
    plt.close(fig)
    return path


def _key(backend: str, case: Case) -> str:
    return f"{backend}|{case.to_json()}"


def _done_cases(log: Path) -> set[str]:
    """The cases an earlier run of the same command completed (``results.jsonl``): a rerun resumes."""
    from mhc_verify.case_json import CaseJsonError, case_from_json
    from mhc_verify.front_door import UsageError, parse_json

    done: set[str] = set()
    if not log.exists():
        return done
    try:
        lines = log.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--out: cannot read {log} to resume from it: {e}") from e
    for number, line in enumerate(lines, 1):
        rec = parse_json(line, f"{log}:{number}")
        try:
            if not isinstance(rec, dict) or not isinstance(rec.get("backend"), str):
                raise CaseJsonError("expected an object with a 'backend' string")
            if not rec.get("interrupted"):  # an interrupted case is run again, whole
                done.add(_key(rec["backend"], case_from_json(rec.get("case"), "case")))
        except CaseJsonError as e:
            raise UsageError(f"{log}:{number}: not a stress record: {e}; move the file away to start afresh") from e
    return done


def n_splits_arg(text: str) -> list[int] | str:
    """--n-splits: comma-separated split counts, or "engine" (ENGINE_SPLITS)."""
    from mhc_verify.front_door import positive_int_list

    return ENGINE_SPLITS if text.strip() == ENGINE_SPLITS else positive_int_list(text)


def splits_for(choice: list[int] | str, op: str, tokens: int, hidden: int, backend: Backend) -> list[int]:
    """The split counts a stress case of ``op`` at ``tokens`` runs: the given ones, or an engine's
    (bench.op_splits); where the backend takes only some counts (vLLM's TileLang prenorm GEMM: 1), the
    largest of them up to that, else its smallest: what the engine that ships the kernel passes it."""
    if choice != ENGINE_SPLITS:
        return list(choice)
    from mhc_verify.bench import op_splits

    sms = ENGINE_SMS
    if backend.device_type == "cuda" and torch.cuda.is_available():
        sms = torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count
    splits = op_splits(op, tokens, hidden, sms)
    allowed = backend.constraints_for(op).n_splits
    if allowed and splits not in allowed:
        splits = max((s for s in allowed if s <= splits), default=min(allowed))
    return [splits]


def cmd_stress(args: argparse.Namespace) -> int:
    from mhc_verify.case_json import check_case, check_fits
    from mhc_verify.front_door import explicit_backends
    from mhc_verify.registry import discover_named
    from mhc_verify.stress_times import Stopwatch

    watch = Stopwatch()
    infos = discover_named(args.backend + (args.require_backend or []))
    chosen = explicit_backends(args.backend, infos)
    for name, info in explicit_backends(args.require_backend or [], infos, "--require-backend").items():
        chosen.setdefault(name, info)
    out = args.out
    log = out / "results.jsonl"
    done = _done_cases(log)
    if done:
        print(f"resuming: {len(done)} cases already done in {log}", file=sys.stderr)
    plan = []
    for name, info in chosen.items():
        if not info.available:
            print(f"{'FAIL' if name in (args.require_backend or []) else 'skipped'}: {name} unavailable: "
                  f"{info.reason}", file=sys.stderr)
            if name in (args.require_backend or []):
                return 1
            continue
        for op in args.op or ["mhc_pre", "prenorm_gemm", "hc_post", "fused_post_pre"]:
            if op not in info.implements:
                print(f"{name}/{op}: not implemented", file=sys.stderr)
                continue
            for t in args.tokens:
                for splits in splits_for(args.n_splits, op, t, args.hidden, info.backend):
                    case = Case(op, t, 4, args.hidden, family="normal", seed=args.seed + t, n_splits=splits)
                    where = f"--tokens {t} --hidden {args.hidden} --n-splits {splits} ({op})"
                    check_case(case, where)
                    unsupported = info.backend.supports(op, {"T": t, "n": 4, "H": args.hidden}, {},
                                                        case.param_dict())
                    if unsupported:
                        print(f"{name}/{op} T={t} S={splits}: outside the backend's constraints: {unsupported}",
                              file=sys.stderr)
                        continue
                    if _key(name, case) in done:
                        continue
                    check_fits(case, info.backend.device_type, where)
                    plan.append((info.backend, case))
    out.mkdir(parents=True, exist_ok=True)
    partitions = None
    if args.vary_sms and plan:
        try:
            partitions = SmPartitions(torch.device("cuda"))
        except Exception as e:  # noqa: BLE001 - asked for and unavailable: say so, never run without it
            print(f"error: --vary-sms: green contexts unavailable: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        print(f"--vary-sms: reruns alternate over all {partitions.total} SMs and {', '.join(partitions.streams)}; "
              f"probe {partitions.describe()}", file=sys.stderr)
    watch.lap("backends and plan")
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(plan) * args.reruns, unit="run", file=sys.stderr, dynamic_ncols=True)
    failed = 0
    lines = []
    # `timeout` sends SIGTERM: the case in progress is recorded as partial (its reruns so far, its
    # failures located), the report is written, and a later run of the same command resumes.
    from mhc_verify.interrupt import install_stop_handlers

    stopped = False
    restore_handlers = install_stop_handlers()
    try:
        for backend, case in plan:
            if bar:
                bar.set_description(f"{backend.name} {case.op} T={case.T}")
            try:
                result = stress_case(backend, case, args.reruns, args.judge_every,
                                     (lambda: bar.update(1)) if bar else None, cuda_graph=args.cuda_graph,
                                     judge_budget=args.judge_budget, vary_config=args.vary_config,
                                     partitions=partitions)
            except KeyboardInterrupt:  # while building the inputs: nothing of this case to keep
                stopped = True
                break
            watch.lap("cases")
            failed += bool(result.failures)
            rec = asdict(result)
            rec["failed_reruns"] = result.failed_reruns
            rec["p_fail_upper_95"] = clopper_pearson_upper(result.failed_reruns, result.reruns)
            rec["failures"] = rec["failures"][:20]
            with log.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            png = plot_heatmap(result, out / f"heatmap-{backend.name}-{case.op}-T{case.T}.png")
            lines.append(result.summary() + (f" [heatmap {png.name}]" if png else ""))
            print(lines[-1], file=sys.stderr)
            watch.lap("records and heatmaps")
            if result.interrupted:
                stopped = True
                break
    finally:
        restore_handlers()
    if bar:
        bar.close()
    head = "# mhc-verify stress\n\n"
    if partitions is not None:
        head += f"--vary-sms: {', '.join(partitions.streams)} of {partitions.total} SMs; probe {partitions.describe()}\n\n"
    if stopped:
        head += (f"**INTERRUPTED** after {len(lines)} of {len(plan)} cases (the last one partial); "
                 "run the same command again to resume.\n\n")
    watch.lap("records and heatmaps")
    (out / "report.md").write_text(head + "\n".join(f"- {line}" for line in lines) + f"\n\n{watch.describe()}\n")
    print(f"stress: {len(plan)} cases, {failed} with failures{', INTERRUPTED' if stopped else ''}; "
          f"report {out / 'report.md'}, log {log}; {watch.describe()}")
    return 1 if failed or stopped else 0


def add_parser(subparsers) -> None:
    from mhc_reference.contract import OPS
    from mhc_verify.front_door import output_dir, positive_float, positive_int, positive_int_list, seed_int

    p = subparsers.add_parser("stress", help="race stress: R reruns per large case, bitwise + bound checks")
    p.add_argument("--backend", action="append", required=True, help="backend name or module:attr (repeatable)")
    p.add_argument("--require-backend", action="append")
    p.add_argument("--op", action="append", choices=list(OPS),
                   help="ops (default: mhc_pre, prenorm_gemm, hc_post, fused_post_pre)")
    p.add_argument("--tokens", type=positive_int_list, default=list(DEFAULT_TOKENS))
    p.add_argument("--hidden", type=positive_int, default=7168)
    p.add_argument("--n-splits", type=n_splits_arg, default=ENGINE_SPLITS,
                   help="split counts for the ops that take split-K partials, comma-separated, or 'engine' "
                        "(the default): per op and T what an engine passes, as the benchmark does (16 up to "
                        "~1024 tokens, 1 at tens of thousands); a backend's kernel choice may depend on it")
    p.add_argument("--reruns", type=positive_int, default=1000)
    p.add_argument("--judge-every", type=positive_int, default=50, help="fp64 bound check on every N-th rerun")
    p.add_argument("--judge-budget", type=positive_float, default=DEFAULT_JUDGE_BUDGET,
                   help="judge only while fp64 checking has taken <= this many times the kernel's time "
                        "(default 5; 'inf': every --judge-every-th rerun whatever it costs)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--out", type=output_dir, default="mhc-verify-stress",
                   help="report directory; a rerun into the same one resumes (results.jsonl)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--vary-config", action="store_true",
                   help="alternate the backend's stress_variants (split/block/chunk knobs) between reruns")
    p.add_argument("--vary-sms", action="store_true",
                   help="alternate reruns on 1/2, 1/4 and 1/8 of the GPU's SMs (CUDA green contexts), each "
                        "compared bitwise with the full-GPU baseline")
    p.add_argument("--cuda-graph", action="store_true",
                   help="every third rerun replays the call captured in a CUDA graph (GPU backends)")
    p.set_defaults(func=cmd_stress)
