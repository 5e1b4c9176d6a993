"""scripts/debug/sinkhorn_share.py's reading of per-repeat timings (the GPU run itself needs CUDA
graphs): the slope of the two largest repeat counts, the share (largest minus smallest), and the
plateau (how far the time stays within the replays' spread of the smallest count's: below it another
path than the Sinkhorn is the critical one)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))
sinkhorn_share = pytest.importorskip("sinkhorn_share")


def test_a_chain_on_the_critical_path_at_every_count_has_no_plateau():
    times = {r: 4.0 + 0.1 * r for r in (1, 2, 4, 8, 12, 16, 20)}
    s = sinkhorn_share.share_summary(times, spread=0.05)
    assert s["slope"] == pytest.approx(0.1) and s["share"] == pytest.approx(1.9) and s["plateau"] == 1


def test_another_path_caps_the_time_below_the_plateau():
    """p(r) = max(collapse path 5.0, 3.0 + 0.2 r): flat to r = 10, then 0.2 us a repeat."""
    times = {r: max(5.0, 3.0 + 0.2 * r) for r in (1, 2, 4, 8, 12, 16, 20)}
    s = sinkhorn_share.share_summary(times, spread=0.05)
    assert s["plateau"] == 8 and s["slope"] == pytest.approx(0.2) and s["share"] == pytest.approx(2.0)


def test_one_count_is_not_enough():
    with pytest.raises(ValueError, match="two repeat counts"):
        sinkhorn_share.share_summary({20: 8.0})
