"""The twentieth session's probes (mid_probes): TileLangSplitInKernel (every TMA GEMM call on fp32 fn, split into
its bf16 pieces in the kernel: gemm.build_prenorm_gemm's split_in_kernel) and TileLangTwentieth (that, with the
decode tensor-core GEMM, the op at 129-1024 tokens and mhc_pre's middle GEMM at 385-1024 on the TMA kernel). On
the CPU: the generated CUDA (sm_90a), which calls take the split (launches recorded, nothing computed), and that
the precompile has every launch. Their bits against split_fn's are GPU checks (tests/test_tilelang_gpu_bits.py:
test_the_split_in_the_kernel_gives_split_fns_bits, test_the_split_probes_give_the_defaults_bits)."""

import re

import pytest
import torch

from mhc_kernels.tilelang import _build, gemm, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangDecode19, TileLangDecode22, TileLangSplitInKernel, TileLangTwentieth
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)

SPLIT = {"split_in_kernel": True}


def _split_source(block_m: int, threads: int, stages: int, mixes: int = MIXES, tma: bool = True) -> str:
    kernel = _build.compile_cached(
        "test_split_in_kernel", (block_m, threads, stages, mixes, tma),
        lambda: gemm.build_prenorm_gemm(N, 4096, mixes, block_m, True, block_k=128, num_stages=stages,
                                        threads=threads, split_in_kernel=True),
        _build.explicit_target("cuda", "sm_90a"), tma=tma)
    return kernel.get_kernel_source()


@pytest.mark.parametrize("block_m, threads, stages", [(64, 128, 2), (128, 256, 4)])
def test_the_kernel_takes_fp32_fn_and_splits_it_between_two_barriers(block_m, threads, stages):
    """fn arrives as fp32 by TMA (its tile's bytes 24 x 128 x 4 on the tile's mbarrier), the split writes the
    shared fn3 tile's three pieces from the fp32 tile between two barriers of the consumer threads (the
    wgmma of the tile before has read it; every piece is written before this tile's wgmma), and the async
    proxy is fenced before the wgmma reads what the threads wrote. One wgmma per k16 over all fn3 rows."""
    source = _split_source(block_m, threads, stages)
    assert re.search(r"tma_load\(fn3_desc, [^;]*\(float\*\)f_sh", source), "fn's tiles land in fp32"
    assert "arrive_and_expect_tx(12288)" in source, "fn's 128-column fp32 tile (24 x 128 x 4 bytes) by TMA"
    loop = source[source.index("f_sh)["):]
    split_start = loop.index("b_sh)[")
    wgmma = loop.index("wgmma_ss<")
    barrier = r"tl::__sync_thread_partial\(\d+, " + str(threads) + r"\);"
    assert re.search(barrier, source[:source.index("f_sh)[")][-600:] + loop[:split_start]), \
        "a consumer barrier before the split overwrites the fn3 tile"
    between = loop[split_start:wgmma]
    assert re.search(barrier, between) and "fence_proxy_async" in between
    assert set(re.findall(r"wgmma_ss<[^>]*kFloat32, (\d+), (\d+), (\d+)", source)) == {("64", "80", "16")}


def test_the_zero_rows_and_the_small_head():
    """M = 4 (hc_head's GEMM): 12 piece rows and 4 zero rows, the zero rows written once before the loop."""
    source = _split_source(64, 128, 2, mixes=N)
    assert set(re.findall(r"wgmma_ss<[^>]*kFloat32, (\d+), (\d+), (\d+)", source)) == {("64", "16", "16")}
    assert "arrive_and_expect_tx(2048)" in source  # 4 x 128 x 4 bytes


def test_the_split_needs_fn_itself():
    with pytest.raises(AssertionError):
        gemm.build_prenorm_gemm(N, 4096, MIXES, 64, True, split_in_kernel=True, fn_tiles=2)
    with pytest.raises(AssertionError):
        gemm.build_prenorm_gemm(N, 4096, MIXES, 64, True, split_in_kernel=True, cluster_chunks=2)
    with pytest.raises(ValueError, match="takes fn itself"):
        gemm.prenorm_gemm(None, torch.zeros(MIXES, 64), None, None, N, 16, 64, _build.explicit_target(),
                          fn3=torch.zeros(80, 64), split_in_kernel=True)


def _op(backend, tokens: int, hidden: int, fn: torch.Tensor | None = None, n_splits: int = 16):
    x = torch.zeros(tokens, N * hidden, dtype=torch.bfloat16)
    return backend.prenorm_gemm(x, torch.zeros(MIXES, N * hidden) if fn is None else fn, n_splits)


def _gemm_calls(rec):
    return [(config, kw, args) for (name, config, args), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]


@pytest.mark.parametrize("tokens, split", [(128, False), (384, True), (640, True), (768, False)])
def test_the_probe_splits_in_the_ops_tma_window_only(rec, tokens, split):
    """TileLangSplitInKernel: the op's TMA window (321-704 tokens) on fp32 fn, no split_fn launch; elsewhere the
    default's GEMM on fn3. The default never splits in the kernel."""
    probe = TileLangSplitInKernel()
    _op(probe, tokens, 7168)
    _op(TileLangDecode(), tokens, 7168)
    (_, probe_kw, probe_args), (_, default_kw, default_args) = _gemm_calls(rec)
    assert probe_kw.get("split_in_kernel", False) is split and "split_in_kernel" not in default_kw
    assert probe_args[1] == ((MIXES, N * 7168) if split else (80, N * 7168))  # fn in fp32, or fn3
    assert default_args[1] == (80, N * 7168)
    assert {k: v for k, v in probe_kw.items() if k != "split_in_kernel"} == default_kw, "nothing else changes"
    assert ("split_fn" in probe.calls) is not split


def test_a_misaligned_or_strided_fn_takes_the_cached_split(rec):
    """TMA needs fn 16-byte aligned; a view 4 bytes into its storage is not, a transposed one not contiguous."""
    storage = torch.zeros(MIXES * N * 7168 + 1)
    misaligned = storage[1:].view(MIXES, N * 7168)
    strided = torch.zeros(N * 7168, MIXES).t()
    for fn in (misaligned, strided):
        _op(TileLangSplitInKernel(), 384, 7168, fn)
    _op(TileLangSplitInKernel(), 384, 7168, storage[:-1].view(MIXES, N * 7168))
    assert [kw.get("split_in_kernel", False) for _, kw, _ in _gemm_calls(rec)] == [False, False, True]


@pytest.mark.parametrize("tokens, path", [(16, "fma"), (17, "decode_tma"), (32, "decode_tma"), (128, "cp_async"),
                                          (384, "cp_async"), (385, "mid_deep"), (1024, "mid_deep"),
                                          (1025, "cp_async")])
def test_the_twentieth_probes_mhc_pre_gemm(rec, tokens, path):
    """TileLangTwentieth's mhc_pre: the FMA decode GEMM to 16 tokens, the tensor-core decode GEMM on TMA with the
    split at 17-32 (the default's tiles: 64-token block, 128-wide K tiles, 2 stages), the middle GEMM in DeepGEMM's
    shape with the split at 385-1024 (64-token blocks, 4 stages), the default's cp.async GEMM elsewhere."""
    TileLangTwentieth().mhc_pre(*_pre_args(tokens, 4096))
    calls = _gemm_calls(rec)
    if path == "fma":
        assert calls == [] and rec.names[0] == "decode_gemm"
        return
    (config, kw, args), = calls
    if path == "cp_async":
        assert "tma" not in kw and "split_in_kernel" not in kw and args[1] == (80, N * 4096)
        return
    assert kw["tma"] is True and kw["split_in_kernel"] is True and args[1] == (MIXES, N * 4096)
    assert config[3] == 64 and kw["block_k"] == 128
    assert kw["num_stages"] == (2 if path == "decode_tma" else TileLangDecode.mid_deep_stages)


@pytest.mark.parametrize("tokens", [129, 256, 1024])
def test_the_twentieth_probes_op_runs_the_plain_window_on_the_split(rec, tokens):
    _op(TileLangTwentieth(), tokens, 4096)
    (config, kw, args), = _gemm_calls(rec)
    assert kw["tma"] is True and kw["split_in_kernel"] is True and args[2][0] == 16, "the caller's 16 splits alone"


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_precompile_has_every_split_launch(rec, hidden):
    """Every GEMM launch of both probes (mhc_pre, fused_post_pre and the op on the decode, middle and TMA paths) is
    a precompile job."""
    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)
            if j[1] == "gemm.prenorm_gemm_kernel"}
    for probe in (TileLangSplitInKernel(), TileLangTwentieth()):
        for tokens in (17, 32, 129, 256, 384, 512, 640, 1024, 67_457):
            rec.launches.clear(), rec.keywords.clear()
            if tokens <= 1024:
                probe.mhc_pre(*_pre_args(tokens, hidden))
                residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
                probe.fused_post_pre(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual,
                                     torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), *_pre_args(tokens, hidden)[1:])
                _op(probe, tokens, hidden)
            else:  # the default's TMA GEMM of mhc_pre (pre_gemm_tma_from_tokens), on the split
                probe.mhc_pre(*_pre_args(tokens, hidden))
            for config, kw, _ in _gemm_calls(rec):
                key = (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)),
                       tuple(sorted(kw.items())))
                assert key in jobs, (type(probe).__name__, tokens, config, kw)
                if kw.get("tma"):
                    assert kw.get("split_in_kernel") is True, (type(probe).__name__, tokens, kw)


@pytest.mark.parametrize("hidden, tokens, parts", [(4096, 384, None), (4096, 385, 16), (4096, 512, 16),
                                                   (4096, 1024, 8), (7168, 512, 16), (7168, 1024, 8),
                                                   (7168, 1025, None)])
def test_the_default_runs_the_deep_shape_at_385_to_1024(rec, hidden, tokens, parts):
    """TileLangDecode.mid_deep_tokens (the twentieth session's adoption): mhc_pre's and fused_post_pre's middle GEMM
    at 385-1024 tokens on 64-token blocks, the most K ranges keeping one CTA per SM (132 here: 16 at 512 tokens, 8
    at 1024), the TMA kernel with mid_deep_stages stages on fn3 (no split), and the fused pre on those parts;
    the middle path's own GEMM beside them. TileLangDecode19 keeps the middle path's GEMM everywhere."""
    residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
    TileLangDecode().mhc_pre(*_pre_args(tokens, hidden))
    TileLangDecode().fused_post_pre(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual,
                                    torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), *_pre_args(tokens, hidden)[1:])
    TileLangDecode19().mhc_pre(*_pre_args(tokens, hidden))
    pre_gemm, fused_gemm, before = _gemm_calls(rec)
    for config, kw, args in (pre_gemm, fused_gemm):
        if parts is None:
            assert "tma" not in kw and args[2] == before[2][2], "the middle path's GEMM, as before"
            continue
        assert kw["tma"] is True and "split_in_kernel" not in kw and args[1] == (80, N * hidden)
        assert config[3] == 64 and kw["num_stages"] == TileLangDecode.mid_deep_stages and args[2][0] == parts
    assert "tma" not in before[1] and (before[2][2][0] != parts or parts is None)
    overlaps = [args for (name, _, args) in rec.launches if name == "pre_big_fuse_overlap"]
    assert [a[0][0] for a in overlaps[:2]] == [pre_gemm[2][2][0], fused_gemm[2][2][0]], "the pre on the GEMM's parts"


def test_the_backends_path_boundaries_hold_each_side_of_every_window():
    """TileLangDecode.path_boundaries: both sides of the decode path's end, the deep shape's window (mhc_pre,
    fused_post_pre), the op's TMA window, the middle path's end and the TMA GEMMs' starts; nothing for the ops
    it does not route (TileLangBackend's kernels at every T)."""
    backend = TileLangDecode()
    pre = set(backend.path_boundaries("mhc_pre"))
    # (the TMA GEMM from 4097 since the twenty-ninth session, from 67 457 before; its middle pre's window of
    # "gather_rcp" at 129-256 x 7168 on both sides)
    assert {32, 33, 128, 129, 256, 257, 384, 385, 1024, 1025, 4096, 4097} <= pre and 67457 not in pre
    assert {67456, 67457} <= set(TileLangDecode22().path_boundaries("mhc_pre"))
    assert {768, 769, 1535, 1536} <= set(backend.path_boundaries("pre_big_fuse"))  # the one-buffer pre
    assert {256, 257, 704, 705, 1024, 1025} <= set(backend.path_boundaries("prenorm_gemm"))
    assert {128, 129} <= set(backend.path_boundaries("hc_head"))
    assert not {384, 385} & set(TileLangDecode19().path_boundaries("mhc_pre")), "no deep window there"
    assert backend.path_boundaries("layer_input") == ()


def test_the_nightly_check_anchors_a_case_at_each_path_boundary():
    """The nightly profile runs the backend's path boundaries up to 4097 tokens at H = 7168 after its own anchors
    (the larger ones sit beside its 65 537 .. 80 000 anchors); the ci and dev profiles do not."""
    from mhc_verify.strategies import PROFILES, anchor_cases

    backend = TileLangDecode()
    nightly = [(c.T, c.H) for c in anchor_cases("mhc_pre", backend, PROFILES["nightly"])]
    assert nightly[:4] == list(PROFILES["nightly"].anchors)
    assert {(384, 7168), (385, 7168), (1024, 7168), (1025, 7168), (4097, 7168)} <= set(nightly)
    assert (67457, 7168) not in nightly and len(nightly) == len(set(nightly))
    assert all(c.family == "normal" and c.seed == c.T for c in anchor_cases("mhc_pre", backend, PROFILES["nightly"]))
    for profile in ("ci", "dev"):
        assert [(c.T, c.H) for c in anchor_cases("mhc_pre", backend, PROFILES[profile])] == \
            [a for a in PROFILES[profile].anchors]
