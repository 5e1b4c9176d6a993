"""The consumer warpgroup's arithmetic shared by the written-out TMA pipelines of the prenorm GEMM
(gemm_multicast.py, gemm_fn_split.py): a K tile's sum of squares, and the epilogue that writes a CTA's partials.

Both are gemm.build_prenorm_gemm's arithmetic in its order (8 lanes a thread over its part of the row, a tree of the
lanes, runs of ``sq_flush`` tiles, the row's thread parts added in part order; exact_sum's (hi + mid) + lo over the
accumulator's columns j, M + j, 2M + j), so that a written-out pipeline over the same tiles gives gemm.py's bits.
The consumers are threads [0, threads) of their CTA; ``barrier`` is their named barrier (bar.sync barrier, threads).
"""

from mhc_kernels.tilelang.gemm import VEC


def consumer_macros(T, *, block_m: int, block_k: int, mixes: int, threads: int, sq_flush: int, barrier: int = 1,
                    direct_epilogue: bool = False):
    """(add_tile_squares, write_partials): TileLang macros for a consumer warpgroup of ``threads`` threads.
    ``direct_epilogue``: write_partials adds each mix's three pieces straight from the accumulator's registers (the
    wgmma fragment holds a row's columns j, M + j and 2M + j in one thread where M is a multiple of 8) instead of
    through c_sh; the same sums of the same values."""
    parts = threads // block_m  # threads per row in the sum of squares
    part_cols = block_k // parts
    assert part_cols % VEC == 0, (block_k, parts)
    assert not direct_epilogue or mixes % 8 == 0, ("a mix's three pieces in one thread need M % 8 == 0", mixes)

    def exact_sum_from(hi, hi_mid, lo):  # gemm.build_prenorm_gemm's (hi + mid) + lo: a non-finite hi product alone
        return T.if_then_else(T.isfinite(hi), hi_mid + lo, hi)

    @T.macro
    def add_tile_squares(x_sh, s, i, tx, lanes, run, total):
        # tile i's squares from stage s of x_sh [stages, block_m, block_k]: thread tx's part of row tx % block_m
        for e in T.vectorized(VEC):
            lanes[e] = T.float32(0)
        for v in T.unroll(part_cols // VEC):
            for e in T.vectorized(VEC):
                xv = T.Cast("float32", x_sh[s, tx % block_m, (tx // block_m) * part_cols + v * VEC + e])
                lanes[e] += xv * xv  # exact product (bf16 squared)
        # run and total are T.alloc_var buffers: stored through [0] (a plain assignment would bind a macro local)
        run[0] = run[0] + (((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])))
        if i % sq_flush == sq_flush - 1:
            total[0] = total[0] + run[0]
            run[0] = T.float32(0)

    @T.macro
    def write_partials(acc, c_sh, sq_sh, tx, run, total, bm, bs, tokens, mixes_partial, sqrsum_partial, hi_f=None,
                       sum_f=None):
        # the CTA's partials: its mixes (exact_sum's arithmetic, from the accumulator's registers with direct_epilogue,
        # else through c_sh [block_m, fn3 rows]) and its rows' sums of squares (sq_sh [parts, block_m]) into [P, T, M]
        # and [P, T], rows past T left alone
        total[0] = total[0] + run[0]
        if direct_epilogue:
            # one loop per piece: a loop may index the fragment one way only (TileLang's layout inference)
            for r, j in T.Parallel(block_m, mixes):
                hi_f[r, j] = acc[r, j]
            for r, j in T.Parallel(block_m, mixes):
                sum_f[r, j] = hi_f[r, j] + acc[r, mixes + j]
            for r, j in T.Parallel(block_m, mixes):
                row = bm * block_m + r
                if row < tokens:
                    mixes_partial[bs, row, j] = exact_sum_from(hi_f[r, j], sum_f[r, j], acc[r, 2 * mixes + j])
        else:
            T.copy(acc, c_sh)
            for r, j in T.Parallel(block_m, mixes):
                row = bm * block_m + r
                if row < tokens:
                    mixes_partial[bs, row, j] = exact_sum_from(c_sh[r, j], c_sh[r, j] + c_sh[r, mixes + j],
                                                               c_sh[r, 2 * mixes + j])
        sq_sh[tx // block_m, tx % block_m] = total[0]
        T.sync_threads(barrier, threads)
        if tx < block_m:
            for p in T.serial(parts - 1):
                total[0] = total[0] + sq_sh[p + 1, tx]
            if bm * block_m + tx < tokens:
                sqrsum_partial[bs, bm * block_m + tx] = total[0]

    return add_tile_squares, write_partials
