"""The probes for mhc_pre's 16-32-token floor (mid_probes.TileLangSinkhornRows, TileLangGemmBlockT16,
TileLangDecodeFloor): which kernels they launch with which variants, recorded as in
test_tilelang_decode.py (nothing computed), and that the default backend launches none of it."""

import pytest
import torch

from mhc_kernels.tilelang import decode, pre_overlap
from mhc_kernels.tilelang.decode_backend import DECODE_GEMM_PLAN, TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangDecodeFloor, TileLangGemmBlockT16, TileLangSinkhornRows
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)

H = 7168


def _kw(rec, name):
    return [kw for (n, _, _), kw in zip(rec.launches, rec.keywords) if n == name]


@pytest.mark.parametrize("tokens, consumer", [(1, "decode_pre"), (32, "decode_pre"), (64, "pre_big_fuse_overlap"),
                                              (1024, "pre_big_fuse_overlap")])
def test_rows_probe_runs_the_rows_sinkhorn_in_both_fused_pres(rec, tokens, consumer):
    TileLangSinkhornRows().mhc_pre(*_pre_args(tokens, H))
    assert [kw.get("sinkhorn_layout") for kw in _kw(rec, consumer)] == ["rows"], rec.names


def test_rows_probe_in_pre_big_fuse_and_fused_post_pre(rec):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(16, H)
    TileLangSinkhornRows().pre_big_fuse(torch.zeros(16, 16, MIXES), torch.zeros(16, 16), scale, base, residual, nw,
                                        *eps)
    x = torch.zeros(16, H, dtype=torch.bfloat16)
    TileLangSinkhornRows().fused_post_pre(x, residual, torch.zeros(16, N, 1), torch.zeros(16, N, N), fn, scale, base,
                                          nw, *eps, n_splits)
    assert [kw.get("sinkhorn_layout") for kw in _kw(rec, "decode_pre")] == ["rows", "rows"], rec.names


@pytest.mark.parametrize("tokens, consumer", [(1, "decode_pre"), (32, "decode_pre"), (64, "pre_big_fuse_overlap"),
                                              (1024, "pre_big_fuse_overlap")])
def test_gather_probe_runs_the_gather_sinkhorn_in_both_fused_pres(rec, tokens, consumer):
    from mhc_kernels.tilelang.mid_probes import TileLangSinkhornGather

    TileLangSinkhornGather().mhc_pre(*_pre_args(tokens, H))
    assert [kw.get("sinkhorn_layout") for kw in _kw(rec, consumer)] == ["gather"], rec.names


@pytest.mark.parametrize("tokens", [1, 16, 64])
def test_the_default_runs_its_layout_in_every_fused_pre(rec, tokens):
    """TileLangDecode.sinkhorn_layout reaches its fused pres ("lanes", the getters' default, passes none)."""
    TileLangDecode().mhc_pre(*_pre_args(tokens, H))
    layout = TileLangDecode.sinkhorn_layout
    pres = [kw for (n, _, _), kw in zip(rec.launches, rec.keywords)
            if n in ("decode_pre", "decode_pre_cluster", "pre_big_fuse_overlap")]
    assert len(pres) == 1 and pres[0].get("sinkhorn_layout", "lanes") == layout, rec.keywords
    assert (layout == "lanes") == ("sinkhorn_layout" not in pres[0])


@pytest.mark.parametrize("probe", [TileLangGemmBlockT16, TileLangDecodeFloor])
@pytest.mark.parametrize("tokens, block_t", [(1, 8), (8, 8), (9, 16), (16, 16), (32, 16)])
def test_block_t16_probes_take_the_fma_gemm_to_32_tokens(rec, probe, tokens, block_t):
    probe().mhc_pre(*_pre_args(tokens, H))
    assert [kw.get("block_t") for kw in _kw(rec, "decode_gemm")] == [block_t], (rec.names, rec.keywords)


def test_the_default_plan_is_untouched():
    assert TileLangDecode.decode_gemm_plan is DECODE_GEMM_PLAN
    assert TileLangDecode()._decode_gemm_choice(24, 17) == ("wgmma", {})
    assert TileLangDecodeFloor()._decode_gemm_choice(4, 16) == TileLangDecode()._decode_gemm_choice(4, 16)
    assert TileLangDecode().provenance().get("sinkhorn_layout", "lanes") == TileLangDecode.sinkhorn_layout
    assert TileLangDecodeFloor().provenance()["sinkhorn_layout"] == "rows"
    assert [24, 32, "fma", {"block_t": 16}] in TileLangGemmBlockT16().provenance()["decode_gemm_plan"]


def test_the_block_t16_probes_replace_the_defaults_row():
    """The default's own block_t 16 row (to 16 tokens, adopted in the fourteenth session) gives way to a
    probe's: one such row per plan; TileLangNarrowBt16, the gated candidate, is now the default's plan."""
    from mhc_kernels.tilelang.mid_probes import TileLangNarrowBt16

    assert [row[1] for row in TileLangGemmBlockT16.decode_gemm_plan if row[3] == {"block_t": 16}] == [32]
    assert TileLangNarrowBt16.decode_gemm_plan == DECODE_GEMM_PLAN


def test_block_t16_divides_both_hiddens():
    from mhc_kernels.tilelang.decode_gemm import slot_columns

    for h in (7168, 4096):
        assert slot_columns(N * h, decode.decode_parts(N, h), 256, 16) == 16


def test_the_rows_kernels_have_their_own_cache_keys(monkeypatch):
    keys = []
    monkeypatch.setattr(decode, "compile_cached", lambda name, key, build, target: keys.append((name, key)))
    monkeypatch.setattr(pre_overlap, "compile_cached", lambda name, key, build, target: keys.append((name, key)))
    for layout in ("lanes", "rows"):
        decode.decode_pre_kernel(N, H, 112, False, None, sinkhorn_layout=layout)
        pre_overlap.pre_big_fuse_overlap_kernel(N, H, False, None, parts=28, sinkhorn_layout=layout)
    assert keys[0] == ("decode_pre", (N, H, 112, False)), "the default key is today's"
    assert keys[2] == ("decode_pre", (N, H, 112, False, ("sinkhorn", "rows")))
    assert keys[1] == ("pre_big_fuse_overlap", (N, H, False, True, ("parts", 28)))
    assert keys[3] == ("pre_big_fuse_overlap", (N, H, False, True, ("parts", 28), ("sinkhorn", "rows")))


def test_precompile_covers_the_probes_kernels():
    """probe_jobs names real getters with the probes' variants (the GPU scripts precompile them)."""
    from mhc_kernels.tilelang import precompile

    for h in (7168, 4096):
        jobs = precompile.probe_jobs(h)
        assert len({j[0] for j in jobs}) == len(jobs)
        for label, getter, args, kwargs in jobs:
            assert callable(precompile._getter(getter)), getter
            assert kwargs.get("sinkhorn_layout") in ("rows", "gather", "gather_rcp", "vectors", "lane_vectors") \
                or kwargs.get("block_t") == 16 \
                or (getter == "gemm.prenorm_gemm_kernel" and kwargs.get("early_trigger")) \
                or kwargs.get("parts") == N * h // 128 or kwargs.get("prefetch_next_block") is False \
                or kwargs.get("token_major") or kwargs.get("tma") or kwargs.get("cluster_chunks") \
                or kwargs.get("h_blk") == 2048 or kwargs.get("fn_before_wait") or kwargs.get("pdl") is False \
                or kwargs.get("fn_tiles") or kwargs.get("threads") in (512, 1024) or kwargs.get("block_k") == 256 \
                or kwargs.get("flat_grid") or kwargs.get("loads_first") is False or kwargs.get("stages"), label
        parts = decode.decode_parts(N, h)
        assert (f"decode_pre[H={h},parts={parts},norm=False,prefetch,rows]" in {j[0] for j in jobs})


@pytest.mark.parametrize("hidden, tokens, default_parts, probe_parts", [(4096, 64, 64, 128), (4096, 128, 64, 128),
                                                                        (7168, 64, 112, 224), (7168, 128, 112, 112)])
def test_one_tile_probe_cuts_the_middle_gemm_finer(rec, hidden, tokens, default_parts, probe_parts):
    """mid_probes.TileLangMidOneTile: the middle GEMM's K ranges down to one tile where two tiles per
    range leave fewer CTAs than SMs; the fused pre takes the parts' count compiled in."""
    from mhc_kernels.tilelang.mid_probes import TileLangMidOneTile

    TileLangDecode().mhc_pre(*_pre_args(tokens, hidden))
    TileLangMidOneTile().mhc_pre(*_pre_args(tokens, hidden))
    assert rec.names == ["prenorm_gemm", "pre_big_fuse_overlap"] * 2
    gemm_parts = [shapes[2][0] for name, _, shapes in rec.launches if name == "prenorm_gemm"]
    assert gemm_parts == [default_parts, probe_parts], rec.launches
    assert [kw["parts"] for kw in _kw(rec, "pre_big_fuse_overlap")] == [default_parts, probe_parts]
    assert "mid_min_tiles_per_part" not in TileLangDecode().provenance()


@pytest.mark.parametrize("tokens, block_t", [(1, 8), (8, 8), (16, 16), (32, 16)])
def test_token_major_floor_probe_runs_token_major_partials_into_the_rows_sinkhorn(rec, tokens, block_t):
    """mid_probes.TileLangDecodeFloorTokenMajor: mhc_pre's decode GEMM (FMA, block_t 8 then 16) writes
    token-major partials and decode_pre reads them so, with the rows Sinkhorn; fused_post_pre's pre too."""
    from mhc_kernels.tilelang.mid_probes import TileLangDecodeFloorTokenMajor

    TileLangDecodeFloorTokenMajor().mhc_pre(*_pre_args(tokens, H))
    (gemm,) = _kw(rec, "decode_gemm")
    (pre,) = _kw(rec, "decode_pre")
    assert gemm.get("token_major") is True and gemm.get("block_t") == block_t, gemm
    assert pre.get("token_major") is True and pre.get("sinkhorn_layout") == "rows", pre
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, H)
    x = torch.zeros(tokens, H, dtype=torch.bfloat16)
    TileLangDecodeFloorTokenMajor().fused_post_pre(x, residual, torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N),
                                                   fn, scale, base, nw, *eps, n_splits)
    assert [kw.get("token_major") for kw in _kw(rec, "decode_pre")] == [True, True]
    assert "token_major_partials" in TileLangDecode().provenance()
    assert sorted(TileLangDecodeFloorTokenMajor().provenance()["token_major_partials"]) == ["hc_head", "mhc_pre"]


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [1, 16, 32])
def test_narrow_sums_probe_reaches_every_decode_pre_and_is_precompiled(monkeypatch, rec, hidden, tokens):
    """mid_probes.TileLangNarrowSums: mhc_pre's, fused_post_pre's and pre_big_fuse's decode_pre with
    narrow_sums and the gather Sinkhorn, PDL early as the backend has it, each launch a configuration the
    precompile has (jobs(): the default's since the thirteenth session); the default as its knobs say."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.decode_backend import PDL_EARLY_MAX_TOKENS
    from mhc_kernels.tilelang.mid_probes import TileLangNarrowSums

    monkeypatch.setattr(TileLangDecode, "pdl_early_max_tokens", PDL_EARLY_MAX_TOKENS)  # rec's module pins it off
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, hidden)
    probe = TileLangNarrowSums()
    probe.mhc_pre(*_pre_args(tokens, hidden))
    probe.pre_big_fuse(torch.zeros(16, tokens, MIXES), torch.zeros(16, tokens), scale, base, residual, nw, *eps)
    x = torch.zeros(tokens, hidden, dtype=torch.bfloat16)
    probe.fused_post_pre(x, residual, torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), fn, scale, base, nw,
                         *eps, n_splits)
    launched = [(config, kw) for (name, config, _), kw in zip(rec.launches, rec.keywords) if name == "decode_pre"]
    assert len(launched) == 3 and all(kw.get("narrow_sums") and kw.get("sinkhorn_layout") == "gather"
                                      for _, kw in launched), launched
    jobs = {(tuple(args), tuple(sorted(kw.items()))) for _, getter, args, kw in
            precompile.jobs(hidden) + precompile.probe_jobs(hidden) if getter == "decode.decode_pre_kernel"}
    for config, kw in launched:
        assert (tuple(config), tuple(sorted(kw.items()))) in jobs, (config, kw)
    assert probe.provenance()["decode_pre_narrow_sums"] is True
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().mhc_pre(*_pre_args(tokens, hidden, norm=True))  # without the weight: decode_pre_cluster
    narrow = TileLangDecode.decode_pre_narrow_sums  # the default's own setting reaches its decode_pre
    assert [kw.get("narrow_sums", False) for (n, _, _), kw in zip(rec.launches, rec.keywords)
            if n == "decode_pre"] == [narrow]
    assert TileLangDecode().provenance().get("decode_pre_narrow_sums", False) == narrow


@pytest.mark.parametrize("hidden, tokens, h_blk", [(4096, 255, 1024), (4096, 256, 2048), (4096, 4096, 2048),
                                                   (7168, 512, 1024), (2048, 512, 2048)])
def test_post_wide_2048_probe(monkeypatch, rec, hidden, tokens, h_blk):
    """mid_probes.TileLangPostWide2048: 2048 columns a CTA from 256 tokens where H has the power of two,
    1024 elsewhere (as the default), each launch precompiled."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.decode_backend import PDL_EARLY_MAX_TOKENS
    from mhc_kernels.tilelang.mid_probes import TileLangPostWide2048

    monkeypatch.setattr(TileLangDecode, "pdl_early_max_tokens", PDL_EARLY_MAX_TOKENS)
    x = torch.zeros(tokens, hidden, dtype=torch.bfloat16)
    TileLangPostWide2048().hc_post(x, torch.zeros(tokens, N, hidden, dtype=torch.bfloat16),
                                   torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N))
    ((name, config, _),) = rec.launches
    (kw,) = rec.keywords
    assert name == "hc_post_wide" and kw.get("h_blk") == h_blk, kw
    if hidden in (4096, 7168):
        jobs = {(tuple(args), tuple(sorted(k.items()))) for _, getter, args, k in
                precompile.jobs(hidden) + precompile.probe_jobs(hidden) if getter == "decode.hc_post_wide_kernel"}
        assert (tuple(config), tuple(sorted(kw.items()))) in jobs


@pytest.mark.parametrize("tokens, gemm, block_t", [(8, "decode_gemm", 8), (9, "decode_gemm", 16),
                                                   (16, "decode_gemm", 16), (17, "prenorm_gemm", None)])
def test_narrow_bt16_probe_takes_the_fma_gemm_to_16_tokens(monkeypatch, rec, tokens, gemm, block_t):
    """mid_probes.TileLangNarrowBt16: mhc_pre's decode GEMM on the FMA kernel at block_t 16 for 9-16 tokens,
    the tensor cores from 17, decode_pre with the narrow sums; every launch precompiled."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.decode_backend import PDL_EARLY_MAX_TOKENS
    from mhc_kernels.tilelang.mid_probes import TileLangNarrowBt16

    monkeypatch.setattr(TileLangDecode, "pdl_early_max_tokens", PDL_EARLY_MAX_TOKENS)
    TileLangNarrowBt16().mhc_pre(*_pre_args(tokens, H))
    assert rec.names == [gemm, "decode_pre"]
    assert rec.keywords[0].get("block_t") == block_t and rec.keywords[1].get("narrow_sums") is True
    jobs = {(getter.rsplit(".", 1)[1].removesuffix("_kernel"), tuple(args), tuple(sorted(kw.items())))
            for _, getter, args, kw in precompile.jobs(H) + precompile.probe_jobs(H)}
    for (name, config, _), kw in zip(rec.launches, rec.keywords):
        args = tuple(a for a in config if not hasattr(a, "arch"))
        assert (name, args, tuple(sorted(kw.items()))) in jobs, (name, args, kw)
