"""The nightly GPU stress job as tests: healthy kernels must survive every rerun, planted races must not.

Cases are spread over the xdist workers (one GPU each, see conftest.py). On a machine without a GPU
the backends are unavailable and the tests skip, saying so.
"""

import json
import os
from pathlib import Path

import pytest

from mhc_verify.cases import Case
from mhc_verify.stress import DEFAULT_JUDGE_BUDGET, ENGINE_SPLITS, plot_heatmap, splits_for, stress_case

H = 7168
HEALTHY = [(backend, op, t) for backend in ("tilelang", "tile_kernels")
           for op in ("mhc_pre", "hc_post") for t in (65_536, 80_000, 13_313)]
# the prenorm_gemm op alone (TileKernels has none): its schedule differs from the fused pre's GEMM
# (no chunks up to 4096 tokens, a 3-stage pipeline), and --vary-config reruns it at two CTAs per SM
HEALTHY += [("tilelang", "prenorm_gemm", t) for t in (80_000, 4093)]
# decode and middle counts at the split count an engine passes there (16): where our kernels take the
# decode / middle paths and the prenorm_gemm op cuts each split into chunks (its K ranges follow S)
AT_ENGINE_SPLITS = [("tilelang", "prenorm_gemm", 256), ("tilelang", "prenorm_gemm", 1024),
                    ("tilelang", "mhc_pre", 32), ("tilelang", "fused_post_pre", 64)]
PLANTED = [("mhc_kernels.tilelang.planted:SplitKNoAtomic", "prenorm_gemm", 4093),
           ("mhc_kernels.tilelang.planted:WorkspaceNotZeroed", "prenorm_gemm", 4093),
           ("mhc_kernels.tilelang.planted:TailSkipsRows", "prenorm_gemm", 65_537),
           ("mhc_kernels.tilelang.planted:Int32Offset", "hc_post", 80_000)]


def _record(request, result) -> None:
    out = Path(request.config.getoption("--stress-out"))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.jsonl", "a") as fh:
        # which worker ran it on which GPU: the evidence that xdist spread the job over the GPUs
        fh.write(json.dumps({"summary": result.summary(), "failures": len(result.failures),
                             "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                             "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}) + "\n")
    plot_heatmap(result, out / f"heatmap-{result.backend}-{request.node.callspec.id}.png")


_PARTITIONS: list = []


def _sm_partitions():
    """One set of green-context partitions per worker (its GPU); creating them fails loudly."""
    import torch

    from mhc_verify.sm_partitions import SmPartitions

    if not _PARTITIONS:
        _PARTITIONS.append(SmPartitions(torch.device("cuda")))
    return _PARTITIONS[0]


@pytest.mark.parametrize("backend_name,op,tokens", HEALTHY)
def test_healthy_kernel_survives_every_rerun(mhc_backend, request, backend_name, op, tokens):
    backend = mhc_backend(backend_name)
    case = Case(op=op, T=tokens, n=4, H=H, family="normal", seed=tokens)
    # fp64 judging at most 5x the kernel's time (issue 5): every rerun is still compared bitwise.
    # Every backend also reruns on 1/2-1/8 of the SMs (ours: results/gpu/2026-11-25-h100x2-session3;
    # TileKernels: results/gpu/2026-11-25-h100-h200-session4, 0/300 for mhc_pre and hc_post), ours
    # also in its other GEMM configurations (TileKernels has none to offer).
    result = stress_case(backend, case, request.config.getoption("--stress-reruns"),
                         judge_budget=DEFAULT_JUDGE_BUDGET, vary_config=backend_name == "tilelang",
                         partitions=_sm_partitions())
    _record(request, result)
    assert not result.failures, result.summary()


@pytest.mark.parametrize("backend_name,op,tokens", AT_ENGINE_SPLITS)
def test_healthy_kernel_survives_every_rerun_at_an_engines_split_count(mhc_backend, request, backend_name, op,
                                                                        tokens):
    backend = mhc_backend(backend_name)
    splits, = splits_for(ENGINE_SPLITS, op, tokens, H, backend)
    case = Case(op=op, T=tokens, n=4, H=H, family="normal", seed=tokens, n_splits=splits)
    result = stress_case(backend, case, request.config.getoption("--stress-reruns"),
                         judge_budget=DEFAULT_JUDGE_BUDGET, cuda_graph=True)
    _record(request, result)
    assert not result.failures, result.summary()


@pytest.mark.parametrize("spec,op,tokens", PLANTED)
def test_planted_race_is_caught(mhc_backend, request, spec, op, tokens):
    backend = mhc_backend(spec)
    case = Case(op=op, T=tokens, n=4, H=H, family="normal", seed=tokens)
    result = stress_case(backend, case, min(100, request.config.getoption("--stress-reruns")), judge_every=10)
    _record(request, result)
    assert result.failures, f"planted bug not caught: {result.summary()}"
