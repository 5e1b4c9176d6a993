"""Benchmark probes for TileLangDecode (decode_backend.py): where its middle path pays and with how
many CTAs, PDL early per op, the decode path's Sinkhorn layout and GEMM tunables. Not defaults; load as
``--backend mhc_kernels.tilelang.mid_probes:<class>``. Same arithmetic and declared precision as
TileLangDecode. Each derives from the default it was measured against: TileLangDecode18 (the nineteenth
and later sessions' adoptions off) up to the nineteenth session's, TileLangDecode19 (the twentieth's and later off)
for the twentieth's, TileLangDecode itself for the twenty-first's (TileLangDecode20: that default before its
adoption); and pins, where a later adoption changed its subject, what it ran."""

from __future__ import annotations

from mhc_kernels.tilelang.backend import OP_K_TILES
from mhc_kernels.tilelang.decode_backend import (BASE_GEMM, DECODE_GEMM_PLAN, DECODE_MAX_TOKENS_BY_OP, FUSED_HC_POST,
                                                MID_BLOCK_M_128_FROM, MID_MAX_TOKENS, PDL_EARLY_MAX_TOKENS, TileLangDecode,
                                                wave_cost_parts)


PRE_GEMM_TMA_FROM_BEFORE = 67457  # mhc_pre's TMA GEMM's start before the twenty-ninth session


class _LaterAdoptionsOff:
    """What every older default below pins off (placed before TileLangDecode in their bases): the twenty-eighth
    session's adoption (the hc_post op's pipelined window) and the twenty-ninth's (the Sinkhorn layout before,
    "gather_rcp" everywhere; mhc_pre's GEMM above the middle path on its own schedule, TMA from 67 457) and the
    thirty-third's (the prenorm_gemm op at 129-256 tokens on gemm_multicast's kernel). A probe derived from one of
    them that sets its own value keeps it."""

    hc_post_pipelined_tokens = {}
    sinkhorn_layout = "gather_rcp"
    mid_prefetch_gather_rcp_tokens = {}
    pre_gemm_op_schedule_from = None
    pre_gemm_tma_from_tokens = PRE_GEMM_TMA_FROM_BEFORE
    op_multicast_tokens = None


class TileLangDecode18(_LaterAdoptionsOff, TileLangDecode):
    """The default of the eighteenth session, before the nineteenth's adoptions: decode_pre (every CTA of a
    token summing the parts) where the default runs the cluster pre (decode_pre_cluster), and the prenorm_gemm
    op's chunked middle GEMM + chunk_sum at 321-704 tokens (op_plain_tma_tokens None). Every probe below was
    measured against it and derives from it, so each runs what it ran (its tests, its precompile jobs, a rerun
    of its lease script); also, as a backend, the default before, for timing the two rules against it."""

    name = "tilelang-decode18"
    description = "our TileLang kernels as of the eighteenth session (decode_pre unclustered, the op chunked at 321-704)"
    decode_pre_cluster = False
    op_plain_tma_tokens = None
    mid_deep_tokens = None  # the twentieth session's adoption, off too
    hc_post_flat_from_tokens = None  # and the twenty-first's


class TileLangDecode19(_LaterAdoptionsOff, TileLangDecode):
    """The default of the nineteenth session, before the twentieth's adoption: mhc_pre's and fused_post_pre's
    middle GEMM at 385-1024 tokens on the middle path's K ranges (mid_deep_tokens None). The twentieth session's
    probes derive from it, so each runs what it ran."""

    name = "tilelang-decode19"
    description = "our TileLang kernels as of the nineteenth session (the middle GEMM not in DeepGEMM's shape)"
    mid_deep_tokens = None
    hc_post_flat_from_tokens = None  # the twenty-first session's adoption, off too
    op_plain_tma_tokens = (321, 704)  # and the twenty-third's window from 257


class TileLangDecode20(_LaterAdoptionsOff, TileLangDecode):
    """The default of the twentieth session, before the twenty-first's adoption: hc_post above 4096 tokens on
    post.py's one CTA per token (hc_post_flat_from_tokens None). The twenty-first session's probes derive from the
    default and set what they change themselves."""

    name = "tilelang-decode20"
    description = "our TileLang kernels as of the twentieth session (hc_post above 4096 tokens one CTA per token)"
    hc_post_flat_from_tokens = None
    op_plain_tma_tokens = (321, 704)  # the twenty-third session's window from 257, off too


class TileLangDecode22(_LaterAdoptionsOff, TileLangDecode):
    """The default of the twenty-second session, before the twenty-third's adoption: the prenorm_gemm op's plain
    TMA window from 321 tokens, the middle GEMM + chunk_sum at 257-320 (op_plain_tma_tokens (321, 704)). The
    twenty-first and twenty-second sessions' probes derive from the default itself: at 257-320 tokens their op
    now runs the window (their lease scripts timed it on the middle path there)."""

    name = "tilelang-decode22"
    description = "our TileLang kernels as of the twenty-second session (the op's plain window from 321 tokens)"
    op_plain_tma_tokens = (321, 704)


class TileLangMid(TileLangDecode18):
    """The middle path up to 4096 tokens (one wave of GEMM CTAs) for hc_head too, above its decode
    kernels' 128 tokens."""

    name = "tilelang-mid"
    description = "our TileLang kernels, the middle path up to 4096 tokens (a benchmark probe)"
    mid_max_tokens = 4096
    mid_max_tokens_by_op = {}
    decode_max_tokens_by_op = {"hc_post": 4096, "pre_big_fuse": 32, "hc_head": 128}


class TileLangMidTwoWaves(TileLangMid):
    """TileLangMid with twice the GEMM CTAs (shorter K ranges, more partials to sum)."""

    name = "tilelang-mid-2w"
    description = "our TileLang kernels, the middle path with two waves of GEMM CTAs (a benchmark probe)"
    mid_waves = 2.0


class TileLangMidFrom16(TileLangMid):
    """TileLangMid with the decode kernels only up to 16 tokens for mhc_pre: the middle path against
    the decode path at 32 .. 128."""

    name = "tilelang-mid-from16"
    description = "our TileLang kernels, the middle path from 17 tokens (a benchmark probe)"
    decode_max_tokens = 16


class TileLangMidBlock128(TileLangMid):
    """TileLangMid with 128-token GEMM blocks at every T: half the reads of fn's bf16x3 split (each
    token block reads all of it) for the same x."""

    name = "tilelang-mid-bm128"
    description = "our TileLang kernels, the middle path with 128-token GEMM blocks (a benchmark probe)"
    mid_block_m = 128


class TileLangGemmOp(TileLangDecode18):
    """The prenorm_gemm op on the decode and middle paths' GEMMs up to 4096 tokens (chunk_sum adds each
    split's parts back): TileLangDecode.op_gemm_max_tokens."""

    name = "tilelang-gemm-op"
    description = "our TileLang kernels, the prenorm_gemm op on the decode / middle GEMMs (a benchmark probe)"
    op_gemm_max_tokens = 4096


class TileLangMidEightPerSm(TileLangDecode18):
    """TileLangDecode with the middle path's fused pre under __launch_bounds__(160, 8): 48 registers
    (ptxas, sm_90a; 44 bytes of spills) instead of 56-80, 8 CTAs per SM, 1024 tokens in one wave."""

    name = "tilelang-mid-8sm"
    description = "our TileLang kernels, the middle path's pre at 8 CTAs per SM (a benchmark probe)"
    mid_pre_min_blocks_per_sm = 8


class TileLangPdlEarly(TileLangDecode18):
    """TileLangDecode with the pdl_early kernels for every op at every T of the decode and middle paths:
    their kernels trigger their dependents right after their own PDL wait, and the consumers behind
    our GEMM load their first residual block before theirs (TileLangDecode.pdl_early_max_tokens).
    Sixth session, call 2: faster for mhc_pre to 256 tokens and hc_head, slower for fused_post_pre."""

    name = "tilelang-pdl-early"
    description = "our TileLang kernels, PDL dependents launched early (a benchmark probe)"
    pdl_early_max_tokens = {op: 4096 for op in ("mhc_pre", "fused_post_pre", FUSED_HC_POST, "hc_head", "hc_post",
                                                "prenorm_gemm")}


class TileLangPdlEarlyFusedPre(TileLangDecode18):
    """The default's PDL early, and in fused_post_pre for its pre only (its GEMM and the consumer
    behind it, not hc_post_wide): which of the two made fused_post_pre slower in the sixth session's
    call 2 (12.8 against 11.3 us at 32 tokens with both)."""

    name = "tilelang-pdl-fused-pre"
    description = "our TileLang kernels, PDL early in fused_post_pre's pre only (a benchmark probe)"
    pdl_early_max_tokens = {**PDL_EARLY_MAX_TOKENS, "fused_post_pre": 4096}


class TileLangPdlEarlyFusedPost(TileLangDecode18):
    """The default's PDL early, and in fused_post_pre for its hc_post_wide only."""

    name = "tilelang-pdl-fused-post"
    description = "our TileLang kernels, PDL early in fused_post_pre's hc_post only (a benchmark probe)"
    pdl_early_max_tokens = {**PDL_EARLY_MAX_TOKENS, FUSED_HC_POST: 4096}


class TileLangGemmOpWaveCost(TileLangDecode18):
    """The prenorm_gemm op on the middle GEMM up to 1024 tokens, its K ranges by wave_cost_parts: the
    probe of the seventh / eighth sessions (256 x 7168: 8.8 against 11.5 us, results/gpu/
    2026-12-05-h200-engines-7), TileLangDecode's own rule since the tenth session. Kept under its name
    so that run's lease script reruns as it ran."""

    name = "tilelang-gemm-op-waves"
    description = "our TileLang kernels, the prenorm_gemm op's middle GEMM by wave cost (now the default's rule)"


class TileLangGemmOpBlock128(TileLangDecode18):
    """The prenorm_gemm op's middle GEMM on 128-token blocks from 256 tokens (its K ranges still by
    wave_cost_parts, over the halved block count): each token block reads all of fn's bf16x3 split,
    so half the blocks read half of it again, and at 256 x 4096 the wave rule takes 64 ranges of 2
    tiles (128 CTAs) where 64-token blocks take 32 of 4. For the op at 256-512 x 4096, where DeepGEMM
    was faster in the seventh session (5.9 / 7.2 against 6.8 / 7.7 us). Other K ranges: other fp32
    sums of the same products, within the declared bound; it needs its gate before adoption."""

    name = "tilelang-gemm-op-bm128"
    description = "our TileLang kernels, the prenorm_gemm op's middle GEMM on 128-token blocks from 256 (a probe)"
    mid_block_m_128_from = {**MID_BLOCK_M_128_FROM, "prenorm_gemm": 256}


class TileLangGemmOpCluster(TileLangDecode18):
    """The prenorm_gemm op's middle GEMM summing each split's chunks inside one thread-block cluster
    (TileLangDecode.op_chunks_in_cluster) instead of a chunk_sum launch after it. For the op at 256 x
    4096, where its 32 ranges make 2 chunks of each of the caller's 16 splits and DeepGEMM was faster
    (5.9 against 6.8 us graph-replayed, tenth session; eager, the GEMM 5.25 us and chunk_sum 1.87). The
    same sub-partials added in the same order: bitwise the default's outputs (a bitwise check, and
    stress for the cluster barrier, before adoption). On an H100 (results/gpu/2026-12-05-h100-engines-9):
    bitwise equal, 0 / 1000 in stress, and 1.26-1.80 x the default's time wherever clusters form (64-768
    tokens): rejected."""

    name = "tilelang-gemm-op-cluster"
    description = "our TileLang kernels, the prenorm_gemm op's chunks summed in a thread-block cluster (a probe)"
    op_chunks_in_cluster = True


class TileLangGemmOpCluster128(TileLangGemmOpCluster):
    """TileLangGemmOpCluster with the op's middle GEMM on 128-token blocks from 512 tokens: at 512 x 7168 /
    4096 wave_cost_parts then takes 32 ranges (2 chunks per split, 128 CTAs of 7 / 4 tiles) where 64-token
    blocks take 16 of 14 / 8, and each block reads fn's bf16x3 split once for 128 tokens instead of 64
    (half its L2 traffic). TileLangGemmOpBlock128 lost with chunk_sum behind it (12.1 against 11.8 us at
    512 x 7168); the cluster's sum removes that launch. For the op at 512 tokens (DeepGEMM 11.0 / 7.2
    against 11.8 / 7.7 at H = 7168 / 4096, tenth session). Other K ranges: other fp32 sums, within the
    declared bound; not bitwise the default, so its gate is the nightly check and stress."""

    name = "tilelang-gemm-op-cluster-bm128"
    description = "our TileLang kernels, the op's cluster-summed chunks on 128-token blocks from 512 (a probe)"
    mid_block_m_128_from = {**MID_BLOCK_M_128_FROM, "prenorm_gemm": 512}


class TileLangGemmTma(TileLangDecode18):
    """TileLangDecode with every prenorm GEMM of gemm.py (the decode path's tensor-core GEMM, the
    middle path's, the op's, the fused pre's above the middle path) compiled with TMA lowering and the
    warp-specialised pipeline (TileLangBackend.gemm_tma). DeepGEMM's TF32 GEMM, which beat ours at the
    same partition (mhc_pre at 64 x 4096: 3.07 against 4.13 us eager, tenth session), loads by TMA; ours
    by every thread's cp.async. The same instructions on the same values: bitwise the default's
    outputs (a bitwise check, and stress, before adoption). On an H100 (-9): bitwise equal, and faster
    only for the op at 512 x 4096 and from 1024 tokens (0.95-0.98 x); mhc_pre 1.03-1.28 x from 128
    tokens, the op 1.3-1.7 x at 768: hence TileLangOpTma."""

    name = "tilelang-gemm-tma"
    description = "our TileLang kernels, the prenorm GEMMs on TMA loads and a producer warpgroup (a probe)"
    gemm_tma = True


class TileLangMidWaveCost(TileLangDecode18):
    """TileLangDecode with the middle path's K ranges (mhc_pre, fused_post_pre's pre, hc_head; the
    prenorm_gemm op's are wave_cost_parts' in the default since the tenth session) chosen by
    wave_cost_parts instead of "the fewest that give one CTA per SM". Seventh run
    (results/gpu/2026-12-05-h200-engines-7): faster at 128 x 7168 and 256 x 4096, much slower from 512
    tokens (24.5 against 21.0 us at 512 x 7168), where two CTAs of 4 tiles on an SM beat one of 7.
    At 256 tokens (and 512, 128-token blocks) H = 7168 that is 32 ranges (128
    CTAs of 7 tiles) where the default takes 56 (224 CTAs of 4 tiles: 92 SMs work through 8 tiles,
    40 through 4); H = 4096: 32 (4 tiles each) for 64 (2 each). For mhc_pre at 256-1024 x 4096 (vLLM
    1.05-1.18 x faster in the sixth session). Other K ranges: other fp32 sums of the same products,
    within the declared bound (it needs its own nightly check and stress before it could be adopted)."""

    name = "tilelang-mid-waves"
    description = "our TileLang kernels, the middle GEMM's K ranges by wave cost (a benchmark probe)"

    def _fewest_parts(self, tokens, n, hidden, multiple_of, device, op=None):
        from mhc_kernels.tilelang.backend import _sm_count
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K

        blocks = -(-tokens // self._mid_block_m(op, tokens))
        return wave_cost_parts(n * hidden // DECODE_BLOCK_K, self.mid_min_tiles_per_part, multiple_of, blocks,
                               _sm_count(device))


class TileLangSinkhornRows(TileLangDecode18):
    """TileLangDecode with sinkhorn.py's "rows" layout in decode_pre and the middle path's fused pre: a
    lane per row of the comb matrix, the row sums local (no shuffles), the divisions nvcc's fast path
    written out so a half-step's n divisions interleave (the lanes layout queues each behind its
    branch region). Bitwise the same results. On the CPU (sm_90a SASS of the loop): the row half-step
    one reciprocal, no shuffle and no branch region per division; the column half-step the lanes
    layout's two shuffle levels on four columns at once. The 16-32-token floor of mhc_pre is what it
    is for (9.0 / 9.7 us at H = 7168, decode_pre's chain about 2-4 us of it)."""

    name = "tilelang-sinkhorn-rows"
    description = "our TileLang kernels, the rows layout of the warp Sinkhorn (a benchmark probe)"
    sinkhorn_layout = "rows"
    # as measured (-7): the fused pres' constants loaded late, fn after the decode GEMM's wait, the
    # pre_big_fuse op with PDL at every count (the default's variants came later)
    decode_pre_early_constants = False
    mid_pre_early_constants = False
    decode_gemm_fn_before_wait = frozenset()


class TileLangSinkhornGather(TileLangDecode18):
    """TileLangDecode with sinkhorn.py's "gather" layout in decode_pre and the middle path's fused pre:
    the lanes layout with each row / column sum's group fetched by independent shuffles (xor 1, 2, 3;
    xor 4, 8, 12) and added in the butterfly's association, one shuffle latency per sum instead of two
    dependent ones, over the 2 x 20 sums of the Sinkhorn chain. For mhc_pre's 16-32-token floor (9.0 /
    9.7 us at H = 7168 against the 8 us issue 16 asks; decode_pre 6.0 / 6.5 us of it, its Sinkhorn
    chain most). Bitwise the lanes layout (tests/test_tilelang_sinkhorn.py on the CPU emulator; a GPU
    bitwise check before adoption). On an H100 (-9): bitwise equal at 246 points, 0 / 1000 in stress,
    mhc_pre 0.94-0.97 x the default's time at 1-256 tokens. Adopted in the thirteenth session (gated as
    TileLangNarrowSums, results/gpu/2026-12-05-h200-engines-10), the default's layout until the fifteenth
    session (then "gather_rcp" with the fused pres' early constants). This class and its subclasses
    keep "gather" and the constants loaded late (and fn after the decode GEMM's wait, the pre_big_fuse op
    with PDL everywhere: the sixteenth session's defaults): the fourteenth session's default, as measured."""

    name = "tilelang-sinkhorn-gather"
    description = "our TileLang kernels, the warp Sinkhorn's sums by gathered shuffles (a benchmark probe)"
    sinkhorn_layout = "gather"
    decode_pre_early_constants = False
    mid_pre_early_constants = False
    decode_gemm_fn_before_wait = frozenset()


class TileLangTmaGather(TileLangSinkhornGather):
    """TileLangSinkhornGather and TileLangGemmTma together: for mhc_pre at 64-128 x 4096, where vLLM's
    lead (8.3 / 8.5 against 9.8 / 9.8 us, tenth session) splits between the GEMM (DeepGEMM 3.07 against
    our 4.13 us at 64 tokens, eager) and the pre (5.41 against 5.84). Bitwise the default's outputs if
    each of the two is. On an H100 (-9): 1.23 / 1.05 x the default's time at 64 / 128 x 4096 (the TMA
    GEMM's one CTA per SM): rejected."""

    name = "tilelang-tma-gather"
    description = "our TileLang kernels, TMA prenorm GEMMs and the gather Sinkhorn (a benchmark probe)"
    gemm_tma = True


class TileLangOpTma(TileLangDecode18):
    """TileLangDecode with the prenorm_gemm op's GEMM on the TMA kernel from 1025 tokens (the base path:
    TileLangDecode.op_gemm_tma_from_tokens), every other GEMM as the default's. On an H100
    (results/gpu/2026-12-05-h100-engines-9) TileLangGemmTma, which runs every GEMM so, took the op at
    4096 x 4096 / 7168 to 52.1 / 85.7 us from 53.2 / 89.4 (92.2 / 94.7 % of the copy beside it, issue
    16 asks >= 90 % at both; the default's 89.5 % at 4096 x 4096 in the full run), but slowed mhc_pre
    from 128 tokens and the op at 768 (the middle path's K ranges count on two co-resident CTAs, the TMA
    kernel leaves one per SM). Below 1025 tokens the op's middle path keeps cp.async. The same bits
    (the TMA kernel's bitwise check on the op at 4096 tokens, both H: ALL OK). Adopted in the thirteenth
    session (-10): the default's op_gemm_tma_from_tokens now; TileLangCpAsync is the default without it."""

    name = "tilelang-op-tma"
    description = "our TileLang kernels, the prenorm_gemm op's GEMM on TMA loads from 1025 tokens (a probe)"
    op_gemm_tma_from_tokens = 1025


class TileLangGatherOpTma(TileLangSinkhornGather, TileLangOpTma):
    """TileLangSinkhornGather and TileLangOpTma together (each one's knob from its class): the twelfth
    session's candidate default. Adopted in the thirteenth with decode_pre's narrow sums
    (TileLangNarrowSums, -10): the default now has both knobs."""

    name = "tilelang-gather-op-tma"
    description = "our TileLang kernels, the gather Sinkhorn and the op's TMA GEMM from 1025 tokens (a probe)"


def _plan_with_block_t16(largest_t: int) -> tuple:
    """DECODE_GEMM_PLAN with the FMA kernel at block_t 16 for M = 24 between its block_t 8 row and the
    tensor cores, up to ``largest_t`` tokens."""
    rows = []
    for row in DECODE_GEMM_PLAN:
        if row[0] == 24 and row[3] == {"block_t": 16}:
            continue  # the default's own block_t 16 row (to 16 tokens since the fourteenth session)
        rows.append(row)
        if row[0] == 24 and row[2] == "fma":
            rows.append((24, largest_t, "fma", {"block_t": 16}))
    return tuple(rows)


class TileLangGemmBlockT16(TileLangDecode18):
    """TileLangDecode with the FMA decode GEMM at 16 tokens per CTA for mhc_pre's M = 24 at 9-32 tokens,
    where the plan takes the tensor cores (3.4 / 3.75 us at 8 / 32 tokens alone against the FMA
    kernel's 2.62 at 8 with block_t 8; block_t 8 at 32 tokens: 6.24, four times the CTAs re-reading
    fn; block_t 16 was never timed): 112 CTAs at 16 tokens, 224 at 32, each thread 16 columns."""

    name = "tilelang-gemm-bt16"
    description = "our TileLang kernels, the FMA decode GEMM at 16 tokens per CTA to 32 tokens (a benchmark probe)"
    decode_gemm_plan = _plan_with_block_t16(32)


class TileLangDecodeFloor(TileLangSinkhornRows):
    """Both of the above: the candidate for mhc_pre's and fused_post_pre's 16-32-token floor."""

    name = "tilelang-decode-floor"
    description = "our TileLang kernels, the rows Sinkhorn and the block_t 16 FMA GEMM (a benchmark probe)"
    decode_gemm_plan = _plan_with_block_t16(32)


class TileLangDecodeFloorTokenMajor(TileLangDecodeFloor):
    """TileLangDecodeFloor with mhc_pre's (and fused_post_pre's) decode partials token-major ([T, parts,
    M], as hc_head's by default): the FMA decode GEMM at every T <= 32 (block_t 8, then 16) writes each
    token's 112 partials contiguously, and decode_pre's partial sums read them so. For hc_head that
    took 5.38 us to 4.63 at 32 tokens (H = 7168, fifth session); for mhc_pre it was tried only with the
    FMA GEMM at block_t 32, which lost to the tensor cores. The same values summed in the same order:
    bitwise TileLangDecodeFloor's outputs."""

    name = "tilelang-decode-floor-tm"
    description = "our TileLang kernels, the decode floor's probe with token-major partials (a benchmark probe)"
    token_major_partials = frozenset({"hc_head", "mhc_pre"})


class TileLangPdlEarlyBaseGemm(TileLangDecode18):
    """The default's PDL early, and the prenorm_gemm op's GEMM above op_gemm_max_tokens triggering its
    dependents right after its own wait too (at every T): in a graph of back-to-back calls the next
    call's grid is launched while this one runs and its CTAs take SMs as they free up (then wait for
    this grid to finish), instead of the launch starting after it. For
    the 4096-token copy floor (85.5 % at 4096 x 4096 in the sixth session's run: 128 CTAs of 32 K
    tiles, whose launch and first loads are a larger share than at 7168's 56 tiles). Same kernel
    arithmetic: the same bits."""

    name = "tilelang-pdl-base-gemm"
    description = "our TileLang kernels, the prenorm_gemm op's large-T GEMM launching its dependents early (a probe)"
    pdl_early_max_tokens = {**PDL_EARLY_MAX_TOKENS, BASE_GEMM: 1 << 30}


class TileLangMidOneTile(TileLangDecode18):
    """TileLangDecode with the middle GEMM's K ranges down to one 128-wide tile: where two tiles per
    range cap the CTAs below a wave (H = 4096: 128 K tiles, so 64 CTAs at 64 tokens and 128 at 128
    where 132 SMs want more; H = 7168 at 64 tokens: 112), the probe takes 128 / 256 / 224 CTAs; the
    fused pre then adds twice the partials (one unrolled load each). For mhc_pre at H = 4096, 64-128
    tokens (vLLM 1.16-1.35 x faster in the sixth session's probe run). Same arithmetic: the K sum cut
    into more, shorter ranges, within the bound (decode_backend's docstring)."""

    name = "tilelang-mid-one-tile"
    description = "our TileLang kernels, the middle GEMM's K ranges down to one tile (a benchmark probe)"
    mid_min_tiles_per_part = 1


class TileLangMidLean(TileLangDecode18):
    """TileLangDecode with the middle path's fused pre on one residual buffer at every T
    (mid_pre_one_buffer_tokens): 40 registers instead of 56 at H = 4096 without norm (ptxas, sm_90a,
    no spill), so 10 CTAs
    per SM instead of 7 and 1024 tokens in one wave of 1320 places instead of two of 924. For
    pre_big_fuse at 1024 x 4096 (13.0 us against TileKernels' 8.4 in the sixth session; at 512
    tokens, one wave either way, 6.3 against 6.0) and mhc_pre's pre there. A CTA keeps its place until
    warp 0's Sinkhorn ends, so its collapse losing the overlap of one block's loads with the next
    block's arithmetic may cost less than the wave it saves: only a GPU run can say. Bitwise the same
    outputs (the same arithmetic)."""

    name = "tilelang-mid-lean"
    description = "our TileLang kernels, the middle path's pre on one residual buffer (a benchmark probe)"
    mid_pre_one_buffer_tokens = (1, 1 << 30)


class TileLangPostPerToken(TileLangDecode18):
    """TileLangDecode with hc_post (and fused_post_pre's hc_post) on post.py's kernel above 256 tokens:
    one CTA per token walking H in 1024-column blocks, SGLang's shape at that size, instead of
    hc_post_wide's CTA per (1024 columns, token). For hc_post at 512 x 4096, where the inputs and output
    (38 MB) stay in the H200's L2 across graph replays and SGLang's kernel took 6.5 us against ours
    7.1 (sixth session); fused_post_pre at 512-1024 x 4096 (vLLM 1.04-1.05 x). The same per-element
    arithmetic (post.post_block_macro in both): bitwise the same output."""

    name = "tilelang-post-per-token"
    description = "our TileLang kernels, hc_post one CTA per token above 256 tokens (a benchmark probe)"
    decode_max_tokens_by_op = {**DECODE_MAX_TOKENS_BY_OP, "hc_post": 256}


class TileLangMidCoResident(TileLangDecode18):
    """TileLangDecode with mhc_pre's (and fused_post_pre's) middle GEMM K ranges at 128-token blocks (from 512 tokens)
    by wave_cost_parts with two co-resident CTAs per SM (the block_m 128 GEMM's shared memory, 104 KiB at 2
    stages, fits two on an H100 / H200 SM). For mhc_pre at 768 x 7168, where vLLM took 28.2 us against our 32.0
    (tenth session): "the fewest ranges for one wave" gives 28 ranges of 8 tiles, 168 CTAs, 36 SMs working
    through 16 tiles; wave_cost_parts with two co-resident keeps 56 at 512 tokens (which beat wave_cost_parts' 32
    there: 21.0 against 24.5 us) and takes 112 at 768 (672 CTAs of 2 tiles, at most 3 rounds of 2 per SM; four
    times the partials for the pre to sum). Other K ranges: other fp32 sums, within the declared bound (a gate
    before adoption)."""

    name = "tilelang-mid-co-resident"
    description = "our TileLang kernels, mhc_pre's 128-token middle GEMM ranges for two CTAs per SM (a probe)"

    def _fewest_parts(self, tokens, n, hidden, multiple_of, device, op=None):
        from mhc_kernels.tilelang.backend import _sm_count
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K
        from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M

        block_m = self._mid_block_m(op, tokens)
        if op not in ("mhc_pre", "fused_post_pre") or block_m != LARGE_T_BLOCK_M or multiple_of != 1:
            return super()._fewest_parts(tokens, n, hidden, multiple_of, device, op)
        return wave_cost_parts(n * hidden // DECODE_BLOCK_K, self.mid_min_tiles_per_part, 1, -(-tokens // block_m),
                               _sm_count(device), co_resident=2)


class TileLangNarrowSums(TileLangGatherOpTma):
    """TileLangGatherOpTma with decode_pre's collapse CTAs summing only the pre mixes' and the sum of
    squares' parts (TileLangDecode.decode_pre_narrow_sums): for mhc_pre's 16-32-token floor, where the
    default's time grows from 7.2 us at one token to 9.7 at 32 (H = 7168, H100, -9) while the Sinkhorn
    chain does not grow with T, and every one of a token's 14 collapse CTAs re-reads all 24 columns of
    the 112 parts (5.4 MB from L2 at 32 tokens). Bitwise the same outputs (same sums, same order where
    used: tests/test_tilelang_decode_variants.py on the CPU emulator; on an H200, -10: ALL OK). Gated in
    the thirteenth session (nightly checks of mhc_pre, fused_post_pre, pre_big_fuse, prenorm_gemm passing;
    0 / 1000 in stress at six points) and 0.91-0.98 x the default's time at 1-512 tokens (pre_big_fuse,
    mhc_pre, fused_post_pre), the op 0.84-0.94 x from 1536: adopted, the default now."""

    name = "tilelang-narrow-sums"
    description = "our TileLang kernels, decode_pre's collapse CTAs summing the pre mixes only (a benchmark probe)"
    decode_pre_narrow_sums = True


class TileLangPostWide2048(TileLangDecode18):
    """TileLangDecode with hc_post_wide's CTAs taking 2048 columns from 256 tokens (half the CTAs, 16
    columns a thread), where H has the power of two: for hc_post at 512 x 4096, ours 9.1 us against
    vLLM's 7.9 on an H100 (-9; its 2048 CTAs of 1024 columns), and TileLangPostPerToken (4096 columns a CTA)
    took 6.2 against 6.6 there on an H200 (-8) but lost at 7168 (one CTA per token, 7 blocks of 1024:
    this probe leaves 7168 at 1024). Bitwise the same output (hc_post_wide's arithmetic per element does
    not depend on the block). On an H200 (-10, call 2): 1.01-1.09 x the default's time at 256-4096 tokens
    (6.9 against 6.7 us at 512; vLLM 6.2): rejected."""

    name = "tilelang-post-wide-2048"
    description = "our TileLang kernels, hc_post_wide at 2048 columns a CTA from 256 tokens (a benchmark probe)"
    hc_post_wide_block_from = {32: 1024, 256: 2048}
    hc_post_per_token_tokens = {}  # hc_post_wide at every count, as it ran (-10)


class TileLangNarrowBt16(TileLangNarrowSums):
    """TileLangNarrowSums with mhc_pre's decode GEMM on the FMA kernel at 16 tokens per CTA for 9-16
    tokens (TileLangGemmBlockT16's row, cut at 16), where the plan takes the tensor cores: on an H200
    (-7) the rows Sinkhorn took mhc_pre at 16 x 7168 to 11.0 us and the same with this GEMM to 10.7,
    while at 32 tokens it lost 1.1 us. For the 16-token floor (8.7 us with the gather Sinkhorn on an
    H100, 8 asked). At 9-16 tokens its partials come from fp32 FMAs instead of the tensor cores on fn's
    bf16x3 split: not the same bits there, so it needs its own nightly gate before it could be adopted.
    On an H200 (-10, call 2, beside the adopted default): mhc_pre 0.94-0.97 x at 9-16 tokens, fused_post_pre
    0.93-0.95 x, 1.00 elsewhere. Gated on an H100 in the fourteenth session
    (results/gpu/2026-12-05-h100-engines-11) and adopted: it equals the fourteenth session's default
    (the "gather" Sinkhorn, constants late), kept as the name that run's lease scripts load."""

    name = "tilelang-narrow-bt16"
    description = "our TileLang kernels, the narrow sums with the block_t 16 FMA decode GEMM to 16 tokens (a probe)"
    decode_gemm_plan = _plan_with_block_t16(16)


class TileLangCpAsync(TileLangDecode18):
    """TileLangDecode with every prenorm GEMM on cp.async loads (op_gemm_tma_from_tokens and, since the
    eighteenth session, pre_gemm_tma_from_tokens None: the default before the thirteenth session): the
    baseline that TMA-loading kernels are checked bitwise against (tests/test_tilelang_gpu_bits.py)."""

    name = "tilelang-cp-async"
    description = "our TileLang kernels, every prenorm GEMM on cp.async loads (a baseline probe)"
    op_gemm_tma_from_tokens = None
    pre_gemm_tma_from_tokens = None


class TileLangEarlySinkhorn(TileLangDecode18):
    """TileLangDecode with the two changes the H100 profile of the fourteenth session points at
    (results/gpu/2026-12-05-h100-engines-11: decode_pre ends 4.5-5.7 us after the GEMM at 1-32 x 7168,
    most of a decode call, its last CTA's warp Sinkhorn the critical path):
      * sinkhorn.py's "gather_rcp" layout in decode_pre and the middle path's fused pre: each
        normalisation's division as nvcc's own fast path written out, without its per-division check
        and branch (FCHK, BSSY / BSYNC, a BRA.DIV per shuffle group in the sm_90a SASS of "gather"), the
        operands' range checked beside the chain and once per call, "gather" run again where it failed;
        in that SASS 57 issue cycles a half-step against 75 (scripts/debug/sass_sinkhorn.py);
      * decode_pre's hc_scale / hc_base loaded at the top (decode_pre_early_constants).
    Bitwise the default's outputs (the same quotients where the range holds, the default's code where
    it does not; tests/test_tilelang_sinkhorn.py on the CPU emulator; 180 checks on an H100, -11's call
    5, mhc_pre and fused_post_pre). There 0.84-0.97 x the then default's time up to 128 tokens on mhc_pre,
    fused_post_pre and pre_big_fuse, 0.91-1.01 x at 256 and 512. Since the fifteenth session the default
    has both changes and the middle pre's early constants (TileLangEarlySinkhornMid, gated on an H100:
    results/gpu/2026-12-05-h100-engines-12); this probe keeps the middle pre's constants late, as measured."""

    name = "tilelang-early-sinkhorn"
    description = "our TileLang kernels, the checked written-out Sinkhorn division and decode_pre's early constants (a probe)"
    sinkhorn_layout = "gather_rcp"
    decode_pre_early_constants = True
    mid_pre_early_constants = False


class TileLangEarlySinkhornMid(TileLangEarlySinkhorn):
    """TileLangEarlySinkhorn with the middle path's fused pre loading hc_scale / hc_base early too
    (mid_pre_early_constants: in its sm_90a SASS warp 0 issues those loads after the partial sums'
    MUFU.RSQ and SHFL, one more dependent round trip before Sinkhorn at 64-4096 tokens). Bitwise the
    "gather" default's outputs (tests/test_tilelang_pre_overlap.py on the CPU emulator; 180 checks on an
    H100). Gated there (results/gpu/2026-12-05-h100-engines-12): TileLangDecode's variants since the
    fifteenth session, so this probe now runs the default's kernels; it stays for the lease scripts that
    name it."""

    name = "tilelang-early-sinkhorn-mid"
    description = "TileLangEarlySinkhorn and the middle pre's early constants (a probe)"
    mid_pre_early_constants = True


class TileLangPreBigFuseDecode(TileLangDecode18):
    """TileLangDecode with the pre_big_fuse op on decode_pre (a CTA per 512 columns and token, and one
    for the mixes and Sinkhorn) up to 1024 tokens, not the middle path's CTA per token from 33. For the
    L2 window (results/gpu/2026-12-05-h100-engines-11, call 4): at 512 x 7168 on an H100, graph-replayed,
    TileKernels' pre_big_fuse (one CTA per token) took 7.3-8.5 us against ours 11.1-11.8, faster below
    and above; whether the order the residual is read in, by hidden blocks across many CTAs, keeps more
    of it in L2 from one replay to the next. decode_pre is the default's kernel at 1-32 tokens, with the
    same formulas as the middle path's, but it adds the caller's partials in four groups (decode.py), not
    in one serial run: not the default's bits at 33-1024 tokens. A timing probe; it would need its own
    gate."""

    name = "tilelang-pre-big-fuse-decode"
    description = "our TileLang kernels, pre_big_fuse on decode_pre up to 1024 tokens (a benchmark probe)"
    decode_max_tokens_by_op = {**DECODE_MAX_TOKENS_BY_OP, "pre_big_fuse": 1024}


class TileLangMidConstantsTwoBuffers(TileLangDecode18):
    """TileLangDecode with the middle pre's early constants only where it runs on two residual buffers:
    at mid_pre_one_buffer_tokens (769-1535) the constants load late, as before the fifteenth session.
    For the one count where the adopted default lost time: mhc_pre at 1024 x 7168, graph-replayed on an
    H100, 52.8 us against 51.7 for the fourteenth session's default and 51.6 for TileLangEarlySinkhorn
    (the constants late in the middle pre; -12, call 2, side by side), faster at 64-512. The one-buffer
    kernel exists to keep its registers below a spill (mid_pre_one_buffer_tokens' comment); whether the
    two early loads cost it that. Bitwise the same outputs (each variant is the old default's bits)."""

    name = "tilelang-mid-constants-two-buffers"
    description = "our TileLang kernels, the middle pre's early constants off on one residual buffer (a benchmark probe)"
    mid_pre_early_constants_one_buffer = False


class TileLangSinkhornVectors(TileLangDecode18):
    """TileLangDecode with sinkhorn.py's "vectors" layout in decode_pre and the middle path's fused pre:
    Sinkhorn on the scaling vectors, every lane holding the whole token, no shuffle and no division on
    the chain (n reciprocals and n FMA chains a half-step: 40.5 issue cycles in the sm_90a SASS against
    the default's 57.2 and a shuffle's wait; "gather" where a scale leaves its range). For mhc_pre's
    8 us floor at 16 / 32 x 7168 (8.1 / 8.9 us on an H100): there each repeat of the default's Sinkhorn
    costs 0.087-0.091 us of the call, 1.7 us in all
    (results/gpu/2026-12-05-h100-engines-12, call 6). The same function with other roundings: on the
    CPU emulator within 4 x the default's error against float64 (tests/test_tilelang_sinkhorn_vectors.py);
    not the default's bits, so its own gate (nightly checks, stress) comes before any adoption. Built in
    the fifteenth session, not yet run on a GPU (-12/lease/next-vectors.sh)."""

    name = "tilelang-sinkhorn-vectors"
    description = "our TileLang kernels, Sinkhorn on the scaling vectors (no shuffle; a benchmark probe)"
    sinkhorn_layout = "vectors"


class TileLangFnBeforeWait(TileLangDecode18):
    """TileLangDecode with the FMA decode GEMM staging fn's slice before its PDL wait
    (decode_gemm.build_decode_gemm's fn_before_wait): mhc_pre and fused_post_pre at 1-16 tokens, hc_head
    at 1-128. For mhc_pre's 8 us floor at 16 x 7168 (8.1 us on an H100): there the GEMM runs 2.9 us after
    the previous call's pre ends, and its CTAs load 24 KB of fn each beside 8 KB of x
    (results/gpu/2026-12-05-h100-engines-12, profile/). fn is taken as a weight: no early-triggering
    kernel just before writes it. The same arithmetic in the same order: bitwise the default's outputs.
    On an H100 (results/gpu/2026-12-05-h100-engines-13, call 2): 126 bitwise checks, 0 / 1000 stress
    failures at six points; mhc_pre 0.3-0.6 us faster at 1-16 tokens, fused_post_pre 0.1-0.2 slower at 1-4,
    hc_head within 0.1: the default took it for mhc_pre (decode_gemm_fn_before_wait), this probe keeps all
    three."""

    name = "tilelang-fn-before-wait"
    description = "our TileLang kernels, the FMA decode GEMM's fn staged before its PDL wait (a benchmark probe)"
    decode_gemm_fn_before_wait = frozenset({"mhc_pre", "fused_post_pre", "hc_head"})


class TileLangFnBeforeWaitFma32(TileLangFnBeforeWait):
    """TileLangFnBeforeWait with mhc_pre's decode GEMM on the FMA kernel (16 tokens per CTA) up to 32
    tokens, where the plan takes the tensor cores from 17: with fn staged before the wait the FMA kernel's
    cost after the wait is x alone, and 17-32 is where the floor misses most (8.9 us at 32 x 7168). Not the
    default's bits at 17-32 tokens (fp32 FMAs instead of the tensor cores on fn's bf16x3 split): gated inside
    TileLangDecodeFloorNext (-13, call 1). Measured there (call 2): mhc_pre at 24 / 32 tokens 6.6 / 6.8 us
    against 7.4 / 7.5 at H = 4096, but 9.0 / 9.2 against 8.7 / 8.6 at 7168; not adopted."""

    name = "tilelang-fn-before-wait-fma32"
    description = "our TileLang kernels, fn before the wait and the FMA decode GEMM to 32 tokens (a benchmark probe)"
    decode_gemm_plan = _plan_with_block_t16(32)


class TileLangNoPdlWindow(TileLangDecode18):
    """TileLangDecode with the pre_big_fuse op and the hc_post op compiled without PDL at 256-1024 tokens,
    and mhc_pre's middle GEMM (the call's first kernel) at 257-1024 (no_pdl_tokens; 256 is PDL early's),
    where the committed H100 run loses most: pre_big_fuse 512 x 7168 (TileKernels 1.47 x) and 1024 x 4096
    (1.14 x), hc_post 512 x 4096 (vLLM 1.38 x), mhc_pre 1024 x 4096 (vLLM 1.09 x), each call's data
    33-42 MB (results/gpu/2026-12-05-h100-engines-12). TileKernels runs without PDL (tile_kernels/config.py:
    _DEFAULT_USE_PDL = False): each of its graph-replayed calls starts once the one before has ended, and
    it keeps more of the replays' data in L2 (ours falls off between 448 and 512 x 7168: 6.3 -> 11.8 us,
    TileKernels 6.5 -> 8.5, -11). The same instructions less the PDL wait and trigger: bitwise the
    default's outputs (84 checks on an H100, -13 call 2). Measured there: pre_big_fuse faster where its data
    is 35-50 MB and slower outside (hence TileLangPreBigFuseNoPdl), hc_post and mhc_pre slower everywhere."""

    name = "tilelang-no-pdl-window"
    description = "our TileLang kernels, a call's first kernel without PDL at 256-1024 tokens (a benchmark probe)"
    no_pdl_tokens = {"pre_big_fuse": (256, 1024), "hc_post": (256, 1024), "mhc_pre": (257, 1024)}
    hc_post_per_token_tokens = {}  # hc_post_wide in the whole window, as it ran (-13)


class TileLangDecodeFloorNext(TileLangSinkhornVectors):
    """The decode floor's candidates at once, for one gate: TileLangSinkhornVectors (the scaling-vector
    Sinkhorn) with TileLangFnBeforeWaitFma32's decode GEMM (fn staged before the PDL wait, the FMA kernel
    to 32 tokens). mhc_pre misses the 8 us floor at 16 / 32 x 7168 (8.1 / 8.9 us on an H100,
    results/gpu/2026-12-05-h100-engines-12): the Sinkhorn chain is 1.7 us of those calls and the GEMM
    2.9 / 3.6 us after the previous call's pre ends. Not the default's bits (the Sinkhorn's roundings; the
    FMA partials at 17-32 tokens): the full gate (-13/lease/call1.sh) before any adoption; the bench beside
    it puts TileLangSinkhornVectors alone, and call 2 TileLangFnBeforeWait alone. On an H100 (-13, call 1):
    the gate passed (0 / 1000 stress failures at 9 points, nightly checks of three ops), but the vectors
    Sinkhorn's fixed cost (0.55-0.72 us) outweighs its shorter chain and the FMA GEMM loses at 24-32 x 7168:
    not adopted; its fn before the wait was, for mhc_pre."""

    name = "tilelang-decode-floor-next"
    description = "our TileLang kernels, the vectors Sinkhorn with fn before the wait and the FMA GEMM to 32 (a probe)"
    decode_gemm_fn_before_wait = frozenset({"mhc_pre", "fused_post_pre", "hc_head"})
    decode_gemm_plan = _plan_with_block_t16(32)


class TileLangPreBigFuseNoPdl(TileLangDecode18):
    """TileLangDecode with the pre_big_fuse op without PDL where its residual and layer_input are 35-50 MB
    (no_pdl_megabytes: 489-697 tokens at H = 7168, 855-1220 at 4096). On the H100 (-13, call 2,
    scripts/debug/l2_window.py) ours with PDL is bistable there from replay to replay (512 x 7168: median
    6.6 us, range 6.4-11.9; the committed -12 run caught 11.3 against TileKernels' 7.7); without PDL 7.8
    (7.7-8.1) at 512 x 7168, 9.8 against 14.1 at 576, 11.5 against 13.7 at 1024 x 4096 (TileKernels 8.3 /
    11.4 / 12.3); bitwise the default there (84 checks). Gated in the seventeenth session (-14, call 1,
    inside TileLangPreBigFuseNoPdlFn3First) and the default's rule since: this probe is now the default
    (TileLangPdlEverywhere is the one before)."""

    name = "tilelang-pre-big-fuse-no-pdl"
    description = "our TileLang kernels, the pre_big_fuse op without PDL at 35-50 MB of data (a benchmark probe)"
    no_pdl_megabytes = {"pre_big_fuse": (35.0, 50.0)}


class TileLangWgmmaFnBeforeWait(TileLangDecode18):
    """TileLangDecode with the tensor-core decode GEMM (mhc_pre and fused_post_pre at 17-32 tokens) staging
    its CTA's fn3 tiles before its PDL wait (wgmma_fn_before_wait; gemm.build_prenorm_gemm's fn_tiles: 2 x
    20 KB of fn3 beside 2 x 16 KB of x a CTA), as the default's FMA GEMM does with fn at 1-16 tokens for
    mhc_pre (0.3-0.6 us there on an H100, -13). For the one decode floor still missed: mhc_pre at 32 x 7168,
    8.6-8.9 us against 8 (-12, -13). Not where the call itself launched fn's split (a cold fn3 cache:
    fn3 is then the kernel just before's output). The same wgmma instructions on the same tiles: bitwise the
    default's outputs. First version on an H100 (results/gpu/2026-12-05-h100-engines-14, call 1): gate
    passed (108 bitwise checks, 0 / 1000 stress failures at mhc_pre 24 / 32 and fused_post_pre 32), but 4-5
    us slower at 32 tokens (its staging a T.copy whose loads waited on the stores before them). The second
    (loads into registers first) on an H100 (-15, call 1, inside TileLangPostWindowFn3Tma): gate passed,
    still 1.0-1.2 us slower at 24 / 32 tokens (mhc_pre 9.9 against 8.8 us at 32 x 7168, fused_post_pre 13.2
    against 10.5): not adopted."""

    name = "tilelang-wgmma-fn-before-wait"
    description = "our TileLang kernels, the tensor-core decode GEMM's fn3 staged before its PDL wait (a benchmark probe)"
    wgmma_fn_before_wait = frozenset({"mhc_pre", "fused_post_pre"})


class TileLangPreBigFuseNoPdlFn3First(TileLangPreBigFuseNoPdl):
    """TileLangPreBigFuseNoPdl and TileLangWgmmaFnBeforeWait at once: the seventeenth session's one gate
    and benchmark (-14/lease/call1.sh) for both, whose kernels differ from the default's in different ops
    and token counts (pre_big_fuse at 489-697 x 7168 / 855-1220 x 4096; mhc_pre and fused_post_pre at
    17-32 tokens). Each claims the default's bits, checked bitwise in the same call. Ran there on an H100:
    the gate passed; the no-PDL window was adopted, fn3's first staging was slower (TileLangWgmmaFnBeforeWait)."""

    name = "tilelang-pre-big-fuse-no-pdl-fn3-first"
    description = "our TileLang kernels, pre_big_fuse without PDL at 35-50 MB and fn3 before the decode GEMM's wait (a probe)"
    wgmma_fn_before_wait = TileLangWgmmaFnBeforeWait.wgmma_fn_before_wait


class TileLangPdlEverywhere(TileLangDecode18):
    """The default before the seventeenth session: the pre_big_fuse op with PDL at every token count
    (no_pdl_megabytes empty), for timing the no-PDL window against what it replaced."""

    name = "tilelang-pdl-everywhere"
    description = "our TileLang kernels, the pre_big_fuse op with PDL at every T (the default before 2026-12-06)"
    no_pdl_megabytes = {}


class TileLangPostPerTokenWindow(TileLangDecode18):
    """TileLangDecode with the hc_post op on post.py's kernel (one CTA per token) at 449-704 tokens and
    H = 4096 (hc_post_per_token_tokens): TileLangPostPerToken cut to where it was faster on the H100 in two
    runs (512 x 4096: 7.7 / 7.6 us against 9.2 / 9.1; 640: 14.7 / 14.5 against 15.3 / 14.8; -12 bench-l2
    and -13 l2-window), for the committed run's largest hc_post loss (512 x 4096, vLLM 1.20 x). The same
    per-element arithmetic: bitwise the default's output. Gated on an H100 (-15, call 1, inside
    TileLangPostWindowFn3Tma) and the default's rule since (TileLangPostWideCpAsyncPre is the one before)."""

    name = "tilelang-post-per-token-window"
    description = "our TileLang kernels, the hc_post op one CTA per token at 449-704 x 4096 (a benchmark probe)"
    hc_post_per_token_tokens = {4096: (449, 704)}


class TileLangPreTma(TileLangDecode18):
    """TileLangDecode with mhc_pre's GEMM (and fused_post_pre's) on the TMA kernel above the middle path
    (pre_gemm_tma_from_tokens 4097), as the prenorm_gemm op's is from 1025 tokens. For the committed H100
    run's eager losses there: mhc_pre at 80 000 x 4096 2 023 us against vLLM's 1 972 (65 536: 1 625 / 1 619),
    fused_post_pre 4 011 against 3 979, while our op (TMA) and pre_big_fuse op alone took 888 + 1 076
    (results/gpu/2026-12-05-h100-engines-14). The same instructions on the same values as the cp.async
    kernel (TileLangGemmTma's bitwise check): bitwise the default's outputs. On an H100 (-15, call 1,
    inside TileLangPostWindowFn3Tma; eager): faster at 80 000 tokens (mhc_pre 1 966 / 3 468 us against 2 019
    / 3 554 at H = 4096 / 7168), 0.2-0.5 % slower at 65 536; the default's rule since is TMA from 67 457
    tokens (pre_gemm_tma_from_tokens), where the cp.async plan gives each split one CTA."""

    name = "tilelang-pre-tma"
    description = "our TileLang kernels, mhc_pre's GEMM on TMA loads above 4096 tokens (a benchmark probe)"
    pre_gemm_tma_from_tokens = 4097


class TileLangPostWindowFn3Tma(TileLangPostPerTokenWindow):
    """TileLangPostPerTokenWindow, TileLangWgmmaFnBeforeWait (its second staging) and TileLangPreTma at once:
    the eighteenth session's one gate for the three (-15/lease/call1.sh), whose kernels differ from the
    default's at disjoint ops and token counts (the hc_post op at 449-704 x 4096; mhc_pre and fused_post_pre
    at 17-32 tokens; mhc_pre and fused_post_pre above 4096). Each claims the default's bits, checked bitwise
    in the same call; each is timed beside the default there, and adopted on its own. Ran on an H100 (-15,
    call 1): the gate passed; the hc_post window adopted, the TMA pre from 67 457 tokens, fn3 not."""

    name = "tilelang-post-window-fn3-tma"
    description = "our TileLang kernels, three probes at once: hc_post's per-token window, fn3 before the wait, mhc_pre's TMA GEMM (a probe)"
    wgmma_fn_before_wait = TileLangWgmmaFnBeforeWait.wgmma_fn_before_wait
    pre_gemm_tma_from_tokens = TileLangPreTma.pre_gemm_tma_from_tokens


class TileLangPostWideCpAsyncPre(TileLangDecode18):
    """The default before the eighteenth session: the hc_post op on hc_post_wide at every count to 4096
    (hc_post_per_token_tokens empty) and mhc_pre's GEMM above the middle path on cp.async at every T
    (pre_gemm_tma_from_tokens None), for timing those two rules against what they replaced."""

    name = "tilelang-post-wide-cp-async-pre"
    description = "our TileLang kernels, hc_post_wide to 4096 and mhc_pre's large-T GEMM on cp.async (the default before 2026-12-06)"
    hc_post_per_token_tokens = {}
    pre_gemm_tma_from_tokens = None


class TileLangPreCluster(TileLangDecode18):
    """TileLangDecode with decode_pre (without the RMSNorm weight) as one thread-block cluster per token
    (decode_pre_cluster): the mix CTA alone sums the GEMM's parts and hands the pre weights to 1024-column
    collapse CTAs across a cluster barrier. For mhc_pre's floor at 32 x 7168 (8.8 us on an H100,
    results/gpu/2026-12-06-h100-engines-15), where decode_pre runs 4.9 us after the GEMM against 3.7 at one
    token, every one of 480 CTAs summing 112 parts (-12's profile). Bitwise the default's outputs."""

    name = "tilelang-pre-cluster"
    description = "our TileLang kernels, decode_pre as one cluster per token (a benchmark probe)"
    decode_pre_cluster = True
    decode_pre_cluster_split_arrive = False  # the whole barrier, as it ran (the default splits it since -16)


class TileLangDecodeGemmTma(TileLangDecode18):
    """TileLangDecode with the decode path's tensor-core GEMM (17-32 tokens, M = 24) on the TMA kernel
    (decode_wgmma_tma): the same k16 order and sums of squares, bitwise the default's outputs. For the GEMM's
    3.6 us after its wait at 32 x 7168 (DeepGEMM's TMA kernel on the same 112 K ranges: 2.8). On an H100
    (results/gpu/2026-12-06-h100-engines-16, call 1): bitwise the default (ALL OK), 1.02-1.11 x its time at
    17-32 tokens: not adopted."""

    name = "tilelang-decode-gemm-tma"
    description = "our TileLang kernels, the decode tensor-core GEMM on TMA (a benchmark probe)"
    decode_wgmma_tma = True


class TileLangDecodeGemmOneTile(TileLangDecode18):
    """TileLangDecode with the decode path's tensor-core GEMM on one 256-column K tile per CTA
    (decode_wgmma_block_k = 256) instead of two of 128: one load round and one wgmma batch. The mixes keep
    the k16 order (bitwise); the sums of squares change association (each thread's 128 columns of the tile
    in one run): within the declared precision, not the default's bits, so a gate before any adoption. On an
    H100 (-16, call 1) 1.02-1.06 x the default's time at 17-32 tokens: not adopted."""

    name = "tilelang-decode-gemm-one-tile"
    description = "our TileLang kernels, the decode tensor-core GEMM on one 256-column K tile (a benchmark probe)"
    decode_wgmma_block_k = 256


class TileLangPreClusterGemmTma(TileLangPreCluster, TileLangDecodeGemmTma):
    """TileLangPreCluster and TileLangDecodeGemmTma at once (both bitwise the default's)."""

    name = "tilelang-pre-cluster-gemm-tma"
    description = "our TileLang kernels, decode_pre as a cluster and the decode GEMM on TMA (a benchmark probe)"


class TileLangOpPlainTma(TileLangDecode18):
    """TileLangDecode with the prenorm_gemm op at 129-1024 tokens on the caller's S splits alone (no chunks,
    no chunk_sum) through the TMA kernel with a 4-stage pipeline (op_plain_tma_tokens): DeepGEMM's shape where
    it leads, 256 x 4096 (5.8 us against 6.7, results/gpu/2026-12-06-h100-engines-15). Each split's partial in
    one accumulator instead of chunk sums added: not the default's bits, a gate before any adoption. On an
    H100 (-16, calls 1-2): 0.65-0.94 x the default's time at 384-640 tokens, 1.00 / 1.12 x at 256 (H = 4096 /
    7168), 1.03 x at 1024 x 7168: the default took it at 321-704 (TileLangDecode.op_plain_tma_tokens)."""

    name = "tilelang-op-plain-tma"
    description = "our TileLang kernels, the prenorm_gemm op at 129-1024 tokens on the caller's splits via TMA (a benchmark probe)"
    op_plain_tma_tokens = (129, 1024)


class TileLangPreCluster2(TileLangPreCluster):
    """TileLangPreCluster with the cluster barrier's halves apart (decode_pre_cluster_split_arrive): the mix
    CTA's warp 1 writes the pre weights and arrives with release semantics, its other warps arrive relaxed and
    none waits, so Sinkhorn (warp 0) does not wait for the release; the collapse CTAs arrive relaxed, then wait.
    On an H100 (results/gpu/2026-12-06-h100-engines-16, call 1) TileLangPreCluster took mhc_pre at 16 / 24 / 32
    x 7168 to 0.93 / 0.93 / 0.98 x the default's time but 1.06 x at one token (decode_pre 0.4 us longer after
    the GEMM there): the release in Sinkhorn's warp is the suspect. Bitwise the default's outputs. Call 2:
    0.87-0.98 x at 1-32 x 7168, 0.94-1.03 x at 4096: the default since (decode_pre_cluster_split_arrive)."""

    name = "tilelang-pre-cluster2"
    description = "our TileLang kernels, decode_pre as one cluster per token, the barrier split (a benchmark probe)"
    decode_pre_cluster_split_arrive = True


def _plan_with_fma_from_17(tunables: dict) -> tuple:
    """DECODE_GEMM_PLAN with M = 24's tensor-core row (17-32 tokens) on the FMA kernel at ``tunables``."""
    return tuple((m, t, "fma", dict(tunables)) if m == 24 and kernel == "wgmma" else (m, t, kernel, tun)
                 for m, t, kernel, tun in DECODE_GEMM_PLAN)


class TileLangFma512(TileLangDecode18):
    """TileLangDecode with mhc_pre's decode GEMM at 17-32 tokens on the FMA kernel, 32 tokens and 512 threads a
    CTA (one CTA per K range: 112 at H = 7168, each staging fn's 24 KB slice once, before the PDL wait): the
    tensor-core kernel there runs 3.4-3.6 us after its wait at 32 x 7168 (this session's call 1 profile) on
    fn3's 4.6 MB, where the FMA kernel reads fp32 fn's 2.75 MB; block_t 16 (224 CTAs, fn read twice) lost
    at 24-32 x 7168 (-13). FMA partials, not the tensor cores': a gate before any adoption. On an H100 (-16,
    call 2): 1.04-1.07 x the default's time at 17-32 x 7168 (1024 threads: 1.12-1.16 x): not adopted."""

    name = "tilelang-fma512"
    description = "our TileLang kernels, the FMA decode GEMM at 32 tokens x 512 threads for 17-32 tokens (a benchmark probe)"
    decode_gemm_plan = _plan_with_fma_from_17({"block_t": 32, "threads": 512})


class TileLangFma1024(TileLangDecode18):
    """TileLangFma512 at 1024 threads a CTA (8 columns a thread)."""

    name = "tilelang-fma1024"
    description = "our TileLang kernels, the FMA decode GEMM at 32 tokens x 1024 threads for 17-32 tokens (a benchmark probe)"
    decode_gemm_plan = _plan_with_fma_from_17({"block_t": 32, "threads": 1024})


class TileLangPreCluster2Fma512(TileLangPreCluster2, TileLangFma512):
    """TileLangPreCluster2 and TileLangFma512 at once."""

    name = "tilelang-pre-cluster2-fma512"
    description = "our TileLang kernels, the split-barrier cluster pre and the 512-thread FMA GEMM at 17-32 (a benchmark probe)"


class TileLangMidHalfWave(TileLangDecode18):
    """TileLangDecode with the middle path's GEMM on half a wave of CTAs (mid_waves = 0.5): half the K ranges,
    each twice as long, and half the partials for the fused pre to sum. At 1024 x 4096 (32 ranges of 4 tiles,
    256 CTAs) our mhc_pre's GEMM ran 13.4 us after its wait and its pre 12.8 after the GEMM, against DeepGEMM's
    12.1 (8 splits of 128 CTAs) and vLLM's pre's 11.0 on those 8 (this session's call 1 profile), and the
    prenorm_gemm op there (16 ranges) took 12.6. Other K ranges, other sums: a gate before any adoption. On an
    H100 (-16, call 2) 1.05-1.21 x the default's time at 256-768 x 7168 (0.93 at 128, 0.92 at 256 x 4096, the
    bench stopped there): not adopted; TileLangMidDeepShape is the next try."""

    name = "tilelang-mid-half-wave"
    description = "our TileLang kernels, the middle path's GEMM on half a wave of CTAs (a benchmark probe)"
    mid_waves = 0.5


class TileLangNineteenth(TileLangPreCluster2Fma512, TileLangMidHalfWave, TileLangOpPlainTma):
    """The nineteenth session's candidates at once, for one gate: TileLangPreCluster2 (bitwise the default),
    TileLangFma512 (the FMA decode GEMM at 17-32 tokens), TileLangMidHalfWave (the middle GEMM on half a wave)
    and TileLangOpPlainTma (the op on the caller's splits via TMA at 129-1024 tokens). Each changes its own
    (op, T): a gate over all of them covers any subset adopted."""

    name = "tilelang-nineteenth"
    description = "our TileLang kernels, the nineteenth session's candidates at once (a gate probe)"



class TileLangMidDeepShape(TileLangDecode19):
    """TileLangDecode19 with mhc_pre's and fused_post_pre's middle GEMM at 385-1024 tokens in DeepGEMM's shape
    (mid_deep_tokens: 64-token blocks, the most K ranges keeping one CTA per SM, TMA, 4 stages), the fused pre on
    those few parts. For vLLM's lead at 512 / 1024 x 4096 (1.04 / 1.09 x in results/gpu/2026-12-06-h100-engines-16's
    committed run). Not the default's bits. Gated and adopted in the twentieth session
    (results/gpu/2026-12-06-h100-engines-17, calls 2-3; TileLangDecode.mid_deep_tokens): 0.87-0.94 x the default's
    time at 512-1024 x 4096 and 512 / 640 x 7168."""

    name = "tilelang-mid-deep-shape"
    description = "our TileLang kernels, mhc_pre's middle GEMM in DeepGEMM's shape at 385-1024 tokens (a benchmark probe)"
    mid_deep_tokens = (385, 1024)


class TileLangSplitInKernel(TileLangDecode19):
    """TileLangDecode19 with tma_split_in_kernel: every TMA GEMM call (the op's plain window at 321-704 tokens,
    mhc_pre's and fused_post_pre's GEMM from 67 457) takes fn in fp32 and splits each K tile into its bf16
    pieces in the kernel (12 KB of fn per 128-column tile instead of fn3's 20). The same pieces, the same wgmma
    order: bitwise the default's outputs (results/gpu/2026-12-06-h100-engines-17, call 3:
    scripts/debug/split_in_kernel_check.py ALL OK on the fixed GEMM). Slower: the split GEMM alone took 12.7 us
    against the fn3 TMA GEMM's 3.7 at 32 x 7168 and 48.7 against 8.0 at the op's 384 x 7168 (call 2, both
    without their tiles' squares), the op 4.5-5.7 x the default's time in its window (call 1): rejected."""

    name = "tilelang-split-in-kernel"
    description = "our TileLang kernels, the TMA GEMMs splitting fp32 fn in the kernel (a benchmark probe)"
    tma_split_in_kernel = True


class TileLangTwentieth(TileLangSplitInKernel):
    """TileLangSplitInKernel where each of the twentieth session's GEMM gaps runs on the TMA kernel, so on
    fp32 fn split in the kernel: the decode tensor-core GEMM at 17-32 tokens (decode_wgmma_tma; mhc_pre at
    32 x 7168: the GEMM 3.5 us against DeepGEMM's 2.8, which reads fn in fp32), the prenorm_gemm op at
    129-1024 tokens on the caller's splits (op_plain_tma_tokens; DeepGEMM 6.2 against 6.7 us at 256 x 4096 in
    -16), mhc_pre's and fused_post_pre's middle GEMM at 385-1024 tokens in DeepGEMM's shape (mid_deep_tokens,
    as TileLangMidDeepShape; vLLM 1.04 / 1.09 x at 512 / 1024 x 4096). Each changes its own (op, T), so one
    gate covers any subset. The op's window and the deep shape are not the default's bits (other K ranges);
    the decode GEMM on TMA is. Call 1 (-17): 1.6-1.8 x the default's time at 17-32 tokens, 1.7-3.2 x at 512-1024,
    the op 3.9-6.2 x at 192-768 (its gate ran on the GEMM without its tiles' squares: no verdict)."""

    name = "tilelang-twentieth"
    description = "our TileLang kernels, the twentieth session's fp32-fn TMA GEMMs at once (a gate probe)"
    decode_wgmma_tma = True
    op_plain_tma_tokens = (129, 1024)
    mid_deep_tokens = (385, 1024)


class TileLangHcPostFlat(TileLangDecode):
    """hc_post (the op's and fused_post_pre's) on hc_post_wide above 4096 tokens too, its CTAs on one grid
    dimension (hc_post_flat_from_tokens), where the default ran post.py's one CTA per token: at 65 536 / 80 000
    tokens post.py's kernel ran 96.5-98.0 % of the copy beside it and SGLang's 97.5-98.6 %, hc_post_wide 100.2 %
    at 4096 (results/gpu/2026-12-06-h100-engines-16). Bitwise post.py's (the same per-element arithmetic). On an
    H100 (-18, call 1) 0.976-0.983 x its time at 65 536 / 80 000 tokens: the default since (TileLangDecode20 before)."""

    name = "tilelang-hc-post-flat"
    description = "our TileLang kernels, hc_post_wide on a flat grid above 4096 tokens (a probe)"
    hc_post_flat_from_tokens = 4097


class TileLangOpFourStages(TileLangDecode):
    """The prenorm_gemm op above its middle path (1025 tokens up: TileLangBackend's GEMM, block_m 128, TMA) with a
    four-stage pipeline instead of three (204 800 B of shared memory, one CTA per SM either way): one more K tile
    in flight per SM where the op reads x at the copy's rate (99.5 % of the copy beside at 65 536 x 4096,
    DeepGEMM's 99.7 %, -16). The same K tile, threads and k16 order: the same bits. On an H100 (-18, call 1) 1.017 x
    the default's time at 4096 x 7168, 0.991-1.007 x elsewhere: rejected."""

    name = "tilelang-op-four-stages"
    description = "our TileLang kernels, the prenorm_gemm op's large-T GEMM with four stages (a probe)"
    op_gemm_tunables = {**OP_K_TILES, 128: {**OP_K_TILES[128], "num_stages": 4}}


class TileLangTwentyFirst(TileLangHcPostFlat, TileLangOpFourStages):
    """Both of the twenty-first session's probes at once, for one gate: hc_post_wide on a flat grid above 4096 tokens
    (hc_post, fused_post_pre) and the op's large-T GEMM with four stages (prenorm_gemm). Each changes its own ops."""

    name = "tilelang-twenty-first"
    description = "our TileLang kernels, the twenty-first session's large-T probes at once (a gate probe)"


class TileLangOpPlainDeep(TileLangDecode):
    """The prenorm_gemm op at 129-704 tokens on the caller's S splits alone through the TMA kernel (op_plain_tma_tokens,
    the default's from 321) with six stages instead of four (op_plain_tma_stages; 6 x 36 KB of x and fn3 tiles at
    64-token blocks): at 256 x 4096 the 16 splits make 64 CTAs of eight 128-column tiles each, and DeepGEMM, which
    leads there (5.8 against 6.8 us in -18's committed run), keeps 12 of its 16 K blocks in flight per CTA. At
    129-320 tokens not the default's bits (each split in one accumulator instead of chunk sums added): a gate
    before any adoption; at 321-704 the same bits (one more stage). On an H100 (-19, call 1, graph-replayed):
    1.025 x the default at 256 x 4096 (6.88 against 6.71 us; DeepGEMM 5.86), 1.14 x at 256 x 7168, 1.02-1.09 x the
    four-stage window at 257-704: rejected. It showed the default's middle path at 257-320 tokens 1.12-1.31 x the
    four-stage plain window's time (hence TileLangOpPlainFrom257)."""

    name = "tilelang-op-plain-deep"
    description = "our TileLang kernels, the prenorm_gemm op at 129-704 tokens on the caller's splits, 6 TMA stages (a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    op_plain_tma_tokens = (129, 704)
    op_plain_tma_stages = 6


class TileLangPreDsmem(TileLangDecode):
    """decode_pre_cluster with the pre weights handed over through distributed shared memory
    (decode_pre_cluster_dsmem: decode.build_decode_pre_cluster's dsmem_pre): the mix CTA's warp 0 stores them into
    every collapse CTA's shared memory and releases them, Sinkhorn runs on its warp 1; the collapse CTAs read their
    own shared memory after the wait instead of global scratch (an L2 store the release waits for, an L2 load after
    the wait). For mhc_pre at 32 x 7168 (8.1 us in -18's committed run, 8 asked; decode_pre_cluster runs 4.2 us
    after the GEMM ends there). Bitwise the default (the same expression on the same sums). On an H100 (-19, call 1):
    bitwise the default (GPU bit tests, 0 / 1000 stress inside TileLangTwentySecond), but 1.003-1.024 x its time at
    1-32 tokens, both H (mhc_pre 8.07 against 8.02 us at 32 x 7168; the profile: the cluster pre ends 0.16 us
    later): rejected."""

    name = "tilelang-pre-dsmem"
    description = "our TileLang kernels, the cluster pre's weights through distributed shared memory (a probe)"
    decode_pre_cluster_dsmem = True


class TileLangOpPlainDeep64(TileLangOpPlainDeep):
    """TileLangOpPlainDeep on 64-column K tiles with twelve stages (op_plain_tma_block_k; 12 x 18 KB of x and fn3
    tiles at 64-token blocks, 768 columns in flight as with six of 128): DeepGEMM's shape at 256 x 4096
    (sm90_tf32_hc_prenorm_gemm_impl<..., 64 tokens, ..., 64-column K blocks, 16 splits, ..., 12 stages>, -16's
    profiles/c1-op-H4096.md), a CTA's 16 tiles a finer pipeline than its 8. Other sums of squares (16 tiles of 64 per
    run): not the default's bits anywhere in the window, a gate before any adoption. On an H100 (-19, call 1):
    0 / 1000 stress failures at 129-704, but 1.00-1.52 x the default's time (8.46 against 6.71 us at 256 x 4096):
    rejected."""

    name = "tilelang-op-plain-deep64"
    description = "our TileLang kernels, the op at 129-704 tokens, plain, 64-column K tiles, 12 stages (a probe)"
    op_plain_tma_block_k = 64
    op_plain_tma_stages = 12


class TileLangTwentySecond(TileLangPreDsmem, TileLangOpPlainDeep):
    """Both of the twenty-first session's decode probes at once, for one gate: the cluster pre's weights through
    distributed shared memory (mhc_pre, fused_post_pre, pre_big_fuse at 1-32 tokens) and the op on the caller's
    splits with six TMA stages at 129-704 tokens (prenorm_gemm). Each changes its own ops. On an H100 (-19, call 1):
    0 / 1000 stress failures at mhc_pre 1 / 17 / 32, fused_post_pre 32, pre_big_fuse 16 and the op at 129 / 256 /
    320 / 704 (H = 7168); the nightly checks of mhc_pre, fused_post_pre, pre_big_fuse and prenorm_gemm pass, with
    the path anchors. Neither probe in it was faster."""

    name = "tilelang-twenty-second"
    description = "our TileLang kernels, the dsmem cluster pre and the op's deep plain window (a gate probe)"


class TileLangOpPlainFrom257(TileLangDecode):
    """The op's plain window (the caller's S splits alone, four TMA stages: the default's at 321-704) from 257 tokens:
    at 257-320 the default's middle GEMM + chunk_sum have a fifth 64-token block, and the wave rule then takes 112 K
    ranges at H = 7168 (560 CTAs of 2 tiles, 7 chunks a split for chunk_sum; 32 ranges at 256 tokens). On an H100
    (-19, calls 1-2, graph-replayed, TileLangOpPlainTma's window over 129-1024 beside the default): 0.76-0.79 x the
    default's time at 257 / 288 / 320 x 7168 (320: 13.33 -> 10.14 us, DeepGEMM 9.26), 0.87-0.89 x at 4096 (320:
    8.12 -> 7.06, DeepGEMM 6.82); at 256 the middle path stays (the plain window 1.00-1.14 x there). Each split in
    one accumulator at 257-320, not the default's bits there. The same arithmetic with six stages (the GPU test
    test_the_plain_windows_four_and_six_stages_give_the_same_bits checks the bits; not run yet) passed 0 / 1000
    stress at 256 / 320 and the nightly check inside TileLangTwentySecond; its own gate is lease/next.sh of
    results/gpu/2026-12-06-h100-engines-19, which passed in the twenty-third session (results/gpu/
    2026-12-06-h100-engines-20, call 1): the default's window since then, so this class is the default under
    the name that run benchmarked."""

    name = "tilelang-op-plain-from257"
    description = "our TileLang kernels, the op's plain TMA window from 257 tokens (a probe)"
    op_plain_tma_tokens = (257, 704)


class TileLangOpChunksDsmem(TileLangDecode):
    """The prenorm_gemm op's chunks summed inside their thread-block cluster through distributed shared memory
    (TileLangDecode.op_chunks_dsmem): where the middle GEMM cuts each of the caller's splits into 2 .. 8
    chunks (at 256 tokens two, both H; 64-128 tokens four to eight), no chunk_sum launch behind it. For the op
    at 256 x 4096, the one point of the op where DeepGEMM leads (5.86 against 6.71 us, -19): there each CTA of
    64 tokens and 8 tiles of 128 columns runs 2.6 us of wgmma (64 x 80 x 1024 at 1024 multiply-adds a clock)
    on 64 SMs, the middle path's half of it on 128 SMs plus chunk_sum's 1.2 us of the period (profiles
    -16 / -19). TileLangGemmOpCluster (the same through global scratch) was 1.26-1.80 x slower on an H100
    (-9, not profiled). Bitwise the default's outputs (the same sub-partials added in the same order). On an H100
    (results/gpu/2026-12-06-h100-engines-20, call 2, graph-replayed): bitwise the default at six points (the GPU
    bit test, three reruns each), 0 / 1000 stress failures at 128 / 193 / 256 x 7168, its nightly check of the op
    passing; but 1.12 / 1.14 x the default's time at 192 / 256 x 4096 (7.8 us at 256, the default 6.8, DeepGEMM
    6.1) and 1.3-3.2 x wherever a split has 4-7 chunks (22.9 against 7.1 us at 128 x 7168): one kernel of 7.4 us
    a call at 256 x 4096 against the default's GEMM + chunk_sum in 6.5 (profile). The pushes are scalar stores
    through cooperative_groups' map_shared_rank, a __syncthreads before each (TileLang 0.1.15's SIMT fallback of
    T.copy_cluster), and the first barrier waits for the slowest chunk. Rejected."""

    name = "tilelang-op-chunks-dsmem"
    description = "our TileLang kernels, the prenorm_gemm op's chunks summed through distributed shared memory (a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    op_chunks_in_cluster = True
    op_chunks_dsmem = True


class TileLangSquaresUnderWgmma(TileLangDecode):
    """Every TMA GEMM call of the default with each K tile's sum of squares under the tile's wgmma batch
    (TileLangBackend.tma_squares_under_wgmma): the op's plain window (257-704 tokens) and its GEMM from 1025,
    mhc_pre's (and fused_post_pre's) middle GEMM in DeepGEMM's shape (385-1024) and its GEMM from 67 457. Why: in
    the default's TMA kernel each tile's squares, wgmma batch and wait run one after another on the consumer
    warpgroup, and the op at 256 x 4096 slowed from 6.5 to 8.2 us when its tiles halved (twelve 64-column stages,
    -19), so the per-tile work, not the loads, sets the pace there. The same instructions on the same tiles in the
    same order: the default's bits (tests/test_tilelang_gpu_bits.py). On an H100 (results/gpu/2026-12-06-h100-engines-21, call 1): bitwise
    the default in 13 GPU bit tests, gated inside TileLangTwentyFourth (0 / 1000 stress failures at five points, the
    nightly checks of the op and mhc_pre passing), but 0.93-1.01 x the default's time (the op at 256 x 4096 1.00 x):
    the per-tile work was not what the window waits for. Not adopted."""

    name = "tilelang-squares-under-wgmma"
    description = "our TileLang kernels, each TMA GEMM tile's sum of squares under its wgmma (a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    tma_squares_under_wgmma = True


class TileLangSquaresPlainFrom129(TileLangSquaresUnderWgmma):
    """TileLangSquaresUnderWgmma with the op's plain window from 129 tokens (the caller's S splits alone on the
    TMA kernel: 48-64 CTAs at 129-256 tokens and S = 16, no chunk_sum), where the default runs the middle GEMM
    (128 CTAs at 256 x 4096) and chunk_sum. For the op at 192 / 256 x 4096 (DeepGEMM's 64 CTAs 1.08-1.16 x ahead
    of our middle path in -20). Each split in one accumulator at 129-256: not the default's bits there. On an H100
    (results/gpu/2026-12-06-h100-engines-21, call 1): 0.97-0.98 x the default's time at 192-256 x 4096 (6.58 us at 256, DeepGEMM 6.01), 1.08-1.14 x
    at 160-256 x 7168: not adopted."""

    name = "tilelang-squares-plain-from129"
    description = "our TileLang kernels, squares under the wgmma and the op's plain window from 129 tokens (a probe)"
    op_plain_tma_tokens = (129, 704)


class TileLangDecodeTmaSquares(TileLangSquaresUnderWgmma):
    """TileLangSquaresUnderWgmma with the decode path's tensor-core GEMM (17-32 tokens, M = 24) on the TMA kernel too
    (decode_wgmma_tma), its squares under the wgmma: for mhc_pre at 32 x 7168 (8.03 us in -20's committed run, 8
    asked), whose GEMM ends 4.8 us into the call. On TMA alone (TileLangDecodeGemmTma) it took 1.02-1.11 x the
    default's time at 17-32 tokens (-16). The default's bits. On an H100 (results/gpu/2026-12-06-h100-engines-21, call 1): mhc_pre 1.13-1.18 x the
    default's time at 17-32 x 7168, 1.06-1.07 x at 4096: rejected."""

    name = "tilelang-decode-tma-squares"
    description = "our TileLang kernels, squares under the wgmma, the decode tensor-core GEMM on TMA too (a probe)"
    decode_wgmma_tma = True


class TileLangTwentyFourth(TileLangSquaresPlainFrom129, TileLangDecodeTmaSquares):
    """The twenty-fourth session's gate probe: TileLangSquaresPlainFrom129 and TileLangDecodeTmaSquares at once (the
    squares under the wgmma on every TMA GEMM, the decode tensor-core GEMM on TMA, the op's plain window from 129
    tokens), so one stress run and one nightly check cover every kernel either would bring into the default."""

    name = "tilelang-twenty-fourth"
    description = "our TileLang kernels with the twenty-fourth session's probes at once (a gate probe)"


class TileLangFn3LiveRows(TileLangSquaresUnderWgmma):
    """TileLangSquaresUnderWgmma with fn3's 72 live rows alone read by every TMA GEMM (TileLangBackend.tma_fn3_live_rows:
    the wgmma's 8 padding rows zero-filled by TMA, not read): 5.5 % fewer bytes a CTA of the op's plain window. The
    default's bits (the same zeros in the same shared memory). On an H100 (results/gpu/2026-12-06-h100-engines-21, call 2): bitwise the default in 7
    GPU bit tests; 0.96-0.97 x its time at 704 x 4096 and 320 x 7168, within the replays' ranges elsewhere: not
    adopted."""

    name = "tilelang-fn3-live-rows"
    description = "our TileLang kernels, squares under the wgmma, fn3's live rows alone on TMA (a probe)"
    tma_fn3_live_rows = True


class TileLangLiveFrom129(TileLangFn3LiveRows):
    """TileLangFn3LiveRows with the op's plain window from 129 tokens (TileLangSquaresPlainFrom129's)."""

    name = "tilelang-live-from129"
    description = "our TileLang kernels, fn3's live rows, squares under the wgmma, the op's window from 129 (a probe)"
    op_plain_tma_tokens = (129, 704)


class TileLangOpPlainWide(TileLangLiveFrom129):
    """TileLangLiveFrom129 with the op's plain window on 256-column K tiles, three stages (216 KB of shared memory:
    three of a CTA's four tiles in flight at S = 16 and H = 4096): half the per-tile waits and barriers of the
    128-column window (-19: twelve 64-column stages took 8.2 us at 256 x 4096 against four 128-column ones' 6.5).
    The sums of squares in 256-column runs: not the default's bits; it needs its own gate. On an H100 (results/gpu/2026-12-06-h100-engines-21, calls
    2-3): gated (0 / 1000 stress failures at the op's 129 / 256 and mhc_pre's 512 x 7168, the op's nightly check
    passing); 0.90-0.95 x the default's time at 160-256 x 4096 (6.34 / 6.47 us at 256, DeepGEMM 5.80 / 6.01), but
    1.04-1.10 x at 320 / 512 x 4096: not adopted, the loss to DeepGEMM there narrowed, not ended."""

    name = "tilelang-op-plain-wide"
    description = "our TileLang kernels, the op's plain window from 129 tokens on 256-column tiles (a probe)"
    op_plain_tma_block_k = 256
    op_plain_tma_stages = 3


class TileLangOpMidWide(TileLangFn3LiveRows):
    """TileLangFn3LiveRows with the op's middle GEMM at op_mid_wide_tokens (129-256) on TMA in 256-column K tiles, all of
    a CTA's tiles in flight (up to three stages), where each K range is a whole number of them (H = 4096: 32 ranges
    of 512 columns, two tiles; H = 7168's 896-column ranges keep the default's GEMM): the same K ranges and chunk_sum
    as the default, the CTA's loads in two TMA boxes instead of four cp.async tiles two at a time. For the op at
    160-256 x 4096, where DeepGEMM led every kernel of ours in calls 1-2 (5.7-5.9 against 6.3-6.7 us) and the window
    on 256-column tiles (TileLangOpPlainWide, 64 CTAs) came within 1.09 x. The mixes are the default's bits (the
    same k16 order per range, the same chunk sums); the sums of squares run over 256-column tiles: its own gate. On an
    H100 (results/gpu/2026-12-06-h100-engines-21, call 3): the mixes bitwise the default's, 0 / 1000 stress failures at 129 / 192 / 256 x 4096, but
    1.02-1.06 x the default's time at 160-256 x 4096: rejected."""

    name = "tilelang-op-mid-wide"
    description = "our TileLang kernels, the op's middle GEMM at 129-256 tokens on TMA in 256-column tiles (a probe)"
    op_mid_wide_tokens = (129, 256)

    def _mid_gemm(self, x, fn, n, hidden, parts, early=False, op=None, tma=None, target=None):
        from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

        t, cols = x.shape[0], n * hidden // parts
        first, last = self.op_mid_wide_tokens
        if (op == "prenorm_gemm" and first <= t <= last and cols % 256 == 0 and target is None
                and self._mid_block_m(op, t) == SMALL_T_BLOCK_M):
            return self._tma_gemm(x, fn, n, hidden, parts, SMALL_T_BLOCK_M, min(cols // 256, 3), early, block_k=256)
        return super()._mid_gemm(x, fn, n, hidden, parts, early, op, tma, target)

    def path_boundaries(self, op: str) -> tuple[int, ...]:
        first, last = self.op_mid_wide_tokens
        extra = (first - 1, first, last, last + 1) if op == "prenorm_gemm" else ()
        return tuple(sorted(set(super().path_boundaries(op)) | set(extra)))


class TileLangOpChunksOnCounter(TileLangDecode):
    """The prenorm_gemm op's chunks summed by the split's last chunk to finish, found on a counter
    (TileLangDecode.op_chunks_on_counter, gemm.build_prenorm_gemm's counter_chunks), where the middle GEMM cuts
    each of the caller's splits into 2 .. 8 chunks: no chunk_sum launch behind the GEMM, and unlike the clusters
    (TileLangGemmOpCluster, TileLangOpChunksDsmem, both slower: -9, -20) no CTA waits for another and no cluster
    has to be scheduled. For the op at 256 x 4096, the one point of issue 16's grid where DeepGEMM leads (6.0 against
    6.7 us, -20 / -21): there the default's GEMM (128 CTAs, 2 chunks a split) ends about 1.6 us before chunk_sum
    does (profiles -20 / -21); the last chunk's sum is two L2 round trips (its count, the other chunk's sub-partials)
    behind its own GEMM instead. The same sub-partials added in the same order: bitwise the default's outputs.
    The counter's acq_rel atomic alone orders the writes and reads (op_counter_fence "none"). On an H100
    (results/gpu/2026-12-06-h100-engines-22): bitwise and gated in calls 1-2, but 1.3-1.7 x the default's time, with
    every thread fencing (call 1, now TileLangOpCounterEveryThreadFence) and without (call 2: 9.36 against 6.84 us at
    256 x 4096); the fences were not the cost. In both builds the last chunk's loads sat behind its previous output's
    store (sm_90a PTX: twelve dependent ld.cg, ld.cg, st chains, nvcc unable to tell the scratch from the outputs):
    twelve L2 round trips in a row on the kernel's last CTA. It now loads every sub-partial first (the same adds in
    the same order): not yet timed."""

    name = "tilelang-op-chunks-on-counter"
    description = "our TileLang kernels, the prenorm_gemm op's chunks summed by the last chunk on a counter (a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    op_chunks_on_counter = True


class TileLangOpCounterFirstThreadFence(TileLangOpChunksOnCounter):
    """TileLangOpChunksOnCounter with the counting thread fencing before and after its atomic (__threadfence,
    cooperative groups' grid-barrier pattern; op_counter_fence "first_thread"): what a fence costs beside the
    atomic, measured against the atomic alone. The same sums: bitwise the default's outputs."""

    name = "tilelang-op-counter-first-thread-fence"
    description = "our TileLang kernels, the op's chunks summed on a counter, the counting thread fencing (a probe)"
    op_counter_fence = "first_thread"


class TileLangOpCounterEveryThreadFence(TileLangOpChunksOnCounter):
    """TileLangOpChunksOnCounter as first built: every thread fences its own sub-partials (__threadfence) before the
    count, and again in the last chunk before its reads (op_counter_fence "every_thread"). On an H100
    (results/gpu/2026-12-06-h100-engines-22, call 1): bitwise the default at seven points (eager and graph-replayed on
    a side stream), 0 / 1000 stress failures at the op's 97 / 193 / 256 x 4096 and 128 / 256 x 7168, its nightly
    check of the op passing; but 1.40-1.83 x the default's time wherever it runs (10.4 against 6.9 us at 256 x 4096;
    profile: one GEMM of about 9.6 us alone, the default's 5.3 with chunk_sum behind it). Rejected."""

    name = "tilelang-op-counter-every-thread-fence"
    description = "our TileLang kernels, the op's chunks summed on a counter, every thread fencing (a probe, rejected)"
    op_counter_fence = "every_thread"


class TileLangChunkSumLoadsFirst(TileLangDecode):
    """The default with chunk_sum loading each thread's sub-partials ahead of its stores (TileLangBackend.
    reduce_chunks_with "kernel_loads_first", gemm.build_chunk_sum's loads_first). In the default's chunk_sum each
    output's loads follow the previous output's store and nvcc keeps them there (sm_90a PTX at two chunks: four ld,
    ld, st chains, one dependent L2 round trip each), behind the GEMM on the prenorm_gemm op's decode and middle
    paths; at 256 x 4096 chunk_sum ends 1.6 us after the GEMM (profiles -20 to -22), DeepGEMM leading by 0.9 us. The
    counter probe's last chunk had the same chains, twelve of them (TileLangOpChunksOnCounter). The same adds in the
    same order: bitwise the default's outputs. On an H100 (results/gpu/2026-12-07-h100-engines-23, -22's
    lease/next.sh): bitwise (GPU bit tests), 0 / 1000 stress failures at the op's 17 / 128 / 256 x 7168 and 256 x
    4096, the op's nightly check passing, 0.87-0.97 x the default's time at 1-256 tokens, both H (6.28 against
    6.72 us at 256 x 4096; DeepGEMM 5.85): the default since the twenty-sixth session (TileLangBackend.
    reduce_chunks_with); kept under its name so that run's script reruns as it ran."""

    name = "tilelang-chunk-sum-loads-first"
    description = "our TileLang kernels, chunk_sum with each thread's loads ahead of its stores (now the default's)"
    reduce_chunks_with = "kernel_loads_first"


class TileLangChunkSumSerial(TileLangDecode):
    """The default with chunk_sum as it ran until the twenty-sixth session: each output's loads behind the previous
    output's store (TileLangBackend.reduce_chunks_with "kernel"). The same bits as the default's."""

    name = "tilelang-chunk-sum-serial"
    description = "our TileLang kernels, chunk_sum's loads behind its stores (the default before, a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    reduce_chunks_with = "kernel"


class TileLangOpCoResident(TileLangDecode):
    """The prenorm_gemm op's middle-path K ranges (33-256 and 705-1024 tokens: where chunk_sum adds the chunks back)
    by wave_cost_parts with two co-resident CTAs per SM, as TileLangMidCoResident did for mhc_pre. The op's middle
    GEMM (64-token blocks, two stages of 128-wide tiles, 68 KiB of shared memory) holds one CTA per SM at 256 x 4096:
    32 ranges, 128 CTAs of 4 tiles, two tiles in flight per SM; the GEMM ends at 5.2 us there and DeepGEMM's whole op
    at 5.9 (results/gpu/2026-12-07-h100-engines-23, call 1's profile). Two co-resident take 64 ranges (256 CTAs of 2
    tiles, all four of an SM's tiles in flight at once) and chunk_sum adds 4 chunks a split instead of 2; since it
    loads first (the twenty-sixth session) more chunks cost it more loads in flight, not more round trips. At
    256 x 7168, 112 ranges (448 CTAs of 2 tiles, 7 chunks) for 32 of 7. Other K ranges: other fp32 sums of the same
    products, within the declared bound; not the default's bits, so its gate is the op's nightly check and stress.
    Measured on an H100 (results/gpu/2026-12-07-h100-engines-24, call 1) and rejected: correct (0 / 1000 stress
    failures at 192 / 256 / 768 x 7168, the op's nightly check without a failure), but 1.15-1.51 x the default's time
    at 256 / 768 / 1024 x 7168 and 768 / 1024 x 4096, 0.99 x at 192 / 256 x 4096 (6.2 us there, as the default and
    DeepGEMM). Two CTAs per SM do not overlap their tiles' loads as the rule assumed."""

    name = "tilelang-op-co-resident"
    description = "our TileLang kernels, the op's middle K ranges for two CTAs per SM (a probe)"
    op_multicast_tokens = None  # the op at 129-256 tokens as probed, before the thirty-third session's window
    op_co_resident = 2


class TileLangPreTriggerFirst(TileLangDecode):
    """The default with decode_pre_cluster's CTAs launching PDL's dependents right after their wait, not at their end
    (decode_pre_cluster_trigger_first): mhc_pre, fused_post_pre's pre and the pre_big_fuse op at 1-32 tokens. For
    mhc_pre's floor at 32 x 7168 (8.0-8.2 us against 8 asked in -24): the kernel behind this one (in a replayed chain
    the next call's GEMM) launches while the mix CTA still sums the parts and runs Sinkhorn (1.7 us of a call), and
    waits resident for this grid's completion. The same instructions otherwise: bitwise the default's outputs.
    Slower on an H100 (results/gpu/2026-12-07-h100-engines-25, call 1, graph-replayed): 1.04-1.15 x the default's
    time for mhc_pre, fused_post_pre and pre_big_fuse at 1-32 tokens, both H (mhc_pre 32 x 7168 8.9 us against 8.2).
    Its profile there: the next call's GEMM, launched early, ran 8.8 us from its start against 4.8, and the period
    grew from 7.5 to 9.2 us. Rejected."""

    name = "tilelang-pre-trigger-first"
    description = "our TileLang kernels, the cluster pre triggering its PDL dependents right after its wait (a probe)"
    decode_pre_cluster_trigger_first = True


class TileLangPostPipelined(TileLangDecode):
    """The default with the hc_post op on post.build_hc_post's pipelined kernel (stages) at 64-4096 tokens, both H
    (hc_post_pipelined_tokens): one CTA per token, its seven (H = 7168) or four 1024-column blocks' loads through a
    two-deep cp.async pipeline, against hc_post_wide's CTA per (1024 columns, token) and vLLM's CTA per token without
    a pipeline (2-4 % ahead of hc_post_wide at 256 x 7168 in -24's three repeats). The bench says where it pays; the
    window is then cut to that. The same per-element arithmetic: bitwise the default's output. On an H100
    (results/gpu/2026-12-07-h100-engines-25, call 1): 0.934 / 0.966 x the default's time at 256 x 7168 / 4096, even at
    384-512, slower at 64-192 (1.09-1.30 x) and 640-4096 (1.02-1.04 x); the default's since the twenty-eighth
    session at 225-320 x 7168 and 225-448 x 4096 (TileLangDecode.hc_post_pipelined_tokens)."""

    name = "tilelang-post-pipelined"
    description = "our TileLang kernels, the hc_post op one CTA per token with a cp.async pipeline (a probe)"
    hc_post_pipelined_tokens = {4096: (64, 4096), 7168: (64, 4096)}
    hc_post_pipeline_stages = 2


class TileLangPostPipelined3(TileLangPostPipelined):
    """TileLangPostPipelined with a three-deep pipeline (three blocks' loads in flight a token)."""

    name = "tilelang-post-pipelined3"
    description = "our TileLang kernels, the hc_post op one CTA per token with a three-deep cp.async pipeline (a probe)"
    hc_post_pipeline_stages = 3


class TileLangPostEarly(TileLangDecode):
    """The default with the hc_post op's hc_post_wide launching PDL's dependents right after its wait at 1-4096 tokens
    (pdl_early_max_tokens["hc_post"]; fused_post_pre's hc_post keeps its own rule): in a replayed chain the next
    call's CTAs launch while this grid's last wave runs. The same instructions otherwise: bitwise the default's
    output. On an H100 (results/gpu/2026-12-07-h100-engines-25, call 1): 0.99-1.10 x the default's time at 32-4096
    tokens, nowhere clearly faster (0.993 at 256 x 7168). Not adopted."""

    name = "tilelang-post-early"
    description = "our TileLang kernels, the hc_post op's wide kernel triggering its PDL dependents early (a probe)"
    pdl_early_max_tokens = {**PDL_EARLY_MAX_TOKENS, "hc_post": 4096}
    hc_post_pipelined_tokens = {}  # hc_post_wide wherever the default ran it in -25's call 1, as it ran


class TileLangTwentyEighth(TileLangPostPipelined, TileLangPreTriggerFirst):
    """TileLangPostPipelined and TileLangPreTriggerFirst at once, for one gate (stress, nightly checks): their kernels
    differ from the default's at disjoint ops (the hc_post op at 64-4096 tokens; the cluster pre at 1-32). Each claims
    the default's bits, checked bitwise in the same call, and each is timed beside the default on its own. Its gate
    passed on an H100 (results/gpu/2026-12-07-h100-engines-25, call 1): 0 / 1000 stress failures at hc_post 256 x 7168
    and mhc_pre 32 x 7168, the nightly checks of hc_post (22 cases) and mhc_pre (37) passing, bitwise the default on
    hc_post at 64-4096 tokens, both H, and on mhc_pre / fused_post_pre at 1-32 x 4096 and 1-32 x 7168 (the check of
    pre_big_fuse stopped at its time limit)."""

    name = "tilelang-twenty-eighth"
    description = "our TileLang kernels, the hc_post pipeline and the cluster pre's early trigger at once (a probe)"


class TileLangLaneVectors(TileLangDecode):
    """The default with sinkhorn.py's "lane_vectors" Sinkhorn in decode_pre, the cluster pre and the middle path's
    fused pre (1-4096 tokens): "vectors"' scaling-vector loop (no shuffle and no division on the chain: 0.054-0.057
    us a repeat against the default's 0.084-0.092 on an H100, results/gpu/2026-12-05-h100-engines-13) with its
    softmax and final division spread over the lanes, which cost "vectors" 0.55-0.72 us of fixed time there. For
    mhc_pre's floor at 32 x 7168 (8.0-8.2 us in -24 / -25 against the 8 asked), where Sinkhorn is the cluster pre's
    critical path (1.7 us of the call). Bitwise "vectors" (CPU emulator), whose gate passed in -13 (0 / 1000 stress
    failures at nine points, the nightly checks of mhc_pre, fused_post_pre and pre_big_fuse): not the default's bits,
    so gated again here before any adoption."""

    name = "tilelang-lane-vectors"
    description = "our TileLang kernels, the scaling-vector Sinkhorn spread over the lanes (a probe)"
    sinkhorn_layout = "lane_vectors"
    mid_prefetch_gather_rcp_tokens = {}  # as it ran in -26's call 1: lane_vectors in every fused pre
    pre_gemm_op_schedule_from = None  # and the GEMM above the middle path as before
    pre_gemm_tma_from_tokens = PRE_GEMM_TMA_FROM_BEFORE


class TileLangPreOpSchedule(TileLangDecode):
    """The default with mhc_pre's and fused_post_pre's GEMM above the middle path (4097 tokens and up) on the
    prenorm_gemm op's schedule (TileLangBackend.pre_gemm_op_schedule_from): TMA, op_gemm_tunables (three stages at
    block_m 128, one CTA per SM) and the op's chunks (up to one CTA per SM: one at 65 536 tokens against the
    default's two), the sub-partials handed to pre.py's fused pre unsummed as before. For mhc_pre at 65 536 x 4096,
    the committed run's one point outside the ranges (-25: 1 585 against vLLM's 1 575 us): there and at 80 000, both
    H, mhc_pre took 13-45 us more than the op (701 us at 65 536 x 4096, 103 % of copy) plus pre_big_fuse. Other
    chunks, so other roundings of the sum of the partials where the chunk count differs: its own gate."""

    name = "tilelang-pre-op-schedule"
    description = "our TileLang kernels, mhc_pre's GEMM above the middle path on the op's schedule (a probe)"
    pre_gemm_op_schedule_from = MID_MAX_TOKENS + 1
    pre_gemm_tma_from_tokens = MID_MAX_TOKENS + 1
    sinkhorn_layout = "gather_rcp"  # as it ran in -26's call 1: the Sinkhorn before
    mid_prefetch_gather_rcp_tokens = {}


class TileLangTwentyNinth(TileLangLaneVectors, TileLangPreOpSchedule):
    """TileLangLaneVectors and TileLangPreOpSchedule at once, for one gate (stress, nightly checks): their kernels
    differ from the default's at disjoint token counts (the fused pres to 4096 tokens; the GEMM above). Each is timed
    beside the default on its own."""

    name = "tilelang-twenty-ninth"
    description = "our TileLang kernels, the lane-vectors Sinkhorn and the pre's GEMM on the op's schedule (a probe)"
    sinkhorn_layout = "lane_vectors"
    pre_gemm_op_schedule_from = MID_MAX_TOKENS + 1
    pre_gemm_tma_from_tokens = MID_MAX_TOKENS + 1


class TileLangOpMulticast(TileLangDecode):
    """The default with the prenorm_gemm op at 65-704 tokens on gemm_multicast.py's kernel (op_multicast_tokens): the
    plain window's CTAs (one per split and 64-token block, no chunk_sum) in clusters of up to 4 token blocks, each fn3
    tile loaded once per cluster by a TMA multicast. For the op at 129-256 x 4096 (-27: 6.4 against DeepGEMM's 5.9 us):
    the plain window's CTA there pulls 128 KB of x and 160 KB of fn3, DeepGEMM's 128 and 96; with the multicast 128 and
    40. At 129-704 its sums are meant to be bitwise the plain window's (TileLangOpPlainTma's, the same K ranges, tiles
    and order); at 65-128 the default runs the middle GEMM + chunk_sum, other sums: a gate before any adoption.
    Rejected (results/gpu/2026-12-07-h100-engines-28, call 1, H100): bitwise the plain window at 129-704 tokens, both H,
    but 1.19-1.27 x the default's time at 129-320 x 4096 (7.6 against 6.3 us at 256; DeepGEMM 5.8), 1.18-1.45 x at
    7168, 2.0 x at 512 tokens."""

    name = "tilelang-op-multicast"
    description = "our TileLang kernels, the prenorm_gemm op at 65-704 tokens with fn3 multicast in clusters (a probe)"
    op_multicast_tokens = (65, 704)
    # pinned to the kernel as it was probed: the default since the thirty-third session runs clusters of one, two
    # chunks, fn3 before the wait and chunk_sum's early trigger at 129-256 tokens
    op_multicast_cluster = 4
    op_multicast_chunks = 1
    op_multicast_fn3_first = False
    op_multicast_early_sum = False
    op_multicast_overlap_squares = False
    op_multicast_direct_epilogue = False


class TileLangOpMulticastAlone(TileLangOpMulticast):
    """TileLangOpMulticast's written-out pipeline without the multicast (clusters of one: every CTA loads its own fn3
    tiles), the control that tells the multicast's share from the pipeline's. On an H100 (-28): the plain window's
    time (6.6 us at 256 x 4096, 7.2 at 512) and its bits."""

    name = "tilelang-op-multicast-alone"
    description = "our TileLang kernels, the op's written-out TMA pipeline without clusters (a probe's control)"
    op_multicast_cluster = 1


class TileLangOpMulticast5(TileLangOpMulticast):
    """TileLangOpMulticast with five stages (5 x 36 KB of x and fn3 tiles and the 20 KB epilogue buffer)."""

    name = "tilelang-op-multicast5"
    description = "our TileLang kernels, the op's fn3 multicast with five stages (a probe)"
    op_multicast_stages = 5


class TileLangOpMulticast64(TileLangOpMulticast):
    """TileLangOpMulticast on 64-column K tiles, eight stages (DeepGEMM's K tile; its sums of squares in 64-column
    tiles: other bits than the plain window's)."""

    name = "tilelang-op-multicast64"
    description = "our TileLang kernels, the op's fn3 multicast on 64-column tiles, eight stages (a probe)"
    op_multicast_block_k = 64
    op_multicast_stages = 8


class TileLangOpMulticastChunks(TileLangOpMulticast):
    """TileLangOpMulticast at 65-256 tokens with each split's K range over two CTAs (the middle GEMM's 128 CTAs at
    256 tokens) and chunk_sum: the multicast on the default's shape there."""

    name = "tilelang-op-multicast-chunks"
    description = "our TileLang kernels, the op's fn3 multicast on two chunks a split + chunk_sum (a probe)"
    op_multicast_tokens = (65, 256)
    op_multicast_chunks = 2


class TileLangOpFnSplit(TileLangDecode):
    """The default with the prenorm_gemm op at 65-704 tokens, both H, on gemm_fn_split.py's kernel (op_fn_split_tokens):
    the plain window's CTAs reading fn in fp32 (96 KB a CTA at 256 x 4096, DeepGEMM's bytes) and splitting it into
    its bf16 pieces in a warpgroup of their own, five load stages. gemm.py's split_in_kernel did the split between the
    consumer's barriers and was 3-6 x slower (-17). At 129-704 its sums are meant to be bitwise the plain window's
    (TileLangOpPlainTma's); at 65-128 TileLangOpMulticastAlone's (the same K ranges). Rejected (results/gpu/
    2026-12-07-h100-engines-28, call 2, H100): bitwise both, but 10.1 against the default's 6.4 us at 256 x 4096 and
    15.6 against 8.2 at 256 x 7168, about 0.9 us a K tile."""

    name = "tilelang-op-fn-split"
    description = "our TileLang kernels, the prenorm_gemm op at 65-704 tokens splitting fp32 fn in the kernel (a probe)"
    op_fn_split_tokens = {4096: (65, 704), 7168: (65, 704)}


class TileLangOpFnSplit4(TileLangOpFnSplit):
    """TileLangOpFnSplit with four load stages."""

    name = "tilelang-op-fn-split4"
    description = "our TileLang kernels, the op splitting fp32 fn in the kernel, four load stages (a probe)"
    op_fn_split_stages = 4


class TileLangOpOwnPipelineChunks(TileLangOpMulticastChunks):
    """TileLangOpMulticastChunks without the multicast (clusters of one): the default's middle shape at 65-256 tokens
    (two chunks a split, 128 CTAs at 256 tokens, chunk_sum) on gemm_multicast.py's written-out TMA pipeline, whose four
    stages hold a chunk's four 128-column tiles at once (the default's middle GEMM: cp.async, two stages). At 256 x 4096
    the default's GEMM has the same K ranges, tiles and order: bitwise the default there. For the op at 256 x 4096,
    where the default's GEMM ended at 5.22 us and chunk_sum 0.98 us later (-27). Not adopted (results/gpu/
    2026-12-07-h100-engines-28, call 3, H100): bitwise the default at 256 tokens, both H; its GEMM ended at 5.18 us
    against 5.25 at 256 x 4096 (6.4 against 6.4 per call), 0.959 x the default's time at 256 x 7168 (ours already
    ahead of DeepGEMM there), 1.15 x at 128 tokens."""

    name = "tilelang-op-own-pipeline-chunks"
    description = "our TileLang kernels, the op's middle shape on the written-out TMA pipeline (a probe)"
    op_multicast_cluster = 1


class TileLangOpFn3First(TileLangOpOwnPipelineChunks):
    """TileLangOpOwnPipelineChunks with fn3 taken as a weight: the producer issues its CTA's fn3 tiles (all four at 256
    x 4096: 80 KB of its 144) before its PDL wait (op_multicast_fn3_first), and chunk_sum triggers the next launch
    right after its own wait (op_multicast_early_sum), so that the next call's GEMM is launched as this call's GEMM
    ends and pulls its fn3 while chunk_sum runs. Why: -28's profile at 256 x 4096 has the GEMM at 5.18-5.25 us from
    its start whatever its pipeline depth, and chunk_sum's 1.0 us behind it; the next call's GEMM started 0.24 us
    before chunk_sum ended and sat in its wait. Not where a call launched fn's split itself (a cold fn3 cache). The
    same tiles, stages and consumer: bitwise TileLangOpOwnPipelineChunks (and the default at 256 tokens).

    Measured on an H100 (results/gpu/2026-12-07-h100-engines-29, call 1): bitwise the default at 256 x 4096 and
    TileLangOpOwnPipelineChunks at 128 / 192, both H; 0 / 1000 stress failures at 256 x 4096 and 256 x 7168. Us per
    call, graph-replayed, against the default and DeepGEMM: 6.2 / 6.4 / 6.1 at 256 x 4096, 7.5 / 8.1 / 9.1 at 256 x
    7168, 6.2 / 6.2 / 6.0 at 192 x 4096, 7.5 / 7.8 / 8.6 at 192 x 7168; slower at 128 tokens (5.8 against 5.1 at
    4096, 7.3 against 6.5 at 7168), where the default runs 64 K ranges. Profile at 256 x 4096: a period of 5.8 us
    against the default's 6.0 and DeepGEMM's 5.7. The candidate window is 129-256 (TileLangOpFn3FirstWindow)."""

    name = "tilelang-op-fn3-first"
    description = "our TileLang kernels, the op's middle shape with fn3 loaded before the PDL wait (a probe)"
    op_multicast_fn3_first = True
    op_multicast_early_sum = True


class TileLangOpFn3FirstLateSum(TileLangOpFn3First):
    """TileLangOpFn3First with chunk_sum triggering at its end as before: the fn3 loads before the wait alone (they
    then overlap only chunk_sum's last fraction of a microsecond), to tell their share from the early trigger's. On
    an H100 (-29, call 1): no faster than TileLangOpOwnPipelineChunks (6.6 against 6.5 us at 256 x 4096, 8.1 against
    7.8 at 256 x 7168): the gain is the early trigger's, which gives the fn3 loads chunk_sum's whole run to hide in."""

    name = "tilelang-op-fn3-first-late-sum"
    description = ("our TileLang kernels, the op's middle shape with fn3 before the PDL wait, chunk_sum as before "
                   "(a probe)")
    op_multicast_early_sum = False


class TileLangOpPlainFn3First(TileLangOpMulticastAlone):
    """The op's plain window at 129-704 tokens (one CTA per split and 64-token block, no chunk_sum) on the written-out
    pipeline with five stages, the first five fn3 tiles (100 KB of the CTA's 160 at 256 x 4096) issued before the PDL
    wait (op_multicast_fn3_first). The GEMM triggers early (pdl_early_max_tokens), so the next call's 64 CTAs launch
    beside this call's on the idle SMs and pull that fn3 while this call runs: DeepGEMM's overlap of consecutive calls
    (its period 5.6 us against its kernel's 5.84, -28). Bitwise TileLangOpMulticastAlone (the plain window's K ranges,
    tiles and order; the stage count does not enter the sums). On an H100 (-29, call 1): bitwise that control at 129 /
    256 / 512, both H; 6.5 against the default's 6.4 us at 256 x 4096 and 9.2 against 8.1 at 256 x 7168 (the control
    6.7 / 9.5), 6.8 against 7.3 at 320 x 4096 (not on the issue's grid; DeepGEMM 6.3 there): rejected."""

    name = "tilelang-op-plain-fn3-first"
    description = "our TileLang kernels, the op's plain window with fn3 loaded before the PDL wait (a probe)"
    op_multicast_tokens = (129, 704)
    op_multicast_stages = 5
    op_multicast_fn3_first = True


class TileLangOpFn3FirstWindow(TileLangOpFn3First):
    """TileLangOpFn3First where it was no slower than the default on an H100 (-29, call 1): 129-256 tokens (at 128 the
    default's 64 K ranges win, 5.1 against 5.8 us at 128 x 4096). The candidate to gate and adopt
    (results/gpu/2026-12-07-h100-engines-29/lease/call3.sh): at 129-255 tokens its K ranges (two chunks a split: 32) are
    not always the default's (wave_cost_parts), so other fp32 sums, within the declared bound; at 256 the default's
    bits. Gated and adopted in the thirty-third session (results/gpu/2026-12-07-h100-engines-30, call 1): its op is
    the default's at 129-256 tokens, less the register epilogue adopted after it (TileLangOpEpilogueBefore is this
    probe's op as the default then ran it)."""

    name = "tilelang-op-fn3-first-window"
    description = "our TileLang kernels, the op at 129-256 tokens with fn3 loaded before the PDL wait (a probe)"
    op_multicast_tokens = (129, 256)


class TileLangOpMiddleBefore(TileLangDecode):
    """The default before the thirty-third session: the prenorm_gemm op at 129-256 tokens on the middle GEMM
    (cp.async, two stages) and chunk_sum as it was, no gemm_multicast kernel anywhere. The baseline the adoption of
    TileLangOpFn3FirstWindow's window is timed against in the same run (results/gpu/2026-12-07-h100-engines-30)."""

    name = "tilelang-op-middle-before"
    description = "our TileLang kernels, the prenorm_gemm op at 129-256 tokens as before the thirty-third session"
    op_multicast_tokens = None


class TileLangOpEpilogueBefore(TileLangDecode):
    """The default's op at 129-256 tokens as 7c22387 adopted it (fn3 before the PDL wait, chunk_sum's early trigger),
    without the thirty-third session's overlap of a tile's squares with its wgmmas and without the register epilogue
    (op_multicast_overlap_squares, op_multicast_direct_epilogue): the control those two are gated against, bitwise
    (the same values in the same order) and in time (results/gpu/2026-12-07-h100-engines-30)."""

    name = "tilelang-op-epilogue-before"
    description = "our TileLang kernels, the op at 129-256 tokens without the overlapped squares and register epilogue"
    op_multicast_overlap_squares = False
    op_multicast_direct_epilogue = False


class TileLangOpDirectEpilogueOnly(TileLangDecode):
    """The default with its op's GEMM at 129-256 tokens adding a tile's squares before its wgmmas again
    (op_multicast_overlap_squares off), the register epilogue kept: whether the overlap earns its place. On the H100
    of results/gpu/2026-12-07-h100-engines-30 (call 3) the GEMM's stamps moved only in the epilogue (1.35 to 0.58 us)
    and not in the tile phases (0.49 us a tile either way), so the gain there is the epilogue's. Bitwise the default
    (the same values in the same order); not yet timed."""

    name = "tilelang-op-direct-epilogue-only"
    description = "our TileLang kernels, the op at 129-256 tokens with the register epilogue, squares before the wgmmas"
    op_multicast_overlap_squares = False
