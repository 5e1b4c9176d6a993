"""mhc-verify depth on planted kernels: a kernel whose Sinkhorn output is a hair too small (comb_mix
scaled by 1 - COMB_SHRINK, inside the per-op bound on normal inputs) passes the per-op check and is
caught at depth as biased (its streams drift toward zero); healthy fp32 kernels (torch, and torch
with another summation order) are not flagged, and swapping one for the other is "at least as
accurate"."""

import json

import pytest

from mhc_kernels.torch_native import TorchNativeBackend, prenorm_gemm_fp32
from mhc_verify.cases import Case
from mhc_verify.cli import main
from mhc_verify.depth import biased_layer, swap_verdict
from mhc_verify.depth_chain import ChainShape, run_chains
from mhc_verify.runner import run_case
from mhc_verify.swap import LESS, SAME

COMB_SHRINK = 5e-5
SHAPE = ChainShape(layers=8, tokens=512, hidden=256, seed=0)


class ShrunkComb(TorchNativeBackend):
    """comb_mix slightly below doubly stochastic: every layer's streams shrink by ~COMB_SHRINK."""

    name = "planted-shrunk-comb"

    def _sinkhorn(self, comb_logits, sinkhorn_repeat, hc_sinkhorn_eps):
        return super()._sinkhorn(comb_logits, sinkhorn_repeat, hc_sinkhorn_eps) * (1 - COMB_SHRINK)


class ReversedSum(TorchNativeBackend):
    name = "planted-reversed-sum"

    def _gemm(self, x, fn, n_splits):
        return prenorm_gemm_fp32(x.flip(-1).contiguous(), fn.flip(-1).contiguous(), n_splits)


@pytest.fixture(scope="module")
def chains():
    results = run_chains([TorchNativeBackend(), ReversedSum(), ShrunkComb()], SHAPE)
    return {r.backend: r for r in results}


@pytest.mark.parametrize("op", ["fused_post_pre", "mhc_pre"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_planted_bias_passes_the_per_op_check(op, seed):
    result = run_case(ShrunkComb(), Case(op, 8, 4, 256, seed=seed))
    assert result.status == "pass", result.summary()


def test_depth_catches_the_planted_bias_and_not_the_healthy_kernels(chains):
    assert biased_layer(chains["planted-shrunk-comb"], SHAPE.layers) is not None
    assert biased_layer(chains["torch"], SHAPE.layers) is None
    assert biased_layer(chains["planted-reversed-sum"], SHAPE.layers) is None
    verdict, reasons = swap_verdict(chains["torch"], chains["planted-shrunk-comb"], SHAPE.layers)
    assert verdict == LESS and "biased" in reasons[0], reasons
    assert swap_verdict(chains["torch"], chains["planted-reversed-sum"], SHAPE.layers) == (SAME, [])


def test_the_two_healthy_chains_really_differ_and_errors_grow_with_depth(chains):
    torch_res, rev_res = chains["torch"].errors["residual"], chains["planted-reversed-sum"].errors["residual"]
    assert any(a.rms_ulps != b.rms_ulps for a, b in zip(torch_res, rev_res))
    assert torch_res[-1].rms_ulps > torch_res[0].rms_ulps > 0


def test_the_command_writes_the_report_and_fails_on_the_bias(tmp_path, capsys):
    code = main(["depth", "--from", "torch", "--to", "test_depth:ShrunkComb", "--layers", "4", "--tokens", "512",
                 "--hidden", "256", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "depth.json").read_text())
    assert code == 1, out
    assert report["swap"]["verdict"] == LESS and report["meta"]["shape"]["layers"] == 4
    assert "depth_errors.png" in (tmp_path / "depth.md").read_text()
    assert main(["depth", "--backend", "torch", "--layers", "2", "--tokens", "4", "--hidden", "64",
                 "--out", str(tmp_path)]) == 2  # the earlier report is not overwritten without --force


def test_several_swaps_are_judged_from_one_run_of_the_chains(tmp_path, capsys):
    code = main(["depth", "--swap", "torch:test_depth:ShrunkComb", "--swap", "test_depth:ShrunkComb::torch",
                 "--layers", "4", "--tokens", "512", "--hidden", "256", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "depth.json").read_text())
    assert code == 1
    assert [(s["from"], s["to"], s["verdict"]) for s in report["swaps"]] == [
        ("torch", "test_depth:ShrunkComb", LESS), ("test_depth:ShrunkComb", "torch", SAME)]
    assert len(report["backends"]) == 2  # each chain ran once


def test_a_stopped_run_writes_the_layers_it_finished(tmp_path, monkeypatch, capsys):
    """`timeout` stops a long depth run: the report keeps the layers every chain finished, says it was
    interrupted, and the command fails (never a pass)."""
    import mhc_verify.depth_chain as chain

    real = chain.block_map

    def stop_at_layer_3(shape, layer, device):
        if layer == 3:
            raise KeyboardInterrupt
        return real(shape, layer, device)

    monkeypatch.setattr(chain, "block_map", stop_at_layer_3)
    code = main(["depth", "--backend", "torch", "--layers", "5", "--tokens", "8", "--hidden", "64",
                 "--out", str(tmp_path)])
    report = json.loads((tmp_path / "depth.json").read_text())
    assert code == 1
    assert report["meta"]["interrupted"] == "stopped after layer 2 of 5"
    assert [e["layer"] for e in report["backends"][0]["layers"]["residual"]] == [1, 2]
    assert "INTERRUPTED" in (tmp_path / "depth.md").read_text()
