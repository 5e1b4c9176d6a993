"""The prenorm_gemm op's chunks summed by the split's last chunk, found on a counter
(TileLangDecode.op_chunks_on_counter, gemm.build_prenorm_gemm's counter_chunks; the probe
mid_probes.TileLangOpChunksOnCounter): which calls take it (launches recorded as in test_tilelang_decode.py,
nothing computed), the counters it keeps, and what the generated CUDA does (TileLang on the CPU, sm_90a): every
chunk's sub-partials written and fenced before the one count, the sum only in the CTA that counted last, in
chunk_sum's order, read past L1, and its counter set back to zero. That the outputs are bitwise the default's
is a GPU check (tests/test_tilelang_gpu_bits.py)."""

import re

import pytest
import torch

from mhc_kernels.tilelang.decode_backend import COUNTER_SLOTS, TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangOpChunksOnCounter, TileLangOpCounterEveryThreadFence,
                                             TileLangOpCounterFirstThreadFence)
from test_tilelang_decode import MIXES, N, rec  # noqa: F401  (rec is a fixture)
from test_tilelang_op_cluster import _gemm_keywords, _op


@pytest.mark.parametrize("tokens, hidden, chunks", [(256, 4096, 2), (256, 7168, 2), (64, 4096, 4), (128, 7168, 7),
                                                    (200, 4096, 2)])
def test_the_probe_sums_a_splits_chunks_in_the_gemm(rec, tokens, hidden, chunks):
    """Where the op's K ranges cut each of the caller's 16 splits into 2 .. 8 chunks (132 SMs, rec's): one launch,
    every chunk's scratch, the counters (one per split and 64-token block at least), then the outputs; no
    chunk_sum."""
    probe = TileLangOpChunksOnCounter()
    mixes, sqrsum = _op(probe, tokens, hidden)
    assert rec.names == ["prenorm_gemm"]
    (name, config, args), = rec.launches
    assert config == (N, hidden, MIXES, 64)
    assert args[2:] == [(16, chunks, tokens, MIXES), (16, chunks, tokens), (COUNTER_SLOTS,), (16, tokens, MIXES),
                        (16, tokens)]
    kw = _gemm_keywords(rec)[0]
    assert kw["counter_chunks"] == chunks and kw["early_trigger"] is True and "cluster_chunks" not in kw
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)
    assert any(f"counter_chunks={chunks}" in label for label in probe.calls), probe.calls


def test_the_counters_are_zeroed_once_and_kept_per_stream(rec):
    """One set per device and stream, zero when made, the same tensor on the next call (a CUDA graph holds its
    address); more (split, token block) counters than a set holds is an error, not a wrong sum."""
    probe = TileLangOpChunksOnCounter()
    first = probe._chunk_counters(torch.device("cpu"), 16 * 4)
    assert first.dtype == torch.int32 and first.shape == (COUNTER_SLOTS,) and not first.any()
    assert probe._chunk_counters(torch.device("cpu"), 16 * 5) is first
    with pytest.raises(ValueError, match="counters asked"):
        probe._chunk_counters(torch.device("cpu"), COUNTER_SLOTS + 1)


@pytest.mark.parametrize("tokens, hidden, n_splits, names", [
    (512, 7168, 16, ["prenorm_gemm"]),  # 16 ranges: one chunk per split, nothing to sum
    (17, 7168, 16, ["prenorm_gemm", "chunk_sum"]),  # the decode path (its 112 ranges, 7 per split): as the default
    (256, 4096, 1, ["prenorm_gemm", "chunk_sum"]),  # 32 chunks of one split: more than counter_chunks takes
    (300, 4096, 16, ["prenorm_gemm"]),  # the op's plain window (257-320): the caller's splits alone
    (2048, 7168, 16, ["prenorm_gemm"]),  # above op_gemm_max_tokens: the base op
])
def test_where_the_probe_does_not_count(rec, tokens, hidden, n_splits, names):
    _op(TileLangOpChunksOnCounter(), tokens, hidden, n_splits)
    assert rec.names == names
    assert all("counter_chunks" not in kw for kw in _gemm_keywords(rec))


def test_the_default_keeps_chunk_sum(rec):
    _op(TileLangDecode(), 128, 4096)  # the middle GEMM (at 129-256 the default runs gemm_multicast's kernel)
    assert rec.names == ["prenorm_gemm", "chunk_sum"]
    assert "counter_chunks" not in _gemm_keywords(rec)[0], "the default's call form is unchanged"


@pytest.mark.parametrize("probe_class, fence", [(TileLangOpCounterFirstThreadFence, "first_thread"),
                                               (TileLangOpCounterEveryThreadFence, "every_thread")])
def test_the_fence_probes_pass_their_fence_on(rec, probe_class, fence):
    probe = probe_class()
    _op(probe, 256, 4096)
    assert rec.names == ["prenorm_gemm"] and _gemm_keywords(rec)[0]["counter_fence"] == fence
    assert any(f"fence={fence}" in label for label in probe.calls), probe.calls


def test_precompile_covers_the_counter_probes(rec):
    from mhc_kernels.tilelang import precompile

    for hidden in (4096, 7168):
        jobs = {(args[3], kw["counter_chunks"], kw.get("counter_fence", "none"))
                for _, _, args, kw in precompile.probe_jobs(hidden) if kw.get("counter_chunks")}
        for probe_class in (TileLangOpChunksOnCounter, TileLangOpCounterFirstThreadFence,
                            TileLangOpCounterEveryThreadFence):
            for tokens in (64, 128, 192, 256, 512, 768, 1024):
                rec.launches.clear(), rec.keywords.clear()
                _op(probe_class(), tokens, hidden)
                for (_, config, _), kw in zip(rec.launches, rec.keywords):
                    if kw.get("counter_chunks"):
                        assert (config[3], kw["counter_chunks"], kw.get("counter_fence", "none")) in jobs, \
                            (probe_class.__name__, hidden, tokens)
                        assert kw.get("early_trigger"), "the op's PDL early covers its middle path"


def test_the_counter_kernel_takes_two_to_eight_chunks_alone():
    from mhc_kernels.tilelang.gemm import build_prenorm_gemm

    for chunks in (9, 0):
        with pytest.raises(AssertionError):
            build_prenorm_gemm(N, 256, MIXES, 64, True, counter_chunks=chunks)
    with pytest.raises(AssertionError):
        build_prenorm_gemm(N, 256, MIXES, 64, True, "splitk_no_atomic", counter_chunks=2)
    with pytest.raises(AssertionError):
        build_prenorm_gemm(N, 256, MIXES, 64, True, cluster_chunks=2, counter_chunks=2)
    with pytest.raises(AssertionError):
        build_prenorm_gemm(N, 256, MIXES, 64, True, counter_chunks=2, counter_fence="some")


# where each counter_fence puts a __threadfence: (before the barrier ahead of the count, right before the atomic,
# right after it, in the last chunk before its reads)
FENCES = {"none": (0, 0, 0, 0), "first_thread": (0, 1, 1, 0), "every_thread": (1, 0, 0, 1)}


@pytest.mark.parametrize("fence", list(FENCES))
@pytest.mark.parametrize("tma", [False, True])
def test_the_generated_cuda_counts_after_the_writes_and_sums_in_chunk_order(tma, fence):
    """Three chunks (an odd count, so the order is visible), both load paths, each counter_fence: the sub-partials'
    stores, a barrier, the one atomic add (acq_rel: memory order 4) on the (split, token block) counter, a barrier;
    only where it returned c - 1 = 2: every sub-partial the thread adds read by __ldcg into registers (chunk c at c
    [T, M] blocks, T * 24 floats, from chunk 0) before any store, then ((chunk 0 + chunk 1) + chunk 2) stored, then
    the counter set back to 0; no cluster barrier; __threadfence exactly where the variant puts it (FENCES)."""
    import tilelang

    from mhc_kernels.tilelang import _build
    from mhc_kernels.tilelang.gemm import build_prenorm_gemm

    kernel = tilelang.compile(build_prenorm_gemm(N, 1536, MIXES, 64, True, block_k=128, num_stages=2, threads=128,
                                                 counter_chunks=3, counter_fence=fence),
                              target={"kind": "cuda", "arch": "sm_90a"}, pass_configs=_build.pass_configs(tma))
    src = kernel.get_kernel_source()
    body = src[src.index("mhc_prenorm_gemm_kernel("):]
    assert "cluster" not in body.lower()
    store = body.index("mixes_parts[")
    count = body.index("AtomicAddRet(", store)
    barrier = body.rindex("__sync", store, count)
    total = body.index("mixes_partial[", count)
    guard = body.index("[0] == 2)", count)
    assert body[count:count + 200].count(", 1, 4)") == 1, "add 1, memory order acq_rel"
    assert re.search(r"__sync", body[count:guard]), "a barrier between the count and the last chunk's reads"
    before, right_before, right_after, in_last = FENCES[fence]
    counting = body.rindex("threadIdx.x) == ", barrier, count)  # thread 0 (128 on TMA: the first consumer's)
    assert body[store:barrier].count("__threadfence") == before
    assert body[counting:count].count("__threadfence") == right_before
    assert body[count:body.index("__sync", count)].count("__threadfence") == right_after
    assert body[guard:total].count("__threadfence") == in_last
    assert body.count("__threadfence") == sum(FENCES[fence])
    load = body.index("parts_regs[((r * 3) + c)] = __ldcg((&(mixes_parts[", guard)
    assert "(((int64_t)c) * ((int64_t)tokens)) * (int64_t)24)" in body[load:body.index(";", load)], "chunk c's block"
    assert "= __ldcg((&(sqrsum_parts[" in body[load:total], "the sums of squares' sub-partials loaded too"
    assert "__ldcg" not in body[total:], "every load ahead of the stores"
    line = body[total:body.index(";", total)]
    assert line.endswith("= ((parts_regs[(r_1 * 3)] + parts_regs[((r_1 * 3) + 1)]) + parts_regs[((r_1 * 3) + 2)])"), \
        "((p0 + p1) + p2): chunk_sum's order"
    reset = body.index("counters[", total)
    assert body[reset:body.index(";", reset)].endswith("= 0"), "the counter zero again for the next launch"


def test_the_default_chunk_sum_loads_first_and_the_serial_probe_does_not(rec):
    """The default's chunk_sum has loads_first (the twenty-sixth session's adoption), as mid_probes.
    TileLangChunkSumLoadsFirst had; mid_probes.TileLangChunkSumSerial keeps the build before it (no keyword). A
    precompile job for each chunk count the op's chunk_sum takes, in the default's jobs and in the probe's."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangChunkSumLoadsFirst, TileLangChunkSumSerial

    for backend in (TileLangDecode(), TileLangChunkSumLoadsFirst()):
        rec.launches.clear(), rec.keywords.clear()
        _op(backend, 128, 4096)  # the middle GEMM's chunk_sum (at 129-256: gemm_multicast's, loads first too)
        assert rec.names == ["prenorm_gemm", "chunk_sum"] and rec.keywords[1] == {"loads_first": True}
        assert any(re.fullmatch(r"chunk_sum\[chunks=\d+,loads_first\]", label) for label in backend.calls), \
            backend.calls
    rec.launches.clear(), rec.keywords.clear()
    serial = TileLangChunkSumSerial()
    _op(serial, 256, 4096)
    assert rec.keywords[1] == {} and "chunk_sum[chunks=2]" in serial.calls, serial.calls
    for hidden in (4096, 7168):
        for jobs, loads_first in ((precompile.jobs(hidden), True), (precompile.probe_jobs(hidden), False)):
            counts = {args[1] for _, getter, args, kw in jobs
                      if getter == "gemm.chunk_sum_kernel" and kw == {"loads_first": loads_first}}
            assert counts == set(precompile._chunk_counts(hidden)), (hidden, loads_first)


@pytest.mark.parametrize("chunks", [2, 7])
def test_the_loads_first_chunk_sum_loads_everything_before_it_stores(chunks):
    """gemm.build_chunk_sum(loads_first=True), CUDA for sm_90a: every load of the thread's sub-partials (both
    outputs) ahead of the first store, each output the sum of its chunks in chunk order. (The default's loads after
    the previous output's store show after unrolling, in its PTX: results/gpu/2026-12-06-h100-engines-22.)"""
    import tilelang

    from mhc_kernels.tilelang import _build
    from mhc_kernels.tilelang.gemm import build_chunk_sum

    body = tilelang.compile(build_chunk_sum(MIXES, chunks, True, True), target={"kind": "cuda", "arch": "sm_90a"},
                            pass_configs=_build.pass_configs(False)).get_kernel_source()
    first_store = min(body.index("mixes_partial["), body.index("sqrsum_partial[", body.index("sqrsum_parts[")))
    assert body.count("= mixes_parts[") >= 1 and body.rindex("mixes_parts[") < first_store
    assert body.rindex("sqrsum_parts[") < first_store, "the sums of squares' loads ahead of the stores too"
    assert re.search(r"acc\[0\] = parts\[\d+\];", body), "the sum starts at chunk 0"


@pytest.mark.parametrize("tokens,hidden,default_parts,probe_parts", [(256, 4096, 32, 64), (192, 4096, 32, 64),
                                                                     (256, 7168, 32, 112), (1024, 4096, 16, 32),
                                                                     (128, 7168, 112, 112), (32, 4096, 64, 64)])
def test_the_co_resident_probe_takes_more_ranges_only_on_the_middle_path(monkeypatch, tokens, hidden, default_parts,
                                                                        probe_parts):
    """mid_probes.TileLangOpCoResident: the op's middle-path K ranges by wave_cost_parts with two CTAs per SM (132
    SMs, S = 16); the decode path's (up to 32 tokens) and the points where both rules agree unchanged."""
    from mhc_kernels.tilelang import backend
    from mhc_kernels.tilelang.mid_probes import TileLangOpCoResident

    monkeypatch.setattr(backend, "_sm_count", lambda device: 132)
    cpu = torch.device("cpu")
    assert TileLangDecode()._op_gemm_parts(tokens, 4, hidden, 16, cpu) == default_parts
    assert TileLangOpCoResident()._op_gemm_parts(tokens, 4, hidden, 16, cpu) == probe_parts
