"""``mhc-verify merge``: one report from the reports of shards of a check run.

A 10 000-case calibration is run as many shards (several processes per GPU, several GPUs, several
machines), each a ``mhc-verify check --seed S`` with its own report. Merging adds their cases per
(backend, op): counts add, maxima take the max, quantiles come from the per-case ratios every
report keeps, and the verdict is the worst one seen (a FAIL or ERROR in any shard fails the merged
pair; an interrupted shard contributes the cases it judged and is named in the merged report).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from mhc_verify.front_door import (UsageError, add_force_flag, existing_path, output_dir, read_json,
                                   refuse_existing_report)
from mhc_verify.registry import BackendInfo
from mhc_verify.session import PairStats, stats_from_json

# Worst first: the merged verdict of a pair is the first of these that any shard reported.
_VERDICT_ORDER = ("FAIL", "ERROR", "unavailable (required)", "interrupted", "pass", "not implemented", "unavailable")
REPORT_FILES = ("report.json", "report.md")


class ReportFileError(UsageError):
    """A shard's report.json that merge cannot use; the message names the file and the field."""


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _numbers_by_name(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A mapping of names to values that pass ``check`` (numbers, integers, strings)."""
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


def _failure(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("reproducer"), str)


# What merging and the merged report read of each result, and what it must be; fields a later
# version adds are passed through (stats_from_json keeps only PairStats' fields).
_RESULT_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "backend": (lambda v: isinstance(v, str), "a string"),
    "op": (lambda v: isinstance(v, str), "a string"),
    "verdict": (lambda v: v in _VERDICT_ORDER, "one of " + ", ".join(_VERDICT_ORDER)),
    "reason": (lambda v: isinstance(v, str), "a string"),
    **{k: (lambda v: _integer(v) and v >= 0, "an integer >= 0")
       for k in ("cases", "not_applicable", "biased_cases", "max_tokens", "max_elements")},
    "seconds": (_number, "a number"),
    "ratios": (lambda v: isinstance(v, list) and all(map(_number, v)), "a list of numbers"),
    **{k: (_numbers_by_name(_number), "a mapping of names to numbers")
       for k in ("per_output_max", "correctly_rounded_min", "correctly_rounded_mean", "torch_ratio_max",
                 "engine_ratio_max")},
    "correctly_rounded_n": (_numbers_by_name(_integer), "a mapping of names to integers"),
    "torch_ratio_case": (_numbers_by_name(lambda x: isinstance(x, str)), "a mapping of names to strings"),
    "failure": (lambda v: v is None or _failure(v), "null or an object with a 'reproducer' string"),
    "failures": (lambda v: isinstance(v, list) and all(map(_failure, v)),
                 "a list of objects with a 'reproducer' string"),
    "reproducer_file": (lambda v: v is None or isinstance(v, str), "null or a string"),
    "departures": (lambda v: v is None or isinstance(v, str), "null or a string"),
}
_META_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    **{k: (lambda v: isinstance(v, str), "a string") for k in ("date", "command", "interrupted")},
    "examples": (lambda v: v is None or (_integer(v) and v >= 0), "an integer >= 0"),
}
_BACKEND_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    **{k: (lambda v: isinstance(v, str), "a string") for k in ("source", "spec", "reason")},
    "available": (lambda v: isinstance(v, bool), "true or false"),
    "implements": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    "provenance": (lambda v: isinstance(v, dict), "an object"),
}


def _check_fields(obj: Any, fields: dict[str, tuple[Callable[[Any], bool], str]], where: str) -> None:
    if not isinstance(obj, dict):
        raise ReportFileError(f"{where}: expected an object, got {type(obj).__name__}")
    for name, (ok, expected) in fields.items():
        if name in obj and not ok(obj[name]):
            raise ReportFileError(f"{where}.{name}: expected {expected}, got {obj[name]!r:.80}")


def read_shard_report(path: Path) -> dict[str, Any]:
    """A check report (report.json) checked for what merging reads of it."""
    data = read_json(path, "report")
    _check_fields(data, {}, str(path))
    if not isinstance(data.get("results"), list):
        raise ReportFileError(f"{path}: not a check report: no 'results' list")
    _check_fields(data.get("meta", {}), _META_FIELDS, f"{path}: meta")
    backends = data.get("backends", {})
    _check_fields(backends, {}, f"{path}: backends")
    for name, b in backends.items():
        _check_fields(b, _BACKEND_FIELDS, f"{path}: backends.{name}")
    for i, r in enumerate(data["results"]):
        where = f"{path}: results[{i}]"
        _check_fields(r, _RESULT_FIELDS, where)
        missing = [k for k in ("backend", "op", "verdict") if k not in r]
        if missing:
            raise ReportFileError(f"{where}: missing {', '.join(missing)}")
        unmatched = set(r.get("correctly_rounded_n", {})) - set(r.get("correctly_rounded_mean", {}))
        if unmatched:
            raise ReportFileError(f"{where}.correctly_rounded_mean: no mean for {sorted(unmatched)}")
    return data


def merge_pair(parts: list[PairStats]) -> PairStats:
    """Several shards' statistics of one (backend, op) as one."""
    first = parts[0]
    merged = PairStats(first.backend, first.op)
    verdicts = [p.verdict for p in parts]
    merged.verdict = min(verdicts, key=lambda v: _VERDICT_ORDER.index(v) if v in _VERDICT_ORDER else 0)
    for p in parts:
        merged.cases += p.cases
        merged.not_applicable += p.not_applicable
        merged.ratios += p.ratios
        merged.biased_cases += p.biased_cases
        merged.seconds += p.seconds
        merged.max_tokens = max(merged.max_tokens, p.max_tokens)
        merged.max_elements = max(merged.max_elements, p.max_elements)
        for k, v in p.per_output_max.items():
            merged.per_output_max[k] = max(merged.per_output_max.get(k, 0.0), v)
        for k, v in p.correctly_rounded_min.items():
            merged.correctly_rounded_min[k] = min(merged.correctly_rounded_min.get(k, 1.0), v)
        for k, n in p.correctly_rounded_n.items():
            merged.correctly_rounded_n[k] = merged.correctly_rounded_n.get(k, 0) + n
            merged.correctly_rounded_sum[k] = merged.correctly_rounded_sum.get(k, 0.0) + p.correctly_rounded_sum[k]
        for k, v in p.torch_ratio_max.items():
            merged.note_torch_ratio(k, v, p.torch_ratio_case.get(k))
        for k, v in p.engine_ratio_max.items():
            merged.engine_ratio_max[k] = max(merged.engine_ratio_max.get(k, 0.0), v)
        merged.departures = merged.departures or p.departures
        if p.failure and merged.failure is None:
            merged.failure, merged.reproducer_file = p.failure, p.reproducer_file
        seen = {f.get("kind") for f in merged.failures}
        merged.failures += [f for f in p.failures if f.get("kind") not in seen]  # one reproducer per kind
    reasons = sorted({p.reason for p in parts if p.reason and p.verdict == merged.verdict})
    merged.reason = "; ".join(reasons)
    return merged


def merge_reports(paths: list[Path]) -> tuple[list[PairStats], dict[str, BackendInfo], dict]:
    """(merged pair statistics, backends, meta) of the report.json files in ``paths``."""
    if not paths:
        raise ValueError("no report.json to merge")
    by_pair: dict[tuple[str, str], list[PairStats]] = {}
    backends: dict[str, BackendInfo] = {}
    commands, interrupted, metas = [], [], []
    for path in paths:
        data = read_shard_report(Path(path))
        meta = data.get("meta", {})
        metas.append(meta)
        commands.append(meta.get("command", "?"))
        if meta.get("interrupted"):
            interrupted.append(f"{path}: {meta['interrupted']}")
        for name, b in data.get("backends", {}).items():
            if name not in backends or (b.get("available") and not backends[name].available):
                backends[name] = BackendInfo(name, b.get("source", "?"), b.get("spec", "?"), None,
                                             bool(b.get("available")), b.get("reason", ""),
                                             tuple(b.get("implements", ())), b.get("provenance", {}))
        for r in data.get("results", []):
            s = stats_from_json(r)
            by_pair.setdefault((s.backend, s.op), []).append(s)
    stats = [merge_pair(parts) for parts in by_pair.values()]
    first = metas[0]
    meta = {k: first.get(k) for k in ("date", "python", "torch", "platform", "gpu", "cuda", "driver", "hypothesis",
                                      "profile") if first.get(k) is not None}
    meta["date"] = max(m.get("date", "") for m in metas)
    meta["examples"] = sum(int(m.get("examples") or 0) for m in metas)
    meta["command"] = f"mhc-verify merge of {len(paths)} shard reports (first: {commands[0]})"
    meta["shards"] = [str(p) for p in paths]
    meta["shard_commands"] = commands
    if interrupted:
        # A shard stopped by its time limit still counts the cases it judged; the merged report says so.
        meta["interrupted_shards"] = interrupted
    return stats, backends, meta


def cmd_merge(args: argparse.Namespace) -> int:
    from mhc_verify.report import verdict_table, write_report

    paths: list[Path] = []
    for p in args.reports:
        # report.json.xz: a large report committed compressed (front_door.read_json reads either)
        paths += sorted([*p.rglob("report.json"), *p.rglob("report.json.xz")]) if p.is_dir() else [p]
    out = args.out.resolve()
    paths = [p for p in paths if p.resolve().parent != out]  # never merge an earlier merged report into itself
    if not paths:
        raise UsageError("no report.json found in " + ", ".join(map(str, args.reports)))
    refuse_existing_report(args.out, REPORT_FILES, args.force)
    stats, backends, meta = merge_reports(paths)
    json_path, md_path = write_report(out, stats, backends, meta)
    print("\n".join(verdict_table(stats)))
    print(f"\nmerged {len(paths)} reports ({len(meta.get('interrupted_shards', []))} interrupted by their time limit): "
          f"{md_path} and {json_path}")
    return 0 if all(s.verdict in ("pass", "not implemented", "unavailable", "interrupted") for s in stats) else 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("merge", help="merge the reports of shards of a check run into one report")
    p.add_argument("reports", nargs="+", type=existing_path,
                   help="report.json (or report.json.xz) files, or directories searched for them")
    p.add_argument("--out", type=output_dir, required=True, help="directory of the merged report")
    add_force_flag(p, "merged report")
    p.set_defaults(func=cmd_merge)
