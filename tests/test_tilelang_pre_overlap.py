"""The opt-in overlap variant of the fused pre (kernels/tilelang/pre_overlap.py) on the CPU: it compiles
for sm_90a (PDL markers, no atomics) and sm_80 (no PDL), and the CUDA source TileLang generates for
it and for pre.py's kernel, both run by tests/cuda_on_cpu.py's emulator on the same random inputs,
give bitwise the same post_mix, comb_mix and layer_input (every h_blk layout: H = 64, 128, 256, 512,
768 (3 blocks of 256) and 2048 (2 blocks of 1024), T = 1..3, S = 1 and 4, with and without
norm_weight, random inputs and inputs on which a changed summation order shows; the kept-in-registers
variant at H = 64, 512, 2048 with norm). The GPU check is scripts/debug/pre_overlap_check.py."""

import subprocess

import numpy as np
import pytest
import torch

from mhc_kernels.tilelang import _build, pre, pre_overlap

PDL = ("cudaGridDependencySynchronize", "cudaTriggerProgrammaticLaunchCompletion")
N = 4
MIXES = N * N + 2 * N


def _source(build, arch: str) -> str:
    import tilelang

    return tilelang.compile(build(), target={"kind": "cuda", "arch": arch},
                            pass_configs=_build.pass_configs()).get_kernel_source()


@pytest.mark.parametrize("hidden,norm,kept_in_shared",
                         [(h, m, True) for h in (64, 4096, 7168) for m in (False, True)] + [(7168, True, False)])
def test_overlap_compiles_for_sm90a_with_pdl_and_sm80_without(hidden, norm, kept_in_shared):
    source = _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, True, kept_in_shared),
                     "sm_90a")
    assert all(m in source for m in PDL), "PDL markers missing"
    assert "atomic" not in source.lower()
    assert "__launch_bounds__(160" in source
    assert "bar.sync" in source or "__sync_thread_partial" in source or not norm
    assert "__syncthreads" not in source.split("__syncthreads();", 1)[1], "one CTA-wide barrier only"
    source = _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, False, kept_in_shared),
                     "sm_80")
    assert not any(m in source for m in PDL + ("griddepcontrol",))


def test_collapse_layout():
    assert pre_overlap.collapse_layout(7168) == (1024, 8, True, 128)
    assert pre_overlap.collapse_layout(4096) == (1024, 8, True, 128)
    assert pre_overlap.collapse_layout(768) == (256, 2, False, 128)
    assert pre_overlap.collapse_layout(64) == (64, 1, False, 64)


DRIVER = r"""
#include <cstdio>
#include <string>
#if WITH_NORM  // without norm_weight TileLang drops it and norm_eps from the signature
#define NW weight,
#define NE norm_eps,
#else
#define NW
#define NE
#endif
#include <cstdlib>
#ifndef OV_SPLITS  // the overlap kernel's dynamic partials count; empty where it was compiled in (parts)
#define OV_SPLITS S,
#endif
static void read(const char* path, void* data, size_t bytes) {
  FILE* f = fopen(path, "rb"); if (!f || fread(data, 1, bytes, f) != bytes) exit(3); fclose(f);
}
static void write(const char* path, const void* data, size_t bytes) {
  FILE* f = fopen(path, "wb"); fwrite(data, 1, bytes, f); fclose(f);
}
int main(int argc, char** argv) {  // S T H smem floats.bin bf16.bin rms pre_eps sk_eps mult repeat norm_eps out_dir
  int S = atoi(argv[1]), T = atoi(argv[2]), H = atoi(argv[3]); size_t smem = atol(argv[4]);
  const int M = 24, n = 4;
  std::vector<float> fl(S * T * M + S * T + 3 + M);
  std::vector<bfloat16_t> bf(T * n * H + H);
  read(argv[5], fl.data(), fl.size() * 4); read(argv[6], bf.data(), bf.size() * 2);
  float* mp = fl.data(); float* sq = mp + S * T * M; float* scale = sq + S * T; float* base = scale + 3;
  bfloat16_t* residual = bf.data(); bfloat16_t* weight = residual + T * n * H;
  float rms = strtof(argv[7], 0), pre_eps = strtof(argv[8], 0), sk_eps = strtof(argv[9], 0);
  float mult = strtof(argv[10], 0), norm_eps = strtof(argv[12], 0); int repeat = atoi(argv[11]);
  std::string out_dir = argv[13];
  for (int which = 0; which < 2; ++which) {
    std::vector<float> post(T * n, NAN), comb(T * n * n, NAN);
    bfloat16_t nan_bf; nan_bf.v = 0x7fc0;
    std::vector<bfloat16_t> li(T * H, nan_bf);
    if (which == 0)
      launch(T, 1, 128, smem, [&] { mhc_pre_big_fuse_kernel(comb.data(), base, scale, li.data(), mp, NW
          post.data(), residual, sq, mult, pre_eps, sk_eps, NE rms, repeat, S, T); });
    else
      launch(T, 1, 160, smem, [&] { mhc_pre_big_fuse_overlap_kernel(comb.data(), base, scale, li.data(), mp,
          NW post.data(), residual, sq, mult, pre_eps, sk_eps, NE rms, repeat, OV_SPLITS T); });
    std::string tag = which ? "/ov_" : "/ref_";
    write((out_dir + tag + "post.bin").c_str(), post.data(), post.size() * 4);
    write((out_dir + tag + "comb.bin").c_str(), comb.data(), comb.size() * 4);
    write((out_dir + tag + "li.bin").c_str(), li.data(), li.size() * 2);
  }
}
"""


@pytest.mark.parametrize("hidden,norm,kept_in_shared",
                         [(h, m, True) for h in (64, 128, 256, 512, 768, 2048) for m in (False, True)]
                         + [(h, True, False) for h in (64, 512, 2048)])
def test_overlap_is_bitwise_pre_big_fuse_on_the_cpu(tmp_path, hidden, norm, kept_in_shared):
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    sources = [_source(lambda: pre.build_pre_big_fuse(N, hidden, norm, True), "sm_90a"),
               _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, True, kept_in_shared),
                       "sm_90a")]
    exe = cuda_on_cpu.compile_program(sources, f"#define WITH_NORM {int(norm)}\n" + DRIVER, tmp_path)
    smem = 2 * hidden + 8192
    checked = 0
    for tokens in (1, 2, 3):
        for splits in (1, 4):
            for cancel in (False, True):
                _run_case(exe, tmp_path, hidden, norm, tokens, splits, cancel, smem)
                checked += 1
    assert checked == 12


@pytest.mark.parametrize("hidden,norm", [(h, m) for h in (64, 512, 2048) for m in (False, True)])
def test_overlap_with_compiled_in_parts_is_bitwise_pre_big_fuse_on_the_cpu(tmp_path, hidden, norm):
    """The middle path's kernel (the partials' count a compile-time constant, one unrolled loop per
    source) against pre.py's on the same partials."""
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    for parts in (1, 4):
        sources = [_source(lambda: pre.build_pre_big_fuse(N, hidden, norm, True), "sm_90a"),
                   _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, True, True, parts),
                           "sm_90a")]
        body = sources[1].split("mhc_pre_big_fuse_overlap_kernel", 1)[1]
        assert parts == 1 or f"#pragma unroll\n      for (int s = 0; s < {parts}; ++s)" in body, "not unrolled"
        exe = cuda_on_cpu.compile_program(sources, f"#define WITH_NORM {int(norm)}\n#define OV_SPLITS\n" + DRIVER,
                                          tmp_path)
        for tokens in (1, 3):
            for cancel in (False, True):
                _run_case(exe, tmp_path, hidden, norm, tokens, parts, cancel, 2 * hidden + 8192)


@pytest.mark.parametrize("hidden,norm,parts,prefetch", [(768, False, None, False), (768, True, 4, False),
                                                        (2048, False, 4, False), (2048, True, None, False),
                                                        (3072, True, 1, False), (3072, False, 4, True)])
def test_one_buffer_is_bitwise_pre_big_fuse_on_the_cpu(tmp_path, hidden, norm, parts, prefetch):
    """prefetch_next_block=False (mid_probes.TileLangMidLean: each block's residual loaded into the one
    buffer at the top of its iteration) against pre.py's kernel: 3 blocks of 256 (columns i * 128 + c),
    2 and 3 blocks of 1024 (8 contiguous columns per thread), dynamic and compiled-in partials, and with
    block 0 loaded before the PDL wait (prefetch_residual, as inside mhc_pre with PDL early)."""
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    sources = [_source(lambda: pre.build_pre_big_fuse(N, hidden, norm, True), "sm_90a"),
               _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, True, True, parts,
                                                                      prefetch_residual=prefetch,
                                                                      prefetch_next_block=False), "sm_90a")]
    exe = cuda_on_cpu.compile_program(sources, f"#define WITH_NORM {int(norm)}\n"
                                      + ("#define OV_SPLITS\n" if parts else "") + DRIVER, tmp_path)
    for tokens in (1, 3):
        for cancel in (False, True):
            _run_case(exe, tmp_path, hidden, norm, tokens, parts or 4, cancel, 2 * hidden + 8192)


@pytest.mark.parametrize("hidden,norm,parts,prefetch,layout", [(768, False, 4, True, "gather_rcp"),
                                                               (2048, True, 4, False, "gather"),
                                                               (2048, False, None, False, "gather_rcp")])
def test_early_constants_are_bitwise_pre_big_fuse_on_the_cpu(tmp_path, hidden, norm, parts, prefetch, layout):
    """early_constants (mid_probes.TileLangEarlySinkhornMid: warp 0's hc_scale / hc_base loaded at the top,
    before the PDL wait with the prefetch) against pre.py's kernel, with the gather_rcp Sinkhorn it runs
    beside and with gather, compiled-in and dynamic partials, with and without norm."""
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    sources = [_source(lambda: pre.build_pre_big_fuse(N, hidden, norm, True), "sm_90a"),
               _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, hidden, norm, True, True, parts,
                                                                      prefetch_residual=prefetch,
                                                                      sinkhorn_layout=layout,
                                                                      early_constants=True), "sm_90a")]
    assert "consts[1] = hc_base[" in sources[1] and "consts" not in sources[0]
    exe = cuda_on_cpu.compile_program(sources, f"#define WITH_NORM {int(norm)}\n"
                                      + ("#define OV_SPLITS\n" if parts else "") + DRIVER, tmp_path)
    for tokens in (1, 3):
        for cancel in (False, True):
            _run_case(exe, tmp_path, hidden, norm, tokens, parts or 4, cancel, 2 * hidden + 8192)


def test_early_constants_load_before_the_wait_only_with_the_prefetch():
    """With prefetch_residual the constants' loads come before cudaGridDependencySynchronize (the GEMM
    before it triggers after its own wait: whatever wrote them has completed); without it, after."""
    for prefetch in (False, True):
        src = _source(lambda p=prefetch: pre_overlap.build_pre_big_fuse_overlap(N, 768, False, True, True, 4,
                                                                               prefetch_residual=p,
                                                                               early_constants=True), "sm_90a")
        wait, load = src.index("cudaGridDependencySynchronize()"), src.index("consts[1] = hc_base[")
        assert (load < wait) == prefetch, prefetch


@pytest.mark.parametrize("hidden", [768, 4096])
def test_one_buffer_drops_the_second_buffer_only(hidden):
    """The default's source is the one it always was (True spelled out changes nothing); the one-buffer
    variant has no second buffer and keeps every residual load and the PDL markers."""
    build = pre_overlap.build_pre_big_fuse_overlap
    base = _source(lambda: build(N, hidden, False, True, True, 16), "sm_90a")
    assert _source(lambda: build(N, hidden, False, True, True, 16, prefetch_next_block=True), "sm_90a") == base
    lean = _source(lambda: build(N, hidden, False, True, True, 16, prefetch_next_block=False), "sm_90a")
    assert "nxt" in base and "nxt" not in lean
    assert all(m in lean for m in PDL)
    assert lean.count("residual[") == base.count("residual["), "one load site per block kind in either"


def _run_case(exe, tmp_path, hidden, norm, tokens, splits, cancel, smem):
    """One input draw through both kernels; ``cancel``: inputs on which the order of the k-sum and of
    the sum of squares shows in the outputs (random inputs rarely show a last-bit fp32 difference
    through a bf16 rounding): stream 1 = -stream 0 of 2^20 times stream 2's size, pre_0 == pre_1
    (the same mixes and base), so pre.py's order cancels them exactly first and any other order
    leaves a visible error; with norm, norm_eps close to -mean(y^2) (rsqrt's argument at 2^-12 of
    mean(y^2)), so a last-bit change of the sum of squares moves the outputs."""
    gen = torch.Generator().manual_seed(1000 * hidden + 10 * tokens + splits + norm + 7 * cancel)
    residual = torch.randn(tokens, N, hidden, generator=gen) * 3
    if cancel:
        residual[:, 0] = (torch.randn(tokens, hidden, generator=gen) * 2.0 ** 20).to(torch.bfloat16).float()
        residual[:, 1] = -residual[:, 0]
    residual = residual.to(torch.bfloat16)
    weight = (1 + 0.3 * torch.randn(hidden, generator=gen)).to(torch.bfloat16)
    sq = residual.float().pow(2).sum((1, 2))
    sq_parts = (sq / splits).expand(splits, tokens) * (1 + 0.1 * torch.rand(splits, tokens, generator=gen))
    mixes = torch.randn(splits, tokens, MIXES, generator=gen) * (sq.sqrt() * 0.3).view(1, tokens, 1)
    scale = 0.5 + torch.rand(3, generator=gen)
    base = torch.randn(MIXES, generator=gen)
    rms_eps, pre_eps, sk_eps, mult, norm_eps = 1e-6, 1e-2, 1e-6, 2.0, 1e-6
    if cancel:
        mixes[..., 1] = mixes[..., 0]
        base[1] = base[0]
        if norm:  # an estimate of mean(y^2) in float32/64 (pre within an ulp or so of the kernels')
            m = mixes[0].clone()
            for s_ in range(1, splits):
                m = m + mixes[s_]
            rstd = 1 / torch.sqrt(sq_parts.sum(0, dtype=torch.float64).float() / (N * hidden) + rms_eps)
            pre_w = torch.sigmoid(m[:, :N] * rstd[:, None] * scale[0] + base[:N]) + pre_eps
            acc = torch.zeros(tokens, hidden)
            for k in range(N):
                acc = acc + pre_w[:, k:k + 1] * residual[:, k].float()
            mean = acc.to(torch.bfloat16).double().pow(2).mean(1)
            norm_eps = float(-(mean.min()) * (1 - 2.0 ** -12))
    floats = torch.cat([mixes.flatten(), sq_parts.flatten(), scale, base]).contiguous()
    floats.numpy().astype(np.float32).tofile(tmp_path / "f.bin")
    torch.cat([residual.flatten(), weight]).view(torch.int16).numpy().tofile(tmp_path / "b.bin")
    subprocess.run([str(exe), str(splits), str(tokens), str(hidden), str(smem), str(tmp_path / "f.bin"),
                    str(tmp_path / "b.bin")] + [float(x).hex() for x in (rms_eps, pre_eps, sk_eps, mult)]
                   + ["20", float(norm_eps).hex(), str(tmp_path)], check=True, timeout=300)
    for name, dtype, count in (("post", np.uint32, tokens * N), ("comb", np.uint32, tokens * N * N),
                               ("li", np.uint16, tokens * hidden)):
        ref = np.fromfile(tmp_path / f"ref_{name}.bin", dtype)
        got = np.fromfile(tmp_path / f"ov_{name}.bin", dtype)
        assert ref.size == got.size == count
        as_float = ref.astype(np.uint32) << 16 if dtype is np.uint16 else ref
        assert np.isfinite(as_float.view(np.float32)).all(), f"{name}: the reference left NaN or overflowed"
        assert (ref == got).all(), (f"H={hidden} norm={norm} T={tokens} S={splits} cancel={cancel} {name}: "
                                    f"{int((ref != got).sum())} of {count} differ")


def test_min_blocks_per_sm_changes_only_the_launch_bounds():
    """The occupancy variant (a probe): the same code but for __launch_bounds__'s second argument."""
    base = _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, 4096, False, True, True, 16), "sm_90a")
    eight = _source(lambda: pre_overlap.build_pre_big_fuse_overlap(N, 4096, False, True, True, 16, 8), "sm_90a")
    assert "__launch_bounds__(160, 1)" in base and "__launch_bounds__(160, 8)" in eight
    assert eight.replace("__launch_bounds__(160, 8)", "__launch_bounds__(160, 1)") == base
