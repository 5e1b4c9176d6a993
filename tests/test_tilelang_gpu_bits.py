"""On a GPU: the prenorm_gemm op's pipeline depth changes its speed, never its bits.

The op runs a 3-stage cp.async pipeline (one CTA per SM), the fused pre's GEMM a 2-stage one (two per
SM): the same K tiles, threads and k16 order (kernels/tilelang/gemm.py), so their partials must be
bitwise equal. A difference means the depth changed the arithmetic, e.g. a stage read before its copy
landed. Without a GPU these skip with the backend's reason; --require-backend tilelang fails them.
"""

import pytest
import torch

N = 4


@pytest.mark.parametrize("tokens,hidden,splits", [(4093, 7168, 4), (1024, 7168, 1), (4096, 4096, 4),
                                                  (80_000, 4096, 1)])
def test_three_and_two_stage_pipelines_give_the_same_bits(mhc_backend, tokens, hidden, splits):
    backend = mhc_backend("tilelang")
    two_stages = backend.stress_variants("prenorm_gemm")["two-ctas-per-sm"]
    g = torch.Generator(device="cuda").manual_seed(tokens)
    # per-token magnitudes: a row that got a neighbour's sum of squares shows
    x = (torch.randn(tokens, N * hidden, device="cuda", generator=g)
         * torch.exp(2 * torch.randn(tokens, 1, device="cuda", generator=g))).to(torch.bfloat16)
    fn = torch.randn(N * N + 2 * N, N * hidden, device="cuda", generator=g) * 1e-2
    plans = [b.gemm_schedule(tokens, N, hidden, splits, True, x.device) for b in (backend, two_stages)]
    assert [p.tunables["num_stages"] for p in plans] == [3, 2], plans
    three = backend.prenorm_gemm(x, fn, splits)
    two = two_stages.prenorm_gemm(x, fn, splits)
    for name, a, b in zip(("mixes", "sqrsum"), three, two):
        assert a.shape == b.shape and torch.isfinite(a).all(), name
        differ = int((a != b).sum())
        assert differ == 0, f"{name}: {differ} of {a.numel()} elements differ between 3 and 2 stages"
