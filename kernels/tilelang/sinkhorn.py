"""Sinkhorn on one warp, for every fused pre of ours (pre.py's big fuse, decode.py's decode_pre,
pre_overlap.py): softmax of each row of the n x n comb logits, + eps, a column normalisation, then
``sinkhorn_repeat - 1`` row / column normalisations, each ``v / (sum + eps)``. Three layouts of the same
operations, bitwise the same results:

``lanes`` (the default until the thirteenth session; the only one until 2026-12-04)
    lane (i, j) = i * n + j holds one element; row and column sums by butterfly shuffles (xor 1 ..
    n/2 reach a row's lanes, xor n .. n*n/2 a column's); each division is nvcc's IEEE ``/``.
    The chain per half-step: two dependent shuffle + add pairs, the eps add, then one division,
    whose slow-path branch (FCHK, a call for denormal or extreme operands) nvcc wraps in its own
    convergence region.

``gather`` (TileLangDecode.sinkhorn_layout = "gather": the default in the thirteenth and fourteenth sessions)
    ``lanes`` with each sum's group fetched at once: a lane takes its row's n - 1 other values by
    independent shuffles (xor 1 .. n - 1; a column's: xor n .. (n - 1) n) and adds the n values in
    the butterfly's association, ``pairwise`` below: ((v0 + v1) + (v2 + v3)) for n = 4, v_k the value
    of lane (own lane xor k), which is what the butterfly's two rounds leave in every lane (its
    second round adds the partner's (v2 + v3) to its own (v0 + v1); IEEE addition commutes exactly).
    One shuffle latency per sum instead of log2(n) dependent ones: the Sinkhorn chain is 2 (repeat)
    sums long, dependent shuffle + add pairs make most of it at decode counts (decode.py).

``rows`` (TileLangDecode.sinkhorn_layout = "rows"; a probe: slower on an H200, tenth session)
    lane i holds row i (n registers). The row sums are local adds in the butterfly's association,
    ((a0 + a1) + (a2 + a3)) for n = 4, which is what every lane of a row gets from the shuffles
    (each add commutes), so no shuffle in the row half-steps; the column sums are the same butterfly
    as ``lanes``' over the n lanes of a token (xor 1 .. n/2), on n values at once. The n divisions of a
    half-step are ``exact_quotient``: nvcc's own fast path of ``/`` written out (below), so the n
    divisions interleave instead of queuing behind n branch regions, and the row half shares one
    reciprocal.

``gather_rcp`` (TileLangDecode.sinkhorn_layout = "gather_rcp": the default since the fifteenth session)
    ``gather`` with every normalisation's division (all but the softmax's, whose numerators may
    underflow) as ``exact_quotient`` without a branch: each lane keeps a flag of whether every one of
    its divisions had fast_operands, the warp ANDs the flags once at the end (a butterfly of 5
    shuffles), and only if any lane's failed anywhere is the whole Sinkhorn run again from the
    logits as ``gather`` runs it (``/``). Where every check passed every quotient is IEEE's (below),
    so the trajectory, and the result, is ``gather``'s bit for bit; where one failed the result is
    ``gather``'s by construction. Why: in the sm_90a SASS of ``gather`` (nvcc 13.0) each half-step's
    ``/`` adds FCHK, a convergence region (BSSY / BSYNC), a branch and a BRA.DIV before the next
    shuffles to the chain: 75 issue cycles a half-step against this layout's 57 (one BRA.DIV
    per loop iteration, the range checks in the chain's stall slots); the 40 half-steps are the
    critical path of decode_pre's last CTA and of the middle pre's warp 0. On an H100
    (results/gpu/2026-12-05-h100-engines-11, call 5, with decode_pre's early constants) mhc_pre,
    fused_post_pre and pre_big_fuse took 0.84-0.97 x the default's time up to 128 tokens.

``lane_vectors`` (TileLangDecode.sinkhorn_layout: the default since the twenty-ninth session; "vectors"' bits, not
    the four layouts above) Sinkhorn on the scaling vectors (``vectors`` below: no shuffle and no division on the
    loop's chain), with the softmax and the final division one element per lane as ``gather`` does them and the
    whole matrix broadcast to every lane by independent shuffles in between. On an H100
    (results/gpu/2026-12-07-h100-engines-26, call 1) 0.84-0.97 x "gather_rcp"'s time for mhc_pre, fused_post_pre
    and pre_big_fuse at 1-256 tokens (mhc_pre 32 x 7168: a period of 7.0 us against 7.5 in its profile).

``exact_quotient``: the sequence nvcc emits for an IEEE fp32 division before its check (sm_90a SASS
of ``v / d``: MUFU.RCP r, d; FFMA e = -d * r + 1; FFMA r = r * e + r; FFMA q = r * v + 0; FFMA t =
-d * q + v; FFMA q = r * t + q, then FCHK v, d and a branch to a slow path). TileLang's fast_rcp is
rcp.approx.ftz.f32, the same MUFU.RCP; __fmaf_rn the same FFMAs. nvcc takes that quotient wherever FCHK
passes. FCHK is undocumented; what is known of it is that it sends to the slow path the operand pairs
near the ends of the exponent range (denormals, zeros, infinities, NaN, quotients that would
overflow or underflow). Here the quotient is kept only where |v| lies in [2^-80, 2^80] and |d| in
[2^-40, 2^40] (so the quotient, the residual and every intermediate are normal and far from both
ends); an element outside takes ``/`` (a branch taken only then: exps below 2^-80 in the softmax's
normalisation, zeros, non-finite values; logits of moderate spread never take it, a CPU test
shows). Inside that range, wherever FCHK passes, the two are the same instructions on the same
operands: the same bits. What backs the claim, and what would break it:
  * the six-instruction sequence is correctly rounded only with MUFU.RCP's accuracy: with a
    reciprocal one ulp off the correctly rounded one it returns 0x1p-1 for 1 / 0x1.fffffep+0 (an
    all-ones significand), where the quotient is 0x1.000002p-1 (tests/test_tilelang_sinkhorn.py sweeps
    every significand of d in [1, 2) with eight numerators each on the CPU: wrong quotients with a
    reciprocal one ulp off, none with the exact one). nvcc relies on MUFU.RCP being accurate
    enough; so does this.
  * should FCHK also fail somewhere inside the range (an undocumented case), ``/`` would take its
    slow path there and the two could differ: scripts/debug/sinkhorn_rows_check.py compares
    exact_quotient with ``/`` on a GPU over every significand of d (times eight numerators, at both
    ends of the range) and the kernels' outputs bitwise: on an H200 (results/gpu/2026-12-05-h200-engines-7,
    logs/check-rows.log) 4 x 2^26 quotients in range, none differing from ``/``.
  * tests/test_tilelang_sinkhorn.py runs both layouts on the CPU (tests/cuda_on_cpu.py, the reciprocal
    emulated exactly) over ordinary, underflowing, infinite and NaN logits and odd epsilons:
    bitwise equal. That checks the order of every operation and the fallback, not MUFU.RCP.
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

LAYOUTS = ("lanes", "rows", "gather", "gather_rcp")  # bitwise the same results
# the same function, other roundings: each needs its own gate. "lane_vectors" is "vectors"' bits.
OTHER_ARITHMETIC = ("vectors", "lane_vectors")
S_LO, S_HI = 2.0 ** -60, 2.0 ** 60  # the "vectors" layout's scales: reciprocals normal, no overflow
# exact_quotient's range, on the operands (known before the division, so the check overlaps it):
# |v| in [2^-80, 2^80] and |d| in [2^-40, 2^40] keep the quotient within [2^-120, 2^120] (normal),
# the residual v - d q exactly representable (a multiple of ulp(d) ulp(q), about 2^-46 |v| >= 2^-127,
# on the fp32 grid) and every intermediate far from the denormal and overflow ends, where FCHK sends
# ``/`` to its slow path.
V_LO, V_HI = 2.0 ** -80, 2.0 ** 80
D_LO, D_HI = 2.0 ** -40, 2.0 ** 40


def lane_masks(n: int) -> tuple[list[int], list[int]]:
    """xor masks that reach the other lanes of a row (1, 2, .. n/2) and of a column (n, 2n, .. n*n/2)."""
    levels = range(n.bit_length() - 1)
    return [1 << b for b in levels], [n << b for b in levels]


def butterfly(T, value, masks, op):
    """op-reduce ``value`` over the lanes reached by ``masks``; every lane gets the same result."""
    for m in masks:
        value = op(value, T.shfl_xor(value, m))
    return value


def gathered(T, value, masks, op):
    """butterfly's result, the group's values fetched by independent shuffles (the "gather" layout):
    value_k = the value of lane (this lane xor k * masks[0]), k = 0 .. 2^len(masks) - 1, op-reduced in
    pairwise's association."""
    step = masks[0]
    return pairwise([value] + [T.shfl_xor(value, k * step) for k in range(1, 2 ** len(masks))], op)


def _add(a, b):
    return a + b


def pairwise(values: list, op):
    """The butterfly's association on values held by one lane: adjacent pairs, then pairs of those
    (((a0 + a1) + (a2 + a3)) for four), what every lane of the group gets from butterfly(masks 1 ..)."""
    while len(values) > 1:
        values = [op(values[2 * i], values[2 * i + 1]) for i in range(len(values) // 2)]
    return values[0]


def sinkhorn_macro(T, n: int, layout: str = "lanes"):
    """The Sinkhorn of one token on the calling warp (call under ``tid < 32``; every lane of the warp
    takes part in the shuffles) as a TileLang macro ``(logits, comb_mix, t, tid, hc_sinkhorn_eps,
    sinkhorn_repeat)``: the comb logits are ``logits[2n : 2n + n*n]`` (shared), comb_mix[t] is written.
    ``layout``: "lanes" or "rows" (module docstring), bitwise the same results."""
    if layout == "lanes":
        return _lane_sinkhorn_macro(T, n, butterfly)
    if layout == "gather":
        return _lane_sinkhorn_macro(T, n, gathered)
    if layout == "rows":
        return _row_sinkhorn_macro(T, n)
    if layout == "gather_rcp":
        return _checked_gather_sinkhorn_macro(T, n)
    if layout == "vectors":
        return _vector_sinkhorn_macro(T, n)
    if layout == "lane_vectors":
        return _lane_vector_sinkhorn_macro(T, n)
    raise ValueError(f"sinkhorn layout must be one of {LAYOUTS + OTHER_ARITHMETIC}, got {layout!r}")


def _lane_sinkhorn_macro(T, n: int, group_reduce):
    """Lanes 0..n*n-1 of the calling warp hold comb logits [2n, 2n + n*n) of ``logits``, lane
    (i, j) = i * n + j; the other lanes of the warp run along (their shuffles pair with the first
    n*n). Row softmax (max, exp, sum by ``group_reduce``: butterfly, or gathered for the "gather" layout),
    + eps, then a column normalisation, then ``sinkhorn_repeat - 1`` row / column normalisations, each
    ``v / (sum + eps)``; lane (i, j) writes comb_mix[t, i, j]. The same instructions in every kernel
    that calls it: the same bits."""
    row_masks, col_masks = lane_masks(n)

    @T.macro
    def lane_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat):
        lane = tid % (n * n)
        v = T.alloc_var("float32")
        red = T.alloc_var("float32")
        v = logits[2 * n + lane]
        red = group_reduce(T, v, row_masks, T.max)
        v = T.exp(v - red)
        red = group_reduce(T, v, row_masks, _add)
        v = v / red + hc_sinkhorn_eps
        red = group_reduce(T, v, col_masks, _add)
        v = v / (red + hc_sinkhorn_eps)
        for _ in T.serial(sinkhorn_repeat - 1):
            red = group_reduce(T, v, row_masks, _add)
            v = v / (red + hc_sinkhorn_eps)
            red = group_reduce(T, v, col_masks, _add)
            v = v / (red + hc_sinkhorn_eps)
        if tid < n * n:
            comb_mix[t, lane // n, lane % n] = v

    return lane_sinkhorn


def fast_operands(T, v, d):
    """Whether exact_quotient(v, d) is inside its range (V_LO .. D_HI above; false for NaN, zeros and
    infinities, which take ``/``)."""
    return T.And(T.And(T.abs(v) >= T.float32(V_LO), T.abs(v) <= T.float32(V_HI)),
                 T.And(T.abs(d) >= T.float32(D_LO), T.abs(d) <= T.float32(D_HI)))


def exact_quotient_macros(T):
    """nvcc's fast path of an fp32 ``v / d`` written out (module docstring), as two TileLang macros:
    ``reciprocal(rcp, j, d)`` sets rcp[j] to the refined reciprocal of d (the division's first three
    instructions, shared by every numerator over d), ``quotient(q, j, v, d, r)`` sets q[j] to v / d
    from it (the last three). The quotient is IEEE's only where fast_operands(v, d) holds."""

    @T.macro
    def reciprocal(rcp, j, d):
        rcp[j] = T.fast_rcp(d)
        rcp[j] = T.ieee_fmaf(rcp[j], T.ieee_fmaf(-d, rcp[j], T.float32(1.0)), rcp[j])

    @T.macro
    def quotient(q, j, v, d, r):
        q[j] = T.ieee_fmaf(r, v, T.float32(0.0))
        q[j] = T.ieee_fmaf(r, T.ieee_fmaf(-d, q[j], v), q[j])

    return reciprocal, quotient


def _row_sinkhorn_macro(T, n: int):
    """Lane l of the calling warp holds row l % n of the token's comb logits (lanes >= n hold copies
    and write nothing); see the module docstring."""
    col_masks = lane_masks(n)[0]  # over the lanes of a token's rows: xor 1 .. n/2
    reciprocal, quotient = exact_quotient_macros(T)

    @T.macro
    def divide_row(v, q, rcp, s):
        """v[j] = v[j] / s for every j: exact_quotient where fast_operands holds (one branch when it holds
        for all of them, the common case), ``/`` for the others."""
        reciprocal(rcp, 0, s)
        for j in T.unroll(n):
            quotient(q, j, v[j], s, rcp[0])
        if pairwise([fast_operands(T, v[j], s) for j in range(n)], T.And):
            for j in T.unroll(n):
                v[j] = q[j]
        else:
            for j in T.unroll(n):
                v[j] = T.if_then_else(fast_operands(T, v[j], s), q[j], v[j] / s)

    @T.macro
    def divide_columns(v, q, rcp, d):
        """v[j] = v[j] / d[j] for every j, as divide_row."""
        for j in T.unroll(n):
            reciprocal(rcp, j, d[j])
            quotient(q, j, v[j], d[j], rcp[j])
        if pairwise([fast_operands(T, v[j], d[j]) for j in range(n)], T.And):
            for j in T.unroll(n):
                v[j] = q[j]
        else:
            for j in T.unroll(n):
                v[j] = T.if_then_else(fast_operands(T, v[j], d[j]), q[j], v[j] / d[j])

    @T.macro
    def normalize_columns(v, q, rcp, d, hc_sinkhorn_eps):
        for j in T.unroll(n):
            d[j] = butterfly(T, v[j], col_masks, _add) + hc_sinkhorn_eps
        divide_columns(v, q, rcp, d)

    @T.macro
    def row_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat):
        row = tid % n
        v = T.alloc_local((n,), "float32")
        q = T.alloc_local((n,), "float32")
        d = T.alloc_local((n,), "float32")
        rcp = T.alloc_local((n,), "float32")
        s = T.alloc_var("float32")
        for j in T.unroll(n):
            v[j] = logits[2 * n + row * n + j]
        s = pairwise([v[j] for j in range(n)], T.max)
        for j in T.unroll(n):
            v[j] = T.exp(v[j] - s)
        s = pairwise([v[j] for j in range(n)], _add)
        divide_row(v, q, rcp, s)
        for j in T.unroll(n):
            v[j] = v[j] + hc_sinkhorn_eps
        normalize_columns(v, q, rcp, d, hc_sinkhorn_eps)
        for _ in T.serial(sinkhorn_repeat - 1):
            s = pairwise([v[j] for j in range(n)], _add) + hc_sinkhorn_eps
            divide_row(v, q, rcp, s)
            normalize_columns(v, q, rcp, d, hc_sinkhorn_eps)
        if tid < n:
            for j in T.unroll(n):
                comb_mix[t, row, j] = v[j]

    return row_sinkhorn


def _checked_gather_sinkhorn_macro(T, n: int):
    """The "gather_rcp" layout (module docstring): _lane_sinkhorn_macro's "gather" operations with the
    normalisations' divisions written out, checked once per call, and "gather" itself as the fallback.
    The value and the flag live in one-element local buffers: a nested macro's scalar parameters are
    copies, its buffers are not."""
    row_masks, col_masks = lane_masks(n)
    reciprocal, quotient = exact_quotient_macros(T)
    fallback = _lane_sinkhorn_macro(T, n, gathered)
    warp_masks = [1 << b for b in range(5)]  # every lane of the warp: the fallback's shuffles need them all

    @T.macro
    def normalize(v, d, rcp, q, ok, masks, hc_sinkhorn_eps):
        """v[0] = v[0] / (group sum + eps), the quotient written out; ok[0] = 0 where its operands leave
        the range (the check beside the chain, not in it)."""
        d[0] = gathered(T, v[0], masks, _add) + hc_sinkhorn_eps
        reciprocal(rcp, 0, d[0])
        quotient(q, 0, v[0], d[0], rcp[0])
        ok[0] = T.if_then_else(fast_operands(T, v[0], d[0]), ok[0], 0)
        v[0] = q[0]

    @T.macro
    def checked_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat):
        lane = tid % (n * n)
        v = T.alloc_local((1,), "float32")
        d = T.alloc_local((1,), "float32")
        rcp = T.alloc_local((1,), "float32")
        q = T.alloc_local((1,), "float32")
        ok = T.alloc_local((1,), "int32")
        v[0] = logits[2 * n + lane]
        d[0] = gathered(T, v[0], row_masks, T.max)
        v[0] = T.exp(v[0] - d[0])
        d[0] = gathered(T, v[0], row_masks, _add)
        v[0] = v[0] / d[0] + hc_sinkhorn_eps  # nvcc's ``/``: exp may underflow to zeros and denormals here
        ok[0] = 1
        normalize(v, d, rcp, q, ok, col_masks, hc_sinkhorn_eps)
        for _ in T.serial(sinkhorn_repeat - 1):
            normalize(v, d, rcp, q, ok, row_masks, hc_sinkhorn_eps)
            normalize(v, d, rcp, q, ok, col_masks, hc_sinkhorn_eps)
        for m in warp_masks:
            ok[0] = ok[0] & T.shfl_xor(ok[0], m)
        if ok[0] == 0:  # warp-uniform: some division left the range somewhere; "gather" from the logits
            fallback(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)
        elif tid < n * n:
            comb_mix[t, lane // n, lane % n] = v[0]

    return checked_sinkhorn


def _vector_sinkhorn_macro(T, n: int):
    """The "vectors" layout (a probe, fifteenth session): Sinkhorn on the scaling vectors, every lane of
    the warp holding the whole token (no shuffle). The softmax and its + eps as "lanes" computes them
    (K, n x n). Each later step keeps the matrix as diag(a) K diag(b); with u = 1 / a and w = 1 / b,
    ``v / (sum + eps)`` over the rows is a_i <- a_i / (a_i (K b)_i + eps), that is u_i <- (K b)_i +
    eps u_i, and over the columns w_j <- (K^T a)_j + eps w_j: no division on the chain, only the n
    reciprocals of the other side's vector (MUFU.RCP, within an ulp) and n dot products, each an FMA
    chain started from eps u_i (eps w_j). The first column normalisation is w_j = (column sum of K) +
    eps, u = 1; at the end lane (i, j) writes K_ij / (u_i w_j).

    The same function, other roundings (the reciprocals, the dot products, the final product): not
    the other layouts' bits, so it needs its own gate (nightly checks, stress) before any default.
    Why: scripts/debug/sinkhorn_share.py on an H100 (results/gpu/2026-12-05-h100-engines-12, call 6)
    puts each repeat of "gather_rcp" at 0.087-0.091 us of mhc_pre's time at 1-32 tokens (~87 cycles a
    half-step: a shuffle, two adds, the eps add, a reciprocal and five FMAs), 1.7 us of the 8.1 / 8.9 us
    at 16 / 32 x 7168. Here a half-step's chain is a reciprocal and four FMAs, n reciprocals and n (n + 1)
    FMAs / FMULs a lane (24 at n = 4; in the sm_90a SASS 24.8 instructions and 40.5 issue cycles against
    "gather_rcp"'s 20.8 and 57.2, scripts/debug/sass_sinkhorn.py). Where a scale leaves
    [S_LO, S_HI] (zeros after exp with eps = 0, non-finite logits: a reciprocal would overflow or a
    0 x inf appear) "gather" runs again from the logits: those cases get the default's bits."""
    fallback = _lane_sinkhorn_macro(T, n, gathered)
    scaling_loop, in_range = _scaling_macros(T, n)

    @T.macro
    def vector_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat):
        k = T.alloc_local((n * n,), "float32")
        u = T.alloc_local((n,), "float32")
        w = T.alloc_local((n,), "float32")
        r = T.alloc_local((n,), "float32")
        s = T.alloc_var("float32")
        for e in T.unroll(n * n):
            k[e] = logits[2 * n + e]
        for i in T.unroll(n):
            s = pairwise([k[i * n + j] for j in range(n)], T.max)
            for j in T.unroll(n):
                k[i * n + j] = T.exp(k[i * n + j] - s)
            s = pairwise([k[i * n + j] for j in range(n)], _add)
            for j in T.unroll(n):
                k[i * n + j] = k[i * n + j] / s + hc_sinkhorn_eps
        scaling_loop(k, u, w, r, hc_sinkhorn_eps, sinkhorn_repeat)
        # every lane holds the same values (the same operations on the same shared logits): a
        # warp-uniform branch, no vote
        if in_range(u, w):
            for i in T.unroll(n):
                for j in T.unroll(n):
                    if tid == i * n + j:
                        comb_mix[t, i, j] = k[i * n + j] / (u[i] * w[j])
        else:
            fallback(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)

    return vector_sinkhorn


def _scaling_macros(T, n: int):
    """The scaling vectors' loop and range check, shared by "vectors" and "lane_vectors" (the same FMA chains:
    the same bits). ``scaling_loop(k, u, w, r, eps, repeat)``: the first column normalisation (w_j = K's column sum
    in pairwise's association + eps) and u = 1, then ``repeat - 1`` row / column steps u_i <- (K r)_i + eps u_i with r = 1 / w (MUFU.RCP), then w_j <- (K^T
    r)_j + eps w_j with r = 1 / u, each dot an FMA chain in m order started from eps u_i (eps w_j).
    ``in_range(u, w)``: every scale in [S_LO, S_HI]."""

    def dot(k, index, r, start):
        """start + sum_m k[index(m)] * r[m] as an FMA chain in m order."""
        acc = start
        for m in range(n):
            acc = T.ieee_fmaf(k[index(m)], r[m], acc)
        return acc

    @T.macro
    def scaling_loop(k, u, w, r, hc_sinkhorn_eps, sinkhorn_repeat):
        for j in T.unroll(n):
            w[j] = pairwise([k[i * n + j] for i in range(n)], _add) + hc_sinkhorn_eps
        for i in T.unroll(n):
            u[i] = T.float32(1.0)
        for _ in T.serial(sinkhorn_repeat - 1):
            for j in T.unroll(n):
                r[j] = T.fast_rcp(w[j])
            for i in T.unroll(n):
                u[i] = dot(k, lambda m, i=i: i * n + m, r, hc_sinkhorn_eps * u[i])
            for i in T.unroll(n):
                r[i] = T.fast_rcp(u[i])
            for j in T.unroll(n):
                w[j] = dot(k, lambda m, j=j: m * n + j, r, hc_sinkhorn_eps * w[j])

    def in_range(u, w):
        return pairwise([T.And(T.And(u[m] >= T.float32(S_LO), u[m] <= T.float32(S_HI)),
                               T.And(w[m] >= T.float32(S_LO), w[m] <= T.float32(S_HI))) for m in range(n)], T.And)

    return scaling_loop, in_range


def _pick(T, values, index: int | object, n: int):
    """values[index] for a lane-dependent index without indexing a local array by it (which would put the
    array in local memory): a chain of selects over the n candidates."""
    picked = values[0]
    for m in range(1, n):
        picked = T.if_then_else(index == m, values[m], picked)
    return picked


def _lane_vector_sinkhorn_macro(T, n: int):
    """The "lane_vectors" layout (twenty-ninth session): "vectors"' operations, its softmax and its last
    division spread over the lanes. Lane (i, j) = i * n + j computes its own element of the softmax and + eps
    as "gather" does (the row's max and sum by independent shuffles, in pairwise's association, which is
    the association "vectors" adds a row in on one lane: the same K bits), then takes the whole K by n * n
    independent ``__shfl_sync`` broadcasts, forms w from K's column sums (pairwise, + eps) as "vectors" does,
    runs the same scaling loop and range check, and writes only its own element, K_ij / (u_i w_j), u_i and
    w_j picked by selects. Bitwise "vectors"' comb_mix, fallback included (tests/test_tilelang_sinkhorn_vectors.py).

    Why: on an H100 (results/gpu/2026-12-05-h100-engines-13, call 1) "vectors"' loop cost 0.054-0.057 us a
    repeat against the default's 0.084-0.092, but its one-repeat time was 0.55-0.72 us higher. Its prologue and
    epilogue ran on every lane for the whole token: n * n exponentials and n * n IEEE divisions in sequence,
    each ``/`` with its FCHK branch, and the n * n stores each behind its own ``tid ==`` branch with a division
    inside. Here a lane does one exponential, one softmax division and one final division, as "gather_rcp"'s
    lanes do, and the broadcast is one shuffle latency."""
    row_masks, _ = lane_masks(n)
    fallback = _lane_sinkhorn_macro(T, n, gathered)
    scaling_loop, in_range = _scaling_macros(T, n)

    @T.macro
    def lane_vector_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat):
        lane = tid % (n * n)
        v = T.alloc_var("float32")
        red = T.alloc_var("float32")
        k = T.alloc_local((n * n,), "float32")
        u = T.alloc_local((n,), "float32")
        w = T.alloc_local((n,), "float32")
        r = T.alloc_local((n,), "float32")
        v = logits[2 * n + lane]
        red = gathered(T, v, row_masks, T.max)
        v = T.exp(v - red)
        red = gathered(T, v, row_masks, _add)
        v = v / red + hc_sinkhorn_eps
        for e in T.unroll(n * n):  # lanes >= n * n hold copies of lane % (n * n): the same K either way
            k[e] = T.shfl_sync(v, e)
        scaling_loop(k, u, w, r, hc_sinkhorn_eps, sinkhorn_repeat)
        if in_range(u, w):  # warp-uniform: every lane ran the same operations on the same K
            if tid < n * n:
                comb_mix[t, lane // n, lane % n] = v / (_pick(T, u, lane // n, n) * _pick(T, w, lane % n, n))
        else:
            fallback(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)

    return lane_vector_sinkhorn
