# Frozen copy of kernels/tilelang/gemm.py as on main before branch gemm-v2 (commit 2431be0), kept only
# so scripts/debug/gemm_variants.py can time and compare the old kernel. Not used by any backend.

"""prenorm GEMM: the S split-K partials of x @ fn.T and of sum(x * x), x = residual as [T, K] bf16.

Grid: (ceil(T / block_m), S). CTA (bm, s) owns tokens [bm*block_m, +block_m) and the contiguous
K range [s*K/S, (s+1)*K/S); it writes its own partials (no atomics, no workspace: the result is
bitwise deterministic and needs no zeroing). T and S are dynamic: one compile per (n, H, M, block_m).

Precision (declared by the backend as ``bf16x3``): x is bf16, exact in bf16; each fp32 fn tile is
split in shared memory into three bf16 pieces hi + mid + lo (RNE each, every remainder exact), so
the three bf16 tensor-core products per term reproduce the fp32 product of x and fn. The three
pieces are accumulated in three separate fp32 accumulators, added at the end (hi + mid) + lo (hi
alone where it is not finite: see ``exact_sum``). The sum of squares runs on the CUDA cores from the
same shared x tile, each thread accumulating its columns across K tiles before one reduction.
The K loop is software-pipelined (cp.async, two stages). The backend may cut each of the caller's
splits into sub-ranges (more CTAs than token blocks alone give) and sum them back afterwards.

``block_m`` 64 is the variant for few tokens (more CTAs), 128 the one for >= 1024 tokens (fewer
reads of fn from L2 per token). K / S must be a multiple of ``BLOCK_K``.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, ceil_to, compile_cached

BLOCK_K = 64
THREADS = 128
SMALL_T_BLOCK_M = 64
LARGE_T_BLOCK_M = 128
LARGE_T_FROM = 1024


def block_m_for(tokens: int) -> int:
    return LARGE_T_BLOCK_M if tokens >= LARGE_T_FROM else SMALL_T_BLOCK_M


def build_prenorm_gemm(n: int, hidden: int, mixes: int, block_m: int, use_pdl: bool, planted: str | None = None):
    """``planted`` builds a deliberately broken variant (mhc_kernels.tilelang.planted); None is healthy."""
    import tilelang.language as T

    k_total = n * hidden
    m_pad = ceil_to(mixes, 8)
    k_tiles = k_total // BLOCK_K
    # Planted races (mhc_kernels.tilelang.planted) split each split's K range over two CTAs that
    # both add into the same output; the healthy kernel has one CTA per (token block, split).
    halves = 2 if planted in ("splitk_no_atomic", "workspace_not_zeroed") else 1
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits")

    def exact_sum(hi, mid, lo):
        # A non-finite x makes the hi product non-finite (inf*hi, inf*0 = NaN, NaN*hi), and the
        # fp32 product x*fn is then what hi alone gives; mid and lo may hold inf*0 = NaN that the
        # fp32 product does not have, so they are dropped. Finite rows: (hi + mid) + lo.
        return T.if_then_else(T.isfinite(hi), (hi + mid) + lo, hi)

    def written(row):
        if planted == "tail_skips_rows":  # a tail block (T not a multiple of block_m) drops its last row
            return row < tokens - T.if_then_else(tokens % block_m != 0, 1, 0)
        return row < tokens

    @T.prim_func
    def mhc_prenorm_gemm(x: T.Tensor((tokens, k_total), "bfloat16"),
                         fn: T.Tensor((mixes, k_total), "float32"),
                         mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                         sqrsum_partial: T.Tensor((splits, tokens), "float32")):
        with T.Kernel(T.ceildiv(tokens, block_m), splits * halves, threads=THREADS) as (bm, by):
            x_sh = T.alloc_shared((block_m, BLOCK_K), "bfloat16")
            fn_sh = T.alloc_shared((mixes, BLOCK_K), "float32")
            hi_sh = T.alloc_shared((m_pad, BLOCK_K), "bfloat16")
            mid_sh = T.alloc_shared((m_pad, BLOCK_K), "bfloat16")
            lo_sh = T.alloc_shared((m_pad, BLOCK_K), "bfloat16")
            acc_hi = T.alloc_fragment((block_m, m_pad), "float32")
            acc_mid = T.alloc_fragment((block_m, m_pad), "float32")
            acc_lo = T.alloc_fragment((block_m, m_pad), "float32")
            x_f = T.alloc_fragment((block_m, BLOCK_K), "float32")
            sq_cols = T.alloc_fragment((block_m, BLOCK_K), "float32")
            sq = T.alloc_fragment((block_m,), "float32")
            T.clear(acc_hi)
            T.clear(acc_mid)
            T.clear(acc_lo)
            T.clear(sq_cols)
            tiles_per_split = k_tiles // splits
            bs = by // halves
            tiles_per_cta = tiles_per_split // halves
            if use_pdl:
                T.pdl_sync()  # x may be the previous kernel's output
            first = bs * tiles_per_split + (by % halves) * tiles_per_cta
            for tile in T.Pipelined(first, first + tiles_per_cta, num_stages=2):
                T.copy(x[bm * block_m, tile * BLOCK_K], x_sh)
                T.copy(fn[0, tile * BLOCK_K], fn_sh)
                for j, k in T.Parallel(m_pad, BLOCK_K):
                    f = T.if_then_else(j < mixes, fn_sh[j, k], T.float32(0))  # rows >= M: zero padding
                    hi = T.Cast("bfloat16", f)
                    # an infinite fn is all in hi (inf - inf would make the other pieces NaN)
                    rest = T.if_then_else(T.Cast("float32", hi) == f, T.float32(0), f - T.Cast("float32", hi))
                    mid = T.Cast("bfloat16", rest)
                    hi_sh[j, k] = hi
                    mid_sh[j, k] = mid
                    lo_sh[j, k] = T.Cast("bfloat16", rest - T.Cast("float32", mid))
                T.gemm(x_sh, hi_sh, acc_hi, transpose_B=True)
                T.copy(x_sh, x_f)
                for i, k in T.Parallel(block_m, BLOCK_K):
                    sq_cols[i, k] += x_f[i, k] * x_f[i, k]
                T.gemm(x_sh, mid_sh, acc_mid, transpose_B=True)
                T.gemm(x_sh, lo_sh, acc_lo, transpose_B=True)
            T.reduce_sum(sq_cols, sq, dim=1)
            for i, j in T.Parallel(block_m, mixes):
                row = bm * block_m + i
                if written(row):
                    if halves == 1:
                        mixes_partial[bs, row, j] = exact_sum(acc_hi[i, j], acc_mid[i, j], acc_lo[i, j])
                    elif planted == "splitk_no_atomic":  # read-modify-write racing the other half
                        mixes_partial[bs, row, j] = mixes_partial[bs, row, j] + (
                            exact_sum(acc_hi[i, j], acc_mid[i, j], acc_lo[i, j]))
                    else:  # atomic, but into an output the host did not zero
                        T.atomic_add(mixes_partial[bs, row, j], exact_sum(acc_hi[i, j], acc_mid[i, j], acc_lo[i, j]))
            for i in T.Parallel(block_m):
                row = bm * block_m + i
                if written(row):
                    if halves == 1:
                        sqrsum_partial[bs, row] = sq[i]
                    elif planted == "splitk_no_atomic":
                        sqrsum_partial[bs, row] = sqrsum_partial[bs, row] + sq[i]
                    else:
                        T.atomic_add(sqrsum_partial[bs, row], sq[i])
            if use_pdl:
                T.pdl_trigger()

    return mhc_prenorm_gemm


def prenorm_gemm_kernel(n: int, hidden: int, mixes: int, block_m: int, target: Target, planted: str | None = None):
    return compile_cached("prenorm_gemm", (n, hidden, mixes, block_m, planted),
                          lambda: build_prenorm_gemm(n, hidden, mixes, block_m, target.pdl, planted), target)
