"""``tilelang-pre-overlap``: TileLangBackend with the fused pre's Sinkhorn beside its collapse (opt-in).

Load it as ``--backend mhc_kernels.tilelang.pre_overlap_backend:TileLangPreOverlap``. Every op is
TileLangBackend's, except that pre_big_fuse (and so mhc_pre and fused_post_pre, which call it)
launches pre_overlap.pre_big_fuse_overlap instead of pre.pre_big_fuse: warp 0 sums the partials,
forms the mixes and runs Sinkhorn while four more warps collapse the residual streams (and finish
the RMSNorm), the same operations in the same order per output element as pre.py's kernel, so the
outputs are meant to be bitwise the same (checked on the CPU by tests/test_tilelang_pre_overlap.py,
on a GPU by scripts/debug/pre_overlap_check.py). Nothing here is a default.
"""

from __future__ import annotations

import torch

from mhc_kernels.tilelang.backend import TileLangBackend


class TileLangPreOverlap(TileLangBackend):
    name = "tilelang-pre-overlap"
    description = "our TileLang kernels, the fused pre with Sinkhorn overlapping the collapse"
    # With norm_weight, where the bf16 collapse waits for the sum of squares: shared memory (fewer
    # registers, more CTAs per SM) or registers (pre_overlap.pre_big_fuse_overlap_kernel).
    kept_in_shared = True

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        from mhc_kernels.tilelang.pre_overlap import pre_big_fuse_overlap_kernel

        t, n, h = residual.shape
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            with_norm = norm_weight is not None
            self._count(f"pre_big_fuse_overlap[norm={with_norm},kept_in_shared={self.kept_in_shared}]")
            weight = norm_weight if with_norm else self._no_norm_weight(h, residual.device)
            pre_big_fuse_overlap_kernel(n, h, with_norm, self._target(), self.kept_in_shared)(
                mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, weight, post, comb, layer_input,
                float(rms_eps), float(hc_pre_eps), float(hc_sinkhorn_eps), float(hc_post_mult_value),
                int(sinkhorn_repeat), float(norm_eps))
        return post.unsqueeze(-1), comb, layer_input

