"""``tilelang-pre-overlap``: TileLangBackend with the fused pre's Sinkhorn beside its collapse (opt-in).

Load it as ``--backend mhc_kernels.tilelang.pre_overlap_backend:TileLangPreOverlap``. Every op is
TileLangBackend's, except that pre_big_fuse (and so mhc_pre and fused_post_pre, which call it)
launches pre_overlap.pre_big_fuse_overlap instead of pre.pre_big_fuse: warp 0 sums the partials,
forms the mixes and runs Sinkhorn while four more warps collapse the residual streams (and finish
the RMSNorm), the same operations in the same order per output element as pre.py's kernel, so the
outputs are meant to be bitwise the same (checked on the CPU by tests/test_tilelang_pre_overlap.py,
on a GPU by scripts/debug/pre_overlap_check.py). This class is a probe (the kernel at every T on
the base path); the default `tilelang` runs the kernel on its middle path (decode_backend.py).
"""

from __future__ import annotations

from mhc_kernels.tilelang.backend import TileLangBackend


class TileLangPreOverlap(TileLangBackend):
    name = "tilelang-pre-overlap"
    description = "our TileLang kernels, the fused pre with Sinkhorn overlapping the collapse"
    # With norm_weight, where the bf16 collapse waits for the sum of squares: shared memory (fewer
    # registers, more CTAs per SM) or registers (pre_overlap.pre_big_fuse_overlap_kernel).
    kept_in_shared = True

    def _pre_big_fuse_kernel(self, n: int, hidden: int, with_norm: bool):
        from mhc_kernels.tilelang.pre_overlap import pre_big_fuse_overlap_kernel

        self._count(f"pre_big_fuse_overlap[norm={with_norm},kept_in_shared={self.kept_in_shared}]")
        return pre_big_fuse_overlap_kernel(n, hidden, with_norm, self._target(), self.kept_in_shared)
