"""Planted races in our TileLang kernels: GPU mutants that prove the stress runner catches such bugs.

Clearly not the real kernels (names start with ``race-tilelang-``; never built-in backends: load
them as ``mhc_kernels.tilelang.planted:<Class>``). Each is the healthy backend with one planted bug:

  SplitKNoAtomic      two CTAs per split each add half of the K range into the same output with a
                      plain read-modify-write (no atomics): an update is lost when they overlap.
  WorkspaceNotZeroed  the same two CTAs add atomically, into an output the host never zeroed.
  TailSkipsRows       the tail token block (T not a multiple of block_m) does not write its last row.
  Int32Offset         hc_post computes its residual offsets in 32 bits: past 2^31 elements they
                      wrap (emulated as the offset modulo 2^31, so the read stays inside the tensor
                      and the wrong values, not a crash, show it).
"""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

import torch

from mhc_kernels.tilelang._build import compile_cached, hidden_block, threads_for
from mhc_kernels.tilelang.backend import GemmSchedule, TileLangBackend


class _PlantedGemm(TileLangBackend):
    """The healthy GEMM path with the planted kernel: the kernel's default tunables, no chunks (the
    planted kernel itself runs two CTAs per split), fn split on every call, and outputs zeroed first
    where the planted kernel adds into them."""

    planted = ""
    zero_outputs = False

    def gemm_schedule(self, tokens, n, hidden, n_splits, reduce, device):
        from mhc_kernels.tilelang.gemm import block_m_for

        return GemmSchedule(block_m_for(tokens), {}, 1)

    def _gemm_output(self, shape, device):
        return (torch.zeros if self.zero_outputs else torch.empty)(shape, dtype=torch.float32, device=device)

    def _launch_gemm(self, x, fn, mixes, sqrsum, n, hidden, plan, early_trigger=False, tma=None):
        # the planted GEMMs have cp.async loads only; ``tma`` (never asked of them) is not honoured
        from mhc_kernels.tilelang.gemm import prenorm_gemm

        self._count(f"prenorm_gemm[planted={self.planted},block_m={plan.block_m}]")
        prenorm_gemm(x, fn, mixes, sqrsum, n, hidden, plan.block_m, self._target(), planted=self.planted)


class SplitKNoAtomic(_PlantedGemm):
    name = "race-tilelang-splitk-no-atomic"
    description = "PLANTED RACE: split-K halves added with a non-atomic read-modify-write"
    planted = "splitk_no_atomic"
    zero_outputs = True


class WorkspaceNotZeroed(_PlantedGemm):
    name = "race-tilelang-workspace-not-zeroed"
    description = "PLANTED BUG: split-K halves added atomically into an output nobody zeroed"
    planted = "workspace_not_zeroed"


class TailSkipsRows(_PlantedGemm):
    name = "race-tilelang-tail-skips-rows"
    description = "PLANTED BUG: the tail token block skips its last row"
    planted = "tail_skips_rows"
    zero_outputs = False


def build_hc_post_int32_offset(n: int, hidden: int, use_pdl: bool):
    import tilelang.language as T

    h_blk = hidden_block(hidden)
    threads = threads_for(h_blk)
    tokens = T.dynamic("tokens")
    numel = T.dynamic("numel")

    @T.prim_func
    def mhc_hc_post_int32_offset(x: T.Tensor((tokens, hidden), "bfloat16"),
                                 residual_flat: T.Tensor((numel,), "bfloat16"),
                                 post_mix: T.Tensor((tokens, n), "float32"),
                                 comb_mix: T.Tensor((tokens, n, n), "float32"),
                                 out: T.Tensor((tokens, n, hidden), "bfloat16")):
        with T.Kernel(tokens, threads=threads) as t:
            comb = T.alloc_fragment((n, n), "float32")
            post = T.alloc_fragment((n,), "float32")
            xb = T.alloc_fragment((h_blk,), "bfloat16")
            ob = T.alloc_fragment((n, h_blk), "bfloat16")
            T.copy(comb_mix[t, 0, 0], comb)
            T.copy(post_mix[t, 0], post)
            for hb in T.serial(hidden // h_blk):
                T.copy(x[t, hb * h_blk], xb)
                for j, h in T.Parallel(n, h_blk):
                    acc = T.alloc_var("float32")
                    acc = post[j] * xb[h]
                    for i in T.unroll(n):
                        # the bug: a 32-bit element offset (uint32 arithmetic, then the sign bit
                        # dropped: what an int32 offset that wrapped would address, kept in bounds)
                        off = (T.Cast("uint32", t) * T.uint32(n * hidden) + T.Cast("uint32", i * hidden + hb * h_blk + h)) \
                            & T.uint32(0x7FFFFFFF)
                        acc += comb[i, j] * residual_flat[off]
                    ob[j, h] = acc
                T.copy(ob, out[t, 0, hb * h_blk])

    return mhc_hc_post_int32_offset


class Int32Offset(TileLangBackend):
    name = "race-tilelang-int32-offset"
    description = "PLANTED BUG: hc_post addresses the residual with 32-bit offsets (wrong past 2^31 elements)"

    def hc_post(self, x, residual, post_mix, comb_mix):
        t, n, h = residual.shape
        out = torch.empty_like(residual)
        if t:
            self._count("hc_post[planted=int32_offset]")
            target = self._target()
            kernel = compile_cached("hc_post_int32_offset", (n, h),
                                    lambda: build_hc_post_int32_offset(n, h, False), target)
            kernel(x, residual.reshape(-1), post_mix.view(t, n), comb_mix, out)
        return out


PLANTED = (SplitKNoAtomic, WorkspaceNotZeroed, TailSkipsRows, Int32Offset)
