"""check's progress (issue 17 item 11): a tqdm bar on a terminal only; off a terminal one line per
(backend, op) and a heartbeat at most every 30 s, never carriage returns."""

import io

from mhc_verify.cli import main
from mhc_verify.progress import HEARTBEAT_S, BarProgress, LineProgress, make_progress


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_off_a_terminal_heartbeat_at_most_every_30_s():
    clock, out = FakeClock(), io.StringIO()
    progress = LineProgress(2, out, clock=clock)
    progress.start_pair("torch", "hc_post", 100)
    for _ in range(50):  # 50 cases, 2 s apart: 98 s in all
        clock.now += 2
        progress.case_done("pass", "T=1 H=7")
    progress.end_pair("pass")
    progress.start_pair("torch", "sinkhorn", 100)
    progress.case_done("pass", "T=1 H=7")
    progress.end_pair("FAIL")
    lines = out.getvalue().splitlines()
    heartbeats = [line for line in lines if line.startswith("... ")]
    assert len(heartbeats) == 3  # at 30, 60 and 90 s: never more often than every 30 s
    assert heartbeats[0].startswith("... torch/hc_post: 15 cases judged (budget 100), 30 s in this pair")
    assert lines[-2] == "[1/2] torch/hc_post: pass, 50 cases, 100.0 s"
    assert lines[-1] == "[2/2] torch/sinkhorn: FAIL, 1 cases, 0.0 s"
    assert "\r" not in out.getvalue()
    assert HEARTBEAT_S == 30


def test_the_bar_only_on_a_terminal():
    assert isinstance(make_progress(10, 1, False, Terminal()), BarProgress)
    assert isinstance(make_progress(10, 1, False, io.StringIO()), LineProgress)
    assert make_progress(10, 1, True, Terminal()) is None


def test_check_into_a_log_file_writes_lines_not_a_bar(tmp_path, capsys):
    """stderr captured (not a terminal), no --no-progress: one line per pair, no carriage returns."""
    assert main(["check", "--backend", "torch", "--op", "hc_post", "--op", "sinkhorn", "--examples", "3",
                 "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    pair_lines = [line for line in err.splitlines() if line.startswith("[")]
    assert len(pair_lines) == 2
    assert pair_lines[0].startswith("[1/2] torch/hc_post: pass, ") and pair_lines[1].startswith("[2/2] torch/sinkhorn: pass, ")
