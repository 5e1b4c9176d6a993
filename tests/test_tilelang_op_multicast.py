"""The prenorm_gemm op with fn3 multicast across a cluster of token blocks (gemm_multicast.py; the probes
mid_probes.TileLangOpMulticast*): where the backend routes it, with which cluster, and the kernel's structure in its
sm_90a source (the cross-CTA pipeline a GPU cannot be asked about in CI). Its bits against the plain window's and
its time are GPU checks (scripts/debug/probe_bitwise_check.py, the benchmark)."""

from __future__ import annotations

import re

import pytest
import torch

from mhc_kernels.tilelang import gemm_multicast
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.gemm_multicast import build_prenorm_gemm_multicast, cluster_for
from mhc_kernels.tilelang.mid_probes import (TileLangOpMulticast, TileLangOpMulticast64, TileLangOpMulticastAlone,
                                             TileLangOpMulticastChunks)
from test_tilelang_decode import MIXES, N, rec  # noqa: F401  (rec is a fixture)

CLUSTER_SYNC = "tl::cluster_sync();"


@pytest.fixture
def mrec(rec, monkeypatch):
    """rec, recording the multicast kernel's getter too."""
    monkeypatch.setattr(gemm_multicast, "prenorm_gemm_multicast_kernel", rec.getter("prenorm_gemm_multicast"))
    return rec


def _op(backend, tokens: int, hidden: int = 4096, n_splits: int = 16):
    x = torch.zeros(tokens, N * hidden, dtype=torch.bfloat16)
    return backend.prenorm_gemm(x, torch.zeros(MIXES, N * hidden), n_splits)


@pytest.mark.parametrize("tokens, blocks, cluster", [(1, 1, 1), (64, 1, 1), (65, 2, 2), (128, 2, 2), (129, 3, 4),
                                                     (256, 4, 4), (257, 5, 2), (320, 5, 2), (321, 6, 4),
                                                     (448, 7, 4), (704, 11, 4)])
def test_the_cluster_leaves_at_most_a_quarter_of_its_grid_idle(tokens, blocks, cluster):
    assert cluster_for(tokens) == cluster
    grid = -(-blocks // cluster) * cluster
    assert 4 * (grid - blocks) <= grid
    bigger = {1: 2, 2: 4}.get(cluster)
    if bigger:  # the next size up would idle more than a quarter (or the blocks are fewer than it)
        big_grid = -(-blocks // bigger) * bigger
        assert blocks < bigger or 4 * (big_grid - blocks) > big_grid
    assert cluster_for(tokens, largest=2) == min(cluster, 2)
    assert cluster_for(tokens, largest=1) == 1


@pytest.mark.parametrize("tokens, hidden", [(65, 4096), (129, 4096), (256, 4096), (256, 7168), (512, 7168),
                                            (704, 4096)])
def test_the_probe_runs_the_callers_splits_alone_in_its_window(mrec, tokens, hidden):
    backend = TileLangOpMulticast()
    mixes, sqrsum = _op(backend, tokens, hidden)
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)
    assert mrec.names == ["prenorm_gemm_multicast"], mrec.names  # fn3 cached (split_fn patched), no chunk_sum
    name, config, args = mrec.launches[0]
    assert config == (N, hidden, MIXES)
    assert args == [(tokens, N * hidden), (80, N * hidden), (16, tokens, MIXES), (16, tokens)]
    assert mrec.keywords[0] == {"cluster": cluster_for(tokens), "num_stages": 4, "block_k": 128,
                                "early_trigger": backend._early(tokens, "prenorm_gemm")}


@pytest.mark.parametrize("tokens", [64, 705])
def test_outside_its_window_the_probe_is_the_default(mrec, tokens):
    _op(TileLangOpMulticast(), tokens)
    probe = list(zip(mrec.names, mrec.keywords))
    mrec.launches.clear(), mrec.keywords.clear()
    _op(TileLangDecode(), tokens)
    assert probe == list(zip(mrec.names, mrec.keywords)) and "prenorm_gemm_multicast" not in mrec.names


def test_the_control_has_clusters_of_one_and_the_tiles_probe_its_own_tiles(mrec):
    _op(TileLangOpMulticastAlone(), 256)
    _op(TileLangOpMulticast64(), 256)
    assert [kw["cluster"] for kw in mrec.keywords] == [1, 4]
    assert [(kw["block_k"], kw["num_stages"]) for kw in mrec.keywords] == [(128, 4), (64, 8)]


def test_the_chunks_probe_hands_two_chunks_a_split_to_chunk_sum(mrec):
    mixes, sqrsum = _op(TileLangOpMulticastChunks(), 256)
    assert mrec.names == ["prenorm_gemm_multicast", "chunk_sum"]
    assert mrec.launches[0][2][2:] == [(32, 256, MIXES), (32, 256)]  # 16 splits x 2 chunks
    assert mrec.launches[1][2] == [(16, 2, 256, MIXES), (16, 2, 256), (16, 256, MIXES), (16, 256)]
    assert tuple(mixes.shape) == (16, 256, MIXES) and tuple(sqrsum.shape) == (16, 256)


def test_a_split_not_a_whole_number_of_tiles_goes_the_default_way(mrec):
    """K / S must be a multiple of the K tile (times the chunks): at 24 splits of 16 384 columns it is not."""
    x = torch.zeros(256, N * 4096, dtype=torch.bfloat16)
    TileLangOpMulticast().prenorm_gemm(x, torch.zeros(MIXES, N * 4096), 24)
    assert "prenorm_gemm_multicast" not in mrec.names


def test_the_window_and_the_cluster_changes_are_path_boundaries():
    bounds = TileLangOpMulticast().path_boundaries("prenorm_gemm")
    for t in (64, 65, 128, 129, 256, 257, 320, 321, 704, 705):
        assert t in bounds, (t, bounds)
    assert "op_multicast_tokens" in TileLangOpMulticast().provenance()
    assert "op_multicast_tokens" not in TileLangDecode().provenance()


# -- the kernel's sm_90a source ------------------------------------------------------------------------------------

def _source(**kw) -> str:
    import tilelang

    from mhc_kernels.tilelang import _build

    return tilelang.compile(build_prenorm_gemm_multicast(N, 4096, MIXES, True, **kw),
                            target={"kind": "cuda", "arch": "sm_90a"},
                            pass_configs=_build.pass_configs(tma=True, own_pipeline=True)).get_kernel_source()


@pytest.fixture(scope="module")
def cluster4() -> str:
    return _source(cluster=4)


def _body(source: str) -> str:
    return source[source.index("{", source.index("__launch_bounds__")):]


def test_the_first_cta_multicasts_fn3_to_the_whole_cluster(cluster4):
    body = _body(cluster4)
    assert "__launch_bounds__(256, 1)" in cluster4  # a consumer and a producer warpgroup
    # fn3's tile: one multicast (two 64-column boxes) to ranks 0-3 from rank 0; the others load nothing of it
    assert body.count("tl::tma_load_multicast(fn3_desc") == 1 and "(uint16_t)(15)" in body
    assert "tl::block_rank_in_cluster() == 0" in body
    # x's tile: every CTA its own
    assert re.search(r"tl::tma_load\(x_desc", body)
    # every CTA expects both tiles' bytes on its own full barrier (x 64 x 128, fn3 80 x 128 bf16) and arrives once
    assert "expect_transaction(16384)" in body and "expect_transaction(20480)" in body


def test_a_stage_is_freed_by_every_cta_of_the_cluster(cluster4):
    body = _body(cluster4)
    assert all(f"empty[{s}].init(4);" in body for s in range(4))  # four consumers' arrivals a stage
    assert all(f"full[{s}].init(1);" in body for s in range(4))
    consumer = body[body.index("} else {", body.index("tma_load_multicast")):]
    # after a barrier of the 128 consumer threads, thread r arrives on cluster rank r's barrier
    sync = consumer.index("tl::__sync_thread_partial(1, 128);")
    arrive = consumer.index("empty[(i_5 & 3)].arrive(((int)threadIdx.x));")
    assert consumer.index("tl::warpgroup_wait<0>();") < sync < arrive
    assert "if (((int)threadIdx.x) < 4) {" in consumer[sync:arrive]


def test_no_cta_leaves_while_a_peer_may_arrive_on_its_barriers(cluster4):
    body = _body(cluster4)
    assert body.count(CLUSTER_SYNC) == 2  # after the barriers' initialisation, before the exit
    last = body.rindex(CLUSTER_SYNC)
    assert re.search(r"\n  tl::cluster_sync\(\);\n  cudaTriggerProgrammaticLaunchCompletion\(\);\n}", body[last - 3:]), \
        "the last cluster barrier sits inside a branch, or the trigger is not after it"
    assert body.index("fence_barrier_init") < body.index(CLUSTER_SYNC) < body.index("cudaGridDependencySynchronize")


def test_one_wgmma_spans_all_fn3_rows_and_the_epilogue_is_exact_sums(cluster4):
    assert "64, 80, 16" in cluster4  # m64 n80 k16: hi, mid, lo and the zero rows in one instruction
    assert "isfinite" in cluster4 and "atomic" not in cluster4.lower()


def test_clusters_of_one_load_their_own_fn3_and_need_no_cluster_barrier():
    body = _body(_source(cluster=1))
    assert "multicast" not in body and CLUSTER_SYNC not in body
    assert body.count("tl::tma_load(fn3_desc") == 1 and all(f"empty[{s}].init(1);" in body for s in range(4))


# -- the op reading fn in fp32 and splitting it in the kernel (gemm_fn_split.py) --------------------------------------

@pytest.fixture
def frec(rec, monkeypatch):
    """rec, recording the fn-split kernel's getter too."""
    from mhc_kernels.tilelang import gemm_fn_split

    monkeypatch.setattr(gemm_fn_split, "prenorm_gemm_fn_split_kernel", rec.getter("prenorm_gemm_fn_split"))
    return rec


@pytest.mark.parametrize("tokens, hidden", [(65, 4096), (256, 4096), (256, 7168), (704, 7168)])
def test_the_fn_split_probe_takes_fn_in_fp32_on_the_callers_splits(frec, tokens, hidden):
    from mhc_kernels.tilelang.mid_probes import TileLangOpFnSplit

    backend = TileLangOpFnSplit()
    mixes, sqrsum = _op(backend, tokens, hidden)
    assert frec.names == ["prenorm_gemm_fn_split"]  # no split_fn, no chunk_sum
    _, config, args = frec.launches[0]
    assert config == (N, hidden, MIXES)
    assert args == [(tokens, N * hidden), (MIXES, N * hidden), (16, tokens, MIXES), (16, tokens)]
    assert frec.keywords[0] == {"load_stages": 5, "early_trigger": backend._early(tokens, "prenorm_gemm")}
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)


def test_the_fn_split_probe_leaves_fn_it_cannot_load_by_tma_to_the_default(frec, monkeypatch):
    """A non-contiguous fn (a column slice) is not TMA's: the op goes the default's way, fn3 and all (at 256 tokens
    the default's gemm_multicast kernel, recorded too)."""
    from mhc_kernels.tilelang.mid_probes import TileLangOpFnSplit

    monkeypatch.setattr(gemm_multicast, "prenorm_gemm_multicast_kernel", frec.getter("prenorm_gemm_multicast"))
    x = torch.zeros(256, N * 4096, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, 2 * N * 4096)[:, ::2]
    TileLangOpFnSplit().prenorm_gemm(x, fn, 16)
    assert "prenorm_gemm_fn_split" not in frec.names and "prenorm_gemm_multicast" in frec.names
    assert 256 in TileLangOpFnSplit().path_boundaries("prenorm_gemm")


def test_the_fn_split_kernel_splits_in_its_own_warpgroup():
    """Three warpgroups: the producer's TMA loads (x and fn in fp32), the splitter's 16-byte stores of the three
    pieces behind a proxy fence and its own barrier, the consumer's one wgmma over all 80 rows; the stage freed by two
    arrivals (consumer and splitter)."""
    import tilelang

    from mhc_kernels.tilelang import _build
    from mhc_kernels.tilelang.gemm_fn_split import build_prenorm_gemm_fn_split

    source = tilelang.compile(build_prenorm_gemm_fn_split(N, 4096, MIXES, True),
                              target={"kind": "cuda", "arch": "sm_90a"},
                              pass_configs=_build.pass_configs(tma=True, own_pipeline=True)).get_kernel_source()
    body = _body(source)
    assert "__launch_bounds__(384, 1)" in source
    assert re.search(r"tl::tma_load\(fn_desc", body) and re.search(r"tl::tma_load\(x_desc", body)
    assert "fn3" not in body and all(f"empty[{s}].init(2);" in body for s in range(5))
    splitter = body[body.index("if (128 <= ((int)threadIdx.x))"):body.index("tl::fence_proxy_async();")]
    assert splitter.count("__float22bfloat162_rn") >= 1 and splitter.count("*(uint4*)(((bfloat16_t*)b_sh)") >= 4
    after = body[body.index("tl::fence_proxy_async();"):]
    assert after.index("tl::__sync_thread_partial(2, 128);") < after.index("split_full[(i_3 & 1)].arrive();")
    assert "64, 80, 16" in body and "atomic" not in body.lower() and CLUSTER_SYNC not in body


def test_the_own_pipeline_chunks_probe_runs_the_middle_shape_without_clusters(mrec):
    from mhc_kernels.tilelang.mid_probes import TileLangOpOwnPipelineChunks

    _op(TileLangOpOwnPipelineChunks(), 256)
    assert mrec.names == ["prenorm_gemm_multicast", "chunk_sum"] and mrec.keywords[0]["cluster"] == 1
    assert mrec.launches[0][2][2:] == [(32, 256, MIXES), (32, 256)]


# -- fn3 as a weight: its tiles before the PDL wait (gemm_multicast's fn3_first; mid_probes.TileLangOpFn3First*) ------

def _op_twice(backend, tokens: int, hidden: int = 4096):
    """Two calls on one fn: the first launches fn's split (a cold cache), the second finds fn3 cached."""
    x = torch.zeros(tokens, N * hidden, dtype=torch.bfloat16)
    fn = torch.zeros(MIXES, N * hidden)
    return [backend.prenorm_gemm(x, fn, 16) for _ in range(2)]


def test_fn3_goes_before_the_wait_only_where_this_call_did_not_split_fn(mrec):
    from mhc_kernels.tilelang.mid_probes import TileLangOpFn3First

    _op_twice(TileLangOpFn3First(), 256)
    assert mrec.names == ["prenorm_gemm_multicast", "chunk_sum"] * 2
    cold, cold_sum, warm, warm_sum = mrec.keywords
    assert "fn3_first" not in cold and warm["fn3_first"] is True  # the cold call's fn3 is the kernel before's output
    assert cold["cluster"] == warm["cluster"] == 1 and warm["num_stages"] == 4
    assert cold_sum["early_trigger"] is warm_sum["early_trigger"] is True
    assert mrec.launches[2][2][2:] == [(32, 256, MIXES), (32, 256)]  # the middle shape: 16 splits x 2 chunks


def test_the_late_sum_probe_keeps_chunk_sums_trigger_at_its_end(mrec):
    from mhc_kernels.tilelang.mid_probes import TileLangOpFn3FirstLateSum

    _op_twice(TileLangOpFn3FirstLateSum(), 256)
    assert mrec.keywords[2]["fn3_first"] is True and "early_trigger" not in mrec.keywords[3]


def test_the_plain_window_probe_runs_five_stages_on_the_callers_splits(mrec):
    from mhc_kernels.tilelang.mid_probes import TileLangOpPlainFn3First

    _op_twice(TileLangOpPlainFn3First(), 256)
    assert mrec.names == ["prenorm_gemm_multicast"] * 2  # no chunk_sum
    assert mrec.keywords[1] == {"cluster": 1, "num_stages": 5, "block_k": 128, "fn3_first": True,
                                "early_trigger": TileLangOpPlainFn3First()._early(256, "prenorm_gemm")}
    _op_twice(TileLangOpPlainFn3First(), 128)  # below its window: the default's middle GEMM
    assert "prenorm_gemm_multicast" not in mrec.names[2:]
    # a probe's provenance names the knobs it sets apart from the default's; the default's names none of them
    assert {"op_multicast_tokens", "op_multicast_stages", "op_multicast_chunks"} <= set(
        TileLangOpPlainFn3First().provenance())
    assert "op_multicast_fn3_first" in TileLangOpMulticast().provenance()
    assert not any(key.startswith("op_multicast") for key in TileLangDecode().provenance())


def test_fn3_first_needs_clusters_of_one_and_pdl():
    with pytest.raises(AssertionError):
        build_prenorm_gemm_multicast(N, 4096, MIXES, True, cluster=2, fn3_first=True)
    with pytest.raises(AssertionError):
        build_prenorm_gemm_multicast(N, 4096, MIXES, False, cluster=1, fn3_first=True)


def test_the_producer_loads_the_first_stages_fn3_before_its_wait_and_x_after():
    body = _body(_source(cluster=1, fn3_first=True, early_trigger=True))
    wait = body.index("cudaGridDependencySynchronize();")
    before, after = body[:wait], body[wait:]
    assert body.count("cudaGridDependencySynchronize();") == 1  # every thread waits, the consumers before any write
    # before the wait: the producer's fn3 tiles of stages 0 .. min(tiles, 4) - 1 on their full barriers, no x
    assert re.search(r"for \(int i = 0; i < min\(.*, 4\); \+\+i\)", before)
    assert "tl::tma_load(fn3_desc, full[i]" in before and "x_desc, full" not in before
    assert "full[i].expect_transaction(20480);" in before and "arrive" not in before
    # after it: x for every tile; fn3 only from the fifth tile on; one arrival a stage
    assert "tl::tma_load(x_desc" in after and "expect_transaction(16384)" in after
    fn3_late = after.index("tl::tma_load(fn3_desc")
    assert re.search(r"if \(4 <= i_\d+\) \{", after[:fn3_late])
    assert after.index("cudaTriggerProgrammaticLaunchCompletion();") < after.index("tl::tma_load(x_desc")
    assert "mixes_partial[" not in before and "sqrsum_partial[" not in before


def test_chunk_sum_triggers_right_after_its_wait_when_asked():
    import tilelang

    from mhc_kernels.tilelang.gemm import build_chunk_sum

    def source(**kw):
        return tilelang.compile(build_chunk_sum(MIXES, 2, True, loads_first=True, **kw),
                                target={"kind": "cuda", "arch": "sm_90a"}).get_kernel_source()

    early, late = source(early_trigger=True), source()
    for src in (early, late):
        assert src.count("cudaTriggerProgrammaticLaunchCompletion();") == 1
    assert re.search(r"cudaGridDependencySynchronize\(\);\s*cudaTriggerProgrammaticLaunchCompletion\(\);", early)
    assert early.index("cudaTriggerProgrammaticLaunchCompletion();") < early.index("mixes_partial[")
    assert late.index("cudaTriggerProgrammaticLaunchCompletion();") > late.rindex("sqrsum_partial[")


@pytest.mark.parametrize("backend_name", ["TileLangOpFn3FirstWindow", "TileLangDecode"])
@pytest.mark.parametrize("tokens, ours", [(128, False), (129, True), (256, True), (257, False)])
def test_the_window_probe_and_the_default_run_fn3_first_at_129_to_256_tokens_only(mrec, tokens, ours, backend_name):
    """The default since the thirty-third session is the window probe's op (its gate: results/gpu/
    2026-12-07-h100-engines-30)."""
    from mhc_kernels.tilelang import mid_probes

    backend = getattr(mid_probes, backend_name, TileLangDecode)()
    _op_twice(backend, tokens)
    warm = list(zip(mrec.names, mrec.keywords))[len(mrec.names) // 2:]
    assert (warm[0][0] == "prenorm_gemm_multicast") is ours, warm  # the warm call's first launch
    if ours:
        assert warm[0][1]["fn3_first"] is True
        assert warm[1] == ("chunk_sum", {"loads_first": True, "early_trigger": True})


# -- the thirty-third session's squares under the wgmmas and register epilogue ----------------------------------------

def _consumer_loop(src: str) -> str:
    """The consumers' K-tile loop: from their wait on a full barrier to their arrival on the stage's empty one."""
    start = src.index(".wait(", src.index("full[(i_"))
    return src[start:src.index("].arrive();", src.index("empty[(i_", start))]


def test_overlapped_squares_run_between_the_wgmmas_issue_and_their_wait():
    loop = _consumer_loop(_body(_source(cluster=1, fn3_first=True, early_trigger=True, overlap_squares=True)))
    issue, squares, wait = (loop.index("tl::wgmma_ss<"), loop.index("x_sh_local_cast"), loop.index("tl::wait_wgmma<0>"))
    assert issue < loop.index("tl::warpgroup_commit_batch();") < squares < wait
    assert "warpgroup_wait<0>" not in loop
    before = _consumer_loop(_body(_source(cluster=1, fn3_first=True, early_trigger=True)))
    assert before.index("x_sh_local_cast") < before.index("tl::wgmma_ss<") < before.index("warpgroup_wait<0>")
    # the same squares, the same wgmmas: only their order of issue differs
    assert loop.count("tl::wgmma_ss<") == before.count("tl::wgmma_ss<") == 1  # one unrolled loop of eight k16 steps
    squares_of = [re.findall(r"__2\.\w = \(__3\.\w\*__4\.\w\);", x) for x in (loop, before)]
    assert squares_of[0] == squares_of[1] and len(squares_of[0]) == 4


def test_the_register_epilogue_adds_a_mixes_three_pieces_from_the_accumulator():
    src = _body(_source(cluster=1, fn3_first=True, early_trigger=True, direct_epilogue=True))
    epilogue = src[src.rindex("empty[(i_"):]
    assert "c_sh" not in epilogue  # no round trip through shared memory
    # hi, hi + mid, then + lo: columns j, M + j (12 registers on) and 2M + j (24 on) of the thread's fragment
    assert re.search(r"= \(v__\d+\.x\+v__\d+\.x\);", epilogue) and "*(float4*)(acc + ((i_" in epilogue
    assert re.search(r"condval = \(sum_f\[i_\d+\] \+ acc\[\(i_\d+ \+ 24\)\]\);", epilogue)
    assert re.search(r"if \(isfinite\(hi_f\[i_\d+\]\)\)", epilogue)
    assert epilogue.count("mixes_partial[") == 1 and epilogue.count("sqrsum_partial[") == 1


@pytest.mark.parametrize("backend_name, variant", [("TileLangDecode", {"overlap_squares": True,
                                                                        "direct_epilogue": True}),
                                                    ("TileLangOpEpilogueBefore", {}), ("TileLangOpFn3First", {}),
                                                    ("TileLangOpDirectEpilogueOnly", {"direct_epilogue": True})])
def test_the_default_runs_the_overlapped_squares_and_register_epilogue_and_the_controls_do_not(mrec, backend_name,
                                                                                             variant):
    from mhc_kernels.tilelang import mid_probes

    backend = getattr(mid_probes, backend_name)()
    _op_twice(backend, 256)
    kws = [kw for name, kw in zip(mrec.names, mrec.keywords) if name == "prenorm_gemm_multicast"]
    assert len(kws) == 2
    for kw in kws:
        assert {k: kw[k] for k in ("overlap_squares", "direct_epilogue") if k in kw} == variant
    assert backend.multicast_variant() == variant
