"""The middle path's probes of mid_probes.py, recorded as in test_tilelang_decode.py (nothing
computed): TileLangMidLean (the fused pre on one residual buffer, pre_overlap.py's
prefetch_next_block=False: which launches carry it, the default none, its own cache key, precompile
covers it; its bitwise equality is tests/test_tilelang_pre_overlap.py's test_one_buffer_*),
TileLangPostPerToken (hc_post a CTA per token above 256 tokens) and TileLangMidWaveCost (the middle
GEMM's K ranges by wave cost)."""

import pytest
import torch

from mhc_kernels.tilelang import pre_overlap
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangDecode19, TileLangMidLean
from test_tilelang_decode import MIXES, _pre_args, rec  # noqa: F401  (rec is a fixture)

N = 4


def _overlap_keywords(rec):
    return [kw for (name, _, _), kw in zip(rec.launches, rec.keywords) if name == "pre_big_fuse_overlap"]


@pytest.mark.parametrize("hidden", [4096, 7168])
@pytest.mark.parametrize("tokens", [64, 256, 768, 769, 1024, 1535, 1536, 4096])
def test_lean_probe_runs_one_buffer_in_mhc_pre(rec, hidden, tokens):
    """The probe at every T; the default in MID_PRE_ONE_BUFFER_TOKENS (769 .. 1535) only (the default's rules on
    TileLangDecode19: the middle GEMM's K ranges the probe's, not mid_deep_tokens')."""
    TileLangMidLean().mhc_pre(*_pre_args(tokens, hidden))
    TileLangDecode19().mhc_pre(*_pre_args(tokens, hidden))
    lean, default = _overlap_keywords(rec)
    assert lean.get("prefetch_next_block") is False, rec.keywords
    assert default.get("prefetch_next_block", True) is (not 769 <= tokens <= 1535), rec.keywords
    assert {k: v for k, v in lean.items() if k != "prefetch_next_block"} == \
        {k: v for k, v in default.items() if k != "prefetch_next_block"}, "nothing else changes"


def test_lean_probe_in_pre_big_fuse_on_the_callers_partials(rec):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(1024, 4096)
    for backend in (TileLangMidLean(), TileLangDecode()):
        backend.pre_big_fuse(torch.zeros(16, 1024, MIXES), torch.zeros(16, 1024), scale, base, residual, nw, *eps)
    lean, default = _overlap_keywords(rec)
    assert lean["parts"] == default["parts"] == 16
    assert lean.get("prefetch_next_block") is False and default.get("prefetch_next_block") is False  # 1024: both
    assert TileLangMidLean().provenance()["mid_pre_one_buffer_tokens"] == (1, 1 << 30)
    assert ("mid_pre_one_buffer_tokens" in TileLangDecode().provenance()) == (
        TileLangDecode.mid_pre_one_buffer_tokens is not None)


def test_decode_counts_stay_on_decode_pre(rec):
    """At <= 32 tokens the probe runs decode_pre as the default does: the option is the middle path's."""
    TileLangMidLean().mhc_pre(*_pre_args(16, 7168))
    assert "pre_big_fuse_overlap" not in rec.names and "decode_pre" in rec.names


def test_one_buffer_has_its_own_cache_key(monkeypatch):
    keys = []
    monkeypatch.setattr(pre_overlap, "compile_cached", lambda name, key, build, target: keys.append(key))
    pre_overlap.pre_big_fuse_overlap_kernel(N, 4096, False, None, parts=16)
    pre_overlap.pre_big_fuse_overlap_kernel(N, 4096, False, None, parts=16, prefetch_next_block=False)
    assert keys == [(N, 4096, False, True, ("parts", 16)), (N, 4096, False, True, ("parts", 16), "one_buffer")]


def test_precompile_covers_the_lean_probe(rec):
    """Every count the middle path takes on 132 SMs (rec's), and the benchmark's S = 16."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.decode_backend import MID_MAX_TOKENS

    tag = precompile.default_pre_variant()[1]  # the probe runs the default's Sinkhorn layout
    for hidden in (4096, 7168):
        jobs = {label: kwargs for label, _, _, kwargs in precompile.probe_jobs(hidden)}
        parts = {TileLangDecode().mid_parts(t, N, hidden, torch.device("cpu"), "mhc_pre")
                 for t in (64, 128, 256, 512, 1024, 2048, MID_MAX_TOKENS)}
        for p in parts | {16}:
            for norm in (False, True):
                label = f"pre_big_fuse_overlap[H={hidden},parts={p},norm={norm},one_buffer{tag}]"
                assert jobs[label]["prefetch_next_block"] is False, label


@pytest.mark.parametrize("tokens, kernel", [(256, "hc_post_wide"), (257, "hc_post"), (1024, "hc_post"),
                                            (4096, "hc_post")])
def test_post_per_token_probe_takes_post_py_above_256_tokens(rec, tokens, kernel):
    """mid_probes.TileLangPostPerToken: hc_post, and fused_post_pre's hc_post, on post.py's kernel
    (a CTA per token) above 256 tokens; the default keeps hc_post_wide to 4096 but for its pipelined window (225-448
    tokens at H = 4096 since the twenty-eighth session)."""
    from mhc_kernels.tilelang.mid_probes import TileLangPostPerToken

    x = torch.zeros(tokens, 4096, dtype=torch.bfloat16)
    residual = torch.zeros(tokens, N, 4096, dtype=torch.bfloat16)
    mixes = (torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N))
    TileLangPostPerToken().hc_post(x, residual, *mixes)
    TileLangDecode().hc_post(x, residual, *mixes)
    assert rec.names == [kernel, "hc_post_pipelined" if 225 <= tokens <= 448 else "hc_post_wide"], rec.names
    rec.launches.clear()
    rec.keywords.clear()
    _, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, 4096)
    TileLangPostPerToken().fused_post_pre(x, residual, *mixes, fn, scale, base, nw, *eps, n_splits)
    assert rec.names[0] == kernel, rec.names


@pytest.mark.parametrize("hidden, tokens, kernel", [(4096, 448, "hc_post_wide"), (4096, 449, "hc_post"),
                                                    (4096, 512, "hc_post"), (4096, 704, "hc_post"),
                                                    (4096, 705, "hc_post_wide"), (7168, 512, "hc_post_wide")])
def test_post_per_token_window_probe_only_in_its_window(rec, hidden, tokens, kernel):
    """The hc_post op on post.py's kernel at 449-704 tokens and H = 4096 only (hc_post_per_token_tokens: the
    default's since the eighteenth session, mid_probes.TileLangPostPerTokenWindow's before); fused_post_pre
    keeps hc_post_wide there; mid_probes.TileLangPostWideCpAsyncPre (the default before) hc_post_wide. Below 449 the
    default's pipelined window (225-448 x 4096, the twenty-eighth session's) takes the op; not the probe's base."""
    from mhc_kernels.tilelang.mid_probes import TileLangPostPerTokenWindow, TileLangPostWideCpAsyncPre

    x = torch.zeros(tokens, hidden, dtype=torch.bfloat16)
    residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
    mixes = (torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N))
    for backend in (TileLangPostPerTokenWindow(), TileLangDecode(), TileLangPostWideCpAsyncPre()):
        backend.hc_post(x, residual, *mixes)
    piped = hidden == 4096 and 225 <= tokens <= 448
    assert rec.names == [kernel, "hc_post_pipelined" if piped else kernel, "hc_post_wide"], rec.names
    rec.launches.clear()
    rec.keywords.clear()
    _, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, hidden)
    TileLangDecode().fused_post_pre(x, residual, *mixes, fn, scale, base, nw, *eps, n_splits)
    assert rec.names[0] == "hc_post_wide", rec.names
    assert TileLangDecode().provenance()["hc_post_per_token_tokens"] == {4096: (449, 704)}
    assert "hc_post_per_token_tokens" not in TileLangPostWideCpAsyncPre().provenance()


def test_mid_wave_cost_probe_picks_the_least_loaded_busiest_sm(rec):
    """mid_probes.TileLangMidWaveCost on 132 SMs (rec's): mhc_pre's K ranges at H = 7168 / 4096; the
    default's beside; the launches take the probe's count."""
    from mhc_kernels.tilelang.mid_probes import TileLangMidWaveCost, wave_cost_parts

    cpu = torch.device("cpu")
    probe, default = TileLangMidWaveCost(), TileLangDecode()
    counts = {(h, t): (probe.mid_parts(t, N, h, cpu, "mhc_pre"), default.mid_parts(t, N, h, cpu, "mhc_pre"))
              for h in (7168, 4096) for t in (64, 256, 512, 1024)}
    assert counts[(7168, 256)] == (32, 56) and counts[(7168, 512)] == (32, 56)  # 512: 128-token blocks
    assert counts[(4096, 256)] == (32, 64) and counts[(7168, 1024)] == (16, 28)
    assert counts[(7168, 64)] == (112, 112), "one block of 64 tokens: as many ranges as the tiles allow either way"
    assert wave_cost_parts(224, 2, 16, 4, 132) == 32 and wave_cost_parts(3, 2, 2, 1, 132) is None
    probe.mhc_pre(*_pre_args(256, 7168))
    assert [shapes[2][0] for name, _, shapes in rec.launches if name == "prenorm_gemm"] == [32]
    assert [kw["parts"] for kw in _overlap_keywords(rec)] == [32]


def test_the_co_resident_probe_balances_mhc_pre_128_token_blocks(rec):
    """mid_probes.TileLangMidCoResident (132 SMs, from the rec fixture): 56 ranges at 512 x 7168 (as the
    default, which beat wave cost's 32 there), 112 at 768 (the default's 28 leave 36 SMs with 16
    tiles); the default below 512 tokens, for hc_head and for the prenorm_gemm op."""
    from mhc_kernels.tilelang.decode_backend import wave_cost_parts
    from mhc_kernels.tilelang.mid_probes import TileLangMidCoResident

    cpu = torch.device("cpu")
    probe, default = TileLangMidCoResident(), TileLangDecode()
    assert [probe.mid_parts(t, N, 7168, cpu, "mhc_pre") for t in (256, 512, 768)] == [56, 56, 112]
    assert [default.mid_parts(t, N, 7168, cpu, "mhc_pre") for t in (256, 512, 768)] == [56, 56, 28]
    assert probe.mid_parts(768, N, 7168, cpu, "hc_head") == default.mid_parts(768, N, 7168, cpu, "hc_head")
    assert probe._op_gemm_parts(768, N, 7168, 16, cpu) == default._op_gemm_parts(768, N, 7168, 16, cpu)
    assert wave_cost_parts(224, 2, 1, 6, 132) == 56 and wave_cost_parts(1, 2, 1, 1, 132, co_resident=2) is None
    probe.mhc_pre(*_pre_args(768, 7168))
    gemm = next(launch for launch in rec.launches if launch[0] == "prenorm_gemm")
    assert gemm[1][3] == 128 and gemm[2][2] == (112, 768, MIXES)


@pytest.mark.parametrize("tokens, tma, default_tma", [(4096, False, False), (4097, True, False),
                                                     (67456, True, False), (67457, True, True), (80000, True, True)])
def test_pre_tma_runs_the_tma_gemm_above_the_middle_path_only(rec, tokens, tma, default_tma):
    """mid_probes.TileLangPreTma: mhc_pre's and fused_post_pre's GEMM on the TMA kernel from 4097 tokens
    (TileLangBackend's path there: its GEMM then pre.py's fused pre), the same launches otherwise; the
    default's from 67 457 (pre_gemm_tma_from_tokens) until the twenty-ninth session (TileLangDecode22 pins that
    rule; today's default takes the TMA kernel from 4097 too, tests/test_tilelang_twenty_ninth_probes.py),
    mid_probes.TileLangPostWideCpAsyncPre's never."""
    from mhc_kernels.tilelang.mid_probes import TileLangDecode22, TileLangPostWideCpAsyncPre, TileLangPreTma

    args = _pre_args(tokens, 4096)
    x = torch.zeros(tokens, 4096, dtype=torch.bfloat16)
    mixes = (torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N))
    runs = []
    for backend in (TileLangPreTma(), TileLangDecode22(), TileLangPostWideCpAsyncPre()):
        for call in (lambda: backend.mhc_pre(*args), lambda: backend.fused_post_pre(x, args[0], *mixes, *args[1:])):
            rec.launches.clear()
            rec.keywords.clear()
            call()
            gemm = [kw for (name, _, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]
            runs.append((rec.names[-2:], [kw.get("tma", False) for kw in gemm]))
    (probe_pre, probe_fused, default_pre, default_fused, before_pre, before_fused) = runs
    assert probe_pre[1] == probe_fused[1] == [tma] and default_pre[1] == default_fused[1] == [default_tma]
    assert before_pre[1] == before_fused[1] == [False]
    assert probe_pre[0] == default_pre[0] == before_pre[0] and probe_fused[0] == default_fused[0] == before_fused[0]
    assert TileLangPreTma().provenance()["pre_gemm_tma_from_tokens"] == 4097
    assert TileLangDecode22().provenance()["pre_gemm_tma_from_tokens"] == 67457
    assert TileLangDecode().provenance()["pre_gemm_tma_from_tokens"] == 4097
    assert "pre_gemm_tma_from_tokens" not in TileLangPostWideCpAsyncPre().provenance()


def test_precompile_covers_the_defaults_tma_pre(rec):
    """The default's mhc_pre at 80 000 tokens (its GEMM on TMA, pre_gemm_tma_from_tokens) launches a
    configuration precompile.jobs() builds, at both H."""
    from mhc_kernels.tilelang import precompile

    for hidden in (4096, 7168):
        rec.launches.clear()
        rec.keywords.clear()
        TileLangDecode().mhc_pre(*_pre_args(80_000, hidden))
        jobs = {(j[1], j[2], tuple(sorted(j[3].items()))) for j in precompile.jobs(hidden)}
        (launch,) = [(config, kw) for (name, config, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]
        config, kw = launch  # (n, H, M, block_m, the target): the jobs leave the target to precompile
        assert kw.get("tma") is True, kw
        assert ("gemm.prenorm_gemm_kernel", config[:4], tuple(sorted(kw.items()))) in jobs, (config, kw)
