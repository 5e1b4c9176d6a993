"""Stream collapse: out[t, :] = sum_k w[t, k] * residual[t, k, :], one CTA per token.

Two weight sources, one kernel body:
  ``given``  w is an input [1, T, n] (the layer_input op: pre weights computed elsewhere);
  ``head``   w is computed in the kernel from the head GEMM's S split-K partials (hc_head):
             w_k = sigmoid(m_k * rsqrt(sqrsum / K + rms_eps) * hc_scale[0] + hc_base[k]) + hc_eps.
fp32 accumulation in a fixed order, one rounding to bf16. T dynamic; one compile per (mode, n, H).
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, compile_cached, hidden_block, threads_for


def collapse_block_macro(T, n: int, h_blk: int):
    """One block of ``h_blk`` columns of the stream collapse as a TileLang macro:
    out[h] = sum_k w[k] * res[k, h] in fp32 (from 0.0, k ascending), rounded once to out's dtype.
    Shared by collapse.py, pre.py's big fuse and decode.py's decode_pre / decode_head, so the same
    weights and residual give the same bits in each."""

    @T.macro
    def collapse_block(w, res, out):
        for h in T.Parallel(h_blk):
            acc = T.alloc_var("float32")
            acc = 0.0
            for k in T.unroll(n):
                acc += w[k] * res[k, h]
            out[h] = acc

    return collapse_block


def build_collapse(n: int, hidden: int, head: bool, use_pdl: bool, parts: int | None = None,
                   prefetch_residual: bool = False):
    """``parts`` (head only): the partials' count compiled in (TileLangDecode's middle path), the
    sums unrolled, the same adds in the same order; None: dynamic (the caller's splits).
    ``prefetch_residual`` (TileLangDecode.pdl_early_max_tokens, inside hc_head only): the first block of the
    residual loaded before the PDL wait (decode.build_decode_pre's argument: our GEMM before this
    kernel triggers only after its own wait). The same values: bitwise the same output."""
    import tilelang.language as T

    assert parts is None or head, "parts: the head weights' partials"

    k_total = n * hidden
    h_blk = hidden_block(hidden)
    threads = threads_for(h_blk)
    collapse_block = collapse_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")
    splits = T.dynamic("splits") if parts is None else parts
    split_loop = T.serial if parts is None else T.unroll

    @T.prim_func
    def mhc_collapse(weights_or_mixes: T.Tensor((splits, tokens, n), "float32"),
                     sqrsum: T.Tensor((splits, tokens), "float32"),
                     hc_scale: T.Tensor((1,), "float32"),
                     hc_base: T.Tensor((n,), "float32"),
                     residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                     out: T.Tensor((tokens, hidden), "bfloat16"),
                     rms_eps: T.float32, hc_eps: T.float32):
        with T.Kernel(tokens, threads=threads) as t:
            tid = T.get_thread_binding()
            w = T.alloc_shared((n,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            ob = T.alloc_fragment((h_blk,), "bfloat16")
            if prefetch_residual:
                T.copy(residual[t, 0, 0], res)
            if use_pdl:
                T.pdl_sync()
            if tid < n:
                if head:  # sum the GEMM's split-K partials in split order, then the head weights
                    sq = T.alloc_var("float32")
                    m = T.alloc_var("float32")
                    sq = 0.0
                    m = 0.0
                    for s in split_loop(splits):
                        sq += sqrsum[s, t]
                        m += weights_or_mixes[s, t, tid]
                    w[tid] = T.sigmoid(m * T.rsqrt(sq / k_total + rms_eps) * hc_scale[0] + hc_base[tid]) + hc_eps
                else:
                    w[tid] = weights_or_mixes[0, t, tid]
            T.sync_threads()
            for hb in T.serial(hidden // h_blk):
                if prefetch_residual:
                    if hb > 0:
                        T.copy(residual[t, 0, hb * h_blk], res)
                else:
                    T.copy(residual[t, 0, hb * h_blk], res)
                collapse_block(w, res, ob)
                T.copy(ob, out[t, hb * h_blk])
            if use_pdl:
                T.pdl_trigger()

    return mhc_collapse


def collapse_kernel(n: int, hidden: int, head: bool, target: Target, parts: int | None = None,
                    prefetch_residual: bool = False):
    key = (n, hidden, head) + (() if parts is None else (("parts", parts),)) \
        + (("prefetch_residual",) if prefetch_residual else ())
    return compile_cached("collapse", key,
                          lambda: build_collapse(n, hidden, head, target.pdl, parts, prefetch_residual), target)
