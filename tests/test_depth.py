"""mhc-verify depth on planted kernels: a kernel whose Sinkhorn output is a hair too small (comb_mix
scaled by 1 - COMB_SHRINK, inside the per-op bound on normal inputs) passes the per-op check and is
caught at depth as biased (its streams drift toward zero); healthy fp32 kernels (torch, and torch
with another summation order) are not flagged, and swapping one for the other is "at least as
accurate"."""

import json

import pytest
import torch

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
    # each chain ran once, and the correctly rounded baseline chain is reported beside them
    assert [b["backend"] for b in report["backends"]] == ["torch", "planted-shrunk-comb", "correctly-rounded"]


@pytest.mark.parametrize("raised, why", [
    (KeyboardInterrupt(), "stopped after layer 2 of 5"),
    # out of memory in the float64 chain (seen at T = 4096 on a shared H200) ended the command with a
    # traceback and no report
    (torch.OutOfMemoryError("CUDA out of memory (planted)"),
     "stopped after layer 2 of 5 by a harness error: OutOfMemoryError: CUDA out of memory (planted)"),
], ids=["stop", "harness-oom"])
def test_a_stopped_or_failing_run_writes_the_layers_it_finished(tmp_path, monkeypatch, capsys, raised, why):
    """`timeout` stops a long depth run, or the harness fails: the report keeps the layers every chain
    finished, says why it ended, and the command fails (never a pass)."""
    import mhc_verify.depth_chain as chain

    real = chain.block_map

    def stop_at_layer_3(shape, layer, device):
        if layer == 3:
            raise raised
        return real(shape, layer, device)

    monkeypatch.setattr(chain, "block_map", stop_at_layer_3)
    code = main(["depth", "--backend", "torch", "--layers", "5", "--tokens", "8", "--hidden", "64",
                 "--out", str(tmp_path)])
    report = json.loads((tmp_path / "depth.json").read_text())
    assert code == 1
    assert report["meta"]["interrupted"] == why
    assert [e["layer"] for e in report["backends"][0]["layers"]["residual"]] == [1, 2]
    assert "INTERRUPTED" in (tmp_path / "depth.md").read_text()


class NoPre(TorchNativeBackend):
    """Like aiter's Triton kernels: post+pre and post, no mhc_pre of its own."""

    name = "planted-no-pre"

    def implements(self):
        return tuple(op for op in super().implements() if op != "mhc_pre")


def test_a_backend_without_mhc_pre_starts_from_the_rounded_reference_pre():
    shape = ChainShape(layers=2, tokens=8, hidden=64, seed=0)
    torch_chain, no_pre, _ = run_chains([TorchNativeBackend(), NoPre()], shape)
    assert no_pre.error is None, no_pre.error
    assert (torch_chain.first_pre, no_pre.first_pre) == ("backend", "reference")
    assert [e.layer for e in no_pre.errors["residual"]] == [1, 2]
    assert no_pre.errors["layer_input"][-1].rms_ulps < 8, no_pre.errors["layer_input"][-1]  # a sane chain


def test_rounding_alone_drifts_and_a_healthy_kernel_is_judged_against_that_floor():
    """At many tokens the correctly rounded chain (float64 ops, each output rounded once) itself drifts
    significantly from the float64 chain (on an H200 at T = 4096 x 7168, p ~ 1e-26 for every
    backend, torch fp32 included): a healthy kernel is tested for drift in excess of that floor, so it
    is not called biased, while the floor's own drift is reported."""
    shape = ChainShape(layers=1, tokens=32768, hidden=256, seed=0)
    torch_chain, floor = run_chains([TorchNativeBackend()], shape)
    assert floor.backend == "correctly-rounded"
    assert floor.errors["residual"][0].drift_p < 1e-6 and floor.errors["residual"][0].drift_ulps < 0
    assert biased_layer(floor, shape.layers) is None  # the floor is never a finding
    assert biased_layer(torch_chain, shape.layers) is None, torch_chain.errors["residual"][0]
