"""The decode path (TileLangDecode, kernels/tilelang/decode.py and decode_gemm.py) on the CPU: its
kernels compile for sm_90a (with PDL, without atomics), its schedule, and which kernels it launches
with which buffers (the launches replaced by recorders). What they compute is checked on a GPU by
scripts/debug/decode_check.py, scripts/debug/decode_gemm_check.py (the FMA GEMM against
decode_gemm_reference, tested here) and the suite's check/stress runs with
``--backend mhc_kernels.tilelang.decode_backend:TileLangDecode``."""

import re
import subprocess

import pytest
import torch

from mhc_kernels.tilelang import _build, decode, decode_gemm, gemm, post, pre, pre_overlap
from mhc_kernels.tilelang import backend as be
from mhc_kernels.tilelang.decode_backend import OP_GEMM_MAX_TOKENS, TileLangDecode

PDL = ("cudaGridDependencySynchronize", "cudaTriggerProgrammaticLaunchCompletion")
N = 4
MIXES = N * N + 2 * N


def decode_configurations(hidden: int, pdl: bool):
    parts = decode.decode_parts(N, hidden)
    for mixes in (MIXES, N):  # mhc_pre's GEMM and hc_head's
        yield f"decode_gemm[M={mixes}]", lambda m=mixes: decode_gemm.build_decode_gemm(N, hidden, m, parts, pdl)
    yield "hc_post_wide", lambda: decode.build_hc_post_wide(N, hidden, pdl)
    for norm in (False, True):
        yield f"decode_pre[norm={norm}]", lambda m=norm: decode.build_decode_pre(N, hidden, parts, m, pdl)
    yield "decode_norm", lambda: decode.build_decode_norm(hidden, pdl)
    yield "decode_head", lambda: decode.build_decode_head(N, hidden, parts, pdl)


def _source(build, arch: str) -> str:
    import tilelang

    return tilelang.compile(build(), target={"kind": "cuda", "arch": arch},
                            pass_configs=_build.pass_configs()).get_kernel_source()


@pytest.mark.parametrize("hidden", [64, 4096, 7168])
def test_decode_kernels_compile_for_sm90a_with_pdl(hidden):
    for name, build in decode_configurations(hidden, pdl=True):
        source = _source(build, "sm_90a")
        for marker in PDL:
            assert marker in source, f"{name}: PDL enabled but no {marker}"
        # bitwise reproducible: no float atomics, every sum in a fixed order
        assert "atomic" not in source.lower(), f"{name}: atomics in a deterministic kernel"


def test_decode_kernels_without_pdl_for_sm80():
    for name, build in decode_configurations(4096, pdl=False):
        source = _source(build, "sm_80")
        assert not [m for m in PDL if m in source], f"{name}: PDL disabled but present"


def test_decode_pre_sums_every_part_once_in_fixed_groups():
    """The generated partial sums: 4 groups (one per warp) of parts/4 unrolled loads each, and the
    Sinkhorn loop runs in the extra CTA (blockIdx.x == H / 512), not after a collapse."""
    source = _source(lambda: decode.build_decode_pre(N, 7168, 112, False, True), "sm_90a")
    assert re.search(r"for \(int i = 0; i < 28; \+\+i\)", source), "112 parts in 4 groups of 28"
    assert "blockIdx.x) < 14" in source and "blockIdx.x) == 14" in source  # 14 collapse CTAs + Sinkhorn


def test_decode_gemm_inner_loop_is_broadcast_fma_in_fixed_order():
    """H = 7168, M = 24, 112 parts (256 columns), 8 warps: each thread runs 8 groups of 4 columns,
    per group one float4 shared read of fn per mix (a broadcast: the address does not depend on the
    lane) and 4 multiply-adds per mix; x comes in 16-byte vectors straight from global memory; the
    8 slots' sums are added in slot order (7 adds, unrolled); shared memory for fn and the sums."""
    source = _source(lambda: decode_gemm.build_decode_gemm(N, 7168, MIXES, 112, True), "sm_90a")
    assert "for (int g = 0; g < 8; ++g)" in source
    fn_reads = re.findall(r"\*\(float4\*\)\(fv \+ 0\) = \*\(float4\*\)\(\(\(float\*\)fn_sh\) \+ ([^;]*)\);", source)
    assert fn_reads and all("& 31" not in r and "% 32" not in r for r in fn_reads), fn_reads  # no lane term
    assert re.search(r"acc\[j_1\] = \(acc\[j_1\] \+ \(\(\(float\)xr\[[^]]*\]\) \* fv\[e_1\]\)\)", source)
    assert "*(uint4*)(xr + (v * 8)) = *(uint4*)(x + " in source
    assert "for (int s = 0; s < 7; ++s)" in source
    assert "__launch_bounds__(256" in source and "atomic" not in source.lower()


@pytest.mark.parametrize("hidden,mixes,parts,threads,block_t,cols", [
    (7168, MIXES, 112, 256, 32, 32), (7168, MIXES, 56, 256, 32, 64), (7168, MIXES, 224, 256, 32, 16),
    (7168, N, 112, 128, 32, 64), (7168, MIXES, 112, 256, 8, 8), (4096, MIXES, 64, 256, 32, 32),
    (64, MIXES, 1, 256, 32, 32)])
def test_decode_gemm_configurations_divide(hidden, mixes, parts, threads, block_t, cols):
    assert decode_gemm.slot_columns(N * hidden, parts, threads, block_t) == cols


@pytest.mark.parametrize("parts,threads,block_t", [(224, 256, 8), (5, 256, 32), (112, 96 + 1, 32), (112, 256, 3)])
def test_decode_gemm_rejects_configurations_that_do_not_divide(parts, threads, block_t):
    with pytest.raises(ValueError):
        decode_gemm.slot_columns(N * 7168, parts, threads, block_t)


def test_decode_gemm_default_parts_divide_for_every_hidden_size():
    for hidden in range(64, 16385, 64):
        parts = decode.decode_parts(N, hidden)
        assert decode_gemm.slot_columns(N * hidden, parts, decode_gemm.THREADS, decode_gemm.BLOCK_T) % 8 == 0


def test_decode_gemm_reference_is_the_per_range_sum():
    """decode_gemm_reference: partials over contiguous K ranges, in float64; the parts add up to
    the full product and sum of squares; non-finite inputs propagate (inf * 0 = NaN)."""
    gen = torch.Generator().manual_seed(0)
    t, k, m, parts = 3, 512, 5, 4
    x = torch.randn(t, k, generator=gen).to(torch.bfloat16)
    fn = torch.randn(m, k, generator=gen)
    mixes, sq = decode_gemm.decode_gemm_reference(x, fn, parts)
    assert mixes.shape == (parts, t, m) and sq.shape == (parts, t) and mixes.dtype == sq.dtype == torch.float64
    xd, fd = x.double(), fn.double()
    for p in range(parts):
        cols = slice(p * k // parts, (p + 1) * k // parts)
        assert torch.allclose(mixes[p], xd[:, cols] @ fd[:, cols].T, rtol=1e-12, atol=1e-12)
        assert torch.allclose(sq[p], (xd[:, cols] ** 2).sum(1), rtol=1e-12, atol=1e-12)
    assert torch.allclose(mixes.sum(0), xd @ fd.T, rtol=1e-12, atol=1e-10)
    x[1, 7] = float("inf")
    fn[2, 7] = 0.0
    mixes, sq = decode_gemm.decode_gemm_reference(x, fn, parts)
    assert mixes[0, 1, 2].isnan() and torch.isinf(sq[0, 1]) and torch.isfinite(mixes[1:]).all()


DECODE_GEMM_DRIVER = r"""
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {  // K M parts threads block_t tokens smem x.bin fn.bin mixes.bin sq.bin
  long K = atol(argv[1]), M = atol(argv[2]), parts = atol(argv[3]), threads = atol(argv[4]), bt = atol(argv[5]);
  long T = atol(argv[6]), smem = atol(argv[7]);
  std::vector<bfloat16_t> x(T * K); std::vector<float> fn(M * K), mixes(parts * T * M, NAN), sq(parts * T, NAN);
  FILE* f = fopen(argv[8], "rb"); if (fread(x.data(), 2, x.size(), f) != x.size()) return 3; fclose(f);
  f = fopen(argv[9], "rb"); if (fread(fn.data(), 4, fn.size(), f) != fn.size()) return 3; fclose(f);
  launch(parts, (T + bt - 1) / bt, threads, smem,
         [&] { mhc_decode_gemm_kernel(fn.data(), mixes.data(), sq.data(), x.data(), int(T)); });
  f = fopen(argv[10], "wb"); fwrite(mixes.data(), 4, mixes.size(), f); fclose(f);
  f = fopen(argv[11], "wb"); fwrite(sq.data(), 4, sq.size(), f); fclose(f);
}
"""


@pytest.mark.parametrize("hidden,mixes,parts,threads,block_t", [(64, MIXES, 1, 256, 32), (256, N, 4, 128, 32),
                                                                (256, MIXES, 2, 256, 8)])
def test_decode_gemm_generated_source_run_on_the_cpu(tmp_path, hidden, mixes, parts, threads, block_t):
    """The kernel's CUDA source (sm_90a) run by tests/cuda_on_cpu.py's emulator: every partial within
    the fp32 bound of decode_gemm_reference (|err| < sum |x fn| * 2^-24 * K / parts), none left unwritten,
    at T = 1, 5 and 33 (two CTA rows of 32 tokens, the second with one token)."""
    import numpy as np

    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    source = _source(lambda: decode_gemm.build_decode_gemm(N, hidden, mixes, parts, True, threads=threads,
                                                           block_t=block_t), "sm_90a")
    exe = cuda_on_cpu.compile_program(source, DECODE_GEMM_DRIVER, tmp_path)
    k_total = N * hidden
    kc = k_total // parts
    smem = 4 * max(mixes * kc, threads * (mixes + 1))
    for tokens in (1, 5, 33):
        gen = torch.Generator().manual_seed(tokens)
        x = (torch.randn(tokens, k_total, generator=gen) * torch.rand(tokens, 1, generator=gen) * 4).to(torch.bfloat16)
        fn = torch.randn(mixes, k_total, generator=gen) * 1e-3
        x.view(torch.int16).numpy().tofile(tmp_path / "x.bin")
        fn.numpy().tofile(tmp_path / "fn.bin")
        subprocess.run([str(exe), str(k_total), str(mixes), str(parts), str(threads), str(block_t), str(tokens),
                        str(smem)] + [str(tmp_path / f) for f in ("x.bin", "fn.bin", "m.bin", "s.bin")], check=True)
        got_m = torch.from_numpy(np.fromfile(tmp_path / "m.bin", np.float32)).view(parts, tokens, mixes)
        got_s = torch.from_numpy(np.fromfile(tmp_path / "s.bin", np.float32)).view(parts, tokens)
        ref_m, ref_s = decode_gemm.decode_gemm_reference(x, fn, parts)
        abs_m, abs_s = decode_gemm.decode_gemm_reference(x.abs(), fn.abs(), parts)
        assert torch.isfinite(got_m).all() and torch.isfinite(got_s).all(), f"T={tokens}: unwritten partials"
        assert ((got_m.double() - ref_m).abs() < abs_m * 2.0 ** -24 * kc).all(), f"T={tokens}: mixes"
        assert ((got_s.double() - ref_s).abs() < abs_s * 2.0 ** -24 * kc).all(), f"T={tokens}: sums of squares"


@pytest.mark.parametrize("hidden,parts", [(64, 1), (256, 4), (2048, 32), (4096, 64), (5120, 80), (7168, 112),
                                          (8192, 128)])
def test_decode_parts(hidden, parts):
    assert decode.decode_parts(N, hidden) == parts


def test_decode_parts_are_whole_k_tiles_within_one_wave():
    for hidden in range(64, 16385, 64):
        k_tiles = N * hidden // decode.DECODE_BLOCK_K
        parts = decode.decode_parts(N, hidden)
        assert k_tiles % parts == 0 and parts <= decode.MAX_PARTS
        assert k_tiles // parts >= decode.MIN_TILES_PER_PART or parts == 1
        assert decode.decode_block(hidden) <= decode.DECODE_H_BLOCK and hidden % decode.decode_block(hidden) == 0


def test_decode_gemm_is_an_already_compiled_configuration():
    """The "wgmma" decode GEMM runs TileLangBackend's block_m 64 tunables (compiled by
    test_tilelang_compile) with its 128-wide K tiles, the unit decode_parts counts in."""
    assert be.WIDE_K_TILES[gemm.SMALL_T_BLOCK_M] == TileLangDecode.gemm_tunables[gemm.SMALL_T_BLOCK_M]
    assert be.WIDE_K_TILES[gemm.SMALL_T_BLOCK_M]["block_k"] == decode.DECODE_BLOCK_K
    assert gemm.block_m_for(TileLangDecode.decode_max_tokens) == gemm.SMALL_T_BLOCK_M


# -- which kernels run, with which buffers (launches recorded, nothing computed) ----------------------

@pytest.fixture(autouse=True)
def _no_pdl_early(monkeypatch):
    """These tests pin the kernels' structure and labels without TileLangDecode.pdl_early_max_tokens
    (its variants and where it applies: test_tilelang_pdl_early.py)."""
    monkeypatch.setattr(TileLangDecode, "pdl_early_max_tokens", {})


class _Recorder:
    def __init__(self):
        self.launches = []
        self.keywords = []  # the getter's keyword arguments (tunables, variants), one dict per launch

    def getter(self, name):
        def get(*config, **tunables):
            def launch(*args):
                self.launches.append((name, config[:-1], [tuple(a.shape) if isinstance(a, torch.Tensor) else a
                                                          for a in args]))
                self.keywords.append(tunables)
            return launch
        return get

    @property
    def names(self):
        return [n for n, _, _ in self.launches]


@pytest.fixture
def rec(monkeypatch):
    r = _Recorder()
    for module, names in ((decode, ("hc_post_wide_kernel", "decode_pre_kernel", "decode_norm_kernel",
                                    "decode_head_kernel", "decode_pre_cluster_kernel")),
                          (decode_gemm, ("decode_gemm_kernel",)),
                          (gemm, ("prenorm_gemm_kernel", "chunk_sum_kernel")),
                          (pre, ("pre_big_fuse_kernel",)), (post, ("hc_post_kernel", "hc_post_pipelined_kernel")),
                          (pre_overlap, ("pre_big_fuse_overlap_kernel",))):
        for name in names:
            monkeypatch.setattr(module, name, r.getter(name.removesuffix("_kernel")))
    from mhc_kernels.tilelang import collapse, gemm_multicast
    monkeypatch.setattr(collapse, "collapse_kernel", r.getter("collapse"))
    monkeypatch.setattr(gemm_multicast, "prenorm_gemm_multicast_kernel", r.getter("prenorm_gemm_multicast"))
    monkeypatch.setattr(gemm, "split_fn", lambda fn, target: gemm.split_fn_reference(fn))
    monkeypatch.setattr(be.TileLangBackend, "_target", staticmethod(lambda: _build.explicit_target()))
    monkeypatch.setitem(be._SM_COUNT, "cpu", 132)
    return r


def _mid_label_tag() -> str:
    """What the default's Sinkhorn layout and the middle pre's early constants add to the middle pre's
    call label (TileLangDecode._count; two residual buffers)."""
    layout = TileLangDecode.sinkhorn_layout
    return (f",sinkhorn={layout}" if layout != "lanes" else "") + \
        (",early_constants" if TileLangDecode.mid_pre_early_constants else "")


def _pre_args(t, h, norm=False):
    residual = torch.zeros(t, N, h, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, N * h)
    nw = torch.ones(h, dtype=torch.bfloat16) if norm else None
    return (residual, fn, torch.ones(3), torch.zeros(MIXES), nw, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6, 16)


@pytest.mark.parametrize("norm", [False, True])
def test_mhc_pre_decode_launches(rec, norm):
    backend = TileLangDecode()
    post_mix, comb, li = backend.mhc_pre(*_pre_args(1, 7168, norm))
    # without the RMSNorm weight the pre is decode_pre_cluster (TileLangDecode.decode_pre_cluster)
    assert rec.names == ["decode_gemm", "decode_pre" if norm else "decode_pre_cluster"] + (["decode_norm"] if norm else [])
    _, config, args = rec.launches[0]
    assert config == (N, 7168, MIXES, 112)  # 112 K ranges of 256 columns
    assert args[0] == (1, N * 7168) and args[1] == (MIXES, N * 7168)  # x as [T, K] and fn in fp32, unsplit
    assert args[2] == (112, 1, MIXES) and args[3] == (112, 1)
    _, config, args = rec.launches[1]
    if norm:
        assert config == (N, 7168, 112, norm) and args[8] == (1, 14)  # the 14 blocks' sums of squares
    else:
        assert config == (N, 7168, 112) and args[8] == (1, N)  # the pre weights' scratch
    assert (tuple(post_mix.shape), tuple(comb.shape), tuple(li.shape)) == ((1, N, 1), (1, N, N), (1, 7168))
    # mhc_pre's FMA GEMM stages fn before its PDL wait (decode_gemm_fn_before_wait); fused_post_pre's does not
    assert backend.calls["decode_gemm[parts=112,block_t=8,fn_before_wait]"] == 1 and "split_fn" not in backend.calls
    assert rec.keywords[0] == {"block_t": 8, "fn_before_wait": True}


@pytest.mark.parametrize("norm", [False, True])
def test_mhc_pre_decode_launches_with_the_wgmma_gemm(rec, norm):
    """decode_gemm = "wgmma": the previous decode GEMM (gemm.py, block_m 64, one CTA per K range)."""
    backend = TileLangDecode()
    backend.decode_gemm = "wgmma"
    backend.mhc_pre(*_pre_args(1, 7168, norm))
    assert rec.names == ["prenorm_gemm", "decode_pre" if norm else "decode_pre_cluster"] + (["decode_norm"] if norm else [])
    _, config, args = rec.launches[0]
    assert config[3] == 64 and args[2] == (112, 1, MIXES) and args[3] == (112, 1)  # 112 K ranges, 1 CTA each
    assert rec.launches[1][1] == ((N, 7168, 112, norm) if norm else (N, 7168, 112))


def test_an_unknown_decode_gemm_is_an_error(rec):
    backend = TileLangDecode()
    backend.decode_gemm = "tf32"
    with pytest.raises(ValueError, match="decode_gemm"):
        backend.mhc_pre(*_pre_args(1, 7168))


def test_decode_gemm_tunables_reach_the_kernel(rec, monkeypatch):
    seen = []
    monkeypatch.setattr(decode_gemm, "decode_gemm_kernel",
                        lambda *config, **tunables: seen.append(tunables) or (lambda *args: None))
    backend = TileLangDecode()
    backend.decode_gemm_tunables = {"block_t": 8}
    backend.mhc_pre(*_pre_args(2, 4096))
    assert seen == [{"block_t": 8, "fn_before_wait": True}]  # mhc_pre's GEMM stages fn before its wait


def test_above_the_thresholds_and_at_zero_tokens_it_is_the_default_path(rec):
    TileLangDecode().mhc_pre(*_pre_args(TileLangDecode.mid_max_tokens + 1, 256))
    assert rec.names == ["prenorm_gemm", "pre_big_fuse"]
    rec.launches.clear()
    TileLangDecode().mhc_pre(*_pre_args(0, 7168))
    assert rec.names == []


def test_fused_post_pre_and_hc_head_decode_launches(rec):
    residual, fn, scale, base, *rest = _pre_args(32, 4096)
    x = torch.zeros(32, 4096, dtype=torch.bfloat16)
    TileLangDecode().fused_post_pre(x, residual, torch.zeros(32, N, 1), torch.zeros(32, N, N), fn, scale, base,
                                    *rest)
    # at 32 tokens the M = 24 GEMM is the tensor-core one (DECODE_GEMM_PLAN), over the same 64 K ranges
    assert rec.names == ["hc_post_wide", "prenorm_gemm", "decode_pre_cluster"]  # no RMSNorm weight: the cluster pre
    assert rec.launches[1][1][3] == 64 and rec.launches[1][2][2] == (64, 32, MIXES)
    rec.launches.clear()
    TileLangDecode().hc_head(residual, torch.zeros(N, N * 4096), torch.ones(1), torch.zeros(N), 1e-6, 1e-6)
    assert rec.names == ["decode_gemm", "decode_head"]
    # hc_head's partials are token-major by default (TileLangDecode.token_major_partials)
    assert rec.launches[0][1] == (N, 4096, N, 64) and rec.launches[0][2][2] == (32, 64, N)
    assert rec.launches[1][1] == (N, 4096, 64)


def test_the_decode_gemm_plan():
    """decode_gemm = "auto" follows DECODE_GEMM_PLAN; "fma" / "wgmma" force one kernel at every T."""
    backend = TileLangDecode()
    assert backend._decode_gemm_choice(MIXES, 1) == ("fma", {"block_t": 8})
    assert backend._decode_gemm_choice(MIXES, 8) == ("fma", {"block_t": 8})
    assert backend._decode_gemm_choice(MIXES, 9) == ("fma", {"block_t": 16})
    assert backend._decode_gemm_choice(MIXES, 16) == ("fma", {"block_t": 16})
    assert backend._decode_gemm_choice(MIXES, 17) == ("wgmma", {})
    assert backend._decode_gemm_choice(MIXES, 32) == ("wgmma", {})
    assert backend._decode_gemm_choice(N, 8) == ("fma", {"block_t": 8})
    assert backend._decode_gemm_choice(N, 32) == ("fma", {})
    backend.decode_gemm, backend.decode_gemm_tunables = "fma", {"threads": 128}
    assert backend._decode_gemm_choice(MIXES, 32) == ("fma", {"threads": 128})


def test_importing_the_decode_backend_does_not_touch_cuda():
    """As test_tilelang_compile's check for the default backend: import and construction query no device."""
    import subprocess
    import sys

    code = ("import torch\n"
            "def forbidden(*a, **k):\n"
            "    raise AssertionError('CUDA queried at import')\n"
            "for name in ('get_device_capability', 'get_device_properties', 'is_available', 'device_count'):\n"
            "    setattr(torch.cuda, name, forbidden)\n"
            "import mhc_kernels.tilelang.decode_backend as d, mhc_kernels.tilelang.decode\n"
            "d.TileLangDecode()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


class _Mid(TileLangDecode):
    """The middle path for every op it has (hc_head's too) from above its decode thresholds."""

    mid_max_tokens = 4096
    mid_max_tokens_by_op = {}
    decode_max_tokens_by_op = {"hc_post": 4096, "pre_big_fuse": 32, "hc_head": 128}


def test_mid_parts_fill_the_sms(rec):
    """One wave of GEMM CTAs on 132 SMs (the docstring's table), two with mid_waves = 2; each K range
    at least 2 of the 128-wide tiles."""
    backend = _Mid()
    cpu = torch.device("cpu")
    assert [backend.mid_parts(t, N, 7168, cpu) for t in (1, 128, 129, 256, 512, 1024, 2048, 4096)] == \
        [112, 112, 56, 56, 28, 28, 14, 7]
    assert [backend.mid_parts(t, N, 4096, cpu) for t in (128, 256, 512, 4096)] == [64, 64, 32, 8]
    backend.mid_waves = 2.0
    assert [backend.mid_parts(t, N, 7168, cpu) for t in (256, 512, 4096)] == [112, 56, 14]
    assert backend.mid_parts(1, N, 64, cpu) == 1  # K = 256: two tiles, one range


@pytest.mark.parametrize("norm", [False, True])
def test_mhc_pre_mid_launches(rec, norm):
    backend = _Mid()
    t = 256
    post_mix, comb, li = backend.mhc_pre(*_pre_args(t, 7168, norm))
    assert rec.names == ["prenorm_gemm", "pre_big_fuse_overlap"]
    _, config, args = rec.launches[0]
    assert config[3] == 64 and args[2] == (56, t, MIXES) and args[3] == (56, t)  # block_m 64, 56 K ranges
    _, config, args = rec.launches[1]
    assert config == (N, 7168, norm) and args[0] == (56, t, MIXES)
    assert backend.calls[f"pre_big_fuse_overlap[parts=56,norm={norm}{_mid_label_tag()}]"] == 1
    assert (tuple(post_mix.shape), tuple(comb.shape), tuple(li.shape)) == ((t, N, 1), (t, N, N), (t, 7168))


def test_the_mid_path_between_its_bounds(rec):
    """Decode kernels up to their threshold, the middle path above it up to mid_max_tokens, the default
    path above that (and with mid_max_tokens = 0, TileLangDecode's default, nowhere)."""
    for t, path in ((TileLangDecode.decode_max_tokens, "decode_pre"), (4096, "pre_big_fuse_overlap"),
                    (4097, "pre_big_fuse")):
        rec.launches.clear()
        _Mid().mhc_pre(*_pre_args(t, 256))
        assert rec.names[-1] == path, t
    for t, path in ((TileLangDecode.decode_max_tokens + 1, "pre_big_fuse_overlap"),
                    (TileLangDecode.mid_max_tokens + 1, "pre_big_fuse")):  # TileLangDecode's own bounds
        rec.launches.clear()
        TileLangDecode().mhc_pre(*_pre_args(t, 256))
        assert rec.names == ["prenorm_gemm", path], t
    rec.launches.clear()
    backend = TileLangDecode()
    backend.mid_max_tokens = 0  # off
    backend.mhc_pre(*_pre_args(64, 256))
    assert rec.names == ["prenorm_gemm", "pre_big_fuse"]


def test_pre_big_fuse_mid_takes_the_callers_partials(rec):
    residual = torch.zeros(64, N, 4096, dtype=torch.bfloat16)
    _Mid().pre_big_fuse(torch.zeros(16, 64, MIXES), torch.zeros(16, 64), torch.ones(3), torch.zeros(MIXES), residual,
                        None, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6)
    assert rec.names == ["pre_big_fuse_overlap"] and rec.launches[0][2][0] == (16, 64, MIXES)


def test_hc_head_mid_launches(rec):
    backend = _Mid()
    t = 256  # above hc_head's decode threshold
    out = backend.hc_head(torch.zeros(t, N, 7168, dtype=torch.bfloat16), torch.zeros(N, N * 7168), torch.ones(1),
                          torch.zeros(N), 1e-6, 1e-6)
    assert rec.names == ["prenorm_gemm", "collapse"] and tuple(out.shape) == (t, 7168)
    assert rec.launches[0][2][2] == (56, t, N) and rec.launches[1][2][0] == (56, t, N)
    assert backend.calls["collapse[head,parts=56]"] == 1


def test_mid_block_m(rec):
    backend = _Mid()
    backend.mid_block_m = 128
    assert backend.mid_parts(256, N, 7168, torch.device("cpu")) == 112  # 2 token blocks
    backend.mhc_pre(*_pre_args(256, 7168))
    assert rec.launches[0][1][3] == 128 and rec.launches[0][2][2] == (112, 256, MIXES)


class _GemmOp(TileLangDecode):
    op_gemm_max_tokens = 4096
    op_multicast_tokens = None  # the middle GEMM's op at 129-256 too (the default runs gemm_multicast's kernel there)


def test_prenorm_gemm_op_on_the_decode_gemm(rec):
    """T <= the decode threshold: the decode GEMM's 112 K ranges, then chunk_sum adds each of the 16
    splits' 7 parts (split s owns parts 7 s .. 7 s + 6: contiguous K)."""
    x = torch.zeros(1, N * 7168, dtype=torch.bfloat16)
    mixes, sqrsum = _GemmOp().prenorm_gemm(x, torch.zeros(MIXES, N * 7168), 16)
    assert rec.names == ["decode_gemm", "chunk_sum"]
    assert rec.launches[0][2][2] == (112, 1, MIXES)
    assert rec.launches[1][1] == (MIXES, 7) and rec.launches[1][2][0] == (16, 7, 1, MIXES)
    assert tuple(mixes.shape) == (16, 1, MIXES) and tuple(sqrsum.shape) == (16, 1)


def test_prenorm_gemm_op_on_the_mid_gemm(rec):
    backend = _GemmOp()
    cpu = torch.device("cpu")
    # multiples of S dividing 224 tiles, >= 2 tiles each: S = 16 -> 16, 32, 112, by wave cost on 132
    # SMs (wave_cost_parts): 112 at 64 tokens (one wave of 2 tiles), 32 at 256 (128 CTAs of 7 tiles,
    # where 112 would be four waves of 2), 16 at 1024 and 4096 (ties: the fewest)
    assert [backend._op_gemm_parts(t, N, 7168, 16, cpu) for t in (64, 256, 1024, 4096)] == [112, 32, 16, 16]
    assert backend._op_gemm_parts(256, N, 7168, 8, cpu) == 32
    assert backend._op_gemm_parts(4097, N, 7168, 16, cpu) is None  # above op_gemm_max_tokens: the base op
    # by default to OP_GEMM_MAX_TOKENS (1024): the decode GEMM's 112 ranges at 1 token, the base op above
    assert TileLangDecode()._op_gemm_parts(1, N, 7168, 16, cpu) == 112
    assert TileLangDecode()._op_gemm_parts(OP_GEMM_MAX_TOKENS + 1, N, 7168, 16, cpu) is None
    x = torch.zeros(256, N * 7168, dtype=torch.bfloat16)
    mixes, _ = backend.prenorm_gemm(x, torch.zeros(MIXES, N * 7168), 16)
    assert rec.names == ["prenorm_gemm", "chunk_sum"] and rec.launches[0][2][2] == (32, 256, MIXES)
    assert rec.launches[1][2][0] == (16, 2, 256, MIXES) and tuple(mixes.shape) == (16, 256, MIXES)
    rec.launches.clear()
    x = torch.zeros(4096, N * 7168, dtype=torch.bfloat16)
    backend.prenorm_gemm(x, torch.zeros(MIXES, N * 7168), 16)  # 16 parts = 16 splits: no sum
    assert rec.names == ["prenorm_gemm"] and rec.launches[0][2][2] == (16, 4096, MIXES)


def test_mid_pre_min_blocks_per_sm_reaches_the_kernel(rec, monkeypatch):
    seen = []
    monkeypatch.setattr(pre_overlap, "pre_big_fuse_overlap_kernel",
                        lambda *config, **kw: seen.append(kw) or (lambda *args: None))
    backend = TileLangDecode()
    backend.mhc_pre(*_pre_args(256, 7168))
    backend.mid_pre_min_blocks_per_sm = 8
    backend.mhc_pre(*_pre_args(256, 7168))
    from mhc_kernels.tilelang.precompile import default_pre_variant

    variant, tag = default_pre_variant()
    assert seen == [{"kept_in_shared": True, "parts": 56, **variant},
                    {"kept_in_shared": True, "parts": 56, "min_blocks_per_sm": 8, **variant}]
    assert backend.calls[f"pre_big_fuse_overlap[parts=56,norm=False,min_blocks_per_sm=8{_mid_label_tag()}]"] == 1
