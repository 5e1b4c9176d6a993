"""Reports a person can read: an op x backend verdict table, the bound-tightness table, failures
with one-line reproducers, backends that did not run and why, and provenance. JSON + Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mhc_verify.plot_file import save_palette_png
from mhc_verify.registry import BackendInfo
from mhc_verify.session import PairStats, stats_to_json


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.3f} %"


def _cr(stats: PairStats) -> str:
    if not stats.correctly_rounded_n:
        return "-"
    return ", ".join(f"{k} {_pct(stats.correctly_rounded_sum[k] / stats.correctly_rounded_n[k])} "
                     f"(min {_pct(stats.correctly_rounded_min[k])})" for k in sorted(stats.correctly_rounded_n))


def verdict_table(stats: list[PairStats]) -> list[str]:
    lines = ["| op | backend | verdict | cases | n/a | max err/bound | correctly rounded (bf16 outputs) | "
             "max err / torch fp32 err | declares | vs engine semantics: max err/bound | biased cases | "
             "largest T (T*n*H) | time |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in stats:
        tr = ", ".join(f"{k} {v:.2g}" for k, v in sorted(s.torch_ratio_max.items())) or "-"
        er = ", ".join(f"{k} {v:.3g}" for k, v in sorted(s.engine_ratio_max.items())) or "-"
        worst = max(s.per_output_max.values(), default=0.0)
        kinds = f" ({len(s.failures)} kinds)" if len(s.failures) > 1 else ""
        lines.append(f"| {s.op} | {s.backend} | **{s.verdict}**{kinds} | {s.cases} | {s.not_applicable} | "
                     f"{worst:.3g} | {_cr(s)} | {tr} | {s.departures or '-'} | {er} | {s.biased_cases} | "
                     f"{s.max_tokens} ({s.max_elements:.3g}) | {s.seconds:.1f} s |")
    return lines


def tightness_table(stats: list[PairStats]) -> list[str]:
    lines = ["| op | backend | cases | p50 err/bound | p99 | max | per output max |", "|---|---|---|---|---|---|---|"]
    for s in stats:
        t = s.tightness()
        if not t:
            continue
        per = ", ".join(f"{k} {v:.3g}" for k, v in sorted(s.per_output_max.items()))
        lines.append(f"| {s.op} | {s.backend} | {len(s.ratios)} | {t['p50']:.3g} | {t['p99']:.3g} | "
                     f"{t['max']:.3g} | {per} |")
    return lines


def torch_ratio_table(stats: list[PairStats]) -> list[str]:
    """Per (op, backend, output): the largest ratio of the verdict table's "max err / torch fp32 err" column and
    the case that gave it (Case.short(): T, n, H, S, family, seed), so that a large ratio can be rerun; no
    lines where no pair has one."""
    rows = [f"| {s.op} | {s.backend} | {k} | {v:.3g} | {s.torch_ratio_case.get(k, '-')} |"
            for s in stats for k, v in sorted(s.torch_ratio_max.items())]
    if not rows:
        return []
    return ["| op | backend | output | max err / torch fp32 err | case |", "|---|---|---|---|---|"] + rows


def write_report(out_dir: Path, stats: list[PairStats], backends: dict[str, BackendInfo], meta: dict[str, Any],
                 ) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "backends": {n: {"available": b.available, "reason": b.reason, "source": b.source, "spec": b.spec,
                         "implements": list(b.implements), "provenance": b.provenance,
                         "known_issues": dict(b.backend.known_issues) if b.backend else {}}
                     for n, b in backends.items()},
        "results": [stats_to_json(s) for s in stats],
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    md = [f"# mhc-verify check report", "",
          f"- date: {meta.get('date')}", f"- command: `{meta.get('command')}`",
          f"- profile: {meta.get('profile')}, examples per pair: {meta.get('examples')}",
          f"- torch {meta.get('torch')}, python {meta.get('python')}, {meta.get('platform')}"]
    if meta.get("gpu"):
        md.append(f"- GPU: {meta['gpu']} (CUDA {meta.get('cuda')})")
    if meta.get("interrupted"):
        md.append(f"- **INTERRUPTED**: {meta['interrupted']}; this report is partial")
    if meta.get("shards"):
        md.append(f"- merged from {len(meta['shards'])} shard reports (`mhc-verify merge`); "
                  f"{len(meta.get('interrupted_shards', []))} of them stopped by their time limit, "
                  "their judged cases counted")
    md += ["", "## Verdicts", ""] + verdict_table(stats)
    md += ["", "## Bound tightness (per-case max |err| / bound over passing cases; must stay <= 1)", ""]
    md += tightness_table(stats)
    torch_cases = torch_ratio_table(stats)
    if torch_cases:
        md += ["", "## Against torch fp32 (each output's largest max |err| over torch fp32's on the same inputs, "
               "and the case it came from)", ""] + torch_cases
    failures = [s for s in stats if s.failure]
    if failures:
        md += ["", "## Failures (one minimal case per failure kind, after shrinking)", ""]
        for s in failures:
            md += [f"### {s.backend} / {s.op}: {s.verdict}", ""]
            if s.reason.startswith("FLAKY"):
                md += [s.reason, ""]
            for f in s.failures or [s.failure]:
                md += [f"- **{f.get('kind', s.verdict)}**: {f.get('reason', s.reason).splitlines()[0][:600]}", "",
                       f"      {f['reproducer']}", ""]
                if f.get("reproducer_file"):
                    md += [f"  reproducer file: `{f['reproducer_file']}`", ""]
    md += ["", "## Backends", "", "| backend | available | reason | implements | known issues |", "|---|---|---|---|---|"]
    for n, b in backends.items():
        known = "; ".join(f"{k}: {v}" for k, v in (b.backend.known_issues if b.backend else {}).items()) or "-"
        md.append(f"| {n} | {'yes' if b.available else 'no'} | {b.reason} | {', '.join(b.implements) or '-'} | "
                  f"{known} |")
    md += ["", "## Provenance", ""]
    for n, b in backends.items():
        if b.available:
            md.append(f"- **{n}**: " + ", ".join(f"{k}={v}" for k, v in b.provenance.items()))
    plot = plot_tightness(out_dir / "tightness.png", stats)
    if plot:
        md += ["", "## Distribution of err/bound", "", f"![per-case max err/bound]({plot.name})"]
    md_path = out_dir / "report.md"
    md_path.write_text("\n".join(md) + "\n")
    return json_path, md_path


def plot_tightness(path: Path, stats: list[PairStats]) -> Path | None:
    """Per (backend, op), the distribution of per-case max err/bound on a log scale (needs matplotlib)."""
    data = [(f"{s.backend}/{s.op}", [max(r, 1e-12) for r in s.ratios]) for s in stats if s.ratios]
    if not data:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(data) + 1.2))
    ax.boxplot([d for _, d in data], orientation="horizontal", whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
    ax.set_yticks(range(1, len(data) + 1), [name for name, _ in data])
    ax.set_xscale("log")
    ax.axvline(1.0, color="red", linewidth=1)
    ax.set_xlabel("per-case max |err| / bound (red: the bound; whiskers p1-p99)")
    fig.tight_layout()
    save_palette_png(fig, path, dpi=110)
    plt.close(fig)
    return path
