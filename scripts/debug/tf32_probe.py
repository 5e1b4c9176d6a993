"""Does a TF32 GEMM truncate its fp32 operands or round them? One GPU run, about a minute.

    source scripts/device_env.sh && python scripts/debug/tf32_probe.py [--backend sglang-tilelang]
        [--tokens 64,4096] [--hidden 7168] [--seed 0]
    python scripts/debug/tf32_probe.py --cpu-selftest        # the emulation on known bit patterns

Why: sglang-tilelang is flagged *biased* at depth (its residual drifts toward zero at layer 1 on an
H200). Hypothesis: its prenorm GEMM (T.gemm on fp32 operands: TF32 tensor cores) drops the low 13
mantissa bits of fn instead of rounding them, which shrinks every mix logit by ~3.5e-4 relative
(tests/test_depth_tf32.py: a CPU kernel that does exactly that is flagged the same way; one that
rounds to nearest is not).

What it runs, for the backend's prenorm_gemm (mhc_verify.registry; sglang-tilelang's op calls
SGLang's _mhc_pre_gemm_sqrsum_dispatch, the GEMM mhc_pre runs above 2048 tokens and the fused
post+pre above 32) and, as a control, torch's own TF32 matmul (allow_tf32 on, fp32 x @ fn.T):

1. one-hot probe (decisive, bitwise): x's rows are one-hot (a single 1.0), so each output is one
   product 1.0 * fn[m, k] plus exact zeros: the kernel's value IS its converted fn value. fn's
   low 13 bits are planted: zero, below half, exactly half with even and odd kept LSB, above half,
   all ones, both signs. Prints the fraction of outputs bitwise equal to fn converted by each mode
   (exact, truncate, nearest-even, nearest-away); one mode at 100 % is the answer.
2. random inputs (mhc_verify.bench.make_inputs: x ~ N(0, 1) in bf16, fn ~ N(0, 1e-3^2)), T = each
   --tokens: the kernel's split partials summed in float64, against float64 x @ conv(fn).T for each
   mode: the signed relative shift (mean of (kernel - ref) * sign(ref) over mean |ref|: negative is
   toward zero), the least-squares slope - 1 of kernel on ref, RMS and max abs error, and the
   fraction bitwise equal to the ref rounded to fp32 (accumulation order differs: expect
   "closest", not equal). The mode with the smallest RMS error is printed as CLOSEST.

x is bf16, which TF32 represents exactly: only fn's conversion shows. The emulation is
mhc_verify.tf32 (the same functions the planted CPU kernels use).
"""

from __future__ import annotations

import argparse
import sys

import torch

from mhc_verify.tf32 import MODES, tf32

N = 4  # DeepSeek-V4's n; M = n*n + 2n = 24 mix rows
M = N * N + 2 * N


# -- the self-test: known bit patterns ------------------------------------------------------------
def _f(bits: int) -> torch.Tensor:
    return torch.tensor([bits], dtype=torch.int64).to(torch.int32).view(torch.float32)


def _bits_of(v: torch.Tensor) -> int:
    return int(v.view(torch.int32).item()) & 0xFFFFFFFF


# (fp32 pattern, truncate, nearest-even, nearest-away): low 13 bits 0x1000 is exactly half an ulp
_CASES = [
    (0x3F800000, 0x3F800000, 0x3F800000, 0x3F800000),  # 1.0: exact
    (0x3F800FFF, 0x3F800000, 0x3F800000, 0x3F800000),  # below half: all round down
    (0x3F801000, 0x3F800000, 0x3F800000, 0x3F802000),  # tie, kept LSB even: even stays, away goes up
    (0x3F803000, 0x3F802000, 0x3F804000, 0x3F804000),  # tie, kept LSB odd: both nearest go up
    (0x3F801001, 0x3F800000, 0x3F802000, 0x3F802000),  # just above half
    (0x3F9FFFFF, 0x3F9FE000, 0x3FA00000, 0x3FA00000),  # all dropped bits set: carry into the kept bits
    (0x3FFFFFFF, 0x3FFFE000, 0x40000000, 0x40000000),  # carry into the exponent (-> 2.0)
    (0xBF801001, 0xBF800000, 0xBF802000, 0xBF802000),  # negative: truncation is toward zero
    (0xBF801000, 0xBF800000, 0xBF800000, 0xBF802000),  # negative tie, even
    (0x7F7FFFFF, 0x7F7FE000, 0x7F800000, 0x7F800000),  # largest finite: nearest overflows to inf
    (0x00000001, 0x00000000, 0x00000000, 0x00000000),  # smallest subnormal
    (0x00001000, 0x00000000, 0x00000000, 0x00002000),  # subnormal tie
    (0x80000000, 0x80000000, 0x80000000, 0x80000000),  # -0.0
    (0x7F800000, 0x7F800000, 0x7F800000, 0x7F800000),  # inf unchanged
    (0xFF800000, 0xFF800000, 0xFF800000, 0xFF800000),  # -inf unchanged
]


def cpu_selftest() -> int:
    failures = []
    for pattern, *want in _CASES:
        for mode, expected in zip(("truncate", "nearest", "nearest_away"), want):
            got = _bits_of(tf32(_f(pattern), mode))
            if got != expected:
                failures.append(f"{mode}(0x{pattern:08X}) = 0x{got:08X}, expected 0x{expected:08X}")
    nan = torch.tensor([float("nan")])
    for mode in MODES:
        if not torch.isnan(tf32(nan, mode)).all():
            failures.append(f"{mode}(nan) is not nan")
    # properties on random finite patterns: every mode lands on the TF32 grid, within one TF32 ulp;
    # truncation never grows |v|; nearest is within half an ulp; rounding is unbiased, truncation is not
    g = torch.Generator().manual_seed(0)
    v = torch.randn(1 << 16, generator=g) * torch.exp2(torch.randint(-60, 60, (1 << 16,), generator=g).float())
    ulp = torch.ldexp(torch.ones_like(v), torch.frexp(v)[1] - 11).double()
    for mode in ("truncate", "nearest", "nearest_away"):
        c = tf32(v, mode)
        if (c.view(torch.int32) & 0x1FFF).any():
            failures.append(f"{mode}: low 13 bits not cleared")
        err = (c.double() - v.double()).abs()
        limit = ulp if mode == "truncate" else ulp / 2
        if not (err <= limit).all():
            failures.append(f"{mode}: an error beyond {'one' if mode == 'truncate' else 'half a'} TF32 ulp")
    if not (tf32(v, "truncate").abs() <= v.abs()).all():
        failures.append("truncate grew a magnitude")
    rel = {mode: float(((tf32(v, mode).double() - v.double()) / v.double()).mean()) for mode in MODES[1:]}
    if not (-4.5e-4 < rel["truncate"] < -2.5e-4 and abs(rel["nearest"]) < 1e-5):
        failures.append(f"mean relative change {rel}: truncation should be ~ -3.5e-4, rounding ~ 0")
    # cross-check nearest-even against the mutants' float round_mantissa (frexp-based), normal values
    from mhc_kernels.mutants._base import round_mantissa

    if not torch.equal(tf32(v, "nearest"), round_mantissa(v, 11)):
        failures.append("nearest differs from mhc_kernels.mutants._base.round_mantissa(v, 11)")
    # the probe's own verdicts on emulated kernels (fp32 products of converted operands, on the CPU)
    from mhc_verify.bench import make_inputs

    cpu = torch.device("cpu")
    x, fn = (lambda i: (i["x"], i["fn"]))(make_inputs("prenorm_gemm", 64, 1024, 1, cpu)[0])
    for mode in ("truncate", "nearest", "nearest_away", "exact"):
        emulated = (lambda m: lambda a, b: (a.float() @ tf32(b, m).T).double())(mode)
        hot = one_hot_probe(f"emulated {mode}", emulated, 64, 4 * 1024, cpu, torch.Generator().manual_seed(1))
        if hot != mode:
            failures.append(f"one-hot probe calls an emulated {mode} kernel {hot}")
        if mode in ("truncate", "exact"):  # the random probe cannot tell the two nearest modes apart
            closest = random_probe(f"emulated {mode}", emulated, x, fn)
            if closest != mode:
                failures.append(f"random probe calls an emulated {mode} kernel {closest}")
    for f in failures:
        print("FAIL", f)
    print(f"cpu selftest: {len(_CASES)} bit patterns x 3 modes, NaN, 65 536 random values; "
          f"mean relative change {', '.join(f'{k} {x:+.2e}' for k, x in rel.items())}: "
          + ("FAILED" if failures else "ok"))
    return 1 if failures else 0


# -- the GPU probe ----------------------------------------------------------------------------------
def _kernel_mixes(backend, x: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    """The backend's prenorm_gemm mixes [T, M], split partials summed in float64."""
    out = backend.run("prenorm_gemm", {"x": x, "fn": fn}, {"n_splits": 1})
    return out["mixes_partial"].double().sum(0)


def _torch_tf32_mixes(x: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        return (x.float() @ fn.T).double()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


def _planted_fn(k: int, device, g: torch.Generator) -> torch.Tensor:
    """fn [M, k] fp32 ~ N(0, 1e-3^2) with the low 13 bits of each value set to a planted pattern."""
    fn = torch.randn(M, k, generator=g, device=device) * 1e-3
    lows = torch.tensor([0x0000, 0x0001, 0x0800, 0x0FFF, 0x1000, 0x1001, 0x1800, 0x1FFF], device=device)
    pick = torch.randint(0, len(lows), (M, k), generator=g, device=device)
    bits = (fn.view(torch.int32) & ~0x1FFF) | lows[pick].to(torch.int32)
    # half of the ties with an odd kept LSB, so ties-to-even and ties-away differ on some of them
    odd = torch.randint(0, 2, (M, k), generator=g, device=device).to(torch.int32) << 13
    bits = (bits & ~(1 << 13)) | odd
    return bits.view(torch.float32)


def one_hot_probe(name: str, mixes_of, t: int, k: int, device, g: torch.Generator) -> str:
    fn = _planted_fn(k, device, g)
    cols = torch.randperm(k, generator=g, device=device)[:t]
    x = torch.zeros(t, k, device=device, dtype=torch.bfloat16)
    x[torch.arange(t, device=device), cols] = 1.0
    got = mixes_of(x, fn).float()  # exact in fp32: one product plus zeros
    picked = fn[:, cols].T.contiguous()  # [t, M]
    shares = {mode: float((got.view(torch.int32) == tf32(picked, mode).view(torch.int32)).double().mean())
              for mode in MODES}
    best = max(shares, key=shares.get)
    print(f"  {name:18s} one-hot T={t}: bitwise equal to fn converted by "
          + ", ".join(f"{mode} {100 * share:.2f} %" for mode, share in shares.items()) + f"  -> {best.upper()}")
    return best


def random_probe(name: str, mixes_of, x: torch.Tensor, fn: torch.Tensor) -> str:
    got = mixes_of(x, fn)
    xd = x.double()
    rows = []
    for mode in MODES:
        ref = xd @ tf32(fn, mode).double().T
        diff = got - ref
        shift = float((diff * ref.sign()).mean() / ref.abs().mean())
        slope = float((got * ref).sum() / (ref * ref).sum()) - 1
        rms = float(diff.square().mean().sqrt() / ref.square().mean().sqrt())
        rows.append((mode, shift, slope, rms, float(diff.abs().max()),
                     float((got.float() == ref.float()).double().mean())))
    print(f"  {name:18s} random T={x.shape[0]}:")
    for mode, shift, slope, rms, max_abs, equal in rows:
        print(f"    vs {mode:12s}: signed rel shift {shift:+.3e}  LS slope-1 {slope:+.3e}  RMS rel err {rms:.3e}  "
              f"max abs err {max_abs:.3e}  bitwise equal (fp32) {100 * equal:.2f} %")
    closest = min(rows, key=lambda r: r[3])[0]
    print(f"    CLOSEST: {closest.upper()}")
    return closest


def gpu_probe(backend_name: str, tokens: list[int], hidden: int, seed: int) -> int:
    from mhc_verify.bench import make_inputs
    from mhc_verify.registry import discover, select

    if not torch.cuda.is_available():
        print("no CUDA device (use --cpu-selftest on a CPU machine)")
        return 2
    (info,) = select([backend_name], discover([backend_name] if ":" in backend_name else [])).values()
    if not info.available:
        print(f"backend {info.name} unavailable: {info.reason}")
        return 2
    backend = info.backend
    if "prenorm_gemm" not in info.implements:
        print(f"backend {info.name} has no prenorm_gemm")
        return 2
    device = torch.device("cuda")
    prec = backend.precision_for("prenorm_gemm")
    print(f"device {torch.cuda.get_device_name()}; torch {torch.__version__}; backend {info.name} "
          f"(declares matmul={prec.matmul}); H = {hidden}, n = {N}, K = {N * hidden}, M = {M}")
    print(f"torch.backends.cuda.matmul.allow_tf32 outside the control: {torch.backends.cuda.matmul.allow_tf32}")
    candidates = [(info.name, lambda x, fn: _kernel_mixes(backend, x, fn)), ("torch tf32 (ctrl)", _torch_tf32_mixes)]
    g = torch.Generator(device=device).manual_seed(seed)
    for name, mixes_of in candidates:
        one_hot_probe(name, mixes_of, min(tokens), N * hidden, device, g)
    for t in tokens:
        inputs, _ = make_inputs("prenorm_gemm", t, hidden, 1, device)
        for name, mixes_of in candidates:
            random_probe(name, mixes_of, inputs["x"], inputs["fn"])
        torch.cuda.synchronize()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cpu-selftest", action="store_true", help="check the TF32 emulation on known bit patterns")
    p.add_argument("--backend", default="sglang-tilelang")
    p.add_argument("--tokens", default="64,4096", help="comma-separated token counts")
    p.add_argument("--hidden", type=int, default=7168)
    p.add_argument("--seed", type=int, default=0, help="seed of the one-hot probe's planted fn")
    args = p.parse_args(argv)
    if args.cpu_selftest:
        return cpu_selftest()
    return gpu_probe(args.backend, [int(t) for t in args.tokens.split(",")], args.hidden, args.seed)


if __name__ == "__main__":
    sys.exit(main())
