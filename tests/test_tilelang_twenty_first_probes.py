"""The twenty-first and twenty-second sessions' probes (mid_probes): TileLangHcPostFlat (hc_post on hc_post_wide above
4096 tokens, its CTAs on one grid dimension: decode.build_hc_post_wide's flat_grid; the default since the twenty-first
session), TileLangOpFourStages (the prenorm_gemm op's large-T GEMM with four stages), TileLangOpPlainDeep and
TileLangOpPlainDeep64 (the op's plain TMA window from 129 tokens, six 128-column stages or twelve 64-column ones),
TileLangPreDsmem (the cluster pre's weights through distributed shared memory), the gate probe TileLangTwentySecond
(the dsmem pre and the six-stage window) and TileLangOpPlainFrom257 (the default's plain window from 257 tokens).
On the CPU: the generated CUDA (sm_90a), which calls take them (launches recorded, nothing computed) and that the
precompile has every launch. The bits are GPU checks (tests/test_tilelang_gpu_bits.py)."""

import re

import pytest
import torch

from mhc_kernels.tilelang import _build, decode, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangDecode20, TileLangHcPostFlat, TileLangOpFourStages,
                                             TileLangOpPlainDeep, TileLangOpPlainDeep64, TileLangOpPlainFrom257,
                                             TileLangPreDsmem, TileLangTwentySecond)
from test_tilelang_decode import _pre_args
from test_tilelang_decode import MIXES, N, rec  # noqa: F401  (rec is a fixture)


def _post_source(hidden: int, h_blk: int | None, flat: bool) -> str:
    kernel = _build.compile_cached(
        "test_hc_post_flat", (hidden, h_blk, flat),
        lambda: decode.build_hc_post_wide(N, hidden, True, h_blk, flat_grid=flat), _build.explicit_target("cuda", "sm_90a"))
    return kernel.get_kernel_source()


@pytest.mark.parametrize("hidden, h_blk", [(7168, 1024), (4096, 1024), (7168, None)])
def test_the_flat_grid_takes_block_and_token_from_one_index(hidden, h_blk):
    """The flat kernel never reads blockIdx.y; every index of the 2-D kernel's blockIdx.y (the token) is its
    blockIdx.x / blocks, of its blockIdx.x (the block) blockIdx.x % blocks (or the shift and mask of a power of
    two); the arithmetic lines (no index in them) are the 2-D kernel's, line for line."""
    blocks = hidden // (h_blk or decode.decode_block(hidden))
    flat, plain = _post_source(hidden, h_blk, True), _post_source(hidden, h_blk, False)
    assert "blockIdx.y" in plain and "blockIdx.y" not in flat
    bx = r"\(\(int64_t\)\(\(int\)blockIdx\.x\)\)"
    if blocks & (blocks - 1):
        token, block = rf"{bx} / \(int64_t\){blocks}", rf"{bx} % \(int64_t\){blocks}"
    else:
        shift = blocks.bit_length() - 1
        token, block = rf"{bx} >> \(int64_t\){shift}", rf"{bx} & \(int64_t\){blocks - 1}"
    assert re.search(token, flat) and re.search(block, flat), "the token and the block from blockIdx.x"

    def arithmetic(source: str) -> list[str]:
        return [line.strip() for line in source.splitlines() if "blockIdx" not in line]

    assert arithmetic(flat) == arithmetic(plain)


def _post_args(tokens: int, hidden: int):
    residual = torch.empty(tokens, N, hidden, dtype=torch.bfloat16)  # shapes only: the launches are recorded
    return torch.empty(tokens, hidden, dtype=torch.bfloat16), residual, torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N)


@pytest.mark.parametrize("tokens, kernel", [(4096, "hc_post_wide"), (4097, "flat"), (65_536, "flat"),
                                            (66_000, "flat")])
def test_the_flat_grid_runs_hc_post_wide_above_4096_tokens(rec, tokens, kernel):
    """TileLangHcPostFlat and the default since the twenty-first session: hc_post_wide (1024 columns a CTA) at every
    T, flat from 4097 tokens, past gridDim.y's 65 535; TileLangDecode20 (the default before): post.py's one CTA per
    token above 4096."""
    for backend in (TileLangHcPostFlat(), TileLangDecode(), TileLangDecode20()):
        backend.hc_post(*_post_args(tokens, 128))
    (probe_name, _, _), (default_name, _, _), (before_name, _, _) = rec.launches
    probe_kw, default_kw, before_kw = rec.keywords
    assert probe_name == default_name == "hc_post_wide" and probe_kw == default_kw
    assert probe_kw.get("flat_grid", False) is (kernel == "flat")
    assert before_name == ("hc_post_wide" if tokens <= 4096 else "hc_post") and "flat_grid" not in before_kw


def test_fused_post_pres_hc_post_takes_the_flat_kernel_too(rec):
    probe = TileLangHcPostFlat()
    probe._hc_post(*_post_args(70_000, 128), early=False)
    (name, _, _), = rec.launches
    assert name == "hc_post_wide" and rec.keywords[0]["flat_grid"] is True


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_precompile_has_every_flat_launch(rec, hidden):
    """The default's flat launches (the op's and fused_post_pre's hc_post) are in precompile.jobs()."""
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.jobs(hidden) if j[1] == "decode.hc_post_wide_kernel"}
    backend = TileLangDecode()
    backend.hc_post(*_post_args(4097, hidden))
    x, residual, post_mix, comb_mix = _post_args(4097, hidden)
    backend.fused_post_pre(x, residual, post_mix, comb_mix, torch.zeros(MIXES, N * hidden), torch.ones(3),
                           torch.zeros(MIXES), None, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6, 4)
    posts = [(config, kw) for (name, config, _), kw in zip(rec.launches, rec.keywords) if name == "hc_post_wide"]
    assert len(posts) == 2 and all(kw.get("flat_grid") for _, kw in posts)
    for config, kw in posts:
        assert (config, tuple(sorted(kw.items()))) in jobs


def test_the_four_stage_probe_changes_the_ops_large_t_gemm_only(rec):
    """TileLangOpFourStages: the op at 1025 tokens and up on block_m 128, TMA, four stages (a precompile job); below,
    and mhc_pre's GEMMs, the default's."""
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(4096) + precompile.jobs(4096)
            if j[1] == "gemm.prenorm_gemm_kernel"}
    for tokens in (1024, 1025, 4096):
        for backend in (TileLangOpFourStages(), TileLangDecode()):
            x = torch.empty(tokens, N * 4096, dtype=torch.bfloat16)
            backend.prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 4)
    gemms = [(config, kw) for (name, config, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]
    assert len(gemms) == 6
    for i, (config, kw) in enumerate(gemms):
        tokens = (1024, 1025, 4096)[i // 2]
        large = tokens > 1024
        if large:
            assert kw["num_stages"] == (4 if i % 2 == 0 else 3), "the probe's four stages, the default's three"
            assert config[3] == 128 and kw.get("tma") is True
        key = (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)), tuple(sorted(kw.items())))
        assert key in jobs, (tokens, config, kw)
    assert gemms[0] == gemms[1], "at 1024 tokens the probe runs the default's GEMM"
    for probe, default in (gemms[2:4], gemms[4:6]):
        assert probe[0] == default[0] and {**probe[1], "num_stages": 3} == default[1], "nothing else changes"


@pytest.mark.parametrize("probe, block_k, stages", [(TileLangOpPlainDeep, 128, 6), (TileLangOpPlainDeep64, 64, 12),
                                                     (TileLangTwentySecond, 128, 6)])
@pytest.mark.parametrize("tokens, plain", [(128, False), (129, True), (256, True), (704, True), (705, False)])
def test_the_deep_plain_probes_take_the_callers_splits_at_129_to_704(rec, tokens, plain, probe, block_k, stages):
    """TileLangOpPlainDeep (and the gate probe with it), TileLangOpPlainDeep64: the op on the caller's 16 splits
    alone (one GEMM launch, no chunk_sum) via TMA with six stages of 128-column K tiles (twelve of 64) at 129-704
    tokens, a precompile job; elsewhere the default's launches."""
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(4096) + precompile.jobs(4096)
            if j[1] == "gemm.prenorm_gemm_kernel"}
    x = torch.empty(tokens, N * 4096, dtype=torch.bfloat16)
    probe().prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 16)
    probe = list(zip(rec.launches, rec.keywords))
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 16)
    default = list(zip(rec.launches, rec.keywords))
    if not plain:
        assert probe == default
        return
    ((name, config, args), kw), = probe
    assert name == "prenorm_gemm" and kw["tma"] is True and args[2][0] == 16
    assert (kw["block_k"], kw["num_stages"]) == (block_k, stages)
    key = (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)), tuple(sorted(kw.items())))
    assert key in jobs


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens, plain", [(256, False), (257, True), (320, True), (321, True), (704, True),
                                           (705, False)])
def test_the_from257_probe_runs_the_defaults_plain_window_from_257(rec, tokens, plain, hidden):
    """TileLangOpPlainFrom257: the plain window (four TMA stages, the caller's splits, no chunk_sum) at 257-704
    tokens, the middle path at 256 and the base op from 705: the default's launches everywhere since the
    twenty-third session adopted it; its kernel is a job of the default's precompile."""
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.jobs(hidden) if j[1] == "gemm.prenorm_gemm_kernel"}
    x = torch.empty(tokens, N * hidden, dtype=torch.bfloat16)
    TileLangOpPlainFrom257().prenorm_gemm(x, torch.zeros(MIXES, N * hidden), 16)
    probe = list(zip(rec.launches, rec.keywords))
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().prenorm_gemm(x, torch.zeros(MIXES, N * hidden), 16)
    default = list(zip(rec.launches, rec.keywords))
    assert probe == default
    if not plain:
        return
    ((name, config, args), kw), = probe
    assert name == "prenorm_gemm" and kw["tma"] is True and args[2][0] == 16
    assert (kw["block_k"], kw["num_stages"]) == (128, 4)
    key = (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)), tuple(sorted(kw.items())))
    assert key in jobs


def _cluster_source(hidden: int, parts: int, dsmem: bool) -> str:
    kernel = _build.compile_cached(
        "test_pre_dsmem", (hidden, parts, dsmem),
        lambda: decode.build_decode_pre_cluster(N, hidden, parts, True, prefetch_residual=True, sinkhorn_layout="gather_rcp",
                                                early_constants=True, split_arrive=True, dsmem_pre=dsmem),
        _build.explicit_target("cuda", "sm_90a"))
    return kernel.get_kernel_source()


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_the_dsmem_pre_stores_the_weights_into_every_collapse_ctas_shared_memory(hidden):
    """decode_pre_cluster(dsmem_pre=True): threads 0..n-1 store the pre weights into each of the H / 1024 collapse CTAs'
    ``pre`` (map_shared_rank) before warp 0's release arrive; no global pre weights written or read; Sinkhorn's
    shuffles on warp 1; the default kernel keeps the global scratch."""
    source, default = _cluster_source(hidden, 112, True), _cluster_source(hidden, 112, False)
    blocks = hidden // 1024
    assert "map_shared_rank" in source and "map_shared_rank" not in default
    assert re.search(rf"for \(int r = 0; r < {blocks}; \+\+r\)", source), "one store per collapse CTA"
    assert "pre_weights" in default and "pre_weights" not in source.split("mhc_decode_pre_cluster_kernel(", 2)[2]
    release = source.index("tl::cluster_arrive();")
    assert source.rindex("map_shared_rank", 0, release) > 0, "the stores come before the release"
    assert "((int)threadIdx.x) >> 5) == 0) {\n      tl::cluster_arrive();" in source, "warp 0 releases"
    assert "if ((32 <= ((int)threadIdx.x)) && (((int)threadIdx.x) < 64))" in source, "Sinkhorn on warp 1"


def test_the_dsmem_pre_needs_the_split_barrier():
    with pytest.raises(ValueError, match="split_arrive"):
        decode.build_decode_pre_cluster(N, 7168, 112, True, dsmem_pre=True)


@pytest.mark.parametrize("probe", [TileLangPreDsmem, TileLangTwentySecond])
@pytest.mark.parametrize("hidden", [7168, 4096])
def test_the_dsmem_probe_runs_the_cluster_pre_with_it_and_precompile_has_it(rec, hidden, probe):
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden)
            if j[1] == "decode.decode_pre_cluster_kernel"}
    for tokens in (1, 32):
        probe().mhc_pre(*_pre_args(tokens, hidden))
    pres = [(config, kw) for (name, config, _), kw in zip(rec.launches, rec.keywords) if name == "decode_pre_cluster"]
    assert len(pres) == 2 and all(kw.get("dsmem_pre") is True and kw.get("split_arrive") is True for _, kw in pres)
    for config, kw in pres:
        assert (config, tuple(sorted(kw.items()))) in jobs
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().mhc_pre(*_pre_args(32, hidden))
    assert all("dsmem_pre" not in kw for kw in rec.keywords)
