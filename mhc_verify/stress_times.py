"""Where a stress run's wall time goes: per case (StressTimes) and for the whole process.

The goal (issue 16): 1000 reruns of mhc_pre at 65 536 x 7168 within a minute on one GPU, of which
the kernel is ~3 s; the report says how the rest divides, so a slow run points at its phase.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Sequence

from mhc_verify.judge_cache import JudgeTimes


@dataclass
class StressTimes:
    """Seconds of one stress case, by phase (device work is synchronised at each phase's end)."""
    setup: float = 0.0  # building the inputs on the device
    first_calls: float = 0.0  # each configuration's first call (eager and graph): compiles, capture
    calls: float = 0.0  # every other call of the backend
    reference: float = 0.0  # float64 reference + bounds + tolerances (the judges' builds)
    reference_builds: int = 0  # how many times they were built (1 per judge when the cache holds)
    reference_cached: bool = False  # built once and reused by every judgement
    compare: float = 0.0  # comparing the judged reruns' outputs with the prepared reference
    key_check: float = 0.0  # checking the inputs still are those the reference was built from
    bitwise: float = 0.0  # comparing reruns bitwise with their baseline

    def add_judges(self, judges: Sequence[JudgeTimes], cached: bool) -> None:
        self.reference = sum(j.build_seconds for j in judges)
        self.reference_builds = sum(j.builds for j in judges)
        self.compare = sum(j.compare_seconds for j in judges)
        self.key_check = sum(j.key_seconds for j in judges)
        self.reference_cached = cached

    @property
    def total(self) -> float:
        return (self.setup + self.first_calls + self.calls + self.reference + self.compare + self.key_check
                + self.bitwise)

    def describe(self, wall: float) -> str:
        kept = "kept for every judgement" if self.reference_cached else "not kept: too big for the memory"
        return (f"time: calls {self.calls:.2f} s + first calls/compiles {self.first_calls:.2f} s, "
                f"fp64 reference+bounds {self.reference:.2f} s ({self.reference_builds} builds, {kept}), "
                f"comparisons {self.compare:.2f} s + input checks {self.key_check:.2f} s, "
                f"bitwise {self.bitwise:.2f} s, inputs {self.setup:.2f} s, "
                f"other {max(0.0, wall - self.total):.2f} s (poisoning, side-stream noise, loop)")


def seconds_since_process_start() -> float | None:
    """Wall seconds since this process started (interpreter start and imports included), where the
    OS says (Linux /proc); None elsewhere."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Stopwatch:
    """Named wall-clock laps of the stress command (backend loading, cases, report)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._t
        self._t = now

    def describe(self) -> str:
        before = seconds_since_process_start()
        head = f"process start and imports {before - sum(self.laps.values()):.1f} s, " if before else ""
        return "wall: " + head + ", ".join(f"{k} {v:.1f} s" for k, v in self.laps.items())
