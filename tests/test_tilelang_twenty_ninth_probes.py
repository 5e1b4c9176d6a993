"""The twenty-ninth session's probes (mid_probes): TileLangLaneVectors (sinkhorn.py's "lane_vectors" Sinkhorn in every
fused pre to 4096 tokens), TileLangPreOpSchedule (mhc_pre's and fused_post_pre's GEMM above the middle path on the
prenorm_gemm op's schedule) and the gate probe TileLangTwentyNinth, and the default that adopted both (lane_vectors but
in mhc_pre's middle pre at 129-256 x 7168, mid_prefetch_gather_rcp_tokens). On the CPU: which calls take them
(launches recorded, nothing computed) and that the precompile has every launch. The Sinkhorn's bits are the CPU
emulator's (tests/test_tilelang_sinkhorn_vectors.py); the outputs are judged on a GPU (the lease call's gate)."""

import pytest

from mhc_kernels.tilelang import precompile
from mhc_kernels.tilelang.backend import OP_K_TILES, WIDE_K_TILES
from mhc_kernels.tilelang.decode_backend import MID_MAX_TOKENS, TileLangDecode
from mhc_kernels.tilelang.mid_probes import (PRE_GEMM_TMA_FROM_BEFORE, TileLangLaneVectors, TileLangPreOpSchedule,
                                             TileLangTwentyNinth)
from test_tilelang_decode import rec  # noqa: F401  (a fixture)
from test_tilelang_twenty_eighth_probes import _job_key, _jobs, _launches, _pre_call, _set

PRE_OPS = ("mhc_pre", "fused_post_pre", "pre_big_fuse")
SINKHORN_KERNELS = ("decode_pre", "decode_pre_cluster", "pre_big_fuse_overlap")


class _DefaultBefore(TileLangDecode):
    """The default before the twenty-ninth session's adoptions, which the probes were measured against."""

    sinkhorn_layout = "gather_rcp"
    mid_prefetch_gather_rcp_tokens = {}
    pre_gemm_op_schedule_from = None
    pre_gemm_tma_from_tokens = PRE_GEMM_TMA_FROM_BEFORE


def _default_jobs(hidden: int) -> set:
    """precompile.jobs()' keys alone: what the default runs must not need a probe's job."""
    return {(j[1].rpartition(".")[2].removesuffix("_kernel"), j[2], _set(j[3])) for j in precompile.jobs(hidden)}


@pytest.mark.parametrize("probe", [TileLangLaneVectors, TileLangTwentyNinth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", PRE_OPS)
@pytest.mark.parametrize("tokens", [1, 16, 32, 64, 256, 1024, 4096])
def test_the_lane_vectors_probe_changes_the_sinkhorn_layout_alone(rec, probe, hidden, op, tokens):
    """The default's launches; each fused pre's with sinkhorn_layout "lane_vectors" (a precompile job), every other
    launch's keywords the default's."""
    call = _pre_call(op, tokens, hidden)
    got, default = _launches(rec, probe(), call), _launches(rec, _DefaultBefore(), call)
    assert [launch[0][:2] for launch in got] == [launch[0][:2] for launch in default]
    fused = [i for i, launch in enumerate(default) if launch[0][0] in SINKHORN_KERNELS]
    assert fused, "no fused pre: the probe's subject is not in this call"
    for i, (launch, want) in enumerate(zip(got, default)):
        if i in fused:
            assert want[1].get("sinkhorn_layout") == "gather_rcp"
            assert launch[1] == {**want[1], "sinkhorn_layout": "lane_vectors"}
            assert _job_key(launch) in _jobs(hidden)
        else:
            assert launch[1] == want[1]


@pytest.mark.parametrize("probe", [TileLangLaneVectors, TileLangPreOpSchedule, TileLangTwentyNinth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", PRE_OPS)
@pytest.mark.parametrize("tokens", [4097, 8192, 65536, 80000])
def test_above_the_middle_path_the_pres_sinkhorn_is_the_defaults(rec, probe, hidden, op, tokens):
    """pre.py's fused pre (above 4096 tokens) keeps its own Sinkhorn: no lane_vectors launch there."""
    got = _launches(rec, probe(), _pre_call(op, tokens, hidden))
    assert not [launch for launch in got if launch[1].get("sinkhorn_layout") == "lane_vectors"]


@pytest.mark.parametrize("probe", [TileLangPreOpSchedule, TileLangTwentyNinth, TileLangDecode])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", ["mhc_pre", "fused_post_pre"])
@pytest.mark.parametrize("tokens", [4096, 4097, 8192, 65536, 80000])
def test_the_op_schedule_probe_runs_the_ops_gemm_above_the_middle_path(rec, probe, hidden, op, tokens):
    """Above 4096 tokens the pre's GEMM is the op's: TMA, OP_K_TILES, the op's chunks (one CTA per SM at most: one
    chunk from 132 token blocks), its sub-partials unsummed (no chunk_sum) into pre.py's fused pre; at 4096 and
    below the default's launches."""
    call = _pre_call(op, tokens, hidden)
    got, default = _launches(rec, probe(), call), _launches(rec, _DefaultBefore(), call)
    if tokens <= MID_MAX_TOKENS:
        assert [(g[0][:2], {k: v for k, v in g[1].items() if k != "sinkhorn_layout"}) for g in got] == \
            [(d[0][:2], {k: v for k, v in d[1].items() if k != "sinkhorn_layout"}) for d in default]
        return
    names = [launch[0][0] for launch in got]
    assert "chunk_sum" not in names and names[-1] == "pre_big_fuse"
    (gemm,) = [launch for launch in got if launch[0][0] == "prenorm_gemm"]
    (was,) = [launch for launch in default if launch[0][0] == "prenorm_gemm"]
    block_m = gemm[0][1][3]
    assert block_m == 128 and gemm[1].get("tma") is True
    assert {k: gemm[1][k] for k in OP_K_TILES[128]} == OP_K_TILES[128]
    assert {k: was[1][k] for k in WIDE_K_TILES[128]} == WIDE_K_TILES[128]
    assert was[1].get("tma", False) == (tokens >= _DefaultBefore.pre_gemm_tma_from_tokens)
    assert gemm[0][2][2][0] == 16  # [S * chunks, T, M]: S = 16, one chunk (33+ token blocks x 16 > 132 SMs)
    assert _job_key(gemm) in (_default_jobs(hidden) if probe is TileLangDecode else _jobs(hidden))


def test_the_op_schedule_knob_is_in_the_provenance():
    assert TileLangPreOpSchedule().provenance()["pre_gemm_op_schedule_from"] == MID_MAX_TOKENS + 1
    assert TileLangDecode().provenance()["pre_gemm_op_schedule_from"] == MID_MAX_TOKENS + 1
    assert "pre_gemm_op_schedule_from" not in _DefaultBefore().provenance()
    assert TileLangDecode().provenance()["mid_prefetch_gather_rcp_tokens"] == {7168: (129, 256)}


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", PRE_OPS)
@pytest.mark.parametrize("tokens", [1, 16, 32, 33, 64, 128, 129, 192, 256, 257, 512, 1024, 4096])
def test_the_default_runs_lane_vectors_but_in_mhc_pres_middle_pre_at_129_to_256_x_7168(rec, hidden, op, tokens):
    """The adopted default: every fused pre on "lane_vectors" (TileLangLaneVectors' launches), but mhc_pre's middle
    pre with the residual prefetch at 129-256 x 7168, which keeps "gather_rcp" (the default before's launch there);
    every launch a job of precompile.jobs() (no probe job needed)."""
    call = _pre_call(op, tokens, hidden)
    got = _launches(rec, TileLangDecode(), call)
    kept = op == "mhc_pre" and hidden == 7168 and 129 <= tokens <= 256
    want = _launches(rec, _DefaultBefore() if kept else TileLangLaneVectors(), call)
    assert got == want
    layouts = [launch[1].get("sinkhorn_layout") for launch in got if launch[0][0] in SINKHORN_KERNELS]
    assert layouts == ["gather_rcp" if kept else "lane_vectors"]
    if kept:
        (pre,) = [launch for launch in got if launch[0][0] == "pre_big_fuse_overlap"]
        assert pre[1]["prefetch_residual"] is True and pre[1]["parts"] == 56
    assert all(_job_key(launch) in _default_jobs(hidden) for launch in got)


def test_the_old_defaults_pin_the_twenty_ninth_sessions_adoptions_off():
    from mhc_kernels.tilelang import mid_probes

    for old in (mid_probes.TileLangDecode18, mid_probes.TileLangDecode19, mid_probes.TileLangDecode20,
                mid_probes.TileLangDecode22):
        assert (old.sinkhorn_layout, dict(old.mid_prefetch_gather_rcp_tokens), old.pre_gemm_op_schedule_from,
                old.pre_gemm_tma_from_tokens) == ("gather_rcp", {}, None, 67457), old
