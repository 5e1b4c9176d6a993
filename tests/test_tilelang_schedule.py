"""The prenorm GEMM's schedule rule (TileLangBackend.gemm_schedule), on CPU with a pretend SM count.

Handed on unsummed (the fused pre), a split's K range is cut into chunks until every SM has several
CTAs; summed back (the prenorm_gemm op), only while the doubled grid still fits one CTA per SM,
because the sum is a launch of its own (scripts/debug/gemm_schedules.py measured both on a GPU).
"""

import pytest
import torch

from mhc_kernels.tilelang import backend as be

SMS = 132
DEVICE = torch.device("cuda")  # never touched: the SM count is pretended below


@pytest.fixture(autouse=True)
def pretend_sms(monkeypatch):
    monkeypatch.setitem(be._SM_COUNT, str(DEVICE), SMS)


@pytest.mark.parametrize("tokens,hidden,splits", [(1, 7168, 1), (1024, 7168, 1), (1024, 7168, 16), (4096, 4096, 4),
                                                  (4096, 7168, 4), (4096, 7168, 1), (16384, 7168, 1),
                                                  (65536, 7168, 1), (80000, 4096, 1), (4093, 5120, 2)])
def test_the_op_cuts_chunks_only_up_to_one_cta_per_sm(tokens, hidden, splits):
    backend = be.TileLangBackend()
    plan = backend.gemm_schedule(tokens, 4, hidden, splits, True, DEVICE)
    ctas = -(-tokens // plan.block_m) * splits * plan.chunks
    k_tiles = 4 * hidden // plan.block_k
    assert plan.chunks == 1 or ctas <= SMS, (plan, ctas)
    # ... and no fewer than that: one more doubling would pass the SMs or the minimum K tiles per CTA
    tiles = k_tiles // splits
    more_fits = (2 * ctas <= SMS and tiles % (2 * plan.chunks) == 0
                 and tiles // (2 * plan.chunks) >= backend.min_tiles_per_chunk)
    assert not more_fits, (plan, ctas)


def test_the_fused_pre_keeps_several_ctas_per_sm():
    backend = be.TileLangBackend()
    unsummed = backend.gemm_schedule(4096, 4, 7168, 4, False, DEVICE)
    summed = backend.gemm_schedule(4096, 4, 7168, 4, True, DEVICE)
    assert (unsummed.chunks, summed.chunks) == (2, 1)  # 256 CTAs handed on, 128 summed back (no sum)
    assert be.TileLangNarrowTiles().gemm_schedule(4096, 4, 7168, 4, True, DEVICE).chunks == 8  # the old rule


def test_chunks_are_whole_k_tiles_and_powers_of_two():
    backend = be.TileLangBackend()
    for tokens in (1, 7, 64, 1023, 1024, 4096, 65536):
        for hidden in (64, 256, 4096, 5120, 7168):
            for splits in (1, 2, 4, 16):
                if (4 * hidden) % (splits * 64):
                    continue
                for reduce in (False, True):
                    plan = backend.gemm_schedule(tokens, 4, hidden, splits, reduce, DEVICE)
                    k_tiles = 4 * hidden // plan.block_k
                    assert plan.chunks & (plan.chunks - 1) == 0
                    assert (k_tiles // splits) % plan.chunks == 0, (tokens, hidden, splits, plan)


def test_only_the_op_runs_the_three_stage_pipeline():
    backend = be.TileLangBackend()
    for tokens in (1024, 4096, 80000):
        op = backend.gemm_schedule(tokens, 4, 7168, 1, True, DEVICE)
        pre = backend.gemm_schedule(tokens, 4, 7168, 1, False, DEVICE)
        assert op.block_m == pre.block_m == 128
        assert op.tunables["num_stages"] == 3 and pre.tunables["num_stages"] == 2
        # the same K tile and threads per row: the sum of squares flushes at the same columns
        assert {k: v for k, v in op.tunables.items() if k != "num_stages"} == \
               {k: v for k, v in pre.tunables.items() if k != "num_stages"}
    small = backend.gemm_schedule(1023, 4, 7168, 16, True, DEVICE)
    assert small.block_m == 64 and small.tunables == be.WIDE_K_TILES[64]
    # a split that is not whole 128-wide K tiles falls back to the kernel's defaults, op or not
    assert backend.gemm_schedule(4096, 4, 7168, 64, True, DEVICE).tunables == {}  # 448 columns per split


def test_the_reduction_path_is_recorded_in_provenance():
    prov = be.TileLangBackend().provenance()
    assert prov["reduce_chunks_with"] == "kernel_loads_first" and prov["one_wave_when_reducing"] is True
    assert be.TileLangNarrowTiles().provenance()["reduce_chunks_with"] == "torch"
