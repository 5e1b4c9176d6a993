"""Decode-speed kernels (few tokens): the work of a token spread over many CTAs.

At T = 1..32 the default path runs one CTA per token for hc_post, the fused pre and the head
collapse (a 4 x H collapse done by one CTA in H / 1024 serial steps), and the fused pre also does
Sinkhorn (20 repeats, ~2 us of dependent shuffles and IEEE divisions) in the same CTA after its
collapse. These kernels cut the hidden dimension into blocks of ``h_blk`` columns, one CTA each:

``hc_post_wide``  grid (H / h_blk, T): hc_post's arithmetic unchanged (same products, same order,
                  one rounding), one block of columns per CTA: bitwise the same as post.py.
``decode_pre``    grid (H / h_blk + 1, T), after the prenorm GEMM cut into ``parts`` K ranges (a
                  compile-time count; decode_gemm.py's fp32 FMA kernel, one CTA per range and 32
                  tokens, or with TileLangDecode.decode_gemm = "wgmma" gemm.py's tensor-core
                  kernel, one CTA per range): every CTA sums the parts' partials
                  itself (the same code on the same values in every CTA of a token: bitwise the same
                  pre weights everywhere), then CTA x < H / h_blk collapses its block of columns and
                  the last CTA writes post_mix and runs Sinkhorn, beside the collapse instead of
                  after it. With the RMSNorm weight, each collapse CTA also writes the fp32 sum of
                  squares of its bf16 block, and ``decode_norm`` finishes the norm.
``decode_norm``   grid (H / h_blk, T): the block sums added in block order, then layer_input =
                  bf16(float(li) * rsqrt(sum / H + norm_eps) * float(w)) in place, the rounding
                  points of pre.py's fused norm.
``decode_head``   grid (H / h_blk, T): hc_head's weights from the head GEMM's parts (collapse.py's
                  formula), then one block of the collapse.

The parts' partial sums: ``groups`` groups of 32 lanes, lane c one column (the M mixes, then the sum
of squares); group g adds its contiguous run of parts in ascending order (all loads independent and
unrolled: one round trip to L2 instead of one per part), then the groups' sums are added in group
order. A fixed order, no atomics: bitwise reproducible. Precision is that of the default path: fp32
sums of fp32 partials (a shallower tree than its serial sum over S * chunks partials).

Variants (parameters whose defaults generate the plain kernels' code exactly; TileLangDecode's
hc_post_wide_block_from and token_major_partials select them; scripts/debug/decode_variants_check.py):
hc_post_wide's ``h_blk`` (e.g. 1024 columns, 128 threads per CTA), and ``token_major`` partials
[T, parts, M], [T, parts] for decode_pre / decode_head (decode_gemm's ``token_major`` writes them),
with decode_head's residual load moved before its PDL wait. Same values, same order of every sum:
bitwise the same outputs.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, changed, compile_cached, hidden_block, threads_for
from mhc_kernels.tilelang.collapse import collapse_block_macro
from mhc_kernels.tilelang.post import post_block_macro
from mhc_kernels.tilelang.pre import mix_constants_macro, mix_group
from mhc_kernels.tilelang.sinkhorn import sinkhorn_macro

THREADS = 128  # decode_pre / decode_head: 4 warps, one group of partial sums per warp
LANES = 32
DECODE_H_BLOCK = 512  # columns per CTA: 14 CTAs per token at H = 7168, 8 at 4096
# The prenorm GEMM's K ranges on the decode path: K tiles of 128 (the default fused pre's tunables
# at block_m 64, which the "wgmma" decode GEMM runs), >= MIN_TILES_PER_PART per CTA, at most
# MAX_PARTS CTAs (one wave on 132 SMs). The FMA decode GEMM (decode_gemm.py) takes the same parts:
# 256 columns each at H = 7168 and 4096, 8 warps x 32 columns, the partial sums' shape unchanged.
DECODE_BLOCK_K = 128
MIN_TILES_PER_PART = 2
MAX_PARTS = 128


def decode_block(hidden: int) -> int:
    """Columns per CTA of the decode kernels (a power of two dividing H, <= DECODE_H_BLOCK)."""
    return hidden_block(hidden, DECODE_H_BLOCK)


def decode_parts(n: int, hidden: int) -> int:
    """How many K ranges (GEMM CTAs, partials) the decode path cuts K = n * H into: the most that
    leave every range >= MIN_TILES_PER_PART whole 128-wide K tiles, at most MAX_PARTS. H = 7168:
    224 tiles -> 112 parts of 2; H = 4096: 128 -> 64; H = 64: 2 -> 1."""
    k_tiles = n * hidden // DECODE_BLOCK_K
    assert k_tiles * DECODE_BLOCK_K == n * hidden, (n, hidden)
    best = 1
    for parts in range(1, min(MAX_PARTS, k_tiles // MIN_TILES_PER_PART) + 1):
        if k_tiles % parts == 0:
            best = parts
    return best


def _groups(parts: int) -> int:
    """Groups of lanes summing the parts: 4 (one per warp) where they divide the parts evenly."""
    return THREADS // LANES if parts % (THREADS // LANES) == 0 else 1


def build_hc_post_wide(n: int, hidden: int, use_pdl: bool, h_blk: int | None = None, early_trigger: bool = False,
                       flat_grid: bool = False):
    """hc_post (post.py's arithmetic) with one CTA per (block of h_blk columns, token). ``h_blk``:
    columns per CTA, decode_block(hidden) (512 at H = 7168) where None; threads_for(h_blk) threads
    (1024 columns: 128 threads, SGLang's shape). The arithmetic per element does not depend on it:
    bitwise the same output for every h_blk. ``early_trigger``: PDL's launch_dependents right after
    the wait (gemm.build_prenorm_gemm's), for fused_post_pre's GEMM behind it.

    ``flat_grid``: the (block, token) CTAs on one grid dimension, block = bx % blocks and token = bx //
    blocks, instead of blocks x tokens on x and y: gridDim.y stops at 65 535 tokens, gridDim.x at 2^31 - 1
    CTAs. The same CTAs in the same launch order (x varies fastest either way), the same arithmetic: the
    same bits (TileLangDecode.hc_post_flat_from_tokens)."""
    import tilelang.language as T

    if h_blk is None:
        h_blk = decode_block(hidden)
    if h_blk <= 0 or hidden % h_blk:
        raise ValueError(f"h_blk={h_blk} must divide hidden={hidden}")
    threads = threads_for(h_blk)
    blocks = hidden // h_blk
    post_block = post_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")

    @T.macro
    def post_cta(x, residual, post_mix, comb_mix, out, hb, t):
        """One CTA: h_blk columns (block hb) of token t."""
        comb = T.alloc_fragment((n, n), "float32")
        post = T.alloc_fragment((n,), "float32")
        res = T.alloc_fragment((n, h_blk), "bfloat16")
        xb = T.alloc_fragment((h_blk,), "bfloat16")
        ob = T.alloc_fragment((n, h_blk), "bfloat16")
        if use_pdl:
            T.pdl_sync()  # the mixes come from the previous kernel
            if early_trigger:
                T.pdl_trigger()
        T.copy(comb_mix[t, 0, 0], comb)
        T.copy(post_mix[t, 0], post)
        T.copy(residual[t, 0, hb * h_blk], res)
        T.copy(x[t, hb * h_blk], xb)
        post_block(comb, post, res, xb, ob)
        T.copy(ob, out[t, 0, hb * h_blk])
        if use_pdl and not early_trigger:
            T.pdl_trigger()

    @T.prim_func
    def mhc_hc_post_wide(x: T.Tensor((tokens, hidden), "bfloat16"),
                         residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                         post_mix: T.Tensor((tokens, n), "float32"),
                         comb_mix: T.Tensor((tokens, n, n), "float32"),
                         out: T.Tensor((tokens, n, hidden), "bfloat16")):
        if flat_grid:
            with T.Kernel(blocks * tokens, threads=threads) as bx:
                post_cta(x, residual, post_mix, comb_mix, out, bx % blocks, bx // blocks)
        else:
            with T.Kernel(blocks, tokens, threads=threads) as (hb, t):
                post_cta(x, residual, post_mix, comb_mix, out, hb, t)

    return mhc_hc_post_wide


def _group_sum_macro(T, width: int, groups: int, per_group: int, token_major: bool, narrow: int | None = None):
    """decode_pre's and decode_head's first step as a TileLang macro: group ``grp`` of lanes adds its
    run of ``per_group`` parts in ascending order, lane c < width one column of the mixes, lane width
    the sum of squares, into ``sums[grp, lane]``; partials [parts, T, M] and [parts, T], or with
    ``token_major`` [T, parts, M] and [T, parts].

    One loop per source, no branch inside: a branch per part made nvcc wait for each load before
    the next (28 serial L2 round trips at 112 parts: 11 us of decode_pre's 11.3 on an H200);
    branch-free, every load of the group is issued at once.

    ``narrow`` (decode_pre's narrow_sums): the macro takes a seventh argument, ``wide``, and where it is
    false only lanes c < narrow (and the sum of squares) load: a collapse CTA of decode_pre needs the
    pre mixes alone, 16 of a part's 96 bytes (one L2 sector instead of three or four), and every
    collapse CTA of a token reads every part."""
    if narrow is not None:
        return _narrow_group_sum_macro(T, width, groups, per_group, token_major, narrow)

    @T.macro
    def sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane):
        if grp < groups and lane < width:
            part = T.alloc_var("float32")
            part = 0.0
            if token_major:
                for i in T.unroll(per_group):
                    part += mixes_partial[t, grp * per_group + i, lane]
            else:
                for i in T.unroll(per_group):
                    part += mixes_partial[grp * per_group + i, t, lane]
            sums[grp, lane] = part
        elif grp < groups and lane == width:
            part_sq = T.alloc_var("float32")
            part_sq = 0.0
            if token_major:
                for i in T.unroll(per_group):
                    part_sq += sqrsum_partial[t, grp * per_group + i]
            else:
                for i in T.unroll(per_group):
                    part_sq += sqrsum_partial[grp * per_group + i, t]
            sums[grp, lane] = part_sq

    return sum_group


def _narrow_group_sum_macro(T, width: int, groups: int, per_group: int, token_major: bool, narrow: int):
    """_group_sum_macro's with ``narrow``: the same loads in the same order for the lanes that load."""
    full = _group_sum_macro(T, width, groups, per_group, token_major)

    @T.macro
    def sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane, wide):
        if T.Or(wide, T.Or(lane < narrow, lane == width)):
            full(mixes_partial, sqrsum_partial, sums, t, grp, lane)

    return sum_group


def _rstd_macro(T, mixes: int, groups: int, k_total: int):
    """decode_pre's and decode_pre_cluster's rstd as a TileLang macro ``(sums, rstd, tid, rms_eps)``: thread
    ``mixes`` adds the groups' sums of squares in group order, rstd[0] = rsqrt(sum / K + rms_eps)."""

    @T.macro
    def rstd_of(sums, rstd, tid, rms_eps):
        if tid == mixes:
            sq = T.alloc_var("float32")
            sq = sums[0, mixes]
            for g in T.unroll(groups - 1):
                sq += sums[g + 1, mixes]
            rstd[0] = T.rsqrt(sq / k_total + rms_eps)

    return rstd_of


def build_decode_pre(n: int, hidden: int, parts: int, with_norm: bool, use_pdl: bool, token_major: bool = False,
                     prefetch_residual: bool = False, sinkhorn_layout: str = "lanes", narrow_sums: bool = False,
                     early_constants: bool = False):
    """Partials [parts, T, M], [parts, T] -> post_mix, comb_mix, layer_input (with norm: the bf16
    collapse, finished by decode_norm) and, with norm, the block sums of squares [T, H / h_blk].
    ``token_major``: the partials laid out [T, parts, M] and [T, parts] instead (decode_gemm's
    token_major output): the same values added in the same order, bitwise the same results.
    ``prefetch_residual`` (TileLangDecode.pdl_early_max_tokens, inside mhc_pre only): the collapse CTAs load their
    residual block before the PDL wait, its latency overlapping the GEMM (decode_head's token_major
    argument: the GEMM before this kernel is ours and triggers only after its own wait, so whatever
    wrote the residual has completed). Not for the pre_big_fuse op, whose predecessor is the
    caller's. The same values: bitwise the same results. ``sinkhorn_layout``: sinkhorn.py's "lanes"
    (this builder's default), "gather" (TileLangDecode's) or "rows", bitwise the same results.
    ``narrow_sums`` (TileLangDecode.decode_pre_narrow_sums): the collapse CTAs sum the parts of the n pre
    mixes and of the sum of squares only, not all M (_group_sum_macro's ``narrow``); the last CTA, which
    writes post_mix and runs Sinkhorn, sums all. The same sums in the same order where they are used:
    bitwise the same results.
    ``early_constants`` (TileLangDecode.decode_pre_early_constants, a probe): the mix threads load their
    hc_scale and hc_base entries into registers at the top (before the PDL wait with prefetch_residual,
    whose argument covers them too; right after it otherwise, beside the partials' loads) instead of
    after the partial sums' three barriers, where each is one more dependent round trip to L2 on the
    way to Sinkhorn. The same values in the same expression: bitwise the same results."""
    import tilelang.language as T

    if n & (n - 1) or n * n > 32:
        raise ValueError(f"the lane Sinkhorn needs n a power of two with n*n <= 32, got n={n}")
    mixes = n * n + 2 * n
    assert mixes + 1 <= LANES, "one lane per mix and one for the sum of squares"
    k_total = n * hidden
    h_blk = decode_block(hidden)
    nblk = hidden // h_blk
    groups = _groups(parts)
    per_group = parts // groups
    lane_sinkhorn = sinkhorn_macro(T, n, sinkhorn_layout)
    sum_group = _group_sum_macro(T, mixes, groups, per_group, token_major, n if narrow_sums else None)
    collapse_block = collapse_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")

    m_shape, s_shape = _partial_shapes(parts, tokens, mixes, token_major)

    load_constants = mix_constants_macro(T, n)  # every CTA's first M threads: the collapse CTAs use the first n
    rstd_of = _rstd_macro(T, mixes, groups, k_total)

    @T.prim_func
    def mhc_decode_pre(mixes_partial: T.Tensor(m_shape, "float32"),
                       sqrsum_partial: T.Tensor(s_shape, "float32"),
                       hc_scale: T.Tensor((3,), "float32"),
                       hc_base: T.Tensor((mixes,), "float32"),
                       residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                       post_mix: T.Tensor((tokens, n), "float32"),
                       comb_mix: T.Tensor((tokens, n, n), "float32"),
                       layer_input: T.Tensor((tokens, hidden), "bfloat16"),
                       sq_blocks: T.Tensor((tokens, nblk), "float32"),
                       rms_eps: T.float32, hc_pre_eps: T.float32, hc_sinkhorn_eps: T.float32,
                       hc_post_mult_value: T.float32, sinkhorn_repeat: T.int32):
        with T.Kernel(nblk + 1, tokens, threads=THREADS) as (bx, t):
            tid = T.get_thread_binding()
            sums = T.alloc_shared((groups, LANES), "float32")
            logits = T.alloc_shared((mixes,), "float32")
            pre = T.alloc_shared((n,), "float32")
            rstd = T.alloc_shared((1,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            out = T.alloc_fragment((h_blk,), "bfloat16")
            if with_norm:
                sq_cols = T.alloc_fragment((h_blk,), "float32")
                sq_total = T.alloc_fragment((1,), "float32")
            if early_constants:
                consts = T.alloc_local((2,), "float32")  # hc_scale[group], hc_base[tid]
            if prefetch_residual and bx < nblk:
                T.copy(residual[t, 0, bx * h_blk], res)
            if early_constants and prefetch_residual:
                load_constants(hc_scale, hc_base, consts, tid)
            if use_pdl:
                T.pdl_sync()  # the partials come from the GEMM kernel
            if early_constants and not prefetch_residual:
                load_constants(hc_scale, hc_base, consts, tid)
            lane = tid % LANES
            grp = tid // LANES
            if narrow_sums:
                sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane, bx == nblk)
            else:
                sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane)
            T.sync_threads()
            rstd_of(sums, rstd, tid, rms_eps)
            T.sync_threads()
            # narrow_sums: a collapse CTA has summed the pre mixes alone; its other lanes stay idle
            if tid < (T.if_then_else(bx == nblk, mixes, n) if narrow_sums else mixes):
                m = T.alloc_var("float32")
                m = sums[0, tid]
                for g in T.unroll(groups - 1):
                    m += sums[g + 1, tid]
                if early_constants:
                    z = m * rstd[0] * consts[0] + consts[1]
                else:
                    z = m * rstd[0] * hc_scale[mix_group(T, tid, n)] + hc_base[tid]
                if tid < n:
                    pre[tid] = T.sigmoid(z) + hc_pre_eps
                elif tid < 2 * n:
                    if bx == nblk:
                        post_mix[t, tid - n] = T.sigmoid(z) * hc_post_mult_value
                else:
                    logits[tid] = z
            T.sync_threads()

            if bx < nblk:
                if not prefetch_residual:
                    T.copy(residual[t, 0, bx * h_blk], res)
                collapse_block(pre, res, out)
                T.copy(out, layer_input[t, bx * h_blk])
                if with_norm:
                    for h in T.Parallel(h_blk):
                        sq_cols[h] = T.Cast("float32", out[h]) * T.Cast("float32", out[h])
                    T.reduce_sum(sq_cols, sq_total, dim=0)
                    if tid == 0:
                        sq_blocks[t, bx] = sq_total[0]
            elif tid < 32:  # the extra CTA: Sinkhorn, as pre.py's warp 0
                lane_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)
            if use_pdl:
                T.pdl_trigger()

    return mhc_decode_pre


CLUSTER_H_BLOCK = 1024  # decode_pre_cluster's columns per collapse CTA: 7 + 1 CTAs a token at H = 7168
MAX_CLUSTER = 8  # the portable thread-block cluster size


def cluster_block(hidden: int) -> int:
    """decode_pre_cluster's columns per collapse CTA (a power of two dividing H, <= CLUSTER_H_BLOCK)."""
    return hidden_block(hidden, CLUSTER_H_BLOCK)


def cluster_fits(hidden: int) -> bool:
    """Whether decode_pre_cluster takes H: whole 1024-column collapse CTAs (128 threads of 8 columns) that, with
    the mix CTA, fit one portable cluster (H = 7168: 7 + 1, 4096: 4 + 1; H = 1024 .. 7168 in steps of 1024)."""
    return cluster_block(hidden) == CLUSTER_H_BLOCK and hidden // CLUSTER_H_BLOCK + 1 <= MAX_CLUSTER


def build_decode_pre_cluster(n: int, hidden: int, parts: int, use_pdl: bool, token_major: bool = False,
                             prefetch_residual: bool = False, sinkhorn_layout: str = "lanes",
                             early_constants: bool = False, split_arrive: bool = False, dsmem_pre: bool = False,
                             trigger_first: bool = False):
    """decode_pre without the RMSNorm weight, a token's CTAs one thread-block cluster: the mix CTA (the
    last) alone sums the parts' partials, then writes the pre weights to ``pre_weights`` [T, n] (global
    scratch) before the cluster barrier; the H / cluster_block(H) collapse CTAs (1024 columns each) take
    them from there after it, then collapse. The mix CTA runs Sinkhorn after the barrier, as decode_pre's
    last CTA does.

    Why: in decode_pre every CTA of a token sums the parts itself (narrow_sums: the n pre mixes and the
    sum of squares). At 32 tokens and H = 7168 that is 480 CTAs reading the 112 parts' partials at once
    (~3.4 MB of L2 sectors) right when the GEMM's completion releases them, and the Sinkhorn CTA's own
    loads of all M mixes queue behind them: decode_pre runs 4.9 us after the GEMM at 32 tokens, 3.7 at
    one (results/gpu/2026-12-05-h100-engines-12, profile/). Here 32 CTAs read them.

    The same values in the same order: the mix CTA's sums, rstd and mixes are decode_pre's last CTA's
    (the same macro, every lane), each collapse element is collapse_block's on the same weights and
    residual: bitwise decode_pre's outputs (without norm). The barrier (barrier.cluster.arrive, release,
    and .wait, acquire, at cluster scope) orders the pre weights' global writes before the collapse CTAs'
    reads; a cluster's CTAs are co-scheduled, so it cannot wait on a CTA that has not started; the scratch
    is the call's own (nothing shared between calls or streams).
    ``prefetch_residual``, ``sinkhorn_layout``, ``early_constants``, ``token_major``: build_decode_pre's.

    ``split_arrive``: the barrier's halves apart. The mix CTA's warp 1 computes the n pre weights (the same
    expression on the same sums: the same bits), writes them and arrives with release semantics; its other
    warps arrive relaxed and none of them waits, so warp 0 starts Sinkhorn without the release's wait for
    the CTA's stores (without it, cluster_sync's release in warp 0, the pre weights' writer, held Sinkhorn
    back: decode_pre_cluster took 0.4 us longer than decode_pre at one token on an H100); the collapse CTAs
    arrive relaxed, then wait (acquire). barrier.cluster.wait waits for the cluster's non-exited threads
    only, so the mix CTA may finish before the collapse CTAs have waited.

    ``dsmem_pre`` (with split_arrive): the pre weights reach the collapse CTAs through distributed shared memory
    instead of global scratch: the mix CTA's threads 0..n-1 compute them (warp 0, the same expression on the same
    sums: the same bits), stage them in shared memory and store them into every collapse CTA's ``pre``
    (T.copy_cluster: cooperative_groups' map_shared_rank), then warp 0 arrives with release; Sinkhorn runs on
    warp 1. The collapse CTAs read their own shared memory after the wait: no L2 round trip (the global store
    the release waited for and the load after the wait) on their way to the collapse. ``pre_weights`` goes
    unused.

    ``trigger_first`` (TileLangDecode.decode_pre_cluster_trigger_first): every CTA launches PDL's dependents right
    after its own wait instead of at its end. Why: the kernel after mhc_pre's (the next layer's first, or in a
    replayed decode chain the next mhc_pre's GEMM) then launches while the mix CTA is still summing and running
    Sinkhorn, and is resident and waiting when this grid completes, its launch off the chain. What it assumes:
    nothing more than PDL itself; the dependent's own wait still waits for this grid's completion and its writes.
    The same instructions otherwise: bitwise the same outputs."""
    import tilelang.language as T

    if n & (n - 1) or n * n > 32:
        raise ValueError(f"the lane Sinkhorn needs n a power of two with n*n <= 32, got n={n}")
    if not cluster_fits(hidden):
        raise ValueError(f"H={hidden}: {hidden // cluster_block(hidden)} collapse CTAs and the mix CTA exceed a "
                         f"cluster of {MAX_CLUSTER}")
    if dsmem_pre and not split_arrive:
        raise ValueError("dsmem_pre hands the pre weights over with split_arrive's halves of the barrier")
    mixes = n * n + 2 * n
    assert mixes + 1 <= LANES, "one lane per mix and one for the sum of squares"
    k_total = n * hidden
    h_blk = cluster_block(hidden)
    nblk = hidden // h_blk
    assert threads_for(h_blk) == THREADS, (h_blk, THREADS)  # 8 columns a thread, one 16-byte vector
    groups = _groups(parts)
    per_group = parts // groups
    lane_sinkhorn = sinkhorn_macro(T, n, sinkhorn_layout)
    sum_group = _group_sum_macro(T, mixes, groups, per_group, token_major)
    collapse_block = collapse_block_macro(T, n, h_blk)
    load_constants = mix_constants_macro(T, n)
    rstd_of = _rstd_macro(T, mixes, groups, k_total)
    tokens = T.dynamic("tokens")
    m_shape, s_shape = _partial_shapes(parts, tokens, mixes, token_major)

    @T.macro
    def load_pre_constants(hc_scale, hc_base, consts, pre_consts, tid):
        """load_constants, and warp 1's pre constants where split_arrive: hc_scale[0], hc_base[lane]."""
        load_constants(hc_scale, hc_base, consts, tid)
        if split_arrive:
            if LANES <= tid and tid < LANES + n:
                pre_consts[0] = hc_scale[0]
                pre_consts[1] = hc_base[tid - LANES]

    @T.prim_func
    def mhc_decode_pre_cluster(mixes_partial: T.Tensor(m_shape, "float32"),
                               sqrsum_partial: T.Tensor(s_shape, "float32"),
                               hc_scale: T.Tensor((3,), "float32"),
                               hc_base: T.Tensor((mixes,), "float32"),
                               residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                               post_mix: T.Tensor((tokens, n), "float32"),
                               comb_mix: T.Tensor((tokens, n, n), "float32"),
                               layer_input: T.Tensor((tokens, hidden), "bfloat16"),
                               pre_weights: T.Tensor((tokens, n), "float32"),
                               rms_eps: T.float32, hc_pre_eps: T.float32, hc_sinkhorn_eps: T.float32,
                               hc_post_mult_value: T.float32, sinkhorn_repeat: T.int32):
        with T.Kernel(nblk + 1, tokens, threads=THREADS, cluster_dims=(nblk + 1, 1, 1)) as (bx, t):
            tid = T.get_thread_binding()
            sums = T.alloc_shared((groups, LANES), "float32")
            logits = T.alloc_shared((mixes,), "float32")
            pre = T.alloc_shared((n,), "float32")
            if dsmem_pre:
                pre_stage = T.alloc_shared((n,), "float32")  # the mix CTA's pre weights, copied into every pre
            rstd = T.alloc_shared((1,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            out = T.alloc_fragment((h_blk,), "bfloat16")
            if early_constants:
                consts = T.alloc_local((2,), "float32")  # hc_scale[group], hc_base[tid]
                pre_consts = T.alloc_local((2,), "float32")  # warp 1's (split_arrive): hc_scale[0], hc_base[lane]
            if prefetch_residual and bx < nblk:
                T.copy(residual[t, 0, bx * h_blk], res)
            if early_constants and prefetch_residual:
                load_pre_constants(hc_scale, hc_base, consts, pre_consts, tid)
            if use_pdl:
                T.pdl_sync()  # the partials come from the GEMM kernel
                if trigger_first:
                    T.pdl_trigger()
            if early_constants and not prefetch_residual:
                load_pre_constants(hc_scale, hc_base, consts, pre_consts, tid)
            lane = tid % LANES
            grp = tid // LANES
            if bx == nblk:  # the mix CTA: decode_pre's last CTA's sums and mixes
                sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane)
                T.sync_threads()
                rstd_of(sums, rstd, tid, rms_eps)
                T.sync_threads()
                if tid < mixes:
                    m = T.alloc_var("float32")
                    m = sums[0, tid]
                    for g in T.unroll(groups - 1):
                        m += sums[g + 1, tid]
                    if early_constants:
                        z = m * rstd[0] * consts[0] + consts[1]
                    else:
                        z = m * rstd[0] * hc_scale[mix_group(T, tid, n)] + hc_base[tid]
                    if tid < n:
                        if dsmem_pre:
                            pre_stage[tid] = T.sigmoid(z) + hc_pre_eps
                        elif not split_arrive:
                            pre_weights[t, tid] = T.sigmoid(z) + hc_pre_eps
                    elif tid < 2 * n:
                        post_mix[t, tid - n] = T.sigmoid(z) * hc_post_mult_value
                    else:
                        logits[tid] = z
                if split_arrive and not dsmem_pre and LANES <= tid and tid < LANES + n:  # warp 1: the pre weights
                    j = tid - LANES
                    mp = T.alloc_var("float32")
                    mp = sums[0, j]
                    for g in T.unroll(groups - 1):
                        mp += sums[g + 1, j]
                    if early_constants:
                        zp = mp * rstd[0] * pre_consts[0] + pre_consts[1]
                    else:
                        zp = mp * rstd[0] * hc_scale[0] + hc_base[j]
                    pre_weights[t, j] = T.sigmoid(zp) + hc_pre_eps
                T.sync_threads()
                if dsmem_pre:
                    for r in T.serial(nblk):  # threads 0..n-1 store into collapse CTA r's pre
                        T.copy_cluster(pre_stage, pre, dst_block=r)
            # the warp that wrote the pre weights (warp 1, or warp 0 with dsmem_pre) releases them
            pre_writer = 0 if dsmem_pre else 1
            if split_arrive:
                if bx == nblk:
                    if grp == pre_writer:
                        T.cluster_arrive()  # release: the pre weights
                    else:
                        T.cluster_arrive_relaxed()  # Sinkhorn's warp goes on at once
                else:
                    T.cluster_arrive_relaxed()
                    T.cluster_wait()  # acquire: the mix CTA's pre weights
            else:
                T.cluster_sync()  # every thread of the cluster: the pre weights written before, read after
            if bx < nblk:
                if tid < n and not dsmem_pre:
                    pre[tid] = pre_weights[t, tid]
                if not prefetch_residual:
                    T.copy(residual[t, 0, bx * h_blk], res)
                T.sync_threads()
                collapse_block(pre, res, out)
                T.copy(out, layer_input[t, bx * h_blk])
            elif dsmem_pre:
                if LANES <= tid and tid < 2 * LANES:  # the mix CTA: Sinkhorn on warp 1 (warp 0 released the weights)
                    lane_sinkhorn(logits, comb_mix, t, tid - LANES, hc_sinkhorn_eps, sinkhorn_repeat)
            elif tid < 32:  # the mix CTA: Sinkhorn, as decode_pre's last CTA
                lane_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)
            if use_pdl and not trigger_first:
                T.pdl_trigger()

    return mhc_decode_pre_cluster


def build_decode_norm(hidden: int, use_pdl: bool):
    """layer_input (the bf16 collapse) and its block sums of squares [T, H / h_blk] -> the RMSNorm'd
    layer_input, in place: the block sums added in block order, then pre.py's rounding points."""
    import tilelang.language as T

    h_blk = decode_block(hidden)
    nblk = hidden // h_blk
    threads = threads_for(h_blk)
    tokens = T.dynamic("tokens")

    @T.prim_func
    def mhc_decode_norm(sq_blocks: T.Tensor((tokens, nblk), "float32"),
                        norm_weight: T.Tensor((hidden,), "bfloat16"),
                        layer_input: T.Tensor((tokens, hidden), "bfloat16"),
                        norm_eps: T.float32):
        with T.Kernel(nblk, tokens, threads=threads) as (hb, t):
            li = T.alloc_fragment((h_blk,), "bfloat16")
            w = T.alloc_fragment((h_blk,), "bfloat16")
            y = T.alloc_fragment((h_blk,), "float32")
            total = T.alloc_var("float32")
            if use_pdl:
                T.pdl_sync()  # the collapse and its sums come from decode_pre
            total = sq_blocks[t, 0]
            for b in T.unroll(nblk - 1):
                total += sq_blocks[t, b + 1]
            T.copy(layer_input[t, hb * h_blk], li)
            T.copy(norm_weight[hb * h_blk], w)
            for h in T.Parallel(h_blk):
                y[h] = T.Cast("float32", li[h]) * T.rsqrt(total / hidden + norm_eps)
                li[h] = y[h] * T.Cast("float32", w[h])
            T.copy(li, layer_input[t, hb * h_blk])
            if use_pdl:
                T.pdl_trigger()

    return mhc_decode_norm


def build_decode_head(n: int, hidden: int, parts: int, use_pdl: bool, token_major: bool = False):
    """The head GEMM's partials [parts, T, n], [parts, T] -> out [T, H]: collapse.py's head weights
    w_k = sigmoid(m_k * rsqrt(sq / K + rms_eps) * hc_scale[0] + hc_base[k]) + hc_eps, then the
    collapse of this CTA's block of columns.

    ``token_major`` (TileLangDecode.token_major_partials, hc_head's default): the partials laid out [T, parts, n]
    and [T, parts] (decode_gemm's token_major output), so a token's parts are contiguous (the
    default layout puts consecutive parts T * 4 * n bytes apart, one 32-byte sector per load), and
    the residual block is loaded before the PDL wait. The same values are added in the same order:
    bitwise the same output as the default layout."""
    import tilelang.language as T

    assert n + 1 <= LANES
    k_total = n * hidden
    h_blk = decode_block(hidden)
    nblk = hidden // h_blk
    groups = _groups(parts)
    per_group = parts // groups
    sum_group = _group_sum_macro(T, n, groups, per_group, token_major)
    collapse_block = collapse_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")

    m_shape, s_shape = _partial_shapes(parts, tokens, n, token_major)

    @T.prim_func
    def mhc_decode_head(mixes_partial: T.Tensor(m_shape, "float32"),
                        sqrsum_partial: T.Tensor(s_shape, "float32"),
                        hc_scale: T.Tensor((1,), "float32"),
                        hc_base: T.Tensor((n,), "float32"),
                        residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                        out: T.Tensor((tokens, hidden), "bfloat16"),
                        rms_eps: T.float32, hc_eps: T.float32):
        with T.Kernel(nblk, tokens, threads=THREADS) as (hb, t):
            tid = T.get_thread_binding()
            sums = T.alloc_shared((groups, LANES), "float32")
            w = T.alloc_shared((n,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            ob = T.alloc_fragment((h_blk,), "bfloat16")
            if token_major:
                # The residual block before the PDL wait, its latency overlapping the GEMM's tail.
                # Safe: PDL orders this kernel only against the previous kernel in the stream, the
                # head GEMM (decode_gemm, FMA: TileLangDecode forces it with token_major), which
                # writes only the partials. Whatever wrote the residual ran before the GEMM, and
                # this kernel cannot start before the GEMM's pdl_trigger (or its end), which follows
                # the GEMM's own pdl_sync: the wait for its predecessors to complete, their writes
                # flushed. So the residual is final and visible here, with or without PDL.
                T.copy(residual[t, 0, hb * h_blk], res)
            if use_pdl:
                T.pdl_sync()  # the partials come from the head GEMM
            lane = tid % LANES
            grp = tid // LANES
            sum_group(mixes_partial, sqrsum_partial, sums, t, grp, lane)
            T.sync_threads()
            if tid < n:
                sq = T.alloc_var("float32")
                m = T.alloc_var("float32")
                sq = sums[0, n]
                m = sums[0, tid]
                for g in T.unroll(groups - 1):
                    sq += sums[g + 1, n]
                    m += sums[g + 1, tid]
                w[tid] = T.sigmoid(m * T.rsqrt(sq / k_total + rms_eps) * hc_scale[0] + hc_base[tid]) + hc_eps
            T.sync_threads()
            if not token_major:
                T.copy(residual[t, 0, hb * h_blk], res)
            collapse_block(w, res, ob)
            T.copy(ob, out[t, hb * h_blk])
            if use_pdl:
                T.pdl_trigger()

    return mhc_decode_head


def _partial_shapes(parts: int, tokens, mixes: int, token_major: bool):
    """The GEMM partials' shapes: [parts, T, M] and [parts, T], or token-major [T, parts, M], [T, parts]."""
    if token_major:
        return (tokens, parts, mixes), (tokens, parts)
    return (parts, tokens, mixes), (parts, tokens)


def hc_post_wide_kernel(n: int, hidden: int, target: Target, h_blk: int | None = None, early_trigger: bool = False,
                        flat_grid: bool = False):
    """h_blk None (or decode_block(hidden)), no early_trigger, no flat_grid: today's kernel, under today's
    cache key."""
    variant = (("early_trigger",) if early_trigger else ()) + (("flat_grid",) if flat_grid else ())
    if h_blk is None or h_blk == decode_block(hidden):
        return compile_cached("hc_post_wide", (n, hidden) + variant,
                              lambda: build_hc_post_wide(n, hidden, target.pdl, early_trigger=early_trigger,
                                                         flat_grid=flat_grid), target)
    return compile_cached("hc_post_wide", (n, hidden, ("h_blk", h_blk)) + variant,
                          lambda: build_hc_post_wide(n, hidden, target.pdl, h_blk, early_trigger, flat_grid), target)


def decode_pre_kernel(n: int, hidden: int, parts: int, with_norm: bool, target: Target, token_major: bool = False,
                      prefetch_residual: bool = False, sinkhorn_layout: str = "lanes", narrow_sums: bool = False,
                      early_constants: bool = False):
    """Without the variants (token_major, prefetch_residual, another Sinkhorn layout, narrow_sums,
    early_constants): today's kernel under today's cache key; each variant adds its tag to the key."""
    key = (n, hidden, parts, with_norm) + (("token_major",) if token_major else ()) \
        + (("prefetch_residual",) if prefetch_residual else ()) \
        + ((("sinkhorn", sinkhorn_layout),) if sinkhorn_layout != "lanes" else ()) \
        + (("narrow_sums",) if narrow_sums else ()) + (("early_constants",) if early_constants else ())
    variants = changed(token_major=(token_major, False), prefetch_residual=(prefetch_residual, False),
                       sinkhorn_layout=(sinkhorn_layout, "lanes"), narrow_sums=(narrow_sums, False),
                       early_constants=(early_constants, False))
    return compile_cached("decode_pre", key,
                          lambda: build_decode_pre(n, hidden, parts, with_norm, target.pdl, **variants), target)


def decode_norm_kernel(hidden: int, target: Target):
    return compile_cached("decode_norm", (hidden,), lambda: build_decode_norm(hidden, target.pdl), target)


def decode_head_kernel(n: int, hidden: int, parts: int, target: Target, token_major: bool = False):
    if token_major:
        return compile_cached("decode_head", (n, hidden, parts, "token_major"),
                              lambda: build_decode_head(n, hidden, parts, target.pdl, True), target)
    return compile_cached("decode_head", (n, hidden, parts),
                          lambda: build_decode_head(n, hidden, parts, target.pdl), target)


def decode_pre_cluster_kernel(n: int, hidden: int, parts: int, target: Target, token_major: bool = False,
                              prefetch_residual: bool = False, sinkhorn_layout: str = "lanes",
                              early_constants: bool = False, split_arrive: bool = False, dsmem_pre: bool = False,
                              trigger_first: bool = False):
    """build_decode_pre_cluster's kernel, one compile per (n, H, parts, variants)."""
    variants = changed(token_major=(token_major, False), prefetch_residual=(prefetch_residual, False),
                       sinkhorn_layout=(sinkhorn_layout, "lanes"), early_constants=(early_constants, False),
                       split_arrive=(split_arrive, False), dsmem_pre=(dsmem_pre, False),
                       trigger_first=(trigger_first, False))
    key = (n, hidden, parts) + tuple(sorted(variants.items()))
    return compile_cached("decode_pre_cluster", key,
                          lambda: build_decode_pre_cluster(n, hidden, parts, target.pdl, **variants), target)
