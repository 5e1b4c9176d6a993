"""The sixteenth session's probes: decode_gemm.build_decode_gemm's fn_before_wait
(mid_probes.TileLangFnBeforeWait and TileLangFnBeforeWaitFma32): what it changes in the generated CUDA
(only where the PDL wait sits: fn's loads before it, x's after); and TileLangNoPdlWindow (pre_big_fuse and
hc_post without PDL at 256-1024 tokens). Which launches the probes make, recorded as in
test_tilelang_decode.py (nothing computed); the default makes none of it."""

import pytest
import torch

from mhc_kernels.tilelang import decode, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangFnBeforeWait, TileLangFnBeforeWaitFma32
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)
from test_tilelang_pdl_early import SYNC, TRIGGER, _source

H = 7168


def _kw(rec, name):
    return [kw for (n, _, _), kw in zip(rec.launches, rec.keywords) if n == name]


def _build(hidden, **kw):
    from mhc_kernels.tilelang import decode_gemm

    return lambda: decode_gemm.build_decode_gemm(N, hidden, MIXES, decode.decode_parts(N, hidden), True, **kw)


@pytest.mark.parametrize("early", [False, True])
@pytest.mark.parametrize("block_t", [8, 32])
def test_fn_before_wait_moves_the_wait_behind_fns_loads_and_nothing_else(early, block_t):
    kw = {"block_t": block_t, **({"early_trigger": True} if early else {})}
    default, before = _source(_build(256, **kw)), _source(_build(256, fn_before_wait=True, **kw))
    head, tail = before[:before.index(SYNC)], before[before.index(SYNC):]
    assert "fn +" in head and "x +" not in head, head  # fn's slice staged, x not yet read
    assert "fn +" not in tail and "x +" in tail
    assert "fn +" not in default[:default.index(SYNC)]

    def without_pdl(source):
        return [line for line in source.splitlines() if SYNC not in line and TRIGGER not in line]

    assert without_pdl(default) == without_pdl(before)  # the same loads, arithmetic and stores
    assert before.count(SYNC) == 1 and before.count(TRIGGER) == 1


def _fused(backend, tokens, hidden=H):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, hidden)
    backend.fused_post_pre(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual, torch.zeros(tokens, N, 1),
                           torch.zeros(tokens, N, N), fn, scale, base, nw, *eps, n_splits)


def _head(backend, tokens, hidden=H):
    residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
    backend.hc_head(residual, torch.zeros(N, N * hidden), torch.ones(3), torch.zeros(N), 1e-6, 1e-6)


@pytest.mark.parametrize("tokens", [1, 8, 16])
def test_the_default_stages_fn_early_in_mhc_pres_gemm_only_and_the_probe_in_every_fma_decode_gemm(rec, tokens):
    """TileLangDecode.decode_gemm_fn_before_wait: mhc_pre's (faster on the H100, -13); fused_post_pre's and
    hc_head's only in mid_probes.TileLangFnBeforeWait (0.1-0.2 us slower there)."""
    for backend in (TileLangDecode(), TileLangFnBeforeWait()):
        backend.mhc_pre(*_pre_args(tokens, H))
        _fused(backend, tokens)
        _head(backend, tokens)
    assert [kw.get("fn_before_wait") for kw in _kw(rec, "decode_gemm")] == [True, None, None, True, True, True]
    assert TileLangDecode().provenance()["decode_gemm_fn_before_wait"] == ["mhc_pre"]


def test_the_probe_keeps_the_tensor_cores_from_17_tokens_and_fma32_does_not(rec):
    TileLangFnBeforeWait().mhc_pre(*_pre_args(32, H))
    assert rec.names == ["prenorm_gemm", "decode_pre"]
    rec.launches.clear(), rec.keywords.clear()
    TileLangFnBeforeWaitFma32().mhc_pre(*_pre_args(32, H))
    assert rec.names == ["decode_gemm", "decode_pre"]
    (gemm,) = _kw(rec, "decode_gemm")
    assert gemm.get("block_t") == 16 and gemm.get("fn_before_wait") is True, gemm


def test_the_probe_reaches_hc_heads_token_major_gemm(rec):
    residual, fn, scale, base, *_ = _pre_args(8, H)
    TileLangFnBeforeWait().hc_head(residual, torch.zeros(N, N * H), torch.ones(3), torch.zeros(N), 1e-6, 1e-6)
    (gemm,) = _kw(rec, "decode_gemm")
    assert gemm.get("fn_before_wait") is True and gemm.get("token_major") is True, gemm


GETTERS = {"decode_gemm": "decode_gemm.decode_gemm_kernel", "decode_pre": "decode.decode_pre_kernel",
           "pre_big_fuse_overlap": "pre_overlap.pre_big_fuse_overlap_kernel"}


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_every_launch_of_the_probes_is_precompiled(rec, hidden):
    """Each decode GEMM and fused pre the probes launch (mhc_pre and fused_post_pre 1-256, hc_head 1-128) is
    a configuration of the precompile's jobs (the default's and the probes'): the lease calls compile them
    before they time anything."""
    from mhc_kernels.tilelang.mid_probes import TileLangDecodeFloorNext

    jobs = {(j[1], j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}
    for probe in (TileLangFnBeforeWait(), TileLangFnBeforeWaitFma32(), TileLangDecodeFloorNext()):
        for t in (1, 8, 16, 32, 64, 256):
            probe.mhc_pre(*_pre_args(t, hidden))
            residual, fn, scale, base, nw, *eps, n_splits = _pre_args(t, hidden)
            probe.fused_post_pre(torch.zeros(t, hidden, dtype=torch.bfloat16), residual, torch.zeros(t, N, 1),
                                 torch.zeros(t, N, N), fn, scale, base, nw, *eps, n_splits)
        for t in (1, 64):
            residual = torch.zeros(t, N, hidden, dtype=torch.bfloat16)
            probe.hc_head(residual, torch.zeros(N, N * hidden), torch.ones(3), torch.zeros(N), 1e-6, 1e-6)
    checked = 0
    for (name, config, _), kw in zip(rec.launches, rec.keywords):
        if name in GETTERS:
            assert (GETTERS[name], config, tuple(sorted(kw.items()))) in jobs, (name, config, kw)
            checked += 1
    assert checked > 50  # not vacuous: every probe, op and count above


# -- mid_probes.TileLangNoPdlWindow: the pre_big_fuse and hc_post ops without PDL at 256-1024 tokens --------

def _pre_big_fuse_args(t, h, splits=16):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(t, h)
    return (torch.zeros(splits, t, MIXES), torch.zeros(splits, t), scale, base, residual, nw, *eps)


@pytest.mark.parametrize("tokens, no_pdl", [(255, False), (256, True), (512, True), (1024, True), (1025, False)])
def test_the_no_pdl_probe_compiles_the_window_without_pdl(monkeypatch, tokens, no_pdl):
    from mhc_kernels.tilelang import _build, decode_backend as db
    from mhc_kernels.tilelang.mid_probes import TileLangNoPdlWindow, TileLangPdlEverywhere

    monkeypatch.setattr(db.TileLangBackend, "_target", staticmethod(lambda: _build.explicit_target()))
    # against the rule-free baseline: the default's own no_pdl_megabytes covers pre_big_fuse at 489-697 x 7168
    probe, default = TileLangNoPdlWindow(), TileLangPdlEverywhere()
    for backend in (default, probe):
        assert backend._op_target(tokens, "pre_big_fuse", H, N).pdl is (backend is default or not no_pdl)
        assert backend._op_target(tokens, "hc_post", H, N).pdl is (backend is default or not no_pdl)
        assert backend._op_target(tokens, "mhc_pre", H, N).pdl is (backend is default or not no_pdl or tokens == 256)
        assert backend._op_target(tokens, "fused_post_pre", H, N).pdl is True
    assert probe.provenance()["no_pdl_tokens"] == {"pre_big_fuse": (256, 1024), "hc_post": (256, 1024),
                                                   "mhc_pre": (257, 1024)}
    assert "no_pdl_tokens" not in default.provenance() and "no_pdl_tokens" not in TileLangDecode().provenance()


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [256, 512, 800, 1024])
def test_the_no_pdl_probes_launches_are_precompiled_and_labelled(rec, monkeypatch, hidden, tokens):
    """The probe's pre_big_fuse (its caller's 16 splits; one residual buffer at 769-1024) and hc_post
    launches in the window take a target without PDL, each a probe job's configuration; fused_post_pre and
    mhc_pre keep PDL."""
    from mhc_kernels.tilelang.mid_probes import TileLangNoPdlWindow

    captured = []

    def getter(name):
        get = rec.getter(name)

        def with_target(*config, **tunables):
            captured.append((name, config[-1].pdl))
            return get(*config, **tunables)
        return with_target

    from mhc_kernels.tilelang import pre_overlap
    monkeypatch.setattr(decode, "hc_post_wide_kernel", getter("hc_post_wide"))
    monkeypatch.setattr(pre_overlap, "pre_big_fuse_overlap_kernel", getter("pre_big_fuse_overlap"))
    probe = TileLangNoPdlWindow()
    probe.pre_big_fuse(*_pre_big_fuse_args(tokens, hidden))
    residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
    probe.hc_post(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual, torch.zeros(tokens, N, 1),
                  torch.zeros(tokens, N, N))
    assert captured == [("pre_big_fuse_overlap", False), ("hc_post_wide", False)]
    jobs = {(j[1], j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}
    getters = {"pre_big_fuse_overlap": "pre_overlap.pre_big_fuse_overlap_kernel",
               "hc_post_wide": "decode.hc_post_wide_kernel"}
    for (name, config, _), kw in zip(rec.launches, rec.keywords):
        assert (getters[name], config, tuple(sorted({**kw, "pdl": False}.items()))) in jobs, (name, config, kw)
    assert all(",no_pdl]" in label for label in probe.calls if "hc_post_wide" in label or "overlap" in label), \
        probe.calls
    captured.clear()
    rec.launches.clear(), rec.keywords.clear()
    from mhc_kernels.tilelang import gemm

    real_gemm = gemm.prenorm_gemm_kernel

    def gemm_getter(n, hidden_, m, block_m, target, planted=None, **tunables):
        captured.append(("prenorm_gemm", target.pdl))
        jobs_key = ("gemm.prenorm_gemm_kernel", (n, hidden_, m, block_m), tuple(sorted(tunables.items())))
        assert target.pdl or (jobs_key[0], jobs_key[1], tuple(sorted({**tunables, "pdl": False}.items()))) in jobs, \
            (block_m, tunables)
        return real_gemm(n, hidden_, m, block_m, target, planted, **tunables)

    monkeypatch.setattr(gemm, "prenorm_gemm_kernel", gemm_getter)
    probe.mhc_pre(*_pre_args(tokens, hidden))
    # mhc_pre: its middle GEMM (the call's first kernel) without PDL from 257 tokens, its pre with PDL
    assert captured == [("prenorm_gemm", tokens == 256), ("pre_big_fuse_overlap", True)], captured
    assert any(",no_pdl]" in label for label in probe.calls if label.startswith("prenorm_gemm")) is (tokens > 256)
    captured.clear()
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(tokens, hidden)
    probe.fused_post_pre(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual, torch.zeros(tokens, N, 1),
                         torch.zeros(tokens, N, N), fn, scale, base, nw, *eps, n_splits)
    assert captured and all(pdl for _, pdl in captured), captured  # fused_post_pre keeps PDL everywhere


@pytest.mark.parametrize("hidden, tokens, no_pdl", [(7168, 448, False), (7168, 489, True), (7168, 512, True),
                                                    (7168, 697, True), (7168, 698, False), (7168, 1024, False),
                                                    (4096, 854, False), (4096, 1024, True), (4096, 1221, False)])
def test_the_no_pdl_megabytes_probe_runs_the_pre_big_fuse_op_without_pdl_at_35_to_50_mb(rec, monkeypatch, hidden,
                                                                                         tokens, no_pdl):
    """mid_probes.TileLangPreBigFuseNoPdl (TileLangDecode.no_pdl_megabytes): the pre_big_fuse op's kernel
    without PDL where T * H * 2 * (n + 1) bytes are 35-50 MB (489-697 tokens at H = 7168, 855-1220 at
    4096), a configuration jobs() has; mhc_pre's middle GEMM and pre keep PDL at the same counts. The
    default's rule since the seventeenth session; TileLangPdlEverywhere runs PDL everywhere."""
    from mhc_kernels.tilelang.mid_probes import TileLangPdlEverywhere, TileLangPreBigFuseNoPdl

    from mhc_kernels.tilelang import pre_overlap

    jobs = {(j[1], j[2], tuple(sorted(j[3].items()))) for j in precompile.jobs(hidden) + precompile.probe_jobs(hidden)}
    pdl = []
    recorded = pre_overlap.pre_big_fuse_overlap_kernel  # rec's recorder

    def launch(n, h, with_norm, target, **variant):
        pdl.append(target.pdl)
        key = tuple(sorted({**variant, **({} if target.pdl else {"pdl": False})}.items()))
        assert ("pre_overlap.pre_big_fuse_overlap_kernel", (n, h, with_norm), key) in jobs, key
        return recorded(n, h, with_norm, target, **variant)

    monkeypatch.setattr(pre_overlap, "pre_big_fuse_overlap_kernel", launch)
    TileLangPdlEverywhere().pre_big_fuse(*_pre_big_fuse_args(tokens, hidden))
    assert pdl == [True]
    for backend in (TileLangDecode(), TileLangPreBigFuseNoPdl()):  # the default since the seventeenth session
        pdl.clear()
        backend.pre_big_fuse(*_pre_big_fuse_args(tokens, hidden))
        assert pdl == [not no_pdl]
        assert any(",no_pdl]" in k for k in backend.calls) is no_pdl
        pdl.clear()
        backend.mhc_pre(*_pre_args(tokens, hidden))
        assert pdl == [True]
