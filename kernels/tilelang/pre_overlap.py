"""pre_big_fuse with Sinkhorn beside the collapse (bitwise the same outputs as pre.py's kernel); the
`tilelang` backend's middle path (TileLangDecode, 33-4096 tokens) runs it with the partials' count
compiled in (``parts``).

pre.py's kernel runs, per token in one CTA of 128 threads, everything in series: the partial sums,
the mixes, the collapse over H / 1024 serial blocks, and only then Sinkhorn on warp 0. Here one CTA
per token has 32 + 128 threads:

  warp 0       lanes < M sum the S mixes partials while lane M sums the sqrsum partials (one loop,
               the same adds in the same order as pre.py); lane M forms rstd, a shuffle hands it to
               the other lanes, which form pre / post_mix / the comb logits (pre.py's formulas). One
               barrier (the only one of the whole CTA), then Sinkhorn (pre.py's code, unchanged).
  warps 1..4   collapse thread c = tid - 32 plays pre.py's thread c: it loads block 0 of the residual
               before the barrier and every next block before computing the current one (a register
               double buffer), and computes each column exactly as pre.py does (acc = 0; acc += pre_k *
               res_k for k = 0..n-1; one bf16 rounding). With norm_weight: the bf16 values are kept
               (shared memory, each thread reading back only its own; or registers with
               kept_in_shared=False), the squares summed per thread in pre.py's slots, the slots in
               slot order, then across the 128 threads in TileLang's AllReduce tree (xor 64 and 32 through shared
               memory behind named barriers of these 128 threads only, then shuffles 16 .. 1), then
               bf16(float(y) * rsqrt(sum / H + norm_eps) * float(w)) as pre.py.

Which columns a collapse thread owns follows the layout TileLang infers for pre.py's fragments (the
sum of squares is per thread, so its order depends on it): h_blk = 1024: 8 contiguous columns c * 8
+ i; h_blk = 256 / 512: columns i * 128 + c; h_blk <= 128: column c mod h_blk (threads past h_blk
compute a copy and write nothing), the tree then min(128, h_blk) wide. tests/test_tilelang_pre_overlap.py
checks bitwise equality on the CPU (tests/cuda_on_cpu.py) for every h_blk; scripts/debug/
pre_overlap_check.py on a GPU.

FMA contraction (nvcc contracts a * b + c; the CPU emulation does not): compared in the PTX of both
kernels (sm_90a, H = 256 / 7168): the k-sums are the same fma chains from 0, z the same
fma(m * rstd, scale, base) (here computed in each of the three branches), the divisions div.rn and
the sigmoid's reciprocal rcp.rn in both. Where the two compilations differ it is exact either way:
nvcc turns / (n * H) into * 2^-k where n * H is a power of two and fuses the add (pre.py's no-norm
kernel keeps mul + add for rstd, this one fuses): both equal unless rms_eps / norm_eps are below
~2^-102; and sq + o * o with o bf16 has an exact product.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, changed, compile_cached, hidden_block
from mhc_kernels.tilelang.pre import mix_constants_macro, mix_group
from mhc_kernels.tilelang.sinkhorn import sinkhorn_macro

LANES = 32
COLLAPSE_THREADS = 128  # pre.py's THREADS: the same per-thread columns
THREADS = LANES + COLLAPSE_THREADS
NAMED_BARRIER = 1  # bar.sync 1, 128: the collapse warps only (0 is __syncthreads)


def collapse_layout(hidden: int) -> tuple[int, int, bool, int]:
    """(h_blk, columns per collapse thread and block, contiguous?, width of the sum-of-squares tree)."""
    h_blk = hidden_block(hidden)
    slots = max(1, h_blk // COLLAPSE_THREADS)
    return h_blk, slots, slots == 8, min(COLLAPSE_THREADS, h_blk)


def build_pre_big_fuse_overlap(n: int, hidden: int, with_norm: bool, use_pdl: bool, kept_in_shared: bool = True,
                               parts: int | None = None, min_blocks_per_sm: int | None = None,
                               prefetch_residual: bool = False, sinkhorn_layout: str = "lanes",
                               prefetch_next_block: bool = True, early_constants: bool = False):
    """``parts``: the partials' count as a compile-time constant (TileLangDecode's middle path: the
    GEMM's own K ranges), so warp 0's sums are unrolled, every load issued at once: lanes < M one
    loop over the mixes partials, the other lanes one over the sqrsum partials, the same adds in the
    same order as the dynamic loop (bitwise the same). None: the partials' count is dynamic (the
    caller's S), one loop selecting the source per part, as before.

    ``min_blocks_per_sm`` (opt-in, not yet measured): __launch_bounds__(160, n), so ptxas keeps the
    registers to what n CTAs per SM allow. Without it the kernel takes 56 registers at H = 4096 (7
    CTAs per SM: 1024 tokens are 1024 CTAs for 924 places on 132 SMs, a second wave); the same
    instructions either way (the register allocation changes, not the arithmetic).

    ``prefetch_residual`` (TileLangDecode.pdl_early_max_tokens, inside mhc_pre only): the collapse warps load
    their block 0 of the residual before the PDL wait (decode.build_decode_pre's argument: our GEMM
    before this kernel triggers only after its own wait). The same values: bitwise the same.

    ``sinkhorn_layout``: sinkhorn.py's "lanes" (this builder's default), "gather" (TileLangDecode's) or
    "rows" for warp 0's Sinkhorn, bitwise the same results.

    ``prefetch_next_block`` (default True): the collapse threads load block hb + 1 of the residual into
    a second register buffer before computing block hb. False (TileLangDecode.mid_pre_one_buffer_tokens:
    769 .. 1535 tokens, from a GPU run): one buffer, each block's loads at the top of its own
    iteration. Why: the register count sets how many CTAs an SM holds, and a CTA holds its place
    until warp 0's Sinkhorn ends, however early its collapse is done. For sm_90a (ptxas -v, nvcc
    13.0) at H = 4096 without norm: 56 registers with the second buffer (7 CTAs per SM: 924 places
    on 132 SMs, so 1024 tokens take a second wave), 40 without (10 per SM, 1320 places); with norm
    79 against 56. The same arithmetic in the same order: bitwise the same outputs.

    ``early_constants`` (TileLangDecode.mid_pre_early_constants, a probe): warp 0's mix lanes load their
    hc_scale and hc_base entries at the top (before the PDL wait with prefetch_residual, whose argument
    covers them; right after it otherwise) instead of after the partial sums: in the sm_90a SASS
    without it (nvcc 13.0) those two loads issue after the sums' MUFU.RSQ and SHFL, one more dependent
    round trip to L2 before Sinkhorn (decode.build_decode_pre's early_constants, the same change). The
    same values in the same expression: bitwise the same outputs."""
    import tilelang.language as T

    if n & (n - 1) or n * n > 32:
        raise ValueError(f"the lane Sinkhorn needs n a power of two with n*n <= 32, got n={n}")
    mixes = n * n + 2 * n
    assert mixes < LANES, "one lane per mix and one for the sum of squares"
    k_total = n * hidden
    h_blk, slots, contiguous, width = collapse_layout(hidden)
    nblk = hidden // h_blk
    lane_sinkhorn = sinkhorn_macro(T, n, sinkhorn_layout)
    offsets = [width >> b for b in range(1, width.bit_length())]  # width / 2, .. 2, 1
    shared_offsets = [o for o in offsets if o >= LANES]
    shuffle_offsets = [o for o in offsets if o < LANES]
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits") if parts is None else parts

    def column(c, i):
        """The column (inside a block) of collapse thread c's slot i, as pre.py's fragments place it."""
        if contiguous:
            return c * slots + i
        if h_blk < COLLAPSE_THREADS:
            return c % h_blk
        return i * COLLAPSE_THREADS + c

    # kept in registers needs static indices: the block loops unrolled; else a plain loop (fewer
    # registers: at H = 7168 with norm 128 per thread unrolled with registers, 96 unrolled with shared)
    blocks = T.unroll if with_norm and not kept_in_shared else T.serial

    def kept_at(hb, i, c):
        """Where collapse thread c keeps slot i of block hb (bank-conflict free in shared memory)."""
        if kept_in_shared:
            return (hb * slots + i) * COLLAPSE_THREADS + c
        return hb * slots + i

    @T.macro
    def first_block(residual, res, t, c):
        """Collapse thread c's slots of the residual's first block of columns, every stream."""
        for k in T.unroll(n):
            if contiguous:
                for i in T.vectorized(slots):
                    res[k * slots + i] = residual[t, k, column(c, i)]
            else:
                for i in T.unroll(slots):
                    res[k * slots + i] = residual[t, k, column(c, i)]

    load_constants = mix_constants_macro(T, n)

    @T.prim_func
    def mhc_pre_big_fuse_overlap(mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                                 sqrsum_partial: T.Tensor((splits, tokens), "float32"),
                                 hc_scale: T.Tensor((3,), "float32"),
                                 hc_base: T.Tensor((mixes,), "float32"),
                                 residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                                 norm_weight: T.Tensor((hidden,), "bfloat16"),
                                 post_mix: T.Tensor((tokens, n), "float32"),
                                 comb_mix: T.Tensor((tokens, n, n), "float32"),
                                 layer_input: T.Tensor((tokens, hidden), "bfloat16"),
                                 rms_eps: T.float32, hc_pre_eps: T.float32, hc_sinkhorn_eps: T.float32,
                                 hc_post_mult_value: T.float32, sinkhorn_repeat: T.int32, norm_eps: T.float32):
        with T.Kernel(tokens, threads=THREADS) as t:
            if min_blocks_per_sm is not None:
                T.annotate_min_blocks_per_sm(min_blocks_per_sm)
            tid = T.get_thread_binding()
            logits = T.alloc_shared((mixes,), "float32")
            pre = T.alloc_shared((n,), "float32")
            res = T.alloc_local((n * slots,), "bfloat16")
            if prefetch_next_block:
                nxt = T.alloc_local((n * slots,), "bfloat16")
            out = T.alloc_local((slots,), "bfloat16")
            if with_norm:
                red_buf = T.alloc_shared((COLLAPSE_THREADS,), "float32")
                if kept_in_shared:  # [nblk, slots, 128]: thread c reads back only what it wrote
                    kept = T.alloc_shared((nblk * slots * COLLAPSE_THREADS,), "bfloat16")
                else:
                    kept = T.alloc_local((nblk * slots,), "bfloat16")
                sq_cols = T.alloc_local((slots,), "float32")
                w = T.alloc_local((slots,), "bfloat16")
            if early_constants:
                consts = T.alloc_local((2,), "float32")  # hc_scale[group], hc_base[tid] for warp 0's mix lanes
            if prefetch_residual and tid >= LANES:
                first_block(residual, res, t, tid - LANES)
            if early_constants and prefetch_residual:
                load_constants(hc_scale, hc_base, consts, tid)
            if use_pdl:
                T.pdl_sync()  # the partials come from the GEMM kernel, the residual from the one before
            if early_constants and not prefetch_residual:
                load_constants(hc_scale, hc_base, consts, tid)
            if tid < LANES:
                acc = T.alloc_var("float32")
                rstd = T.alloc_var("float32")
                acc = 0.0
                if parts is None:
                    for s in T.serial(splits):
                        acc += T.if_then_else(tid < mixes, mixes_partial[s, t, T.min(tid, mixes - 1)],
                                              sqrsum_partial[s, t])
                elif tid < mixes:  # one loop per source, no select inside: all loads go out at once
                    for s in T.unroll(parts):
                        acc += mixes_partial[s, t, tid]
                else:
                    for s in T.unroll(parts):
                        acc += sqrsum_partial[s, t]
                rstd = T.rsqrt(acc / k_total + rms_eps)  # lane M's is pre.py's rstd
                rstd = T.shfl_sync(rstd, mixes)
                if tid < mixes:
                    if early_constants:
                        z = acc * rstd * consts[0] + consts[1]
                    else:
                        z = acc * rstd * hc_scale[mix_group(T, tid, n)] + hc_base[tid]
                    if tid < n:
                        pre[tid] = T.sigmoid(z) + hc_pre_eps
                    elif tid < 2 * n:
                        post_mix[t, tid - n] = T.sigmoid(z) * hc_post_mult_value
                    else:
                        logits[tid] = z
            elif not prefetch_residual:
                first_block(residual, res, t, tid - LANES)
            T.sync_threads()

            if tid < LANES:
                lane_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)
            else:
                c = tid - LANES
                if with_norm:
                    for i in T.unroll(slots):
                        sq_cols[i] = 0.0
                for hb in blocks(nblk):
                    if not prefetch_next_block and hb > 0:  # this block's loads, into the one buffer
                        for k in T.unroll(n):
                            if contiguous:
                                for i in T.vectorized(slots):
                                    res[k * slots + i] = residual[t, k, hb * h_blk + column(c, i)]
                            else:
                                for i in T.unroll(slots):
                                    res[k * slots + i] = residual[t, k, hb * h_blk + column(c, i)]
                    if prefetch_next_block and hb + 1 < nblk:  # the next block's loads before this block's arithmetic
                        for k in T.unroll(n):
                            if contiguous:
                                for i in T.vectorized(slots):
                                    nxt[k * slots + i] = residual[t, k, (hb + 1) * h_blk + column(c, i)]
                            else:
                                for i in T.unroll(slots):
                                    nxt[k * slots + i] = residual[t, k, (hb + 1) * h_blk + column(c, i)]
                    for i in T.unroll(slots):
                        acc2 = T.alloc_var("float32")
                        acc2 = 0.0
                        for k in T.unroll(n):
                            acc2 += pre[k] * res[k * slots + i]
                        out[i] = acc2
                    if with_norm:
                        for i in T.unroll(slots):
                            kept[kept_at(hb, i, c)] = out[i]
                            sq_cols[i] += T.Cast("float32", out[i]) * T.Cast("float32", out[i])
                    elif contiguous:
                        for i in T.vectorized(slots):
                            layer_input[t, hb * h_blk + column(c, i)] = out[i]
                    elif c < h_blk:
                        for i in T.unroll(slots):
                            layer_input[t, hb * h_blk + column(c, i)] = out[i]
                    if prefetch_next_block and hb + 1 < nblk:
                        for j in T.unroll(n * slots):
                            res[j] = nxt[j]
                if with_norm:
                    total = T.alloc_var("float32")
                    total = 0.0
                    for i in T.unroll(slots):
                        total = total + sq_cols[i]
                    for off in shared_offsets:  # TileLang's AllReduce: shared memory for xor >= 32
                        T.sync_threads(NAMED_BARRIER, COLLAPSE_THREADS)
                        red_buf[c] = total
                        T.sync_threads(NAMED_BARRIER, COLLAPSE_THREADS)
                        total = total + red_buf[c ^ off]
                    for off in shuffle_offsets:
                        total = total + T.shfl_xor(total, off)
                    for hb in blocks(nblk):
                        if contiguous:
                            for i in T.vectorized(slots):
                                w[i] = norm_weight[hb * h_blk + column(c, i)]
                        else:
                            for i in T.unroll(slots):
                                w[i] = norm_weight[hb * h_blk + column(c, i)]
                        for i in T.unroll(slots):
                            y = T.alloc_var("float32")
                            y = T.Cast("float32", kept[kept_at(hb, i, c)]) * T.rsqrt(total / hidden + norm_eps)
                            out[i] = y * T.Cast("float32", w[i])
                        if contiguous:
                            for i in T.vectorized(slots):
                                layer_input[t, hb * h_blk + column(c, i)] = out[i]
                        elif c < h_blk:
                            for i in T.unroll(slots):
                                layer_input[t, hb * h_blk + column(c, i)] = out[i]
            if use_pdl:
                T.pdl_trigger()

    return mhc_pre_big_fuse_overlap


def pre_big_fuse_overlap_kernel(n: int, hidden: int, with_norm: bool, target: Target, kept_in_shared: bool = True,
                                parts: int | None = None, min_blocks_per_sm: int | None = None,
                                prefetch_residual: bool = False, sinkhorn_layout: str = "lanes",
                                prefetch_next_block: bool = True, early_constants: bool = False):
    """``kept_in_shared``: the bf16 collapse values wait for the norm in shared memory (default; 79
    registers per thread at H = 7168) or in registers (the block loops unrolled; 128 registers, fewer
    CTAs per SM). Without norm there is nothing to keep: one kernel either way. ``parts``: a
    compile-time partials count (build_pre_big_fuse_overlap); None: dynamic, today's cache key."""
    kept_in_shared = kept_in_shared or not with_norm
    key = (n, hidden, with_norm, kept_in_shared) + (() if parts is None else (("parts", parts),)) \
        + (() if min_blocks_per_sm is None else (("min_blocks_per_sm", min_blocks_per_sm),)) \
        + (("prefetch_residual",) if prefetch_residual else ()) \
        + ((("sinkhorn", sinkhorn_layout),) if sinkhorn_layout != "lanes" else ()) \
        + (() if prefetch_next_block else ("one_buffer",)) + (("early_constants",) if early_constants else ())
    options = changed(sinkhorn_layout=(sinkhorn_layout, "lanes"), prefetch_next_block=(prefetch_next_block, True),
                      early_constants=(early_constants, False))
    return compile_cached("pre_big_fuse_overlap", key,
                          lambda: build_pre_big_fuse_overlap(n, hidden, with_norm, target.pdl, kept_in_shared, parts,
                                                             min_blocks_per_sm, prefetch_residual, **options),
                          target)
