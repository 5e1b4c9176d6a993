"""scripts/debug/profile_ops.py's graph mode, on made-up profiler events (the GPU script's arithmetic,
checked here so that the one GPU call that runs it reports what it says): each kernel's start and end
within its call, a PDL dependent starting before its producer ends, and the period of the calls."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))
profile_ops = pytest.importorskip("profile_ops")


def _two_kernel_calls(calls: int, period: float, gemm_us: float, pre_start: float, pre_us: float):
    events = []
    for c in range(calls):
        t0 = 100.0 + c * period
        events.append(("gemm", t0, gemm_us))
        events.append(("pre", t0 + pre_start, pre_us))
    return events


def test_graph_rows_gives_each_kernel_its_place_in_the_call_and_the_period():
    # decode_pre launched early (PDL): it starts 1.0 us into a call whose GEMM runs 3.5 us
    rows, busy, period = profile_ops.graph_rows(_two_kernel_calls(4, 9.0, 3.5, 1.0, 6.0), 4)
    assert rows == [("gemm", 0.0, 3.5, 3.5), ("pre", 1.0, 6.0, 7.0)]
    assert busy == pytest.approx(9.5)
    assert period == pytest.approx(9.0)


def test_graph_rows_of_one_call_has_no_period():
    rows, busy, period = profile_ops.graph_rows(_two_kernel_calls(1, 9.0, 3.5, 4.0, 2.0), 1)
    assert rows[1] == ("pre", 4.0, 2.0, 6.0) and busy == pytest.approx(5.5)
    assert math.isnan(period)


def test_uneven_events_are_one_chunk():
    events = _two_kernel_calls(3, 9.0, 3.5, 1.0, 6.0) + [("one-off", 200.0, 1.0)]
    assert profile_ops.split_calls(events, 3) == (7, 1)
    assert profile_ops.split_calls(events[:-1], 3) == (2, 3)
