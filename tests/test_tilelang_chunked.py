"""mid_probes.TileLangChunked (chunk_tokens): mhc_pre and fused_post_pre above the middle path's range
run it chunk by chunk. On the CPU, with the three kernels it launches replaced by float64 torch fakes
(the GEMM's K-range partials, the fused pre from those partials, hc_post_wide), the chunked op gives
every row what the middle path over all rows gives (the chunks' K ranges differ from the whole's, so
up to fp32 rounding of the partials), and fused_post_pre's new residual bitwise: a row placed in the
wrong chunk, or a chunk's pre fed another chunk's residual, is an O(1) error. Which launches the chunks
make is recorded too."""

import pytest
import torch

from mhc_kernels.tilelang import decode, gemm, pre_overlap
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangChunked
from mhc_reference.hc_post import hc_post as hc_post_reference
from mhc_reference.pre_big_fuse import pre_from_partials

N, H = 4, 256
MIXES = N * N + 2 * N
PARAMS = {"rms_eps": 1e-6, "hc_pre_eps": 1e-2, "hc_sinkhorn_eps": 1e-6, "hc_post_mult_value": 2.0,
          "sinkhorn_repeat": 20, "norm_eps": 1e-6}


@pytest.fixture
def fakes(monkeypatch):
    """The kernels as float64 torch, each launch recorded as (name, T)."""
    launched = []

    def prenorm_gemm(x, fn, mixes, sqrsum, n, hidden, block_m, target, fn3=None, **kw):
        parts, k = mixes.shape[0], x.shape[1]
        launched.append(("gemm", x.shape[0], parts))
        for p, cols in enumerate(torch.arange(k).chunk(parts)):
            xs = x[:, cols].double()
            mixes[p] = (xs @ fn[:, cols].double().T).float()
            sqrsum[p] = xs.pow(2).sum(1).float()

    def overlap_kernel(n, h, with_norm, target, **kw):
        def launch(mixes, sqrsum, scale, base, residual, weight, post, comb, layer_input, rms_eps, pre_eps, sk_eps,
                   mult, repeat, norm_eps):
            launched.append(("pre", residual.shape[0], mixes.shape[0]))
            out = pre_from_partials(mixes, sqrsum, scale, base, residual, weight if with_norm else None, PARAMS)
            post.copy_(out["post_mix"].squeeze(-1))
            comb.copy_(out["comb_mix"])
            layer_input.copy_(out["layer_input"])
        return launch

    def hc_post_wide_kernel(n, h, target, **kw):
        def launch(x, residual, post_mix, comb_mix, out):
            launched.append(("hc_post", residual.shape[0], 0))
            out.copy_(hc_post_reference(x, residual, post_mix.unsqueeze(-1), comb_mix))
        return launch

    monkeypatch.setattr(gemm, "prenorm_gemm", prenorm_gemm)
    monkeypatch.setattr(gemm, "split_fn", lambda fn, target: fn)
    monkeypatch.setattr(pre_overlap, "pre_big_fuse_overlap_kernel", overlap_kernel)
    monkeypatch.setattr(decode, "hc_post_wide_kernel", hc_post_wide_kernel)
    from mhc_kernels.tilelang import backend as be, _build
    monkeypatch.setattr(be.TileLangBackend, "_target", staticmethod(lambda: _build.explicit_target()))
    monkeypatch.setitem(be._SM_COUNT, "cpu", 132)
    return launched


def _backends():
    """The chunked path at small sizes: chunks of 64 above 128 tokens; the whole middle path beside."""
    chunked, whole = TileLangChunked(), TileLangDecode()
    chunked.chunk_tokens, chunked.mid_max_tokens = 64, 128
    whole.mid_max_tokens = 4096
    return chunked, whole


def _inputs(t: int, norm: bool):
    g = torch.Generator().manual_seed(t + norm)
    scale = torch.exp(torch.randn(t, 1, 1, generator=g) * 2)  # magnitudes per token: a misplaced row shows
    residual = (torch.randn(t, N, H, generator=g) * scale).to(torch.bfloat16)
    fn = torch.randn(MIXES, N * H, generator=g) * 1e-2
    nw = (1 + 0.1 * torch.randn(H, generator=g)).to(torch.bfloat16) if norm else None
    return residual, fn, 0.5 + torch.rand(3, generator=g), torch.randn(MIXES, generator=g), nw


def _args(residual, fn, scale, base, nw):
    p = PARAMS
    return (residual, fn, scale, base, nw, p["rms_eps"], p["hc_pre_eps"], p["hc_sinkhorn_eps"],
            p["hc_post_mult_value"], p["sinkhorn_repeat"], p["norm_eps"], 16)


def _close(a, b, what):
    """Up to the partials' fp32 rounding (relative ~1e-6), which a bf16 output can turn into one of its
    ulps (2^-8): 1e-2 relative for bf16, 1e-4 for fp32. A misplaced row is off by O(1)."""
    tol = 1e-2 if a.dtype == torch.bfloat16 else 1e-4
    err = ((a.double() - b.double()).abs() / (b.double().abs() + 1e-3)).max().item()
    assert err < tol, f"{what}: max relative difference {err}"


@pytest.mark.parametrize("norm", [False, True])
def test_chunked_mhc_pre_gives_every_row_what_the_whole_gives(fakes, norm):
    chunked, whole = _backends()
    inputs = _inputs(300, norm)
    got = chunked.mhc_pre(*_args(*inputs))
    chunks = [(n, t) for n, t, _ in fakes]
    assert chunks == [("gemm", 64), ("pre", 64)] * 4 + [("gemm", 44), ("pre", 44)], chunks
    fakes.clear()
    want = whole.mhc_pre(*_args(*inputs))
    assert [(n, t) for n, t, _ in fakes] == [("gemm", 300), ("pre", 300)]
    for name, a, b in zip(("post_mix", "comb_mix", "layer_input"), got, want):
        assert a.shape == b.shape and a.dtype == b.dtype, name
        _close(a, b, name)
    assert chunked.calls["chunked[64]"] == 1


def test_chunked_fused_post_pre_feeds_each_chunk_its_new_residual(fakes):
    chunked, whole = _backends()
    residual, fn, scale, base, nw = _inputs(200, False)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(200, H, generator=g).to(torch.bfloat16)
    post_mix = torch.rand(200, N, 1, generator=g)
    comb_mix = torch.softmax(torch.randn(200, N, N, generator=g), -1)
    args = (x, residual, post_mix, comb_mix, *_args(fn=fn, residual=None, scale=scale, base=base, nw=nw)[1:])
    got = chunked.fused_post_pre(*args)
    names = [n for n, _, _ in fakes]
    assert names == ["hc_post", "gemm", "pre"] * 4, names  # 64, 64, 64, 8: hc_post before each chunk's pre
    fakes.clear()
    want = whole.fused_post_pre(*args)
    assert torch.equal(got[0], want[0]), "the new residual, row for row"
    for name, a, b in zip(("post_mix", "comb_mix", "layer_input"), got[1:], want[1:]):
        _close(a, b, name)


def test_below_the_threshold_nothing_is_chunked(fakes):
    chunked, _ = _backends()
    chunked.mhc_pre(*_args(*_inputs(128, False)))
    assert [(n, t) for n, t, _ in fakes] == [("gemm", 128), ("pre", 128)]
    assert TileLangChunked.chunk_tokens == 512 and TileLangDecode.chunk_tokens == 0
    assert "chunk_tokens" not in TileLangDecode().provenance()
