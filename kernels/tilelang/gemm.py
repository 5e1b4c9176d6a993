"""prenorm GEMM: the S split-K partials of x @ fn.T and of sum(x * x), x = residual as [T, K] bf16.

Two launches per call (chained by PDL where supported):

1. ``split_fn`` (one small kernel, K / SPLIT_COLS CTAs): fn [M, K] fp32 -> fn3 [fn3_rows(M), K]
   bf16, rows [0, M) the hi pieces, [M, 2M) mid, [2M, 3M) lo, zero rows up to a multiple of 16
   (80 rows for M = 24, 16 for M = 4). Done once per call instead of once per CTA and K tile.
2. ``prenorm_gemm``: grid (ceil(T / block_m), S). CTA (bm, s) owns tokens [bm*block_m, +block_m)
   and the contiguous K range [s*K/S, (s+1)*K/S); it writes its own partials (no atomics, no
   workspace: the result is bitwise deterministic and needs no zeroing). Per K tile of ``block_k``
   columns: the x tile and the fn3 tile arrive by cp.async through a ``num_stages`` software
   pipeline; the sum of squares is read straight from the shared x tile (each thread one row, or
   1/parts of a row, 16-byte conflict-free reads, 8 fp32 lanes per tile, then a blocked running
   sum: a few registers, not a [block_m, block_k] fragment); ONE tensor-core GEMM x_tile @
   fn3_tile.T (one m64nNk16 wgmma per 64 rows and k16, N = fn3_rows) accumulates all three pieces
   into one [block_m, fn3_rows] fp32 accumulator. The epilogue goes through shared memory (aliasing
   the pipeline buffers) and combines columns j, M + j, 2M + j. T and S are dynamic: one compile per
   (n, H, M, block_m, tunables).

Precision (declared by the backend as ``bf16x3``): x is bf16, exact in bf16; each fp32 fn is split
into three bf16 pieces hi + mid + lo (RNE each, every remainder exact; an infinite fn is all in hi),
so the three bf16 tensor-core products per term reproduce the fp32 product of x and fn. Each piece
has its own fp32 accumulator column, the columns are added at the end (hi + mid) + lo (hi alone
where it is not finite: see ``exact_sum``). The accumulation order of x @ fn3.T is that of the tensor
core over k16 steps in ascending K, whatever block_m, block_k, num_stages or threads: the mixes should
be bitwise the same across those tunables (and as the earlier kernel's three GEMMs, if the tensor
core's per-element k16 sum does not depend on the instruction's N; scripts/debug/gemm_variants.py
checks both on a GPU). The sum of squares: fp32, per row 8 lanes over a tile's columns (squares
of bf16 are exact, so fma or not is the same), lanes summed as a tree, tile sums added in runs of
``sq_flush`` tiles, the runs added in order (bitwise the same for the same block_k, threads /
block_m and sq_flush; the longest fp32 chain is a few dozen adds, not K / 8).

The backend may cut a split's K range over several CTAs (sub-partials, "chunks"); for the
prenorm_gemm op ``chunk_sum`` adds them back in chunk order (one more launch, PDL-chained), or, with
``cluster_chunks`` (a probe), the split's CTAs form a thread-block cluster whose first CTA adds them.

``block_m`` 64 is the variant for few tokens (more CTAs), 128 the one for >= 1024 tokens (fewer
reads of fn3 from L2 per token). K / S must be a multiple of ``block_k``.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, ceil_to, changed, compile_cached

BLOCK_K = 64  # default K tile; also the backend's split multiple
NUM_STAGES = 4
THREADS = 128
SQ_FLUSH = 16  # K tiles per run of the blocked sum of squares
SMALL_T_BLOCK_M = 64
LARGE_T_BLOCK_M = 128
LARGE_T_FROM = 1024
SPLIT_COLS = 256  # columns of fn per CTA of split_fn (K = 4 H is a multiple of 256)
SPLIT_THREADS = 128
VEC = 8  # bf16 per 16-byte shared-memory read in the sum of squares

# The tunables of build_prenorm_gemm and their defaults (a GPU script sweeps them by keyword).
DEFAULT_TUNABLES = {"block_k": BLOCK_K, "num_stages": NUM_STAGES, "threads": THREADS, "sq_flush": SQ_FLUSH}


def block_m_for(tokens: int) -> int:
    return LARGE_T_BLOCK_M if tokens >= LARGE_T_FROM else SMALL_T_BLOCK_M


def fn3_rows(mixes: int) -> int:
    """Rows of fn3: hi, mid, lo (M each), zero rows up to a multiple of 16. One wgmma instruction
    covers them (TileLang 0.1.15 issues N % 16 == 8 as n8 slices, each re-reading the x tile from
    shared memory: 9 x n8 for 72 columns against 1 x n80)."""
    return ceil_to(3 * mixes, 16)


def bf16x3_piece(T, f, piece: int):
    """The hi (0), mid (1) or lo (2) bf16 piece of the fp32 value ``f`` (TileLang expressions): hi = RNE(f), mid =
    RNE(f - hi), lo = RNE(f - hi - mid), every remainder exact. An infinite f is all in hi (inf - inf would make
    the other pieces NaN). split_fn's formulas, and the in-kernel split's (build_prenorm_gemm's split_in_kernel)."""
    hi = T.Cast("bfloat16", f)
    if piece == 0:
        return hi
    rest = T.if_then_else(T.Cast("float32", hi) == f, T.float32(0), f - T.Cast("float32", hi))
    mid = T.Cast("bfloat16", rest)
    return mid if piece == 1 else T.Cast("bfloat16", rest - T.Cast("float32", mid))


def build_split_fn(mixes: int, k_total: int, use_pdl: bool, split_cols: int = SPLIT_COLS):
    """fn [M, K] fp32 -> fn3 [fn3_rows(M), K] bf16: rows [0, M) hi, [M, 2M) mid, [2M, 3M) lo, rest 0.
    ``split_cols`` columns per CTA (elementwise: the result does not depend on it)."""
    import tilelang.language as T

    rows = fn3_rows(mixes)
    assert k_total % split_cols == 0, (k_total, split_cols)

    @T.prim_func
    def mhc_split_fn(fn: T.Tensor((mixes, k_total), "float32"),
                     fn3: T.Tensor((rows, k_total), "bfloat16")):
        with T.Kernel(k_total // split_cols, threads=SPLIT_THREADS) as bk:
            if use_pdl:
                T.pdl_sync()  # fn may be the previous kernel's output, fn3 memory its input
            for j, k in T.Parallel(mixes, split_cols):
                col = bk * split_cols + k
                f = fn[j, col]
                fn3[j, col] = bf16x3_piece(T, f, 0)
                fn3[mixes + j, col] = bf16x3_piece(T, f, 1)
                fn3[2 * mixes + j, col] = bf16x3_piece(T, f, 2)
            if rows > 3 * mixes:
                for j, k in T.Parallel(rows - 3 * mixes, split_cols):
                    fn3[3 * mixes + j, bk * split_cols + k] = T.bfloat16(0)
            if use_pdl:
                T.pdl_trigger()

    return mhc_split_fn


def build_prenorm_gemm(n: int, hidden: int, mixes: int, block_m: int, use_pdl: bool, planted: str | None = None,
                       *, block_k: int = BLOCK_K, num_stages: int = NUM_STAGES, threads: int = THREADS,
                       sq_flush: int = SQ_FLUSH, early_trigger: bool = False, cluster_chunks: int = 1,
                       fn_tiles: int = 0, split_in_kernel: bool = False, cluster_dsmem: bool = False,
                       squares_under_wgmma: bool = False, live_rows: int = 0, counter_chunks: int = 1,
                       counter_fence: str = "none"):
    """x [T, K] bf16, fn3 [fn3_rows(M), K] bf16 (build_split_fn's output) -> partials [S, T, M], [S, T].

    ``planted`` builds a deliberately broken variant (mhc_kernels.tilelang.planted); None is healthy.
    Tunables (keywords): block_k (K tile, multiple of 64), num_stages (cp.async pipeline depth),
    threads (128 or 256; a multiple of block_m), sq_flush (K tiles per run of the sum of squares).

    ``early_trigger`` (TileLangDecode.pdl_early_max_tokens): PDL's launch_dependents right after this kernel's
    own wait instead of at its end, so the next kernel's CTAs launch (and run what precedes their
    own wait) while this one computes. Safe for any consumer: griddepcontrol.wait still waits for
    this whole grid to complete and its writes to be visible, wherever the trigger is; what the
    consumer may read before its wait is only what this kernel's predecessors wrote, final by then
    (every CTA triggers after its own wait). The same instructions otherwise: the same bits.

    ``cluster_chunks`` c > 1 (TileLangDecode.op_chunks_in_cluster): each split's K range is cut over c
    CTAs, one thread-block cluster (1, c, 1), and the kernel returns the split's sum itself instead of
    c sub-partials for chunk_sum. The kernel then takes two more tensors before the outputs,
    ``mixes_rest`` [S, c - 1, T, M] and ``sqrsum_rest`` [S, c - 1, T] (uninitialised scratch): chunks 1 ..
    c - 1 write their sub-partials there, the cluster barrier (barrier.cluster.arrive, release, and
    .wait, acquire, at cluster scope: it orders these global writes before the reads behind it), then
    chunk 0 adds them to its own in chunk order, ((p0 + p1) + p2) + ..., chunk_sum's order on the same
    sub-partials: bitwise the outputs of the GEMM + chunk_sum pair, one launch fewer. The cluster's
    CTAs are co-scheduled, so the barrier cannot wait on a CTA that has not started; nothing outlives
    the call (no counters, no state shared between calls or streams).

    ``cluster_dsmem`` (with cluster_chunks c > 1; TileLangDecode.op_chunks_dsmem, a probe): the same sums through
    distributed shared memory instead of the global scratch, and no scratch tensors in the signature. Every CTA
    of the cluster turns its accumulator into its sub-partials (exact_sum, as the scratch path writes them) in
    its own shared memory; a first cluster barrier (every CTA past its pipeline: the leader's receive buffers
    may alias its pipeline buffers in TileLang's shared-memory plan); chunks 1 .. c - 1 store theirs into
    chunk 0's receive buffers (T.copy_cluster, st.shared::cluster); a second barrier (release, acquire);
    chunk 0 adds them in chunk order to its own and writes the split's partials. Why: the scratch path's
    chunk 0 waits for L2 writes, then reads them back, two L2 round trips behind the barrier; these are
    SM-to-SM stores. The same values in the same order: bitwise the GEMM + chunk_sum pair's outputs.

    ``fn_tiles`` f > 0 (TileLangDecode.wgmma_fn_before_wait, the decode path's tensor-core GEMM): every CTA
    owns exactly f K tiles (the caller's check: K / S = f * block_k), and their fn3 tiles are staged in
    shared memory before the PDL wait, the x tiles through the pipeline after it. Why: at 17-32 tokens the
    decode path runs this kernel with 2 tiles per CTA, whose fn3 (2 x 20 KB) outweighs the x it multiplies
    (2 x 16 KB), and in a decode chain the kernel is launched early (decode_pre triggers early), so fn3's
    loads can sit in the previous kernel's tail, as decode_gemm's fn_before_wait does for the FMA GEMM.
    What it assumes: fn3 is not being written while the kernel before it in the stream runs, i.e. no
    split_fn launched for it in this call (TileLangBackend._launch_gemm keeps the wait where it did split).
    The same wgmma instructions on the same tiles in the same order, the same sums of squares: the same
    bits.

    ``split_in_kernel`` (TileLangBackend.tma_split_in_kernel, a probe, rejected: 3-6 x slower on the H100,
    results/gpu/2026-12-06-h100-engines-17): the kernel takes fn itself, [M, K]
    fp32, instead of fn3, and splits each fp32 fn tile into its hi / mid / lo rows of the shared fn3 tile
    (split_fn's formulas, elementwise: the same bf16 pieces, so the same wgmma operands and the same bits).
    Why: a K tile of fn is 12 KB in fp32 against fn3's 20 KB (M = 24: 80 rows of bf16), so a CTA streams
    28 KB per 128-column tile instead of 36 (x's 16 KB beside it); where a CTA's loads are its time (the
    decode GEMM's 2 tiles at 17-32 tokens, the op's 8 at 256 x 4096) that is the gap to DeepGEMM, which
    reads fn in fp32 (TF32, inexact). The fp32 tile arrives through the pipeline; the split writes one
    fn3 tile buffer the wgmma reads (its zero rows cleared once), between two barriers of the consumer threads
    each tile: serial with the wgmma, hence the loss. On the TMA kernel only (_build.pass_configs(tma=True)):
    on cp.async TileLang 0.1.15 pipelines it behind a wait for every copy in flight.

    ``live_rows`` 3M (TileLangBackend.tma_fn3_live_rows; the TMA kernel only): the kernel takes fn3's 3M live rows
    alone, [3M, K] (the caller passes fn3[:3M]), and each fn3 tile's TMA box still spans the wgmma's fn3_rows(M)
    rows: the rows past the tensor's end arrive as zeros (TMA's out-of-bounds fill, as x's rows past T do in a tail
    block) without being read, 72 of 80 rows of L2 traffic for M = 24 (a CTA of the op's plain window at 256 x 4096
    streams 272 KB instead of 288). The same zeros in the same shared memory: the same bits.

    ``counter_chunks`` c > 1 (TileLangDecode.op_chunks_on_counter, a probe): each split's K range is cut over c
    CTAs, as for chunk_sum, and the last of them to finish adds the split's c sub-partials itself: no chunk_sum
    launch, no cluster. The kernel then takes, before the outputs, ``mixes_parts`` [S, c, T, M] and
    ``sqrsum_parts`` [S, c, T] (uninitialised scratch: every chunk writes its sub-partials there) and
    ``counters`` (int32, at least S * ceil(T / block_m) of them, ALL ZERO on entry). Each CTA writes its
    sub-partials, a barrier, then one thread counts the CTA in on its (split, token block) counter
    (atom.add.acq_rel.gpu: its release covers every thread's writes ordered before it by the barrier, PTX's
    causality order being transitive over bar.sync; the same atomic's acquire, then a barrier, covers the reads
    behind it), and a barrier; the CTA that counted c - 1 before it is the last: it
    reads the c sub-partials back past L1 (ld.global.cg) and adds them in chunk order, ((p0 + p1) + p2) + ...,
    chunk_sum's order on the same sub-partials (bitwise the GEMM + chunk_sum pair's outputs), and sets the
    counter back to zero for the next call. No CTA ever waits for another (the clusters' barrier waited for the
    slowest chunk: -9, -20). What it assumes: no other launch uses the same counters while this one runs (the
    backend keeps one set per device and stream; stream order and PDL's full-grid wait keep two launches on one
    stream apart). ``counter_fence`` adds __threadfence (fence.sc.gpu) to that: "none" (the atomic alone),
    "first_thread" (the counting thread fences before and after its atomic, cooperative groups' grid-barrier
    pattern) or "every_thread" (every thread fences its own writes before the barrier, and again in the last CTA
    before its reads: the first build, 1.4-1.8 x the default's time on an H100, results/gpu/2026-12-06-h100-
    engines-22 call 1).

    ``squares_under_wgmma`` (TileLangBackend.tma_squares_under_wgmma; the TMA kernel only, whose warp-specialised
    pipeline this relies on): each K tile's wgmma batch is issued before the tile's sum of squares and waited for
    after it (T.wgmma_gemm, T.wait_wgmma), so the CUDA cores square the x tile while the tensor cores multiply it.
    Without it, the squares, then the batch, then its wait: in the generated CUDA (sm_90a) the consumer's loop is
    serial, and with 64-column tiles (twelve stages) the op at 256 x 4096 took 8.2 us against four 128-column
    stages' 6.5 (-19), which pointed at the per-tile work; measured on an H100
    (results/gpu/2026-12-06-h100-engines-21) it moved the TMA GEMMs by 0-4 % (0.93-1.01 x): not what the op waits
    for there. TileLang frees a stage after the last access it sees in the loop body and does not know the wgmma is
    still reading: a never-taken branch after the wait reads both tiles (a sum of exact squares is never below -1),
    so the stage is freed only there. The same
    instructions on the same tiles in the same order: the same bits."""
    import tilelang.language as T

    k_total = n * hidden
    n3 = fn3_rows(mixes)
    assert block_k % 64 == 0 and k_total % block_k == 0, (block_k, k_total)
    # one warpgroup (128 threads) per 64 rows at most: the wgmma then spans all fn3 rows (n80/n16)
    assert threads % 128 == 0 and threads % block_m == 0 and threads // 128 <= block_m // 64, (threads, block_m)
    k_tiles = k_total // block_k
    parts = threads // block_m  # threads per row in the sum of squares
    part_cols = block_k // parts
    assert part_cols % VEC == 0, (block_k, parts)
    # Planted races (mhc_kernels.tilelang.planted) split each split's K range over two CTAs that
    # both add into the same output; the healthy kernel has one CTA per (token block, split).
    halves = 2 if planted in ("splitk_no_atomic", "workspace_not_zeroed") else 1
    assert cluster_chunks == 1 or (planted is None and 2 <= cluster_chunks <= 8), (planted, cluster_chunks)
    assert fn_tiles == 0 or (planted is None and cluster_chunks == 1 and fn_tiles > 0), (fn_tiles, planted)
    assert not split_in_kernel or (planted is None and not fn_tiles and cluster_chunks == 1), (fn_tiles, planted)
    assert not cluster_dsmem or cluster_chunks > 1, cluster_chunks
    assert not squares_under_wgmma or (not split_in_kernel and cluster_chunks == 1 and planted is None), (
        split_in_kernel, cluster_chunks, planted)
    assert not live_rows or (live_rows == 3 * mixes and not fn_tiles and not split_in_kernel and planted is None), (
        live_rows, mixes, fn_tiles, split_in_kernel, planted)
    assert counter_chunks == 1 or (2 <= counter_chunks <= 8 and planted is None and cluster_chunks == 1
                                   and not fn_tiles and not split_in_kernel), (counter_chunks, planted, cluster_chunks)
    assert counter_fence in ("none", "first_thread", "every_thread"), counter_fence
    scratch = cluster_chunks > 1 and not cluster_dsmem  # chunks 1 .. c - 1 write global scratch
    sum_per_thread = -(-block_m * mixes // threads)  # counter_chunks: the last chunk's sums per thread
    per_split = halves * cluster_chunks * counter_chunks  # CTAs per split: the planted halves, the chunks, or one
    # fn3's tiles in shared memory: one pipeline buffer, or (fn_tiles) all of the CTA's, staged before the wait
    fn3_tiles_shape = (fn_tiles, n3, block_k) if fn_tiles else (n3, block_k)
    fn_loads = n3 * block_k // VEC // threads  # 16-byte loads of a fn3 tile per thread (fn_tiles)
    assert not fn_tiles or fn_loads * VEC * threads == n3 * block_k, (n3, block_k, threads)
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

    def fn_piece_row(r, tx):  # thread tx's r-th 16-byte piece of a fn3 tile (fn_tiles): its row ...
        return (r * threads + tx) // (block_k // VEC)

    def fn_piece_col(r, tx):  # ... and its first column in the tile
        return ((r * threads + tx) % (block_k // VEC)) * VEC

    def tile_fn3(b_sh, tile, first):  # the K tile's fn3 operand: staged before the loop (fn_tiles), or the stage's
        return b_sh[tile - first, :, :] if fn_tiles else b_sh

    @T.macro
    def load_parts(regs, first, part):  # counter_chunks: an output's c sub-partials into regs[first:first + c]
        for c in T.unroll(counter_chunks):
            regs[first + c] = part(c)

    def past_l1(load):  # a sub-partial read by ld.global.cg: other SMs wrote it, this SM's L1 may not hold it
        return T.call_extern("float32", "__ldcg", T.address_of(load))

    def chunk_order_sum(regs, first):
        # ... and their sum in chunk_sum's order, ((p0 + p1) + p2) + ...
        value = regs[first]
        for c in range(1, counter_chunks):
            value = value + regs[first + c]
        return value

    def chunk_chain(first, later, split, *index):
        # chunk 0's sub-partial, then chunks 1 .. c - 1's, added in chunk order (chunk_sum's): ``later`` holds them,
        # at [split..., c - 1, index...] (the global scratch: split (bs,); chunk 0's receive buffers: split ())
        value = first
        for c in range(cluster_chunks - 1):
            value = value + later[split + (c,) + index]
        return value

    # the GEMM's fn operand: rows, dtype
    fn_in = (mixes, "float32") if split_in_kernel else (live_rows or n3, "bfloat16")

    @T.macro
    def split_tile(f_sh, b_sh):  # fn's fp32 tile -> its hi / mid / lo rows of the fn3 tile
        for j, k in T.Parallel(mixes, block_k):
            b_sh[j, k] = bf16x3_piece(T, f_sh[j, k], 0)
            b_sh[mixes + j, k] = bf16x3_piece(T, f_sh[j, k], 1)
            b_sh[2 * mixes + j, k] = bf16x3_piece(T, f_sh[j, k], 2)

    @T.macro
    def gemm_body(x, fn3, mixes_partial, sqrsum_partial, mixes_rest, sqrsum_rest, counters):
        with T.Kernel(T.ceildiv(tokens, block_m), splits * per_split, threads=threads,
                      cluster_dims=(1, cluster_chunks, 1) if cluster_chunks > 1 else None) as (bm, by):
            x_sh = T.alloc_shared((block_m, block_k), "bfloat16")
            b_sh = T.alloc_shared(fn3_tiles_shape, "bfloat16")
            if split_in_kernel:
                f_sh = T.alloc_shared((mixes, block_k), "float32")
            acc = T.alloc_fragment((block_m, n3), "float32")
            c_sh = T.alloc_shared((block_m, n3), "float32")  # the epilogue reads 3 columns per output
            if cluster_dsmem:
                own_sh = T.alloc_shared((block_m, mixes), "float32")  # this chunk's sub-partials
                own_sq = T.alloc_shared((block_m,), "float32")
                recv_sh = T.alloc_shared((cluster_chunks - 1, block_m, mixes), "float32")  # chunk 0's: the others'
                recv_sq = T.alloc_shared((cluster_chunks - 1, block_m), "float32")
            lanes = T.alloc_local((VEC,), "float32")
            run = T.alloc_var("float32")
            total = T.alloc_var("float32")
            tx = T.get_thread_binding()
            row_l = tx % block_m
            col0 = (tx // block_m) * part_cols
            T.clear(acc)
            run = T.float32(0)
            total = T.float32(0)
            tiles_per_split = k_tiles // splits
            bs = by // per_split
            tiles_per_cta = tiles_per_split // per_split
            first = bs * tiles_per_split + (by % per_split) * tiles_per_cta
            if fn_tiles:
                # every load first, then every store: T.copy here interleaved them, and nvcc, which cannot
                # tell fn3's generic pointer from shared memory, kept each load behind the store before it
                # (40 round trips to L2 a thread; on the H100 mhc_pre at 32 tokens took 12.7 us, not 8.9)
                fn_regs = T.alloc_local((fn_tiles * fn_loads * VEC,), "bfloat16")
                for i in T.unroll(fn_tiles):
                    for r in T.unroll(fn_loads):
                        for e in T.vectorized(VEC):
                            fn_regs[(i * fn_loads + r) * VEC + e] = fn3[
                                fn_piece_row(r, tx), (first + i) * block_k + fn_piece_col(r, tx) + e]
                for i in T.unroll(fn_tiles):
                    for r in T.unroll(fn_loads):
                        for e in T.vectorized(VEC):
                            b_sh[i, fn_piece_row(r, tx), fn_piece_col(r, tx) + e] = fn_regs[(i * fn_loads + r) * VEC + e]
            if split_in_kernel and n3 > 3 * mixes:
                for j, k in T.Parallel(n3 - 3 * mixes, block_k):
                    b_sh[3 * mixes + j, k] = T.bfloat16(0)
            if use_pdl:
                T.pdl_sync()  # x may be the previous kernel's output, fn3 is split_fn's
                if early_trigger:
                    T.pdl_trigger()
            # (not `tiles_per_cta or fn_tiles`: the kernel builder turns `or` into a TIR boolean, here 1)
            cta_tiles = tiles_per_cta
            if fn_tiles:
                cta_tiles = fn_tiles
            for tile in T.Pipelined(first, first + cta_tiles, num_stages=num_stages):
                T.copy(x[bm * block_m, tile * block_k], x_sh)
                if split_in_kernel:
                    T.copy(fn3[0, tile * block_k], f_sh)
                elif not fn_tiles:
                    T.copy(fn3[0, tile * block_k], b_sh)
                if split_in_kernel:  # the TMA kernel only: its consumer waits on fn's tile alone
                    split_tile(f_sh, b_sh)
                if squares_under_wgmma:
                    T.wgmma_gemm(x_sh, tile_fn3(b_sh, tile, first), acc, transpose_B=True,
                                 policy=T.GemmWarpPolicy.FullRow)
                # the sum of squares first: a shared-memory reader placed after the GEMM makes
                # TileLang 0.1.15 wait for every copy in flight (cp.async.wait_group 0) each tile
                for e in T.vectorized(VEC):
                    lanes[e] = T.float32(0)
                for v in T.unroll(part_cols // VEC):
                    for e in T.vectorized(VEC):
                        xv = T.Cast("float32", x_sh[row_l, col0 + v * VEC + e])
                        lanes[e] += xv * xv  # exact product (bf16 squared): fma or not, same result
                run += ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
                if (tile - first) % sq_flush == sq_flush - 1:
                    total += run
                    run = T.float32(0)
                if squares_under_wgmma:
                    T.wait_wgmma(0)
                    if run < T.float32(-1):  # never taken (docstring): the stage's last access after the wait
                        if fn_tiles:  # fn3's tiles were staged before the loop: the stage holds x alone
                            mixes_partial[0, 0, 0] = T.Cast("float32", x_sh[0, 0])
                        else:
                            mixes_partial[0, 0, 0] = T.Cast("float32", x_sh[0, 0]) + T.Cast("float32", b_sh[0, 0])
                else:
                    T.gemm(x_sh, tile_fn3(b_sh, tile, first), acc, transpose_B=True, policy=T.GemmWarpPolicy.FullRow)
            total += run
            T.copy(acc, c_sh)
            for i, j in T.Parallel(block_m, mixes):
                row = bm * block_m + i
                if written(row):
                    value = exact_sum(c_sh[i, j], c_sh[i, mixes + j], c_sh[i, 2 * mixes + j])
                    if per_split == 1:
                        mixes_partial[bs, row, j] = value
                    elif counter_chunks > 1:
                        mixes_rest[bs, by % per_split, row, j] = value
                    elif cluster_dsmem:
                        own_sh[i, j] = value
                    elif cluster_chunks > 1:  # chunk 0 keeps its own in c_sh
                        if by % per_split > 0:
                            mixes_rest[bs, by % per_split - 1, row, j] = value
                    elif planted == "splitk_no_atomic":  # read-modify-write racing the other half
                        mixes_partial[bs, row, j] = mixes_partial[bs, row, j] + value
                    else:  # atomic, but into an output the host did not zero
                        T.atomic_add(mixes_partial[bs, row, j], value)
            if parts > 1:  # the row's parts, added in part order by the row's first thread
                sq_sh = T.alloc_shared((parts, block_m), "float32")
                sq_sh[tx // block_m, row_l] = total
                T.sync_threads()
                if tx < block_m:
                    for p in T.serial(parts - 1):
                        total += sq_sh[p + 1, row_l]
            row = bm * block_m + row_l
            if cluster_dsmem:
                if tx < block_m:
                    own_sq[row_l] = total
            elif tx < block_m and written(row):
                if per_split == 1:
                    sqrsum_partial[bs, row] = total
                elif counter_chunks > 1:
                    sqrsum_rest[bs, by % per_split, row] = total
                elif cluster_chunks > 1:
                    if by % per_split > 0:
                        sqrsum_rest[bs, by % per_split - 1, row] = total
                elif planted == "splitk_no_atomic":
                    sqrsum_partial[bs, row] = sqrsum_partial[bs, row] + total
                else:
                    T.atomic_add(sqrsum_partial[bs, row], total)
            if counter_chunks > 1:
                arrived = T.alloc_shared((1,), "int32")
                slot = bs * T.ceildiv(tokens, block_m) + bm
                if counter_fence == "every_thread":
                    T.call_extern("handle", "__threadfence")  # this thread's sub-partials, visible before the count
                T.sync_threads()  # every thread's sub-partials before the count
                if tx == 0:
                    if counter_fence == "first_thread":
                        T.call_extern("handle", "__threadfence")
                    arrived[0] = T.atomic_add(counters[slot], 1, memory_order="acq_rel", return_prev=True)
                    if counter_fence == "first_thread":
                        T.call_extern("handle", "__threadfence")
                T.sync_threads()  # the count (and what it acquired) before every thread's reads
                if arrived[0] == counter_chunks - 1:  # the split's last chunk: every other one's writes are visible
                    if counter_fence == "every_thread":
                        T.call_extern("handle", "__threadfence")
                    # every load first, then every store: loads behind the stores (nvcc cannot tell the scratch from
                    # the outputs) were one dependent L2 round trip each, serial on the kernel's last CTA
                    parts_regs = T.alloc_local(((sum_per_thread + 1) * counter_chunks,), "float32")
                    for r in T.unroll(sum_per_thread):
                        e = r * threads + tx
                        sum_row = bm * block_m + e // mixes
                        if e < block_m * mixes and sum_row < tokens:
                            load_parts(parts_regs, r * counter_chunks,
                                       lambda c: past_l1(mixes_rest[bs, c, sum_row, e % mixes]))
                    sq_row = bm * block_m + row_l
                    if tx < block_m and sq_row < tokens:
                        load_parts(parts_regs, sum_per_thread * counter_chunks,
                                   lambda c: past_l1(sqrsum_rest[bs, c, sq_row]))
                    for r in T.unroll(sum_per_thread):
                        e = r * threads + tx
                        sum_row = bm * block_m + e // mixes
                        if e < block_m * mixes and sum_row < tokens:
                            mixes_partial[bs, sum_row, e % mixes] = chunk_order_sum(parts_regs, r * counter_chunks)
                    if tx < block_m and sq_row < tokens:
                        sqrsum_partial[bs, sq_row] = chunk_order_sum(parts_regs, sum_per_thread * counter_chunks)
                    if tx == 0:
                        counters[slot] = 0  # zero again for the next launch (stream-ordered after this one)
            if cluster_dsmem:
                T.cluster_sync()  # every chunk past its pipeline: chunk 0's receive buffers are free
                for r in range(1, cluster_chunks):
                    if by % per_split == r:
                        T.copy_cluster(own_sh, recv_sh[r - 1, :, :], dst_block=0)
                        T.copy_cluster(own_sq, recv_sq[r - 1, :], dst_block=0)
                T.cluster_sync()  # release / acquire: the stores into chunk 0 done
                if by % per_split == 0:
                    for i, j in T.Parallel(block_m, mixes):
                        sum_row = bm * block_m + i
                        if sum_row < tokens:
                            mixes_partial[bs, sum_row, j] = chunk_chain(own_sh[i, j], recv_sh, (), i, j)
                    sq_row = bm * block_m + row_l
                    if tx < block_m and sq_row < tokens:
                        sqrsum_partial[bs, sq_row] = chunk_chain(own_sq[row_l], recv_sq, (), row_l)
            elif cluster_chunks > 1:
                T.cluster_sync()  # every thread of the cluster (.aligned): chunks 1 .. c - 1 written
                if by % per_split == 0:
                    for i, j in T.Parallel(block_m, mixes):
                        sum_row = bm * block_m + i
                        if sum_row < tokens:
                            mixes_partial[bs, sum_row, j] = chunk_chain(
                                exact_sum(c_sh[i, j], c_sh[i, mixes + j], c_sh[i, 2 * mixes + j]), mixes_rest,
                                (bs,), sum_row, j)
                    sq_row = bm * block_m + row_l
                    if tx < block_m and sq_row < tokens:
                        sqrsum_partial[bs, sq_row] = chunk_chain(total, sqrsum_rest, (bs,), sq_row)
            if use_pdl and not early_trigger:
                T.pdl_trigger()

    if counter_chunks > 1:
        slots = T.dynamic("slots")

        @T.prim_func
        def mhc_prenorm_gemm(x: T.Tensor((tokens, k_total), "bfloat16"),
                             fn3: T.Tensor((fn_in[0], k_total), fn_in[1]),
                             mixes_parts: T.Tensor((splits, counter_chunks, tokens, mixes), "float32"),
                             sqrsum_parts: T.Tensor((splits, counter_chunks, tokens), "float32"),
                             counters: T.Tensor((slots,), "int32"),
                             mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                             sqrsum_partial: T.Tensor((splits, tokens), "float32")):
            gemm_body(x, fn3, mixes_partial, sqrsum_partial, mixes_parts, sqrsum_parts, counters)
    elif not scratch:
        @T.prim_func
        def mhc_prenorm_gemm(x: T.Tensor((tokens, k_total), "bfloat16"),
                             fn3: T.Tensor((fn_in[0], k_total), fn_in[1]),
                             mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                             sqrsum_partial: T.Tensor((splits, tokens), "float32")):
            gemm_body(x, fn3, mixes_partial, sqrsum_partial, None, None, None)
    else:
        rest = cluster_chunks - 1

        @T.prim_func
        def mhc_prenorm_gemm(x: T.Tensor((tokens, k_total), "bfloat16"),
                             fn3: T.Tensor((n3, k_total), "bfloat16"),
                             mixes_rest: T.Tensor((splits, rest, tokens, mixes), "float32"),
                             sqrsum_rest: T.Tensor((splits, rest, tokens), "float32"),
                             mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                             sqrsum_partial: T.Tensor((splits, tokens), "float32")):
            gemm_body(x, fn3, mixes_partial, sqrsum_partial, mixes_rest, sqrsum_rest, None)

    return mhc_prenorm_gemm


CHUNK_SUM_TOKENS = 16  # tokens per CTA of chunk_sum
CHUNK_SUM_THREADS = 128


def build_chunk_sum(mixes: int, chunks: int, use_pdl: bool, loads_first: bool = False, early_trigger: bool = False):
    """Sub-partials [S, chunks, T, M] and [S, chunks, T] -> partials [S, T, M] and [S, T]: each element
    the fp32 sum of its ``chunks`` sub-partials in ascending chunk order (((p0 + p1) + p2) + ...), so
    the result is bitwise deterministic. One launch for both outputs (two torch sums are two launches
    and, without PDL, two launch gaps); PDL-chained behind the GEMM where supported.

    Grid (ceil(T / CHUNK_SUM_TOKENS), S): a CTA's outputs are CHUNK_SUM_TOKENS * M contiguous mixes
    and CHUNK_SUM_TOKENS sums of squares, a few per thread, all loads of a thread independent
    (unrolled), consecutive threads on consecutive floats. The first version (128 tokens per CTA, one
    thread per token looping over the M mixes) had 128 CTAs at T = 4096 and took 16-24 us, latency bound.

    ``loads_first`` (TileLangBackend.reduce_chunks_with "kernel_loads_first", the default's): each thread loads all its
    sub-partials, then adds and stores. Without it each output's loads follow the previous output's store, and nvcc,
    which cannot tell the sub-partials from the partials, keeps them there (sm_90a PTX: four ld, ld, st chains at
    two chunks, one dependent L2 round trip each behind the GEMM). The same adds in the same order: the same bits.

    ``early_trigger`` (TileLangDecode.op_multicast_early_sum, a probe): PDL's launch_dependents right after this
    kernel's own wait instead of at its end (build_prenorm_gemm's early_trigger, the same argument: the next kernel
    still waits for this whole grid), so that a next kernel reading weights before its wait (gemm_multicast's
    fn3_first) does so while the sums run."""
    import tilelang.language as T

    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits")
    per_cta = CHUNK_SUM_TOKENS
    threads = CHUNK_SUM_THREADS
    per_thread = -(-per_cta * mixes // threads)
    assert per_cta <= threads, (per_cta, threads)

    def element(r, tx, bt):  # a thread's r-th of the CTA's per_cta * mixes contiguous floats: (e, its token row)
        e = r * threads + tx
        return e, bt * per_cta + e // mixes

    @T.prim_func
    def mhc_chunk_sum(mixes_parts: T.Tensor((splits, chunks, tokens, mixes), "float32"),
                      sqrsum_parts: T.Tensor((splits, chunks, tokens), "float32"),
                      mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
                      sqrsum_partial: T.Tensor((splits, tokens), "float32")):
        with T.Kernel(T.ceildiv(tokens, per_cta), splits, threads=threads) as (bt, s):
            tx = T.get_thread_binding()
            acc = T.alloc_local((per_thread,), "float32")
            if use_pdl:
                T.pdl_sync()  # the sub-partials are the GEMM's output
                if early_trigger:
                    T.pdl_trigger()
            sq_row = bt * per_cta + tx
            if loads_first:
                parts = T.alloc_local(((per_thread + 1) * chunks,), "float32")
                for r in T.unroll(per_thread):
                    e, row = element(r, tx, bt)
                    if e < per_cta * mixes and row < tokens:
                        for c in T.unroll(chunks):
                            parts[r * chunks + c] = mixes_parts[s, c, row, e % mixes]
                if tx < per_cta and sq_row < tokens:
                    for c in T.unroll(chunks):
                        parts[per_thread * chunks + c] = sqrsum_parts[s, c, sq_row]
                for r in T.unroll(per_thread):
                    e, row = element(r, tx, bt)
                    if e < per_cta * mixes and row < tokens:
                        acc[r] = parts[r * chunks]
                        for c in T.unroll(chunks - 1):
                            acc[r] += parts[r * chunks + c + 1]
                        mixes_partial[s, row, e % mixes] = acc[r]
                if tx < per_cta and sq_row < tokens:
                    acc[0] = parts[per_thread * chunks]
                    for c in T.unroll(chunks - 1):
                        acc[0] += parts[per_thread * chunks + c + 1]
                    sqrsum_partial[s, sq_row] = acc[0]
            else:
                for r in T.unroll(per_thread):
                    e, row = element(r, tx, bt)
                    if e < per_cta * mixes and row < tokens:
                        acc[r] = mixes_parts[s, 0, row, e % mixes]
                        for c in T.unroll(chunks - 1):
                            acc[r] += mixes_parts[s, c + 1, row, e % mixes]
                        mixes_partial[s, row, e % mixes] = acc[r]
                if tx < per_cta and sq_row < tokens:
                    acc[0] = sqrsum_parts[s, 0, sq_row]
                    for c in T.unroll(chunks - 1):
                        acc[0] += sqrsum_parts[s, c + 1, sq_row]
                    sqrsum_partial[s, sq_row] = acc[0]
            if use_pdl and not early_trigger:
                T.pdl_trigger()

    return mhc_chunk_sum


def chunk_sum_kernel(mixes: int, chunks: int, target: Target, loads_first: bool = False, early_trigger: bool = False):
    key = (mixes, chunks) + (("loads_first",) if loads_first else ()) + (("early_trigger",) if early_trigger else ())
    return compile_cached("chunk_sum", key, lambda: build_chunk_sum(mixes, chunks, target.pdl, loads_first,
                                                                    early_trigger), target)


def split_fn_kernel(mixes: int, k_total: int, target: Target):
    return compile_cached("split_fn", (mixes, k_total), lambda: build_split_fn(mixes, k_total, target.pdl), target)


def prenorm_gemm_kernel(n: int, hidden: int, mixes: int, block_m: int, target: Target, planted: str | None = None,
                        early_trigger: bool = False, cluster_chunks: int = 1, tma: bool = False, fn_tiles: int = 0,
                        split_in_kernel: bool = False, cluster_dsmem: bool = False,
                        squares_under_wgmma: bool = False, live_rows: int = 0, counter_chunks: int = 1,
                        counter_fence: str = "none", **tunables):
    """``early_trigger``, ``cluster_chunks``, ``fn_tiles``, ``split_in_kernel``, ``cluster_dsmem``,
    ``counter_chunks``, ``counter_fence``: not tunables
    (build_prenorm_gemm); ``tma``: the same kernel compiled with _build.pass_configs(tma=True)
    (TileLangBackend.gemm_tma). Without them, today's cache key."""
    if squares_under_wgmma and not tma:
        raise ValueError("squares_under_wgmma relies on the TMA kernel's warp-specialised pipeline: tma=True")
    if live_rows and not tma:
        raise ValueError("live_rows relies on TMA's out-of-bounds zero fill: tma=True")
    tun = {**DEFAULT_TUNABLES, **tunables}
    key = ((n, hidden, mixes, block_m, planted, tuple(sorted(tun.items())))
           + (("early_trigger",) if early_trigger else ()) + ((("cluster_chunks", cluster_chunks),)
                                                              if cluster_chunks != 1 else ())
           + (("tma",) if tma else ()) + ((("fn_tiles", fn_tiles),) if fn_tiles else ())
           + (("split_in_kernel",) if split_in_kernel else ()) + (("cluster_dsmem",) if cluster_dsmem else ())
           + (("squares_under_wgmma",) if squares_under_wgmma else ())
           + ((("live_rows", live_rows),) if live_rows else ())
           + ((("counter_chunks", counter_chunks),) if counter_chunks != 1 else ())
           + ((("counter_fence", counter_fence),) if counter_fence != "none" else ()))
    variants = changed(fn_tiles=(fn_tiles, 0), split_in_kernel=(split_in_kernel, False),
                       cluster_dsmem=(cluster_dsmem, False), squares_under_wgmma=(squares_under_wgmma, False),
                       live_rows=(live_rows, 0), counter_chunks=(counter_chunks, 1),
                       counter_fence=(counter_fence, "none"))
    return compile_cached("prenorm_gemm", key,
                          lambda: build_prenorm_gemm(n, hidden, mixes, block_m, target.pdl, planted, **tun,
                                                     early_trigger=early_trigger, cluster_chunks=cluster_chunks,
                                                     **variants),
                          target, tma=tma)


def split_fn(fn, target: Target):
    """fn [M, K] fp32 -> fn3 [fn3_rows(M), K] bf16 on fn's device (one launch)."""
    import torch

    m, k_total = fn.shape
    fn3 = torch.empty(fn3_rows(m), k_total, dtype=torch.bfloat16, device=fn.device)
    split_fn_kernel(m, k_total, target)(fn, fn3)
    return fn3


def split_fn_reference(fn):
    """What split_fn computes, in torch (CPU or GPU): the contract the CPU tests check against
    tests/test_bf16x3_split.py's split3 and the GPU script checks the kernel against (bitwise)."""
    import torch

    m, k_total = fn.shape
    hi = fn.to(torch.bfloat16)
    rest = torch.where(hi.float() == fn, torch.zeros_like(fn), fn - hi.float())
    mid = rest.to(torch.bfloat16)
    lo = (rest - mid.float()).to(torch.bfloat16)
    pad = torch.zeros(fn3_rows(m) - 3 * m, k_total, dtype=torch.bfloat16, device=fn.device)
    return torch.cat([hi, mid, lo, pad])


def prenorm_gemm(x, fn, mixes_partial, sqrsum_partial, n: int, hidden: int, block_m: int, target: Target,
                 planted: str | None = None, fn3=None, early_trigger: bool = False, tma: bool = False,
                 fn_tiles: int = 0, split_in_kernel: bool = False, squares_under_wgmma: bool = False,
                 live_rows: int = 0, **tunables) -> None:
    """Both launches: split fn (unless its split ``fn3`` is given), then the GEMM into the given
    partials ([P, T, M] and [P, T]; P splits of K, K / P a multiple of block_k). T must be > 0.
    ``tma``: prenorm_gemm_kernel's (x's and fn3's addresses 16-byte aligned: the caller's check).
    ``fn_tiles``: build_prenorm_gemm's, with fn3 given (a split launched here would be written while the
    GEMM reads it before its wait) and K / P exactly fn_tiles K tiles. ``split_in_kernel``:
    build_prenorm_gemm's, one launch (fn contiguous fp32, 16-byte aligned where tma: the caller's check).
    ``squares_under_wgmma``, ``live_rows``: build_prenorm_gemm's, on the TMA kernel only (fn3 given for live_rows)."""
    if live_rows:
        if not tma or fn3 is None or fn_tiles or split_in_kernel:
            raise ValueError("live_rows runs on the TMA kernel with fn3 given, without fn_tiles or split_in_kernel")
        fn3 = fn3[:live_rows]
        tunables = {**tunables, "live_rows": live_rows}
    if squares_under_wgmma:
        if not tma or split_in_kernel:
            raise ValueError("squares_under_wgmma runs on the TMA kernel, without split_in_kernel")
        tunables = {**tunables, "squares_under_wgmma": True}
    if split_in_kernel:
        if fn3 is not None or fn_tiles:
            raise ValueError("split_in_kernel takes fn itself: no fn3, no fn_tiles")
        prenorm_gemm_kernel(n, hidden, fn.shape[0], block_m, target, planted, split_in_kernel=True,
                            **changed(early_trigger=(early_trigger, False), tma=(tma, False)), **tunables)(
            x, fn, mixes_partial, sqrsum_partial)
        return
    if fn_tiles:
        block_k = tunables.get("block_k", BLOCK_K)
        if fn3 is None or n * hidden != mixes_partial.shape[0] * fn_tiles * block_k:
            raise ValueError(f"fn_tiles={fn_tiles} needs fn3 given and K / P = fn_tiles * block_k: "
                             f"K = {n * hidden}, P = {mixes_partial.shape[0]}, block_k = {block_k}")
        tunables = {**tunables, "fn_tiles": fn_tiles}
    if fn3 is None:
        fn3 = split_fn(fn, target)
    if early_trigger:
        tunables = {**tunables, "early_trigger": True}
    if tma:
        tunables = {**tunables, "tma": True}
    prenorm_gemm_kernel(n, hidden, fn.shape[0], block_m, target, planted, **tunables)(
        x, fn3, mixes_partial, sqrsum_partial)
