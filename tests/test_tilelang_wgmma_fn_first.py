"""The seventeenth session's probe: the tensor-core decode GEMM (17-32 tokens) staging fn3's tiles before its
PDL wait (gemm.build_prenorm_gemm's fn_tiles; mid_probes.TileLangWgmmaFnBeforeWait and
TileLangPreBigFuseNoPdlFn3First). What it changes in the generated CUDA (fn3's loads before the wait, x's
after, the same wgmma instructions and sums), where the backend runs it (never right behind a split of fn
launched in the same call), and that the precompile has every launch."""

import pytest
import torch

from mhc_kernels.tilelang import gemm, precompile
from mhc_kernels.tilelang.backend import WIDE_K_TILES
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangPreBigFuseNoPdlFn3First, TileLangWgmmaFnBeforeWait
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)
from test_tilelang_pdl_early import SYNC, TRIGGER, _source


def _gemm_source(hidden, **kw):
    return _source(lambda: gemm.build_prenorm_gemm(N, hidden, MIXES, 64, True, **WIDE_K_TILES[64], **kw))


def _lines(source, needle):
    return [line.strip() for line in source.splitlines() if needle in line]


@pytest.mark.parametrize("early", [False, True])
def test_fn3_is_loaded_before_the_wait_and_the_arithmetic_is_the_defaults(early):
    kw = {"early_trigger": True} if early else {}
    default, first = _gemm_source(7168, **kw), _gemm_source(7168, fn_tiles=2, **kw)
    head, tail = first[:first.index(SYNC)], first[first.index(SYNC):]
    assert "(fn3 +" in head and "x[" not in head and "x +" not in head, head  # fn3 staged, x not yet read
    assert "fn3 +" not in tail and "fn3[" not in tail and "x[" in tail  # x through the pipeline after the wait
    body = default[default.index("{", default.index("__launch_bounds__")):]
    assert "fn3[" not in body[:body.index(SYNC)] and "fn3[" in body[body.index(SYNC):]  # the default: after
    # the same tensor-core instruction, once per K tile (2 a CTA), and the same sums of squares
    for needle in ("wgmma_ss<", "run = (run + ", "lanes[e", "total = (total + "):
        assert sorted(set(_lines(first, needle))) == sorted(set(_lines(default, needle))), needle
    assert len(_lines(first, "wgmma_ss<")) == 2
    assert first.count(SYNC) == 1 and first.count(TRIGGER) == 1


def test_fn_tiles_needs_fn3_given_and_the_tiles_per_cta_it_was_compiled_for():
    x = torch.zeros(32, N * 7168, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, N * 7168)
    parts = 112  # 224 K tiles of 128: 2 a CTA
    mixes, sqrsum = torch.zeros(parts, 32, MIXES), torch.zeros(parts, 32)
    with pytest.raises(ValueError, match="fn3 given"):
        gemm.prenorm_gemm(x, fn, mixes, sqrsum, N, 7168, 64, None, fn_tiles=2, **WIDE_K_TILES[64])
    fn3 = gemm.split_fn_reference(fn)
    with pytest.raises(ValueError, match="K / P"):
        gemm.prenorm_gemm(x, fn, mixes[:56], sqrsum[:56], N, 7168, 64, None, fn3=fn3, fn_tiles=2, **WIDE_K_TILES[64])


def _gemm_keywords(rec):
    return [kw for (name, _, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]


def _fused(backend, args):
    residual, fn, scale, base, nw, *eps, n_splits = args
    t, _, h = residual.shape
    backend.fused_post_pre(torch.zeros(t, h, dtype=torch.bfloat16), residual, torch.zeros(t, N, 1),
                           torch.zeros(t, N, N), fn, scale, base, nw, *eps, n_splits)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [17, 24, 32])
def test_the_probe_stages_fn3_early_unless_its_call_split_fn(rec, hidden, tokens):
    """The first call with a new fn splits it (fn3 is then the kernel just before's output): the wait stays
    before fn3. The next calls with the same fn read the cached split: fn3 before the wait, 2 tiles a CTA.
    The default never does."""
    probe, args = TileLangWgmmaFnBeforeWait(), _pre_args(tokens, hidden)
    probe.mhc_pre(*args)
    probe.mhc_pre(*args)
    _fused(probe, args)
    TileLangDecode().mhc_pre(*args)
    TileLangDecode().mhc_pre(*args)
    kws = _gemm_keywords(rec)
    assert [kw.get("fn_tiles") for kw in kws] == [None, 2, 2, None, None], kws
    assert kws[1].get("early_trigger") is True and "early_trigger" not in kws[2]  # mhc_pre's PDL early only
    assert probe.calls["split_fn"] == 1
    assert sum(v for k, v in probe.calls.items() if k.startswith("prenorm_gemm") and ",fn_before_wait" in k) == 2


@pytest.mark.parametrize("tokens", [1, 16, 33, 64])
def test_outside_17_to_32_tokens_the_probe_is_the_default(rec, tokens):
    """... the default it was measured against (mid_probes.TileLangDecode18: the nineteenth session's adoptions off)."""
    from mhc_kernels.tilelang.mid_probes import TileLangDecode18

    args = _pre_args(tokens, 7168)
    for backend in (TileLangWgmmaFnBeforeWait(), TileLangDecode18()):
        backend.mhc_pre(*args)
        backend.mhc_pre(*args)
    half = len(rec.launches) // 2
    assert rec.launches[:half] == rec.launches[half:] and rec.keywords[:half] == rec.keywords[half:]


def test_without_the_split_cache_the_wait_stays_before_fn3(rec):
    probe, args = TileLangWgmmaFnBeforeWait(), _pre_args(32, 7168)
    probe.cache_split_fn = False
    probe.mhc_pre(*args)
    probe.mhc_pre(*args)
    assert [kw.get("fn_tiles") for kw in _gemm_keywords(rec)] == [None, None]


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_every_launch_of_the_probes_is_precompiled(rec, hidden):
    jobs = {(j[1], j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}
    for probe in (TileLangWgmmaFnBeforeWait(), TileLangPreBigFuseNoPdlFn3First()):
        for t in (17, 32):
            args = _pre_args(t, hidden)
            probe.mhc_pre(*args)
            probe.mhc_pre(*args)
            _fused(probe, args)
    kws = _gemm_keywords(rec)
    configs = [config[:4] for name, config, _ in rec.launches if name == "prenorm_gemm"]  # less the target
    assert sum(1 for kw in kws if kw.get("fn_tiles")) == 8
    for config, kw in zip(configs, kws):
        assert ("gemm.prenorm_gemm_kernel", config, tuple(sorted(kw.items()))) in jobs, (config, kw)
    labels = [j[0] for j in precompile.probe_jobs(hidden) if "fn3_before_wait" in j[0]]
    assert len(labels) == 2, labels


def test_the_combined_probe_is_both():
    both = TileLangPreBigFuseNoPdlFn3First().provenance()
    assert both["wgmma_fn_before_wait"] == ["fused_post_pre", "mhc_pre"]
    assert both["no_pdl_megabytes"] == {"pre_big_fuse": (35.0, 50.0)}
    assert TileLangDecode().provenance()["wgmma_fn_before_wait"] == []
    assert TileLangDecode().provenance()["no_pdl_megabytes"] == {"pre_big_fuse": (35.0, 50.0)}  # adopted
