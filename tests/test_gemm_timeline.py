"""scripts/debug/gemm_timeline.py: its arithmetic on stamps whose answer is known, and the stamps build of the kernel
(gemm_multicast's stamps: the clocks read at the six points, nothing else changed). The run itself is a GPU step
(results/gpu/2026-12-07-h100-engines-30/lease/call1.sh and call2.sh, which ran it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from mhc_kernels.tilelang.gemm_multicast import STAMP_POINTS, build_prenorm_gemm_multicast

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def timeline():
    spec = importlib.util.spec_from_file_location("gemm_timeline", ROOT / "scripts" / "debug" / "gemm_timeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(calls=3, ctas=4, period_ns=6000, cycles_per_ns=2.0):
    """Stamps of calls `period_ns` apart; CTA k enters 10 k ns late; phases 1000 / 500 / 2000 / 300 / 200 ns."""
    offsets = [0, 1000, 1500, 3500, 3800, 4000]
    rows = torch.zeros(calls, ctas, 1 + 2 * STAMP_POINTS, dtype=torch.int64)
    for i in range(calls):
        for k in range(ctas):
            rows[i, k, 0] = k % 2  # two SMs
            for p, off in enumerate(offsets):
                ns = 1_000_000 + i * period_ns + 10 * k + off
                rows[i, k, 1 + p] = ns
                rows[i, k, 1 + STAMP_POINTS + p] = int(ns * cycles_per_ns) + 77 * k  # an SM clock's own origin
    return rows


def test_the_phases_and_the_call_gaps_come_out_as_stamped(timeline):
    s = timeline.summarize(_rows())
    assert s["cycles_per_ns"] == pytest.approx(2.0)
    assert [round(s["phases"][name][0], 3) for name, _, _ in timeline.PHASES] == [1.0, 0.5, 2.0, 0.3, 0.2]
    first = s["calls"][0]  # call 1: calls 0 is left out
    assert first["launch to release"] == pytest.approx(1.0) and first["release spread"] == pytest.approx(0.03)
    assert first["span"] == pytest.approx(4.03) and first["gap to next release"] == pytest.approx(6.0 + 1.0 - 4.03)
    assert s["calls"][-1]["gap to next release"] != s["calls"][-1]["gap to next release"]  # the last: no next call
    assert s["sms"] == [2, 2] and len(s["calls"]) == 2
    text = timeline.report(s, "t")
    assert "| first to last tile | 2.00 | 2.00 |" in text and "| gap to next release | 2.97 |" in text


def test_the_stamps_build_reads_the_clocks_at_its_six_points_beside_the_same_pipeline():
    import tilelang

    from mhc_kernels.tilelang import _build

    def source(**kw):
        return tilelang.compile(build_prenorm_gemm_multicast(4, 4096, 24, True, cluster=1, fn3_first=True,
                                                             early_trigger=True, **kw),
                                target={"kind": "cuda", "arch": "sm_90a"},
                                pass_configs=_build.pass_configs(tma=True, own_pipeline=True)).get_kernel_source()

    plain, stamped = source(), source(stamps=True)
    assert "globaltimer" not in plain and "stamp_rows" not in plain
    assert stamped.count("= ((int64_t)mhc_globaltimer());") == STAMP_POINTS
    assert stamped.count("= ((int64_t)mhc_clock64());") == STAMP_POINTS
    assert stamped.count("mhc_smid()") == 2  # its definition and the one store
    # the same loads, barriers and tensor-core calls as the plain build
    for token in ("tl::tma_load(", ".wait(", ".arrive(", "expect_transaction(", "wgmma",
                  "cudaGridDependencySynchronize"):
        assert stamped.count(token) == plain.count(token), token
