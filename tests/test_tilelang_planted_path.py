"""The planted GEMM races run the healthy backend's GEMM path with only their kernel swapped: the
same output shapes and reduction, the kernel's default tunables, one CTA pair per split (no chunks),
fn split per call, outputs zeroed where the race adds into them. On the CPU, the launch recorded."""

import pytest
import torch

from mhc_kernels.tilelang import backend as be
from mhc_kernels.tilelang import gemm
from mhc_kernels.tilelang.planted import SplitKNoAtomic, TailSkipsRows, WorkspaceNotZeroed


@pytest.fixture
def launches(monkeypatch):
    calls = []

    def fake_launch(x, fn, mixes, sqrsum, n, hidden, block_m, target, planted=None, fn3=None, **tunables):
        calls.append({"planted": planted, "fn3": fn3 is not None, "block_m": block_m, "tunables": tunables,
                      "zeroed": bool((mixes == 0).all() and (sqrsum == 0).all()), "shape": tuple(mixes.shape)})

    monkeypatch.setattr(gemm, "prenorm_gemm", fake_launch)
    monkeypatch.setattr(gemm, "split_fn", lambda fn, target: gemm.split_fn_reference(fn))
    monkeypatch.setattr(be.TileLangBackend, "_target", staticmethod(lambda: None))
    monkeypatch.setitem(be._SM_COUNT, "cpu", 132)
    return calls


@pytest.mark.parametrize("cls,planted,zeroed", [(SplitKNoAtomic, "splitk_no_atomic", True),
                                                (WorkspaceNotZeroed, "workspace_not_zeroed", None),
                                                (TailSkipsRows, "tail_skips_rows", None)])
def test_planted_backends_swap_only_the_kernel(monkeypatch, launches, cls, planted, zeroed):
    monkeypatch.setattr(cls, "_target", staticmethod(lambda: None))  # on the class itself, whatever its base
    x, fn = torch.zeros(100, 4 * 64, dtype=torch.bfloat16), torch.zeros(24, 4 * 64)
    mixes, sqrsum = cls()._gemm(x, fn, 4, 64, 2, reduce=True)
    (call,) = launches
    assert call["planted"] == planted and call["tunables"] == {} and not call["fn3"]
    assert call["shape"] == (2, 100, 24) and call["block_m"] == gemm.block_m_for(100)
    assert zeroed is None or call["zeroed"] == zeroed
    assert tuple(mixes.shape) == (2, 100, 24) and tuple(sqrsum.shape) == (2, 100)


def test_the_healthy_backend_launches_its_schedule(launches):
    x, fn = torch.zeros(100, 4 * 64, dtype=torch.bfloat16), torch.zeros(24, 4 * 64)
    backend = be.TileLangBackend()
    backend._gemm(x, fn, 4, 64, 2, reduce=True)
    (call,) = launches
    plan = backend.gemm_schedule(100, 4, 64, 2, True, torch.device("cpu"))
    assert call["planted"] is None and call["fn3"] and call["tunables"] == plan.tunables
    assert call["shape"] == (2 * plan.chunks, 100, 24)
