"""Kernel-path evidence: does the engine's log show that the configured mHC path really ran?

An environment switch the engine ignores (misspelt, or not read by this build) leaves both sides
of an A/B comparison on the same kernel, and an A/A comparison passes. Each backend therefore
names patterns its engine log must show (e.g. the line where the engine says which mHC
implementation it selected) and patterns it must not; the gate searches the log line by line and
quotes the lines it found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mhc_verify.gsm8k.checks import CheckResult
from mhc_verify.gsm8k.config import KernelEvidence

_QUOTED_LINES = 3  # per pattern
_LINE_CHARS = 300


@dataclass
class EvidenceScan:
    log_path: Path
    found: dict[str, list[str]] = field(default_factory=dict)  # must pattern -> matching lines
    missing: list[str] = field(default_factory=list)  # must patterns no line matched
    forbidden: dict[str, list[str]] = field(default_factory=dict)  # must_not pattern -> matching lines

    @property
    def ok(self) -> bool:
        return not self.missing and not self.forbidden


def scan_log(log_path: Path, evidence: KernelEvidence) -> EvidenceScan:
    """Search ``log_path`` for ``evidence``; raises OSError when the log cannot be read."""
    must = [(p, re.compile(p)) for p in evidence.must]
    must_not = [(p, re.compile(p)) for p in evidence.must_not]
    scan = EvidenceScan(log_path)
    with log_path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            for pattern, rx in must:
                if rx.search(line) and len(scan.found.setdefault(pattern, [])) < _QUOTED_LINES:
                    scan.found[pattern].append(line[:_LINE_CHARS])
            for pattern, rx in must_not:
                if rx.search(line) and len(scan.forbidden.setdefault(pattern, [])) < _QUOTED_LINES:
                    scan.forbidden[pattern].append(line[:_LINE_CHARS])
    scan.forbidden = {p: lines for p, lines in scan.forbidden.items() if lines}
    scan.missing = [p for p, _ in must if not scan.found.get(p)]
    return scan


def check_kernel_path(label: str, backend: str | None, evidence: KernelEvidence | None, log_path: Path | None,
                      required: bool) -> CheckResult:
    """The ``kernel_path:<label>`` check: the run's engine log against its backend's evidence."""
    res = CheckResult(f"kernel_path:{label}", True, details={"backend": backend,
                                                              "engine_log": str(log_path) if log_path else None})
    if evidence is None or not evidence.must:
        why = ("the run's backend is unknown (not a run the gate made)" if backend is None
               else f"backend {backend!r} has no kernel_evidence.must patterns in the config")
        (res.fail if required else res.notes.append)(
            f"{why}: nothing shows which mHC path ran, and an A/B comparison of one path with itself passes")
        if evidence is None:
            return res
    if log_path is None:
        (res.fail if required else res.notes.append)(
            "no engine log to search for the kernel path (the gate did not start the engine: pass --engine-log)")
        return res
    try:
        scan = scan_log(log_path, evidence)
    except OSError as e:
        res.fail(f"engine log {log_path} unreadable: {e}")
        return res
    res.details.update({"found": scan.found, "missing": scan.missing, "forbidden": scan.forbidden})
    for pattern in scan.missing:
        res.fail(f"engine log {log_path} never shows /{pattern}/ (backend {backend!r}): the requested kernel "
                 "path is not proven to have run")
    for pattern, lines in scan.forbidden.items():
        res.fail(f"engine log {log_path} shows /{pattern}/, which backend {backend!r} must not: {lines[0]!r}")
    for pattern, lines in scan.found.items():
        if lines:
            res.notes.append(f"/{pattern}/ matched: {lines[0]!r}" + (f" (+{len(lines) - 1} more)" if len(lines) > 1
                                                                     else ""))
    return res
