"""Where TileLangDecode takes its decode kernels, per op (launches recorded as in
test_tilelang_decode.py, nothing computed): pre_big_fuse and hc_post have thresholds of their own,
and the default mhc_pre above the decode GEMM's range reaches decode_pre through pre_big_fuse."""

import torch

from mhc_kernels.tilelang.decode_backend import TileLangDecode, TileLangDecodeEverywhere
from mhc_kernels.tilelang.mid_probes import TileLangDecode20
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)


class _Thresholds(TileLangDecode):
    decode_max_tokens = 32
    decode_max_tokens_by_op = {"pre_big_fuse": 256, "hc_post": 128}
    mid_max_tokens = 0  # the decode kernels' thresholds alone (the middle path: test_tilelang_decode.py)
    decode_pre_cluster = False  # decode_pre's thresholds (the cluster pre: test_tilelang_nineteenth_probes.py)


def _partials(parts, t):
    return torch.zeros(parts, t, MIXES), torch.zeros(parts, t)


def test_pre_big_fuse_takes_decode_pre_up_to_its_threshold(rec):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(256, 7168)
    _Thresholds().pre_big_fuse(*_partials(16, 256), scale, base, residual, nw, *eps)
    assert rec.names == ["decode_pre"]
    assert rec.launches[0][1] == (N, 7168, 16, False)  # parts = the partials given, a compile-time count
    rec.launches.clear()
    residual = torch.zeros(257, N, 7168, dtype=torch.bfloat16)
    _Thresholds().pre_big_fuse(*_partials(16, 257), scale, base, residual, nw, *eps)
    assert rec.names == ["pre_big_fuse"]


def test_mhc_pre_above_the_gemm_threshold_runs_the_default_gemm_then_decode_pre(rec):
    _Thresholds().mhc_pre(*_pre_args(64, 7168, norm=True))
    assert rec.names[-2:] == ["decode_pre", "decode_norm"] and "pre_big_fuse" not in rec.names
    assert not any(name.startswith("decode_gemm") for name in rec.names)
    gemm_args = rec.launches[0][2]
    assert rec.launches[-2][1][2] == gemm_args[2][0]  # decode_pre sums every partial the GEMM wrote


def test_hc_post_threshold_is_its_own(rec):
    x = torch.zeros(128, 7168, dtype=torch.bfloat16)
    residual = torch.zeros(128, N, 7168, dtype=torch.bfloat16)
    _Thresholds().hc_post(x, residual, torch.zeros(128, N, 1), torch.zeros(128, N, N))
    assert rec.names == ["hc_post_wide"]
    rec.launches.clear()
    above = TileLangDecode.decode_max_tokens_by_op["hc_post"] + 1
    assert above > TileLangDecode.decode_max_tokens
    x, residual = torch.zeros(above, 64, dtype=torch.bfloat16), torch.zeros(above, N, 64, dtype=torch.bfloat16)
    TileLangDecode20().hc_post(x, residual, torch.zeros(above, N, 1), torch.zeros(above, N, N))
    assert rec.names == ["hc_post"], "the default before the twenty-first session: post.py's kernel above it"
    rec.launches.clear(), rec.keywords.clear()
    TileLangDecode().hc_post(x, residual, torch.zeros(above, N, 1), torch.zeros(above, N, N))
    assert rec.names == ["hc_post_wide"] and rec.keywords[0]["flat_grid"] is True, "since: hc_post_wide, flat"


def test_zero_tokens_never_take_a_decode_kernel(rec):
    residual, fn, scale, base, nw, *eps, n_splits = _pre_args(0, 7168)
    out = TileLangDecodeEverywhere().pre_big_fuse(*_partials(16, 0), scale, base, residual, nw, *eps)
    assert rec.names == [] and out[2].shape == (0, 7168)


def test_the_probe_reports_its_thresholds():
    prov = TileLangDecodeEverywhere().provenance()
    assert prov["decode_max_tokens_by_op"]["pre_big_fuse"] == 4096
    assert TileLangDecodeEverywhere.name != TileLangDecode.name
