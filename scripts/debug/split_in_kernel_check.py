"""Why did mid_probes.TileLangTwentieth (fn split from fp32 inside the TMA GEMM: gemm.build_prenorm_gemm's
split_in_kernel) fail its gate and run 1.6-6 x slower (results/gpu/2026-12-06-h100-engines-17, call 1), while
tests/test_tilelang_gpu_bits.py's split tests passed? One GPU run:

    source scripts/device_env.sh && python scripts/debug/split_in_kernel_check.py [--quick]
    compute-sanitizer --tool memcheck python scripts/debug/split_in_kernel_check.py --quick

Sections, each case in its own try (one crash hides nothing):

1. kernel: the split TMA GEMM against the cp.async GEMM on split_fn's fn3, on the failing cases' inputs
   (mhc_verify.cases.build_inputs: the stress case mhc_pre 32 x 7168, the check's op 1 x 64 and mhc_pre
   348 x 64) and the bits test's, bitwise per output (mixes, sqrsum), the first differing element's values;
2. backend: TileLangTwentieth and TileLangSplitInKernel against TileLangDecode on the failing cases, then again
   after a call of the split GEMM at 80 000 x 64 (is the state the failures shrank to left corrupted?);
3. timing (not with --quick): the split GEMM against the fn3 TMA GEMM and the cp.async GEMM, alone, CUDA events
   around 200 launches, at 32 x 7168 (112 K ranges) and 384 x 7168 (16).

Exit 1 on any mismatch or error, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import sys
import traceback

import torch

from mhc_kernels.tilelang._build import device_target
from mhc_kernels.tilelang.backend import WIDE_K_TILES
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.gemm import prenorm_gemm, split_fn
from mhc_kernels.tilelang.mid_probes import TileLangSplitInKernel, TileLangTwentieth
from mhc_verify.cases import Case, build_inputs

N = 4
STRESS_CASE = Case(op="mhc_pre", T=32, n=N, H=7168, family="normal", seed=32, n_splits=16)
OP_CASE = Case(op="prenorm_gemm", T=1, n=N, H=64, family="normal", seed=0, n_splits=2)
HUGE_CASE = Case(op="mhc_pre", T=348, n=N, H=64, family="huge", seed=9352566, n_splits=1, norm_weight=True,
                 params=(("rms_eps", 1e-06), ("hc_pre_eps", 1e-06), ("hc_sinkhorn_eps", 0.0001),
                         ("hc_post_mult_value", 1.0), ("sinkhorn_repeat", 7), ("norm_eps", 1e-20)))
failures = 0


def say(line: str) -> None:
    print(line, flush=True)


def first_difference(a: torch.Tensor, b: torch.Tensor) -> str:
    differ = (a.view(torch.int32) != b.view(torch.int32)) if a.dtype == torch.float32 else (a != b)
    count = int(differ.sum())
    if not count:
        return "same bits"
    index = tuple(int(i) for i in differ.nonzero()[0])
    return f"{count} of {a.numel()} differ, first at {index}: {float(a[index])!r} against {float(b[index])!r}"


def check(what: str, got, want) -> None:
    global failures
    lines = [f"{name} {first_difference(a, b)}" for name, a, b in zip(("mixes", "sqrsum"), got, want)]
    bad = any("differ" in line for line in lines)
    failures += bad
    say(f"{'FAIL' if bad else 'ok  '} {what}: " + "; ".join(lines))


def gemm_pair(x: torch.Tensor, fn: torch.Tensor, hidden: int, parts: int, block_m: int = 64, stages: int = 2,
              early: bool = True):
    target = device_target()
    t, m = x.shape[0], fn.shape[0]

    def run(**kw):
        mixes = torch.full((parts, t, m), float("nan"), device="cuda")
        sqrsum = torch.full((parts, t), float("nan"), device="cuda")
        prenorm_gemm(x, fn, mixes, sqrsum, N, hidden, block_m, target, **kw)
        return mixes, sqrsum

    want = run(fn3=split_fn(fn, target), **WIDE_K_TILES[block_m])
    tun = {**WIDE_K_TILES[block_m], "num_stages": stages, **({"early_trigger": True} if early else {})}
    return run(split_in_kernel=True, tma=True, **tun), run(fn3=split_fn(fn, target), tma=True, **tun), want


def kernel_section() -> None:
    for case, parts in ((STRESS_CASE, 112), (OP_CASE, 2), (HUGE_CASE, 1)):
        try:
            inputs = build_inputs(case, "cuda")
            x = (inputs["x"] if "x" in inputs else inputs["residual"].reshape(case.T, N * case.H)).contiguous()
            split, tma, want = gemm_pair(x, inputs["fn"].contiguous(), case.H, parts)
            check(f"kernel split  {case.op} T={case.T} H={case.H} {case.family}", split, want)
            check(f"kernel fn3tma {case.op} T={case.T} H={case.H} {case.family}", tma, want)
        except Exception:  # noqa: BLE001 - reported, the rest goes on
            global failures
            failures += 1
            say(f"FAIL kernel {case}: {traceback.format_exc(limit=3)}")


def outputs(backend, case: Case):
    inputs = build_inputs(case, "cuda")
    params = dict(case.params) | ({"n_splits": case.n_splits} if case.op == "prenorm_gemm" else {})
    return backend.run(case.op, inputs, params)


def backend_section(after: str) -> None:
    global failures
    for case in (STRESS_CASE, OP_CASE, HUGE_CASE):
        try:
            want = outputs(TileLangDecode(), case)
            for probe in (TileLangTwentieth(), TileLangSplitInKernel()):
                got = outputs(probe, case)
                lines = [f"{name} {first_difference(got[name], want[name])}" for name in want]
                bad = any("differ" in line for line in lines)
                failures += bad
                say(f"{'FAIL' if bad else 'ok  '} backend {after} {probe.name} {case.op} T={case.T} H={case.H}: "
                    + "; ".join(lines) + f" | calls {sorted(probe.calls)}")
        except Exception:  # noqa: BLE001
            failures += 1
            say(f"FAIL backend {after} {case}: {traceback.format_exc(limit=3)}")


def timing_section() -> None:
    target = device_target()
    for t, hidden, parts in ((32, 7168, 112), (384, 7168, 16)):
        g = torch.Generator(device="cuda").manual_seed(t)
        x = torch.randn(t, N * hidden, device="cuda", generator=g).to(torch.bfloat16)
        fn = torch.randn(24, N * hidden, device="cuda", generator=g) * 1e-2
        fn3 = split_fn(fn, target)
        mixes = torch.empty(parts, t, 24, device="cuda")
        sqrsum = torch.empty(parts, t, device="cuda")
        stages = 2 if parts == 112 else 4
        variants = {"cp.async fn3": dict(fn3=fn3, **WIDE_K_TILES[64]),
                    "tma fn3": dict(fn3=fn3, tma=True, **{**WIDE_K_TILES[64], "num_stages": stages}),
                    "tma split": dict(split_in_kernel=True, tma=True, **{**WIDE_K_TILES[64], "num_stages": stages})}
        for name, kw in variants.items():
            call = lambda: prenorm_gemm(x, fn, mixes, sqrsum, N, hidden, 64, target, **kw)  # noqa: E731
            for _ in range(5):
                call()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(200):
                call()
            end.record()
            torch.cuda.synchronize()
            say(f"time T={t} H={hidden} parts={parts} {name:<13} {start.elapsed_time(end) / 200 * 1e3:7.2f} us")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="sections 1-2 only (for compute-sanitizer)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        say("no GPU")
        return 2
    kernel_section()
    backend_section("fresh")
    try:
        big = torch.randn(80_000, N * 64, device="cuda").to(torch.bfloat16)
        TileLangTwentieth().prenorm_gemm(big, torch.randn(24, N * 64, device="cuda"), 4)
        torch.cuda.synchronize()
    except Exception:  # noqa: BLE001
        say(f"FAIL the 80 000 x 64 op: {traceback.format_exc(limit=3)}")
    backend_section("after-80000")
    if not args.quick:
        timing_section()
    say("ALL OK" if not failures else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
