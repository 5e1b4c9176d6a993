"""The twenty-fourth session's probes (mid_probes): TileLangSquaresUnderWgmma (every TMA GEMM's tile squares under its
wgmma batch: gemm.build_prenorm_gemm's squares_under_wgmma), TileLangSquaresPlainFrom129 (with the op's plain window from
129 tokens), TileLangDecodeTmaSquares (with the decode tensor-core GEMM on TMA too), the gate probe TileLangTwentyFourth,
TileLangFn3LiveRows (fn3's live rows alone: build_prenorm_gemm's live_rows) and TileLangOpPlainWide (the window on
256-column tiles). On the CPU: which calls take them (launches recorded, nothing computed) and that the precompile has
every launch. The generated CUDA's order is tests/test_tilelang_compile.py's; the bits are GPU checks
(tests/test_tilelang_gpu_bits.py)."""

import pytest
import torch

from mhc_kernels.tilelang import _build, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangDecodeTmaSquares, TileLangFn3LiveRows, TileLangOpMidWide,
                                             TileLangOpPlainWide,
                                             TileLangSquaresPlainFrom129, TileLangSquaresUnderWgmma,
                                             TileLangTwentyFourth)
from test_tilelang_decode import _pre_args
from test_tilelang_decode import MIXES, N, rec  # noqa: F401  (rec is a fixture)


def _gemm_jobs(hidden: int) -> set:
    return {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)
            if j[1] == "gemm.prenorm_gemm_kernel"}


def _key(config, kw) -> tuple:
    return tuple(c for c in config if c is not None and not isinstance(c, _build.Target)), tuple(sorted(kw.items()))


def _launches(rec, backend, call) -> list:
    rec.launches.clear(), rec.keywords.clear()
    call(backend)
    return list(zip(rec.launches, rec.keywords))


CALLS = [("op", 64, 16), ("op", 257, 16), ("op", 704, 16), ("op", 1025, 8), ("op", 4096, 4),
         ("mhc_pre", 32, 16), ("mhc_pre", 512, 16), ("mhc_pre", 1024, 16)]


def _call(what: str, tokens: int, splits: int, hidden: int):
    if what == "op":
        x = torch.empty(tokens, N * hidden, dtype=torch.bfloat16)
        return lambda b: b.prenorm_gemm(x, torch.zeros(MIXES, N * hidden), splits)
    args = list(_pre_args(tokens, hidden))
    args[-1] = splits
    return lambda b: b.mhc_pre(*args)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("what, tokens, splits", CALLS)
def test_the_squares_probe_changes_the_tma_gemms_alone(rec, what, tokens, splits, hidden):
    """TileLangSquaresUnderWgmma: the default's launches, but every TMA GEMM's with squares_under_wgmma (a precompile
    job), the cp.async ones (the decode GEMM at 32 tokens, the op's middle GEMM at 64) unchanged."""
    call, jobs = _call(what, tokens, splits, hidden), _gemm_jobs(hidden)
    probe, default = _launches(rec, TileLangSquaresUnderWgmma(), call), _launches(rec, TileLangDecode(), call)
    assert [launch[0][:2] for launch in probe] == [launch[0][:2] for launch in default]
    for ((name, config, _), kw), (_, want_kw) in zip(probe, default):
        if name == "prenorm_gemm" and want_kw.get("tma"):
            assert kw == {**want_kw, "squares_under_wgmma": True}, (kw, want_kw)
            assert _key(config, kw) in jobs, (config, kw)
        else:
            assert kw == want_kw
    tma = [kw for (name, _, _), kw in default if name == "prenorm_gemm" and kw.get("tma")]
    assert bool(tma) == ((what, tokens) in {("op", 257), ("op", 704), ("op", 1025), ("op", 4096), ("mhc_pre", 512),
                                            ("mhc_pre", 1024)}), "the TMA paths are where the default says"


@pytest.mark.parametrize("probe", [TileLangDecodeTmaSquares, TileLangTwentyFourth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [17, 32])
def test_the_decode_probe_runs_the_tensor_core_decode_gemm_on_tma_with_the_squares_under_it(rec, tokens, hidden, probe):
    """TileLangDecodeTmaSquares (and the gate probe): mhc_pre's decode tensor-core GEMM at 17-32 tokens on TMA, the
    squares under the wgmma, otherwise the default's launch: a precompile job."""
    call = _call("mhc_pre", tokens, 16, hidden)
    backends = probe(), TileLangDecode()
    for backend in backends:  # fn's split cached, as in an engine's steady state
        call(backend)
    probe_gemm, default_gemm = (_launches(rec, backend, call)[0] for backend in backends)
    (name, config, _), kw = probe_gemm
    assert name == "prenorm_gemm" and probe_gemm[0][:2] == default_gemm[0][:2]
    assert kw == {**default_gemm[1], "tma": True, "squares_under_wgmma": True}, (kw, default_gemm[1])
    assert _key(config, kw) in _gemm_jobs(hidden)


@pytest.mark.parametrize("probe", [TileLangSquaresPlainFrom129, TileLangTwentyFourth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens, plain", [(128, False), (129, True), (193, True), (256, True), (257, True)])
def test_the_window_from_129_takes_the_callers_splits(rec, tokens, plain, hidden, probe):
    """TileLangSquaresPlainFrom129 (and the gate probe): the op on the caller's 16 splits alone at 129-704 tokens
    (one TMA GEMM launch, four stages, no chunk_sum), its squares under the wgmma, a precompile job; at 128 the
    default's middle GEMM (cp.async) and chunk_sum."""
    call = _call("op", tokens, 16, hidden)
    launches = _launches(rec, probe(), call)
    if not plain:
        assert launches == _launches(rec, TileLangDecode(), call)
        return
    ((name, config, args), kw), = launches
    assert name == "prenorm_gemm" and args[2][0] == 16
    assert kw["tma"] is True and kw["squares_under_wgmma"] is True and (kw["block_k"], kw["num_stages"]) == (128, 4)
    assert _key(config, kw) in _gemm_jobs(hidden)


def test_squares_under_wgmma_needs_the_tma_kernel():
    from mhc_kernels.tilelang.gemm import prenorm_gemm_kernel

    with pytest.raises(ValueError, match="TMA"):
        prenorm_gemm_kernel(N, 4096, MIXES, 64, _build.explicit_target("cuda", "sm_90a"), squares_under_wgmma=True)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("what, tokens, splits", CALLS)
def test_the_live_rows_probe_passes_fn3s_live_rows_to_the_tma_gemms(rec, what, tokens, splits, hidden):
    """TileLangFn3LiveRows: TileLangSquaresUnderWgmma's launches, every TMA GEMM's with live_rows 3M (a precompile
    job) and fn3's first 3M rows as its operand."""
    call, jobs = _call(what, tokens, splits, hidden), _gemm_jobs(hidden)
    probe, squares = _launches(rec, TileLangFn3LiveRows(), call), _launches(rec, TileLangSquaresUnderWgmma(), call)
    assert [launch[0][:2] for launch in probe] == [launch[0][:2] for launch in squares]
    for ((name, config, _), kw), (_, want_kw) in zip(probe, squares):
        if name == "prenorm_gemm" and want_kw.get("tma"):
            assert kw == {**want_kw, "live_rows": 3 * MIXES}, (kw, want_kw)
            assert _key(config, kw) in jobs, (config, kw)
        else:
            assert kw == want_kw


def test_live_rows_cut_fn3_to_its_live_rows(monkeypatch):
    """gemm.prenorm_gemm with live_rows hands the kernel fn3[:3M] (a view: TMA's descriptor then ends at row 3M)."""
    from mhc_kernels.tilelang import gemm

    seen = {}

    def kernel(*args, **kwargs):
        seen["kw"] = kwargs
        return lambda x, fn3, mixes, sqrsum: seen.update(fn3=fn3)

    monkeypatch.setattr(gemm, "prenorm_gemm_kernel", kernel)
    fn3 = torch.zeros(80, N * 64, dtype=torch.bfloat16)
    gemm.prenorm_gemm(torch.zeros(8, N * 64, dtype=torch.bfloat16), torch.zeros(MIXES, N * 64), torch.zeros(1, 8, MIXES),
                      torch.zeros(1, 8), N, 64, 64, _build.explicit_target("cuda", "sm_90a"), fn3=fn3, tma=True,
                      live_rows=3 * MIXES)
    assert seen["fn3"].shape == (3 * MIXES, N * 64) and seen["fn3"].data_ptr() == fn3.data_ptr()
    assert seen["kw"]["live_rows"] == 3 * MIXES and seen["kw"]["tma"] is True
    with pytest.raises(ValueError, match="TMA"):
        gemm.prenorm_gemm(torch.zeros(8, N * 64, dtype=torch.bfloat16), torch.zeros(MIXES, N * 64),
                          torch.zeros(1, 8, MIXES), torch.zeros(1, 8), N, 64, 64, _build.explicit_target("cuda", "sm_90a"),
                          fn3=fn3, live_rows=3 * MIXES)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [129, 256, 704])
def test_the_wide_window_runs_256_column_tiles_on_three_stages(rec, tokens, hidden):
    """TileLangOpPlainWide: the op's window from 129 tokens on 256-column K tiles, three stages, fn3's live rows, the
    squares under the wgmma: a precompile job."""
    ((name, config, args), kw), = _launches(rec, TileLangOpPlainWide(), _call("op", tokens, 16, hidden))
    assert name == "prenorm_gemm" and (kw["block_k"], kw["num_stages"], kw["live_rows"]) == (256, 3, 3 * MIXES)
    assert kw["squares_under_wgmma"] is True and _key(config, kw) in _gemm_jobs(hidden)


@pytest.mark.parametrize("hidden, tokens, wide", [(4096, 128, False), (4096, 129, True), (4096, 192, True),
                                                  (4096, 256, True), (4096, 257, False), (7168, 256, False)])
def test_the_mid_wide_probe_runs_the_ops_middle_gemm_on_256_column_tiles(rec, hidden, tokens, wide):
    """TileLangOpMidWide: at 129-256 tokens, where each K range is whole 256-column tiles (H = 4096), the op's middle
    GEMM on TMA with those tiles, every tile of a CTA in flight, then the default's chunk_sum; elsewhere
    TileLangFn3LiveRows' launches. Its kernels are precompile jobs, its window edges path anchors."""
    call = _call("op", tokens, 16, hidden)
    probe, base = _launches(rec, TileLangOpMidWide(), call), _launches(rec, TileLangFn3LiveRows(), call)
    assert [launch[0][0] for launch in probe] == [launch[0][0] for launch in base]
    if not wide:
        assert probe == base
        return
    ((name, config, args), kw) = probe[0]
    parts = args[2][0]
    assert name == "prenorm_gemm" and probe[1][0][0] == "chunk_sum" and parts == base[0][0][2][2][0]
    assert (kw["block_k"], kw["num_stages"], kw["tma"]) == (256, min(N * hidden // parts // 256, 3), True)
    assert kw["squares_under_wgmma"] is True and kw["live_rows"] == 3 * MIXES
    assert _key(config, kw) in _gemm_jobs(hidden)
    assert {128, 129, 256, 257} <= set(TileLangOpMidWide().path_boundaries("prenorm_gemm"))
