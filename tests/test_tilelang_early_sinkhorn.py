"""mid_probes.TileLangEarlySinkhorn (the fourteenth session's probe): where its two changes reach.
decode_pre (mhc_pre, fused_post_pre and pre_big_fuse at decode counts) gets the gather_rcp Sinkhorn and
the early constants; the middle path's fused pre (64 .. 4096 tokens) the gather_rcp Sinkhorn only; the
default keeps "gather" and no early constants, and precompile has every kernel the probe runs. The
kernels' bits: tests/test_tilelang_sinkhorn.py and tests/test_tilelang_decode_variants.py."""

import pytest

from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangEarlySinkhorn
from test_tilelang_decode import _pre_args, rec  # noqa: F401  (rec is a fixture)

H = 7168


def _pre_keywords(rec, name):
    return [kw for (n, _, _), kw in zip(rec.launches, rec.keywords) if n == name]


@pytest.mark.parametrize("tokens, kernel", [(1, "decode_pre"), (16, "decode_pre"), (32, "decode_pre"),
                                            (64, "pre_big_fuse_overlap"), (1024, "pre_big_fuse_overlap")])
def test_the_probe_reaches_every_fused_pre(rec, tokens, kernel):
    TileLangEarlySinkhorn().mhc_pre(*_pre_args(tokens, H))
    TileLangDecode().mhc_pre(*_pre_args(tokens, H))
    probe, default = _pre_keywords(rec, kernel)
    assert probe["sinkhorn_layout"] == "gather_rcp" and default["sinkhorn_layout"] == "gather"
    if kernel == "decode_pre":
        assert probe.get("early_constants") is True and "early_constants" not in default
    else:
        assert "early_constants" not in probe  # decode_pre's own knob
    assert {k: v for k, v in probe.items() if k not in ("sinkhorn_layout", "early_constants")} == \
        {k: v for k, v in default.items() if k != "sinkhorn_layout"}, "nothing else changes"


def test_the_probe_names_its_knobs_and_precompile_has_its_kernels():
    from mhc_kernels.tilelang import precompile

    prov = TileLangEarlySinkhorn().provenance()
    assert prov["sinkhorn_layout"] == "gather_rcp" and prov["decode_pre_early_constants"] is True
    assert "decode_pre_early_constants" not in TileLangDecode().provenance()
    labels = {job[0] for job in precompile.probe_jobs(H)}
    assert {job[0] for job in precompile.fused_pre_jobs(H, TileLangEarlySinkhorn)} <= labels
    assert "decode_pre[H=7168,parts=112,norm=False,prefetch,gather_rcp,narrow_sums,early_constants]" in labels


@pytest.mark.parametrize("tokens", [64, 1024])
def test_the_mid_probe_adds_the_middle_pres_early_constants(rec, tokens):
    from mhc_kernels.tilelang.mid_probes import TileLangEarlySinkhornMid

    TileLangEarlySinkhornMid().mhc_pre(*_pre_args(tokens, H))
    TileLangEarlySinkhorn().mhc_pre(*_pre_args(tokens, H))
    mid, early = _pre_keywords(rec, "pre_big_fuse_overlap")
    assert mid.get("early_constants") is True and "early_constants" not in early
    assert {k: v for k, v in mid.items() if k != "early_constants"} == early


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
