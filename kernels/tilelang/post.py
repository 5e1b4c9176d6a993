"""hc_post: out[t, j, :] = post[t, j] * x[t, :] + sum_i comb[t, i, j] * residual[t, i, :].

One CTA per token (T is dynamic: one compile per (n, H)); the hidden dimension is walked in
blocks of up to 1024 elements, 8 bf16 per thread, each output element computed in fp32 with the
n+1 products accumulated in a fixed order, then rounded once to bf16 (round to nearest even).
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

from mhc_kernels.tilelang._build import Target, compile_cached, hidden_block, threads_for


def post_block_macro(T, n: int, h_blk: int):
    """One block of ``h_blk`` columns of hc_post as a TileLang macro: out[j, h] = post[j] * x[h]
    + sum_i comb[i, j] * res[i, h] in fp32 (i ascending), rounded once to ob's dtype. Shared by
    post.py and decode.py's hc_post_wide: the same arithmetic per element, the same bits."""

    @T.macro
    def post_block(comb, post, res, xb, ob):
        for j, h in T.Parallel(n, h_blk):
            acc = T.alloc_var("float32")
            acc = post[j] * xb[h]
            for i in T.unroll(n):
                acc += comb[i, j] * res[i, h]
            ob[j, h] = acc

    return post_block


def build_hc_post(n: int, hidden: int, use_pdl: bool):
    import tilelang.language as T

    h_blk = hidden_block(hidden)
    threads = threads_for(h_blk)
    post_block = post_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")

    @T.prim_func
    def mhc_hc_post(x: T.Tensor((tokens, hidden), "bfloat16"),
                    residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                    post_mix: T.Tensor((tokens, n), "float32"),
                    comb_mix: T.Tensor((tokens, n, n), "float32"),
                    out: T.Tensor((tokens, n, hidden), "bfloat16")):
        with T.Kernel(tokens, threads=threads) as t:
            comb = T.alloc_fragment((n, n), "float32")
            post = T.alloc_fragment((n,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            xb = T.alloc_fragment((h_blk,), "bfloat16")
            ob = T.alloc_fragment((n, h_blk), "bfloat16")
            if use_pdl:
                T.pdl_sync()  # the mixes come from the previous kernel
            T.copy(comb_mix[t, 0, 0], comb)
            T.copy(post_mix[t, 0], post)
            for hb in T.serial(hidden // h_blk):
                T.copy(residual[t, 0, hb * h_blk], res)
                T.copy(x[t, hb * h_blk], xb)
                post_block(comb, post, res, xb, ob)
                T.copy(ob, out[t, 0, hb * h_blk])
            if use_pdl:
                T.pdl_trigger()

    return mhc_hc_post


def hc_post_kernel(n: int, hidden: int, target: Target):
    return compile_cached("hc_post", (n, hidden), lambda: build_hc_post(n, hidden, target.pdl), target)
