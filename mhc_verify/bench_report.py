"""The benchmark's outputs: bench.jsonl (one line per row as it is measured), bench.json, bench.md
(op x T tables, backends side by side, the fastest marked) and bench-H<H>.png (time per call
against T, log-log, one panel per op).

Rows reach bench.jsonl the moment they are measured, flushed, so even a run killed with SIGKILL
leaves what it had; bench.md/json/png are written at the end, or on SIGTERM / Ctrl-C with the run
marked INTERRUPTED.
"""

from __future__ import annotations

import json
import lzma
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Sequence

from mhc_verify.plot_file import save_palette_png

# Our backends: the verdict column asks whether the fastest of these is the fastest of all. A run
# may name more (``--ours``, e.g. tilelang-base or a probe); the report records which.
OURS: tuple[str, ...] = ("tilelang",)


@dataclass
class BenchRow:
    """One (op, backend, T, H) measurement, or why there is none (note)."""

    op: str
    backend: str
    T: int
    H: int
    n_splits: int
    us: float | None  # per-call time an engine pays: graph replay where captured, else eager GPU time
    bytes: int
    gbps: float | None
    of_copy: float | None
    note: str = ""
    graph_us: float | None = None
    eager_us: float | None = None
    host_us: float | None = None  # host time to issue one eager call
    graph_calls: int = 0
    graph_lo_us: float | None = None  # the fastest and the slowest graph replay, per call
    graph_hi_us: float | None = None
    eager_lo_us: float | None = None  # the fastest and the slowest eager batch, per call
    eager_hi_us: float | None = None
    # a device-to-device copy of the op's byte count, timed as this point's rows are (graph replay or
    # eager) just before its backends (GB/s; rows below BenchConfig.copy_beside_min_bytes have none)
    copy_beside_gbps: float | None = None

    @property
    def of_copy_beside(self) -> float | None:
        """GB/s against the copy timed beside it: the same statistic, the same moment, the same bytes."""
        return self.gbps / self.copy_beside_gbps if self.gbps and self.copy_beside_gbps else None


def per_call_us(graph_us: float | None, eager_us: float | None) -> float | None:
    """What an engine pays per call: the graph replay time where the op was captured (engines
    replay decode from graphs), else the eager GPU time (an op it cannot capture runs eagerly)."""
    return graph_us if graph_us is not None else eager_us


class RowSink:
    """Appends each row to bench.jsonl as one flushed JSON line (the first line is the header), with the
    seconds since the run began (``at_s``: where a long run spent its time), and the backends' provenance
    whenever the run has more of it (``provenance`` lines, the last one complete so far)."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self._file: IO[str] = path.open("w")
        self._start = time.monotonic()
        self._write({"header": header})

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(json.dumps(obj, default=str) + "\n")
        self._file.flush()  # in the OS's hands now: survives SIGKILL of this process

    def add(self, row: BenchRow) -> None:
        self._write({"row": asdict(row), "at_s": round(time.monotonic() - self._start, 2)})

    def provenance(self, prov: dict[str, Any]) -> None:
        """The backends' provenance as it stands (compile counts grow as the run goes): a run killed before
        bench.json still names what it ran."""
        self._write({"provenance": prov})

    def close(self) -> None:
        self._file.close()


def _rows_file_lines(path: Path) -> list[dict[str, Any]]:
    """The parsed lines of a bench.jsonl: header, rows and provenance (a truncated last line, from a kill
    mid-write, is dropped)."""
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def read_rows(path: Path, lines: list[dict[str, Any]] | None = None) -> list[BenchRow]:
    """Rows of a bench.jsonl (``lines``: its lines already parsed by _rows_file_lines)."""
    return [BenchRow(**obj["row"]) for obj in (lines if lines is not None else _rows_file_lines(path)) if "row" in obj]


def _fmt(us: float | None) -> str:
    if us is None:
        return "-"
    return f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def winners(rows: list[BenchRow]) -> dict[tuple[str, int, int], tuple[str, float]]:
    """(op, T, H) -> (fastest backend, its per-call us), over rows that have a time."""
    best: dict[tuple[str, int, int], tuple[str, float]] = {}
    for r in rows:
        if r.us is None or not r.T:
            continue
        key = (r.op, r.T, r.H)
        if key not in best or r.us < best[key][1]:
            best[key] = (r.backend, r.us)
    return best


def ours_verdict(rows: list[BenchRow], op: str, t: int, h: int, ours: str | Sequence[str] = OURS) -> str:
    """'yes' (with several of ours: 'yes: <which>'), 'no: <backend> <x>x faster' (the fastest of
    all against the fastest of ours; "(within the replays' ranges: ...)" added where our fastest
    graph replay was no slower than their slowest), or '-' where none of ours has a time here."""
    names = (ours,) if isinstance(ours, str) else tuple(ours)
    mine = [r for r in rows if (r.op, r.T, r.H) == (op, t, h) and r.backend in names and r.us is not None]
    win = winners(rows).get((op, t, h))
    if not mine or win is None:
        return "-"
    best = min(mine, key=lambda r: r.us)
    if win[0] in names or win[1] >= best.us:
        return "yes" if len(names) == 1 else f"yes: {best.backend}"
    verdict = f"no: {win[0]} {best.us / win[1]:.2f}x faster"
    theirs = next(r for r in rows if (r.op, r.T, r.H, r.backend) == (op, t, h, win[0]) and r.us == win[1])
    if _replays_overlap(best, theirs):
        (kind, lo, hi), (_, their_lo, their_hi) = _replay_range(best), _replay_range(theirs)
        verdict += f" (within the {kind} ranges: ours {_fmt(lo)}-{_fmt(hi)}, theirs {_fmt(their_lo)}-{_fmt(their_hi)} us)"
    return verdict


def _replay_range(r: BenchRow) -> tuple[str, float, float] | None:
    """How the row's time was taken ("replays'" for a graph replay, "eager batches'" for eager calls) and the
    fastest and slowest per-call time behind it; None where the row kept no range (written before ranges were)."""
    if r.us is not None and r.us == r.graph_us:
        kind, lo, hi = "replays'", r.graph_lo_us, r.graph_hi_us
    elif r.us is not None and r.us == r.eager_us:
        kind, lo, hi = "eager batches'", r.eager_lo_us, r.eager_hi_us
    else:
        return None
    return None if lo is None or hi is None else (kind, lo, hi)


def _replays_overlap(ours: BenchRow, theirs: BenchRow) -> bool:
    """Both timed the same way (graph or eager) with ranges (the per-call medians are what is compared), and
    ours's fastest replay or batch no slower than their slowest: the medians' order is within the run-to-run
    spread of this run."""
    mine, other = _replay_range(ours), _replay_range(theirs)
    return mine is not None and other is not None and mine[0] == other[0] and mine[1] <= other[2]


def _ranges_disjoint(a: BenchRow, b: BenchRow) -> bool:
    """Both timed the same way with ranges that do not overlap: their order is not replay (or batch) noise."""
    ra, rb = _replay_range(a), _replay_range(b)
    return ra is not None and rb is not None and ra[0] == rb[0] and (ra[2] < rb[1] or rb[2] < ra[1])


def against_first_of_ours(rows: list[BenchRow], ours: Sequence[str]) -> list[str]:
    """Markdown lines: each of ``ours`` after the first (the probes) against the first (the default),
    per (op, H, T) where the first has a time: its per-call time over the first's (below 1: the probe
    is faster; marked * where the two graph replays' ranges do not overlap), then the fastest backend
    not ours. The table a probe's adoption is read from."""
    base, probes = ours[0], [o for o in ours[1:] if any(r.backend == o for r in rows)]
    if not probes:
        return []
    lines = [f"## Our probes against {base}", "",
             f"Per-call us of {base}; each probe's time over it (below 1: faster; `*`: the two graph replays' "
             "ranges do not overlap, so the order is not replay noise); the fastest backend not ours.", "",
             "| op | H | T | " + " | ".join([base, *probes]) + " | fastest other |",
             "|---|---|---|" + "---|" * (len(probes) + 2)]
    by_key = {(r.op, r.H, r.T, r.backend): r for r in rows if r.T and r.us is not None}
    points = sorted({(r.op, r.H, r.T) for r in rows if r.T}, key=lambda k: (k[0], -k[1], k[2]))
    for op, h, t in points:
        first = by_key.get((op, h, t, base))
        if first is None:
            continue
        cells = [_fmt(first.us)]
        for probe in probes:
            r = by_key.get((op, h, t, probe))
            cells.append("-" if r is None else f"{r.us / first.us:.3f}{'*' if _ranges_disjoint(r, first) else ''}")
        others = [r for (o, hh, tt, b), r in by_key.items() if (o, hh, tt) == (op, h, t) and b not in ours]
        other = min(others, key=lambda r: r.us) if others else None
        cells.append("-" if other is None else f"{_fmt(other.us)} ({other.backend})")
        lines.append(f"| {op} | {h} | {t} | " + " | ".join(cells) + " |")
    return lines + [""]


def headline_markdown(rows: list[BenchRow], tokens: Sequence[int], ours: Sequence[str] = OURS) -> str:
    """A compact summary of a run for a README: per H, one row per op and one column per T in ``tokens``, each cell
    our fastest per-call time against the fastest other backend's (its name below the table), the faster in bold;
    "(!)" where ours is not the fastest (ours_verdict's rule), "-" where either side has no time."""
    names = tuple(ours)
    timed = [r for r in rows if r.us is not None and r.T]
    ops = list(dict.fromkeys(r.op for r in timed))
    out: list[str] = []
    for h in sorted({r.H for r in timed}, reverse=True):
        rivals: dict[str, str] = {}
        lines = [f"H = {h}: ours / the fastest other backend, us per call", "",
                 "| op | " + " | ".join(f"T = {t}" for t in tokens) + " |",
                 "|---|" + "---|" * len(tokens)]
        for op in ops:
            cells = []
            for t in tokens:
                here = [r for r in timed if (r.op, r.T, r.H) == (op, t, h)]
                mine = [r for r in here if r.backend in names]
                other = [r for r in here if r.backend not in names]
                if not mine or not other:
                    cells.append("-")
                    continue
                best, rival = min(mine, key=lambda r: r.us), min(other, key=lambda r: r.us)
                tag = rivals.setdefault(rival.backend, chr(ord("a") + len(rivals)))
                lost = ours_verdict(rows, op, t, h, names).startswith("no")
                a, b = _fmt(best.us), f"{_fmt(rival.us)}{tag}"
                cells.append(f"{a} / **{b}** (!)" if lost else f"**{a}** / {b}")
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
        lines += ["", "; ".join(f"{tag}: {name}" for name, tag in rivals.items()), ""]
        out += lines
    return "\n".join(out)


def ours_of(env: dict[str, Any]) -> tuple[str, ...]:
    """The run's own backends as its environment records them (OURS where it does not)."""
    ours = env.get("ours")
    return tuple(ours) if ours else OURS


def render_markdown(rows: list[BenchRow], env: dict[str, Any], copy_gbps: float, prov: dict[str, Any],
                    pngs: list[str]) -> str:
    interrupted = env.get("interrupted")
    lines = ["# mHC kernel benchmark" + (" (INTERRUPTED)" if interrupted else ""), ""]
    if interrupted:
        lines += [f"**INTERRUPTED**: {interrupted}", ""]
    lines += [f"- {k}: {v}" for k, v in env.items() if k not in ("interrupted", "merged")]
    if env.get("merged"):  # merge_runs: which run measured what
        lines.append(f"- merged from {len(env['merged'])} runs (each point from the first that has it; every row's "
                     f"ratio to copy is its own run's):")
        lines += [f"  - `{m['run']}`: {m['rows kept']} rows kept, {m['rows already measured']} already measured; "
                  f"{m['date']}, copy {_fmt(m['copy_gbps'])} GB/s"
                  + "".join(f"; {k} {m[k]}" for k in ("partial", "interrupted") if k in m)
                  + f"; `{m['command']}`" for m in env["merged"]]
    lines += [f"- device-to-device copy bandwidth measured in this run: **{copy_gbps:.0f} GB/s**", "",
              "Each cell: per-call time in us an engine pays (graph replay where the op was captured, "
              "else the eager GPU time, marked `e`), then `graph / eager / host` us: graph = median CUDA-graph "
              "replay over the calls captured; eager = back-to-back eager calls, GPU time per call (launch gaps "
              "included); host = host time to issue one eager call. **bold** = fastest at that T. "
              "GB/s (of copy) counts every input read once and every output written once; below ~4096 tokens "
              "the working set fits in L2 and launch latency dominates: read the ratio at >= 4096 tokens. "
              "Where the op moves at least the run's copy-beside threshold, a second ratio: against a "
              "device-to-device copy of the same bytes timed just before that point's backends and as its "
              "rows are (graph replay or eager, the median; the run's copy bandwidth above is the best of 20 "
              "single copies), so a GPU running slower for a while (clocks, heat) moves both sides. "
              "A 'no' verdict says where it lies within the replays' ranges (our fastest graph replay no "
              "slower than the winner's slowest) or, for eager times, within the eager batches' ranges "
              "(the same, over the batches of back-to-back calls); bench.json keeps every row's range.", ""]
    backends = list(dict.fromkeys(r.backend for r in rows))
    best = winners(rows)
    ours = ours_of(env)
    for h in sorted({r.H for r in rows if r.T}):
        for op in dict.fromkeys(r.op for r in rows):
            keys = sorted({r.T for r in rows if r.op == op and r.H == h and r.T})
            if not keys:
                continue
            lines += [f"## {op}, H = {h}", "",
                      "| T | S | " + " | ".join(backends) + " | ours fastest? |",
                      "|---|---|" + "---|" * len(backends) + "---|"]
            for t in keys:
                cells, s_used = [], ""
                for b in backends:
                    r = next((r for r in rows if (r.op, r.T, r.H, r.backend) == (op, t, h, b)), None)
                    if r is None:
                        cells.append("-")
                        continue
                    if r.us is None:
                        cells.append(r.note[:60] or "-")
                        continue
                    s_used = str(r.n_splits)
                    mark = "" if r.graph_us is not None else " e"
                    head = f"{_fmt(r.us)}{mark}"
                    if best.get((op, t, h), ("",))[0] == b:
                        head = f"**{head}**"
                    detail = f"{_fmt(r.graph_us)} / {_fmt(r.eager_us)} / {_fmt(r.host_us)}"
                    ratio = f", {r.gbps:.0f} GB/s ({r.of_copy:.0%}" if r.gbps is not None and r.of_copy is not None \
                        and math.isfinite(r.of_copy) else ""
                    if ratio:
                        beside = r.of_copy_beside
                        ratio += f"; {beside:.1%} of the copy beside)" if beside is not None else ")"
                    note = f"; {r.note[:48]}" if r.note else ""
                    cells.append(f"{head} ({detail}{ratio}{note})")
                lines.append(f"| {t} | {s_used} | " + " | ".join(cells) + f" | {ours_verdict(rows, op, t, h, ours)} |")
            lines.append("")
    notes = {(r.backend, r.op): r.note for r in rows if not r.T}
    if notes:
        lines += ["## Not measured", ""] + [f"- {b} / {op}: {note}" for (b, op), note in notes.items()] + [""]
    not_fastest = [(op, t, h, ours_verdict(rows, op, t, h, ours)) for (op, t, h) in sorted(best)
                   if ours_verdict(rows, op, t, h, ours).startswith("no")]
    lines += [f"## Where ours ({', '.join(ours)}) is not fastest", ""]
    absent = [o for o in ours if o not in backends]
    if absent:  # a misspelt --ours would otherwise only show as '-' in every verdict
        lines += [f"- **no rows of {', '.join(absent)}**: named as ours but not a backend of this run "
                  f"(its rows are named: {', '.join(backends)})", ""]
    lines += [f"- {op} T={t} H={h}: {v}" for op, t, h, v in not_fastest] or ["- nowhere measured"]
    lines += ["", *against_first_of_ours(rows, ours)]
    lines += [*[f"![{p}]({p})" for p in pngs], "", "## Backend provenance", "", "```",
              json.dumps(prov, indent=1, default=str), "```", ""]
    return "\n".join(lines)


def plot(rows: list[BenchRow], out: Path, title: str) -> list[str]:
    """bench-H<H>.png per hidden size: per-call us against T, log-log, one panel per op, one colour
    per backend, graph replay solid (its replays' range shaded), eager dashed. Returns the file
    names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    backends = list(dict.fromkeys(r.backend for r in rows))
    colours = {b: plt.get_cmap("tab10")(i % 10) for i, b in enumerate(backends)}
    for h in sorted({r.H for r in rows if r.T}):
        ops = [op for op in dict.fromkeys(r.op for r in rows) if any(r.H == h and r.op == op and r.us for r in rows)]
        if not ops:
            continue
        cols = min(3, len(ops))
        nrows = -(-len(ops) // cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.8 * nrows), squeeze=False)
        for ax, op in zip(axes.flat, ops):
            for b in backends:
                pts = sorted((r.T, r.graph_us, r.eager_us) for r in rows if (r.op, r.H, r.backend) == (op, h, b) and r.T)
                for idx, style, label in ((1, "-", "graph"), (2, "--", "eager")):
                    xs = [p[0] for p in pts if p[idx] is not None]
                    ys = [p[idx] for p in pts if p[idx] is not None]
                    if xs:
                        ax.plot(xs, ys, style, marker="o" if idx == 1 else "x", markersize=3, color=colours[b],
                                label=f"{b} {label}")
                # the graph replays' range (fastest to slowest), shaded where the run kept it
                spread = sorted((r.T, r.graph_lo_us, r.graph_hi_us) for r in rows
                                if (r.op, r.H, r.backend) == (op, h, b) and r.T and r.graph_lo_us is not None
                                and r.graph_hi_us is not None)
                if len(spread) > 1:
                    ax.fill_between([p[0] for p in spread], [p[1] for p in spread], [p[2] for p in spread],
                                    color=colours[b], alpha=0.15, linewidth=0)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{op} (H={h})")
            ax.set_xlabel("tokens T")
            ax.set_ylabel("us per call")
            ax.grid(True, which="both", alpha=0.3)
        for ax in list(axes.flat)[len(ops):]:
            ax.axis("off")
        legend: dict[str, Any] = {}  # every panel's lines: a backend may be absent from the first op
        for ax in axes.flat:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        handles, labels = list(legend.values()), list(legend)
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout(rect=(0, 0.08, 1, 0.95))
        name = f"bench-H{h}.png"
        save_palette_png(fig, out / name, dpi=110)
        plt.close(fig)
        names.append(name)
    return names


def write_report(out: Path, rows: list[BenchRow], env: dict[str, Any], copy_gbps: float,
                 prov: dict[str, Any]) -> Path:
    """bench.json, bench.md and the plots; returns bench.md's path. A plot that fails (no
    matplotlib) is named in bench.md instead of losing the tables."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"environment": env, "copy_gbps": copy_gbps,
                                                "rows": [asdict(r) for r in rows], "provenance": prov},
                                               indent=1, default=str))
    title = f"{env.get('gpu', 'no GPU')} | {env.get('date', '')} | git {env.get('git', '?')}" + \
        (f" | sources {env['sources']}" if "sources" in env else "") + \
        (" | INTERRUPTED" if env.get("interrupted") else "")
    try:
        pngs = plot(rows, out, title)
    except Exception as e:  # noqa: BLE001 - the tables matter more than the picture
        env = {**env, "plot": f"not drawn: {type(e).__name__}: {e}"}
        pngs = []
    path = out / "bench.md"
    path.write_text(render_markdown(rows, env, copy_gbps, prov, pngs))
    return path


def _data_of_rows_file(path: Path) -> dict[str, Any]:
    """bench.json's fields from a bench.jsonl alone (a run killed before its end, SIGKILL included): the header
    line as the environment, the rows as measured, the run's copy bandwidth from any row's GB/s over its
    fraction of it; marked partial."""
    lines = _rows_file_lines(path)
    header: dict[str, Any] = lines[0].get("header", {}) if lines else {}
    prov: dict[str, Any] = {}
    for obj in lines:
        prov = obj.get("provenance", prov)  # the last one written is the most complete
    rows = read_rows(path, lines)
    ratios = sorted(r.gbps / r.of_copy for r in rows if r.gbps and r.of_copy)
    copy_gbps = ratios[len(ratios) // 2] if ratios else float("nan")
    env = {**header, "partial": f"rendered from {path.name} alone: the run stopped before writing bench.json "
                                f"({len(rows)} rows{'' if prov else '; no provenance line in it'})"}
    return {"rows": rows, "environment": env, "copy_gbps": copy_gbps, "provenance": prov}


def load_run(bench_dir: Path) -> dict[str, Any]:
    """A finished or stopped benchmark's data from its folder: bench.json, or bench.json.xz (as the results
    folders keep it), or only the bench.jsonl of a killed run. Raises ValueError naming the file it could not read."""
    source = bench_dir / "bench.json"
    if not source.exists() and source.with_name("bench.json.xz").exists():
        source = source.with_name("bench.json.xz")
    if not source.exists() and source.with_name("bench.jsonl").exists():
        source = source.with_name("bench.jsonl")  # a run killed before it wrote bench.json: its rows as measured
    try:
        if source.suffix == ".jsonl":
            return _data_of_rows_file(source)
        text = lzma.decompress(source.read_bytes()).decode() if source.suffix == ".xz" else source.read_text()
        data = json.loads(text)
        data["rows"] = [BenchRow(**r) for r in data["rows"]]
        return data
    except (OSError, ValueError, KeyError, TypeError, EOFError, lzma.LZMAError) as e:
        raise ValueError(f"{source}: not a benchmark's bench.json: {type(e).__name__}: {e}") from e


def merge_runs(runs: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One benchmark's data from runs of the same sources on the same GPU (a run stopped before the end of its
    grid, then the rest of the grid in another process): each (op, backend, T, H) from the first run that has it,
    a later run's repeats of it dropped and counted; the backends' provenance from the first run that has it.
    Every row keeps its own run's ratio to copy; the environment lists the runs. Raises ValueError where the runs'
    GPU or sources digest differ: those are not one measurement."""
    if not runs:
        raise ValueError("no runs to merge")
    for field in ("gpu", "sources"):
        seen = {str(data.get("environment", {}).get(field)) for _, data in runs}
        if len(seen) > 1:
            raise ValueError(f"the runs' {field} differ ({', '.join(sorted(seen))}): not one measurement")
    rows: list[BenchRow] = []
    taken: set[tuple[str, str, int, int]] = set()
    prov: dict[str, Any] = {}
    listed = []
    for name, data in runs:
        kept = dropped = 0
        for r in data["rows"]:
            key = (r.op, r.backend, r.T, r.H)
            if key in taken:
                dropped += 1
                continue
            taken.add(key)
            rows.append(r)
            kept += 1
        for backend, p in data.get("provenance", {}).items():
            prov.setdefault(backend, p)
        env = data.get("environment", {})
        listed.append({"run": name, "date": env.get("date"), "command": env.get("command"),
                       "copy_gbps": data.get("copy_gbps"), "rows kept": kept, "rows already measured": dropped,
                       **({"partial": env["partial"]} if "partial" in env else {}),
                       **({"interrupted": env["interrupted"]} if "interrupted" in env else {})})
    first = runs[0][1]
    env = {k: v for k, v in first.get("environment", {}).items() if k not in ("partial", "interrupted")}
    env["merged"] = listed
    return {"rows": rows, "environment": env, "copy_gbps": first.get("copy_gbps", float("nan")), "provenance": prov}


def main(argv: list[str] | None = None) -> int:
    """Render a benchmark's bench.md and plots again from its bench.json (e.g. with more of our
    backends named as ours), or from several runs' merged; the measurements are not touched."""
    from mhc_verify.front_door import output_whose_reader_may_go

    with output_whose_reader_may_go():  # `... --headline ... | head`: the report, not a traceback
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    import argparse
    import datetime
    import sys

    p = argparse.ArgumentParser(prog="python -m mhc_verify.bench_report", description=main.__doc__.split("\n")[0])
    p.add_argument("bench_dir", type=Path, help="a benchmark's --out folder (holds bench.json, or bench.json.xz as "
                                                "the results folders keep it, or only the bench.jsonl of a killed "
                                                "run; the new bench.json is written beside it); with --merge the "
                                                "folder the merged report is written to")
    p.add_argument("--merge", nargs="+", type=Path, metavar="RUN_DIR",
                   help="benchmark folders of the same sources on the same GPU (a stopped run, then the rest of its "
                        "grid): each point from the first that has it")
    p.add_argument("--ours", action="append", help=f"one of our backends (repeatable); default {', '.join(OURS)}")
    p.add_argument("--headline", metavar="T,T,...", help="print headline_markdown's summary at these token counts "
                                                          "instead of rendering the report (nothing is written)")
    args = p.parse_args(argv)
    try:
        if args.merge:
            data = merge_runs([(str(d), load_run(d)) for d in args.merge])
        else:
            data = load_run(args.bench_dir)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = data["rows"]
    if args.headline:
        try:
            tokens = [int(t) for t in args.headline.split(",")]
        except ValueError:
            print(f"error: --headline {args.headline!r}: token counts separated by commas", file=sys.stderr)
            return 2
        print(headline_markdown(rows, tokens, tuple(args.ours or OURS)))
        return 0
    env = dict(data.get("environment", {}))
    env["ours"] = list(args.ours or OURS)
    merge = "".join(f" --merge {d}" if i == 0 else f" {d}" for i, d in enumerate(args.merge or []))
    env["rendered again"] = (f"python -m mhc_verify.bench_report {args.bench_dir}{merge} "
                             + " ".join(f"--ours {o}" for o in env["ours"])
                             + f" ({datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')})")
    path = write_report(args.bench_dir, rows, env, float(data.get("copy_gbps", float("nan"))), data.get("provenance", {}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
