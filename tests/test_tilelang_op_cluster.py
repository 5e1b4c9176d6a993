"""The prenorm_gemm op's chunks summed in a thread-block cluster (TileLangDecode.op_chunks_in_cluster,
gemm.build_prenorm_gemm's cluster_chunks; the probes mid_probes.TileLangGemmOpCluster and
TileLangGemmOpCluster128): which calls take it (launches recorded as in test_tilelang_decode.py,
nothing computed), and what the generated CUDA does (TileLang on the CPU, sm_90a): one cluster
barrier every thread reaches, the other chunks' sub-partials written before it, and chunk 0's sum in
chunk_sum's order after it. That the outputs are bitwise the default's is a GPU check
(scripts/debug/probe_bitwise_check.py, results/gpu/2026-12-05-h200-engines-8/lease/call4.sh)."""

import re

import pytest
import torch

from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangGemmOpCluster, TileLangGemmOpCluster128, TileLangOpChunksDsmem
from test_tilelang_decode import MIXES, N, rec  # noqa: F401  (rec is a fixture)


def _op(backend, tokens: int, hidden: int, n_splits: int = 16):
    x = torch.zeros(tokens, N * hidden, dtype=torch.bfloat16)
    return backend.prenorm_gemm(x, torch.zeros(MIXES, N * hidden), n_splits)


def _gemm_keywords(rec):
    return [kw for (name, _, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]


@pytest.mark.parametrize("tokens, hidden, chunks", [(256, 4096, 2), (256, 7168, 2), (64, 4096, 4), (128, 7168, 7),
                                                    (768, 7168, 2)])
def test_the_probe_sums_a_splits_chunks_in_the_gemm(rec, tokens, hidden, chunks):
    """Where the op's K ranges cut each of the caller's 16 splits into 2 .. 8 chunks (132 SMs, rec's):
    one launch, the scratch for chunks 1 .. c - 1 before the outputs, no chunk_sum."""
    mixes, sqrsum = _op(TileLangGemmOpCluster(), tokens, hidden)
    assert rec.names == ["prenorm_gemm"]
    (name, config, args), = rec.launches
    assert config == (N, hidden, MIXES, 64)
    assert args[2:] == [(16, chunks - 1, tokens, MIXES), (16, chunks - 1, tokens), (16, tokens, MIXES), (16, tokens)]
    assert _gemm_keywords(rec)[0]["cluster_chunks"] == chunks
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)


@pytest.mark.parametrize("tokens, hidden, chunks", [(256, 4096, 2), (256, 7168, 2), (64, 4096, 4), (128, 7168, 7)])
def test_the_dsmem_probe_sums_a_splits_chunks_without_scratch(rec, tokens, hidden, chunks):
    """TileLangOpChunksDsmem: the same cluster launch, the outputs its only tensors after x and fn3 (the
    sub-partials travel SM to SM), no chunk_sum."""
    mixes, sqrsum = _op(TileLangOpChunksDsmem(), tokens, hidden)
    assert rec.names == ["prenorm_gemm"]
    (name, config, args), = rec.launches
    assert config == (N, hidden, MIXES, 64)
    assert args[2:] == [(16, tokens, MIXES), (16, tokens)]
    kw = _gemm_keywords(rec)[0]
    assert kw["cluster_chunks"] == chunks and kw["cluster_dsmem"] is True and kw["early_trigger"] is True
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)


def test_the_default_keeps_chunk_sum(rec):
    _op(TileLangDecode(), 128, 4096)  # the middle GEMM (at 129-256 the default runs gemm_multicast's kernel)
    assert rec.names == ["prenorm_gemm", "chunk_sum"]
    assert "cluster_chunks" not in _gemm_keywords(rec)[0], "the default's call form is unchanged"


@pytest.mark.parametrize("tokens, hidden, n_splits, names", [
    (512, 7168, 16, ["prenorm_gemm"]),  # 16 ranges: one chunk per split, nothing to sum
    (17, 7168, 16, ["prenorm_gemm", "chunk_sum"]),  # the decode path (its 112 ranges, 7 per split): as the default
    (256, 4096, 1, ["prenorm_gemm", "chunk_sum"]),  # 32 chunks of one split: more than a cluster holds
    (2048, 7168, 16, ["prenorm_gemm"]),  # above op_gemm_max_tokens: the base op
])
def test_where_the_probe_does_not_cluster(rec, tokens, hidden, n_splits, names):
    _op(TileLangGemmOpCluster(), tokens, hidden, n_splits)
    assert rec.names == names
    assert all("cluster_chunks" not in kw for kw in _gemm_keywords(rec))


def test_the_block128_cluster_probe_halves_the_blocks_from_512(rec):
    _op(TileLangGemmOpCluster128(), 512, 7168)
    _op(TileLangGemmOpCluster128(), 256, 4096)
    (_, big, big_args), (_, small, small_args) = rec.launches
    assert big[3] == 128 and big_args[2] == (16, 1, 512, MIXES)  # 32 ranges of 7 tiles: 2 chunks per split
    assert small[3] == 64 and small_args[2] == (16, 1, 256, MIXES)


def test_precompile_covers_the_cluster_probes(rec):
    from mhc_kernels.tilelang import precompile

    for hidden in (4096, 7168):
        jobs = {(args[3], kw["cluster_chunks"]) for _, _, args, kw in precompile.probe_jobs(hidden)
                if kw.get("cluster_chunks")}
        dsmem_jobs = {(args[3], kw["cluster_chunks"]) for _, _, args, kw in precompile.probe_jobs(hidden)
                      if kw.get("cluster_dsmem")}
        for probe in (TileLangGemmOpCluster(), TileLangGemmOpCluster128(), TileLangOpChunksDsmem()):
            for tokens in (64, 128, 256, 512, 768, 1024):
                rec.launches.clear(), rec.keywords.clear()
                _op(probe, tokens, hidden)
                for (_, config, _), kw in zip(rec.launches, rec.keywords):
                    if kw.get("cluster_chunks"):
                        assert (config[3], kw["cluster_chunks"]) in (dsmem_jobs if kw.get("cluster_dsmem") else jobs), \
                            (hidden, tokens)
                        assert kw.get("early_trigger"), "the op's PDL early covers its middle path"


def test_the_cluster_kernel_needs_a_cluster_of_two_to_eight():
    from mhc_kernels.tilelang.gemm import build_prenorm_gemm

    for chunks in (9, 0):
        with pytest.raises(AssertionError):
            build_prenorm_gemm(N, 256, MIXES, 64, True, cluster_chunks=chunks)
    with pytest.raises(AssertionError):
        build_prenorm_gemm(N, 256, MIXES, 64, True, "splitk_no_atomic", cluster_chunks=2)


def test_the_generated_cuda_sums_after_one_cluster_barrier():
    """Three chunks (an odd count, so the order is visible): the launch asks for (1, 3, 1) clusters;
    the barrier is at the kernel's top level (every thread reaches it: barrier.cluster is .aligned);
    before it only chunks 1 and 2 write, into the scratch; after it chunk 0 writes ((own + chunk 1) +
    chunk 2), the second scratch slot one [T, M] block (T * 24 floats) further on."""
    import tilelang

    from mhc_kernels.tilelang import _build
    from mhc_kernels.tilelang.gemm import build_prenorm_gemm

    prim = build_prenorm_gemm(N, 256, MIXES, 64, True, block_k=128, num_stages=2, threads=128, cluster_chunks=3)
    assert '"cluster_dims": [1, 3, 1]' in prim.script()
    source = tilelang.compile(prim, target={"kind": "cuda", "arch": "sm_90a"},
                              pass_configs=_build.pass_configs()).get_kernel_source()
    source = source.replace("(int64_t)", "").replace("(int)", "")
    lines = source.splitlines()
    barrier = [i for i, line in enumerate(lines) if "tl::cluster_sync();" in line]
    assert len(barrier) == 1 and lines[barrier[0]] == "  tl::cluster_sync();", barrier
    before, after = "\n".join(lines[:barrier[0]]), "\n".join(lines[barrier[0]:])
    assert "mixes_partial[" not in before and "sqrsum_partial[" not in before
    assert "mixes_rest[" in before and "sqrsum_rest[" in before
    assert re.search(r"if \(0 < \(\(blockIdx\.y\) % 3\)\)", before), "only chunks 1 and 2 write the scratch"
    assert re.search(r"if \(\(\(blockIdx\.y\) % 3\) == 0\)", after), "only chunk 0 sums"
    mixes_sum = re.search(r"mixes_partial\[.*\] = \(\(condval_\d+ \+ mixes_rest\[(.*)\]\) \+ mixes_rest\[(.*)\]\);",
                          after)
    assert mixes_sum, after
    first, second = mixes_sum.groups()
    assert "* (tokens)) * 24))" not in first and "+ ((tokens) * 24))" in second
    sq_sum = re.search(r"sqrsum_partial\[.*\] = \(\(total \+ sqrsum_rest\[(.*)\]\) \+ sqrsum_rest\[(.*)\]\);", after)
    assert sq_sum and "+ (tokens))" in sq_sum.group(2) and "+ (tokens))" not in sq_sum.group(1)
    # chunk 0 reads its own sub-partial from c_sh after the sums of squares went through sq_sh: TileLang's
    # shared-memory plan must keep the two apart (it aliases them in the kernel without the cluster sum,
    # where c_sh is dead by then)
    offsets = dict(re.findall(r"void\* (\w+) = \(\(void\*\)\(\(char\*\)buf_dyn_shmem \+ (\d+)\)\);", source))
    c_sh, sq_sh = int(offsets["c_sh"]), int(offsets["sq_sh"])
    c_bytes, sq_bytes = 64 * 80 * 4, 2 * 64 * 4  # [block_m, fn3 rows] and [threads / block_m, block_m] floats
    assert c_sh + c_bytes <= sq_sh or sq_sh + sq_bytes <= c_sh, offsets


def test_the_dsmem_cuda_pushes_between_two_cluster_barriers():
    """Three chunks: every CTA keeps its sub-partials (exact_sum of its three columns) in shared memory; after
    the first barrier only chunks 1 and 2 store, into chunk 0's receive buffers (map_shared_rank(.., 0)); after
    the second only chunk 0 writes the outputs, ((own + chunk 1) + chunk 2): chunk_sum's order. No global
    scratch anywhere, and the receive buffers apart from the sub-partials chunk 0 still reads after them."""
    import tilelang

    from mhc_kernels.tilelang import _build
    from mhc_kernels.tilelang.gemm import build_prenorm_gemm

    prim = build_prenorm_gemm(N, 256, MIXES, 64, True, block_k=128, num_stages=2, threads=128, cluster_chunks=3,
                              cluster_dsmem=True)
    assert '"cluster_dims": [1, 3, 1]' in prim.script()
    source = tilelang.compile(prim, target={"kind": "cuda", "arch": "sm_90a"},
                              pass_configs=_build.pass_configs()).get_kernel_source()
    source = source.replace("(int64_t)", "").replace("(int)", "")
    assert "_rest" not in source
    lines = source.splitlines()
    barriers = [i for i, line in enumerate(lines) if "tl::cluster_sync();" in line]
    assert len(barriers) == 2 and all(lines[i] == "  tl::cluster_sync();" for i in barriers), barriers
    before = "\n".join(lines[:barriers[0]])
    between = "\n".join(lines[barriers[0]:barriers[1]])
    after = "\n".join(lines[barriers[1]:])
    assert "mixes_partial[" not in before + between and "sqrsum_partial[" not in before + between
    assert "own_sh)[" in before and "map_shared_rank" not in before
    assert between.count("map_shared_rank(") >= 2 and "map_shared_rank" not in after
    assert all(m.endswith(", 0)") for m in re.findall(r"map_shared_rank\([^;]*?, 0\)", between))
    assert "for (int r = 1; r < 3; ++r)" in between and re.search(r"if \(\(\(blockIdx\.y\) % 3\) == r\)", between), \
        "chunks 1 and 2 push (chunk r into slot r - 1)"
    assert re.search(r"if \(\(\(blockIdx\.y\) % 3\) == 0\)", after), "only chunk 0 sums"
    sq_sum = re.search(r"sqrsum_partial\[.*\] = \(\(\(\(float\*\)own_sq\)\[(.*?)\] \+ \(\(float\*\)recv_sq\)\[(.*?)\]\) "
                       r"\+ \(\(float\*\)recv_sq\)\[(.*?)\]\);", after)
    assert sq_sum, after
    assert "+ 64" not in sq_sum.group(2) and "+ 64" in sq_sum.group(3), "chunk 1's slot, then chunk 2's"
    offsets = dict(re.findall(r"void\* (\w+) = \(\(void\*\)\(\(char\*\)buf_dyn_shmem \+ (\d+)\)\);", source))
    own, recv = int(offsets["own_sh"]), int(offsets["recv_sh"])
    own_bytes, recv_bytes = 64 * MIXES * 4, 2 * 64 * MIXES * 4
    assert own + own_bytes <= recv or recv + recv_bytes <= own, offsets
