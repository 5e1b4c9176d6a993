"""Does a TF32 GEMM that TRUNCATES its operands drift at depth, where one that rounds them does not?

The hypothesis behind sglang-tilelang's depth flag (README, findings: its residual drifts toward
zero at layer 1 on an H200 while the fp32 backends do not): Hopper's TF32 MMA fed raw fp32 bits
drops the low 13 mantissa bits of each operand, which shrinks every product toward zero, the mix
logits by ~1e-3 relative, the comb Sinkhorn's contrast with them, and so the residual.

Two planted CPU kernels imitate the two conversions: the torch backend with its prenorm GEMM fed
operands truncated / rounded to TF32 (mhc_verify.tf32), fp32 accumulation. They declare TF32, as
sglang-tilelang does for the ops that run its GEMM, so the per-op check judges them with the same
bound. They live here, not in the mutants catalogue (kernels/mutants): a mutant is a bug the
per-op check must kill, and both of these are inside the declared TF32 bound by construction
(the bound allows a full TF32 ulp of input error, any rounding mode).
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mhc_kernels.base import Precision
from mhc_kernels.torch_native import TorchNativeBackend, prenorm_gemm_fp32
from mhc_verify.cases import Case, build_inputs
from mhc_verify.depth import biased_layer, swap_verdict
from mhc_verify.depth_chain import ChainShape, run_chains
from mhc_verify.runner import run_case
from mhc_verify.swap import LESS, SAME
from mhc_verify.tf32 import tf32_round_nearest, tf32_truncate

# sglang-tilelang's declaration for the ops that run its TF32 GEMM (kernels/sglang/backend.py _TF32)
_TF32 = Precision(matmul="tf32", elementwise_ulps=4.0, deterministic=True)
# (plus hc_head, which sglang-tilelang lacks and the torch backend computes with the same GEMM)
_GEMM_OPS = ("prenorm_gemm", "mhc_pre", "fused_post_pre", "hc_head")


class _Tf32Gemm(TorchNativeBackend):
    precision = {op: _TF32 for op in _GEMM_OPS}
    convert = staticmethod(lambda v: v)

    def _gemm(self, x, fn, n_splits):
        # x arrives in bf16 (exact in TF32: 8 significant bits); converted all the same, as the brief's
        # kernel converts both fp32 operands
        xc = self.convert(x.float())
        return prenorm_gemm_fp32(xc, self.convert(fn.float().contiguous()), n_splits)


class TruncatingTf32(_Tf32Gemm):
    """The prenorm GEMM on TF32 operands truncated toward zero (low 13 mantissa bits cleared)."""

    name = "planted-tf32-truncate"
    convert = staticmethod(tf32_truncate)


class RoundingTf32(_Tf32Gemm):
    """The prenorm GEMM on TF32 operands rounded to nearest, ties to even."""

    name = "planted-tf32-nearest"
    convert = staticmethod(tf32_round_nearest)


# The shape: L = 2 layers (the flag's threshold is 1e-6 / L), 2048 tokens (the drift test's samples:
# its z grows with sqrt(T)), H = 256 (the chains' cost). Measured over seeds 0-11 (numbers in the
# commit message of this test): truncation drifts toward zero at layer 1 on 12 / 12 seeds and is
# flagged on 11 (layer-1 drift -0.0026 to -0.0078 ulps, p 5e-6 to 4e-66); round-to-nearest and
# fp32 torch are flagged on none (smallest p 5e-3 and 7e-3). At test_depth.py's shape (8 layers,
# 512 tokens) truncation is flagged on only 5 of 12 seeds: too few tokens.
TF32_SHAPE = dict(layers=2, tokens=2048, hidden=256)
TF32_SEEDS = range(6)


@pytest.fixture(scope="module")
def tf32_chains():
    out = {}
    for seed in TF32_SEEDS:
        shape = ChainShape(seed=seed, **TF32_SHAPE)
        out[seed] = {r.backend: r for r in run_chains([TorchNativeBackend(), TruncatingTf32(), RoundingTf32()], shape)}
    return out


@pytest.mark.parametrize("backend", [TruncatingTf32, RoundingTf32], ids=lambda b: b.name)
@pytest.mark.parametrize("op, tokens, hidden", [("fused_post_pre", 8, 256), ("mhc_pre", 8, 256),
                                                ("prenorm_gemm", 8, 256), ("fused_post_pre", 64, 7168)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_tf32_conversions_pass_the_per_op_check(backend, op, tokens, hidden, seed):
    result = run_case(backend(), Case(op, tokens, 4, hidden, seed=seed))
    assert result.status == "pass", result.summary()


def test_the_planted_kernels_really_convert_to_tf32():
    """Neither is the fp32 kernel in disguise: exact-integer fn (13 significant bits) is changed by
    both conversions, differently, so both are judged as TF32 or they fail."""
    case = Case("prenorm_gemm", 8, 4, 256, seed=0, family="exact_int")
    fp32 = run_case(TorchNativeBackend(), case)
    assert fp32.status == "pass"
    inputs = build_inputs(case, "cpu")
    outs = {b.name: b.run("prenorm_gemm", inputs, {"n_splits": 1})["mixes_partial"]
            for b in (TorchNativeBackend(), TruncatingTf32(), RoundingTf32())}
    assert not torch.equal(outs["torch"], outs["planted-tf32-truncate"])
    assert not torch.equal(outs["torch"], outs["planted-tf32-nearest"])
    assert not torch.equal(outs["planted-tf32-truncate"], outs["planted-tf32-nearest"])
    declared_fp32 = type("Fp32Declared", (TruncatingTf32,), {"precision": {}})()
    assert run_case(declared_fp32, case).status == "fail"  # TF32 behind an fp32 declaration is caught per op


def test_truncating_tf32_is_biased_at_depth_and_rounding_is_not(tf32_chains):
    layers = TF32_SHAPE["layers"]
    flagged = {s: biased_layer(c["planted-tf32-truncate"], layers) for s, c in tf32_chains.items()}
    drifts = {s: c["planted-tf32-truncate"].errors["residual"][0].drift_ulps for s, c in tf32_chains.items()}
    assert all(d < 0 for d in drifts.values()), drifts  # toward zero, as the H200's sglang-tilelang
    assert sum(f is not None for f in flagged.values()) >= len(TF32_SEEDS) - 1, flagged
    for seed, chains in tf32_chains.items():
        assert biased_layer(chains["planted-tf32-nearest"], layers) is None, seed
        assert biased_layer(chains["torch"], layers) is None, seed
        truncated = chains["planted-tf32-truncate"].errors["residual"][0].drift_ulps
        rounded = chains["planted-tf32-nearest"].errors["residual"][0].drift_ulps
        assert truncated < rounded, (seed, truncated, rounded)


def test_the_swap_from_rounding_to_truncating_tf32_is_less_accurate_at_depth(tf32_chains):
    """What the H200 said of sglang-torch -> sglang-tilelang, said of the planted pair."""
    chains = next(c for c in tf32_chains.values() if biased_layer(c["planted-tf32-truncate"], TF32_SHAPE["layers"]))
    verdict, reasons = swap_verdict(chains["planted-tf32-nearest"], chains["planted-tf32-truncate"],
                                    TF32_SHAPE["layers"])
    assert verdict == LESS and any("biased" in r for r in reasons), reasons
    assert swap_verdict(chains["planted-tf32-truncate"], chains["planted-tf32-nearest"],
                        TF32_SHAPE["layers"])[0] == SAME


def test_the_probe_script_selftest_passes():
    script = Path(__file__).resolve().parents[1] / "scripts" / "debug" / "tf32_probe.py"
    proc = subprocess.run([sys.executable, str(script), "--cpu-selftest"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith(": ok")
