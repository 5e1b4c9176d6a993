"""Progress of a check run: a tqdm bar on a terminal; off a terminal (a log file, CI, a nightly
job's pipe) one line per (backend, op) and a heartbeat at most every ``HEARTBEAT_S`` seconds.

A tqdm bar redraws itself with carriage returns; written to a file that is hundreds of KB of
unreadable log for a few minutes of run.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Protocol, TextIO

HEARTBEAT_S = 30.0


class Progress(Protocol):
    def start_pair(self, backend: str, op: str, examples: int) -> None: ...
    def case_done(self, status: str, detail: str) -> None: ...
    def end_pair(self, verdict: str) -> None: ...
    def close(self) -> None: ...


class BarProgress:
    """The tqdm bar (a terminal): one tick per judged case."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, unit="case", dynamic_ncols=True, file=stream)
        self._left = 0

    def start_pair(self, backend: str, op: str, examples: int) -> None:
        self._bar.set_description(f"{backend}/{op}")
        self._left = examples

    def case_done(self, status: str, detail: str) -> None:
        if self._left > 0:  # shrinking runs more cases than the budget: the bar counts the budget
            self._left -= 1
            self._bar.update(1)
            self._bar.set_postfix_str(f"{status} {detail}")

    def end_pair(self, verdict: str) -> None:
        self._bar.update(self._left)
        self._left = 0

    def close(self) -> None:
        self._bar.close()


class LineProgress:
    """Plain lines (not a terminal): each (backend, op) when it ends, and a heartbeat while one runs."""

    def __init__(self, total_pairs: int, stream: TextIO, heartbeat_s: float = HEARTBEAT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream, self._heartbeat_s, self._clock = stream, heartbeat_s, clock
        self._total_pairs, self._pairs_done = total_pairs, 0
        self._pair, self._cases, self._examples = "", 0, 0
        self._started = self._last_line = clock()

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)
        self._last_line = self._clock()

    def start_pair(self, backend: str, op: str, examples: int) -> None:
        self._pair, self._cases, self._examples = f"{backend}/{op}", 0, examples
        self._pair_started = self._clock()

    def case_done(self, status: str, detail: str) -> None:
        self._cases += 1
        now = self._clock()
        if now - self._last_line >= self._heartbeat_s:
            self._print(f"... {self._pair}: {self._cases} cases judged (budget {self._examples}), "
                        f"{now - self._pair_started:.0f} s in this pair, {now - self._started:.0f} s in all; "
                        f"last {status} {detail}")

    def end_pair(self, verdict: str) -> None:
        self._pairs_done += 1
        self._print(f"[{self._pairs_done}/{self._total_pairs}] {self._pair}: {verdict}, {self._cases} cases, "
                    f"{self._clock() - self._pair_started:.1f} s")

    def close(self) -> None:
        pass


def make_progress(total_cases: int, total_pairs: int, disabled: bool,
                  stream: TextIO | None = None) -> Progress | None:
    """The progress display for where ``stream`` (default stderr) goes; None when disabled or empty."""
    stream = stream if stream is not None else sys.stderr
    if disabled or total_pairs == 0:
        return None
    if stream.isatty():
        try:
            return BarProgress(total_cases, stream)
        except ImportError:
            pass
    return LineProgress(total_pairs, stream)
