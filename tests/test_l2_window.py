"""scripts/debug/l2_window.py's rotation (the GPU timing itself runs on the lease)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))

import l2_window  # noqa: E402


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
