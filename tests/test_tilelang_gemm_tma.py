"""The prenorm GEMM on TMA loads and a producer warpgroup (TileLangBackend.gemm_tma, the probe
mid_probes.TileLangGemmTma): which launches take it (recorded as in test_tilelang_decode.py, nothing
computed), where it must not (a misaligned x, a non-CUDA target), that precompile covers it, and what
the generated CUDA changes (TileLang on the CPU, sm_90a): the loads, not the arithmetic. That its
outputs are bitwise the default's is a GPU check (scripts/debug/probe_bitwise_check.py,
results/gpu/2026-12-05-h200-engines-8/lease/call4.sh)."""

import re

import pytest
import torch

from mhc_kernels.tilelang import _build
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangDecode19, TileLangGemmTma
from test_tilelang_decode import MIXES, N, _pre_args, rec  # noqa: F401  (rec is a fixture)

H = 4096


def _gemm_keywords(rec):
    return [kw for (name, _, _), kw in zip(rec.launches, rec.keywords) if name == "prenorm_gemm"]


@pytest.mark.parametrize("tokens", [17, 64, 512, 1024, 4096])  # 17: the plan's first "wgmma" count
def test_every_mhc_pre_gemm_of_the_probe_takes_tma(rec, tokens):
    """The decode path's tensor-core GEMM (the plan's "wgmma" rows), the middle path's, the default
    fused pre's above it: all on gemm.prenorm_gemm_kernel, all with tma; the default's without (the default it
    was measured against: TileLangDecode19, whose middle GEMM at 385-1024 tokens is not the deep shape's TMA)."""
    TileLangGemmTma().mhc_pre(*_pre_args(tokens, H))
    TileLangDecode19().mhc_pre(*_pre_args(tokens, H))
    probe, default = _gemm_keywords(rec)
    assert probe.get("tma") is True and "tma" not in default
    assert {k: v for k, v in probe.items() if k != "tma"} == default, "nothing else changes"


@pytest.mark.parametrize("tokens", [64, 256, 65536])
def test_the_probes_op_takes_tma(rec, tokens):
    x = torch.zeros(tokens, N * H, dtype=torch.bfloat16)
    TileLangGemmTma().prenorm_gemm(x, torch.zeros(MIXES, N * H), 16 if tokens <= 1024 else 1)
    assert [kw.get("tma") for kw in _gemm_keywords(rec)] == [True]


def test_a_misaligned_x_keeps_the_cp_async_kernel(rec):
    """TMA needs 16-byte aligned global addresses; a view 2 bytes into its storage is not."""
    storage = torch.zeros(64 * N * H + 1, dtype=torch.bfloat16)
    x = storage[1:].view(64, N * H)
    assert x.data_ptr() % 16 != 0
    backend = TileLangGemmTma()
    backend.prenorm_gemm(x, torch.zeros(MIXES, N * H), 16)
    backend.prenorm_gemm(storage[:-1].view(64, N * H), torch.zeros(MIXES, N * H), 16)
    assert [kw.get("tma", False) for kw in _gemm_keywords(rec)] == [False, True]
    assert any(",tma]" in label for label in backend.calls) and any(",tma]" not in label for label in backend.calls)


def test_tma_needs_a_cuda_target():
    with pytest.raises(ValueError, match="CUDA target"):
        _build.compile_cached("prenorm_gemm", ("x",), lambda: None, _build.Target("hip", "gfx942", False), tma=True)


def test_pass_configs_turn_on_both_or_neither():
    import tilelang

    key = tilelang.PassConfigKey
    assert _build.pass_configs() == {key.TL_DISABLE_WARP_SPECIALIZED: True, key.TL_DISABLE_TMA_LOWER: True}
    assert _build.pass_configs(tma=True) == {key.TL_DISABLE_WARP_SPECIALIZED: False, key.TL_DISABLE_TMA_LOWER: False}


def test_precompile_covers_the_probe(rec):
    from mhc_kernels.tilelang import precompile

    for hidden in (4096, 7168):
        jobs = {(args, tuple(sorted(kw.items()))) for _, getter, args, kw in precompile.probe_jobs(hidden)
                if getter == "gemm.prenorm_gemm_kernel" and kw.get("tma")}
        for tokens in (1, 16, 64, 256, 1024, 4096):
            rec.launches.clear(), rec.keywords.clear()
            TileLangGemmTma().mhc_pre(*_pre_args(tokens, hidden))
            TileLangGemmTma().hc_head(*_pre_args(tokens, hidden)[:1], torch.zeros(N, N * hidden), torch.ones(1),
                                      torch.zeros(N), 1e-6, 1e-6)
            for (name, config, _), kw in zip(rec.launches, rec.keywords):
                if name == "prenorm_gemm":  # config: (n, H, M, block_m, then the target)
                    assert (tuple(config[:4]), tuple(sorted(kw.items()))) in jobs, (hidden, tokens, config, kw)


def test_the_generated_cuda_changes_the_loads_only():
    """64-token blocks, 128-wide K tiles: the TMA kernel loads each tile with two TMA copies (x and
    fn3) onto mbarriers and no cp.async; its wgmma instructions and its sum-of-squares tree are the
    cp.async kernel's, and so are the epilogue's combine of the three fn pieces."""
    from mhc_kernels.tilelang.gemm import prenorm_gemm_kernel

    target = _build.explicit_target()
    tunables = {"block_k": 128, "num_stages": 2, "threads": 128}
    plain = prenorm_gemm_kernel(N, 256, MIXES, 64, target, **tunables).get_kernel_source()
    tma = prenorm_gemm_kernel(N, 256, MIXES, 64, target, tma=True, **tunables).get_kernel_source()
    assert tma.count("tl::tma_load(x_desc") == 1 and tma.count("tl::tma_load(fn3_desc") == 1
    assert "cp_async" not in tma and "cp_async" in plain

    def lines_with(source, marker):
        return sorted({line.strip() for line in source.splitlines() if marker in line})

    # the same wgmma instruction (shape, types, layouts); the cp.async kernel's software pipeline
    # issues it from two loops (steady state and drain), the TMA kernel's consumers from one
    wgmma = sorted(set(re.findall(r"tl::wgmma_ss<[^>]*>", plain)))
    assert wgmma == sorted(set(re.findall(r"tl::wgmma_ss<[^>]*>", tma))) and len(wgmma) == 1, wgmma
    marker = "(lanes[0] + lanes[1])"
    assert lines_with(plain, marker) and lines_with(tma, marker) == lines_with(plain, marker)
    # the epilogue's (hi + mid) + lo (its indices differ: the consumers are threads 128 .. 255)
    combine = re.compile(r"condval = \(\(\(\(float\*\)c_sh\)\[.*?\] \+ \(\(float\*\)c_sh\)\[.*?\+ 24\)\]\) "
                         r"\+ \(\(float\*\)c_sh\)\[.*?\+ 48\)\]\);")
    assert combine.search(plain) and combine.search(tma)


@pytest.mark.parametrize("tokens, pre_kernel", [(17, "decode_pre"), (64, "pre_big_fuse_overlap")])
def test_the_combined_probe_runs_both(rec, tokens, pre_kernel):
    from mhc_kernels.tilelang.mid_probes import TileLangTmaGather

    TileLangTmaGather().mhc_pre(*_pre_args(tokens, H))
    assert [kw.get("tma") for kw in _gemm_keywords(rec)] == [True]
    assert [kw.get("sinkhorn_layout") for (name, _, _), kw in zip(rec.launches, rec.keywords)
            if name == pre_kernel] == ["gather"]


@pytest.mark.parametrize("tokens, splits, want_tma", [(256, 16, False), (1024, 16, False), (1025, 8, True),
                                                      (4096, 4, True), (65536, 1, True)])
def test_the_op_tma_probe_takes_tma_from_1025_tokens(rec, tokens, splits, want_tma):
    """TileLangOpTma: the op's GEMM on TMA on the base path only (from op_gemm_tma_from_tokens), the
    middle path below it on cp.async; its mhc_pre GEMMs never."""
    from mhc_kernels.tilelang.mid_probes import TileLangOpTma

    backend = TileLangOpTma()
    backend.prenorm_gemm(torch.zeros(tokens, N * H, dtype=torch.bfloat16), torch.zeros(MIXES, N * H), splits)
    assert [kw.get("tma", False) for kw in _gemm_keywords(rec)] == [want_tma]
    rec.launches.clear(), rec.keywords.clear()
    backend.mhc_pre(*_pre_args(min(tokens, 4096), H))
    assert not any(kw.get("tma") for kw in _gemm_keywords(rec))
    assert backend.provenance()["op_gemm_tma_from_tokens"] == 1025


def test_the_gather_op_tma_candidate_runs_both(rec):
    from mhc_kernels.tilelang.mid_probes import TileLangGatherOpTma

    backend = TileLangGatherOpTma()
    backend.prenorm_gemm(torch.zeros(4096, N * H, dtype=torch.bfloat16), torch.zeros(MIXES, N * H), 4)
    backend.mhc_pre(*_pre_args(17, H))  # its decode GEMM on gemm.py's kernel (the plan's "wgmma" row)
    assert [kw.get("tma", False) for kw in _gemm_keywords(rec)] == [True, False]
    assert [kw.get("sinkhorn_layout") for (name, _, _), kw in zip(rec.launches, rec.keywords)
            if name == "decode_pre"] == ["gather"]


def test_precompile_covers_the_op_tma_probe(rec):
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangOpTma

    for hidden in (4096, 7168):
        jobs = {(args, tuple(sorted(kw.items()))) for _, getter, args, kw in precompile.probe_jobs(hidden)
                if getter == "gemm.prenorm_gemm_kernel" and kw.get("tma")}
        for tokens, splits in ((1025, 8), (1536, 8), (4096, 4), (65536, 1), (80000, 1)):
            rec.launches.clear(), rec.keywords.clear()
            TileLangOpTma().prenorm_gemm(torch.zeros(tokens, N * hidden, dtype=torch.bfloat16),
                                         torch.zeros(MIXES, N * hidden), splits)
            assert _gemm_keywords(rec), "the op launched no prenorm GEMM"
            for (name, config, _), kw in zip(rec.launches, rec.keywords):
                if name == "prenorm_gemm":
                    assert kw.get("tma") and (tuple(config[:4]), tuple(sorted(kw.items()))) in jobs, (hidden, tokens)


def test_the_ops_tma_wish_reaches_its_cluster_summed_gemm(rec):
    """op_gemm_tma_from_tokens holds on every middle-path GEMM of the op, the cluster-summed one too."""
    from mhc_kernels.tilelang.mid_probes import TileLangGemmOpCluster

    class ClusterTmaFrom64(TileLangGemmOpCluster):
        op_gemm_tma_from_tokens = 64

    backend = ClusterTmaFrom64()
    backend.prenorm_gemm(torch.zeros(256, N * H, dtype=torch.bfloat16), torch.zeros(MIXES, N * H), 16)
    assert [kw.get("cluster_chunks", 0) > 1 and kw.get("tma", False) for kw in _gemm_keywords(rec)] == [True]
    assert any("cluster_chunks" in label and ",tma]" in label for label in backend.calls)
