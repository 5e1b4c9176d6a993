"""scripts/debug/l2_window.py on the CPU: its rotation, and the whole run over the torch backend with a
fake timer that calls each captured callable as a graph capture would (the GPU timing runs on the lease)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))

import l2_window  # noqa: E402
from mhc_verify.timing import GraphTiming  # noqa: E402


def test_rotating_call_calls_each_copy_in_turn():
    seen = []
    call = l2_window.rotating_call([lambda i=i: seen.append(i) for i in range(3)])
    for _ in range(7):
        call()
    assert seen == [0, 1, 2, 0, 1, 2, 0]


def test_rotating_call_of_one_is_the_plain_call():
    seen = []
    call = l2_window.rotating_call([lambda: seen.append("x") or 5])
    assert call() == 5 and call() == 5 and seen == ["x", "x"]


class CapturingTimer:
    """Calls fn 4 times (a graph of 4 calls) and keeps what the calls returned."""

    def __init__(self):
        self.graphs = []

    def graph(self, fn, tokens):
        self.graphs.append([fn() for _ in range(4)])
        return GraphTiming(1.0 + len(self.graphs), 4, 10, lo_us=1.0, hi_us=2.0 + len(self.graphs))


def test_a_cpu_run_rotates_the_inputs_and_writes_one_row_per_point(tmp_path, monkeypatch):
    timer = CapturingTimer()
    out = tmp_path / "l2.md"
    code = l2_window.main(["--backend", "torch", "--op", "hc_post", "--tokens", "3,5", "--hidden", "64",
                           "--rotations", "1,2", "--device", "cpu", "--out", str(out)], timer=timer)
    assert code == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| torch |")]
    assert len(rows) == 2 and all("| hc_post | 64 |" in r for r in rows), text
    assert "k=1 (range) | k=2 (range)" in text
    assert len(timer.graphs) == 4  # per point one graph per k (which inputs each call reads: rotating_call's tests)
    assert [tuple(g[0].shape) for g in timer.graphs] == [(3, 4, 64)] * 2 + [(5, 4, 64)] * 2  # hc_post's new residual
    # a call's bytes: x, residual, post_mix, comb_mix in; the new residual out (T = 3, H = 64, n = 4)
    t, h, n = 3, 64, 4
    mb = (t * h * 2 + t * n * h * 2 + t * n * 4 + t * n * n * 4 + t * n * h * 2) / 1e6
    assert f"| {mb:.1f} |" in rows[0]


class FailsFirstGraph(CapturingTimer):
    def graph(self, fn, tokens):
        if not self.graphs:
            self.graphs.append(None)
            return GraphTiming(None, 4, 0, "not capturable: RuntimeError: a host sync")
        return super().graph(fn, tokens)


def test_a_failing_point_is_a_line_the_next_point_still_runs_and_the_exit_code_says_so(tmp_path):
    out = tmp_path / "l2.md"
    code = l2_window.main(["--backend", "torch", "--op", "hc_post", "--tokens", "3,5", "--hidden", "64",
                           "--device", "cpu", "--out", str(out)], timer=FailsFirstGraph())
    text = out.read_text()
    assert code == 1 and "torch hc_post H=64 T=3: FAILED RuntimeError: not capturable: RuntimeError: a host sync" in text
    assert [line.split(" | ")[3] for line in text.splitlines() if line.startswith("| torch |")] == ["5"]


def test_an_unknown_op_is_a_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit):
        l2_window.main(["--backend", "torch", "--op", "no_such_op", "--device", "cpu"], timer=CapturingTimer())
    assert "unknown op 'no_such_op'" in capsys.readouterr().err
