"""Every distinct failure of a (backend, op) is reported with its own minimal reproducer: a crash
at T = 0 must not hide a wrong value at small T (seen with vLLM's fused post+pre: the T = 0 error
was the verdict and the only reproducer), and failing anchors must not stop the search."""

import json
from dataclasses import replace

import torch

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify.session import check_pair, stats_from_json, stats_to_json
from mhc_verify.strategies import PROFILES


class CrashesAtZeroAndWrongWhenSmall(TorchNativeBackend):
    """Two independent bugs: no guard at T = 0 (a launch with an empty grid), and the first stream
    of every token off by a few percent at T <= 32."""

    name = "two-bugs"

    def hc_post(self, x, residual, post_mix, comb_mix):
        if residual.shape[0] == 0:
            raise RuntimeError("grid dimension must be positive")
        out = super().hc_post(x, residual, post_mix, comb_mix)
        if residual.shape[0] <= 32:
            out = out.clone()
            out[:, 0] = (out[:, 0].float() * 1.03).to(out.dtype)
        return out


class WrongEverywhere(TorchNativeBackend):
    name = "wrong-everywhere"

    def hc_post(self, x, residual, post_mix, comb_mix):
        return (super().hc_post(x, residual, post_mix, comb_mix).float() * 1.01).to(torch.bfloat16)


def test_a_crash_and_a_wrong_value_each_get_their_own_reproducer(tmp_path):
    stats = check_pair(CrashesAtZeroAndWrongWhenSmall(), "hc_post", PROFILES["ci"], max_examples=60,
                       repro_dir=tmp_path, use_target=False)
    kinds = [f["kind"] for f in stats.failures]
    assert "bound out" in kinds and "error RuntimeError" in kinds, kinds
    assert stats.verdict == "FAIL"  # a wrong value outranks a crash in the verdict
    by_kind = {f["kind"]: f for f in stats.failures}
    assert by_kind["error RuntimeError"]["case"]["T"] == 0
    assert 1 <= by_kind["bound out"]["case"]["T"] <= 32
    files = {f["reproducer_file"] for f in stats.failures}
    assert len(files) == 2 and all(json.loads(open(p).read())["case"] for p in files)
    assert "2 failure kinds" in stats.reason
    # the kinds survive the report's JSON (merge reads them back)
    assert [f["kind"] for f in stats_from_json(stats_to_json(stats)).failures] == kinds


def test_failing_anchors_do_not_stop_the_run_or_the_report(tmp_path):
    """Before: Hypothesis' "found 2 distinct failures in explicit examples" escaped check_pair and
    no report was written. Now every anchor is judged and the pair still gets its verdict."""
    profile = replace(PROFILES["ci"], anchors=((1, 256), (33, 128), (5, 64)))
    stats = check_pair(WrongEverywhere(), "hc_post", profile, max_examples=3, repro_dir=tmp_path,
                       use_target=False)
    assert stats.verdict == "FAIL"
    assert [f["kind"] for f in stats.failures] == ["bound out"]
    assert stats.cases >= 3


def test_a_lost_device_stops_the_run_with_the_faulting_case_and_a_report(tmp_path, monkeypatch):
    """A kernel fault that poisons the CUDA context (an illegal address) is sticky: the check stops
    there, keeps the faulting case as its own failure kind with a reproducer, and writes the report
    saying which pairs did not run (seen on an H200: the process died with a traceback and no
    report). The lost context is simulated: device_lost reports it after the faulting case."""
    from mhc_verify import runner, session
    from mhc_verify.cli import main

    faults = []

    class FaultsAtSeven(TorchNativeBackend):
        name = "faults-at-seven"

        def hc_post(self, x, residual, post_mix, comb_mix):
            if residual.shape[0] == 7:
                faults.append(7)
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            return super().hc_post(x, residual, post_mix, comb_mix)

    monkeypatch.setattr(session, "device_lost", lambda backend: "AcceleratorError: illegal address" if faults else None)
    import sys
    sys.modules[__name__].FaultsAtSeven = FaultsAtSeven
    profile = replace(PROFILES["ci"], anchors=((1, 256), (7, 128)))
    monkeypatch.setitem(PROFILES, "ci", profile)
    code = main(["check", "--backend", f"{__name__}:FaultsAtSeven", "--op", "hc_post", "--op", "mhc_pre",
                 "--examples", "3", "--out", str(tmp_path), "--no-progress"])
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert "device lost" in report["meta"]["interrupted"]
    (pair,) = [r for r in report["results"] if r["op"] == "hc_post"]
    assert pair["failures"][0]["kind"].startswith("device lost") and pair["failures"][0]["case"]["T"] == 7
    assert pair["failures"][0]["reproducer_file"]
    assert not [r for r in report["results"] if r["op"] == "mhc_pre"]  # not run, and not reported as run
