"""The decode path's prenorm GEMM: fp32 CUDA-core split-K partials of x @ fn.T and of sum(x * x).

At T = 1..32 tokens the GEMM is tiny (fn is M x K = 24 x 28672 fp32 = 2.75 MB, read once; at most
32 x 24 x 28672 FMAs) and latency bound. gemm.py's tensor-core kernel pays there for what only
helps at large T: a bf16x3 split of fn (three products per term), wgmma tiles of 64 token rows (63
of 64 wasted at T = 1), a cp.async pipeline per CTA. This kernel reads fn in fp32 directly and
does one fp32 FMA per term on the CUDA cores, spread over many CTAs:

* grid (parts, ceil(T / block_t)): CTA (p, b) owns the p-th contiguous K range of kc = K / parts
  columns and tokens [b * block_t, +block_t). It writes its own partials (no atomics, no
  workspace): mixes_partial[p, t, m] and sqrsum_partial[p, t], summed by decode_pre / decode_head.
* fn's slice [M, kc] is staged in shared memory once (coalesced 16-byte loads, all independent:
  one round trip to memory per CTA); every thread reads it back as float4 *broadcasts* (all lanes
  that share a column range read the same address), so fn is never transposed and never conflicts.
* the threads form ``slots = threads / block_t`` slots of block_t tokens: lane l of warp w is token
  ``l % block_t`` of the CTA's block in slot ``w * (32 / block_t) + l // block_t``; slot s owns the
  s-th contiguous run of ``cols = kc / slots`` columns. A thread loads its token's x run straight
  from global memory into registers (cols bf16, 16-byte loads, independent: no shared memory and
  no bank conflicts for x) and keeps ALL M mixes and the sum of squares in registers, so each x
  value feeds M + 1 FMAs and each fn float4 feeds 4. Tokens >= T get x = 0 and are never written.
* the slots' sums go through shared memory ([slots, block_t, M + 1], a row stride of M + 1 words,
  odd for M = 24 and 4: conflict-free) and are added in slot order by the CTA's threads, one output
  (token, mix) per thread at a time, consecutive threads on consecutive outputs.

block_t = 32 (the default) is one token per lane: at T = 1 only one lane per warp does useful work,
but a warp issues the same instructions whatever its active lanes, so the cost is the per-thread
chain of cols * (M + 1) FMAs. block_t = 8 cuts that chain by 4 (4 slots per warp, 4 x the CTAs
at T = 32, fn then read 4 x from L2): a tunable for the GPU script to decide.

Precision and reproducibility: every term is one fp32 FMA (x is bf16, so float(x) is exact; the
product is rounded once, inside the FMA, or not at all for the square of a bf16, which is exact in
fp32): within the backend's declared bf16x3 precision (exact products, fp32 sums). The order of
every sum is fixed at compile time (ascending K within a slot, then slots in order): bitwise the
same on every run and CUDA-graph replay. Non-finite values propagate as fp32 arithmetic does
(inf * 0 = NaN, inf + -inf = NaN): nothing is special-cased.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, changed, compile_cached

WARP = 32
VEC_X = 8  # bf16 per 16-byte global load of x
VEC_FN = 4  # fp32 per 16-byte shared-memory read of fn (a broadcast)
THREADS = 256
BLOCK_T = 32

# The tunables of build_decode_gemm and their defaults (scripts/debug/decode_gemm_check.py sweeps them).
DEFAULT_TUNABLES = {"threads": THREADS, "block_t": BLOCK_T}


def slot_columns(k_total: int, parts: int, threads: int, block_t: int) -> int:
    """Columns of K per thread (per slot): K / parts columns over threads / block_t slots.
    Raises ValueError where the configuration does not divide."""
    if WARP % block_t or threads % WARP or threads < WARP:
        raise ValueError(f"block_t must divide 32 and threads be a multiple of 32: {block_t}, {threads}")
    if k_total % parts:
        raise ValueError(f"parts={parts} does not divide K={k_total}")
    kc = k_total // parts
    slots = threads // block_t
    if kc % (slots * VEC_X):
        raise ValueError(f"K / parts = {kc} columns do not split into {slots} slots of whole {VEC_X}-column vectors")
    return kc // slots


def build_decode_gemm(n: int, hidden: int, mixes: int, parts: int, use_pdl: bool, *, threads: int = THREADS,
                      block_t: int = BLOCK_T, token_major: bool = False, early_trigger: bool = False,
                      fn_before_wait: bool = False):
    """x [T, K] bf16, fn [M, K] fp32 -> partials [parts, T, M] and [parts, T] over ``parts``
    contiguous K ranges (module docstring). Tunables: threads (a multiple of 32), block_t (tokens
    per CTA, a divisor of 32). ``token_major`` (opt-in): the same values written as [T, parts, M]
    and [T, parts] (a token's parts contiguous, for decode_head / decode_pre's token_major reads).
    ``early_trigger``: PDL's launch_dependents right after the wait (gemm.build_prenorm_gemm's).

    ``fn_before_wait`` (TileLangDecode.decode_gemm_fn_before_wait: mhc_pre's): fn's slice is staged in
    shared memory before the PDL wait instead of after it. Why: a CTA's fn slice (24 x 256 fp32 = 24
    KB at H = 7168) is three times its tokens' x at T = 16, and in a decode chain this kernel is
    launched early (the kernel before it triggers early: our decode_pre and hc_post_wide), so those
    loads can sit in the previous kernel's tail instead of behind the wait. What it assumes: fn is
    not written by the kernel just before this one in the stream while that kernel has already
    launched its dependents (a weight, as in every engine; the PDL wait still orders x). The same
    values in the same arithmetic: bitwise the same outputs."""
    import tilelang.language as T

    k_total = n * hidden
    cols = slot_columns(k_total, parts, threads, block_t)
    kc = k_total // parts
    slots = threads // block_t
    slots_per_warp = WARP // block_t
    width = mixes + 1  # the M mixes, then the sum of squares
    outputs = block_t * width  # per CTA
    out_rounds = -(-outputs // threads)
    fn_loads = mixes * kc // VEC_FN  # float4s of fn's slice
    fn_rounds = -(-fn_loads // threads)
    tokens = T.dynamic("tokens")
    if token_major:
        m_shape, s_shape = (tokens, parts, mixes), (tokens, parts)
    else:
        m_shape, s_shape = (parts, tokens, mixes), (parts, tokens)

    @T.macro
    def stage_fn(fn, fn_sh, tid, k0):
        """fn's slice, row by row, 16 bytes per thread per round, every load independent (unrolled)."""
        for r in T.unroll(fn_rounds):
            f4 = r * threads + tid
            if f4 < fn_loads:
                for e in T.vectorized(VEC_FN):
                    fn_sh[f4 // (kc // VEC_FN), (f4 % (kc // VEC_FN)) * VEC_FN + e] = \
                        fn[f4 // (kc // VEC_FN), k0 + (f4 % (kc // VEC_FN)) * VEC_FN + e]

    @T.prim_func
    def mhc_decode_gemm(x: T.Tensor((tokens, k_total), "bfloat16"),
                        fn: T.Tensor((mixes, k_total), "float32"),
                        mixes_partial: T.Tensor(m_shape, "float32"),
                        sqrsum_partial: T.Tensor(s_shape, "float32")):
        with T.Kernel(parts, T.ceildiv(tokens, block_t), threads=threads) as (p, bt):
            fn_sh = T.alloc_shared((mixes, kc), "float32")
            sums_sh = T.alloc_shared((slots, block_t, width), "float32")
            xr = T.alloc_local((cols,), "bfloat16")
            fv = T.alloc_local((VEC_FN,), "float32")
            acc = T.alloc_local((width,), "float32")
            tid = T.get_thread_binding()
            lane = tid % WARP
            slot = (tid // WARP) * slots_per_warp + lane // block_t
            token = bt * block_t + lane % block_t
            k0 = p * kc
            if fn_before_wait:
                stage_fn(fn, fn_sh, tid, k0)
            if use_pdl:
                T.pdl_sync()  # x (and, unless fn_before_wait, fn) may be the previous kernel's output
                if early_trigger:
                    T.pdl_trigger()
            if not fn_before_wait:
                stage_fn(fn, fn_sh, tid, k0)
            # this thread's token's run of x, straight into registers (zeros past the last token:
            # they are computed with, never written)
            if token < tokens:
                for v in T.unroll(cols // VEC_X):
                    for e in T.vectorized(VEC_X):
                        xr[v * VEC_X + e] = x[token, k0 + slot * cols + v * VEC_X + e]
            else:
                for e in T.unroll(cols):
                    xr[e] = T.bfloat16(0)
            for j in T.unroll(width):
                acc[j] = T.float32(0)
            T.sync_threads()
            # ascending K: per group of 4 columns, one float4 broadcast of fn per mix, 4 FMAs each
            for g in T.unroll(cols // VEC_FN):
                for j in T.unroll(mixes):
                    for e in T.vectorized(VEC_FN):
                        fv[e] = fn_sh[j, slot * cols + g * VEC_FN + e]
                    for e in T.unroll(VEC_FN):
                        acc[j] += T.Cast("float32", xr[g * VEC_FN + e]) * fv[e]
                for e in T.unroll(VEC_FN):
                    acc[mixes] += T.Cast("float32", xr[g * VEC_FN + e]) * T.Cast("float32", xr[g * VEC_FN + e])
            for j in T.unroll(width):
                sums_sh[slot, lane % block_t, j] = acc[j]
            T.sync_threads()
            # the slots' sums in slot order; output o = (token in block, mix or square)
            for r in T.unroll(out_rounds):
                o = r * threads + tid
                row = bt * block_t + o // width
                if o < outputs and row < tokens:
                    total = T.alloc_var("float32")
                    total = sums_sh[0, o // width, o % width]
                    for s in T.unroll(slots - 1):
                        total += sums_sh[s + 1, o // width, o % width]
                    if token_major:
                        if o % width < mixes:
                            mixes_partial[row, p, o % width] = total
                        else:
                            sqrsum_partial[row, p] = total
                    else:
                        if o % width < mixes:
                            mixes_partial[p, row, o % width] = total
                        else:
                            sqrsum_partial[p, row] = total
            if use_pdl and not early_trigger:
                T.pdl_trigger()

    return mhc_decode_gemm


def decode_gemm_kernel(n: int, hidden: int, mixes: int, parts: int, target: Target, *, token_major: bool = False,
                       early_trigger: bool = False, fn_before_wait: bool = False, **tunables):
    """``token_major``: the partials' layout (build_decode_gemm), not a tunable; ``early_trigger`` and
    ``fn_before_wait`` likewise. Without them the cache key is today's."""
    tun = {**DEFAULT_TUNABLES, **tunables}
    key = (n, hidden, mixes, parts, tuple(sorted(tun.items()))) + (("token_major",) if token_major else ()) \
        + (("early_trigger",) if early_trigger else ()) + (("fn_before_wait",) if fn_before_wait else ())
    variants = {"token_major": token_major, "early_trigger": early_trigger,
                **changed(fn_before_wait=(fn_before_wait, False))}
    return compile_cached("decode_gemm", key,
                          lambda: build_decode_gemm(n, hidden, mixes, parts, target.pdl, **variants, **tun), target)


def decode_gemm_reference(x, fn, parts: int):
    """What the kernel computes, in float64 (CPU or GPU), for the GPU check: x [T, K] (bf16), fn
    [M, K] -> (mixes_partial [parts, T, M], sqrsum_partial [parts, T]) over ``parts`` contiguous
    K ranges. Exact up to float64 rounding: the kernel's fp32 sums are judged against it. The
    products are elementwise (not a BLAS call), so non-finite values propagate by IEEE rules
    (inf * 0 = NaN, inf + -inf = NaN) as in the kernel; memory: T * M * K doubles (350 MB at
    T = 64, M = 24, K = 28672)."""
    t, k_total = x.shape
    m = fn.shape[0]
    assert fn.shape[1] == k_total and k_total % parts == 0, (x.shape, fn.shape, parts)
    kc = k_total // parts
    xd = x.double().view(t, parts, kc).transpose(0, 1)  # [parts, T, kc]
    fd = fn.double().view(m, parts, kc).transpose(0, 1)  # [parts, M, kc]
    return (xd.unsqueeze(2) * fd.unsqueeze(1)).sum(-1), (xd * xd).sum(-1)
