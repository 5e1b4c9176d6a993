"""On a GPU: the prenorm_gemm op's pipeline depth changes its speed, never its bits.

The op runs a 3-stage cp.async pipeline (one CTA per SM), the fused pre's GEMM a 2-stage one (two per
SM): the same K tiles, threads and k16 order (kernels/tilelang/gemm.py), so their partials must be
bitwise equal. A difference means the depth changed the arithmetic, e.g. a stage read before its copy
landed. Without a GPU these skip with the backend's reason; --require-backend tilelang fails them.
"""

import pytest
import torch

N = 4


@pytest.mark.parametrize("tokens,hidden,splits", [(4093, 7168, 4), (1024, 7168, 1), (4096, 4096, 4),
                                                  (80_000, 4096, 1)])
def test_three_and_two_stage_pipelines_give_the_same_bits(mhc_backend, tokens, hidden, splits):
    backend = mhc_backend("tilelang")
    two_stages = backend.stress_variants("prenorm_gemm")["two-ctas-per-sm"]
    g = torch.Generator(device="cuda").manual_seed(tokens)
    # per-token magnitudes: a row that got a neighbour's sum of squares shows
    x = (torch.randn(tokens, N * hidden, device="cuda", generator=g)
         * torch.exp(2 * torch.randn(tokens, 1, device="cuda", generator=g))).to(torch.bfloat16)
    fn = torch.randn(N * N + 2 * N, N * hidden, device="cuda", generator=g) * 1e-2
    plans = [b.gemm_schedule(tokens, N, hidden, splits, True, x.device) for b in (backend, two_stages)]
    assert [p.tunables["num_stages"] for p in plans] == [3, 2], plans
    three = backend.prenorm_gemm(x, fn, splits)
    two = two_stages.prenorm_gemm(x, fn, splits)
    for name, a, b in zip(("mixes", "sqrsum"), three, two):
        assert a.shape == b.shape and torch.isfinite(a).all(), name
        differ = int((a != b).sum())
        assert differ == 0, f"{name}: {differ} of {a.numel()} elements differ between 3 and 2 stages"


def _op_inputs(tokens: int, hidden: int):
    g = torch.Generator(device="cuda").manual_seed(tokens + hidden)
    x = (torch.randn(tokens, N * hidden, device="cuda", generator=g)
         * torch.exp(2 * torch.randn(tokens, 1, device="cuda", generator=g))).to(torch.bfloat16)
    return x, torch.randn(N * N + 2 * N, N * hidden, device="cuda", generator=g) * 1e-2


def _same_bits(probe_out, default_out, what: str) -> None:
    for name, a, b in zip(("mixes", "sqrsum"), probe_out, default_out):
        assert a.shape == b.shape and torch.isfinite(a).all(), (what, name)
        differ = int((a != b).sum())
        assert differ == 0, f"{what} {name}: {differ} of {a.numel()} elements differ from the default's"


@pytest.mark.parametrize("probe_class", ["TileLangGemmOpCluster", "TileLangOpChunksDsmem"])
@pytest.mark.parametrize("tokens,hidden,splits", [(256, 4096, 16), (256, 7168, 16), (768, 7168, 16), (128, 7168, 16),
                                                  (97, 4096, 16), (193, 4096, 16)])
def test_the_cluster_sum_gives_chunk_sums_bits(mhc_backend, probe_class, tokens, hidden, splits):
    """mid_probes.TileLangGemmOpCluster (through global scratch) and TileLangOpChunksDsmem (through
    distributed shared memory): each split's chunks summed after a cluster barrier, in chunk order, against
    the GEMM + chunk_sum pair (2, 2, 2, 7, 4 and 2 chunks per split here, on 132 SMs)."""
    default = mhc_backend("tilelang")
    probe = mhc_backend(f"mhc_kernels.tilelang.mid_probes:{probe_class}")
    x, fn = _op_inputs(tokens, hidden)
    for rerun in range(3):  # a barrier that let chunk 0 read too early would show run to run
        _same_bits(probe.prenorm_gemm(x, fn, splits), default.prenorm_gemm(x, fn, splits), f"rerun {rerun}")
    assert any("cluster_chunks" in label for label in probe.calls), probe.calls


@pytest.mark.parametrize("tokens,hidden,splits", [(64, 4096, 16), (1536, 7168, 8), (4096, 4096, 4),
                                                  (80_000, 4096, 1)])
def test_tma_loads_give_the_cp_async_kernels_bits(mhc_backend, tokens, hidden, splits):
    """mid_probes.TileLangGemmTma: the prenorm GEMM on TMA loads and a producer warpgroup, the same
    wgmma order and sum of squares as the cp.async kernel (mid_probes.TileLangCpAsync: the default with
    every GEMM on cp.async). Points where the op runs gemm.py's GEMM (at 1 token it runs the FMA decode
    GEMM: no TMA to check there)."""
    default = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangCpAsync")
    probe = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangGemmTma")
    x, fn = _op_inputs(tokens, hidden)
    _same_bits(probe.prenorm_gemm(x, fn, splits), default.prenorm_gemm(x, fn, splits), "tma")
    assert any(",tma]" in label for label in probe.calls), probe.calls
    assert not any(",tma]" in label for label in default.calls), default.calls


@pytest.mark.parametrize("hidden", [4096, 7168])
def test_mhc_pres_tma_gemm_gives_the_cp_async_outputs_bits(mhc_backend, hidden):
    """The default's mhc_pre from 67 457 tokens (pre_gemm_tma_from_tokens: its GEMM on TMA loads) against
    mid_probes.TileLangCpAsync (every GEMM on cp.async): every output bitwise equal, with and without the
    RMSNorm weight (per-token magnitudes: a token that got a neighbour's sum of squares shows)."""
    tokens = 67_457
    default = mhc_backend("tilelang")
    baseline = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangCpAsync")
    g = torch.Generator(device="cuda").manual_seed(hidden)
    residual = (torch.randn(tokens, N, hidden, device="cuda", generator=g)
                * torch.exp(2 * torch.randn(tokens, 1, 1, device="cuda", generator=g))).to(torch.bfloat16)
    fn = torch.randn(N * N + 2 * N, N * hidden, device="cuda", generator=g) * 1e-2
    scale = torch.rand(3, device="cuda", generator=g) + 0.5
    base = torch.randn(N * N + 2 * N, device="cuda", generator=g)
    for weight in (None, torch.rand(hidden, device="cuda", generator=g).to(torch.bfloat16) + 0.5):
        args = (residual, fn, scale, base, weight, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6, 1)
        for name, a, b in zip(("post_mix", "comb_mix", "layer_input"), default.mhc_pre(*args), baseline.mhc_pre(*args)):
            assert a.shape == b.shape and torch.isfinite(a.float()).all(), name
            differ = int((a != b).sum())
            assert differ == 0, f"{name} (norm={weight is not None}): {differ} of {a.numel()} elements differ"
    assert any(",tma]" in label for label in default.calls), default.calls
    assert not any(",tma]" in label for label in baseline.calls), baseline.calls


@pytest.mark.parametrize("probe_class", ["TileLangPreCluster", "TileLangPreCluster2"])
@pytest.mark.parametrize("hidden", [4096, 7168])
@pytest.mark.parametrize("tokens", [1, 17, 32])
def test_the_cluster_pre_gives_decode_pres_bits(mhc_backend, tokens, hidden, probe_class):
    """mid_probes.TileLangPreCluster: decode_pre as one cluster per token (the mix CTA alone sums the parts
    and hands the pre weights across a cluster barrier; TileLangPreCluster2: the barrier's halves apart)
    against the default's decode_pre, mhc_pre without
    the RMSNorm weight, eager and three reruns (a barrier that let a collapse CTA read the pre weights
    early would show run to run), per-token magnitudes."""
    default = mhc_backend("tilelang")
    probe = mhc_backend(f"mhc_kernels.tilelang.mid_probes:{probe_class}")
    g = torch.Generator(device="cuda").manual_seed(tokens * hidden)
    residual = (torch.randn(tokens, N, hidden, device="cuda", generator=g)
                * torch.exp(2 * torch.randn(tokens, 1, 1, device="cuda", generator=g))).to(torch.bfloat16)
    fn = torch.randn(N * N + 2 * N, N * hidden, device="cuda", generator=g) * 1e-2
    scale = torch.rand(3, device="cuda", generator=g) + 0.5
    base = torch.randn(N * N + 2 * N, device="cuda", generator=g)
    args = (residual, fn, scale, base, None, 1e-6, 1e-6, 1e-6, 2.0, 20, 1e-6, 1)
    want = default.mhc_pre(*args)
    for rerun in range(3):
        for name, a, b in zip(("post_mix", "comb_mix", "layer_input"), probe.mhc_pre(*args), want):
            assert a.shape == b.shape and torch.isfinite(a.float()).all(), name
            differ = int((a != b).sum())
            assert differ == 0, f"rerun {rerun} {name}: {differ} of {a.numel()} elements differ from decode_pre's"
    assert any(label.startswith("decode_pre_cluster") for label in probe.calls), probe.calls


def _wild_fn(mixes: int, k: int, seed: int) -> torch.Tensor:
    """fn with the values a split can get wrong: a nonzero mid and lo piece (every randn), exact bf16
    values (mid = lo = 0), subnormals, signed zeros, +-inf (all in hi) and NaN."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    fn = torch.randn(mixes, k, device="cuda", generator=g) * 1e-2
    flat = fn.view(-1)
    picks = torch.randperm(flat.numel(), device="cuda", generator=g)[:7 * 64].view(7, 64)
    flat[picks[0]] = flat[picks[0]].to(torch.bfloat16).float()
    flat[picks[1]] = 1e-40
    flat[picks[2]] = -0.0
    flat[picks[3]] = float("inf")
    flat[picks[4]] = -float("inf")
    flat[picks[5]] = float("nan")
    flat[picks[6]] = 1.0 + 2.0 ** -20  # hi 1, mid 0, lo 2^-20
    return fn


# (block_m, threads, stages, early trigger) of the split's TMA GEMMs the probes launch (precompile's
# split_in_kernel_jobs): the decode GEMM, the op's window and the deep shape at 64-token blocks, the op's window at
# 128, the default's TMA GEMM above 67 456 tokens
SPLIT_TILINGS = [(64, 128, 2, True), (64, 128, 4, True), (128, 256, 4, True), (128, 256, 2, False)]


@pytest.mark.parametrize("mixes,tiling", [(N * N + 2 * N, t) for t in SPLIT_TILINGS] + [(N, SPLIT_TILINGS[0])])
@pytest.mark.parametrize("tokens,hidden,parts", [(17, 7168, 112), (97, 4096, 16), (640, 7168, 8), (1000, 4096, 32)])
def test_the_split_in_the_kernel_gives_split_fns_bits(mhc_backend, mixes, tiling, tokens, hidden, parts):
    """gemm.build_prenorm_gemm's split_in_kernel (TileLangBackend.tma_split_in_kernel): fn in fp32, each K tile
    split into its hi / mid / lo pieces in the kernel, on the TMA kernel, against the default cp.async kernel on
    split_fn's fn3 (the same token block; its own 2 stages: the depth never changes the bits): the partials'
    bits equal (NaN for NaN), for an fn with every kind of value the split treats apart, per-token magnitudes
    in x, three reruns (a piece read before the split wrote it would show run to run)."""
    from mhc_kernels.tilelang._build import device_target
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.gemm import prenorm_gemm, split_fn

    mhc_backend("tilelang")  # skips (or fails, where required) without the backend
    block_m, threads, stages, early = tiling
    target = device_target()
    g = torch.Generator(device="cuda").manual_seed(tokens * mixes + block_m)
    x = (torch.randn(tokens, N * hidden, device="cuda", generator=g)
         * torch.exp(2 * torch.randn(tokens, 1, device="cuda", generator=g))).to(torch.bfloat16)
    fn = _wild_fn(mixes, N * hidden, tokens + hidden)

    def run(**kw):
        mixes_out = torch.full((parts, tokens, mixes), 7.0, device="cuda")
        sqrsum_out = torch.full((parts, tokens), 7.0, device="cuda")
        prenorm_gemm(x, fn, mixes_out, sqrsum_out, N, hidden, block_m, target, **kw)
        return mixes_out.view(torch.int32), sqrsum_out.view(torch.int32)

    want = run(fn3=split_fn(fn, target), **WIDE_K_TILES[block_m])
    assert not torch.isfinite(want[0].view(torch.float32)).all(), "the NaN / inf columns reach the mixes"
    for rerun in range(3):
        got = run(split_in_kernel=True, tma=True, block_k=128, num_stages=stages, threads=threads,
                  **({"early_trigger": True} if early else {}))
        for name, a, b in zip(("mixes", "sqrsum"), got, want):
            differ = int((a != b).sum())
            assert differ == 0, f"rerun {rerun} {name}: {differ} of {a.numel()} elements differ from split_fn's"


@pytest.mark.parametrize("op,tokens,hidden", [("mhc_pre", 17, 7168), ("mhc_pre", 32, 4096),
                                              ("fused_post_pre", 32, 7168), ("prenorm_gemm", 384, 7168),
                                              ("prenorm_gemm", 640, 4096)])
def test_the_split_probes_give_the_defaults_bits(mhc_backend, op, tokens, hidden):
    """mid_probes.TileLangSplitInKernel where the default runs the TMA GEMM (the op's window, 257-704 tokens)
    and mid_probes.TileLangTwentieth's decode GEMM on TMA (17-32 tokens), both on fp32 fn split in the
    kernel: every output bitwise the default's."""
    probe_class = "TileLangSplitInKernel" if op == "prenorm_gemm" else "TileLangTwentieth"
    probe = mhc_backend(f"mhc_kernels.tilelang.mid_probes:{probe_class}")
    _same_op_outputs(probe, mhc_backend("tilelang"), op, tokens, hidden, 16)
    assert any("split_in_kernel" in label for label in probe.calls), probe.calls


def _defaults_bits_on_reruns(mhc_backend, probe_class: str, label: str, op: str, tokens: int, hidden: int,
                             n_splits: int) -> None:
    """mid_probes.``probe_class``'s outputs bitwise the default's on three reruns (a stage or buffer read before its
    writes landed shows run to run), and a launch of the probe labelled with ``label``."""
    probe = mhc_backend(f"mhc_kernels.tilelang.mid_probes:{probe_class}")
    for _ in range(3):
        _same_op_outputs(probe, mhc_backend("tilelang"), op, tokens, hidden, n_splits)
    assert any(label in launch for launch in probe.calls), probe.calls


def _same_op_outputs(probe, default, op: str, tokens: int, hidden: int, n_splits: int) -> None:
    """Every output of ``probe`` bitwise ``default``'s on the benchmark's inputs of (op, T, H, S)."""
    from mhc_verify.bench import make_inputs

    inputs, params = make_inputs(op, tokens, hidden, n_splits, torch.device("cuda"))
    want = default.run(op, inputs, params)
    got = probe.run(op, inputs, params)
    for name, b in want.items():
        a = got[name]
        assert a.shape == b.shape, name
        differ = int((a != b).sum())
        assert differ == 0, f"{op} {name}: {differ} of {a.numel()} elements differ from the default's"


@pytest.mark.parametrize("op,tokens,hidden", [("hc_post", 4097, 7168), ("hc_post", 65_536, 4096),
                                              ("hc_post", 70_001, 7168), ("fused_post_pre", 66_000, 4096)])
def test_the_flat_hc_post_gives_post_pys_bits(mhc_backend, op, tokens, hidden):
    """hc_post_wide on one grid dimension above 4096 tokens (past gridDim.y's 65 535 at 70 001; the default since the
    twenty-first session, mid_probes.TileLangHcPostFlat before) against post.py's kernel there (TileLangDecode20, the
    default before): every output bitwise the same."""
    flat, before = mhc_backend("tilelang"), mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangDecode20")
    _same_op_outputs(flat, before, op, tokens, hidden, 1)
    assert any("flat_grid" in label for label in flat.calls), flat.calls
    assert not any("flat_grid" in label for label in before.calls), before.calls


@pytest.mark.parametrize("tokens,hidden,splits", [(4096, 4096, 4), (1025, 7168, 8), (80_000, 4096, 1)])
def test_four_stages_give_the_ops_three_stage_bits(mhc_backend, tokens, hidden, splits):
    """mid_probes.TileLangOpFourStages: the op's large-T TMA GEMM with one more stage, bitwise the default's."""
    default = mhc_backend("tilelang")
    probe = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangOpFourStages")
    x, fn = _op_inputs(tokens, hidden)
    _same_bits(probe.prenorm_gemm(x, fn, splits), default.prenorm_gemm(x, fn, splits), "four stages")
    assert any("tma" in label for label in probe.calls), probe.calls


@pytest.mark.parametrize("op,tokens,hidden", [("mhc_pre", 1, 7168), ("mhc_pre", 17, 4096), ("mhc_pre", 32, 7168),
                                              ("fused_post_pre", 32, 4096), ("pre_big_fuse", 16, 7168)])
def test_the_dsmem_pre_gives_the_defaults_bits(mhc_backend, op, tokens, hidden):
    """mid_probes.TileLangPreDsmem: the cluster pre's weights through distributed shared memory, every output bitwise
    the default's, three reruns (a collapse CTA reading before the mix CTA's stores landed would show run to run)."""
    _defaults_bits_on_reruns(mhc_backend, "TileLangPreDsmem", "dsmem_pre", op, tokens, hidden, 16)


@pytest.mark.parametrize("tokens,hidden", [(257, 7168), (320, 4096), (512, 7168)])
def test_the_plain_windows_four_and_six_stages_give_the_same_bits(mhc_backend, tokens, hidden):
    """The op's plain TMA window with four stages (mid_probes.TileLangOpPlainFrom257, the default's since the
    twenty-third session) and six
    (TileLangOpPlainDeep, gated inside TileLangTwentySecond by the twenty-second session's stress and nightly check):
    every partial bitwise the same, so that gate holds for the four-stage kernel at 257-320 tokens too."""
    four = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangOpPlainFrom257")
    six = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangOpPlainDeep")
    x, fn = _op_inputs(tokens, hidden)
    _same_bits(four.prenorm_gemm(x, fn, 16), six.prenorm_gemm(x, fn, 16), "four against six stages")
    assert all("chunk_sum" not in label for label in four.calls), four.calls


@pytest.mark.parametrize("op,tokens,hidden,splits", [("prenorm_gemm", 257, 7168, 16), ("prenorm_gemm", 512, 4096, 16),
                                                     ("prenorm_gemm", 704, 7168, 16), ("prenorm_gemm", 1025, 7168, 8),
                                                     ("prenorm_gemm", 4096, 4096, 4), ("prenorm_gemm", 80_000, 4096, 1),
                                                     ("mhc_pre", 512, 7168, 16), ("mhc_pre", 1024, 4096, 16),
                                                     ("fused_post_pre", 640, 4096, 16), ("mhc_pre", 80_000, 4096, 1),
                                                     ("mhc_pre", 32, 7168, 16), ("mhc_pre", 17, 4096, 16),
                                                     ("fused_post_pre", 32, 7168, 16)])
def test_the_squares_under_the_wgmma_give_the_defaults_bits(mhc_backend, op, tokens, hidden, splits):
    """mid_probes.TileLangSquaresUnderWgmma on every TMA GEMM path of the default (the op's plain window and its GEMM
    from 1025 tokens, mhc_pre's deep middle GEMM and its GEMM from 67 457), and TileLangDecodeTmaSquares' decode GEMM
    on TMA (17-32 tokens): every output bitwise the default's, three reruns (a stage freed
    before the tensor cores finished reading it would show run to run)."""
    probe_class = "TileLangDecodeTmaSquares" if tokens <= 32 else "TileLangSquaresUnderWgmma"
    _defaults_bits_on_reruns(mhc_backend, probe_class, "squares_under_wgmma", op, tokens, hidden, splits)


@pytest.mark.parametrize("op,tokens,hidden,splits", [("prenorm_gemm", 257, 7168, 16), ("prenorm_gemm", 704, 4096, 16),
                                                     ("prenorm_gemm", 1025, 7168, 8), ("prenorm_gemm", 4096, 4096, 4),
                                                     ("mhc_pre", 512, 7168, 16), ("mhc_pre", 1024, 4096, 16),
                                                     ("fused_post_pre", 640, 4096, 16)])
def test_fn3s_live_rows_give_the_defaults_bits(mhc_backend, op, tokens, hidden, splits):
    """mid_probes.TileLangFn3LiveRows: every TMA GEMM reads fn3's 72 live rows alone, TMA zero-filling the wgmma's 8
    padding rows: every output bitwise the default's, three reruns."""
    _defaults_bits_on_reruns(mhc_backend, "TileLangFn3LiveRows", "live_rows", op, tokens, hidden, splits)


@pytest.mark.parametrize("tokens", [129, 192, 256])
def test_the_mid_wide_gemm_keeps_the_defaults_mixes_bits(mhc_backend, tokens):
    """mid_probes.TileLangOpMidWide: the op's middle GEMM on 256-column TMA tiles at 129-256 x 4096, the default's K
    ranges, k16 order and chunk sums: the mixes bitwise the default's (the sums of squares run over other tiles), three
    reruns."""
    probe = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangOpMidWide")
    x, fn = _op_inputs(tokens, 4096)
    want = mhc_backend("tilelang").prenorm_gemm(x, fn, 16)
    for _ in range(3):
        got = probe.prenorm_gemm(x, fn, 16)
        differ = int((got[0] != want[0]).sum())
        assert differ == 0, f"mixes: {differ} of {want[0].numel()} elements differ from the default's"
        assert torch.isfinite(got[1]).all() and got[1].shape == want[1].shape
    assert any("block_k=256" in label and "tma" in label for label in probe.calls), probe.calls


@pytest.mark.parametrize("probe_class", ["TileLangOpChunksOnCounter", "TileLangOpCounterFirstThreadFence"])
@pytest.mark.parametrize("tokens,hidden", [(256, 4096), (256, 7168), (193, 4096), (128, 7168), (64, 4096),
                                           (97, 7168), (768, 7168)])
def test_the_counted_chunk_sum_gives_chunk_sums_bits(mhc_backend, tokens, hidden, probe_class):
    """mid_probes.TileLangOpChunksOnCounter: each split's chunks summed by the last one to count in (2-7 chunks a
    split here, on 132 SMs) against the GEMM + chunk_sum pair, eager on three reruns and from a CUDA graph
    captured on a side stream and replayed three times (a count that let the last chunk read early, or a counter
    left non-zero for the next call or the next stream, shows), every counter zero after each call."""
    default = mhc_backend("tilelang")
    probe = mhc_backend(f"mhc_kernels.tilelang.mid_probes:{probe_class}")
    x, fn = _op_inputs(tokens, hidden)
    want = default.prenorm_gemm(x, fn, 16)
    for rerun in range(3):
        _same_bits(probe.prenorm_gemm(x, fn, 16), want, f"rerun {rerun}")
    assert any("counter_chunks" in label for label in probe.calls), probe.calls
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        probe.prenorm_gemm(x, fn, 16)  # the side stream's counters, outside the capture
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=side):
        captured = probe.prenorm_gemm(x, fn, 16)
    for replay in range(3):
        for out in captured:
            out.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        _same_bits(captured, want, f"replay {replay}")
    assert len(probe._counters) == 2, "one set of counters per stream"
    for counters in probe._counters.values():
        assert not counters.any(), "every launch leaves its counters zero"


@pytest.mark.parametrize("tokens,hidden,splits", [(256, 4096, 16), (17, 7168, 16), (128, 7168, 16), (64, 4096, 16),
                                                  (256, 4096, 1), (1, 4096, 16)])
def test_the_loads_first_chunk_sum_gives_chunk_sums_bits(mhc_backend, tokens, hidden, splits):
    """The default's chunk_sum, each thread's loads ahead of its stores, on the op's middle (2-7 chunks a split),
    decode and base (32 chunks of one split) paths: bitwise the serial build's (mid_probes.TileLangChunkSumSerial,
    the default before) on three reruns."""
    default = mhc_backend("tilelang")
    serial = mhc_backend("mhc_kernels.tilelang.mid_probes:TileLangChunkSumSerial")
    x, fn = _op_inputs(tokens, hidden)
    want = serial.prenorm_gemm(x, fn, splits)
    for rerun in range(3):
        _same_bits(default.prenorm_gemm(x, fn, splits), want, f"rerun {rerun}")
    assert any(label.endswith(",loads_first]") for label in default.calls), default.calls
    assert not any(label.endswith(",loads_first]") for label in serial.calls), serial.calls
