"""sinkhorn.py's layouts of our warp Sinkhorn on the CPU: "rows" (a lane per row, nvcc's division
fast path written out), "gather" (each sum's group fetched by independent shuffles) and "gather_rcp"
(gather's divisions written out, checked once per call, gather the fallback) give bitwise
what "lanes" (the default, a lane per element, butterfly sums) gives, through
tests/cuda_on_cpu.py's emulator: a one-warp kernel per layout around the macro, on ordinary logits and
on logits that send the rows layout to its ``/`` fallback (exp underflowing to zeros and denormals,
infinities, NaN, epsilons of zero, negative and large), n = 2 and 4, 1, 2 and 20 repeats; and the
middle path's fused pre (pre_overlap.py) with the rows layout against pre.py's kernel. The emulator's
reciprocal is exact, so this checks the order of every operation and the fallback, not the GPU's
MUFU.RCP: scripts/debug/sinkhorn_rows_check.py does that on a GPU."""

import subprocess
import zlib

import numpy as np
import pytest
import torch

from mhc_kernels.tilelang import _build, pre, pre_overlap
from mhc_kernels.tilelang.sinkhorn import LAYOUTS, pairwise, sinkhorn_macro

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _probe(n: int, layout: str):
    """logits [T, 2n + n*n] (only the comb block is read) -> comb_mix [T, n, n]: one 32-thread CTA per
    token, the logits staged in shared memory as the fused pres stage them, then the macro."""
    import tilelang.language as T

    mixes = n * n + 2 * n
    sinkhorn = sinkhorn_macro(T, n, layout)
    tokens = T.dynamic("tokens")

    @T.prim_func
    def sinkhorn_probe(logits_in: T.Tensor((tokens, mixes), "float32"), comb_mix: T.Tensor((tokens, n, n), "float32"),
                       hc_sinkhorn_eps: T.float32, sinkhorn_repeat: T.int32):
        with T.Kernel(tokens, threads=32) as t:
            tid = T.get_thread_binding()
            logits = T.alloc_shared((mixes,), "float32")
            if tid < mixes:
                logits[tid] = logits_in[t, tid]
            T.sync_threads()
            sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)

    return sinkhorn_probe


def _source(build, arch: str = "sm_90a") -> str:
    import tilelang

    return tilelang.compile(build(), target={"kind": "cuda", "arch": arch},
                            pass_configs=_build.pass_configs()).get_kernel_source()


def driver_for(layouts) -> str:
    """The emulated program's main: each layout's kernel (``<layout>_kernel``) on the same logits file,
    its comb_mix written to ``<out_dir>/<layout>.bin``. Arguments: n T repeat eps logits.bin out_dir."""
    calls = "\n".join(f"    if (which == {i}) launch(T, 1, 32, 1024, [&] {{ {name}_kernel(comb.data(), logits.data(), "
                      f"eps, repeat, T); }});" for i, name in enumerate(layouts))
    names = ", ".join(f'"{name}"' for name in layouts)
    return r"""
#include <cstdio>
#include <cstdlib>
#include <string>
int main(int argc, char** argv) {  // n T repeat eps logits.bin out_dir
  int n = atoi(argv[1]), T = atoi(argv[2]), repeat = atoi(argv[3]); float eps = strtof(argv[4], 0);
  int M = n * n + 2 * n;
  std::vector<float> logits(T * M);
  FILE* f = fopen(argv[5], "rb"); if (!f || fread(logits.data(), 4, logits.size(), f) != logits.size()) return 3; fclose(f);
  std::string out = argv[6];
  const char* names[] = {""" + names + r"""};
  for (int which = 0; which < (int)(sizeof(names) / sizeof(names[0])); ++which) {
    std::vector<float> comb(T * n * n, NAN);
""" + calls + r"""
    FILE* o = fopen((out + "/" + names[which] + ".bin").c_str(), "wb");
    fwrite(comb.data(), 4, comb.size(), o); fclose(o);
  }
}
"""


DRIVER = driver_for(LAYOUTS)


def _logits(n: int, tokens: int, family: str, seed: int) -> torch.Tensor:
    """Comb logits per token (the other mixes are zeros): each family reaches other branches."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(tokens, n * n, generator=gen, dtype=torch.float64)
    per_token = torch.exp(torch.randn(tokens, 1, generator=gen, dtype=torch.float64) * 2)  # magnitudes per token
    if family == "ordinary":
        comb = z * per_token
    elif family == "moderate":  # spreads of a few units: every exp far above 2^-80
        comb = z * 3
    elif family == "underflow":  # exp(v - max) to zero and to denormals: the rows layout's ``/`` fallback
        comb = z * 60 + torch.where(torch.rand(tokens, n * n, generator=gen) < 0.3, -95.0, 0.0).double()
    elif family == "nonfinite":
        comb = z.clone()
        pick = torch.randint(0, 4, (tokens, n * n), generator=gen)
        comb[pick == 0] = float("inf")
        comb[(pick == 1) & (torch.rand(tokens, n * n, generator=gen) < 0.2)] = float("-inf")
        comb[(pick == 2) & (torch.rand(tokens, n * n, generator=gen) < 0.1)] = float("nan")
    else:
        raise ValueError(family)
    logits = torch.zeros(tokens, n * n + 2 * n, dtype=torch.float32)
    logits[:, 2 * n:] = comb.float()
    return logits


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    built = {}
    for n in (2, 4):
        sources = [_source(lambda: _probe(n, layout)).replace("sinkhorn_probe_kernel", f"{layout}_kernel")
                   for layout in LAYOUTS]
        built[n] = cuda_on_cpu.compile_program(sources, DRIVER, tmp_path_factory.mktemp(f"sinkhorn{n}"))
    return built


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout != "lanes"])
@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("family", ["ordinary", "underflow", "nonfinite"])
@pytest.mark.parametrize("repeat,eps", [(20, 1e-6), (1, 1e-6), (2, 0.0), (20, -1e-3), (20, 1e3), (20, 2.0 ** -45)])
def test_every_layout_is_bitwise_the_lanes_layout_on_the_cpu(programs, tmp_path, layout, n, family, repeat, eps):
    tokens = 48
    logits = _logits(n, tokens, family, seed=zlib.crc32(f"{n} {family} {repeat}".encode()))
    logits.numpy().tofile(tmp_path / "logits.bin")
    subprocess.run([str(programs[n]), str(n), str(tokens), str(repeat), float(eps).hex(), str(tmp_path / "logits.bin"),
                    str(tmp_path)], check=True, timeout=300)
    lanes = np.fromfile(tmp_path / "lanes.bin", np.float32)
    other = np.fromfile(tmp_path / f"{layout}.bin", np.float32)
    assert lanes.size == other.size == tokens * n * n
    nan = np.isnan(lanes)
    if family == "ordinary" and eps >= 0:
        assert not nan.any(), "ordinary logits gave NaN: the case checks nothing"
    # NaN's payload follows the operand order of x86's adds; the GPU's is canonical
    assert (nan == np.isnan(other)).all(), f"NaN at other places: {int((nan != np.isnan(other)).sum())}"
    same = lanes[~nan].view(np.uint32) == other[~nan].view(np.uint32)
    assert same.all(), (f"{layout} n={n} {family} repeat={repeat} eps={eps}: {int((~same).sum())} of {same.size} "
                        f"differ, first lanes {lanes[~nan][~same][:3]} {layout} {other[~nan][~same][:3]}")


def test_ordinary_logits_take_the_fast_path_and_underflow_the_fallback(tmp_path):
    """The rows kernel with every ``/`` (its fallbacks, nothing else divides) poisoned to NaN: logits
    of moderate spread come out NaN-free (the fast path took every division; a range check that always
    failed would still be bitwise right, and slow), underflowing ones do not (the fallback is reached)."""
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    rows = _source(lambda: _probe(4, "rows")).replace("sinkhorn_probe_kernel", "rows_kernel")
    fallbacks = [line for line in rows.splitlines() if " / " in line]
    assert len(fallbacks) == 4, fallbacks  # divide_row and divide_columns, before and in the loop
    poisoned = rows.replace(" / ", " * NAN * ")
    lanes = _source(lambda: _probe(4, "lanes")).replace("sinkhorn_probe_kernel", "lanes_kernel")
    gather = _source(lambda: _probe(4, "gather")).replace("sinkhorn_probe_kernel", "gather_kernel")  # DRIVER runs all
    rcp = _source(lambda: _probe(4, "gather_rcp")).replace("sinkhorn_probe_kernel", "gather_rcp_kernel")
    exe = cuda_on_cpu.compile_program([lanes, poisoned, gather, rcp], DRIVER, tmp_path)
    for family, reaches_fallback in (("moderate", False), ("underflow", True)):
        _logits(4, 48, family, seed=5).numpy().tofile(tmp_path / "logits.bin")
        subprocess.run([str(exe), "4", "48", "20", (1e-6).hex(), str(tmp_path / "logits.bin"), str(tmp_path)],
                       check=True, timeout=300)
        got = np.fromfile(tmp_path / "rows.bin", np.float32)
        assert bool(np.isnan(got).any()) == reaches_fallback, family


def _fallback_block(source: str) -> tuple[int, int]:
    """The span of gather_rcp's fallback (the ``if (ok[0] == 0) {`` block) in its generated source."""
    start = source.index("if (ok[0] == 0) {")
    depth, i = 0, source.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        if depth == 0:
            return start, i
        i += 1


@pytest.mark.parametrize("family,eps,reaches_fallback", [("moderate", 1e-6, False), ("ordinary", 1e-6, False),
                                                           ("underflow", 0.0, True), ("underflow", 2.0 ** -45, True)])
def test_gather_rcp_takes_its_fast_path_and_reaches_its_fallback(tmp_path, family, eps, reaches_fallback):
    """gather_rcp with its fallback's ``/`` poisoned to NaN (the fallback is "gather" again: nothing else
    in it divides but those): logits of ordinary spread with the model's eps come out NaN-free (every
    division checked in range, no fallback); zeros after exp with eps = 0 or 2^-45 (sums below the 2^-40
    the check allows) reach the fallback. Non-finite logits come out NaN in "lanes" too, so they cannot
    show it here; the unpoisoned kernel is bitwise "lanes" on every family (test_every_layout_is_bitwise...)."""
    import cuda_on_cpu

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    rcp = _source(lambda: _probe(4, "gather_rcp")).replace("sinkhorn_probe_kernel", "gather_rcp_kernel")
    start, end = _fallback_block(rcp)
    assert rcp[start:end].count(" / ") == 4, "the fallback: the softmax's, the first column's, the loop's two"
    assert rcp[:start].count(" / ") == 1, "outside it only the softmax's division is ``/``"
    poisoned = rcp[:start] + rcp[start:end].replace(" / ", " * NAN * ") + rcp[end:]
    sources = [_source(lambda: _probe(4, layout)).replace("sinkhorn_probe_kernel", f"{layout}_kernel")
               for layout in ("lanes", "rows", "gather")]
    exe = cuda_on_cpu.compile_program(sources + [poisoned], DRIVER, tmp_path)
    logits = _logits(4, 48, family, seed=11)
    logits.numpy().tofile(tmp_path / "logits.bin")
    subprocess.run([str(exe), "4", "48", "20", float(eps).hex(), str(tmp_path / "logits.bin"), str(tmp_path)],
                   check=True, timeout=300)
    got = np.fromfile(tmp_path / "gather_rcp.bin", np.float32)
    lanes = np.fromfile(tmp_path / "lanes.bin", np.float32)
    poisoned_nan = np.isnan(got) & ~np.isnan(lanes)
    assert bool(poisoned_nan.any()) == reaches_fallback, (family, eps, int(poisoned_nan.sum()))
    if not reaches_fallback:
        assert (got.view(np.uint32) == lanes.view(np.uint32)).all()


def test_the_families_reach_the_fallback_and_the_fast_path():
    """The underflow family has zeros after exp (the rows layout's ``/`` path); the ordinary one none."""
    for family, zeros in (("ordinary", False), ("underflow", True)):
        logits = _logits(4, 48, family, seed=1)[:, 8:].double().view(48, 4, 4)
        e = torch.exp(logits.float() - logits.float().amax(-1, keepdim=True))
        assert bool((e == 0).any()) == zeros, family


class _WarpOfExpressions:
    """Stands in for TileLang's T in butterfly / gathered: a value is the 32 lanes' expressions, a
    shuffle hands lane i lane (i xor mask)'s."""

    @staticmethod
    def shfl_xor(value, mask):
        return [value[lane ^ mask] for lane in range(32)]


def _lanewise(a, b):
    return [f"({x}+{y})" for x, y in zip(a, b)]


@pytest.mark.parametrize("n", [2, 4])
def test_gathered_sums_are_the_butterflys_expressions_in_every_lane(n):
    """Every lane's row and column sum, as an expression over the lanes' values: the gather layout's
    independent shuffles build exactly what the butterfly's dependent rounds build (operand order
    included, so the same bits in IEEE arithmetic)."""
    from mhc_kernels.tilelang.sinkhorn import butterfly, gathered, lane_masks

    values = [f"v{lane}" for lane in range(32)]
    for masks in lane_masks(n):
        assert gathered(_WarpOfExpressions, values, masks, _lanewise) == \
            butterfly(_WarpOfExpressions, values, masks, _lanewise), masks
    assert gathered(_WarpOfExpressions, values, [1, 2], _lanewise)[5] == "((v5+v4)+(v7+v6))"


def test_pairwise_is_the_butterfly_association():
    assert pairwise(["a", "b", "c", "d"], lambda x, y: f"({x}+{y})") == "((a+b)+(c+d))"
    assert pairwise(["a", "b"], lambda x, y: f"({x}+{y})") == "(a+b)"
    assert pairwise(["a"], lambda x, y: f"({x}+{y})") == "a"


def test_rows_layout_divides_by_the_fast_path_with_a_fallback():
    """The generated rows Sinkhorn: every half-step's divisions are the written-out fast path (one
    reciprocal for a row, one per column), each followed by its ``/`` fallback; the lanes layout is
    nvcc's ``/`` only. Unknown layouts are refused."""
    rows = _source(lambda: _probe(4, "rows"))
    lanes = _source(lambda: _probe(4, "lanes"))
    body = rows.split("for (int __1 = 0", 1)[1]
    assert body.count("tl::fast_rcp(") == 2, "one reciprocal per row half-step, one per column (a loop of 4)"
    assert body.count("__fmaf_rn(") == 2 * 5, "per half-step: two FMAs refine the reciprocal, three make the quotient"
    assert body.count(" / ") == 2, "one ``/`` fallback per half-step"
    assert "fast_rcp" not in lanes and "__fmaf_rn" not in lanes
    with pytest.raises(ValueError, match="layout"):
        _probe(4, "columns")


@pytest.mark.parametrize("layout", ["rows", "gather", "gather_rcp"])
@pytest.mark.parametrize("hidden,norm", [(64, False), (512, True)])
def test_overlap_with_another_sinkhorn_is_bitwise_pre_big_fuse_on_the_cpu(tmp_path, layout, hidden, norm):
    """The middle path's fused pre with the rows, gather or gather_rcp layout against pre.py's kernel
    (the lanes layout), on test_tilelang_pre_overlap's inputs."""
    import cuda_on_cpu
    import test_tilelang_pre_overlap as overlap_tests

    if not cuda_on_cpu.available():
        pytest.skip("no g++ for the CPU emulation")
    parts = 4
    sources = [_source(lambda: pre.build_pre_big_fuse(4, hidden, norm, True)),
               _source(lambda: pre_overlap.build_pre_big_fuse_overlap(4, hidden, norm, True, True, parts,
                                                                      sinkhorn_layout=layout))]
    marker = {"rows": "fast_rcp", "gather": "__shfl_xor_sync((uint)4294967295, v, 12, 32)",
              "gather_rcp": "if (ok[0] == 0) {"}[layout]
    assert marker in sources[1] and marker not in sources[0]
    exe = cuda_on_cpu.compile_program(sources, f"#define WITH_NORM {int(norm)}\n#define OV_SPLITS\n"
                                      + overlap_tests.DRIVER, tmp_path)
    for tokens in (1, 3):
        overlap_tests._run_case(exe, tmp_path, hidden, norm, tokens, parts, False, 2 * hidden + 8192)


QUOTIENT_SWEEP = r"""
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
// exact_quotient's last five instructions from a given reciprocal r of d (sinkhorn.py)
static float quotient(float v, float d, float r) {
  float r2 = fmaf(r, fmaf(-d, r, 1.0f), r);
  float q0 = fmaf(r2, v, 0.0f);
  return fmaf(r2, fmaf(-d, q0, v), q0);
}
int main() {  // every significand of d in [1, 2) x 8 numerators; the reciprocal exact, 1 ulp low, 1 ulp high
  std::mt19937 g(7);
  long wrong[3] = {0, 0, 0}, cases = 0;
  for (uint32_t m = 0; m < (1u << 23); ++m) {
    float d = from_bits(0x3f800000u | m), r = 1.0f / d;
    for (int j = 0; j < 8; ++j) {
      float v = j == 0 ? 1.0f : j == 1 ? from_bits(0x3fffffffu) : j == 2 ? from_bits(0x3f800000u | (m ^ 1))
                                                               : from_bits(0x3f800000u | (g() & 0x7fffff));
      float want = v / d;
      ++cases;
      for (int k = -1; k <= 1; ++k)
        if (bits(quotient(v, d, from_bits(bits(r) + k))) != bits(want)) ++wrong[k + 1];
    }
  }
  printf("%ld %ld %ld %ld\n", cases, wrong[0], wrong[1], wrong[2]);
}
"""


def test_the_division_sequence_is_correctly_rounded_with_an_exact_reciprocal(tmp_path):
    """What sinkhorn.py's docstring says of exact_quotient's arithmetic, on the CPU (IEEE fmaf and
    division): from the correctly rounded reciprocal it gives '/''s bits for every significand of d in
    [1, 2) times eight numerators (67 million cases); from a reciprocal one ulp off it does not always
    (1 / 0x1.fffffep+0): the sequence leans on MUFU.RCP's accuracy, as nvcc's own division does. The
    GPU's MUFU.RCP itself: scripts/debug/sinkhorn_rows_check.py."""
    import shutil

    if shutil.which("g++") is None:
        pytest.skip("no g++")
    (tmp_path / "sweep.cpp").write_text(QUOTIENT_SWEEP)
    subprocess.run(["g++", "-O2", "-std=c++17", "-ffp-contract=off", str(tmp_path / "sweep.cpp"), "-o",
                    str(tmp_path / "sweep")], check=True, capture_output=True)
    out = subprocess.run([str(tmp_path / "sweep")], check=True, capture_output=True, text=True, timeout=300).stdout
    cases, low, exact, high = map(int, out.split())
    assert cases == 8 << 23
    assert exact == 0, f"{exact} wrong quotients from the exact reciprocal"
    assert low > 0 and high > 0, "a reciprocal one ulp off should fail somewhere (the all-ones significand)"
