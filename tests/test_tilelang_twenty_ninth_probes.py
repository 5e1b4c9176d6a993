"""The twenty-ninth session's probes (mid_probes): TileLangLaneVectors (sinkhorn.py's "lane_vectors" Sinkhorn in every
fused pre to 4096 tokens), TileLangPreOpSchedule (mhc_pre's and fused_post_pre's GEMM above the middle path on the
prenorm_gemm op's schedule) and the gate probe TileLangTwentyNinth. On the CPU: which calls take them (launches
recorded, nothing computed) and that the precompile has every launch. The Sinkhorn's bits are the CPU emulator's
(tests/test_tilelang_sinkhorn_vectors.py); the outputs are judged on a GPU (the lease call's gate)."""

import pytest

from mhc_kernels.tilelang.backend import OP_K_TILES, WIDE_K_TILES
from mhc_kernels.tilelang.decode_backend import MID_MAX_TOKENS, TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangLaneVectors, TileLangPreOpSchedule, TileLangTwentyNinth
from test_tilelang_decode import rec  # noqa: F401  (a fixture)
from test_tilelang_twenty_eighth_probes import _job_key, _jobs, _launches, _pre_call

PRE_OPS = ("mhc_pre", "fused_post_pre", "pre_big_fuse")
SINKHORN_KERNELS = ("decode_pre", "decode_pre_cluster", "pre_big_fuse_overlap")


@pytest.mark.parametrize("probe", [TileLangLaneVectors, TileLangTwentyNinth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", PRE_OPS)
@pytest.mark.parametrize("tokens", [1, 16, 32, 64, 256, 1024, 4096])
def test_the_lane_vectors_probe_changes_the_sinkhorn_layout_alone(rec, probe, hidden, op, tokens):
    """The default's launches; each fused pre's with sinkhorn_layout "lane_vectors" (a precompile job), every other
    launch's keywords the default's."""
    call = _pre_call(op, tokens, hidden)
    got, default = _launches(rec, probe(), call), _launches(rec, TileLangDecode(), call)
    assert [launch[0][:2] for launch in got] == [launch[0][:2] for launch in default]
    fused = [i for i, launch in enumerate(default) if launch[0][0] in SINKHORN_KERNELS]
    assert fused, "no fused pre: the probe's subject is not in this call"
    for i, (launch, want) in enumerate(zip(got, default)):
        if i in fused:
            assert want[1].get("sinkhorn_layout") == TileLangDecode.sinkhorn_layout == "gather_rcp"
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


@pytest.mark.parametrize("probe", [TileLangPreOpSchedule, TileLangTwentyNinth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op", ["mhc_pre", "fused_post_pre"])
@pytest.mark.parametrize("tokens", [4096, 4097, 8192, 65536, 80000])
def test_the_op_schedule_probe_runs_the_ops_gemm_above_the_middle_path(rec, probe, hidden, op, tokens):
    """Above 4096 tokens the pre's GEMM is the op's: TMA, OP_K_TILES, the op's chunks (one CTA per SM at most: one
    chunk from 132 token blocks), its sub-partials unsummed (no chunk_sum) into pre.py's fused pre; at 4096 and
    below the default's launches."""
    call = _pre_call(op, tokens, hidden)
    got, default = _launches(rec, probe(), call), _launches(rec, TileLangDecode(), call)
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
    assert was[1].get("tma", False) == (tokens >= TileLangDecode.pre_gemm_tma_from_tokens)
    assert gemm[0][2][2][0] == 16  # [S * chunks, T, M]: S = 16, one chunk (33+ token blocks x 16 > 132 SMs)
    assert _job_key(gemm) in _jobs(hidden)


def test_the_op_schedule_knob_is_in_the_provenance():
    assert TileLangPreOpSchedule().provenance()["pre_gemm_op_schedule_from"] == MID_MAX_TOKENS + 1
    assert "pre_gemm_op_schedule_from" not in TileLangDecode().provenance()
