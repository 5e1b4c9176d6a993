"""The rows layout of our warp Sinkhorn (kernels/tilelang/sinkhorn.py) and the block_t 16 FMA decode
GEMM on a GPU, before either may become a default (mid_probes.TileLangSinkhornRows,
TileLangGemmBlockT16, TileLangDecodeFloor). One run, about two minutes after its compiles:

    source scripts/device_env.sh && python scripts/debug/sinkhorn_rows_check.py

1. division: exact_quotient (nvcc's division fast path written out) against ``/`` for every
   significand of d in [1, 2) (2^23 values) times eight numerators each (1, the all-ones significand,
   d's neighbour, five random), d scaled by 2^-40, 2^-1, 2^0 and 2^39 (both ends of its range), the
   numerators by random powers of two in [2^-80, 2^79]: every quotient inside the range
   (sinkhorn.fast_operands) must have ``/``'s bits.
2. bitwise, H = 4096 and 7168, T = 1 .. 1024, on the benchmark's inputs and on inputs whose comb logits
   spread over +-100 (exp underflows to zeros and denormals: the rows layout's ``/`` fallback):
   mhc_pre (with and without the RMSNorm weight), fused_post_pre and pre_big_fuse of
   TileLangSinkhornRows == TileLangDecode, and of TileLangDecodeFloor == TileLangGemmBlockT16 (the same
   GEMM, the other Sinkhorn); TileLangGemmBlockT16's mixes judged by the nightly check, not here.
3. timing (graph-replayed, us per call, H = 7168 and 4096): mhc_pre, fused_post_pre and pre_big_fuse
   at T = 1 .. 256 for the four backends side by side.

Prints ``ok`` / ``FAIL`` per check and a timing table; exits 1 on any mismatch or failure."""

# No "from __future__ import annotations": TileLang evaluates the kernel annotations at build time.

import argparse
import sys
import time
import traceback

import torch

from decode_variants_check import _call, graph_us, report, same_bits, say  # scripts/debug, beside this file
from probe_bitwise_check import spread_logits
from mhc_kernels.tilelang._build import compile_cached, device_target
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import TileLangDecodeFloor, TileLangGemmBlockT16, TileLangSinkhornRows
from mhc_kernels.tilelang.sinkhorn import exact_quotient_macros, fast_operands
from mhc_reference.contract import get_op
from mhc_verify.bench import direct_call, make_inputs, op_splits

CHECK_HIDDEN = (4096, 7168)
CHECK_TOKENS = (1, 8, 9, 16, 32, 33, 64, 256, 1024)
TIME_TOKENS = (1, 8, 16, 32, 64, 128, 256)
OPS = ("mhc_pre", "fused_post_pre", "pre_big_fuse")
BACKENDS = {"tilelang": TileLangDecode, "sinkhorn-rows": TileLangSinkhornRows, "gemm-bt16": TileLangGemmBlockT16,
            "decode-floor": TileLangDecodeFloor}


def _build_division_check():
    import tilelang.language as T

    reciprocal, quotient = exact_quotient_macros(T)
    count = T.dynamic("count")

    @T.prim_func
    def division_check(v: T.Tensor((count,), "float32"), d: T.Tensor((count,), "float32"),
                       fast: T.Tensor((count,), "float32"), ieee: T.Tensor((count,), "float32"),
                       in_range: T.Tensor((count,), "int32")):
        with T.Kernel(T.ceildiv(count, 256), threads=256) as b:
            i = b * 256 + T.get_thread_binding()
            rcp = T.alloc_local((1,), "float32")
            q = T.alloc_local((1,), "float32")
            if i < count:
                reciprocal(rcp, 0, d[i])
                quotient(q, 0, v[i], d[i], rcp[0])
                fast[i] = q[0]
                ieee[i] = v[i] / d[i]
                in_range[i] = T.if_then_else(fast_operands(T, v[i], d[i]), 1, 0)

    return division_check


def check_division() -> int:
    kernel = compile_cached("sinkhorn_division_check", (), _build_division_check, device_target())
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    sig = torch.arange(1 << 23, device=dev, dtype=torch.int32) | 0x3F800000  # d in [1, 2), every significand
    d1 = sig.view(torch.float32)
    failed = 0
    for d_exp in (-40, -1, 0, 39):  # the ends of exact_quotient's range of d and the middle
        d = d1 * 2.0 ** d_exp
        numerators = [torch.ones_like(d1), torch.full_like(d1, 2.0 - 2.0 ** -23), (sig ^ 1).view(torch.float32)]
        numerators += [1 + torch.rand(d1.shape, generator=g, device=dev) for _ in range(5)]
        bad = in_range = total = 0
        for v in numerators:  # scaled over the whole range of v, both ends included
            v = v * torch.exp2(torch.randint(-80, 80, d1.shape, generator=g, device=dev).float())
            fast, ieee = torch.empty_like(v), torch.empty_like(v)
            flag = torch.empty(v.shape, dtype=torch.int32, device=dev)
            kernel(v, d, fast, ieee, flag)
            inside = flag.bool()
            bad += int(((fast.view(torch.int32) != ieee.view(torch.int32)) & inside).sum())
            in_range += int(inside.sum())
            total += v.numel()
        failed += not report(bad == 0 and in_range == total,
                             f"division d in [2^{d_exp}, 2^{d_exp + 1}): {in_range} of {total} quotients in range, "
                             f"{bad} differ from '/'")
    return failed


def check_ops(h: int, t: int, n_sms: int) -> int:
    failed = 0
    dev = torch.device("cuda")
    for op in OPS:
        for norm in ((False, True) if op == "mhc_pre" else (False,)):
            inputs, params = make_inputs(op, t, h, op_splits(op, t, h, n_sms), dev, norm=norm)
            for family, ins in (("bench", inputs), ("spread", spread_logits(inputs))):
                for new, old in (("sinkhorn-rows", "tilelang"), ("decode-floor", "gemm-bt16")):
                    got = _call(BACKENDS[new](), op, ins, params)
                    want = _call(BACKENDS[old](), op, ins, params)
                    failed += not report(same_bits(got, want), f"{op:<14} H={h} T={t:<4} norm={norm!s:<5} "
                                                               f"{family:<6} {new} == {old}")
    return failed


def time_all(rows: list, n_sms: int) -> int:
    failed = 0
    for h in (7168, 4096):
        for op in OPS:
            for t in TIME_TOKENS:
                inputs, params = make_inputs(op, t, h, op_splits(op, t, h, n_sms), torch.device("cuda"))
                for name, cls in BACKENDS.items():
                    try:
                        backend = cls()
                        backend.run(op, inputs, params)  # contract-checked; compiles
                        rows.append((h, op, name, t, graph_us(direct_call(backend, get_op(op), inputs, params))))
                    except Exception as e:  # noqa: BLE001 - reported, the others go on
                        failed += 1
                        say(f"FAIL time {op} {name} H={h} T={t}: {type(e).__name__}: {e}")
    return failed


def table(rows: list) -> None:
    say("\n== timing (us per call, graph-replayed) ==")
    for h in sorted({r[0] for r in rows}, reverse=True):
        for op in OPS:
            sub = [r for r in rows if r[0] == h and r[1] == op]
            if not sub:
                continue
            say(f"\n{op}, H = {h}\n{'backend':<14} " + " ".join(f"{'T=' + str(t):>8}" for t in TIME_TOKENS))
            for name in BACKENDS:
                by_t = {r[3]: r[4] for r in sub if r[2] == name}
                say(f"{name:<14} " + " ".join(f"{by_t[t]:8.2f}" if t in by_t else f"{'-':>8}" for t in TIME_TOKENS))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--no-timing", action="store_true", help="the checks only")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        say("needs a GPU")
        return 2
    wall = time.perf_counter()
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count
    say(f"{torch.cuda.get_device_name()} ({n_sms} SMs), target {device_target().arch}")
    sections = [("division", check_division)]
    sections += [(f"ops H={h} T={t}", lambda h=h, t=t: check_ops(h, t, n_sms)) for h in CHECK_HIDDEN
                 for t in CHECK_TOKENS]
    failed = 0
    for name, section in sections:
        try:
            failed += section()
        except Exception as e:  # noqa: BLE001 - reported, the run goes on
            failed += 1
            say(f"FAIL {name}: {type(e).__name__}: {e}")
            traceback.print_exc()
    if not args.no_timing:
        rows: list = []
        failed += time_all(rows, n_sms)
        table(rows)
    say(f"\nwall {time.perf_counter() - wall:.0f} s")
    say("ALL OK" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
