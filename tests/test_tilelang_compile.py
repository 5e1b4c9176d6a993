"""Every kernel of our TileLang backend, in every configuration it can choose, compiles for sm_90a.

No GPU needed: TileLang lowers to CUDA C and nvcc compiles it for an explicit target. A kernel that
stops compiling fails here, before anyone reaches a GPU. TileLang is a test dependency (the
``tilelang`` extra that scripts/setup.sh installs): if it is missing this test fails, it does not skip.
Also checked: PDL instructions appear exactly where enabled (sm_90a), never for sm_80 or with PDL off,
and the dynamic token count keeps one compile per configuration.
"""

import pytest

from mhc_kernels.tilelang import _build
from mhc_kernels.tilelang.collapse import build_collapse
from mhc_kernels.tilelang.gemm import (LARGE_T_BLOCK_M, SMALL_T_BLOCK_M, block_m_for, build_chunk_sum,
                                       build_prenorm_gemm, build_split_fn)
from mhc_kernels.tilelang.backend import TileLangBackend, TileLangNarrowTiles
from mhc_kernels.tilelang.post import build_hc_post
from mhc_kernels.tilelang.pre import build_pre_big_fuse
from mhc_kernels.tilelang.pre_overlap import build_pre_big_fuse_overlap

PDL_MARKERS = ("cudaGridDependencySynchronize", "cudaTriggerProgrammaticLaunchCompletion", "griddepcontrol")
N = 4
MIXES = N * N + 2 * N


def configurations(hidden: int, pdl: bool, backends=(TileLangBackend, TileLangNarrowTiles)):
    """(name, builder) for every kernel configuration the backends can pick at this hidden size."""
    for mixes in (MIXES, N):
        yield f"split_fn[M={mixes}]", lambda m=mixes: build_split_fn(m, N * hidden, pdl)
    for backend in backends:
        for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M):
            # the fused pre's tunables and the prenorm_gemm op's, where they differ (the kernel's
            # defaults, gemm_schedule's fallback, are TileLangNarrowTiles' tunables)
            tunables = [backend.gemm_tunables.get(block_m, {}), backend.op_gemm_tunables.get(block_m, {})]
            for tun in [t for i, t in enumerate(tunables) if t not in tunables[:i]]:
                for mixes in (MIXES, N):
                    yield (f"{backend.name}: prenorm_gemm[M={mixes},block_m={block_m},{tun or 'defaults'}]",
                           lambda b=block_m, m=mixes, t=tun: build_prenorm_gemm(N, hidden, m, b, pdl, **t))
    # the prenorm_gemm op's chunk sums (M = n * n + 2 n only: the op's fn); chunks is a power of two
    # up to K tiles / min tiles per CTA (64-wide tiles, >= 8 each: 4 * 7168 / 64 / 8 = 56 -> 32)
    for chunks in (2, 4, 8, 16, 32):
        yield f"chunk_sum[chunks={chunks}]", lambda c=chunks: build_chunk_sum(MIXES, c, pdl)
        yield f"chunk_sum[chunks={chunks},loads_first]", lambda c=chunks: build_chunk_sum(MIXES, c, pdl, True)
    for norm in (False, True):
        yield f"pre_big_fuse[norm={norm}]", lambda m=norm: build_pre_big_fuse(N, hidden, m, pdl)
    yield "hc_post", lambda: build_hc_post(N, hidden, pdl)
    for head in (False, True):
        yield f"collapse[head={head}]", lambda h=head: build_collapse(N, hidden, h, pdl)
    # TileLangDecode's middle path: the overlap pre and the head collapse with the parts compiled in
    # (mid_parts: a divisor of the 128-wide K tiles; pre_big_fuse: the caller's splits)
    for parts in ((7, 16, 112) if hidden == 7168 else (1,)):
        for norm in (False, True):
            yield (f"pre_big_fuse_overlap[parts={parts},norm={norm}]",
                   lambda p=parts, m=norm: build_pre_big_fuse_overlap(N, hidden, m, pdl, True, p))
        yield f"collapse[head=True,parts={parts}]", lambda p=parts: build_collapse(N, hidden, True, pdl, p)


def _compile(build, arch: str, tma: bool = False):
    import tilelang

    return tilelang.compile(build(), target={"kind": "cuda", "arch": arch}, pass_configs=_build.pass_configs(tma))


@pytest.mark.parametrize("hidden", [64, 7168])
def test_every_kernel_compiles_for_sm90a_with_pdl(hidden):
    import tilelang

    assert tilelang.__version__ == _build.TILELANG_VERSION_VALIDATED, (
        f"kernels were validated with tilelang {_build.TILELANG_VERSION_VALIDATED}, this is {tilelang.__version__}")
    for name, build in configurations(hidden, pdl=True):
        source = _compile(build, "sm_90a").get_kernel_source()
        assert "cudaGridDependencySynchronize" in source, f"{name}: PDL enabled but no grid dependency sync"
        assert "cudaTriggerProgrammaticLaunchCompletion" in source, f"{name}: PDL enabled but no trigger"


def test_no_pdl_where_disabled_or_unsupported():
    for name, build in configurations(4096, pdl=False, backends=(TileLangBackend,)):
        source = _compile(build, "sm_80").get_kernel_source()
        found = [m for m in PDL_MARKERS if m in source]
        assert not found, f"{name}: PDL disabled but the source has {found}"


def test_pdl_decision():
    assert _build.pdl_supported("cuda", "sm_90a") and _build.pdl_supported("cuda", "sm_100")
    assert not _build.pdl_supported("cuda", "sm_89") and not _build.pdl_supported("cuda", "sm_80")
    assert not _build.pdl_supported("hip", "gfx942")
    assert _build.explicit_target("cuda", "sm_90a").pdl and not _build.explicit_target("cuda", "sm_80").pdl


def test_importing_the_backend_does_not_touch_cuda():
    """In a fresh interpreter (a reload here would swap the classes other tests and modules hold):
    importing the backend and its planted variants and constructing one queries no CUDA device."""
    import subprocess
    import sys

    code = ("import torch\n"
            "def forbidden(*a, **k):\n"
            "    raise AssertionError('CUDA queried at import')\n"
            "for name in ('get_device_capability', 'get_device_properties', 'is_available', 'device_count'):\n"
            "    setattr(torch.cuda, name, forbidden)\n"
            "import mhc_kernels.tilelang.backend as backend, mhc_kernels.tilelang.planted\n"
            "backend.TileLangBackend()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_one_compile_per_configuration_whatever_the_token_count():
    """The token count is dynamic: two calls at different T reuse the same compiled kernel."""
    target = _build.explicit_target("cuda", "sm_90a")
    before = _build.STATS.count
    from mhc_kernels.tilelang.post import hc_post_kernel

    k1 = hc_post_kernel(N, 128, target)
    k2 = hc_post_kernel(N, 128, target)
    assert k1 is k2 and _build.STATS.count == before + 1
    source = k1.get_kernel_source()
    assert "int tokens" in source, "the token count must be a runtime argument of the kernel"
    assert block_m_for(1023) == SMALL_T_BLOCK_M and block_m_for(1024) == LARGE_T_BLOCK_M


def test_gemm_pipeline_keeps_copies_in_flight():
    """The default prenorm GEMM keeps num_stages - 1 K tiles in flight (cp.async.wait_group
    num_stages - 1 in the steady state, one group per tile) and issues ONE wide wgmma per 64 rows and
    k16 step (N = fn3_rows, a multiple of 16), not n8 slices. TileLang 0.1.15 silently degrades to
    wait_group 0 when a shared-memory reader follows the GEMM in the loop body, and to n8 slices when
    N % 16 == 8: both cost bandwidth without changing results, so only the generated source shows it."""
    import re

    from mhc_kernels.tilelang.gemm import DEFAULT_TUNABLES, fn3_rows

    wide = TileLangBackend.gemm_tunables[LARGE_T_BLOCK_M]
    op_wide = TileLangBackend.op_gemm_tunables[LARGE_T_BLOCK_M]
    assert op_wide.get("num_stages") == 3, "the prenorm_gemm op's 3-stage pipeline (backend.OP_K_TILES)"
    for tunables in (DEFAULT_TUNABLES, wide, op_wide):
        stages = tunables.get("num_stages", DEFAULT_TUNABLES["num_stages"])
        for mixes in (MIXES, N):
            source = _compile(lambda: build_prenorm_gemm(N, 7168, mixes, LARGE_T_BLOCK_M, True, **tunables),
                              "sm_90a").get_kernel_source()
            waits = set(re.findall(r"cp_async_wait<(\d+)>", source))
            assert str(stages - 1) in waits, f"M={mixes} {tunables}: no steady-state wait_group {stages - 1}: {waits}"
            shapes = set(re.findall(r"wgmma_ss<[^>]*kFloat32, (\d+), (\d+), (\d+)", source))
            assert shapes == {("64", str(fn3_rows(mixes)), "16")}, f"M={mixes} {tunables}: wgmma shapes {shapes}"


@pytest.mark.parametrize("tma, split, under", [(False, False, False), (True, False, False), (True, True, False),
                                               (True, False, True)])
def test_every_gemm_tile_adds_its_squares_to_the_running_sum(tma, split, under):
    """Each K tile's eight lanes go into ``run``, and every sq_flush tiles ``run`` into ``total``, inside the
    pipelined loop; ``total`` takes the last run after it. In the twentieth session a refactor moved these
    statements into a T.macro that took ``run`` and ``total`` as arguments: the macro's assignments rebound
    its parameters and TileLang 0.1.15 dropped them, so every prenorm GEMM returned its sums of squares
    without the tiles (the GPU gate failed it: nightly checks and 1000 / 1000 stress failures). Only the
    generated source shows it on a CPU."""
    import re

    source = _compile(lambda: build_prenorm_gemm(N, 4096, MIXES, SMALL_T_BLOCK_M, True, block_k=128, num_stages=2,
                                                 split_in_kernel=split, squares_under_wgmma=under), "sm_90a",
                      tma=tma).get_kernel_source()
    loop = source[source.index("for (int tile"):]
    assert re.search(r"run = \(run \+ \(\(\(lanes\[0\] \+ lanes\[1\]\)", loop), "the tile's lanes never reach run"
    assert re.search(r"& 15\) == 15\) \{\s*total = \(total \+ run\);\s*run = 0x0p\+0f", loop), "no flush every 16 tiles"
    assert "total = (total + run);" in loop[loop.rindex("run = (run +"):], "the last run never reaches total"


def test_the_squares_under_the_wgmma_free_a_stage_only_after_its_wait():
    """build_prenorm_gemm's squares_under_wgmma (mid_probes.TileLangSquaresUnderWgmma): in the consumer's loop the
    tile's wgmma batch is issued and committed before the squares and waited for after them, and the stage is freed
    (the empty barrier's arrive) only after that wait. TileLang 0.1.15 frees a stage after the last access it sees,
    and T.wgmma_gemm's reads are asynchronous: without the never-taken read after the wait it freed the fn3 tile right
    after the issue and the x tile before the wait, so the producer's next TMA load could overwrite tiles the tensor
    cores were still reading (a race this test sees on a CPU)."""
    import re

    source = _compile(lambda: build_prenorm_gemm(N, 4096, MIXES, SMALL_T_BLOCK_M, True, block_k=128, num_stages=4,
                                                 squares_under_wgmma=True), "sm_90a", tma=True).get_kernel_source()
    start = source.index("for (int tile_1")  # the consumer's loop (the producer's is ``tile``)
    body = source[start:source.index("__sync_thread_partial", start)]
    issue, commit = body.index("wgmma_ss<"), body.index("warpgroup_commit_batch")
    squares, wait = body.index("run = (run +"), body.index("wait_wgmma<0>")
    frees = [m.start() for m in re.finditer(r"\]\.arrive\(\);", body)]
    assert issue < commit < squares < wait, (issue, commit, squares, wait)
    assert frees and all(free > wait for free in frees), f"a stage freed before the wgmma's wait: {frees}, {wait}"
    assert "warpgroup_wait<0>" not in body, "the synchronous wait is back in the loop"
