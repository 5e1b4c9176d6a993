"""The fourteenth session's probes, TileLangDecode's variants since the fifteenth: where they reach.
decode_pre (mhc_pre, fused_post_pre and pre_big_fuse at decode counts) gets the gather_rcp Sinkhorn and
the early constants; the middle path's fused pre (64 .. 4096 tokens) the gather_rcp Sinkhorn and its
own early constants; mid_probes.TileLangEarlySinkhorn keeps the middle pre's constants late and
TileLangSinkhornGather the fourteenth session's default ("gather", constants late); precompile has every
kernel each runs. The kernels' bits: tests/test_tilelang_sinkhorn.py and tests/test_tilelang_decode_variants.py."""

import pytest

from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangDecode19, TileLangEarlySinkhorn, TileLangEarlySinkhornMid,
                                             TileLangSinkhornGather)
from test_tilelang_decode import _pre_args, rec  # noqa: F401  (rec is a fixture)

H = 7168


def _pre_keywords(rec, name):
    return [kw for (n, _, _), kw in zip(rec.launches, rec.keywords) if n == name]


def _precompiled(jobs, getter: str, config, keywords: dict) -> bool:
    """Whether a launch (its getter's positional config and keywords) is one of these precompile jobs."""
    return (tuple(config), tuple(sorted(keywords.items()))) in {
        (tuple(args), tuple(sorted(kw.items()))) for _, g, args, kw in jobs if g == getter}


@pytest.mark.parametrize("tokens, kernel", [(1, "decode_pre"), (16, "decode_pre"), (32, "decode_pre"),
                                            (64, "pre_big_fuse_overlap"), (1024, "pre_big_fuse_overlap")])
def test_the_default_runs_the_gated_variants_in_every_fused_pre(rec, tokens, kernel):
    # decode_pre: with the RMSNorm weight (without it the default runs decode_pre_cluster, the probe decode_pre;
    # the cluster pre's variants: test_tilelang_nineteenth_probes.py)
    # (the default's rules on TileLangDecode19: at 385-1024 tokens the default's GEMM is the deep shape since the
    # twentieth session, other parts for the pre; the probes here keep the middle GEMM)
    norm = kernel == "decode_pre"
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H, norm=norm))
    TileLangSinkhornGather().mhc_pre(*_pre_args(tokens, H, norm=norm))
    default, before = _pre_keywords(rec, kernel)
    assert default["sinkhorn_layout"] == "gather_rcp" and before["sinkhorn_layout"] == "gather"
    assert default.get("early_constants") is True and "early_constants" not in before
    assert {k: v for k, v in default.items() if k not in ("sinkhorn_layout", "early_constants")} == \
        {k: v for k, v in before.items() if k != "sinkhorn_layout"}, "nothing else changes"


@pytest.mark.parametrize("tokens", [1, 32, 64, 1024])
def test_the_mid_probe_is_the_default_and_the_early_probe_keeps_the_middle_constants_late(rec, tokens):
    norm = tokens <= 32  # decode_pre with the weight (as above)
    TileLangEarlySinkhornMid().mhc_pre(*_pre_args(tokens, H, norm=norm))
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H, norm=norm))  # (the default's rules, as above)
    TileLangEarlySinkhorn().mhc_pre(*_pre_args(tokens, H, norm=norm))
    kernel = "decode_pre" if tokens <= 32 else "pre_big_fuse_overlap"
    mid, default, early = _pre_keywords(rec, kernel)
    assert mid == default
    if kernel == "decode_pre":
        assert early == default
    else:
        assert "early_constants" not in early and {**early, "early_constants": True} == default


def test_the_knobs_are_named_and_precompile_has_every_variants_kernels():
    from mhc_kernels.tilelang import precompile

    prov = TileLangDecode().provenance()  # "lane_vectors" since the twenty-ninth session ("gather_rcp" before)
    assert prov["sinkhorn_layout"] == "lane_vectors" and prov["decode_pre_early_constants"] is True
    assert prov["mid_pre_early_constants"] is True
    assert "mid_pre_early_constants" not in TileLangEarlySinkhorn().provenance()
    default = {job[0] for job in precompile.jobs(H)}
    assert {job[0] for job in precompile.fused_pre_jobs(H, TileLangDecode)} <= default
    assert "decode_pre[H=7168,parts=112,norm=False,prefetch,lane_vectors,narrow_sums,early_constants]" in default
    probes = {job[0] for job in precompile.probe_jobs(H)}
    for cls in (TileLangEarlySinkhorn, TileLangSinkhornGather):
        assert {job[0] for job in precompile.fused_pre_jobs(H, cls)} <= default | probes, cls.__name__


def test_decode_pre_loads_its_constants_before_the_wait_only_with_the_prefetch():
    """The argument that covers the residual's prefetch (the GEMM before it triggers after its own wait)
    covers hc_scale / hc_base; without the prefetch (the pre_big_fuse op) they load after the wait."""
    import tilelang

    from mhc_kernels.tilelang import decode
    from mhc_kernels.tilelang._build import pass_configs

    for prefetch in (False, True):
        func = decode.build_decode_pre(4, 4096, 64, False, True, prefetch_residual=prefetch, early_constants=True)
        src = tilelang.compile(func, target={"kind": "cuda", "arch": "sm_90a"},
                               pass_configs=pass_configs()).get_kernel_source()
        wait, load = src.index("cudaGridDependencySynchronize()"), src.index("consts[1] = hc_base[")
        assert (load < wait) == prefetch, prefetch


@pytest.mark.parametrize("tokens, probe_kernel", [(16, "decode_pre"), (512, "decode_pre"), (1024, "decode_pre"),
                                                  (2048, "pre_big_fuse_overlap")])
def test_the_pre_big_fuse_decode_probe_takes_decode_pre_to_1024_tokens(rec, tokens, probe_kernel):
    """mid_probes.TileLangPreBigFuseDecode (the L2 window's probe): decode_pre on the caller's 16 partials
    up to 1024 tokens (a kernel precompile has: the default's at 1-32 until the twenty-ninth session, now the
    fourteenth's default's, TileLangEarlySinkhornMid's, among probe_jobs), the default's path above."""
    import torch

    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangPreBigFuseDecode

    residual, _, scale, base, nw, *eps, _ = _pre_args(tokens, H)
    partials = (torch.zeros(16, tokens, 24), torch.zeros(16, tokens))
    TileLangPreBigFuseDecode().pre_big_fuse(*partials, scale, base, residual, nw, *eps)
    TileLangDecode().pre_big_fuse(*partials, scale, base, residual, nw, *eps)
    probe, default = rec.names
    # (the default's decode_pre without the weight is the cluster pre since the nineteenth session)
    assert probe == probe_kernel and default == ("decode_pre_cluster" if tokens <= 32 else "pre_big_fuse_overlap")
    config, kw = rec.launches[0][1], rec.keywords[0]
    getter = "decode.decode_pre_kernel" if probe == "decode_pre" else "pre_overlap.pre_big_fuse_overlap_kernel"
    assert _precompiled(precompile.jobs(H) + precompile.probe_jobs(H), getter, config, kw), (config, kw)


@pytest.mark.parametrize("tokens, early", [(512, True), (1024, False), (2048, True)])
def test_the_two_buffer_probe_loads_the_constants_late_on_one_buffer_only(rec, tokens, early):
    """mid_probes.TileLangMidConstantsTwoBuffers: the middle pre's constants late only at
    mid_pre_one_buffer_tokens (769-1535), each launch a kernel precompile has (call 5's selection)."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangMidConstantsTwoBuffers

    TileLangMidConstantsTwoBuffers().mhc_pre(*_pre_args(tokens, H))
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H))  # (the default's rules, as above)
    probe, default = _pre_keywords(rec, "pre_big_fuse_overlap")
    assert probe.get("early_constants", False) is early and default["early_constants"] is True
    assert {k: v for k, v in probe.items() if k != "early_constants"} == \
        {k: v for k, v in default.items() if k != "early_constants"}
    (config,) = [c for (n, c, _) in rec.launches if n == "pre_big_fuse_overlap"][:1]
    assert _precompiled(precompile.jobs(H) + precompile.probe_jobs(H), "pre_overlap.pre_big_fuse_overlap_kernel",
                        config, probe), (config, probe)


@pytest.mark.parametrize("tokens, kernel", [(1, "decode_pre"), (32, "decode_pre"), (64, "pre_big_fuse_overlap"),
                                            (1024, "pre_big_fuse_overlap")])
def test_the_vectors_probe_reaches_every_fused_pre_and_is_precompiled(rec, tokens, kernel):
    """mid_probes.TileLangSinkhornVectors: sinkhorn.py's "vectors" layout in both fused pres, nothing else
    changed, each launch a kernel precompile's probe jobs have."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangSinkhornVectors

    norm = kernel == "decode_pre"  # decode_pre with the weight (as above)
    TileLangSinkhornVectors().mhc_pre(*_pre_args(tokens, H, norm=norm))
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H, norm=norm))  # (the default's rules, as above)
    probe, default = _pre_keywords(rec, kernel)
    assert probe["sinkhorn_layout"] == "vectors" and {**probe, "sinkhorn_layout": "gather_rcp"} == default
    getter = "decode.decode_pre_kernel" if kernel == "decode_pre" else "pre_overlap.pre_big_fuse_overlap_kernel"
    (config,) = [c for (n, c, _) in rec.launches if n == kernel][:1]
    assert _precompiled(precompile.probe_jobs(H), getter, config, probe), (config, probe)
