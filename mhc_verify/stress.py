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
* perturbation (CUDA): odd reruns run with a co-running kernel on a second stream.
Every failure is localised (tokens, streams, hidden ranges, 64-token blocks), counted into a
per-block heatmap, and the failure rate gets an exact one-sided Clopper-Pearson upper bound.
Completed cases are appended to ``results.jsonl``; a rerun of the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from mhc_kernels.base import Backend
from mhc_reference.contract import get_op
from mhc_verify.cases import Case, build_inputs
from mhc_verify.interrupt import reraise_if_stopping, stop_requested
from mhc_verify.runner import judge

BLOCK_TOKENS = 64
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
    heatmap: dict[str, int]  # "block,stream" -> bad elements
    interrupted: bool = False  # stopped (SIGTERM, Ctrl-C) after ``reruns`` reruns; a resume redoes it
    judge_seconds: float = 0.0  # time in the float64 bound checks (reference, bounds, comparison)
    variants: list[str] = field(default_factory=list)  # configurations alternated (--vary-config)

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


def stress_case(backend: Backend, case: Case, reruns: int, judge_every: int = 50,
                progress=None, cuda_graph: bool = False, judge_budget: float = float("inf"),
                vary_config: bool = False) -> StressResult:
    """R reruns of one case. Perturbations between reruns: NaN-poisoned allocator, a co-running
    kernel on a second stream (odd reruns), and with ``cuda_graph`` every third rerun replays the
    call captured in a CUDA graph (as engines run decode steps) instead of launching it eagerly.

    Judging (the float64 bound check): rerun 0 and every rerun until one passes (the bitwise
    baseline must be right), then every ``judge_every``-th rerun while the time spent judging is at
    most ``judge_budget`` times the time spent in the kernel, so the reference never dominates a
    long run (at 80 000 x 7168 one judgement costs seconds, a rerun milliseconds).

    With ``vary_config`` the reruns alternate, six at a time, between the backend and the
    configurations its ``stress_variants(op)`` offers (other grids and CTA timings), each judged
    until it has a passing baseline and then compared bitwise with its own baseline."""
    device = torch.device("cuda" if backend.device_type == "cuda" else "cpu")
    spec = get_op(case.op)
    params = case.param_dict()
    inputs = build_inputs(case, device)
    deterministic = backend.precision_for(case.op).deterministic
    side = torch.cuda.Stream() if device.type == "cuda" else None
    failures: list[RerunFailure] = []
    heat: dict[str, int] = {}
    counters = {"done": 0, "judged": 0, "kernel": 0.0, "judge": 0.0}
    configs = {"": backend}
    if vary_config:
        sizes = {"T": case.T, "n": case.n, "H": case.H}
        configs.update({name: b for name, b in backend.stress_variants(case.op).items()
                        if not b.supports(case.op, sizes, inputs, params)})
    start = time.perf_counter()
    interrupted = False
    try:
        _rerun_loop(configs, case, reruns, judge_every, judge_budget, progress, cuda_graph, device, spec, params,
                    inputs, deterministic, side, failures, heat, counters)
    except KeyboardInterrupt:  # SIGTERM (timeout) or Ctrl-C: keep what the finished reruns showed
        interrupted = True
        counters["done"] = max(counters["done"], max((f.rerun + 1 for f in failures), default=0))
    return StressResult(backend.name, json.loads(case.to_json()), counters["done"], counters["judged"], failures,
                        time.perf_counter() - start, counters["kernel"], heat, interrupted=interrupted,
                        judge_seconds=counters["judge"], variants=[n or backend.name for n in configs])


def _rerun_loop(configs, case, reruns, judge_every, judge_budget, progress, cuda_graph, device, spec, params,
                inputs, deterministic, side, failures, heat, counters) -> None:
    """The reruns of ``stress_case``; ``counters`` (done, judged, kernel seconds) and ``failures``
    are updated as it goes, so an interrupted loop leaves an exact partial record."""
    names = list(configs)
    baselines: dict[str, dict[str, torch.Tensor]] = {}
    replays: dict[str, _GraphReplay] = {}
    out_bytes = 0
    counters["done"] = 0
    for r in range(reruns):
        # six reruns per configuration: each meets both side-stream and graph-replay reruns
        variant = names[(r // 6) % len(names)]
        backend = configs[variant]
        first = baselines.get(variant)
        counters["done"] = r  # reruns finished before this one
        if stop_requested():  # a stop whose KeyboardInterrupt some library swallowed
            raise KeyboardInterrupt("stop requested")
        if progress:
            progress()
        _poison_allocator(out_bytes, device)
        if side is not None and r % 2:
            with torch.cuda.stream(side):  # perturb timing: a co-running kernel
                noise = torch.empty(1 << 24, device=device).uniform_()
                noise.mul_(2).add_(1)
        t0 = time.perf_counter()
        try:
            if cuda_graph and device.type == "cuda" and r % 3 == 2:
                if variant not in replays:
                    replays[variant] = _GraphReplay(backend, case.op, inputs, params)
                outputs = replays[variant]()
            else:
                outputs = backend.run(case.op, inputs, params)
        except Exception as e:  # noqa: BLE001 - a crash on a rerun is a failure of that rerun
            reraise_if_stopping(e)
            failures.append(RerunFailure(r, "error", f"{type(e).__name__}: {e!r}", variant=variant))
            continue
        if device.type == "cuda":
            torch.cuda.synchronize()
        counters["kernel"] += time.perf_counter() - t0
        out_bytes = sum(v.numel() * v.element_size() for v in outputs.values())
        # Judge rerun 0, every judge_every-th, and every rerun until one passes: the bitwise
        # baseline must itself be right, or every healthy rerun after a bad first one would differ.
        within_budget = counters["judge"] <= judge_budget * counters["kernel"]
        if first is None or (r % judge_every == 0 and within_budget):
            counters["judged"] += 1
            t1 = time.perf_counter()
            result = judge(backend, case, inputs, params, outputs)
            counters["judge"] += time.perf_counter() - t1
            if result.status != "pass":
                rows = sorted({row for c in result.checks for row in c.bad_rows})
                failures.append(RerunFailure(r, "bound", result.reason[:500], tokens=rows,
                                             blocks=sorted({row // BLOCK_TOKENS for row in rows}), variant=variant))
            elif first is None:
                baselines[variant] = {k: v.clone() for k, v in outputs.items()}
                continue
        if first is not None and deterministic:
            for name, value in outputs.items():
                same = (value == first[name]) | (torch.isnan(value) & torch.isnan(first[name]))
                if bool(same.all()):
                    continue
                bad = ~same
                dims = spec.output(name).dims
                tokens, streams, ranges = _localise(bad.cpu(), dims)
                blocks = sorted({t // BLOCK_TOKENS for t in tokens})
                failures.append(RerunFailure(r, "bitwise", f"{name}: {int(bad.sum())} elements differ from the baseline",
                                             tokens[:64], streams, ranges, blocks[:64], variant=variant))
                for t in tokens:
                    key = f"{t // BLOCK_TOKENS},{streams[0] if streams else 0}"
                    heat[key] = heat.get(key, 0) + 1
    counters["done"] = reruns


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
    keys = [tuple(map(int, k.split(","))) for k in result.heatmap]
    blocks = max(b for b, _ in keys) + 1
    streams = max(s for _, s in keys) + 1
    grid = torch.zeros(streams, blocks)
    for (b, s), v in zip(keys, result.heatmap.values()):
        grid[s, b] = v
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.4 * streams))
    im = ax.imshow(grid.numpy(), aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_xlabel(f"token block ({BLOCK_TOKENS} tokens)")
    ax.set_ylabel("stream")
    ax.set_title(f"{result.backend} {Case.from_json(result.case).short()}: rows differing from rerun 0")
    fig.colorbar(im, ax=ax, label="bad rows over all reruns")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _key(backend: str, case: Case) -> str:
    return f"{backend}|{case.to_json()}"


def cmd_stress(args: argparse.Namespace) -> int:
    from mhc_verify.registry import discover, select

    infos = discover([b for b in args.backend if ":" in b])
    chosen = select(args.backend, infos)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    done = set()
    if log.exists():
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if not rec.get("interrupted"):  # an interrupted case is run again, whole
                done.add(_key(rec["backend"], Case.from_json(rec["case"])))
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
                for splits in args.n_splits:
                    case = Case(op, t, 4, args.hidden, family="normal", seed=args.seed + t, n_splits=splits)
                    unsupported = info.backend.supports(op, {"T": t, "n": 4, "H": args.hidden}, {},
                                                        case.param_dict())
                    if unsupported:
                        print(f"{name}/{op} T={t} S={splits}: outside the backend's constraints: {unsupported}",
                              file=sys.stderr)
                        continue
                    if _key(name, case) in done:
                        continue
                    plan.append((info.backend, case))
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
                                     judge_budget=args.judge_budget, vary_config=args.vary_config)
            except KeyboardInterrupt:  # while building the inputs: nothing of this case to keep
                stopped = True
                break
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
            if result.interrupted:
                stopped = True
                break
    finally:
        restore_handlers()
    if bar:
        bar.close()
    head = "# mhc-verify stress\n\n"
    if stopped:
        head += (f"**INTERRUPTED** after {len(lines)} of {len(plan)} cases (the last one partial); "
                 "run the same command again to resume.\n\n")
    (out / "report.md").write_text(head + "\n".join(f"- {line}" for line in lines) + "\n")
    print(f"stress: {len(plan)} cases, {failed} with failures{', INTERRUPTED' if stopped else ''}; "
          f"report {out / 'report.md'}, log {log}")
    return 1 if failed or stopped else 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stress", help="race stress: R reruns per large case, bitwise + bound checks")
    p.add_argument("--backend", action="append", required=True, help="backend name or module:attr (repeatable)")
    p.add_argument("--require-backend", action="append")
    p.add_argument("--op", action="append", help="ops (default: mhc_pre, prenorm_gemm, hc_post, fused_post_pre)")
    p.add_argument("--tokens", type=lambda s: [int(v) for v in s.split(",")], default=list(DEFAULT_TOKENS))
    p.add_argument("--hidden", type=int, default=7168)
    p.add_argument("--n-splits", type=lambda s: [int(v) for v in s.split(",")], default=[1])
    p.add_argument("--reruns", type=int, default=1000)
    p.add_argument("--judge-every", type=int, default=50, help="fp64 bound check on every N-th rerun")
    p.add_argument("--judge-budget", type=float, default=DEFAULT_JUDGE_BUDGET,
                   help="judge only while fp64 checking has taken <= this many times the kernel's time "
                        "(default 5; 'inf': every --judge-every-th rerun whatever it costs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="mhc-verify-stress")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--vary-config", action="store_true",
                   help="alternate the backend's stress_variants (split/block/chunk knobs) between reruns")
    p.add_argument("--cuda-graph", action="store_true",
                   help="every third rerun replays the call captured in a CUDA graph (GPU backends)")
    p.set_defaults(func=cmd_stress)
