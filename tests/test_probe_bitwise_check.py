"""scripts/debug/probe_bitwise_check.py (a GPU script) tried on the CPU backends, so that the one GPU
call that runs it does not find a slip: a probe equal to its baseline passes with one ``ok`` line per
check; one whose output differs in a single bit, or differs from its own first call, fails with
``FAIL`` lines and exit status 1; each case runs on though another crashes."""

import sys
from pathlib import Path

import pytest
import torch

from mhc_kernels.torch_native import TorchNativeBackend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))
probe_bitwise_check = pytest.importorskip("probe_bitwise_check")


class OneBitOff(TorchNativeBackend):
    """hc_post with the last bit of one element flipped: not the baseline's bits."""

    name = "one-bit-off"

    def hc_post(self, *args, **kwargs):
        out = super().hc_post(*args, **kwargs).clone()
        out.view(-1).view(torch.int16)[0] ^= 1
        return out


class Drifts(TorchNativeBackend):
    """Its second and later calls differ from its first (a race, run to run)."""

    name = "drifts"
    calls = 0

    def hc_post(self, *args, **kwargs):
        out = super().hc_post(*args, **kwargs)
        Drifts.calls += 1
        if Drifts.calls > 2:
            out = out.clone()
            out.view(-1).view(torch.int16)[-1] ^= 1
        return out


class Crashes(TorchNativeBackend):
    name = "crashes"

    def hc_post(self, *args, **kwargs):
        if (args[0] if args else kwargs["x"]).shape[0] == 4:
            raise RuntimeError("planted crash at T = 4")
        return super().hc_post(*args, **kwargs)


def _run(capsys, probe: str, tokens: str = "4", op: str = "hc_post") -> tuple[int, list[str]]:
    code = probe_bitwise_check.main(["--probe", probe, "--against", "torch", "--device", "cpu", "--op", op,
                                     "--tokens", tokens, "--hidden", "64", "--reruns", "2"])
    return code, capsys.readouterr().out.splitlines()


def test_the_same_bits_pass(capsys):
    code, lines = _run(capsys, "torch", op="hc_post,mhc_pre")
    assert code == 0 and lines[-1] == "ALL OK", lines
    # per family: equal to the baseline, reruns equal (no graph replay on the CPU); hc_post has one
    # family (no Sinkhorn), mhc_pre two, with and without the norm weight
    assert sum(line.startswith("ok ") for line in lines) == 2 + 2 * 2 * 2, lines


def test_hc_head_has_one_family_and_pre_big_fuse_two(capsys):
    """The spread-logits family is for a Sinkhorn's comb logits: hc_head's hc_base has n entries, no comb."""
    code, lines = _run(capsys, "torch", op="hc_head,pre_big_fuse")
    assert code == 0 and lines[-1] == "ALL OK", lines
    assert sum(line.startswith("ok ") and "hc_head" in line for line in lines) == 2, lines
    assert sum(line.startswith("ok ") and "pre_big_fuse" in line for line in lines) == 4, lines
    assert not any("hc_head" in line and "spread" in line for line in lines), lines


def test_one_bit_off_fails(capsys):
    code, lines = _run(capsys, f"{__name__}:OneBitOff")
    assert code == 1 and lines[-1] == "1 FAILED", lines
    assert any(line.startswith("FAIL") and "one-bit-off == torch" in line for line in lines), lines


def test_run_to_run_drift_fails(capsys):
    Drifts.calls = 0
    code, lines = _run(capsys, f"{__name__}:Drifts")
    assert code == 1 and any(line.startswith("FAIL") and "reruns == its first call" in line for line in lines), lines


def test_a_crash_is_one_failure_and_the_other_cases_run(capsys):
    code, lines = _run(capsys, f"{__name__}:Crashes", tokens="4,8")
    assert code == 1 and any("planted crash at T = 4" in line for line in lines), lines
    assert any(line.startswith("ok ") and "T=8" in line for line in lines), lines
