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


def _special_fp32() -> torch.Tensor:
    """Zeros, subnormals, the bf16 rounding boundaries, huge values, inf, NaN, and random normals."""
    g = torch.Generator().manual_seed(2)
    tiny = torch.finfo(torch.float32).tiny
    special = torch.tensor([0.0, -0.0, tiny, -tiny, tiny / 2, tiny / 1024, 1.4e-45, -1.4e-45, 1.0, -1.0,
                            1.0 + 2.0 ** -8, 1.0 + 2.0 ** -9, 1.0 + 3 * 2.0 ** -9, 3.3895e38, -3.4028235e38,
                            3.4028235e38, float("inf"), float("-inf"), float("nan")])
    bits = torch.randint(-2 ** 31, 2 ** 31 - 1, (4096,), generator=g, dtype=torch.int64).to(torch.int32)
    random_bits = bits.view(torch.float32)  # every class of fp32, NaN payloads and subnormals included
    normals = torch.randn(4096, generator=g) * torch.exp2(torch.randint(-126, 127, (4096,), generator=g).float())
    return torch.cat([special, random_bits, normals])


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a.view(torch.int16), b.view(torch.int16))


def test_stacked_split_of_the_kernel_is_split3_bitwise():
    """kernels/tilelang/gemm.py split_fn_reference (what the split_fn kernel computes) stacks exactly
    split3's pieces: rows [0, M) hi, [M, 2M) mid, [2M, 3M) lo, then zero rows to a multiple of 16."""
    from mhc_kernels.tilelang.gemm import fn3_rows, split_fn_reference

    values = _special_fp32()
    for m in (24, 4):
        cols = -(-values.numel() // m)
        f = torch.cat([values, values[: m * cols - values.numel()]]).view(m, cols)
        fn3 = split_fn_reference(f)
        hi, mid, lo = split3(f)
        assert fn3.shape == (fn3_rows(m), cols) and fn3.dtype == torch.bfloat16
        assert _same_bits(fn3[:m], hi) and _same_bits(fn3[m:2 * m], mid) and _same_bits(fn3[2 * m:3 * m], lo)
        assert not fn3[3 * m:].view(torch.int16).any()


def test_one_gemm_over_the_stacked_pieces_is_the_three_gemms():
    """The kernel multiplies x by all stacked pieces in one GEMM and combines columns j, M + j, 2M + j."""
    from mhc_kernels.tilelang.gemm import split_fn_reference

    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 512, generator=g).to(torch.bfloat16)
    x[3, 7] = float("inf")
    x[5, 9] = float("nan")
    fn = torch.randn(24, 512, generator=g)
    fn[2, 7] = float("inf")
    acc = x.double() @ split_fn_reference(fn).double().T
    m = fn.shape[0]
    hi, mid, lo = acc[:, :m], acc[:, m:2 * m], acc[:, 2 * m:3 * m]
    got = torch.where(torch.isfinite(hi), (hi + mid) + lo, hi).float()
    want = _emulated_gemm(x, fn)
    assert bool(((got == want) | (torch.isnan(got) & torch.isnan(want))).all())
