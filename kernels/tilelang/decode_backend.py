"""``tilelang``: our TileLang kernels with a decode path for few tokens and a middle path above it.

The default ``tilelang`` backend since 2026-12-04 (fifth session; the kernels without these paths
are ``tilelang-base``, TileLangBackend). Up to its decode thresholds (``decode_max_tokens`` for the
GEMM ops, ``decode_max_tokens_by_op`` per op: DECODE_MAX_TOKENS and DECODE_MAX_TOKENS_BY_OP below,
each from a benchmark on record) it runs, per op:

  hc_post         decode.hc_post_wide: one CTA per (512 or, from 32 tokens, 1024 columns, token)
                  instead of per token; bitwise the same as post.py (same arithmetic per element); but
                  post.py's CTA per token at 449-704 x 4096 (hc_post_per_token_tokens: an L2 effect) and
                  at 225-320 x 7168 / 225-448 x 4096 through a cp.async pipeline (hc_post_pipelined_tokens);
                  above 4096 tokens too, its CTAs on one grid dimension (hc_post_flat_from_tokens)
  mhc_pre         the prenorm GEMM over ``decode_parts`` K ranges of 256+ columns (112 CTAs at
                  H = 7168, 64 at 4096, per block of tokens) instead of S * chunks ranges of 14-28 K
                  tiles (8-16 CTAs), by DECODE_GEMM_PLAN either decode_gemm.decode_gemm (fp32 FMAs on
                  the CUDA cores, fn read in fp32: no bf16x3 split, no tensor cores) or gemm.py's
                  tensor-core kernel on fn's cached bf16x3 split, then
                  without norm_weight (and on sm_90+, H a multiple of 1024 up to 7168)
                  decode.decode_pre_cluster: a cluster of H / 1024 + 1 CTAs per token, the last
                  summing the partials and handing the pre weights to the others across the cluster
                  barrier, then running Sinkhorn, the others collapsing 1024 columns each
                  (decode_pre_cluster); with norm_weight decode.decode_pre: (H / 512 + 1) CTAs per
                  token, each summing the partials itself, one collapsing 512 columns each, the last
                  running Sinkhorn, then decode.decode_norm finishing the RMSNorm
  pre_big_fuse    decode_pre_cluster or decode_pre (as above) on the caller's partials
  fused_post_pre  the two above (hc_post_wide, decode_gemm, the pre as mhc_pre's), PDL-chained
  hc_head         decode_gemm over the same K ranges (M = n), its partials token-major, then
                  decode.decode_head: H / 512 CTAs per token, each computing the head weights and
                  collapsing its columns
  prenorm_gemm    (the op, up to OP_GEMM_MAX_TOKENS over both paths) mhc_pre's GEMM, then chunk_sum
                  adding each of the caller's splits' parts back in order (op_chunks_in_cluster, a
                  probe: inside the GEMM, a cluster per split); above the decode path its K ranges by
                  wave_cost_parts, but at 257-704 tokens (op_plain_tma_tokens) the caller's splits alone
                  on the TMA kernel, no chunk_sum

Above them up to ``mid_max_tokens`` (MID_MAX_TOKENS; per op MID_MAX_TOKENS_BY_OP) the middle path:

  mhc_pre         gemm.py's tensor-core GEMM over ``mid_parts`` K ranges (one wave of CTAs on the SMs
                  instead of the caller's S ranges), at 385-1024 tokens (``mid_deep_tokens``) in DeepGEMM's
                  shape instead (64-token blocks, the most K ranges keeping one CTA per SM: 16 at 512
                  tokens, 8 at 1024 on 132 SMs; TMA, 4 stages), then pre_overlap.py's fused pre (Sinkhorn on one
                  warp beside a four-warp collapse) with the parts' count compiled in, at
                  ``mid_pre_one_buffer_tokens`` (769-1535) on one residual buffer (bitwise the same)
  pre_big_fuse    that fused pre on the caller's S partials (compiled without PDL where the residual
                  and layer_input are 35-50 MB: no_pdl_megabytes)
  fused_post_pre  hc_post_wide, then mhc_pre's middle path
  hc_head         (129-1024 tokens) the same GEMM with M = n, then collapse.py's head collapse with
                  the parts compiled in

Above those, and at T = 0, exactly TileLangBackend, but for mhc_pre's (and fused_post_pre's) GEMM on TMA
loads from pre_gemm_tma_from_tokens (67 457: where the cp.async plan gives a split one CTA). On either
path, per op and T (``pdl_early_max_tokens``, PDL_EARLY_MAX_TOKENS), the GEMMs launch their PDL
dependents right after their own wait and the consumer behind them loads its first residual block
before its wait (the same instructions otherwise, the same bits); mhc_pre's middle GEMM takes 128-token blocks from 512
tokens (``mid_block_m_128_from``, MID_BLOCK_M_128_FROM).

``decode_gemm = "fma"`` or ``"wgmma"`` (a class attribute; default ``"auto"``, the plan) runs one of
the two at every T, for timing comparisons (scripts/debug/decode_gemm_check.py). Variants
checked bitwise against each other by scripts/debug/decode_variants_check.py:
``hc_post_wide_block_from`` (hc_post_wide's columns per CTA by T) and ``token_major_partials`` (the
ops whose decode GEMM writes [T, parts, M], the FMA GEMM at every T for them).

Why the FMA kernel: at T <= 32 the GEMM is at most 32 x 24 x 28672 FMAs on 2.75 MB of fn, latency
bound; the tensor-core kernel spends three bf16 products per term and 64-row tiles (63 of 64 rows
wasted at T = 1) on it: 13.6 us for mhc_pre at T = 1 on an H200 (graph-replayed), the GEMM the
largest piece.

Why (H = 7168, n = 4, 132 SMs; the default path at T = 1..32, where block_m is 64 so the grid does
not grow with T): mhc_pre's GEMM at the benchmark's S = 16 keeps chunks = 1 (14 K tiles per split,
under the 16 per CTA the schedule wants), 16 CTAs each streaming 14 x 20 KB of fn3 through a 2-deep
cp.async pipeline: ~12 % of the SMs, latency bound per CTA, most of the ~25 us; then pre_big_fuse,
one CTA per token (serial sum of the partials, 7 serial 1024-column collapse steps, then 20
Sinkhorn repeats). hc_head (S = 1): 8 CTAs x 28 K tiles, then one CTA per token for the collapse.
A schedule change alone (more K ranges) moves the cost into pre_big_fuse's serial loop over the
dynamic split count (one L2 round trip per few partials); hence the decode kernels, whose sums
run over a compile-time count, unrolled.

The ops compute what TileLangBackend computes with the same rounding points and the same declared
precision (bf16x3: exact products, fp32 sums; the same elementwise formulas). The FMA GEMM is within
it: x is bf16, each term one fp32 FMA (the product exact inside it, one rounding per add, where
bf16x3 adds three pieces). Only the partition and order of the K sum differ (n_splits fixes the
reference's partials, which mhc_pre, fused_post_pre and hc_head do not return; their bound, from K
/ n_splits long chains, covers these shorter ones: K / parts / 8 FMAs per thread, 8 slot sums,
then the parts), so mixes may differ from the default path in their last bits. Every sum has a
fixed order: bitwise reproducible.
Like the default fused pre's chunks, the parts' sum crosses the caller's split boundaries (4 runs of
parts / 4, then the runs): where every split's sum is exact in fp32 but the whole is not (exact-int
inputs past 2^24 units) the model's gamma(S - 1) cross-split term counts fewer adds than this chain
has; if the nightly check ever finds that, nest the sum in the caller's splits. The middle path's
GEMM partials are the same kind of sum (K / parts-long tensor-core chains, then the parts added in
order), under the same bound.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

import torch

from mhc_kernels.tilelang._build import changed
from mhc_kernels.tilelang.backend import WIDE_K_TILES, GemmSchedule, TileLangBackend
from mhc_kernels.tilelang.decode import MIN_TILES_PER_PART
from mhc_kernels.tilelang.gemm_fn_split import BLOCK_K as FN_SPLIT_BLOCK_K

# The largest T on the decode kernels for the GEMM ops (mhc_pre, fused_post_pre's pre), per op where
# another bound paid better, and the middle path's upper bound. From the H200 runs of 2026-12-04
# (graph-replayed, H = 7168, every path side by side; results/gpu/2026-12-04-h200-engines-5, call 2,
# us per call at the boundaries):
#   mhc_pre       decode path to 32 (10.6 against the middle path's 10.8), the middle path from 64
#                 (11.4 against 12.0) to 4096 (136.2 against the default's 139.5; 2048: 73.7 / 90.5)
#   fused_post_pre  the same path as mhc_pre for its pre (11.8 / 11.8 at 32, 12.9 / 13.8 at 64)
#   pre_big_fuse  decode_pre to 32 (4.9 / 5.4 at 16 / 32, the middle path's kernel 4.9 / 5.3), the
#                 middle path's kernel on the caller's partials from 64 (5.3 against decode_pre's
#                 6.8) to 4096 (71.4 against the default's 74.6)
#   hc_post       the wide kernel at least as fast as the default at every T up to 4096
#   hc_head       the decode path with token-major partials to 128, the middle path from 129 to 1024
#                 (sixth session, results/gpu/2026-12-04-h200-engines-6, call 1, mid_probes.TileLangMid:
#                 H = 7168: 10.3 / 9.0 / 13.7 / 34.2 us at T = 128 / 256 / 512 / 1024 against the
#                 decode path's 10.2 / 16.8 and the default's 22.1 / 43.1; H = 4096: 6.5 / 6.7 / 9.0
#                 / 17.4 against 6.6 / 10.2 / 12.4 / 21.4), the default above (not measured there)
#   prenorm_gemm  (the op, its caller's S partials) on the decode GEMM to 32 tokens, the middle GEMM to
#                 1024 (op_gemm_max_tokens; sixth session's call 1, mid_probes.TileLangGemmOp: H = 7168
#                 5.2 / 5.5 / 6.0 / 7.1 us at T = 16 / 32 / 64 / 128 against the base op's 10.6 / 10.7 /
#                 11.4 / 11.3 and DeepGEMM's 8.6 / 8.6 / 8.7 / 8.8; with "the fewest ranges for one
#                 wave" it lost from 256, 11.6 against 11.3). From 129 tokens its K ranges are
#                 wave_cost_parts' (results/gpu/2026-12-05-h200-engines-7, mid_probes.TileLangGemmOpWaveCost:
#                 256 x 7168 8.8 against the base op's 11.5 and DeepGEMM's 9.0; 256 x 4096 6.8 against
#                 7.6, DeepGEMM 5.9; 1024 x 7168 21.3 against 22.0; 512 even, 11.7 / 11.7 and 7.7 / 7.8;
#                 the same ranges as the fewest-for-one-wave rule up to 128 tokens)
DECODE_MAX_TOKENS = 32
DECODE_MAX_TOKENS_BY_OP: Mapping[str, int] = MappingProxyType({"hc_post": 4096, "pre_big_fuse": 32, "hc_head": 128})
MID_MAX_TOKENS = 4096
MID_MAX_TOKENS_BY_OP: Mapping[str, int] = MappingProxyType({"hc_head": 1024})
OP_GEMM_MAX_TOKENS = 1024
# TileLangDecode.mid_block_m_128_from. Sixth session, call 1 (mid_probes.TileLangMidBlock128, 128-token
# blocks at every T, graph-replayed): mhc_pre 20.2 us at 512 tokens against 22.1 (H = 7168; vLLM 21.2),
# 14.5 against 14.8 (H = 4096), slower below 512 (14.3 against 12.9 at 128); fused_post_pre even at 512
# (37.0 / 36.9), hc_head's middle path slower (14.1 / 13.7): mhc_pre alone.
MID_BLOCK_M_128_FROM: Mapping[str, int] = MappingProxyType({"mhc_pre": 512})
# TileLangDecode.pdl_early_max_tokens. Sixth session, call 2 (graph-replayed, every op also with it
# everywhere: mid_probes.TileLangPdlEarly): mhc_pre H = 7168 6.9 / 9.1 / 9.9 / 10.4 / 11.5 / 12.5 us at
# T = 1 / 16 / 32 / 64 / 128 / 256 against 7.0 / 9.3 / 10.5 / 11.2 / 12.9 / 14.6, but 23.6 / 42.0 at 512
# / 1024 against 22.2 / 40.5 (H = 4096: 9.8 / 11.5 at 128 / 256 against 11.6 / 12.1); hc_head even or
# faster at every T (8.5 against 8.9 at 256; H = 4096: 16.2 against 17.5 at 1024); prenorm_gemm even
# (on, to run what its gate ran: over its whole middle range since the tenth session, as
# mid_probes.TileLangGemmOpWaveCost ran it); fused_post_pre slower from 8 tokens (12.8 against 11.3 at
# 32), off.
PDL_EARLY_MAX_TOKENS: Mapping[str, int] = MappingProxyType({"mhc_pre": 256, "hc_head": 1024, "prenorm_gemm": 1024})
# TileLangDecode.mid_pre_one_buffer_tokens: the middle pre on one residual buffer between the measured
# neighbours of the one count where it paid. Graph-replayed, H = 7168, us, one buffer against two:
# results/gpu/2026-12-05-h200-engines-7, mhc_pre 39.6 / 41.3 at 1024 tokens (vLLM 39.8), pre_big_fuse
# 21.5 / 22.3, slower at 512 (21.3 / 21.0) and 4096 (136.5 / 135.4); tenth session's call 1
# (results/gpu/2026-12-05-h200-engines-8) at 1024 mhc_pre 39.2 / 40.8 (vLLM 39.1), pre_big_fuse 21.0 /
# 21.8, fused_post_pre 69.5 / 70.7; at 768 even or slower (31.9 / 32.0, 17.8 / 16.1, 56.6 / 56.3),
# at 1536 slower (60.9 / 59.9, 30.8 / 29.6, 107.2 / 106.7), at 2048 within 0.5 us. Why there: at H =
# 4096 without norm 7 CTAs per SM hold 924 tokens on 132 SMs (two waves at 1024) and 10 hold 1320.
# Gated as TileLangMidLean (nightly checks of mhc_pre, pre_big_fuse, fused_post_pre; bitwise the
# two-buffer kernel at 512 .. 4096 tokens; 1000 stress reruns at 1024) in that call.
MID_PRE_ONE_BUFFER_TOKENS = (769, 1535)
FUSED_HC_POST = "fused_post_pre/hc_post"  # fused_post_pre's hc_post_wide in pdl_early_max_tokens
# The prenorm_gemm op above op_gemm_max_tokens (TileLangBackend's GEMM on the caller's S splits, then
# chunk_sum where it cuts them further) in pdl_early_max_tokens: not in the default table (never
# measured there); mid_probes.TileLangPdlEarlyBaseGemm sets it, for the 4096-token copy floor.
BASE_GEMM = "prenorm_gemm/base"
MID_WAVES = 1.0
# The most chunks of a split op_chunks_in_cluster puts in one cluster: 8, the portable cluster size.
MAX_CLUSTER_CHUNKS = 8
# The (split, token block) counters op_chunks_on_counter keeps per device and stream: the middle GEMM's token blocks
# (up to op_gemm_max_tokens) times any caller's splits the tests and engines use.
COUNTER_SLOTS = 4096
_MAX_GRID_Y = 65535  # the decode kernels put tokens on gridDim.y: a larger threshold is capped here
# decode_gemm = "auto": (mixes M, largest T, kernel, tunables), the first row that matches. From the
# H200 timing of call 3 (results/gpu/2026-12-04-h200-engines-4, scripts/debug/decode_gemm_check.py;
# graph-replayed, us at T = 1 / 8 / 32, H = 7168): M = 24 fma block_t 8: 2.25 / 2.62 / 6.24,
# fma block_t 32: 3.63 / 3.79 / 4.45, wgmma 3.34 / 3.39 / 3.75; M = 4 fma block_t 8: 1.45 / 1.57 /
# 2.55, fma block_t 32: 1.77 / 1.75 / 2.24, wgmma 2.44 / 2.51 / 2.58. Above 8 tokens a CTA of 8
# tokens per slot repeats fn's loads per 8 tokens; the tensor cores take M = 24 from there, but for
# block_t 16 at 9-16 tokens (112 CTAs of 16 tokens, each thread 16 columns): graph-replayed on an H100
# (results/gpu/2026-12-05-h100-engines-11, call 1, mid_probes.TileLangNarrowBt16 beside the default) mhc_pre
# 7.9 / 8.2 / 8.7 us at 9 / 12 / 16 x 7168 against 8.5 / 8.5 / 8.9 (H = 4096: 7.2 / 7.4 / 7.7 against 7.8
# / 7.8 / 8.0), fused_post_pre 0.93-0.95 x, the prenorm_gemm op 0.89-0.94 x; 17 tokens even (the tensor
# cores again); on an H200 (-10) 0.93-0.97 x. Gated on that H100 (nightly checks of mhc_pre,
# fused_post_pre and prenorm_gemm passing; 0 / 1000 stress failures at 9, 12 and 16 tokens): the default
# since the fourteenth session.
DECODE_GEMM_PLAN: tuple[tuple[int, int | None, str, dict[str, int]], ...] = (
    (24, 8, "fma", {"block_t": 8}),
    (24, 16, "fma", {"block_t": 16}),
    (24, None, "wgmma", {}),
    (4, 8, "fma", {"block_t": 8}),
    (4, None, "fma", {}),
)


def allowed_ranges(k_tiles: int, min_tiles: int, multiple_of: int) -> list[int]:
    """The K-range counts the middle GEMM can take: multiples of ``multiple_of`` dividing the K tiles,
    each range at least ``min_tiles`` tiles, ascending."""
    return [p for p in range(multiple_of, k_tiles // min_tiles + 1, multiple_of) if k_tiles % p == 0]


def _within(span: tuple[int, int] | None, value: float) -> bool:
    """Whether ``value`` lies in the inclusive window ``span`` (first, last); None: no window."""
    return span is not None and span[0] <= value <= span[1]


@lru_cache(maxsize=None)  # on every eager call of the op: host time the eager benchmark counts
def wave_cost_parts(k_tiles: int, min_tiles: int, multiple_of: int, blocks: int, sms: int,
                    co_resident: int = 1) -> int | None:
    """The K-range count (a multiple of ``multiple_of`` dividing the K tiles, >= min_tiles each) that
    minimises the tiles the busiest SM works through, ceil(ceil(blocks * parts / sms) / co_resident) *
    tiles per range, the fewest ranges on a tie; None where none is allowed. With co_resident 1 (the
    default's) it counts the CTAs an SM holds at once as working in turn (their loads share its
    bandwidth); mid_probes.TileLangMidCoResident counts two as overlapping. The prenorm_gemm op's rule
    above the decode path: at 256 tokens and H = 7168, 32 ranges (128 CTAs, one wave of 7 tiles) where
    "the fewest that give one wave" jumps to 112 (448 CTAs, four waves of 2). Not mhc_pre's: from 512
    tokens two co-resident CTAs of 4 tiles beat one of 7 there (mid_probes.TileLangMidWaveCost)."""
    allowed = allowed_ranges(k_tiles, min_tiles, multiple_of)
    if not allowed:
        return None

    def rounds(p: int) -> int:  # the busiest SM's CTAs, in rounds of co_resident at once
        busiest_sm_ctas = -(-blocks * p // sms)
        return -(-busiest_sm_ctas // co_resident)

    return min(allowed, key=lambda p: (rounds(p) * (k_tiles // p), p))


@lru_cache(maxsize=None)
def _fewest_ranges(k_tiles: int, min_tiles: int, multiple_of: int, blocks: int, want: float) -> int | None:
    """TileLangDecode._fewest_parts' search, cached: it runs on every eager call of the middle path
    (a loop over up to k_tiles / 2 candidates, host time the eager benchmark counts)."""
    allowed = allowed_ranges(k_tiles, min_tiles, multiple_of)
    if not allowed:
        return None
    return next((p for p in allowed if blocks * p >= want), allowed[-1])


class TileLangDecode(TileLangBackend):
    """TileLangBackend with the decode path and the middle path (module docstring): ``tilelang``."""

    name = "tilelang"
    description = "mhc-verify's own TileLang mHC kernels, with the decode and middle paths (kernels/tilelang)"
    decode_max_tokens = DECODE_MAX_TOKENS
    # Per-op overrides of decode_max_tokens (op -> largest T on the decode kernels). hc_post and
    # pre_big_fuse have no GEMM of their own: their decode kernels only spread a token over more
    # CTAs, which may pay further up than the GEMM ops' do; the benchmark decides.
    decode_max_tokens_by_op: Mapping[str, int] = DECODE_MAX_TOKENS_BY_OP  # read-only: a subclass sets its own
    # The decode GEMM: "auto" (per (M, T), decode_gemm_plan), or for timing one kernel at every T:
    # "fma" (decode_gemm.py, fp32 CUDA-core FMAs, on decode_gemm_tunables) or "wgmma" (gemm.py's
    # tensor-core kernel on fn's cached bf16x3 split, the decode path's only GEMM until 2026-12-04).
    decode_gemm = "auto"
    decode_gemm_tunables: dict[str, int] = {}  # decode_gemm.DEFAULT_TUNABLES where empty
    # The ops whose FMA decode GEMM stages fn's slice before its PDL wait (decode_gemm.build_decode_gemm's
    # fn_before_wait: fn taken as a weight no early-triggering kernel just before writes); bitwise the
    # same outputs. mhc_pre's since the sixteenth session (results/gpu/2026-12-05-h100-engines-13, H100,
    # graph-replayed, us at 1 / 8 / 16 tokens, mid_probes.TileLangFnBeforeWait beside the default):
    # H = 7168 5.4 / 6.1 / 7.3 against 5.9 / 6.7 / 7.8, H = 4096 5.1 / 5.5 / 6.3 against 5.4 / 5.9 / 6.7;
    # fused_post_pre 0.1-0.2 us slower at 1-4 tokens and hc_head within 0.1 either way, so not theirs.
    # Gated there: 126 bitwise checks against the default (eager, reruns, a graph replay), 0 / 1000
    # stress failures at mhc_pre 1 / 16, fused_post_pre 1 / 16, hc_head 8 / 64; its kernels also passed
    # the nightly checks inside mid_probes.TileLangDecodeFloorNext.
    decode_gemm_fn_before_wait: frozenset[str] = frozenset({"mhc_pre"})
    # The ops whose tensor-core decode GEMM (the plan's "wgmma" rows: 17-32 tokens for M = 24) stages fn3's
    # tiles before its PDL wait (gemm.build_prenorm_gemm's fn_tiles; not where the call itself launched
    # fn's split). Empty by default: mid_probes.TileLangWgmmaFnBeforeWait's (seventeenth session). Its first
    # version (a T.copy before the wait: loads and shared stores interleaved, each load behind the store
    # before it) passed the gate but was 4-5 us slower at 32 tokens on the H100 (mhc_pre 12.7 / 11.5 us
    # at H = 7168 / 4096 against 8.9 / 7.8, results/gpu/2026-12-05-h100-engines-14); the second (all loads
    # into registers, then all stores) passed its gate too and was still 1.0-1.2 us slower at 24 / 32 tokens
    # (mhc_pre 9.9 / 8.8 us at 32 x 7168 / 4096 against 8.8 / 7.6, fused_post_pre 13.2 against 10.5;
    # results/gpu/2026-12-06-h100-engines-15, call 1): not adopted.
    wgmma_fn_before_wait: frozenset[str] = frozenset()
    # Ops whose first kernel runs without PDL at these token counts: op -> (first, last) T, inclusive;
    # the pre_big_fuse and hc_post ops' one kernel, mhc_pre's middle GEMM (its pre keeps PDL behind it;
    # not fused_post_pre's), so a call launches when the one before it has ended instead of while its
    # CTAs exit. A probe for the L2 window (mid_probes.TileLangNoPdlWindow): TileKernels runs without
    # PDL and keeps more of its working set in L2 from one graph replay to the next at 512-576 x 7168;
    # the same instructions less the PDL wait and trigger: bitwise the same outputs.
    no_pdl_tokens: Mapping[str, tuple[int, int]] = MappingProxyType({})  # read-only: a subclass sets its own
    # The same by the call's data, op -> (low, high) MB of residual and layer_input: the pre_big_fuse op
    # without PDL where they are 35-50 MB (the H100's and H200's L2 is 50 MB; on a GPU with another L2 the
    # window is not re-derived: the same bits either way, only the time may differ). Sixteenth session
    # (results/gpu/2026-12-05-h100-engines-13, scripts/debug/l2_window.py, graph-replayed, us): with PDL
    # our time there is bistable from replay to replay (512 x 7168: median 6.6, range 6.4-11.9; the
    # committed -12 run caught 11.3 against TileKernels' 7.7); without it 7.8 (7.7-8.1) at 512 x 7168,
    # 9.8 against 14.1 at 576, 16.3 against 16.6 at 640, 11.5 against 13.7 at 1024 x 4096 (TileKernels
    # 8.3 / 11.4 / 17.9 / 12.3), and slower outside the window (448 x 7168, 33 MB: 6.4 against 5.9;
    # 1024 x 7168, 73 MB: 27.5 against 27.1). With the inputs rotating over two copies (no replay's data
    # left in L2) ours is faster than TileKernels at every one of these points, PDL or not. The same
    # instructions less the PDL wait and trigger: 84 bitwise checks against the PDL kernels there.
    # Adopted in the seventeenth session: gated on an H100 (results/gpu/2026-12-05-h100-engines-14, call 1,
    # inside mid_probes.TileLangPreBigFuseNoPdlFn3First): 0 / 1000 stress failures at 512 / 576 / 640 x 7168,
    # the nightly checks of pre_big_fuse, mhc_pre and fused_post_pre passing, 48 bitwise checks against the
    # PDL kernels at 512-1024 tokens; in that call's benchmark 7.3 us at 512 x 7168 (-12's committed run
    # 11.3; TileKernels 8.0 beside it) and 12.5 at 1024 x 4096 (14.2; TileKernels 12.9).
    no_pdl_megabytes: Mapping[str, tuple[float, float]] = MappingProxyType({"pre_big_fuse": (35.0, 50.0)})  # read-only
    # Variants of the decode kernels (bitwise the same outputs; the defaults below from a timing on record).
    # hc_post_wide's columns per CTA by token count: {T threshold: columns}, the entry with the
    # largest threshold <= T applies (e.g. {32: 1024}: 1024 columns and 128 threads per CTA from
    # T = 32, SGLang's shape); no entry applies: decode_block(H) (512). Bitwise the same output.
    # 1024 columns from 32 tokens: on an H200 (call 1, decode_variants_check.py) 1.83 / 2.45 / 3.22 us
    # at T = 32 / 64 / 128 against 1.86 / 2.52 / 3.60 with 512, 1.45 at 16 either way; call 2's
    # benchmark: at least as fast as 512 columns at every T from 32 to 4096. Capped at the largest
    # power of two dividing H (_hc_post_wide_block): 1024 asked at H = 64 failed the nightly check.
    hc_post_wide_block_from: Mapping[int, int] = MappingProxyType({32: 1024})  # read-only: a subclass sets its own
    # The hc_post op (not fused_post_pre's) on post.py's kernel (TileLangBackend's: one CTA per token
    # walking H in 1024-column blocks) instead of hc_post_wide, per H: H -> (first, last) T, inclusive.
    # For the one hc_post point the committed runs lost by more than the replays' ranges, 512 x 4096
    # (38 MB a call, an L2 effect from graph replay to replay: with the inputs rotating over two copies
    # every kernel takes 11.2-11.3 us there). One CTA per token took it 7.7 / 7.6 us against
    # hc_post_wide's 9.2 / 9.1 (vLLM 7.7 / 7.5) in two H100 runs (results/gpu/2026-12-05-h100-engines-12,
    # bench-l2; -13, l2-window), 14.7 / 14.5 against 15.3 / 14.8 at 640, but 5.1 / 5.1 against 5.0 / 5.0 at
    # 384 and 18.8 against 18.5 at 768; at H = 7168 even at 256 and slower from 384 (16.7 against 15.9).
    # The window's ends are the midpoints between those measured counts. The same per-element arithmetic
    # (post.post_block_macro in both): bitwise the same output. Adopted in the eighteenth session: gated on
    # an H100 (results/gpu/2026-12-06-h100-engines-15, call 1, inside mid_probes.TileLangPostWindowFn3Tma:
    # 0 / 1000 stress failures at 512 / 640 x 4096, bitwise the wide kernel at 449 / 512 / 640 / 704 x 4096,
    # the nightly check of hc_post passing); that call's benchmark: 7.9 us at 512 x 4096 (vLLM 7.9, SGLang 8.2).
    hc_post_per_token_tokens: Mapping[int, tuple[int, int]] = MappingProxyType({4096: (449, 704)})  # read-only
    # hc_post (the op's and fused_post_pre's) on hc_post_wide from this T up, its CTAs on one grid
    # dimension (decode.build_hc_post_wide's flat_grid: gridDim.y stops at 65 535 tokens), instead of
    # post.py's one CTA per token above decode_max_tokens_by_op["hc_post"]; None: post.py's there.
    # Why: at 4096 tokens hc_post_wide (1024 columns a CTA) ran at 100.2 / 100.4 % of the copy beside it
    # (H = 7168 / 4096), at 65 536 / 80 000 tokens post.py's kernel at 96.5-98.0 %, SGLang's 97.5-98.6 %
    # (results/gpu/2026-12-06-h100-engines-16, bench-call3). The same per-element arithmetic: the same bits.
    # Adopted in the twenty-first session, gated on an H100 (results/gpu/2026-12-06-h100-engines-18, call 1, inside
    # mid_probes.TileLangTwentyFirst: 0 / 1000 stress failures at hc_post 4097 / 80 000 and fused_post_pre 4097 x
    # 7168, the nightly checks of hc_post and fused_post_pre passing, bitwise post.py's at 4097-70 001 tokens); that
    # call's benchmark: hc_post 0.976 x the default's time at 65 536 / 80 000 x 7168 (2 765 us against SGLang's
    # 2 823 at 65 536), 0.98 x at H = 4096; fused_post_pre 0.988-0.991 x.
    hc_post_flat_from_tokens: int | None = 4097
    # The hc_post op (not fused_post_pre's) on post.build_hc_post with stages (one CTA per token, its 1024-column
    # blocks' loads through a hc_post_pipeline_stages-deep cp.async pipeline) per H: H -> (first, last) T,
    # inclusive; ahead of hc_post_per_token_tokens where both hold. For hc_post at 256 x 7168, where vLLM's one CTA
    # per token (no pipeline) led hc_post_wide by 2-4 % in three H100 repeats (results/gpu/2026-12-07-h100-engines-24).
    # Twenty-eighth session (results/gpu/2026-12-07-h100-engines-25, call 1, H100, graph-replayed,
    # mid_probes.TileLangPostPipelined at 64-4096 tokens beside the default): 0.934 x the default's time at 256 x 7168
    # (6.2 us against 6.7, vLLM 6.8) and 0.966 x at 256 x 4096, 0.986 at 384 x 4096, even at 384 x 7168 and 512 (1.000
    # / 1.007 / 1.002), but 1.09-1.30 x at 64-192 tokens and 1.02-1.04 x at 640-4096: it pays where the tokens are
    # about two CTAs per SM (132 SMs). Its three repeats at 256 x 7168: 6.2 / 6.4 / 6.2 us against the default's 7.0 /
    # 7.1 / 7.0 and vLLM's 6.6 / 6.8 / 6.7. The window's ends are the midpoints between the measured counts (at H =
    # 4096 up to the per-token window). Gated there inside mid_probes.TileLangTwentyEighth: bitwise the default at
    # 64 / 256 / 512 / 640 / 1024 / 4096 tokens, both H (eager, reruns, a graph replay), 0 / 1000 stress failures at
    # 256 x 7168, the nightly check of hc_post passing (22 cases). The same per-element arithmetic: bitwise the same
    # output.
    hc_post_pipelined_tokens: Mapping[int, tuple[int, int]] = MappingProxyType({7168: (225, 320), 4096: (225, 448)})
    hc_post_pipeline_stages = 2
    # The ops ("mhc_pre", which fused_post_pre calls, and "hc_head") whose decode GEMM writes its
    # partials token-major ([T, parts, M], [T, parts]: a token's parts contiguous for decode_head /
    # decode_pre's sums), with decode_head's residual load before its PDL wait. Bitwise the same
    # outputs as the default layout. gemm.py's tensor-core kernel writes only [parts, T, M], so for
    # these ops the decode GEMM is the FMA kernel at every T: the plan's "wgmma" rows run
    # decode_gemm at decode_gemm_tunables (its defaults, block_t 32, where empty), and decode_gemm =
    # "wgmma" is an error. pre_big_fuse (the caller's [S, T, M] partials) keeps the default layout.
    # hc_head by default: its plan is the FMA GEMM at every T anyway (M = 4), and on an H200
    # (results/gpu/2026-12-04-h200-engines-5, call 1, scripts/debug/decode_variants_check.py,
    # graph-replayed, H = 7168) token-major took it from 5.38 / 7.34 / 10.91 / 18.34 us to 4.63 /
    # 6.22 / 9.86 / 16.33 at T = 32 / 64 / 128 / 256, bitwise the same outputs. mhc_pre stays
    # [parts, T, M]: token-major, its FMA GEMM lost to the plan's tensor cores from T = 32 (11.96
    # against 10.37 us).
    token_major_partials: frozenset[str] = frozenset({"hc_head"})
    # The middle path (mhc_pre, so fused_post_pre's pre, and pre_big_fuse) above the decode kernels'
    # range up to mid_max_tokens (0: off): mid_parts K ranges of the tensor-core GEMM, enough CTAs
    # for mid_waves waves on the SMs (the default schedule keeps the caller's S ranges of 14-28 K
    # tiles: 32 CTAs at T = 128 on 132 SMs), then pre_overlap.py's fused pre (Sinkhorn beside the
    # collapse) with the parts' count compiled in (its sums unrolled). pre_big_fuse: that kernel on
    # the caller's S partials.
    # hc_head: the same GEMM (M = n), then collapse.py's head collapse with the parts compiled in.
    mid_max_tokens = MID_MAX_TOKENS
    mid_max_tokens_by_op: Mapping[str, int] = MID_MAX_TOKENS_BY_OP  # read-only: a subclass sets its own
    mid_waves = MID_WAVES
    # The middle GEMM's shortest K range, in 128-wide K tiles (decode.MIN_TILES_PER_PART, 2): with
    # fewer tiles than CTAs wanted, _fewest_parts takes the most ranges this allows (at H = 4096 and 64
    # tokens: 64 CTAs of 2 tiles on 132 SMs). The GEMM itself takes any count (its tiles per CTA are
    # a runtime value); a probe (mid_probes.TileLangMidOneTile) sets 1.
    mid_min_tiles_per_part = MIN_TILES_PER_PART
    mid_block_m: int | None = None  # the GEMM's token block at every T (a probe); None: as below
    # Per op, the T from which the middle path's GEMM takes 128-token blocks (gemm.py's large-T
    # block, which gemm.block_m_for gives from 1024): MID_BLOCK_M_128_FROM, from a measurement.
    mid_block_m_128_from: Mapping[str, int] = MID_BLOCK_M_128_FROM  # read-only: a subclass sets its own
    # The middle path's fused pre with __launch_bounds__(160, n) (pre_overlap.build_pre_big_fuse_overlap's
    # min_blocks_per_sm): None, the default, leaves ptxas free (56 registers at 16-32 parts: 7 CTAs per
    # SM, so 1024 tokens take two waves on 132 SMs). 8 (mid_probes.TileLangMidEightPerSm) was slower
    # at every T in the sixth session's run: ptxas then spills (44 bytes at H = 4096, 48 registers).
    mid_pre_min_blocks_per_sm: int | None = None
    # The T range (first, last; None: none) where the middle path's fused pre (mhc_pre's, fused_post_pre's,
    # pre_big_fuse's) loads each residual block into one register buffer at the top of the block
    # instead of into a second buffer while it computes the one before (pre_overlap.build_pre_big_fuse_overlap's
    # prefetch_next_block=False: 40 registers instead of 56 at H = 4096 without norm, 10 CTAs per SM
    # instead of 7, no spill). Bitwise the same outputs. MID_PRE_ONE_BUFFER_TOKENS, from the runs of
    # mid_probes.TileLangMidLean (it at every T) below.
    mid_pre_one_buffer_tokens: tuple[int, int] | None = MID_PRE_ONE_BUFFER_TOKENS
    # The prenorm_gemm op (its caller's S partials returned) on the decode path's GEMM (up to the decode
    # threshold: decode_parts K ranges) or the middle path's (mid_parts, rounded to a multiple of S),
    # then chunk_sum adding each split's parts back in order (the parts nest in the caller's splits,
    # as the base path's chunks do), up to op_gemm_max_tokens (OP_GEMM_MAX_TOKENS; 0: off). The base
    # op runs 16 CTAs at S = 16 below 64 tokens: 10.5 us at T = 1 against DeepGEMM's 8.8 on an H200.
    op_gemm_max_tokens = OP_GEMM_MAX_TOKENS
    # The prenorm_gemm op's middle GEMM where its K ranges cut each caller split into c = 2 .. 8 chunks:
    # False (the default), chunk_sum adds them back in a second launch; True (a probe,
    # mid_probes.TileLangGemmOpCluster), the c CTAs of a split form a thread-block cluster whose first
    # CTA adds the others' sub-partials to its own in chunk order after a cluster barrier
    # (gemm.build_prenorm_gemm's cluster_chunks): the same sums in the same order, bitwise the same
    # outputs, one launch fewer. For the op at 256 x 4096 (the GEMM 5.25 us + chunk_sum 1.87, eager,
    # against DeepGEMM's 5.78: results/gpu/2026-12-05-h200-engines-8/call1/profile-H4096.md). Bitwise
    # equal but 1.26-1.80 x slower on an H100 (results/gpu/2026-12-05-h100-engines-9): it stays off.
    op_chunks_in_cluster = False
    # ... and with op_chunks_dsmem (a probe, mid_probes.TileLangOpChunksDsmem) the chunks' sub-partials reach the
    # cluster's first CTA through distributed shared memory, not the global scratch (build_prenorm_gemm's
    # cluster_dsmem): SM-to-SM stores between two cluster barriers instead of chunk 0 waiting for L2 writes and
    # reading them back. The same sums in the same order: bitwise the default's outputs. Bitwise and gated on an H100
    # but slower (1.12-3.2 x the default's time at 64-256 tokens, results/gpu/2026-12-06-h100-engines-20): off.
    op_chunks_dsmem = False
    # ... or with op_chunks_on_counter (a probe, mid_probes.TileLangOpChunksOnCounter) no cluster: every chunk writes
    # its sub-partials to global scratch and counts itself in on its (split, token block) counter, and the last one
    # adds them in chunk order (build_prenorm_gemm's counter_chunks): no CTA waits for another, no chunk_sum launch.
    # The same sums in the same order: bitwise the default's outputs. The counters (_chunk_counters) are the one
    # state kept between calls: one zeroed set per device and stream, each launch leaves them zero.
    op_chunks_on_counter = False
    # ... and its fences beside the counter's acq_rel atomic (build_prenorm_gemm's counter_fence): "none", "first_thread"
    # or "every_thread" (the first build's, slower: mid_probes.TileLangOpCounterEveryThreadFence).
    op_counter_fence = "none"
    # The co-resident CTAs per SM wave_cost_parts counts as overlapping when it picks the op's middle-path K ranges:
    # 1 (each SM's CTAs work in turn); 2 in mid_probes.TileLangOpCoResident (64 ranges at 256 x 4096 for 32; 1.15-1.51 x
    # slower at 256-1024 x 7168 on an H100, rejected: results/gpu/2026-12-07-h100-engines-24).
    op_co_resident = 1
    # The prenorm_gemm op's GEMM on the TMA kernel (TileLangBackend.gemm_tma's, the same bits) from this
    # many tokens, on its middle and base paths; None: gemm_tma's rule everywhere (mid_probes.TileLangCpAsync).
    # On an H100 (results/gpu/2026-12-05-h100-engines-9) TileLangGemmTma's op ran 0.96-0.98 x the
    # cp.async kernel's time at 4096 tokens and 0.96 x at 1024 x 4096, but 1.3-1.7 x at 768 (one CTA per
    # SM where the K ranges count on co-resident ones) and its mhc_pre 1.03-1.28 x from 128 tokens: the
    # op alone, from 1025. Default since the thirteenth session (results/gpu/2026-12-05-h200-engines-10,
    # H200: nightly check of the op passing, 0 / 1000 in stress at 1024, 1025 and 4096 tokens, the op at
    # 1536 / 4096 / 65 536 / 80 000 x 7168 0.84 / 0.94 / 0.92 / 0.88 x the cp.async kernel's time).
    op_gemm_tma_from_tokens: int | None = 1025
    # The same for mhc_pre's GEMM (and fused_post_pre's) above the middle path (TileLangBackend's, its
    # partials handed unsummed to pre.py's fused pre), from this T; None: cp.async at every T. From where
    # the cp.async plan gives each split one CTA of the whole K range at S = 1 on 132 SMs (gemm_schedule's
    # chunks 1 from 67 457 tokens: at 80 000, 625 CTAs two per SM, 2.4 waves of long CTAs; the TMA kernel
    # holds one per SM, 4.7 waves). On an H100 (results/gpu/2026-12-06-h100-engines-15, call 1, eager,
    # mid_probes.TileLangPreTma's kernels beside the default's): at 80 000 tokens mhc_pre 1 966 / 3 468 us
    # against 2 019 / 3 554 (H = 4096 / 7168; vLLM 1 974 / 3 497), fused_post_pre 3 959 / 6 978 against
    # 4 017 / 6 989; at 65 536 (chunks 2) 0.2-0.5 % slower (mhc_pre 1 621 against 1 613 x 4096). The same
    # wgmma k16 order and sum of squares: bitwise the cp.async kernel's outputs (checked at 8192 tokens,
    # both H), gated there (nightly checks of mhc_pre and fused_post_pre to 80 000 x 7168, 0 / 1000 stress
    # failures at 8192 x 7168).
    # From the twenty-ninth session 4097 (above the middle path), with pre_gemm_op_schedule_from: mhc_pre's and
    # fused_post_pre's GEMM there on the prenorm_gemm op's schedule (TMA, op_gemm_tunables, the op's chunks, the
    # sub-partials unsummed; mid_probes.TileLangPreOpSchedule). On an H100 (results/gpu/2026-12-07-h100-engines-26,
    # call 1, eager) 0.967-0.998 x the time before at 8192, 65 536 and 80 000 tokens, both H (mhc_pre 65 536 x 4096
    # 1 587 against 1 601 us, 8192 x 4096 210.6 against 217.8, vLLM 224.9); gated there as TileLangTwentyNinth (0 / 1000
    # stress failures at mhc_pre 8192 x 7168, the nightly checks of mhc_pre and fused_post_pre to 80 000 x 7168).
    pre_gemm_tma_from_tokens: int | None = MID_MAX_TOKENS + 1
    pre_gemm_op_schedule_from: int | None = MID_MAX_TOKENS + 1
    # Per op, the largest T whose decode / middle path kernels launch their PDL dependents early
    # (right after their own wait, not at their end: the GEMMs, decode_gemm, hc_post_wide) and whose
    # consumers behind our own GEMM load their first residual block before their wait (decode_pre,
    # the middle path's fused pre and head collapse). The same instructions otherwise, the same bits
    # (gemm.build_prenorm_gemm says why it is safe). PDL_EARLY_MAX_TOKENS, from a measurement.
    pdl_early_max_tokens: Mapping[str, int] = PDL_EARLY_MAX_TOKENS  # read-only: a subclass sets its own
    # The warp Sinkhorn of decode_pre and of the middle path's fused pre: sinkhorn.py's "gather" (the
    # default since the thirteenth session: a lane per element, each sum's group fetched by independent
    # shuffles), "lanes" (the same with butterfly shuffles, the default before it) or "rows" (a lane per
    # row, nvcc's division fast path written out so a half-step's divisions interleave); bitwise the same
    # results. "gather": bitwise "lanes" on an H100 at 246 points, mhc_pre 0.94-0.97 x its time at
    # 1-256 tokens (results/gpu/2026-12-05-h100-engines-9); with decode_pre_narrow_sums and the op's TMA it
    # passed the nightly checks of mhc_pre, fused_post_pre, pre_big_fuse and prenorm_gemm and 1000 stress
    # reruns at six points on an H200 (-10). "rows" was bitwise equal and slower at every point on an
    # H200 (results/gpu/2026-12-05-h200-engines-7: mhc_pre 8.6 / 11.0 us at T = 1 / 16, H = 7168, against
    # 7.0 / 9.3): a probe. "gather_rcp" (the fourteenth session's probe, mid_probes.TileLangEarlySinkhorn):
    # "gather" with the normalisations' divisions written out and checked once per call, "gather" the
    # fallback; bitwise "gather" on the CPU emulator and in 180 checks on an H100 (-11, call 5). With the
    # two fused pres' early constants (below) it passed its gate on an H100
    # (results/gpu/2026-12-05-h100-engines-12: nightly checks of mhc_pre, fused_post_pre and pre_big_fuse,
    # 0 / 1000 stress failures at ten points, bitwise "gather" in 180 more checks): the default since the
    # fifteenth session, 0.84-0.97 x "gather"'s time up to 128 tokens (-11, call 5; -12). "lane_vectors" (the
    # twenty-ninth session's probe, mid_probes.TileLangLaneVectors): "vectors"' scaling-vector loop (no shuffle, no
    # division on the chain) with its softmax and final division spread over the lanes; bitwise "vectors" on the CPU
    # emulator, other roundings than "gather_rcp"'s. Gated on an H100 (results/gpu/2026-12-07-h100-engines-26, call 1,
    # as mid_probes.TileLangTwentyNinth: 0 / 1000 stress failures at mhc_pre 32 / 256 / 8192 and fused_post_pre 16 x
    # 7168, the nightly checks of mhc_pre, fused_post_pre and pre_big_fuse passing) and there 0.84-0.97 x
    # "gather_rcp"'s time at 1-256 tokens for the three pres, both H (mhc_pre 32 x 7168 7.6-8.0 us against 8.0-8.1,
    # a period of 7.0 against 7.5 in its profile), within 0.5 % at 1024 and 4096; slower only where
    # mid_prefetch_gather_rcp_tokens keeps "gather_rcp". The default since the twenty-ninth session.
    sinkhorn_layout = "lane_vectors"
    # Per H, the tokens (first, last, inclusive) whose middle pre with the residual prefetch (mhc_pre's, inside
    # pdl_early_max_tokens) keeps "gather_rcp": at 129-256 x 7168 (56 parts) "lane_vectors" took that kernel from 80 to
    # 92 registers a thread (sm_90a, nvcc 13.0; no other middle or decode pre's count moved) and mhc_pre 1.10 x the
    # time at 256 x 7168 (12.9 against 11.7 us: -26, call 1), the one point it lost.
    mid_prefetch_gather_rcp_tokens: Mapping[int, tuple[int, int]] = MappingProxyType({7168: (129, 256)})
    # decode_pre's collapse CTAs (all of a token's CTAs but the last) sum the parts of the n pre mixes and
    # of the sum of squares only (decode.build_decode_pre's narrow_sums), not all M = 24 columns: at
    # T = 32 and H = 7168 the 15 CTAs of each of 32 tokens read the 112 parts' partials, 5.4 MB of L2
    # reads in the default layout, 2.1 MB narrow (one 32-byte sector of a part's mixes instead of
    # three or four, and the sum of squares). Bitwise the same outputs (on an H200, -10: ALL OK at 1, 16
    # and 32 tokens, both H, mhc_pre, fused_post_pre and pre_big_fuse). Default since the thirteenth
    # session, with the gather Sinkhorn (its gate above); the two together 0.95-0.98 x the lanes-only
    # default's mhc_pre at 1-256 tokens on that H200: the narrow sums' own share was not timed apart.
    decode_pre_narrow_sums = True
    # decode_pre's mix threads load hc_scale / hc_base at the top, not after the partial sums' barriers
    # (decode.build_decode_pre's early_constants): one dependent L2 round trip fewer on the way to
    # Sinkhorn. Bitwise the same outputs. The default since the fifteenth session (the gate above).
    decode_pre_early_constants = True
    # decode_pre without the RMSNorm weight as decode.build_decode_pre_cluster where a token's CTAs fit one
    # portable cluster (H = 7168: 7 collapse CTAs of 1024 columns and the mix CTA; 4096: 4 + 1; sm_90+): the
    # mix CTA alone sums the parts' partials and hands the pre weights to the collapse CTAs across a cluster
    # barrier, instead of every CTA of the token summing them (480 CTAs reading the 112 parts at 32 x 7168);
    # with decode_pre_cluster_split_arrive its warp 1 releases them and Sinkhorn's warp goes on without waiting.
    # Bitwise decode_pre's outputs. Nineteenth session (results/gpu/2026-12-06-h100-engines-16, H100,
    # graph-replayed, mid_probes.TileLangPreCluster2 beside the default): mhc_pre 0.98 / 0.93 / 0.87 / 0.93 /
    # 0.88 / 0.93 x the default's time at 1 / 8 / 16 / 17 / 24 / 32 x 7168 (8.9 -> 8.2 us at 32), 0.94-1.03 x at
    # 4096 (1.03 at one token, within the replays' ranges), fused_post_pre 0.88-1.01 x; the cluster barrier
    # whole (mid_probes.TileLangPreCluster, call 1) took one token 1.06 / 1.10 x. Gated there: bitwise the default
    # at 1-32 tokens on mhc_pre, fused_post_pre and pre_big_fuse, both H (probe_bitwise_check.py, reruns and a
    # graph replay; tests/test_tilelang_gpu_bits.py), 0 / 1000 stress failures at mhc_pre 24 / 32 and
    # fused_post_pre 32 (inside mid_probes.TileLangNineteenth), and as the default (call 3): 0 / 1000 at mhc_pre
    # 1 / 16 / 32, fused_post_pre 32, pre_big_fuse 16, the nightly checks of mhc_pre, fused_post_pre and
    # pre_big_fuse passing. That call's committed benchmark: mhc_pre 8.1 us at 32 x 7168 (-15: 8.8).
    decode_pre_cluster = True
    decode_pre_cluster_split_arrive = True  # decode.build_decode_pre_cluster's split_arrive (TileLangPreCluster2)
    # ... and its dsmem_pre: the pre weights into the collapse CTAs' shared memory (distributed shared memory)
    # instead of through global scratch, Sinkhorn on the mix CTA's warp 1 (mid_probes.TileLangPreDsmem; a probe).
    decode_pre_cluster_dsmem = False
    # ... and its trigger_first: every CTA launches PDL's dependents right after its wait, not at its end, so the
    # kernel after mhc_pre's (pre_big_fuse's, fused_post_pre's) launches while the mix CTA runs Sinkhorn
    # (mid_probes.TileLangPreTriggerFirst). For mhc_pre's floor at 32 x 7168: the next call's GEMM ran 4.77 us from
    # its start, 1.3 of them before this kernel ended (results/gpu/2026-12-06-h100-engines-19,
    # profiles/c1-mhc_pre-32x7168.md). The same instructions otherwise: bitwise the same outputs. Rejected: 1.04-1.15 x
    # the default's time at 1-32 tokens on an H100 (results/gpu/2026-12-07-h100-engines-25, call 1).
    decode_pre_cluster_trigger_first = False
    # The plan's "wgmma" rows (17-32 tokens for M = 24) on the TMA kernel (TileLangBackend.gemm_tma's: the same
    # k16 order and sums of squares, the same bits), and with another K tile (None: DECODE_BLOCK_K; 256: one
    # tile per CTA of the 256-column parts, its sums of squares in another association). Probes
    # (mid_probes.TileLangDecodeGemmTma, TileLangDecodeGemmOneTile) for the GEMM's 3.6 us after its wait at
    # 32 x 7168 (DeepGEMM's TF32 kernel, the same 112 K ranges: 2.8). Both slower at 17-32 tokens on an H100
    # (1.02-1.11 x, results/gpu/2026-12-06-h100-engines-16, call 1): not adopted.
    decode_wgmma_tma = False
    decode_wgmma_block_k: int | None = None
    # The prenorm_gemm op at these token counts (first, last; None: nowhere) on the caller's S splits alone (one
    # CTA per split and token block, no chunks, no chunk_sum) on the TMA kernel with op_plain_tma_stages stages:
    # DeepGEMM's shape. Each split's sum in one accumulator (the base op's arithmetic above 1024 tokens), not
    # chunk sums added. Nineteenth session (results/gpu/2026-12-06-h100-engines-16, H100, graph-replayed,
    # mid_probes.TileLangOpPlainTma beside the default at S = 16): 0.65-0.91 x the default's time at 384 / 448 /
    # 512 / 640 tokens, both H (512 x 7168: 12.1 -> 11.0 us, DeepGEMM 12.0; 640 x 7168 27.1 -> 19.5), but 1.12 x
    # at 256 x 7168, 1.03 x at 768 x 4096 and 1024 x 7168: the window is between the measured neighbours. Gated
    # there: 0 / 1000 stress failures, judged in float64, at 512 x 7168 (inside mid_probes.TileLangNineteenth) and
    # as the default at 384 / 640 x 7168 (call 3; the nightly check's drawn cases do not reach the window).
    # That call's committed benchmark: the op 11.0 us at 512 x 7168 (DeepGEMM 11.4), 7.1 at 512 x 4096 (7.7).
    # From 257 tokens since the twenty-third session (mid_probes.TileLangOpPlainFrom257): at 257-320 the middle
    # GEMM has a fifth 64-token block and the wave rule 112 K ranges at H = 7168 (560 CTAs of 2 tiles, chunk_sum
    # over 7 chunks a split); the window there took 0.76-0.79 x the middle path's time at 257 / 288 / 320 x 7168
    # and 0.87-0.89 x at 4096 (results/gpu/2026-12-06-h100-engines-19, graph-replayed). Gated on an H100
    # (results/gpu/2026-12-06-h100-engines-20, call 1): 0 / 1000 stress failures at 257 / 288 / 320 x 7168, the
    # nightly check of the op with the path anchors passing (31 cases, 0.065 of the bound), the GPU bit test of
    # the window's four against six stages. The committed benchmark is that folder's call 3 (the default from the
    # committed tree; call 1 ran the same kernels as the probe): the op 8.6 / 10.9 us at 256 / 512 x 7168.
    op_plain_tma_tokens: tuple[int, int] | None = (257, 704)
    op_plain_tma_stages = 4
    op_plain_tma_block_k: int | None = None  # None: WIDE_K_TILES' K tile (128); 64: mid_probes.TileLangOpPlainDeep64
    # The prenorm_gemm op at these token counts (first, last; None: nowhere) on gemm_multicast.py's kernel: the
    # written-out TMA pipeline, one CTA per K range and 64-token block, op_multicast_stages stages of
    # op_multicast_block_k columns, in clusters of up to op_multicast_cluster token blocks (gemm_multicast.cluster_for)
    # that load each fn3 tile once by a TMA multicast; with op_multicast_chunks c > 1 each split's K range over c CTAs
    # and chunk_sum. Clusters of one (op_multicast_cluster 1) may load their fn3 tiles of the first stages before the
    # PDL wait (op_multicast_fn3_first: fn3 is a weight, not the previous launch's output; not where this call
    # launched fn's split itself), and chunk_sum may trigger the next launch right after its own wait
    # (op_multicast_early_sum), so that the next call's GEMM pulls its fn3 while this call's chunk_sum runs.
    # The default since the thirty-third session, at 129-256 tokens: the middle GEMM's shape there (two chunks a
    # split) with both, mid_probes.TileLangOpFn3FirstWindow. For the op at 256 x 4096, where the middle GEMM (cp.async)
    # + chunk_sum lost to DeepGEMM's one kernel (6.4 against 5.9 us, results/gpu/2026-12-07-h100-engines-27). On an
    # H100 (-29, call 1; bitwise the middle shape's K ranges, 0 / 1000 stress failures at 256 x both H): 6.2 against
    # 6.4 us at 256 x 4096 (DeepGEMM 6.1), 7.5 against 8.1 at 256 x 7168; at 128 tokens the middle GEMM's 64 K
    # ranges stay (5.1 against 5.8 us). Its gate and committed run: results/gpu/2026-12-07-h100-engines-30.
    # Rejected there: clusters of 4 (mid_probes.TileLangOpMulticast: 1.19-1.27 x at 129-320 x 4096, -28), the plain
    # window with fn3 first (TileLangOpPlainFn3First, -29).
    op_multicast_tokens: tuple[int, int] | None = (129, 256)
    op_multicast_cluster = 1
    op_multicast_stages = 4
    op_multicast_block_k = 128
    op_multicast_chunks = 2
    op_multicast_fn3_first = True
    op_multicast_early_sum = True
    # On that kernel, each tile's squares added while its wgmmas run (op_multicast_overlap_squares), and the partials
    # written from the accumulator's registers (op_multicast_direct_epilogue): gemm_multicast's build options, the
    # same bits. From the GEMM's stamps at 256 x 4096 (-30, call 1): 0.49 us a tile, 1.35 us of epilogue. Adopted
    # in the thirty-third session (its gate, bench and committed run: results/gpu/2026-12-07-h100-engines-30; the
    # kernel before them: mid_probes.TileLangOpEpilogueBefore).
    op_multicast_overlap_squares = True
    op_multicast_direct_epilogue = True
    # Per H, the prenorm_gemm op at these token counts (first, last) on gemm_fn_split.py's kernel: the plain window's
    # CTAs (one per split and 64-token block, no chunk_sum) reading fn in fp32 and splitting it into its bf16
    # pieces in a warpgroup of their own (96 KB of fn a CTA at 256 x 4096 instead of fn3's 160), op_fn_split_stages
    # load stages. Where fn is contiguous fp32 at a 16-byte-aligned address (TMA's rule), else the op as before.
    # Probes (mid_probes.TileLangOpFnSplit*), nowhere by default: rejected in the thirty-first session (-28: bitwise
    # the plain window, 10.1 against the default's 6.4 us at 256 x 4096, about 0.9 us a K tile).
    op_fn_split_tokens: Mapping[int, tuple[int, int]] = MappingProxyType({})
    op_fn_split_stages = 5
    # mhc_pre's (and fused_post_pre's) middle GEMM at these token counts (first, last; None: nowhere) in DeepGEMM's
    # shape: 64-token blocks, the most K ranges that keep one CTA per SM (blocks * ranges <= SMs: 16 at 512
    # tokens, 8 at 1024), the TMA kernel with mid_deep_stages stages; the fused pre then sums those few parts.
    # vLLM's mhc_pre leads at 512 / 1024 x 4096 in its GEMM (DeepGEMM, 128 CTAs, 0.9-1.2 us ahead of our middle
    # GEMM's 256) and, at 1024, in its pre on 8 splits (1.8 us ahead of ours on 32): results/gpu/
    # 2026-12-06-h100-engines-16, profiles/c1-mid-H4096.md. Other K ranges, other sums. The default since the
    # twentieth session (results/gpu/2026-12-06-h100-engines-17, H100, mid_probes.TileLangMidDeepShape): gated on
    # the fixed GEMM in call 3 (the nightly checks of mhc_pre and fused_post_pre passing, 0 / 1000 stress failures
    # at mhc_pre 512 / 1024 x 7168 and x 4096 and fused_post_pre 512 x 7168); beside the default in call 2
    # (graph-replayed, both on a GEMM without its tiles' squares, the bug 10d6023 fixed) 0.91 / 0.87 x its time at
    # mhc_pre 512 / 1024 x 4096, 0.90 / 0.94 at 512 / 640 x 7168, 0.96 at fused_post_pre 1024 x 4096, even
    # (0.98-1.01) at 768 tokens and 1024 x 7168; in call 3's run beside the rivals mhc_pre 12.4 / 24.1 us at 512 /
    # 1024 x 4096 (vLLM 13.6 / 24.1; -16's default 14.3 / 27.0 beside vLLM's 13.7 / 24.8).
    mid_deep_tokens: tuple[int, int] | None = (385, 1024)
    mid_deep_stages = 4
    # The same for the middle path's fused pre (pre_overlap.build_pre_big_fuse_overlap's early_constants):
    # its warp 0 loads them after the partial sums' MUFU.RSQ and SHFL in the sm_90a SASS. The default
    # since the fifteenth session (the gate above; on that H100 mhc_pre 0.96 x at 64 / 128 x 7168 beside
    # decode_pre's early constants alone).
    mid_pre_early_constants = True
    # ... also where the middle pre runs on one residual buffer (mid_pre_one_buffer_tokens); False: there
    # the constants load late (mid_probes.TileLangMidConstantsTwoBuffers: whether the early loads cost
    # the one-buffer kernel its registers, mhc_pre at 1024 x 7168 1.02 x in -12's call 2).
    mid_pre_early_constants_one_buffer = True
    # decode_gemm = "auto"'s plan: rows (mixes M, largest T, kernel, tunables), the first that matches.
    decode_gemm_plan: tuple[tuple[int, int | None, str, dict[str, int]], ...] = DECODE_GEMM_PLAN

    def provenance(self) -> dict[str, Any]:
        return {**super().provenance(), "decode_max_tokens": self.decode_max_tokens,
                "decode_max_tokens_by_op": dict(self.decode_max_tokens_by_op),
                "decode_gemm": self.decode_gemm, "decode_gemm_tunables": self.decode_gemm_tunables or "kernel defaults",
                "decode_gemm_fn_before_wait": sorted(self.decode_gemm_fn_before_wait),
                "wgmma_fn_before_wait": sorted(self.wgmma_fn_before_wait),
                **({"no_pdl_tokens": dict(self.no_pdl_tokens)} if self.no_pdl_tokens else {}),
                **({"no_pdl_megabytes": dict(self.no_pdl_megabytes)} if self.no_pdl_megabytes else {}),
                **({"hc_post_wide_block_from": dict(self.hc_post_wide_block_from)}
                   if self.hc_post_wide_block_from else {}),
                **({"hc_post_per_token_tokens": dict(self.hc_post_per_token_tokens)}
                   if self.hc_post_per_token_tokens else {}),
                **changed(hc_post_flat_from_tokens=(self.hc_post_flat_from_tokens, None)),
                "hc_post_pipelined_tokens": dict(self.hc_post_pipelined_tokens),
                "mid_prefetch_gather_rcp_tokens": dict(self.mid_prefetch_gather_rcp_tokens),
                "hc_post_pipeline_stages": self.hc_post_pipeline_stages,
                "token_major_partials": sorted(self.token_major_partials),
                "mid_max_tokens": self.mid_max_tokens, "mid_max_tokens_by_op": dict(self.mid_max_tokens_by_op),
                "mid_waves": self.mid_waves,
                "mid_block_m": self.mid_block_m or "gemm.block_m_for(T)",
                "mid_block_m_128_from": dict(self.mid_block_m_128_from), "op_gemm_max_tokens": self.op_gemm_max_tokens,
                "pdl_early_max_tokens": dict(self.pdl_early_max_tokens),
                **({"decode_gemm_plan": [list(row) for row in self.decode_gemm_plan]}
                   if self.decode_gemm_plan != DECODE_GEMM_PLAN else {}),
                # the probes' knobs, only where one sets them
                **changed(mid_min_tiles_per_part=(self.mid_min_tiles_per_part, MIN_TILES_PER_PART),
                          sinkhorn_layout=(self.sinkhorn_layout, "lanes"),
                          decode_pre_narrow_sums=(self.decode_pre_narrow_sums, False),
                          decode_pre_early_constants=(self.decode_pre_early_constants, False),
                          mid_pre_early_constants=(self.mid_pre_early_constants, False),
                          mid_pre_early_constants_one_buffer=(self.mid_pre_early_constants_one_buffer, True),
                          mid_pre_min_blocks_per_sm=(self.mid_pre_min_blocks_per_sm, None),
                          mid_pre_one_buffer_tokens=(self.mid_pre_one_buffer_tokens, None),
                          op_chunks_in_cluster=(self.op_chunks_in_cluster, False),
                          op_chunks_dsmem=(self.op_chunks_dsmem, False),
                          op_chunks_on_counter=(self.op_chunks_on_counter, False),
                          op_counter_fence=(self.op_counter_fence, "none"),
                          op_co_resident=(self.op_co_resident, 1),
                          decode_pre_cluster=(self.decode_pre_cluster, False),
                          decode_pre_cluster_split_arrive=(self.decode_pre_cluster_split_arrive, False),
                          decode_pre_cluster_dsmem=(self.decode_pre_cluster_dsmem, False),
                          decode_pre_cluster_trigger_first=(self.decode_pre_cluster_trigger_first, False),
                          decode_wgmma_tma=(self.decode_wgmma_tma, False),
                          decode_wgmma_block_k=(self.decode_wgmma_block_k, None),
                          op_plain_tma_tokens=(self.op_plain_tma_tokens, None),
                          op_plain_tma_block_k=(self.op_plain_tma_block_k, None),
                          op_multicast_tokens=(self.op_multicast_tokens, (129, 256)),
                          op_multicast_cluster=(self.op_multicast_cluster, 1),
                          op_multicast_stages=(self.op_multicast_stages, 4),
                          op_multicast_block_k=(self.op_multicast_block_k, 128),
                          op_multicast_chunks=(self.op_multicast_chunks, 2),
                          op_multicast_fn3_first=(self.op_multicast_fn3_first, True),
                          op_multicast_early_sum=(self.op_multicast_early_sum, True),
                          op_multicast_overlap_squares=(self.op_multicast_overlap_squares, True),
                          op_multicast_direct_epilogue=(self.op_multicast_direct_epilogue, True),
                          op_fn_split_tokens=(dict(self.op_fn_split_tokens), {}),
                          op_fn_split_stages=(self.op_fn_split_stages, 5),
                          mid_deep_tokens=(self.mid_deep_tokens, None),
                          op_gemm_tma_from_tokens=(self.op_gemm_tma_from_tokens, None),
                          pre_gemm_tma_from_tokens=(self.pre_gemm_tma_from_tokens, None))}

    @classmethod
    def multicast_variant(cls) -> dict[str, Any]:
        """The keyword arguments gemm_multicast's getter takes from op_multicast_overlap_squares and
        op_multicast_direct_epilogue (only those set). precompile derives its jobs from it."""
        return changed(overlap_squares=(cls.op_multicast_overlap_squares, False),
                       direct_epilogue=(cls.op_multicast_direct_epilogue, False))

    @classmethod
    def fused_pre_variant(cls) -> dict[str, Any]:
        """The keyword arguments its fused pres' getters (decode_pre, the middle path's) take from the
        Sinkhorn layout: none for "lanes", the getters' default. precompile derives its jobs from it."""
        return changed(sinkhorn_layout=(cls.sinkhorn_layout, "lanes"))

    @classmethod
    def overlap_pre_variant(cls, one_buffer: bool = False) -> dict[str, Any]:
        """fused_pre_variant, and the middle pre's early constants where mid_pre_early_constants (on one
        residual buffer only with mid_pre_early_constants_one_buffer). _overlap_pre and precompile both
        take the middle pre's variant from here."""
        early = cls.mid_pre_early_constants and (cls.mid_pre_early_constants_one_buffer or not one_buffer)
        return {**cls.fused_pre_variant(), **changed(early_constants=(early, False))}

    @classmethod
    def decode_pre_variant(cls) -> dict[str, Any]:
        """fused_pre_variant, and decode_pre's narrow sums and early constants where set."""
        return {**cls.fused_pre_variant(), **changed(narrow_sums=(cls.decode_pre_narrow_sums, False),
                                                     early_constants=(cls.decode_pre_early_constants, False))}

    def _op_tma(self, tokens: int) -> bool:
        """Whether the prenorm_gemm op's GEMM at ``tokens`` wants the TMA kernel: gemm_tma, or from
        op_gemm_tma_from_tokens (_tma still decides where it can run)."""
        start = self.op_gemm_tma_from_tokens
        return self.gemm_tma or (start is not None and tokens >= start)

    def _pre_tma(self, tokens: int) -> bool | None:
        """TileLangBackend.mhc_pre's GEMM (this backend's above the middle path) on TMA from
        pre_gemm_tma_from_tokens; below it (or with it None) gemm_tma's rule, as before."""
        start = self.pre_gemm_tma_from_tokens
        return True if start is not None and tokens >= start else None

    def _early(self, tokens: int, op: str) -> bool:
        """Whether ``op`` at ``tokens`` runs the pdl_early kernels (pdl_early_max_tokens)."""
        return 0 < tokens <= self.pdl_early_max_tokens.get(op, 0)

    def _one_buffer(self, tokens: int) -> bool:
        """Whether the middle path's fused pre runs on one residual buffer at T (mid_pre_one_buffer_tokens)."""
        return _within(self.mid_pre_one_buffer_tokens, tokens)

    def _op_target(self, tokens: int, op: str, hidden: int, n: int):
        """The target ``op``'s first kernel is compiled for at T and H: without PDL inside
        no_pdl_tokens[op], or where the call's residual and layer_input (T * H * 2 * (n + 1) bytes)
        fall inside no_pdl_megabytes[op]."""
        from dataclasses import replace

        data_mb = tokens * hidden * 2 * (n + 1) / 1e6
        target = self._target()
        if _within(self.no_pdl_tokens.get(op), tokens) or _within(self.no_pdl_megabytes.get(op), data_mb):
            return replace(target, pdl=False)
        return target

    def path_boundaries(self, op: str) -> tuple[int, ...]:
        """Backend.path_boundaries: each side of every token count where this backend's kernels for ``op`` change,
        from its thresholds (the decode, middle and op GEMM ranges, the decode GEMM plan's rows, PDL early, the
        middle GEMM's 128-token blocks, the deep shape's window, the one-buffer pre's, hc_post's wide CTAs, the
        TMA GEMMs' starts, the pre's GEMM on the op's schedule, mhc_pre's middle pre on "gather_rcp" at any H). Windows
        that depend on H by bytes or that the draws reach (hc_post_per_token_tokens, no_pdl_megabytes) are left to stress
        and the draws."""
        from mhc_kernels.tilelang.gemm import LARGE_T_FROM

        pre_ops = ("mhc_pre", "fused_post_pre")
        if op not in pre_ops + ("pre_big_fuse", "hc_post", "hc_head", "prenorm_gemm"):
            return ()  # TileLangBackend's kernels at every T
        firsts = {self.decode_max_tokens_by_op.get(op, self.decode_max_tokens) + 1,
                  self.mid_max_tokens_by_op.get(op, self.mid_max_tokens) + 1, LARGE_T_FROM}
        firsts |= {self.pdl_early_max_tokens[key] + 1 for key in (op, FUSED_HC_POST if op == "fused_post_pre" else op)
                   if key in self.pdl_early_max_tokens}
        if op in pre_ops + ("prenorm_gemm", "hc_head"):
            firsts |= {largest + 1 for _, largest, _, _ in self.decode_gemm_plan if largest is not None}
        windows = []
        if op in pre_ops + ("pre_big_fuse",):
            windows.append(self.mid_pre_one_buffer_tokens)
        if op in pre_ops:
            windows.append(self.mid_deep_tokens)
            firsts |= {self.mid_block_m_128_from[op]} if op in self.mid_block_m_128_from else set()
            firsts |= {self.pre_gemm_tma_from_tokens} if self.pre_gemm_tma_from_tokens else set()
            firsts |= {self.pre_gemm_op_schedule_from} if self.pre_gemm_op_schedule_from else set()
        if op == "mhc_pre":  # its middle pre with the prefetch, the only one mid_prefetch_gather_rcp_tokens reaches
            windows += list(self.mid_prefetch_gather_rcp_tokens.values())
        if op == "prenorm_gemm":
            windows += [self.op_plain_tma_tokens, self.op_multicast_tokens, *self.op_fn_split_tokens.values()]
            if self.op_multicast_tokens is not None:  # where gemm_multicast.cluster_for changes inside the window
                from mhc_kernels.tilelang.gemm_multicast import cluster_for

                first, last = self.op_multicast_tokens
                firsts |= {t for t in range(first + 1, last + 1)
                           if cluster_for(t, largest=self.op_multicast_cluster)
                           != cluster_for(t - 1, largest=self.op_multicast_cluster)}
            firsts |= {self.op_gemm_max_tokens + 1}
            firsts |= {self.op_gemm_tma_from_tokens} if self.op_gemm_tma_from_tokens else set()
        if op in ("hc_post", "fused_post_pre"):
            firsts |= set(self.hc_post_wide_block_from)
            firsts |= {self.hc_post_flat_from_tokens} if self.hc_post_flat_from_tokens else set()
        for span in windows:
            if span is not None:
                firsts |= {span[0], span[1] + 1}
        return tuple(sorted({t for first in firsts if first > 1 for t in (first - 1, first)}))

    def _decode(self, tokens: int, op: str) -> bool:
        limit = self.decode_max_tokens_by_op.get(op, self.decode_max_tokens)
        return 0 < tokens <= min(limit, _MAX_GRID_Y)

    def _mid(self, tokens: int, op: str) -> bool:
        """Above the decode kernels' range, up to mid_max_tokens: the middle path (class docstring)."""
        limit = self.mid_max_tokens_by_op.get(op, self.mid_max_tokens)
        return not self._decode(tokens, op) and 0 < tokens <= limit

    def _decode_gemm(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, token_major: bool = False,
                     early: bool = False, *, op: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The prenorm GEMM's partials over decode_parts K ranges: [P, T, M] and [P, T] (decode_pre
        and decode_head take P at compile time). One launch: decode_gemm's FMA kernel, or with
        ``decode_gemm = "wgmma"`` gemm.py's tensor-core kernel (which takes its K ranges from the
        partials' first dimension) on fn's cached bf16x3 split. ``token_major``: [T, P, M], [T, P]
        from the FMA kernel."""
        from mhc_kernels.tilelang.decode import decode_parts

        t, m = x.shape[0], fn.shape[0]
        parts = decode_parts(n, hidden)
        kernel, tunables = self._decode_gemm_choice(m, t, token_major)
        fn_first = op in self.decode_gemm_fn_before_wait
        fma_kw = changed(early_trigger=(early, False), fn_before_wait=(fn_first, False))
        flags = (",early_trigger" if early else "") + (",fn_before_wait" if fn_first else "")
        if token_major:
            if kernel != "fma":
                raise ValueError(f"{type(self).__name__}.token_major_partials needs the FMA decode GEMM "
                                 f"(gemm.py's kernel writes [parts, T, M] only), got decode_gemm {kernel!r}")
            from mhc_kernels.tilelang.decode_gemm import decode_gemm_kernel

            mixes = torch.empty(t, parts, m, dtype=torch.float32, device=x.device)
            sqrsum = torch.empty(t, parts, dtype=torch.float32, device=x.device)
            extra = "".join(f",{k}={v}" for k, v in sorted(tunables.items()))
            self._count(f"decode_gemm[parts={parts}{extra},token_major{flags}]")
            decode_gemm_kernel(n, hidden, m, parts, self._target(), token_major=True, **tunables, **fma_kw)(
                x, fn, mixes, sqrsum)
            return mixes, sqrsum
        mixes = torch.empty(parts, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(parts, t, dtype=torch.float32, device=x.device)
        if kernel == "fma":
            from mhc_kernels.tilelang.decode_gemm import decode_gemm_kernel

            extra = "".join(f",{k}={v}" for k, v in sorted(tunables.items()))
            self._count(f"decode_gemm[parts={parts}{extra}{flags}]")
            decode_gemm_kernel(n, hidden, m, parts, self._target(), **tunables, **fma_kw)(x, fn, mixes, sqrsum)
        elif kernel == "wgmma":
            from mhc_kernels.tilelang.decode import DECODE_BLOCK_K
            from mhc_kernels.tilelang.gemm import block_m_for

            block_m = block_m_for(t)
            tunables = dict(WIDE_K_TILES[block_m])
            assert tunables["block_k"] == DECODE_BLOCK_K, tunables
            if self.decode_wgmma_block_k is not None:
                tunables["block_k"] = self.decode_wgmma_block_k
                if (n * hidden // parts) % self.decode_wgmma_block_k:
                    raise ValueError(f"decode_wgmma_block_k={self.decode_wgmma_block_k} does not divide the "
                                     f"{n * hidden // parts}-column K ranges")
            fn_tiles = n * hidden // tunables["block_k"] // parts if op in self.wgmma_fn_before_wait else 0
            self._launch_gemm(x, fn, mixes, sqrsum, n, hidden, GemmSchedule(block_m, tunables, 1), early,
                              tma=True if self.decode_wgmma_tma else None, fn_tiles=fn_tiles)
        else:
            raise ValueError(f"{type(self).__name__}.decode_gemm must be 'auto', 'fma' or 'wgmma', "
                             f"got {self.decode_gemm!r}")
        return mixes, sqrsum

    def _decode_gemm_choice(self, mixes: int, tokens: int, token_major: bool = False) -> tuple[str, dict[str, int]]:
        """Which decode GEMM runs for M mixes and T tokens, with which tunables. With
        ``token_major`` the plan's "wgmma" rows become the FMA kernel at decode_gemm_tunables."""
        if self.decode_gemm != "auto":
            return self.decode_gemm, dict(self.decode_gemm_tunables)
        for m, largest_t, kernel, tunables in self.decode_gemm_plan:
            if m == mixes and (largest_t is None or tokens <= largest_t):
                if kernel == "wgmma" and token_major:
                    return "fma", dict(self.decode_gemm_tunables)
                return kernel, dict(tunables)
        return "fma", dict(self.decode_gemm_tunables)  # another M (a contract variant): the default FMA

    def _op_gemm_parts(self, tokens: int, n: int, hidden: int, n_splits: int, device: torch.device) -> int | None:
        """The prenorm_gemm op's K ranges on the decode / middle GEMM, or None (the base op): a multiple
        of n_splits (each split's parts contiguous) dividing the 128-wide K tiles. On the decode path
        decode_parts (where n_splits divides it); above, wave_cost_parts over the middle GEMM's token
        blocks (_mid_block_m("prenorm_gemm", T))."""
        from mhc_kernels.tilelang.backend import _sm_count
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, decode_parts

        if not 0 < tokens <= self.op_gemm_max_tokens or (n * hidden) % DECODE_BLOCK_K:
            return None
        if self._decode(tokens, "prenorm_gemm"):
            parts = decode_parts(n, hidden)
            return parts if parts % n_splits == 0 else None
        blocks = -(-tokens // self._mid_block_m("prenorm_gemm", tokens))
        return wave_cost_parts(n * hidden // DECODE_BLOCK_K, self.mid_min_tiles_per_part, n_splits, blocks,
                               _sm_count(device), self.op_co_resident)

    # -- ops --------------------------------------------------------------------------------------
    def prenorm_gemm(self, x, fn, n_splits):
        from mhc_reference.contract import hc_mult_from_mix_count

        t, m = x.shape[0], fn.shape[0]
        n = hc_mult_from_mix_count(m)
        h = x.shape[1] // n
        if _within(self.op_fn_split_tokens.get(h), t) and (n * h // n_splits) % FN_SPLIT_BLOCK_K == 0 \
                and self._tma(x, True) and self._fn_tma_loadable(fn):
            return self._op_fn_split(x, fn, n, h, n_splits)
        if (_within(self.op_multicast_tokens, t) and (n * h // n_splits) % (self.op_multicast_block_k
                                                                           * self.op_multicast_chunks) == 0
                and self._tma(x, True)):
            return self._op_multicast(x, fn, n, h, n_splits)
        if _within(self.op_plain_tma_tokens, t) and (n * h // n_splits) % self._op_plain_tma_block_k() == 0:
            return self._op_plain_tma(x, fn, n, h, n_splits)
        parts = self._op_gemm_parts(t, n, h, n_splits, x.device)
        tma = self._op_tma(t)
        if parts is None:  # TileLangBackend's op (its _gemm), early only where BASE_GEMM says
            return self._gemm(x, fn, n, h, n_splits, early_trigger=self._early(t, BASE_GEMM), tma=tma)
        early = self._early(t, "prenorm_gemm")
        if self._decode(t, "prenorm_gemm"):
            mixes, sqrsum = self._decode_gemm(x, fn, n, h, early=early, op="prenorm_gemm")
        elif self.op_chunks_in_cluster and 2 <= parts // n_splits <= MAX_CLUSTER_CHUNKS:
            return self._mid_gemm_cluster_summed(x, fn, n, h, n_splits, parts // n_splits, early, tma)
        elif self.op_chunks_on_counter and 2 <= parts // n_splits <= MAX_CLUSTER_CHUNKS:
            return self._mid_gemm_counter_summed(x, fn, n, h, n_splits, parts // n_splits, early, tma)
        else:
            mixes, sqrsum = self._mid_gemm(x, fn, n, h, parts, early, "prenorm_gemm", tma)
        if parts == n_splits:
            return mixes, sqrsum
        chunks = parts // n_splits
        return self._reduce_chunks(mixes.view(n_splits, chunks, t, m), sqrsum.view(n_splits, chunks, t))

    def _op_plain_tma(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int):
        """The prenorm_gemm op on the caller's splits alone, TMA loads, op_plain_tma_stages stages
        (op_plain_tma_tokens); PDL early where the op's is."""
        from mhc_kernels.tilelang.gemm import block_m_for

        t = x.shape[0]
        return self._tma_gemm(x, fn, n, hidden, n_splits, block_m_for(t), self.op_plain_tma_stages,
                              self._early(t, "prenorm_gemm"), block_k=self.op_plain_tma_block_k)

    def _op_multicast(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int):
        """The prenorm_gemm op on gemm_multicast.py's kernel (op_multicast_tokens): S * op_multicast_chunks K
        ranges, then chunk_sum where the chunks are more than one; PDL early where the op's is."""
        from mhc_kernels.tilelang.gemm_multicast import cluster_for, prenorm_gemm_multicast_kernel

        t, m = x.shape[0], fn.shape[0]
        chunks = self.op_multicast_chunks
        fn3, split_here = self._split_fn_launched(fn)
        mixes = self._gemm_output((n_splits * chunks, t, m), x.device)
        sqrsum = self._gemm_output((n_splits * chunks, t), x.device)
        cluster = cluster_for(t, largest=self.op_multicast_cluster)
        early = self._early(t, "prenorm_gemm")
        target = self._target()
        fn3_first = self.op_multicast_fn3_first and cluster == 1 and target.pdl and not split_here
        self._count(f"prenorm_gemm_multicast[cluster={cluster},stages={self.op_multicast_stages},"
                    f"block_k={self.op_multicast_block_k},chunks={chunks}" + (",early_trigger" if early else "")
                    + (",fn3_first" if fn3_first else "") + "".join(f",{k}" for k in self.multicast_variant()) + "]")
        prenorm_gemm_multicast_kernel(n, hidden, m, target, cluster=cluster,
                                      num_stages=self.op_multicast_stages, block_k=self.op_multicast_block_k,
                                      early_trigger=early, **changed(fn3_first=(fn3_first, False)),
                                      **self.multicast_variant())(x, fn3, mixes, sqrsum)
        if chunks == 1:
            return mixes, sqrsum
        return self._reduce_chunks(mixes.view(n_splits, chunks, t, m), sqrsum.view(n_splits, chunks, t),
                                   early_trigger=self.op_multicast_early_sum)

    def _op_fn_split(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int):
        """The prenorm_gemm op on gemm_fn_split.py's kernel (op_fn_split_tokens): fn in fp32, split in the kernel;
        PDL early where the op's is."""
        from mhc_kernels.tilelang.gemm_fn_split import prenorm_gemm_fn_split_kernel

        t, m = x.shape[0], fn.shape[0]
        mixes = self._gemm_output((n_splits, t, m), x.device)
        sqrsum = self._gemm_output((n_splits, t), x.device)
        early = self._early(t, "prenorm_gemm")
        self._count(f"prenorm_gemm_fn_split[stages={self.op_fn_split_stages}" + (",early_trigger]" if early else "]"))
        prenorm_gemm_fn_split_kernel(n, hidden, m, self._target(), load_stages=self.op_fn_split_stages,
                                     early_trigger=early)(x, fn, mixes, sqrsum)
        return mixes, sqrsum

    def _op_plain_tma_block_k(self) -> int:
        """The K tile of the op's plain window (each split's columns a multiple of it, or the window passes)."""
        return self.op_plain_tma_block_k or WIDE_K_TILES[64]["block_k"]

    def _tma_gemm(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, parts: int, block_m: int,
                  stages: int, early: bool, block_k: int | None = None):
        """gemm.py's kernel on TMA loads over ``parts`` K ranges, one CTA per range and ``block_m`` tokens,
        WIDE_K_TILES' tunables with ``stages`` stages (and ``block_k``'s K tile, None: theirs): partials [P, T, M],
        [P, T] (the op's plain window, mid_deep_tokens)."""
        t, m = x.shape[0], fn.shape[0]
        tunables = {**WIDE_K_TILES[block_m], "num_stages": stages, **changed(block_k=(block_k, None))}
        mixes = self._gemm_output((parts, t, m), x.device)
        sqrsum = self._gemm_output((parts, t), x.device)
        self._launch_gemm(x, fn, mixes, sqrsum, n, hidden, GemmSchedule(block_m, tunables, 1), early, tma=True)
        return mixes, sqrsum

    def hc_post(self, x, residual, post_mix, comb_mix):
        t = residual.shape[0]
        if _within(self.hc_post_pipelined_tokens.get(residual.shape[2]), t):
            return self._hc_post_pipelined(x, residual, post_mix, comb_mix)
        if _within(self.hc_post_per_token_tokens.get(residual.shape[2]), t):
            return super().hc_post(x, residual, post_mix, comb_mix)  # post.py: one CTA per token
        return self._hc_post(x, residual, post_mix, comb_mix, self._early(t, "hc_post"),
                             self._op_target(t, "hc_post", residual.shape[2], residual.shape[1]))

    def _hc_post_pipelined(self, x, residual, post_mix, comb_mix):
        """post.build_hc_post's pipelined kernel (hc_post_pipelined_tokens), hc_post_pipeline_stages deep."""
        from mhc_kernels.tilelang.post import hc_post_pipelined_kernel

        t, n, h = residual.shape
        out = torch.empty_like(residual)
        stages = self.hc_post_pipeline_stages
        self._count(f"hc_post_pipelined[stages={stages}]")
        hc_post_pipelined_kernel(n, h, self._target(), stages=stages)(x, residual, post_mix.view(t, n), comb_mix, out)
        return out

    def _hc_post(self, x, residual, post_mix, comb_mix, early: bool, target=None):
        """hc_post; ``early``: hc_post_wide triggers its dependents early (pdl_early_max_tokens);
        ``target``: hc_post_wide's (_op_target; None: the device's)."""
        t, n, h = residual.shape
        flat = self.hc_post_flat_from_tokens is not None and t >= self.hc_post_flat_from_tokens
        if not (flat or self._decode(t, "hc_post")):
            return super().hc_post(x, residual, post_mix, comb_mix)
        from mhc_kernels.tilelang.decode import hc_post_wide_kernel

        out = torch.empty_like(residual)
        h_blk = self._hc_post_wide_block(t, h)
        flags = [f"h_blk={h_blk}"] * (h_blk is not None) + ["early_trigger"] * early \
            + ["flat_grid"] * flat + ["no_pdl"] * self._drops_pdl(target)
        self._count("hc_post_wide" + (f"[{','.join(flags)}]" if flags else ""))
        hc_post_wide_kernel(n, h, target or self._target(),
                            **changed(h_blk=(h_blk, None), early_trigger=(early, False), flat_grid=(flat, False)))(
            x, residual, post_mix.view(t, n), comb_mix, out)
        return out

    def _hc_post_wide_block(self, tokens: int, hidden: int) -> int | None:
        """hc_post_wide's columns per CTA at T tokens from hc_post_wide_block_from, at most the largest
        power of two dividing H (a block of 1024 columns asked at H = 64 .. 512 is H itself or
        less); None: the default, decode_block(H)."""
        from mhc_kernels.tilelang._build import hidden_block
        from mhc_kernels.tilelang.decode import decode_block

        applies = [start for start in self.hc_post_wide_block_from if start <= tokens]
        if not applies:
            return None
        h_blk = hidden_block(hidden, self.hc_post_wide_block_from[max(applies)])
        return None if h_blk == decode_block(hidden) else h_blk

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        """decode_pre over the given partials (parts = their count, a compile-time constant): the
        default mhc_pre above the decode GEMM's range reaches this too, with its S * chunks partials."""
        t, n, h = residual.shape
        if self._mid(t, "pre_big_fuse"):
            return self._overlap_pre(mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps,
                                     target=self._op_target(t, "pre_big_fuse", h, n))
        if not self._decode(t, "pre_big_fuse"):
            return super().pre_big_fuse(mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight,
                                        rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                        norm_eps)
        return self._decode_pre(mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                                hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)

    def _overlap_pre(self, mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                     hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, prefetch: bool = False,
                     target=None):
        """pre_overlap.py's fused pre on partials [P, T, M], [P, T], P compiled in. ``prefetch``: its
        residual block 0 loaded before the PDL wait (only where the kernel before it is our GEMM with
        the early trigger: inside mhc_pre, pdl_early_max_tokens). ``target``: the kernel's (the
        pre_big_fuse op's _op_target; None: the device's)."""
        from mhc_kernels.tilelang.pre_overlap import pre_big_fuse_overlap_kernel

        t, n, h = residual.shape
        parts = mixes.shape[0]
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        with_norm = norm_weight is not None
        weight = norm_weight if with_norm else self._no_norm_weight(h, residual.device)
        blocks = self.mid_pre_min_blocks_per_sm
        one_buffer = self._one_buffer(t)
        variant = self.overlap_pre_variant(one_buffer)
        if prefetch and _within(self.mid_prefetch_gather_rcp_tokens.get(h), t):
            variant = {**variant, "sinkhorn_layout": "gather_rcp"}
        layout = variant.get("sinkhorn_layout", "lanes")
        self._count(f"pre_big_fuse_overlap[parts={parts},norm={with_norm}"
                    + (f",min_blocks_per_sm={blocks}" if blocks else "") + (",prefetch" if prefetch else "")
                    + (f",sinkhorn={layout}" if layout != "lanes" else "")
                    + (",early_constants" if variant.get("early_constants") else "")
                    + (",one_buffer" if one_buffer else "")
                    + (",no_pdl]" if self._drops_pdl(target) else "]"))
        kwargs = {**changed(min_blocks_per_sm=(blocks, None), prefetch_residual=(prefetch, False),
                            prefetch_next_block=(not one_buffer, True)), **variant}
        pre_big_fuse_overlap_kernel(n, h, with_norm, target or self._target(), kept_in_shared=True, parts=parts,
                                    **kwargs)(
            mixes, sqrsum, hc_scale, hc_base, residual, weight, post, comb, layer_input,
            float(rms_eps), float(hc_pre_eps), float(hc_sinkhorn_eps), float(hc_post_mult_value),
            int(sinkhorn_repeat), float(norm_eps))
        return post.unsqueeze(-1), comb, layer_input

    def mid_parts(self, tokens: int, n: int, hidden: int, device: torch.device, op: str | None = None) -> int:
        """The middle path's K ranges: the fewest (a divisor of the 128-wide K tiles, each range >=
        mid_min_tiles_per_part tiles) that give ceil(T / block_m) * parts >= mid_waves * SMs CTAs; the
        most allowed where none does. H = 7168 on 132 SMs, one wave, 64-token blocks below 1024
        tokens: 112 parts at T <= 128, 56 at 256, 28 at 512 and 1024, 14 at 2048, 7 at 4096.
        ``op``: whose block size (_mid_block_m); None: gemm.block_m_for's."""
        return self._fewest_parts(tokens, n, hidden, 1, device, op) or 1

    def _mid_block_m(self, op: str | None, tokens: int) -> int:
        """The middle path GEMM's token block for ``op`` at T: mid_block_m where set, else 128 from
        mid_block_m_128_from[op], else gemm.block_m_for(T)."""
        from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, block_m_for

        if self.mid_block_m:
            return self.mid_block_m
        start = self.mid_block_m_128_from.get(op) if op else None
        return LARGE_T_BLOCK_M if start is not None and tokens >= start else block_m_for(tokens)

    def _fewest_parts(self, tokens: int, n: int, hidden: int, multiple_of: int, device: torch.device,
                      op: str | None = None) -> int | None:
        """The fewest K ranges, a multiple of ``multiple_of`` dividing the 128-wide K tiles with >=
        mid_min_tiles_per_part tiles each, that give ceil(T / block_m) * parts >= mid_waves * SMs CTAs;
        the most allowed where none does; None where none is allowed."""
        from mhc_kernels.tilelang.backend import _sm_count
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K

        blocks = -(-tokens // self._mid_block_m(op, tokens))
        return _fewest_ranges(n * hidden // DECODE_BLOCK_K, self.mid_min_tiles_per_part, multiple_of, blocks,
                              self.mid_waves * _sm_count(device))

    def _mid_gemm(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, parts: int, early: bool = False,
                  op: str | None = None, tma: bool | None = None, target=None):
        """gemm.py's tensor-core kernel over ``parts`` K ranges (one CTA per range and token block of
        _mid_block_m(op, T)): partials [P, T, M], [P, T]. ``tma``, ``target``: _launch_gemm's."""
        t, m = x.shape[0], fn.shape[0]
        block_m, tunables = self._mid_gemm_config(op, t)
        mixes = torch.empty(parts, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(parts, t, dtype=torch.float32, device=x.device)
        self._launch_gemm(x, fn, mixes, sqrsum, n, hidden, GemmSchedule(block_m, tunables, 1), early, tma, target)
        return mixes, sqrsum

    def mid_deep_parts(self, tokens: int, n: int, hidden: int, device: torch.device) -> int:
        """mid_deep_tokens' K ranges: the most (a divisor of the 128-wide K tiles, >= mid_min_tiles_per_part
        tiles each) with ceil(T / 64) * ranges <= SMs; the fewest allowed where none fits."""
        from mhc_kernels.tilelang.backend import _sm_count
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K
        from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

        allowed = allowed_ranges(n * hidden // DECODE_BLOCK_K, self.mid_min_tiles_per_part, 1)
        blocks = -(-tokens // SMALL_T_BLOCK_M)
        fitting = [p for p in allowed if blocks * p <= _sm_count(device)]
        return fitting[-1] if fitting else allowed[0]

    def _mid_deep_gemm(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, early: bool):
        """The middle GEMM in DeepGEMM's shape (mid_deep_tokens): partials [P, T, M], [P, T]."""
        from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

        parts = self.mid_deep_parts(x.shape[0], n, hidden, x.device)
        return self._tma_gemm(x, fn, n, hidden, parts, SMALL_T_BLOCK_M, self.mid_deep_stages, early)

    def _mid_gemm_config(self, op: str | None, tokens: int) -> tuple[int, dict[str, int]]:
        """The middle GEMM's token block (_mid_block_m) and tunables: 128-wide K tiles (the K ranges'
        unit)."""
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K

        block_m = self._mid_block_m(op, tokens)
        tunables = dict(WIDE_K_TILES[block_m])
        assert tunables["block_k"] == DECODE_BLOCK_K, tunables
        return block_m, tunables

    def _mid_gemm_cluster_summed(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int,
                                 chunks: int, early: bool = False, tma: bool | None = None):
        """The prenorm_gemm op on _mid_gemm's kernel over n_splits * chunks K ranges, each split's chunks
        one cluster summing them in the kernel (op_chunks_in_cluster): partials [S, T, M], [S, T]."""
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K
        from mhc_kernels.tilelang.gemm import prenorm_gemm_kernel

        t, m = x.shape[0], fn.shape[0]
        block_m, tunables = self._mid_gemm_config("prenorm_gemm", t)
        mixes = torch.empty(n_splits, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(n_splits, t, dtype=torch.float32, device=x.device)
        tma = self._tma(x, tma)
        dsmem = self.op_chunks_dsmem
        self._count(f"prenorm_gemm[block_m={block_m},block_k={DECODE_BLOCK_K},cluster_chunks={chunks}"
                    + (",cluster_dsmem" if dsmem else "") + (",early_trigger" if early else "")
                    + (",tma]" if tma else "]"))
        kernel = prenorm_gemm_kernel(n, hidden, m, block_m, self._target(), cluster_chunks=chunks,
                                     **changed(early_trigger=(early, False), tma=(tma, False),
                                               cluster_dsmem=(dsmem, False)), **tunables)
        if dsmem:
            kernel(x, self._split_fn(fn), mixes, sqrsum)
            return mixes, sqrsum
        # chunks 1 .. c - 1's sub-partials (scratch, fully written before it is read), then the outputs
        mixes_rest = torch.empty(n_splits, chunks - 1, t, m, dtype=torch.float32, device=x.device)
        sqrsum_rest = torch.empty(n_splits, chunks - 1, t, dtype=torch.float32, device=x.device)
        kernel(x, self._split_fn(fn), mixes_rest, sqrsum_rest, mixes, sqrsum)
        return mixes, sqrsum

    def _mid_gemm_counter_summed(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int,
                                 chunks: int, early: bool = False, tma: bool | None = None):
        """The prenorm_gemm op on _mid_gemm's kernel over n_splits * chunks K ranges, the last chunk of each split
        adding the split's sub-partials (op_chunks_on_counter): partials [S, T, M], [S, T]."""
        from mhc_kernels.tilelang.decode import DECODE_BLOCK_K
        from mhc_kernels.tilelang.gemm import prenorm_gemm_kernel

        t, m = x.shape[0], fn.shape[0]
        block_m, tunables = self._mid_gemm_config("prenorm_gemm", t)
        counters = self._chunk_counters(x.device, n_splits * -(-t // block_m))
        tma = self._tma(x, tma)
        fence = self.op_counter_fence
        self._count(f"prenorm_gemm[block_m={block_m},block_k={DECODE_BLOCK_K},counter_chunks={chunks}"
                    + (f",fence={fence}" if fence != "none" else "") + (",early_trigger" if early else "")
                    + (",tma]" if tma else "]"))
        kernel = prenorm_gemm_kernel(n, hidden, m, block_m, self._target(), counter_chunks=chunks,
                                     **changed(early_trigger=(early, False), tma=(tma, False),
                                               counter_fence=(fence, "none")), **tunables)
        # every chunk's sub-partials (scratch, each written before it is read), then the outputs
        mixes_parts = torch.empty(n_splits, chunks, t, m, dtype=torch.float32, device=x.device)
        sqrsum_parts = torch.empty(n_splits, chunks, t, dtype=torch.float32, device=x.device)
        mixes = torch.empty(n_splits, t, m, dtype=torch.float32, device=x.device)
        sqrsum = torch.empty(n_splits, t, dtype=torch.float32, device=x.device)
        kernel(x, self._split_fn(fn), mixes_parts, sqrsum_parts, counters, mixes, sqrsum)
        return mixes, sqrsum

    def _chunk_counters(self, device: torch.device, slots: int) -> torch.Tensor:
        """counter_chunks' counters for the current stream of ``device``: zeroed once, left zero by every launch.
        One set per stream: two launches on one stream never overlap on them (stream order; a PDL launch counts
        only after its wait for the whole grid before), two streams' launches could. Allocated at the first call on
        a stream; where that first call is being captured in a CUDA graph the zeroing is captured with it (each
        replay zeroes what each launch leaves zero). Raises where a call needs more than COUNTER_SLOTS."""
        if slots > COUNTER_SLOTS:
            raise ValueError(f"op_chunks_on_counter: {slots} (split, token block) counters asked, "
                             f"{COUNTER_SLOTS} kept per stream")
        key = (str(device), torch.cuda.current_stream(device).cuda_stream if device.type == "cuda" else None)
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = torch.zeros(COUNTER_SLOTS, dtype=torch.int32, device=device)
        return counters

    def _decode_pre(self, mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                    hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, token_major: bool = False,
                    prefetch: bool = False):
        """decode.decode_pre (and decode_norm with the RMSNorm weight) on partials [P, T, M], [P, T]
        (token_major: [T, P, M], [T, P]). ``prefetch``: as _overlap_pre's."""
        from mhc_kernels.tilelang.decode import decode_block, decode_norm_kernel, decode_pre_kernel

        t, n, h = residual.shape
        parts = mixes.shape[1 if token_major else 0]
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        with_norm = norm_weight is not None
        if not with_norm and self._pre_cluster(h):
            return self._decode_pre_cluster(mixes, sqrsum, hc_scale, hc_base, residual, post, comb, layer_input,
                                            rms_eps, hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value,
                                            sinkhorn_repeat, token_major, prefetch)
        # the collapse blocks' sums of squares (read only with norm_weight)
        sq_blocks = torch.empty(t, h // decode_block(h), dtype=torch.float32, device=residual.device)
        layout, narrow = self.sinkhorn_layout, self.decode_pre_narrow_sums
        self._count(f"decode_pre[parts={parts},norm={with_norm}{',token_major' if token_major else ''}"
                    f"{',prefetch' if prefetch else ''}{f',sinkhorn={layout}' if layout != 'lanes' else ''}"
                    f"{',narrow_sums' if narrow else ''}{',early_constants' if self.decode_pre_early_constants else ''}]")
        variants = {**changed(token_major=(token_major, False), prefetch_residual=(prefetch, False)),
                    **self.decode_pre_variant()}
        kernel = decode_pre_kernel(n, h, parts, with_norm, self._target(), **variants)
        kernel(
            mixes, sqrsum, hc_scale, hc_base, residual, post, comb, layer_input, sq_blocks,
            float(rms_eps), float(hc_pre_eps), float(hc_sinkhorn_eps), float(hc_post_mult_value),
            int(sinkhorn_repeat))
        if with_norm:
            self._count("decode_norm")
            decode_norm_kernel(h, self._target())(sq_blocks, norm_weight, layer_input, float(norm_eps))
        return post.unsqueeze(-1), comb, layer_input

    def _pre_cluster(self, hidden: int) -> bool:
        """Whether decode_pre (without norm) runs as one cluster per token: decode_pre_cluster, on sm_90+
        where a token's CTAs fit one portable cluster."""
        from mhc_kernels.tilelang._build import pdl_supported
        from mhc_kernels.tilelang.decode import cluster_fits

        target = self._target()
        return self.decode_pre_cluster and pdl_supported(target.kind, target.arch) and cluster_fits(hidden)

    def _decode_pre_cluster(self, mixes, sqrsum, hc_scale, hc_base, residual, post, comb, layer_input, rms_eps,
                            hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, token_major: bool,
                            prefetch: bool):
        """decode.decode_pre_cluster on the partials into the given outputs; the pre weights' scratch is
        this call's own."""
        from mhc_kernels.tilelang.decode import decode_pre_cluster_kernel

        t, n, h = residual.shape
        parts = mixes.shape[1 if token_major else 0]
        pre_weights = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        layout = self.sinkhorn_layout
        self._count(f"decode_pre_cluster[parts={parts}{',token_major' if token_major else ''}"
                    f"{',prefetch' if prefetch else ''}{f',sinkhorn={layout}' if layout != 'lanes' else ''}"
                    f"{',early_constants' if self.decode_pre_early_constants else ''}"
                    f"{',split_arrive' if self.decode_pre_cluster_split_arrive else ''}"
                    f"{',dsmem_pre' if self.decode_pre_cluster_dsmem else ''}"
                    f"{',trigger_first' if self.decode_pre_cluster_trigger_first else ''}]")
        variants = changed(token_major=(token_major, False), prefetch_residual=(prefetch, False),
                           sinkhorn_layout=(layout, "lanes"),
                           early_constants=(self.decode_pre_early_constants, False),
                           split_arrive=(self.decode_pre_cluster_split_arrive, False),
                           dsmem_pre=(self.decode_pre_cluster_dsmem, False),
                           trigger_first=(self.decode_pre_cluster_trigger_first, False))
        decode_pre_cluster_kernel(n, h, parts, self._target(), **variants)(
            mixes, sqrsum, hc_scale, hc_base, residual, post, comb, layer_input, pre_weights,
            float(rms_eps), float(hc_pre_eps), float(hc_sinkhorn_eps), float(hc_post_mult_value),
            int(sinkhorn_repeat))
        return post.unsqueeze(-1), comb, layer_input

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        return self._mhc_pre(residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                             hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits, "mhc_pre")

    def _mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                 hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits, op: str):
        """mhc_pre, as ``op`` ("mhc_pre", or "fused_post_pre" for its pre) runs it: its GEMM triggers
        early and the pre behind it prefetches where pdl_early_max_tokens[op] says, the middle GEMM's
        token block is _mid_block_m(op, T)."""
        t, n, h = residual.shape
        early = self._early(t, op)
        if self._mid(t, "mhc_pre"):
            if _within(self.mid_deep_tokens, t):
                mixes, sqrsum = self._mid_deep_gemm(residual.view(t, n * h), fn, n, h, early)
            else:
                parts = self.mid_parts(t, n, h, residual.device, op)
                first = self._op_target(t, "mhc_pre", h, n) if op == "mhc_pre" else None  # the call's first kernel
                mixes, sqrsum = self._mid_gemm(residual.view(t, n * h), fn, n, h, parts, early, op, target=first)
            return self._overlap_pre(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                                     hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, prefetch=early)
        if not self._decode(t, "mhc_pre"):  # its GEMM on TMA from pre_gemm_tma_from_tokens (_pre_tma)
            return super().mhc_pre(residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps,
                                   hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits)
        token_major = "mhc_pre" in self.token_major_partials
        mixes, sqrsum = self._decode_gemm(residual.view(t, n * h), fn, n, h, token_major, early, op=op)
        return self._decode_pre(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                                hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps,
                                token_major=token_major, prefetch=early)

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        t, n, h = residual.shape
        early = self._early(t, "hc_head")
        if self._mid(t, "hc_head"):
            from mhc_kernels.tilelang.collapse import collapse_kernel

            parts = self.mid_parts(t, n, h, residual.device, "hc_head")
            mixes, sqrsum = self._mid_gemm(residual.view(t, n * h), fn, n, h, parts, early, "hc_head")
            out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
            self._count(f"collapse[head,parts={parts}{',prefetch' if early else ''}]")
            collapse_kernel(n, h, True, self._target(), parts=parts, **changed(prefetch_residual=(early, False)))(
                mixes, sqrsum, hc_scale, hc_base, residual, out, float(rms_eps), float(hc_eps))
            return out
        if not self._decode(t, "hc_head"):
            return super().hc_head(residual, fn, hc_scale, hc_base, rms_eps, hc_eps)
        from mhc_kernels.tilelang.decode import decode_head_kernel

        token_major = "hc_head" in self.token_major_partials
        mixes, sqrsum = self._decode_gemm(residual.view(t, n * h), fn, n, h, token_major, early, op="hc_head")
        out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if token_major:
            parts = mixes.shape[1]
            self._count(f"decode_head[parts={parts},token_major]")
            kernel = decode_head_kernel(n, h, parts, self._target(), token_major=True)
        else:
            self._count(f"decode_head[parts={mixes.shape[0]}]")
            kernel = decode_head_kernel(n, h, mixes.shape[0], self._target())
        kernel(mixes, sqrsum, hc_scale, hc_base, residual, out, float(rms_eps), float(hc_eps))
        return out

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        """TileLangBackend's (hc_post, then mhc_pre on its bf16 output; the decode path of both at few
        tokens: hc_post_wide, decode_gemm, decode_pre [, decode_norm]), with entries of its own in
        pdl_early_max_tokens: "fused_post_pre" for its pre (GEMM and consumer), FUSED_HC_POST for its
        hc_post_wide (apart, to find which of the two made the op slower with PDL early)."""
        new_residual = self._hc_post(x, residual, post_mix, comb_mix, self._early(residual.shape[0], FUSED_HC_POST))
        post, comb, layer_input = self._mhc_pre(new_residual, fn, hc_scale, hc_base, norm_weight, rms_eps,
                                                hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                                norm_eps, n_splits, "fused_post_pre")
        return new_residual, post, comb, layer_input


class TileLangDecodeEverywhere(TileLangDecode):
    """The decode kernels far above decode_max_tokens: a benchmark probe that locates, per op, the
    token count where they stop paying against the default kernels (``--backend
    mhc_kernels.tilelang.decode_backend:TileLangDecodeEverywhere``). Same arithmetic and declared
    precision as TileLangDecode; not a default."""

    name = "tilelang-decode-everywhere"
    description = "our decode kernels up to 4096 tokens (a benchmark probe for TileLangDecode's thresholds)"
    decode_max_tokens = 1024  # 128 until 2026-12-04 (fifth session): now probes mhc_pre's middle counts
    decode_max_tokens_by_op = {"hc_post": 4096, "pre_big_fuse": 4096, "hc_head": 512}
