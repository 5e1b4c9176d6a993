"""prenorm GEMM with fn3's tiles multicast across a cluster of token blocks (CUDA sm_90+, TMA).

gemm.py's kernel on the TMA path streams, per CTA and K tile, the x tile (block_m rows) and the whole fn3
tile (80 bf16 rows for M = 24: hi, mid and lo pieces and zero rows). At 129-256 tokens the token blocks of
one K range are 2-4 CTAs that each pull the same fn3 tile from L2: for a split's 1024 columns at
256 x 4096, 128 KB of x and 160 KB of fn3 per CTA, where DeepGEMM's TF32 kernel pulls 128 KB and 96 KB of
fp32 fn (results/gpu/2026-12-07-h100-engines-27: our two-kernel op 6.4 us against its one kernel's 5.9).

Here ``cluster`` consecutive token blocks of one K range form a thread-block cluster, and the cluster's
first CTA loads each fn3 tile once with a TMA multicast into every CTA's shared memory: a CTA then pulls its
x tile and 1 / cluster of the fn3 traffic (cluster 4 at 256 x 4096: 128 + 40 KB a CTA).

The pipeline is written out, not TileLang's automatic one (which has no cross-CTA stage release):

* a producer warpgroup (threads [threads, 2 * threads)), one elected thread: per K tile it waits on the
  stage's ``empty`` barrier, loads the x tile (TMA, its own CTA) and, from the cluster's first CTA, the fn3
  tile multicast to all; every CTA expects both tiles' bytes on its own ``full`` barrier and arrives once;
* a consumer warpgroup (threads [0, threads)): waits on ``full``, adds the tile's squares, one wgmma of the
  x tile against all fn3 rows, then (after a barrier of the consumers: every read of the stage done) one
  thread per cluster CTA arrives on that CTA's ``empty`` barrier of the stage. A stage is free again only
  when every CTA of the cluster has consumed it, since the first CTA's next multicast writes into all of
  them (``empty`` expects ``cluster`` arrivals);
* a cluster barrier after the barriers' initialisation (TileLang's) and one before the CTAs exit (no CTA
  leaves while a peer may still arrive on its barriers).

The arithmetic is gemm.py's on the same tiles in the same order (the tensor core's k16 steps in ascending
K, block_k's sums of squares, 8 lanes, runs of ``sq_flush`` tiles, the row's thread parts in part order,
exact_sum's (hi + mid) + lo): the outputs are meant to be bitwise those of gemm.py's TMA kernel with the same
block_m, block_k, threads and sq_flush over the same K ranges (scripts/debug/probe_bitwise_check.py checks
that on a GPU). Grid: (ceil(T / (block_m * cluster)) * cluster, P): the last cluster's blocks past T load
zero rows (TMA's out-of-bounds fill) and write nothing.

Measured on an H100 (results/gpu/2026-12-07-h100-engines-28, call 1), a probe, not adopted: bitwise the plain
window at 129-704 tokens, both H, but 1.19-1.27 x the default's time at 129-320 x 4096 (7.6 against 6.6 us at 256,
where the cluster-of-one control took 6.6) and 2.0 x at 512 tokens (32 clusters of 4). The control, this pipeline
without the multicast, runs at the plain window's speed.

The default since the thirty-third session runs the prenorm_gemm op at 129-256 tokens on this kernel in clusters of
one (TileLangDecode.op_multicast_*): the middle GEMM's K ranges (two chunks a split, then chunk_sum), fn3's first
tiles before the PDL wait (fn3_first), the squares under the wgmmas (overlap_squares) and the partials from the
accumulator's registers (direct_epilogue): 5.3 against DeepGEMM's 5.9 us at 256 x 4096 on an H100
(results/gpu/2026-12-07-h100-engines-30).
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, compile_cached
from mhc_kernels.tilelang.gemm import SQ_FLUSH, VEC, fn3_rows
from mhc_kernels.tilelang.own_pipeline import consumer_macros

BLOCK_M = 64
BLOCK_K = 128
NUM_STAGES = 4
THREADS = 128  # the consumer warpgroup; the producer warpgroup doubles the CTA
MAX_CLUSTER = 4
# build_prenorm_gemm_multicast(stamps=True): the points a CTA stamps, and the device functions that read the clocks
STAMP_POINTS = 6
STAMP_SOURCE = """
__device__ __forceinline__ unsigned long long mhc_globaltimer() {
  unsigned long long t; asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); return t; }
__device__ __forceinline__ unsigned long long mhc_clock64() { return (unsigned long long)clock64(); }
__device__ __forceinline__ unsigned int mhc_smid() {
  unsigned int s; asm volatile("mov.u32 %0, %%smid;" : "=r"(s)); return s; }
"""


def build_prenorm_gemm_multicast(n: int, hidden: int, mixes: int, use_pdl: bool, *, cluster: int = 4,
                                 block_m: int = BLOCK_M, block_k: int = BLOCK_K, num_stages: int = NUM_STAGES,
                                 sq_flush: int = SQ_FLUSH, early_trigger: bool = False, fn3_first: bool = False,
                                 stamps: bool = False, direct_epilogue: bool = False, overlap_squares: bool = False):
    """x [T, K] bf16, fn3 [fn3_rows(M), K] bf16 -> partials [P, T, M], [P, T] (P = the outputs' first
    dimension: K ranges of K / P columns, a multiple of block_k). ``cluster`` 1 is the same written-out
    pipeline without a multicast (every CTA loads its own fn3 tile): the control that tells the multicast's
    share from the pipeline's. ``early_trigger``: gemm.build_prenorm_gemm's.

    ``fn3_first`` (cluster 1, with PDL; TileLangDecode.op_multicast_fn3_first, a probe): the producer issues the fn3
    tiles of the first min(tiles, num_stages) stages before its PDL wait, onto the stages' ``full`` barriers
    (expect_tx only: a stage still completes with its x tile and the producer's one arrival after the wait), and the
    x tiles after it; the consumers wait as before, before anything they write. Why: at 256 x 4096 the middle shape's
    CTA pulls 64 KB of x and 80 KB of fn3 (all four tiles within the four stages), and the GEMM's end, not its
    pipeline depth, is what the op waits for (-28); fn3 is a weight (fn's cached split), so its loads can sit in the
    previous kernel's tail, as decode_gemm's fn_before_wait does for the FMA GEMM. What it assumes: no kernel in flight
    writes fn3, i.e. no split_fn launched for it in this call (the caller's rule, as for gemm.py's fn_tiles). The
    same tiles in the same stages and the same consumer: the same bits.

    ``overlap_squares`` (TileLangDecode.op_multicast_overlap_squares): the consumers issue a tile's wgmmas
    (T.wgmma_gemm, no implicit wait), add the tile's squares while they run, then wait; before, the squares came first
    and the wgmmas waited behind them. ``direct_epilogue`` (op_multicast_direct_epilogue): own_pipeline's
    write_partials from the accumulator's registers, without the c_sh round trip and its barrier. Why: the GEMM's
    stamps at 256 x 4096 (results/gpu/2026-12-07-h100-engines-30, call 1) give a consumer 0.49 us per tile (its
    squares, then eight m64n80k16 wgmmas) and 1.35 us from its last wgmma to its partials written, of a 4.9 us span.
    Both keep every value and every operation order: the same bits.

    ``stamps`` (scripts/debug/gemm_timeline.py only, never a backend's): the kernel takes one more tensor,
    ``stamp_rows`` [CTAs, 1 + 2 * STAMP_POINTS] int64, row bs * gridDim.x + bm: the CTA's SM (%smid), then the
    globaltimer (ns, the GPU's clock; coarse on some GPUs) and clock64 (the SM's cycles) at STAMP_POINTS points: entry,
    the producer past its PDL wait, the first and the last tile arrived, the last wgmma done, the partials written.
    Why: the profile gives a kernel's start and end; where its time goes between them (the wait, the loads, the
    epilogue) it cannot."""
    import tilelang.language as T

    k_total = n * hidden
    n3 = fn3_rows(mixes)
    threads = THREADS
    assert block_m == 64 and block_k % 64 == 0 and k_total % block_k == 0, (block_m, block_k, k_total)
    assert cluster in (1, 2, 4), cluster
    assert not fn3_first or (cluster == 1 and use_pdl), (fn3_first, cluster, use_pdl)
    k_tiles = k_total // block_k
    parts = threads // block_m  # threads per row in the sum of squares
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits")
    ctas = T.dynamic("ctas")
    everyone = (1 << cluster) - 1
    add_tile_squares, write_partials = consumer_macros(T, block_m=block_m, block_k=block_k, mixes=mixes,
                                                       threads=threads, sq_flush=sq_flush,
                                                       direct_epilogue=direct_epilogue)

    @T.macro
    def stamp(stamps, cta, point):  # point's globaltimer (ns) and clock64 (this SM's cycles) into the CTA's row
        if stamps is not None:
            stamps[cta, 1 + point] = T.Cast("int64", T.call_extern("uint64", "mhc_globaltimer"))
            stamps[cta, 1 + STAMP_POINTS + point] = T.Cast("int64", T.call_extern("uint64", "mhc_clock64"))

    @T.macro
    def kernel(x, fn3, mixes_partial, sqrsum_partial, stamps):
        with T.Kernel(T.ceildiv(tokens, block_m * cluster) * cluster, splits, threads=2 * threads,
                      cluster_dims=(cluster, 1, 1) if cluster > 1 else None) as (bm, bs):
            x_sh = T.alloc_shared((num_stages, block_m, block_k), "bfloat16")
            b_sh = T.alloc_shared((num_stages, n3, block_k), "bfloat16")
            c_sh = T.alloc_shared((block_m, n3), "float32")
            sq_sh = T.alloc_shared((parts, block_m), "float32")
            full = T.alloc_barrier([1] * num_stages)
            if cluster > 1:
                empty = T.alloc_cluster_barrier([cluster] * num_stages)
            else:
                empty = T.alloc_barrier([1] * num_stages)
            acc = T.alloc_fragment((block_m, n3), "float32")
            hi_f = T.alloc_fragment((block_m, mixes), "float32") if direct_epilogue else None
            sum_f = T.alloc_fragment((block_m, mixes), "float32") if direct_epilogue else None
            lanes = T.alloc_local((VEC,), "float32")
            run = T.alloc_local((1,), "float32")  # buffers: own_pipeline's macros store into them
            total = T.alloc_local((1,), "float32")
            tx = T.get_thread_binding()
            tiles = k_tiles // splits
            first = bs * tiles
            cta = bs * T.ceildiv(tokens, block_m * cluster) * cluster + bm
            if stamps is not None:
                T.import_source(STAMP_SOURCE)
                if tx == threads:
                    stamp(stamps, cta, 0)  # entry
                    stamps[cta, 0] = T.Cast("int64", T.call_extern("uint32", "mhc_smid"))
            if fn3_first:
                if tx >= threads:  # the producer: the first stages' fn3 tiles before the wait
                    for i in T.serial(T.min(tiles, num_stages)):
                        col = (first + i) * block_k
                        T.tma_copy(fn3[0:n3, col:col + block_k], b_sh[i, :, :], barrier=full[i])
            if use_pdl:
                T.pdl_sync()  # x may be the previous kernel's output (and, unless fn3_first, fn3 split_fn's)
                if early_trigger:
                    T.pdl_trigger()
            if tx >= threads:
                if tx == threads:
                    stamp(stamps, cta, 1)  # the producer past its PDL wait
                for i in T.serial(tiles):
                    s = i % num_stages
                    T.mbarrier_wait_parity(empty[s], ((i // num_stages) & 1) ^ 1)
                    col = (first + i) * block_k
                    T.tma_copy(x[bm * block_m:(bm + 1) * block_m, col:col + block_k], x_sh[s, :, :],
                               barrier=full[s])
                    if cluster > 1:
                        T.tma_copy(fn3[0:n3, col:col + block_k], b_sh[s, :, :], barrier=full[s],
                                   cluster_mask=everyone)
                    elif fn3_first:
                        if i >= num_stages:  # the first stages' fn3 went before the wait
                            T.tma_copy(fn3[0:n3, col:col + block_k], b_sh[s, :, :], barrier=full[s])
                    else:
                        T.tma_copy(fn3[0:n3, col:col + block_k], b_sh[s, :, :], barrier=full[s])
                    if T.shuffle_elect(threads):
                        T.barrier_arrive(full[s])
            else:
                T.clear(acc)
                run[0] = T.float32(0)
                total[0] = T.float32(0)
                for i in T.serial(tiles):
                    s = i % num_stages
                    T.mbarrier_wait_parity(full[s], (i // num_stages) & 1)
                    if tx == 0 and i == 0:
                        stamp(stamps, cta, 2)  # the first tile arrived
                    if tx == 0 and i == tiles - 1:
                        stamp(stamps, cta, 3)  # the last tile arrived
                    if overlap_squares:  # the tile's squares while its wgmmas run (both only read the stage)
                        T.wgmma_gemm(x_sh[s, :, :], b_sh[s, :, :], acc, transpose_B=True,
                                     policy=T.GemmWarpPolicy.FullRow)
                        add_tile_squares(x_sh, s, i, tx, lanes, run, total)
                        T.wait_wgmma(0)
                    else:
                        add_tile_squares(x_sh, s, i, tx, lanes, run, total)
                        T.gemm(x_sh[s, :, :], b_sh[s, :, :], acc, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
                    T.sync_threads(1, threads)  # every consumer's reads of the stage done (the wgmma waited)
                    if cluster > 1:
                        if tx < cluster:
                            T.mbarrier_arrive(empty[s], tx)  # CTA tx of the cluster may refill the stage
                    elif tx == 0:
                        T.mbarrier_arrive(empty[s])
                if tx == 0:
                    stamp(stamps, cta, 4)  # the last tile's wgmma done
                write_partials(acc, c_sh, sq_sh, tx, run, total, bm, bs, tokens, mixes_partial, sqrsum_partial,
                               hi_f, sum_f)
                if tx == 0:
                    stamp(stamps, cta, 5)  # the partials written
            if cluster > 1:
                T.cluster_sync()  # no CTA leaves while a peer may still arrive on its barriers
            if use_pdl and not early_trigger:
                T.pdl_trigger()

    if stamps:
        @T.prim_func
        def mhc_prenorm_gemm_multicast(x: T.Tensor((tokens, k_total), "bfloat16"),
                                       fn3: T.Tensor((n3, k_total), "bfloat16"),
                                       mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                                       sqrsum_partial: T.Tensor((splits, tokens), "float32"),
                                       stamp_rows: T.Tensor((ctas, 1 + 2 * STAMP_POINTS), "int64")):
            kernel(x, fn3, mixes_partial, sqrsum_partial, stamp_rows)
    else:
        @T.prim_func
        def mhc_prenorm_gemm_multicast(x: T.Tensor((tokens, k_total), "bfloat16"),
                                       fn3: T.Tensor((n3, k_total), "bfloat16"),
                                       mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                                       sqrsum_partial: T.Tensor((splits, tokens), "float32")):
            kernel(x, fn3, mixes_partial, sqrsum_partial, None)

    return mhc_prenorm_gemm_multicast


def prenorm_gemm_multicast_kernel(n: int, hidden: int, mixes: int, target: Target, *, cluster: int = 4,
                                  block_k: int = BLOCK_K, num_stages: int = NUM_STAGES, sq_flush: int = SQ_FLUSH,
                                  early_trigger: bool = False, fn3_first: bool = False, stamps: bool = False,
                                  direct_epilogue: bool = False, overlap_squares: bool = False):
    if target.kind != "cuda":
        raise ValueError(f"the multicast GEMM needs CUDA sm_90+ (TMA, clusters), got {target.kind} {target.arch}")
    key = (n, hidden, mixes, cluster, block_k, num_stages, sq_flush) + (("early_trigger",) if early_trigger else ()) \
        + (("fn3_first",) if fn3_first else ()) + (("stamps",) if stamps else ()) \
        + (("direct_epilogue",) if direct_epilogue else ()) + (("overlap_squares",) if overlap_squares else ())
    return compile_cached("prenorm_gemm_multicast", key,
                          lambda: build_prenorm_gemm_multicast(n, hidden, mixes, target.pdl, cluster=cluster,
                                                               block_k=block_k, num_stages=num_stages,
                                                               sq_flush=sq_flush, early_trigger=early_trigger,
                                                               fn3_first=fn3_first, stamps=stamps,
                                                               direct_epilogue=direct_epilogue,
                                                               overlap_squares=overlap_squares),
                          target, tma=True, own_pipeline=True)


def cluster_for(tokens: int, block_m: int = BLOCK_M, largest: int = MAX_CLUSTER) -> int:
    """The cluster for T tokens: the largest of 4, 2, 1 (at most ``largest``) whose grid leaves at most a quarter
    of its token blocks past T (3 blocks: 4; 5: 2; 6 or 7: 4), so that the multicast's saving is not spent on
    idle CTAs."""
    blocks = -(-tokens // block_m)
    for size in (4, 2):
        grid = -(-blocks // size) * size
        if size <= largest and 4 * (grid - blocks) <= grid:
            return size
    return 1
