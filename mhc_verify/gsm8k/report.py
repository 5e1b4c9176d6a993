"""The gate's report: ``gsm8k_gate.json`` (everything) and ``gsm8k_gate.md`` (for people)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

JSON_NAME = "gsm8k_gate.json"
MARKDOWN_NAME = "gsm8k_gate.md"
_MD_DISCORDANT_ROWS = 100  # per filter; the JSON has all
_MD_TEXT = 240


def _cell(v: Any, limit: int = _MD_TEXT) -> str:
    """A value made safe for one Markdown table cell."""
    if v is None:
        return "—"
    s = str(v).replace("\r", " ").replace("\n", " ⏎ ").replace("|", "\\|")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _points(x: Any) -> str:
    if x is None:
        return "—"
    return "∞" if math.isinf(x) else f"{100 * x:.2f} pts"


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, float) and math.isinf(o):
        return "inf"
    return str(o)


def _clean(o: Any) -> Any:
    """JSON has no infinity: write it as the string "inf"."""
    if isinstance(o, float) and (math.isinf(o) or math.isnan(o)):
        return str(o)
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def render_markdown(report: dict[str, Any]) -> str:
    cfg, prov = report["config"], report["provenance"]
    mode = "A/A (the same backend twice)" if report["mode"] == "aa" else "gate"
    out = [f"# gsm8k gate: {cfg['name']} — {report['verdict']}", ""]
    if cfg.get("description"):
        out += [cfg["description"], ""]
    out += [f"Mode: {mode}. Model `{prov['model']}`, task `{prov['task']}`, {prov['num_fewshot']}-shot, "
            f"{prov['expected_n']} questions expected. Date {prov['date']}.", ""]

    out += ["## Decision", "", f"**{report['verdict']}**", ""]
    if report["reasons"]:
        out += [f"- {_cell(r, 2000)}" for r in report["reasons"]]
    else:
        out.append("Every check passed.")
    out.append("")

    out += ["## Runs", "", "| run | backend | filter | exact_match | ± stderr | n | n-shot | lm-eval |",
            "|---|---|---|---|---|---|---|---|"]
    for label, run in report["runs"].items():
        metrics = run.get("metrics") or {}
        if not metrics:
            out.append(f"| {label} | {_cell(run.get('backend'))} | — | no result | | | | |")
        for flt, m in metrics.items():
            out.append(f"| {label} | {_cell(run.get('backend'))} | {flt} | {_fmt(m['value'])} | "
                       f"{_fmt(m['stderr'])} | {m['n']} | {_fmt(run.get('n_shot'))} | "
                       f"{_cell(run.get('lm_eval_version'))} |")
    out.append("")
    floors = ", ".join(f"{f} ≥ {_fmt(v)}" if v is not None else f"{f}: no floor" for f, v in cfg["floors"].items())
    out += [f"Floors: {floors}. α = {cfg['alpha']}, power = {cfg['power']}, non-inferiority margin "
            f"{_points(cfg.get('margin'))} (a paired pass needs the MDD at the observed discordance within it).", ""]
    docs = cfg.get("documented_baselines") or []
    if docs:
        out += ["Documented baselines (from the config, not measured here):", ""]
        keys = list(dict.fromkeys(k for d in docs for k in d))  # first-seen order
        out += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        out += ["| " + " | ".join(_cell(d.get(k)) for k in keys) + " |" for d in docs]
        out.append("")

    out += ["## Checks", "", "| check | result | why / notes |", "|---|---|---|"]
    for c in report["checks"]:
        text = "; ".join(c["reasons"] + c["notes"]) or "—"
        result = "pass" if c["passed"] else ("**inconclusive**" if c.get("inconclusive") else "**FAIL**")
        out.append(f"| {c['name']} | {result} | {_cell(text, 1500)} |")
    out.append("")

    paired = [c for c in report["checks"] if c["name"] in ("paired", "aa") and c["details"]]
    for c in paired:
        title = "A/A discordance" if c["name"] == "aa" else "Paired test (exact one-sided McNemar)"
        out += [f"## {title}", "",
                "b = questions the baseline (first run in A/A) answers right and the candidate wrong; c = the "
                "reverse. p = P(B ≥ b), B ~ Binomial(b + c, 1/2). MDD = the smallest accuracy drop this test "
                "detects with the configured power, taking as noise this comparison's discordance (b + c)/n "
                "(an overestimate when there is a real drop) or the configured A/A discordance.", "",
                "| filter | n | b | c | p | significant | discordance | MDD (observed) | MDD (A/A) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for flt, d in c["details"].items():
            if not isinstance(d, dict):
                continue
            p = d.get("p_two_sided", d["p_value"]) if c["name"] == "aa" else d["p_value"]
            out.append(f"| {flt} | {d['n']} | {d['b']} | {d['c']} | {p:.4g} | {'yes' if d['significant'] else 'no'} | "
                       f"{_fmt(d['discordance'])} | {_points(d['mdd_observed'])} | {_points(d.get('mdd_aa'))} |")
        if c["name"] == "aa":
            out += ["", f"Recommended `gate.aa_discordance`: {_fmt(c['details'].get('recommended_aa_discordance'))}"]
        out.append("")
    unpaired = (report.get("context") or {}).get("unpaired_mdd")
    if unpaired:
        out += ["For contrast, two unpaired runs at this accuracy would detect, at the same α and power: "
                + ", ".join(f"{f} {_points(v)}" for f, v in unpaired.items()) + ".", ""]

    if report["discordant"]:
        labels = list(report["runs"])
        out += ["## Discordant questions", ""]
        for flt, rows in report["discordant"].items():
            out += [f"### {flt}: {len(rows)}", ""]
            if not rows:
                out += ["None.", ""]
                continue
            out += [f"| doc_id | direction | gold | {labels[0]} | {labels[1]} | question |",
                    "|---|---|---|---|---|---|"]
            for r in rows[:_MD_DISCORDANT_ROWS]:
                a, b = r[labels[0]], r[labels[1]]
                out.append(f"| {r['doc_id']} | {r['direction']} | {_cell(r['gold'])} | {_cell(a['extracted'])} | "
                           f"{_cell(b['extracted'])} | {_cell(r['question'])} |")
            if len(rows) > _MD_DISCORDANT_ROWS:
                out.append(f"\n… {len(rows) - _MD_DISCORDANT_ROWS} more in {JSON_NAME}.")
            out.append("")

    out += ["## Provenance", ""]
    for key in ("date", "lm_eval_version", "mhc_verify_version", "mhc_verify_commit", "python", "host", "config_path",
                "config_sha256", "model", "endpoint", "endpoint_template", "task", "num_fewshot", "limit", "expected_n",
                "data_dir"):
        if prov.get(key) is not None:
            out.append(f"- {key}: `{prov[key]}`")
    for f, h in (prov.get("data_sha256") or {}).items():
        out.append(f"- sha256 {f}: `{h}`")
    for label, run in report["runs"].items():
        p = run.get("provenance") or {}
        out += ["", f"### {label}", ""]
        for key in ("source", "path", "backend", "backend_description", "endpoint", "server_env", "server_command",
                    "server_log", "engine_log", "server_startup_s", "server_clean_shutdown", "lm_eval_command",
                    "lm_eval_equivalent_cli", "lm_eval_log", "lm_eval_seconds", "note"):
            if p.get(key) not in (None, "", {}):
                out.append(f"- {key}: `{p[key]}`")
        for key in ("results_path", "samples_path", "date", "model"):
            if run.get(key):
                out.append(f"- {key}: `{run[key]}`")
    out.append("")
    return "\n".join(out)


def write_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write both files into ``out_dir``; return (JSON path, Markdown path)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / JSON_NAME, out_dir / MARKDOWN_NAME
    json_path.write_text(json.dumps(_clean(report), indent=2, default=_json_default, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return json_path, md_path
