"""The nineteenth session's decode probes (mid_probes): TileLangPreCluster (decode_pre, without the RMSNorm
weight, as one thread-block cluster per token: decode.build_decode_pre_cluster), TileLangDecodeGemmTma (the
tensor-core decode GEMM on TMA loads) and TileLangDecodeGemmOneTile (that GEMM on one 256-column K tile). On
the CPU: the generated CUDA (sm_90a), which calls take them (launches recorded, nothing computed), and that
the precompile has every launch. Their outputs against the default's are GPU checks
(scripts/debug/probe_bitwise_check.py; tests/test_tilelang_gpu_bits.py for the cluster pre)."""

import re

import pytest
import torch

from mhc_kernels.tilelang import _build, decode, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangDecodeGemmOneTile, TileLangDecodeGemmTma, TileLangFma512,
                                             TileLangFma1024, TileLangMidHalfWave, TileLangNineteenth,
                                             TileLangOpPlainTma, TileLangPreCluster, TileLangPreCluster2,
                                             TileLangPreClusterGemmTma)
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)
from test_tilelang_pdl_early import SYNC, TRIGGER, _source

CLUSTER_SYNC = "tl::cluster_sync();"


@pytest.fixture
def crec(rec):
    """rec (which records decode_pre_cluster's getter too)."""
    return rec


def _cluster_source(hidden: int, parts: int, **kw) -> str:
    return _source(lambda: decode.build_decode_pre_cluster(N, hidden, parts, True, **kw))


def _body(source: str) -> str:
    return source[source.index("{", source.index("__launch_bounds__")):]


@pytest.mark.parametrize("hidden, collapse_ctas", [(7168, 7), (4096, 4)])
def test_the_cluster_pre_hands_the_pre_weights_across_one_barrier(hidden, collapse_ctas):
    """One cluster barrier, outside every branch (.aligned: every thread of every CTA reaches it), after the
    PDL wait; the mix CTA (the last) writes the pre weights before it and alone sums the parts; the
    collapse CTAs read them after it; Sinkhorn after it, in the mix CTA."""
    body = _body(_cluster_source(hidden, 112 if hidden == 7168 else 64, prefetch_residual=True,
                                 sinkhorn_layout="gather_rcp", early_constants=True))
    assert body.count(CLUSTER_SYNC) == 1 and body.count(SYNC) == 1 and body.count(TRIGGER) == 1
    barrier = body.index(CLUSTER_SYNC)
    assert body.index(SYNC) < barrier
    # at the top level: as many braces open before the barrier as close (two spaces of indent)
    assert re.search(r"\n  tl::cluster_sync\(\);", body), "the barrier sits inside a branch"
    before, after = body[:barrier], body[barrier:]
    assert "pre_weights[" in before and "] = " in before[before.index("pre_weights["):][:200]
    assert "= pre_weights[" in after and "= pre_weights[" not in before
    assert "mixes_partial[" in before and "mixes_partial[" not in after  # the sums, before the barrier only
    assert f"blockIdx.x) == {collapse_ctas}" in before and f"blockIdx.x) < {collapse_ctas}" in after
    assert "__shfl_xor_sync" in after and "__shfl_xor_sync" not in before  # Sinkhorn after the barrier
    assert "atomic" not in body.lower()


def test_the_cluster_pre_sums_every_part_in_decode_pres_groups():
    """The mix CTA's sums are decode_pre's: 4 groups of 28 unrolled loads at 112 parts, all M lanes."""
    source = _cluster_source(7168, 112)
    assert re.search(r"for \(int i = 0; i < 28; \+\+i\)", source)
    # the cluster launch: one cluster of 8 CTAs a token (7 collapse CTAs of 1024 columns and the mix CTA)
    assert "cluster" in source


def test_where_the_cluster_does_not_fit():
    assert decode.cluster_fits(7168) and decode.cluster_fits(4096) and decode.cluster_fits(1024)
    assert not decode.cluster_fits(9216)  # 9 collapse CTAs of 1024 columns and the mix CTA: 10 > 8
    assert not decode.cluster_fits(64) and not decode.cluster_fits(1536)  # not whole 1024-column blocks
    with pytest.raises(ValueError, match="exceed a cluster"):
        decode.build_decode_pre_cluster(N, 9216, 72, True)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [1, 16, 32])
def test_the_cluster_probe_runs_the_cluster_pre_without_norm(crec, hidden, tokens):
    post, comb, li = TileLangPreCluster().mhc_pre(*_pre_args(tokens, hidden))
    name, config, args = crec.launches[-1]
    assert name == "decode_pre_cluster" and "decode_pre" not in crec.names
    assert config == (N, hidden, decode.decode_parts(N, hidden))
    assert args[8] == (tokens, N)  # the pre weights' scratch, the call's own
    kw = crec.keywords[-1]
    assert kw["sinkhorn_layout"] == TileLangPreCluster.sinkhorn_layout and "narrow_sums" not in kw
    assert tuple(post.shape) == (tokens, N, 1) and tuple(comb.shape) == (tokens, N, N)
    assert tuple(li.shape) == (tokens, hidden)


def test_the_cluster_probe_keeps_decode_pre_with_norm_and_where_no_cluster_fits(crec):
    TileLangPreCluster().mhc_pre(*_pre_args(32, 7168, norm=True))
    assert crec.names[-2:] == ["decode_pre", "decode_norm"]
    crec.launches.clear()
    TileLangPreCluster().mhc_pre(*_pre_args(32, 9216))
    assert crec.names[-1] == "decode_pre"


def test_the_default_runs_the_split_cluster_pre_and_the_one_before_decode_pre(crec):
    from mhc_kernels.tilelang.mid_probes import TileLangDecode18

    TileLangDecode().mhc_pre(*_pre_args(32, 7168))
    assert crec.names[-1] == "decode_pre_cluster" and crec.keywords[-1]["split_arrive"] is True
    crec.launches.clear()
    TileLangDecode18().mhc_pre(*_pre_args(32, 7168))
    assert crec.names[-1] == "decode_pre" and "decode_pre_cluster" not in crec.names


def test_the_cluster_probe_takes_fused_post_pres_and_the_pre_big_fuse_ops_decode_pre(crec):
    probe = TileLangPreCluster()
    residual = torch.zeros(8, N, 7168, dtype=torch.bfloat16)
    probe.fused_post_pre(torch.zeros(8, 7168, dtype=torch.bfloat16), residual, torch.zeros(8, N, 1),
                         torch.zeros(8, N, N), *_pre_args(8, 7168)[1:])
    assert crec.names[-1] == "decode_pre_cluster"
    crec.launches.clear()
    probe.pre_big_fuse(torch.zeros(16, 8, MIXES), torch.ones(16, 8), torch.ones(3), torch.zeros(MIXES), residual,
                       None, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6)
    assert crec.names == ["decode_pre_cluster"] and crec.launches[0][1] == (N, 7168, 16)


@pytest.mark.parametrize("tokens, tma", [(8, False), (16, False), (17, True), (32, True)])
def test_the_tma_probe_takes_the_tensor_core_decode_gemm_only(crec, tokens, tma):
    TileLangDecodeGemmTma().mhc_pre(*_pre_args(tokens, 7168))
    kws = [kw for (name, _, _), kw in zip(crec.launches, crec.keywords) if name == "prenorm_gemm"]
    if tma:
        assert len(kws) == 1 and kws[0].get("tma") is True and kws[0]["block_k"] == decode.DECODE_BLOCK_K
    else:
        assert not kws and crec.names[0] == "decode_gemm"


def test_the_one_tile_probe_runs_256_column_tiles(crec):
    TileLangDecodeGemmOneTile().mhc_pre(*_pre_args(32, 7168))
    TileLangDecodeGemmOneTile().mhc_pre(*_pre_args(32, 4096))
    kws = [kw for (name, _, _), kw in zip(crec.launches, crec.keywords) if name == "prenorm_gemm"]
    assert [kw["block_k"] for kw in kws] == [256, 256] and not any(kw.get("tma") for kw in kws)
    crec.launches.clear(), crec.keywords.clear()
    TileLangDecode().mhc_pre(*_pre_args(32, 7168))
    assert [kw["block_k"] for (name, _, _), kw in zip(crec.launches, crec.keywords)
            if name == "prenorm_gemm"] == [decode.DECODE_BLOCK_K]


def test_the_combined_probe_takes_both(crec):
    TileLangPreClusterGemmTma().mhc_pre(*_pre_args(32, 7168))
    assert crec.names[-1] == "decode_pre_cluster"
    assert [kw.get("tma") for (name, _, _), kw in zip(crec.launches, crec.keywords) if name == "prenorm_gemm"] == [True]


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_precompile_has_every_launch_of_the_new_probes(crec, hidden):
    """Every decode_pre_cluster and one-tile GEMM launch of the probes at 1-32 tokens (mhc_pre with its PDL
    early prefetch, fused_post_pre, the pre_big_fuse op on the benchmark's 16 splits) is a precompile job,
    and the TMA probe's GEMMs are tma_jobs'."""
    jobs = {(j[1].split(".")[-1].removesuffix("_kernel"), j[2], tuple(sorted(j[3].items())))
            for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}
    def target_free(config):  # the recorder keeps what follows the target (gemm's ``planted``, None)
        return tuple(c for c in config if c is not None and not isinstance(c, _build.Target))

    for probe in (TileLangPreCluster(), TileLangDecodeGemmOneTile(), TileLangDecodeGemmTma(), TileLangPreCluster2(),
                  TileLangFma512(), TileLangFma1024(), TileLangNineteenth()):
        for tokens in (1, 16, 17, 32):
            crec.launches.clear(), crec.keywords.clear()
            probe.mhc_pre(*_pre_args(tokens, hidden))
            residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
            probe.fused_post_pre(torch.zeros(tokens, hidden, dtype=torch.bfloat16), residual,
                                 torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), *_pre_args(tokens, hidden)[1:])
            probe.pre_big_fuse(torch.zeros(16, tokens, MIXES), torch.ones(16, tokens), torch.ones(3),
                               torch.zeros(MIXES), residual, None, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6)
            for (name, config, _), kw in zip(crec.launches, crec.keywords):
                if name in ("decode_pre_cluster", "prenorm_gemm", "decode_gemm"):
                    assert (name, target_free(config), tuple(sorted(kw.items()))) in jobs, \
                        (type(probe).__name__, tokens, name, config, kw)


def _op(backend, tokens: int, hidden: int, n_splits: int = 16):
    x = torch.zeros(tokens, N * hidden, dtype=torch.bfloat16)
    return backend.prenorm_gemm(x, torch.zeros(MIXES, N * hidden), n_splits)


@pytest.mark.parametrize("tokens, plain", [(128, False), (129, True), (256, True), (1024, True), (1025, False)])
def test_the_plain_tma_op_runs_the_callers_splits_alone(crec, tokens, plain):
    from mhc_kernels.tilelang.mid_probes import TileLangOpPlainTma

    mixes, sqrsum = _op(TileLangOpPlainTma(), tokens, 4096)
    assert tuple(mixes.shape) == (16, tokens, MIXES) and tuple(sqrsum.shape) == (16, tokens)
    if plain:
        assert crec.names == ["prenorm_gemm"], crec.names  # no chunk_sum
        (kw,) = crec.keywords
        assert kw["tma"] is True and kw["num_stages"] == 4 and kw["early_trigger"] is True
        assert crec.launches[0][2][2:] == [(16, tokens, MIXES), (16, tokens)]
    else:  # the default's op: the middle GEMM (+ chunk_sum) at 128, the base op (3 stages) from 1025
        assert not any(kw.get("num_stages") == 4 for kw in crec.keywords), crec.keywords


@pytest.mark.parametrize("hidden", [7168, 4096])
def test_precompile_has_the_plain_tma_ops_launches(crec, hidden):
    from mhc_kernels.tilelang.mid_probes import TileLangOpPlainTma

    jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden)
            if j[1] == "gemm.prenorm_gemm_kernel"}
    for tokens in (129, 256, 512, 1024):
        crec.launches.clear(), crec.keywords.clear()
        _op(TileLangOpPlainTma(), tokens, hidden)
        (_, config, _), = crec.launches
        assert (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)),
                tuple(sorted(crec.keywords[0].items()))) in jobs, tokens


def test_the_split_barrier_releases_from_warp_1_and_lets_sinkhorn_go():
    """TileLangPreCluster2's kernel (split_arrive): no cluster_sync; the mix CTA's warp 1 writes the pre weights
    and arrives with release, its other warps arrive relaxed, none waits; the collapse CTAs arrive relaxed and
    wait before they read the pre weights; the pre weights' expression is warp 0's in the plain kernel."""
    split = _body(_cluster_source(7168, 112, prefetch_residual=True, sinkhorn_layout="gather_rcp",
                                  early_constants=True, split_arrive=True))
    assert CLUSTER_SYNC not in split
    assert split.count("tl::cluster_arrive();") == 1 and split.count("tl::cluster_arrive_relaxed();") == 2
    assert split.count("tl::cluster_wait();") == 1
    write = split.index("pre_weights[(")
    arrive = split.index("tl::cluster_arrive();")
    wait = split.index("tl::cluster_wait();")
    assert write < arrive < wait < split.index("= pre_weights[")
    assert re.search(r"if \(\(\(int\)threadIdx.x\) >> 5\) == 1\)|\(\(int\)threadIdx.x\) >> 5\) == 1", split), \
        "warp 1 alone releases"
    assert "zp = (((mp * ((float*)rstd)[0]) * pre_consts[0]) + pre_consts[1]);" in split
    plain = _body(_cluster_source(7168, 112, prefetch_residual=True, sinkhorn_layout="gather_rcp",
                                  early_constants=True))
    assert "z = (((m * ((float*)rstd)[0]) * consts[0]) + consts[1]);" in plain


def test_the_split_probe_passes_split_arrive(crec):
    TileLangPreCluster2().mhc_pre(*_pre_args(32, 7168))
    assert crec.names[-1] == "decode_pre_cluster" and crec.keywords[-1]["split_arrive"] is True


@pytest.mark.parametrize("probe, threads", [(TileLangFma512, 512), (TileLangFma1024, 1024)])
def test_the_fma_probes_take_17_to_32_tokens(crec, probe, threads):
    for tokens, want in ((16, {"block_t": 16}), (17, {"block_t": 32, "threads": threads}),
                         (32, {"block_t": 32, "threads": threads})):
        crec.launches.clear(), crec.keywords.clear()
        probe().mhc_pre(*_pre_args(tokens, 7168))
        assert crec.names[0] == "decode_gemm" and "prenorm_gemm" not in crec.names, (tokens, crec.names)
        kw = crec.keywords[0]
        assert {k: kw[k] for k in want} == want and kw.get("threads", 256) == want.get("threads", 256)
        assert kw["fn_before_wait"] is True


def test_the_half_wave_probe_halves_the_middle_ranges(crec):
    import mhc_kernels.tilelang.backend as be

    device = torch.device("cpu")
    assert be._SM_COUNT["cpu"] == 132
    default, half = TileLangDecode(), TileLangMidHalfWave()
    for tokens, hidden, want, was in ((1024, 4096, 16, 32), (512, 4096, 32, 64), (1024, 7168, 14, 28),
                                      (512, 7168, 28, 56)):
        assert default.mid_parts(tokens, N, hidden, device, "mhc_pre") == was
        assert half.mid_parts(tokens, N, hidden, device, "mhc_pre") == want
    half.mhc_pre(*_pre_args(1024, 4096))
    assert crec.launches[0][2][2] == (16, 1024, MIXES)  # the GEMM's partials: 16 ranges


def test_precompile_has_the_half_wave_probes_middle_counts(crec):
    """The half wave's K-range counts are among mid_jobs' (every count mid_parts can take)."""
    device = torch.device("cpu")
    for hidden in (4096, 7168):
        counts = set(precompile._mid_part_counts(hidden))
        for tokens in (33, 64, 128, 256, 512, 768, 1024, 2048, 4096):
            for op in ("mhc_pre", "fused_post_pre", "hc_head"):
                assert TileLangMidHalfWave().mid_parts(tokens, N, hidden, device, op) in counts, (hidden, tokens, op)


def test_the_gate_probe_has_every_candidate():
    probe = TileLangNineteenth
    assert probe.decode_pre_cluster and probe.decode_pre_cluster_split_arrive
    assert probe.decode_gemm_plan == TileLangFma512.decode_gemm_plan and probe.mid_waves == 0.5
    assert probe.op_plain_tma_tokens == TileLangOpPlainTma.op_plain_tma_tokens


@pytest.mark.parametrize("hidden", [4096, 7168])
@pytest.mark.parametrize("tokens, parts, deep", [(384, None, False), (385, 16, True), (512, 16, True), (1024, 8, True),
                                                 (1025, None, False)])
def test_the_deep_shape_probe_takes_deepgemms_shape_at_385_to_1024(crec, hidden, tokens, parts, deep):
    """mid_probes.TileLangMidDeepShape: mhc_pre's middle GEMM on 64-token blocks, TMA, 4 stages, the most K
    ranges keeping one CTA per SM on 132 SMs (16 at 512 tokens, 8 at 1024), the fused pre on them; each launch
    a precompile job; the default's path elsewhere."""
    from mhc_kernels.tilelang.mid_probes import TileLangMidDeepShape

    TileLangMidDeepShape().mhc_pre(*_pre_args(tokens, hidden))
    gemm_kw = [kw for (name, _, _), kw in zip(crec.launches, crec.keywords) if name == "prenorm_gemm"]
    gemm_args = [a for name, _, a in crec.launches if name == "prenorm_gemm"]
    if deep:
        assert crec.names == ["prenorm_gemm", "pre_big_fuse_overlap"], crec.names
        assert gemm_kw[0]["tma"] is True and gemm_kw[0]["num_stages"] == 4 and gemm_kw[0]["block_k"] == 128
        assert crec.launches[0][1][3] == 64 and gemm_args[0][2] == (parts, tokens, MIXES)
        assert crec.keywords[1]["parts"] == parts
        jobs = {(j[2], tuple(sorted(j[3].items()))) for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}
        for (name, config, _), kw in zip(crec.launches, crec.keywords):
            key = (tuple(c for c in config if c is not None and not isinstance(c, _build.Target)),
                   tuple(sorted(kw.items())))
            assert key in jobs, (name, key)
    else:
        crec_default = list(crec.names)
        crec.launches.clear(), crec.keywords.clear()
        TileLangDecode().mhc_pre(*_pre_args(tokens, hidden))
        assert crec.names == crec_default and not any(kw.get("num_stages") == 4 for kw in gemm_kw)
