"""prenorm GEMM that reads fn in fp32 and splits it into its bf16 pieces inside the kernel, on a pipeline of three
warpgroups (CUDA sm_90+, TMA).

The op's plain window (gemm.py's kernel on TMA, one CTA per split and 64-token block) streams, per CTA, the x tile
and fn3's tile: 80 bf16 rows a K column (hi, mid, lo pieces of M = 24 and zero rows), 160 B against fp32 fn's 96.
At 256 x 4096 a CTA pulls 128 KB of x and 160 KB of fn3; DeepGEMM's TF32 kernel 128 and 96
(results/gpu/2026-12-07-h100-engines-27: 6.4 against 5.9 us). gemm.py's ``split_in_kernel`` read fn in fp32 and
split it between the consumer's barriers, serial with the wgmma: 3-6 x slower (-17). Here the split has its own
warpgroup:

* producer (threads [256, 384), one elected thread): per K tile, after the stage's ``empty`` barrier (two
  arrivals: the consumer is done with its x tile, the splitter with its fn tile), the x tile and fn's fp32 tile
  by TMA onto ``full``;
* splitter (threads [128, 256)): waits on ``full`` and on its fn3 buffer's ``split_empty`` (two buffers), writes
  the tile's hi / mid / lo rows (gemm.bf16x3_piece: split_fn's formulas, so the same bf16 pieces; the zero rows
  written once at the start), a proxy fence (generic-proxy stores before the wgmma's async-proxy reads), a
  barrier of the splitter's threads, then one thread arrives on ``empty`` and on ``split_full``;
* consumer (threads [0, 128)): waits on ``full`` (x) and ``split_full`` (fn3), the tile's squares, one wgmma of x
  against all fn3 rows, a barrier of the consumers, then one thread arrives on ``empty`` and ``split_empty``.

The arithmetic is gemm.py's on the same tiles in the same order: the outputs are meant to be bitwise those of the
plain window's TMA kernel with the same block_m, block_k and sq_flush over the same K ranges
(scripts/debug/probe_bitwise_check.py on a GPU). A CTA pulls 128 KB of x and 96 KB of fn at 256 x 4096.

Measured on an H100 (results/gpu/2026-12-07-h100-engines-28, call 2), a probe, not adopted: bitwise the plain window
at 129-704 tokens, both H, but 10.1 against the default's 6.4 us at 256 x 4096 and 15.6 against 8.2 at 256 x 7168:
about 0.9 us a K tile (8 tiles at H = 4096, 14 at 7168), the split on every tile's critical path between its two fn3
buffers.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, compile_cached
from mhc_kernels.tilelang.gemm import SQ_FLUSH, VEC, bf16x3_piece, fn3_rows
from mhc_kernels.tilelang.own_pipeline import consumer_macros

BLOCK_M = 64
BLOCK_K = 128
LOAD_STAGES = 5
SPLIT_BUFFERS = 2
THREADS = 128  # a warpgroup; the CTA has three


def build_prenorm_gemm_fn_split(n: int, hidden: int, mixes: int, use_pdl: bool, *, block_k: int = BLOCK_K,
                                load_stages: int = LOAD_STAGES, sq_flush: int = SQ_FLUSH,
                                early_trigger: bool = False):
    """x [T, K] bf16, fn [M, K] fp32 -> partials [P, T, M], [P, T] (K / P a multiple of block_k).
    ``early_trigger``: gemm.build_prenorm_gemm's."""
    import tilelang.language as T

    k_total = n * hidden
    n3 = fn3_rows(mixes)
    block_m = BLOCK_M
    threads = THREADS
    assert block_k % 64 == 0 and k_total % block_k == 0, (block_k, k_total)
    k_tiles = k_total // block_k
    parts = threads // block_m  # threads per row in the sum of squares
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits")
    bufs = SPLIT_BUFFERS
    groups_per_thread = mixes * block_k // VEC // threads
    assert groups_per_thread * VEC * threads == mixes * block_k, (mixes, block_k)

    add_tile_squares, write_partials = consumer_macros(T, block_m=block_m, block_k=block_k, mixes=mixes,
                                                       threads=threads, sq_flush=sq_flush)

    @T.prim_func
    def mhc_prenorm_gemm_fn_split(x: T.Tensor((tokens, k_total), "bfloat16"),
                                  fn: T.Tensor((mixes, k_total), "float32"),
                                  mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                                  sqrsum_partial: T.Tensor((splits, tokens), "float32")):
        with T.Kernel(T.ceildiv(tokens, block_m), splits, threads=3 * threads) as (bm, bs):
            x_sh = T.alloc_shared((load_stages, block_m, block_k), "bfloat16")
            f_sh = T.alloc_shared((load_stages, mixes, block_k), "float32")
            b_sh = T.alloc_shared((bufs, n3, block_k), "bfloat16")
            c_sh = T.alloc_shared((block_m, n3), "float32")
            sq_sh = T.alloc_shared((parts, block_m), "float32")
            full = T.alloc_barrier([1] * load_stages)
            empty = T.alloc_barrier([2] * load_stages)
            split_full = T.alloc_barrier([1] * bufs)
            split_empty = T.alloc_barrier([1] * bufs)
            acc = T.alloc_fragment((block_m, n3), "float32")
            fv = T.alloc_local((VEC,), "float32")
            lanes = T.alloc_local((VEC,), "float32")
            run = T.alloc_local((1,), "float32")  # buffers: own_pipeline's macros store into them
            total = T.alloc_local((1,), "float32")
            tx = T.get_thread_binding()
            tiles = k_tiles // splits
            first = bs * tiles
            if use_pdl:
                T.pdl_sync()  # x and fn may be the previous kernels' outputs
                if early_trigger:
                    T.pdl_trigger()
            if tx >= 2 * threads:
                for i in T.serial(tiles):
                    s = i % load_stages
                    T.mbarrier_wait_parity(empty[s], ((i // load_stages) & 1) ^ 1)
                    col = (first + i) * block_k
                    T.tma_copy(x[bm * block_m:(bm + 1) * block_m, col:col + block_k], x_sh[s, :, :],
                               barrier=full[s])
                    T.tma_copy(fn[0:mixes, col:col + block_k], f_sh[s, :, :], barrier=full[s])
                    if T.shuffle_elect(threads):
                        T.barrier_arrive(full[s])
            elif tx >= threads:
                if n3 > 3 * mixes:
                    for c, j, k in T.Parallel(bufs, n3 - 3 * mixes, block_k):
                        b_sh[c, 3 * mixes + j, k] = T.bfloat16(0)
                for i in T.serial(tiles):
                    s = i % load_stages
                    c = i % bufs
                    T.mbarrier_wait_parity(full[s], (i // load_stages) & 1)
                    T.mbarrier_wait_parity(split_empty[c], ((i // bufs) & 1) ^ 1)
                    # each splitter thread: groups of VEC consecutive columns of one fn row, 16-byte stores
                    for g in T.unroll(groups_per_thread):
                        idx = g * threads + (tx - threads)
                        j = idx // (block_k // VEC)
                        k0 = (idx % (block_k // VEC)) * VEC
                        for e in T.vectorized(VEC):
                            fv[e] = f_sh[s, j, k0 + e]
                        for e in T.vectorized(VEC):
                            b_sh[c, j, k0 + e] = bf16x3_piece(T, fv[e], 0)
                        for e in T.vectorized(VEC):
                            b_sh[c, mixes + j, k0 + e] = bf16x3_piece(T, fv[e], 1)
                        for e in T.vectorized(VEC):
                            b_sh[c, 2 * mixes + j, k0 + e] = bf16x3_piece(T, fv[e], 2)
                    T.fence_proxy_async()  # the stores, before the wgmma reads them through the async proxy
                    T.sync_threads(2, threads)  # every splitter thread's stores and reads of the stage done
                    if tx == threads:
                        T.mbarrier_arrive(empty[s])
                        T.mbarrier_arrive(split_full[c])
            else:
                T.clear(acc)
                run[0] = T.float32(0)
                total[0] = T.float32(0)
                for i in T.serial(tiles):
                    s = i % load_stages
                    c = i % bufs
                    T.mbarrier_wait_parity(full[s], (i // load_stages) & 1)
                    add_tile_squares(x_sh, s, i, tx, lanes, run, total)
                    T.mbarrier_wait_parity(split_full[c], (i // bufs) & 1)
                    T.gemm(x_sh[s, :, :], b_sh[c, :, :], acc, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
                    T.sync_threads(1, threads)  # every consumer's reads of both tiles done (the wgmma waited)
                    if tx == 0:
                        T.mbarrier_arrive(empty[s])
                        T.mbarrier_arrive(split_empty[c])
                write_partials(acc, c_sh, sq_sh, tx, run, total, bm, bs, tokens, mixes_partial, sqrsum_partial)
            if use_pdl and not early_trigger:
                T.pdl_trigger()

    return mhc_prenorm_gemm_fn_split


def prenorm_gemm_fn_split_kernel(n: int, hidden: int, mixes: int, target: Target, *, block_k: int = BLOCK_K,
                                 load_stages: int = LOAD_STAGES, sq_flush: int = SQ_FLUSH,
                                 early_trigger: bool = False):
    if target.kind != "cuda":
        raise ValueError(f"the fn-split GEMM needs CUDA sm_90+ (TMA), got {target.kind} {target.arch}")
    key = (n, hidden, mixes, block_k, load_stages, sq_flush) + (("early_trigger",) if early_trigger else ())
    return compile_cached("prenorm_gemm_fn_split", key,
                          lambda: build_prenorm_gemm_fn_split(n, hidden, mixes, target.pdl, block_k=block_k,
                                                              load_stages=load_stages, sq_flush=sq_flush,
                                                              early_trigger=early_trigger),
                          target, tma=True, own_pipeline=True)
