"""TileLangDecode.pdl_early_max_tokens: which ops, at which T, run the kernels that launch their PDL
dependents early (right after their own wait) and the consumers that load their first residual
block before theirs; and what those variants change in the generated CUDA (only where the trigger
and the residual loads sit). Launches are recorded as in test_tilelang_decode.py, nothing computed."""

import re

import pytest
import torch

from mhc_kernels.tilelang.decode_backend import OP_GEMM_MAX_TOKENS, PDL_EARLY_MAX_TOKENS, TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangDecode19, TileLangPdlEarly, TileLangPdlEarlyFusedPost,
                                             TileLangPdlEarlyFusedPre)
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)

H = 7168


def _kw(rec, name):
    """The keywords of every launch of ``name``."""
    return [kw for (n, _, _), kw in zip(rec.launches, rec.keywords) if n == name]


def _early(kws):
    return [bool(kw.get("early_trigger")) for kw in kws]


def _prefetch(kws):
    return [bool(kw.get("prefetch_residual")) for kw in kws]


def test_the_default_table_is_the_measured_one():
    # sixth session, call 2: mhc_pre to 256 tokens, hc_head, and the prenorm_gemm op (what its gate
    # ran; its whole middle range since the tenth session, as TileLangGemmOpWaveCost's run had it);
    # fused_post_pre was slower with it
    assert dict(PDL_EARLY_MAX_TOKENS) == {"mhc_pre": 256, "hc_head": 1024, "prenorm_gemm": OP_GEMM_MAX_TOKENS}
    assert "fused_post_pre" not in TileLangDecode.pdl_early_max_tokens


@pytest.mark.parametrize("tokens, early", [(1, True), (16, True), (128, True), (256, True), (257, False), (1024, False)])
def test_mhc_pre_gemm_triggers_early_and_its_pre_prefetches_up_to_the_threshold(rec, tokens, early):
    TileLangDecode().mhc_pre(*_pre_args(tokens, H))
    gemm = _kw(rec, "decode_gemm") + _kw(rec, "prenorm_gemm")
    pre = _kw(rec, "decode_pre") + _kw(rec, "decode_pre_cluster") + _kw(rec, "pre_big_fuse_overlap")
    assert len(gemm) == 1 and len(pre) == 1, rec.names
    assert _early(gemm) == [early] and _prefetch(pre) == [early]


@pytest.mark.parametrize("tokens", [1, 32, 128])
def test_fused_post_pre_runs_none_of_it(rec, tokens):
    residual, fn, scale, base, *rest = _pre_args(tokens, H)
    x = torch.zeros(tokens, H, dtype=torch.bfloat16)
    TileLangDecode().fused_post_pre(x, residual, torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), fn, scale,
                                    base, *rest)
    assert not any(kw.get("early_trigger") or kw.get("prefetch_residual") for kw in rec.keywords), rec.keywords


def test_the_probe_runs_it_in_fused_post_pre_too(rec):
    residual, fn, scale, base, *rest = _pre_args(64, H)
    x = torch.zeros(64, H, dtype=torch.bfloat16)
    TileLangPdlEarly().fused_post_pre(x, residual, torch.zeros(64, N, 1), torch.zeros(64, N, N), fn, scale, base,
                                      *rest)
    assert rec.names == ["hc_post_wide", "prenorm_gemm", "pre_big_fuse_overlap"]
    assert _early(_kw(rec, "hc_post_wide")) == [True] and _early(_kw(rec, "prenorm_gemm")) == [True]
    assert _prefetch(_kw(rec, "pre_big_fuse_overlap")) == [True]


def test_pre_big_fuse_never_prefetches_its_callers_residual(rec):
    # the kernel before it is the caller's, which may trigger before its own wait
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(128, H)
    TileLangPdlEarly().pre_big_fuse(torch.zeros(16, 128, MIXES), torch.zeros(16, 128), scale, base, residual, nw,
                                    *eps)
    assert rec.names == ["pre_big_fuse_overlap"] and _prefetch(_kw(rec, "pre_big_fuse_overlap")) == [False]


@pytest.mark.parametrize("tokens, gemm_name, consumer", [(64, "decode_gemm", "decode_head"),
                                                          (256, "prenorm_gemm", "collapse")])
def test_hc_head_gemm_triggers_early(rec, tokens, gemm_name, consumer):
    residual, fn, scale, base, *_ = _pre_args(tokens, H)
    TileLangDecode().hc_head(residual, fn[:N], scale[:1], base[:N], 1e-6, 1e-6)
    assert rec.names == [gemm_name, consumer]
    assert _early(_kw(rec, gemm_name)) == [True]
    if consumer == "collapse":  # the middle path's head collapse prefetches (decode_head always did)
        assert _prefetch(_kw(rec, consumer)) == [True]


def test_prenorm_gemm_op_triggers_early_to_its_threshold(rec):
    x = torch.zeros(64, N * H, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, N * H)
    TileLangDecode().prenorm_gemm(x, fn, 16)
    assert rec.names == ["prenorm_gemm", "chunk_sum"] and _early(_kw(rec, "prenorm_gemm")) == [True]
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().prenorm_gemm(torch.zeros(OP_GEMM_MAX_TOKENS, N * H, dtype=torch.bfloat16), fn, 16)
    assert _early(_kw(rec, "prenorm_gemm")) == [True]
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().prenorm_gemm(torch.zeros(OP_GEMM_MAX_TOKENS + 1, N * H, dtype=torch.bfloat16), fn, 16)  # base op
    assert rec.names == ["prenorm_gemm"] and not any(kw.get("early_trigger") for kw in rec.keywords)


# -- the generated CUDA (TileLang on the CPU, sm_90a) ---------------------------------------------------

SYNC, TRIGGER = "cudaGridDependencySynchronize();", "cudaTriggerProgrammaticLaunchCompletion();"


def _source(build) -> str:
    import tilelang

    from mhc_kernels.tilelang import _build

    return tilelang.compile(build(), target={"kind": "cuda", "arch": "sm_90a"},
                            pass_configs=_build.pass_configs()).get_kernel_source()


def _builds(hidden: int):
    from mhc_kernels.tilelang import decode, decode_gemm, gemm

    parts = decode.decode_parts(N, hidden)
    return {
        "prenorm_gemm": lambda **kw: gemm.build_prenorm_gemm(N, hidden, MIXES, 64, True, **kw),
        "decode_gemm": lambda **kw: decode_gemm.build_decode_gemm(N, hidden, MIXES, parts, True, **kw),
        "hc_post_wide": lambda **kw: decode.build_hc_post_wide(N, hidden, True, **kw),
    }


@pytest.mark.parametrize("kernel", ["prenorm_gemm", "decode_gemm", "hc_post_wide"])
def test_early_trigger_moves_the_trigger_right_after_the_wait(kernel):
    build = _builds(256)[kernel]
    default, early = _source(build), _source(lambda: build(early_trigger=True))
    assert default.count(TRIGGER) == 1 and early.count(TRIGGER) == 1
    assert default.index(TRIGGER) > default.index(SYNC) + len(SYNC) + 20  # at the end
    between = early[early.index(SYNC) + len(SYNC):early.index(TRIGGER)]
    assert between.strip() == "", between
    # nothing else changed: the two sources are the same once the trigger line is taken out
    def without_trigger(source):
        return [line for line in source.splitlines() if TRIGGER not in line]

    assert without_trigger(default) == without_trigger(early)


def _residual_loads_before_the_wait(source: str) -> int:
    return len(re.findall(r"residual\[|residual \+", source[:source.index(SYNC)]))


@pytest.mark.parametrize("kernel", ["decode_pre", "pre_big_fuse_overlap", "collapse"])
def test_prefetch_loads_the_residual_before_the_wait(kernel):
    from mhc_kernels.tilelang import collapse, decode, pre_overlap

    hidden = 256
    parts = decode.decode_parts(N, hidden)
    build = {"decode_pre": lambda **kw: decode.build_decode_pre(N, hidden, parts, False, True, **kw),
             "pre_big_fuse_overlap": lambda **kw: pre_overlap.build_pre_big_fuse_overlap(N, hidden, True, True,
                                                                                         parts=parts, **kw),
             "collapse": lambda **kw: collapse.build_collapse(N, hidden, True, True, parts, **kw)}[kernel]
    default, prefetch = _source(build), _source(lambda: build(prefetch_residual=True))
    assert _residual_loads_before_the_wait(default) == 0
    assert _residual_loads_before_the_wait(prefetch) >= 1
    # the residual is read as often as before: moved, not added
    assert default.count("residual[") + default.count("residual +") \
        == prefetch.count("residual[") + prefetch.count("residual +")


@pytest.mark.parametrize("tokens, block_m, parts", [(256, 64, 56), (511, 64, 28), (512, 128, 56), (1024, 128, 28)])
def test_mhc_pre_middle_gemm_takes_128_token_blocks_from_512(rec, tokens, block_m, parts):
    # MID_BLOCK_M_128_FROM: mhc_pre only; 132 SMs (the backend's CPU fallback count). The default runs mid_deep_tokens'
    # GEMM at 385-1024 since the twentieth session (tests/test_tilelang_twentieth_probes.py): the rule on TileLangDecode19
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H))
    assert rec.names == ["prenorm_gemm", "pre_big_fuse_overlap"]
    assert rec.launches[0][1][3] == block_m and rec.launches[0][2][2] == (parts, tokens, MIXES)


def test_fused_post_pre_keeps_64_token_blocks_below_1024(rec):
    residual, fn, scale, base, *rest = _pre_args(512, H)
    x = torch.zeros(512, H, dtype=torch.bfloat16)
    TileLangDecode19().fused_post_pre(x, residual, torch.zeros(512, N, 1), torch.zeros(512, N, N), fn, scale, base,
                                      *rest)  # the default's middle GEMM here is mid_deep_tokens' since the twentieth
    assert rec.names == ["hc_post_wide", "prenorm_gemm", "pre_big_fuse_overlap"]
    assert rec.launches[1][1][3] == 64 and rec.launches[1][2][2] == (28, 512, MIXES)


@pytest.mark.parametrize("probe, post_early, pre_early", [(TileLangPdlEarlyFusedPre, False, True),
                                                           (TileLangPdlEarlyFusedPost, True, False)])
def test_the_fused_probes_split_hc_post_from_the_pre(rec, probe, post_early, pre_early):
    residual, fn, scale, base, *rest = _pre_args(64, H)
    x = torch.zeros(64, H, dtype=torch.bfloat16)
    probe().fused_post_pre(x, residual, torch.zeros(64, N, 1), torch.zeros(64, N, N), fn, scale, base, *rest)
    assert rec.names == ["hc_post_wide", "prenorm_gemm", "pre_big_fuse_overlap"]
    assert _early(_kw(rec, "hc_post_wide")) == [post_early] and _early(_kw(rec, "prenorm_gemm")) == [pre_early]
    assert _prefetch(_kw(rec, "pre_big_fuse_overlap")) == [pre_early]


def test_the_op_gemm_picks_whole_waves(rec):
    """TileLangDecode's prenorm_gemm op above the decode path (wave_cost_parts; 132 SMs, from the rec
    fixture): at 256 tokens 32 ranges (one wave of 7 tiles) where "the fewest for one wave" took 112
    (four waves of 2); the same choice as that rule up to 128. mid_probes.TileLangGemmOpWaveCost,
    the probe it came from, is the default now; TileLangGemmOpBlock128 halves the blocks from 256."""
    from mhc_kernels.tilelang.mid_probes import TileLangGemmOpBlock128, TileLangGemmOpWaveCost

    cpu = torch.device("cpu")
    for backend in (TileLangDecode(), TileLangGemmOpWaveCost()):
        assert [backend._op_gemm_parts(t, N, H, 16, cpu) for t in (33, 128, 256, 512, 1024)] == [112, 112, 32, 16, 16]
        assert [backend._op_gemm_parts(t, N, 4096, 16, cpu) for t in (128, 256, 512)] == [64, 32, 16]
        assert backend._op_gemm_parts(1025, N, H, 16, cpu) is None
    bm128 = TileLangGemmOpBlock128()
    assert [bm128._op_gemm_parts(t, N, 4096, 16, cpu) for t in (128, 256, 512)] == [64, 64, 32]
    assert [bm128._op_gemm_parts(t, N, H, 16, cpu) for t in (128, 256)] == [112, 112]


def test_the_block128_probe_reaches_the_op_gemm(rec):
    from mhc_kernels.tilelang.mid_probes import TileLangGemmOpBlock128, TileLangOpMiddleBefore

    x = torch.zeros(256, N * 4096, dtype=torch.bfloat16)
    TileLangGemmOpBlock128().prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 16)
    # against the default's middle GEMM there before the thirty-third session's window (gemm_multicast's kernel now)
    TileLangOpMiddleBefore().prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 16)
    gemms = [launch for launch in rec.launches if launch[0] == "prenorm_gemm"]
    assert [g[1][3] for g in gemms] == [128, 64] and [g[2][2] for g in gemms] == [(64, 256, MIXES), (32, 256, MIXES)]


@pytest.mark.parametrize("tokens", [4096, 65536])
def test_base_gemm_probe_triggers_early_above_the_op_gemm_range(rec, tokens):
    """mid_probes.TileLangPdlEarlyBaseGemm: the prenorm_gemm op on TileLangBackend's GEMM (above
    op_gemm_max_tokens) with the early trigger; the default there without it (BASE_GEMM is not in
    its table)."""
    from mhc_kernels.tilelang.decode_backend import BASE_GEMM
    from mhc_kernels.tilelang.mid_probes import TileLangPdlEarlyBaseGemm

    h = 4096
    x = torch.zeros(tokens, N * h, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, N * h)
    splits = 4 if tokens == 4096 else 1
    assert BASE_GEMM not in PDL_EARLY_MAX_TOKENS
    TileLangDecode().prenorm_gemm(x, fn, splits)
    TileLangPdlEarlyBaseGemm().prenorm_gemm(x, fn, splits)
    assert _early(_kw(rec, "prenorm_gemm")) == [False, True], rec.names
    assert "early_trigger" not in _kw(rec, "prenorm_gemm")[0], "the default's call form is unchanged"
