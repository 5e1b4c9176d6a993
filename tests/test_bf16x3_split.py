"""The arithmetic of our TileLang prenorm GEMM, emulated on the CPU with torch's own bf16 rounding.

The kernel splits each fp32 fn into hi + mid + lo bf16 pieces (each round-to-nearest-even, rest =
f - hi, with an infinite f kept whole in hi) and multiplies bf16 x by each piece. These tests check
the claim the backend declares (``matmul="bf16x3"``: the products are those of fp32 x*fn) and the
non-finite rule of ``exact_sum`` (the hi product alone where it is not finite).
"""

import torch


def split3(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    hi = f.to(torch.bfloat16)
    rest = torch.where(hi.float() == f, torch.zeros_like(f), f - hi.float())
    mid = rest.to(torch.bfloat16)
    lo = (rest - mid.float()).to(torch.bfloat16)
    return hi, mid, lo


def test_three_bf16_pieces_hold_every_normal_fp32_exactly():
    g = torch.Generator().manual_seed(0)
    f = torch.randn(1 << 16, generator=g) * torch.exp2(torch.randint(-100, 100, (1 << 16,), generator=g).float())
    hi, mid, lo = split3(f)
    back = hi.double() + mid.double() + lo.double()
    assert torch.equal(back, f.double())


def test_products_with_bf16_x_are_the_fp32_products():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4096, generator=g).to(torch.bfloat16)
    f = torch.randn(4096, generator=g)
    hi, mid, lo = split3(f)
    # each bf16 x bf16 product is exact in fp32 (8 + 8 significant bits); their float64 sum is x*f
    pieces = [(x.float() * p.float()).double() for p in (hi, mid, lo)]
    assert torch.equal(pieces[0] + pieces[1] + pieces[2], x.double() * f.double())


def _emulated_gemm(x: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """x [T, K] bf16, fn [M, K] fp32 -> fp32 [T, M] as the kernel forms it (float64 sums stand in for
    the tensor cores' fp32 accumulation; the non-finite logic is what is under test)."""
    hi, mid, lo = split3(fn)
    acc = [x.double() @ p.double().T for p in (hi, mid, lo)]
    total = (acc[0] + acc[1]) + acc[2]
    return torch.where(torch.isfinite(acc[0]), total, acc[0]).float()


def test_non_finite_x_and_fn_give_the_fp32_product():
    x = torch.tensor([[1.0, float("inf"), 2.0], [1.0, -3.0, 0.5], [float("nan"), 1.0, 1.0],
                      [0.0, 1.0, 1.0]]).to(torch.bfloat16)
    fn = torch.tensor([[0.1, 0.0, 0.3], [0.1, 0.2, 0.3], [float("inf"), 0.2, 0.3]])
    want = (x.double() @ fn.double().T).float()
    got = _emulated_gemm(x, fn)
    same = (got == want) | (torch.isnan(got) & torch.isnan(want))
    assert bool(same.all()), f"\n{got}\n{want}"


def test_without_the_rule_a_zero_piece_turns_inf_into_nan():
    """Why exact_sum exists: inf * (a zero lo piece) is NaN where the fp32 product is inf."""
    x = torch.tensor([[float("inf"), 1.0]]).to(torch.bfloat16)
    fn = torch.tensor([[0.5, 0.25]])  # exactly bf16: mid = lo = 0
    hi, mid, lo = split3(fn)
    naive = (x.double() @ hi.double().T) + (x.double() @ mid.double().T) + (x.double() @ lo.double().T)
    assert torch.isnan(naive).all() and torch.isinf(_emulated_gemm(x, fn)).all()
