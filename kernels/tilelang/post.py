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


def build_hc_post(n: int, hidden: int, use_pdl: bool, stages: int | None = None):
    """One CTA per token over H in 1024-column blocks (module docstring). ``stages`` None: each block loaded
    straight into registers, computed and stored before the next block's loads issue (the stores may alias them for
    nvcc): seven dependent L2 round trips a token at H = 7168.

    ``stages`` (TileLangDecode.hc_post_pipelined_tokens' kernel, ``mhc_hc_post_pipelined``): each block's residual
    and x staged through shared memory by a ``stages``-deep cp.async pipeline (T.Pipelined), block b + 1's loads in
    flight while block b is computed and stored. vLLM's kernel (one CTA per token, its blocks through shared memory
    without a pipeline) led hc_post_wide by 2-4 % at 256 x 7168 in three H100 repeats
    (results/gpu/2026-12-07-h100-engines-24); this one took 0.934 x hc_post_wide's time there (-25). The same
    per-element arithmetic (post_block_macro) on the same values: bitwise the output without stages."""
    import tilelang.language as T

    if stages is not None and stages < 1:
        raise ValueError(f"stages={stages}: at least one")
    h_blk = hidden_block(hidden)
    threads = threads_for(h_blk)
    post_block = post_block_macro(T, n, h_blk)
    tokens = T.dynamic("tokens")
    pipelined = stages is not None

    @T.prim_func
    def mhc_hc_post(x: T.Tensor((tokens, hidden), "bfloat16"),
                    residual: T.Tensor((tokens, n, hidden), "bfloat16"),
                    post_mix: T.Tensor((tokens, n), "float32"),
                    comb_mix: T.Tensor((tokens, n, n), "float32"),
                    out: T.Tensor((tokens, n, hidden), "bfloat16")):
        with T.Kernel(tokens, threads=threads) as t:
            if pipelined:
                res_sh = T.alloc_shared((n, h_blk), "bfloat16")
                x_sh = T.alloc_shared((h_blk,), "bfloat16")
            comb = T.alloc_fragment((n, n), "float32")
            post = T.alloc_fragment((n,), "float32")
            res = T.alloc_fragment((n, h_blk), "bfloat16")
            xb = T.alloc_fragment((h_blk,), "bfloat16")
            ob = T.alloc_fragment((n, h_blk), "bfloat16")
            if use_pdl:
                T.pdl_sync()  # the mixes come from the previous kernel
            T.copy(comb_mix[t, 0, 0], comb)
            T.copy(post_mix[t, 0], post)
            if pipelined:
                for hb in T.Pipelined(hidden // h_blk, num_stages=stages):
                    T.copy(residual[t, 0, hb * h_blk], res_sh)
                    T.copy(x[t, hb * h_blk], x_sh)
                    T.copy(res_sh, res)
                    T.copy(x_sh, xb)
                    post_block(comb, post, res, xb, ob)
                    T.copy(ob, out[t, 0, hb * h_blk])
            else:
                for hb in T.serial(hidden // h_blk):
                    T.copy(residual[t, 0, hb * h_blk], res)
                    T.copy(x[t, hb * h_blk], xb)
                    post_block(comb, post, res, xb, ob)
                    T.copy(ob, out[t, 0, hb * h_blk])
            if use_pdl:
                T.pdl_trigger()

    return mhc_hc_post.with_attr("global_symbol", "mhc_hc_post_pipelined") if pipelined else mhc_hc_post


def hc_post_kernel(n: int, hidden: int, target: Target):
    return compile_cached("hc_post", (n, hidden), lambda: build_hc_post(n, hidden, target.pdl), target)


def hc_post_pipelined_kernel(n: int, hidden: int, target: Target, stages: int):
    """build_hc_post's ``stages``-deep pipelined kernel, one compile per (n, H, stages)."""
    return compile_cached("hc_post_pipelined", (n, hidden, ("stages", stages)),
                          lambda: build_hc_post(n, hidden, target.pdl, stages), target)
