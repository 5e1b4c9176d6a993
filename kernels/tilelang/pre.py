"""The fused pre after the GEMM: mixes, Sinkhorn, layer_input (and optional RMSNorm), one CTA per token.

Per token t (128 threads):
  1. thread M sums the S sqrsum partials -> rstd = rsqrt(sqrsum / K + rms_eps) (shared);
     threads j < M sum the S mixes partials and form z_j = m_j * rstd * hc_scale[group(j)] + hc_base[j]:
     pre_j = sigmoid(z_j) + hc_pre_eps (shared), post_j = sigmoid(z_j) * hc_post_mult_value (stored),
     comb logits z_j (shared).
  2. all threads: layer_input[t, h] = sum_k pre_k * residual[t, k, h] in fp32, rounded once to bf16.
     With norm_weight: the bf16 values are kept in shared memory, their squares summed (fp32, per
     thread then one block reduction), and layer_input = bf16(y * rsqrt(mean(y^2) + norm_eps) * w).
  3. warp 0: Sinkhorn on the n x n logits (sinkhorn.py's "lanes" layout), one lane per element; row
     and column sums by butterfly shuffles inside aligned groups of lanes (n a power of two, n*n <=
     32), so every lane of a row sees the same sum and the result does not depend on the schedule.
Scalars (epsilons, post multiplier, Sinkhorn repeat) are kernel arguments, not compile-time
constants: drawing new ones never recompiles. T and S are dynamic; one compile per (n, H, norm).
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, compile_cached, hidden_block, threads_for
from mhc_kernels.tilelang.collapse import collapse_block_macro
from mhc_kernels.tilelang.sinkhorn import sinkhorn_macro


def mix_group(T, tid, n: int):
    """The hc_scale entry of mix ``tid``: 0 for the n pre mixes, 1 for the n post mixes, 2 for the comb
    logits (every fused pre's z = m * rstd * hc_scale[group] + hc_base[tid])."""
    return T.if_then_else(tid < n, 0, T.if_then_else(tid < 2 * n, 1, 2))


def mix_constants_macro(T, n: int):
    """The fused pres' early_constants load (decode.build_decode_pre's, pre_overlap's) as a TileLang macro
    ``(hc_scale, hc_base, consts, tid)``: mix thread tid's hc_scale[mix_group] and hc_base[tid] into
    consts[0], consts[1], a local buffer (a macro's scalar parameters are copies)."""
    mixes = n * n + 2 * n

    @T.macro
    def load_constants(hc_scale, hc_base, consts, tid):
        if tid < mixes:
            consts[0] = hc_scale[mix_group(T, tid, n)]
            consts[1] = hc_base[tid]

    return load_constants

THREADS = 128


def build_pre_big_fuse(n: int, hidden: int, with_norm: bool, use_pdl: bool):
    import tilelang.language as T

    if n & (n - 1) or n * n > 32:
        raise ValueError(f"the lane Sinkhorn needs n a power of two with n*n <= 32, got n={n}")
    mixes = n * n + 2 * n
    k_total = n * hidden
    h_blk = hidden_block(hidden)
    lane_sinkhorn = sinkhorn_macro(T, n)
    collapse_block = collapse_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits")
    assert threads_for(h_blk) <= THREADS and mixes < THREADS

    @T.prim_func
    def mhc_pre_big_fuse(mixes_partial: T.Tensor((splits, tokens, mixes), "float32"),
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
            tid = T.get_thread_binding()
            logits = T.alloc_shared((mixes,), "float32")
            pre = T.alloc_shared((n,), "float32")
            rstd = T.alloc_shared((1,), "float32")
            if use_pdl:
                T.pdl_sync()  # the partials come from the GEMM kernel
            if tid == mixes:
                sq = T.alloc_var("float32")
                sq = 0.0
                for s in T.serial(splits):
                    sq += sqrsum_partial[s, t]
                rstd[0] = T.rsqrt(sq / k_total + rms_eps)
            T.sync_threads()
            if tid < mixes:
                m = T.alloc_var("float32")
                m = 0.0
                for s in T.serial(splits):
                    m += mixes_partial[s, t, tid]
                z = m * rstd[0] * hc_scale[mix_group(T, tid, n)] + hc_base[tid]
                if tid < n:
                    pre[tid] = T.sigmoid(z) + hc_pre_eps
                elif tid < 2 * n:
                    post_mix[t, tid - n] = T.sigmoid(z) * hc_post_mult_value
                else:
                    logits[tid] = z
            T.sync_threads()

            res = T.alloc_fragment((n, h_blk), "bfloat16")
            out = T.alloc_fragment((h_blk,), "bfloat16")
            if with_norm:
                kept = T.alloc_shared((hidden,), "bfloat16")
                sq_cols = T.alloc_fragment((h_blk,), "float32")
                sq_total = T.alloc_fragment((1,), "float32")
                y = T.alloc_fragment((h_blk,), "float32")
                w = T.alloc_fragment((h_blk,), "bfloat16")
                T.clear(sq_cols)
            for hb in T.serial(hidden // h_blk):
                T.copy(residual[t, 0, hb * h_blk], res)
                collapse_block(pre, res, out)
                if with_norm:
                    T.copy(out, kept[hb * h_blk:(hb + 1) * h_blk])
                    for h in T.Parallel(h_blk):
                        sq_cols[h] += T.Cast("float32", out[h]) * T.Cast("float32", out[h])
                else:
                    T.copy(out, layer_input[t, hb * h_blk])
            if with_norm:
                T.reduce_sum(sq_cols, sq_total, dim=0)
                for hb in T.serial(hidden // h_blk):
                    T.copy(kept[hb * h_blk:(hb + 1) * h_blk], out)
                    T.copy(norm_weight[hb * h_blk], w)
                    for h in T.Parallel(h_blk):
                        y[h] = T.Cast("float32", out[h]) * T.rsqrt(sq_total[0] / hidden + norm_eps)
                        out[h] = y[h] * T.Cast("float32", w[h])
                    T.copy(out, layer_input[t, hb * h_blk])

            if tid < 32:
                lane_sinkhorn(logits, comb_mix, t, tid, hc_sinkhorn_eps, sinkhorn_repeat)
            if use_pdl:
                T.pdl_trigger()

    return mhc_pre_big_fuse


def pre_big_fuse_kernel(n: int, hidden: int, with_norm: bool, target: Target):
    return compile_cached("pre_big_fuse", (n, hidden, with_norm),
                          lambda: build_pre_big_fuse(n, hidden, with_norm, target.pdl), target)
