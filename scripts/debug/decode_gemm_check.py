"""The decode path's FMA GEMM (kernels/tilelang/decode_gemm.py): correct, reproducible, and how fast?
One GPU run (H100/H200), about a minute after its compiles:

    source scripts/device_env.sh && python scripts/debug/decode_gemm_check.py

Sections (each in its own try/except: one failure does not hide the rest):

1. compile: every configuration below, in parallel processes, into TileLang's disk cache.
2. check: for H in 4096, 7168, T in 1, 2, 4, 8, 16, 32, 33, 64 (33 and 64: more than one CTA row of
   32 tokens), M = 24 (mhc_pre's fn) and 4 (hc_head's), on the benchmark's inputs
   (mhc_verify.bench.make_inputs), the kernel at TileLangDecode's configuration against
   decode_gemm_reference (float64). Per output: ``err/bound``, the largest
   |kernel - ref| / (sum over the part of |x * fn| * 2^-24 * K / parts) (must be < 1: a chain of K /
   parts fp32 adds could not be worse), no unwritten element (outputs start as NaN), bitwise the
   same over 3 calls, and a CUDA-graph replay bitwise equal to the eager call. One extra case
   with inf and NaN in x and zeros in fn: the non-finite pattern must be the reference's.
3. timing (H = 7168, T = 1, 8, 16, 32, M = 24 and 4; a CUDA graph of 20 calls, median of 5 replays,
   us per call): the FMA kernel over (parts, threads, block_t); the previous decode GEMM
   (gemm.prenorm_gemm, block_m 64 wgmma on fn's bf16x3 split, computed beforehand as
   TileLangDecode caches it) over decode_parts; the whole TileLangDecode mhc_pre and hc_head with
   decode_gemm = "auto" (what runs), "fma" and "wgmma".

Prints a line per check (``ok`` or ``FAIL``), a final timing table, and exits 1 on any FAIL (a
timing section that fails prints FAIL too). A hard budget (BUDGET_S after the compiles) skips what
is left, saying so.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from typing import Any, Callable

import torch

from mhc_verify.judge_cache import bits_equal
from mhc_verify.timing import graph_replay_once, graph_us_per_call

from mhc_kernels.tilelang import gemm
from mhc_kernels.tilelang._build import device_target
from mhc_kernels.tilelang.backend import WIDE_K_TILES
from mhc_kernels.tilelang.decode import decode_parts
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.decode_gemm import decode_gemm_kernel, decode_gemm_reference, slot_columns
from mhc_kernels.tilelang.precompile import compile_in_parallel
from mhc_reference.contract import get_op
from mhc_verify.bench import direct_call, make_inputs, op_splits

N = 4
CHECK_HIDDEN = (4096, 7168)
CHECK_TOKENS = (1, 2, 4, 8, 16, 32, 33, 64)
MIXES_OP = {24: "mhc_pre", 4: "hc_head"}  # the op whose fn has M rows (make_inputs' inputs)
TIME_HIDDEN = 7168
TIME_TOKENS = (1, 8, 16, 32)
# (parts, threads, block_t) timed per M: parts x threads at one token per lane, block_t = 8 (a
# quarter of the per-thread chain, 4 x the CTAs) at two of them, block_t = 16 (half, 2 x; the
# decode-floor probe mid_probes.TileLangGemmBlockT16 at 9-32 tokens) at three; fewer for M = 4.
TIME_CONFIGS = {
    24: [(56, 128, 32), (56, 256, 32), (112, 128, 32), (112, 256, 32), (224, 128, 32), (224, 256, 32),
         (112, 256, 8), (224, 128, 8), (112, 256, 16), (112, 128, 16), (224, 256, 16)],
    4: [(56, 256, 32), (112, 256, 32), (224, 256, 32), (112, 256, 8)],
}
GRAPH_CALLS = 20
REPLAYS = 5
RERUNS = 3
BUDGET_S = 120.0  # after the compiles
U32 = 2.0 ** -24


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.perf_counter()

    def restart(self) -> None:
        self.start = time.perf_counter()

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)


def say(line: str) -> None:
    print(line, flush=True)


# -- compiles ---------------------------------------------------------------------------------------

def compile_jobs() -> list[tuple[str, str, tuple, dict]]:
    jobs = []
    for h in CHECK_HIDDEN:
        for m in MIXES_OP:
            jobs.append((f"decode_gemm[H={h},M={m}]", "decode_gemm.decode_gemm_kernel",
                         (N, h, m, decode_parts(N, h)), {}))
    for m, configs in TIME_CONFIGS.items():
        for parts, threads, block_t in configs:
            jobs.append((f"decode_gemm[H={TIME_HIDDEN},M={m},{parts},{threads},{block_t}]",
                         "decode_gemm.decode_gemm_kernel", (N, TIME_HIDDEN, m, parts),
                         {"threads": threads, "block_t": block_t}))
    wide = dict(WIDE_K_TILES[gemm.SMALL_T_BLOCK_M])
    for m in MIXES_OP:
        jobs.append((f"split_fn[M={m}]", "gemm.split_fn_kernel", (m, N * TIME_HIDDEN), {}))
        jobs.append((f"prenorm_gemm[M={m}]", "gemm.prenorm_gemm_kernel", (N, TIME_HIDDEN, m, gemm.SMALL_T_BLOCK_M),
                     wide))
    parts = decode_parts(N, TIME_HIDDEN)
    jobs.append(("decode_pre", "decode.decode_pre_kernel", (N, TIME_HIDDEN, parts, False), {}))
    jobs.append(("decode_head", "decode.decode_head_kernel", (N, TIME_HIDDEN, parts), {}))
    return list({j[0]: j for j in jobs}.values())


def precompile_all() -> None:
    # spawned workers (this process holds a CUDA context); a failure is met again at the first call
    stats = compile_in_parallel(compile_jobs(), device_target(), 16)
    say(f"compile: {stats['configs']} configurations in {stats['seconds']:.0f} s"
        + (f"; FAILED: {stats['failed']}" if stats["failed"] else ""))


# -- correctness ------------------------------------------------------------------------------------

def run_kernel(x: torch.Tensor, fn: torch.Tensor, parts: int, h: int, **tunables) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel into fresh outputs that start as NaN (an element it does not write stays NaN)."""
    t, m = x.shape[0], fn.shape[0]
    mixes = torch.full((parts, t, m), float("nan"), dtype=torch.float32, device=x.device)
    sqrsum = torch.full((parts, t), float("nan"), dtype=torch.float32, device=x.device)
    decode_gemm_kernel(N, h, m, parts, device_target(), **tunables)(x, fn, mixes, sqrsum)
    return mixes, sqrsum


def err_over_bound(out: torch.Tensor, ref: torch.Tensor, abs_ref: torch.Tensor, kc: int) -> float:
    """max |out - ref| / (sum |terms| * 2^-24 * kc); inf where an element is missing or non-finite."""
    if not torch.isfinite(out).all():
        return float("inf")
    err = (out.double() - ref).abs()
    bound = abs_ref * U32 * kc
    ratio = torch.where(bound > 0, err / bound.clamp_min(1e-300), torch.where(err > 0, float("inf"), 0.0))
    return float(ratio.max())


def check_case(h: int, t: int, m: int, n_sms: int) -> bool:
    op = MIXES_OP[m]
    inputs, _ = make_inputs(op, t, h, op_splits(op, t, h, n_sms), torch.device("cuda"))
    x, fn = inputs["residual"].view(t, N * h), inputs["fn"]
    assert fn.shape == (m, N * h), fn.shape
    parts = decode_parts(N, h)
    kc = N * h // parts
    runs = [run_kernel(x, fn, parts, h) for _ in range(RERUNS)]
    graphed = graph_replay_once(lambda: run_kernel(x, fn, parts, h))
    torch.cuda.synchronize()
    ref_m, ref_s = decode_gemm_reference(x, fn, parts)
    abs_m, abs_s = decode_gemm_reference(x.abs(), fn.abs(), parts)
    ratio_m = err_over_bound(runs[0][0], ref_m, abs_m, kc)
    ratio_s = err_over_bound(runs[0][1], ref_s, abs_s, kc)
    rerun = all(bits_equal(a, b) for r in runs[1:] for a, b in zip(r, runs[0]))
    graph = all(bits_equal(a, b) for a, b in zip(graphed, runs[0]))
    good = ratio_m < 1 and ratio_s < 1 and rerun and graph
    say(f"{'ok  ' if good else 'FAIL'} check H={h} T={t:<3} M={m:<2} parts={parts} err/bound mixes {ratio_m:.3e} "
        f"sqrsum {ratio_s:.3e} rerun {rerun} graph {graph}")
    return good


def check_nonfinite(n_sms: int) -> bool:
    """inf and NaN in x, zeros in fn: each output's NaN / +inf / -inf pattern is the reference's."""
    h, t, m = 7168, 4, 24
    inputs, _ = make_inputs("mhc_pre", t, h, op_splits("mhc_pre", t, h, n_sms), torch.device("cuda"))
    x, fn = inputs["residual"].view(t, N * h).clone(), inputs["fn"].clone()
    x[1, 300] = float("inf")  # part 1 (256 columns a part): NaN where fn is 0, +-inf elsewhere
    fn[3, 300] = 0.0
    x[2, 9000] = float("nan")
    x[3, 20000] = -float("inf")
    fn[:, 20001] = float("inf")  # token 3's inf meets fn's inf in the next column: inf - inf = NaN or inf
    parts = decode_parts(N, h)
    got = run_kernel(x, fn, parts, h)
    ref = decode_gemm_reference(x, fn, parts)
    same = True
    for g, r in zip(got, ref):
        g = g.double()
        same &= torch.equal(g.isnan(), r.isnan()) and torch.equal(g == float("inf"), r == float("inf")) \
            and torch.equal(g == -float("inf"), r == -float("inf"))
    say(f"{'ok  ' if same else 'FAIL'} non-finite pattern (inf, NaN in x; 0 and inf in fn) as the float64 reference")
    return same


# -- timing -----------------------------------------------------------------------------------------

def graph_us(call: Callable[[], Any]) -> float:
    """us per call: GRAPH_CALLS calls captured in one CUDA graph, median of REPLAYS replays."""
    return graph_us_per_call(call, GRAPH_CALLS, REPLAYS)


def gemm_inputs(t: int, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator(device="cuda").manual_seed(t * 7 + m)
    x = torch.randn(t, N * TIME_HIDDEN, generator=g, device="cuda").to(torch.bfloat16)
    fn = torch.randn(m, N * TIME_HIDDEN, generator=g, device="cuda") * 1e-3
    return x, fn


def time_fma(rows: list, budget: Budget) -> bool:
    ok = True
    for m, configs in TIME_CONFIGS.items():
        for parts, threads, block_t in configs:
            name = f"fma parts={parts} threads={threads} block_t={block_t}"
            try:
                slot_columns(N * TIME_HIDDEN, parts, threads, block_t)
            except ValueError as e:
                say(f"skip {name}: {e}")
                continue
            for t in TIME_TOKENS:
                if budget.left() < 0:
                    say(f"skip {name} M={m} T={t}: over the budget")
                    continue
                try:
                    x, fn = gemm_inputs(t, m)
                    mixes = torch.empty(parts, t, m, device="cuda")
                    sqrsum = torch.empty(parts, t, device="cuda")
                    kernel = decode_gemm_kernel(N, TIME_HIDDEN, m, parts, device_target(), threads=threads,
                                                block_t=block_t)
                    us = graph_us(lambda: kernel(x, fn, mixes, sqrsum))
                    rows.append(("gemm", name, m, t, us))
                    say(f"time {name:<40} M={m:<2} T={t:<2} {us:7.2f} us")
                except Exception as e:  # noqa: BLE001 - reported, the others go on
                    ok = False
                    say(f"FAIL time {name} M={m} T={t}: {type(e).__name__}: {e}")
    return ok


def time_wgmma(rows: list, budget: Budget) -> bool:
    ok = True
    parts = decode_parts(N, TIME_HIDDEN)
    tunables = dict(WIDE_K_TILES[gemm.SMALL_T_BLOCK_M])
    name = f"wgmma parts={parts} block_m=64 (fn3 cached)"
    for m in MIXES_OP:
        for t in TIME_TOKENS:
            if budget.left() < 0:
                say(f"skip {name} M={m} T={t}: over the budget")
                continue
            try:
                x, fn = gemm_inputs(t, m)
                fn3 = gemm.split_fn(fn, device_target())  # TileLangDecode splits once per weight
                mixes = torch.empty(parts, t, m, device="cuda")
                sqrsum = torch.empty(parts, t, device="cuda")
                us = graph_us(lambda: gemm.prenorm_gemm(x, fn, mixes, sqrsum, N, TIME_HIDDEN, gemm.SMALL_T_BLOCK_M,
                                                        device_target(), fn3=fn3, **tunables))
                rows.append(("gemm", name, m, t, us))
                say(f"time {name:<40} M={m:<2} T={t:<2} {us:7.2f} us")
            except Exception as e:  # noqa: BLE001
                ok = False
                say(f"FAIL time {name} M={m} T={t}: {type(e).__name__}: {e}")
    return ok


def time_ops(rows: list, budget: Budget, n_sms: int) -> bool:
    ok = True
    for op in ("mhc_pre", "hc_head"):
        for which in ("auto", "fma", "wgmma"):
            for t in TIME_TOKENS:
                if budget.left() < 0:
                    say(f"skip {op} {which} T={t}: over the budget")
                    continue
                try:
                    backend = TileLangDecode()
                    backend.decode_gemm = which
                    if which != "auto":  # one GEMM forced: the [parts, T, M] layout both kernels write
                        backend.token_major_partials = frozenset()
                    inputs, params = make_inputs(op, t, TIME_HIDDEN, op_splits(op, t, TIME_HIDDEN, n_sms),
                                                 torch.device("cuda"))
                    backend.run(op, inputs, params)  # contract-checked; compiles, caches fn3 for wgmma
                    us = graph_us(direct_call(backend, get_op(op), inputs, params))
                    rows.append((op, f"TileLangDecode decode_gemm={which}", inputs["fn"].shape[0], t, us))
                    say(f"time {op} decode_gemm={which:<5} T={t:<2} {us:7.2f} us  calls {backend.calls}")
                except Exception as e:  # noqa: BLE001
                    ok = False
                    say(f"FAIL time {op} decode_gemm={which} T={t}: {type(e).__name__}: {e}")
    return ok


def table(rows: list) -> None:
    say("\n== timing (us per call, CUDA graph of %d calls, median of %d replays; H = %d) ==" %
        (GRAPH_CALLS, REPLAYS, TIME_HIDDEN))
    keyed: dict[tuple, dict[int, float]] = {}
    for what, name, m, t, us in rows:
        keyed.setdefault((what, name, m), {})[t] = us
    say(f"{'what':<9} {'configuration':<42} {'M':>3} " + " ".join(f"{'T=' + str(t):>8}" for t in TIME_TOKENS))
    for (what, name, m), by_t in keyed.items():
        say(f"{what:<9} {name:<42} {m:>3} " +
            " ".join(f"{by_t[t]:8.2f}" if t in by_t else f"{'-':>8}" for t in TIME_TOKENS))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--no-timing", action="store_true", help="correctness checks only")
    p.add_argument("--no-precompile", action="store_true", help="compile lazily, one kernel after another")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        say("needs a GPU")
        return 2
    wall = time.perf_counter()
    target = device_target()
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count
    say(f"{torch.cuda.get_device_name()} ({n_sms} SMs), target {target.arch}, PDL {'on' if target.pdl else 'off'}")
    failed = 0
    if not args.no_precompile:
        try:
            precompile_all()
        except Exception as e:  # noqa: BLE001 - then the kernels compile at their first call
            say(f"precompile failed ({type(e).__name__}: {e}); compiling lazily")
    budget = Budget(BUDGET_S)
    for h in CHECK_HIDDEN:
        for t in CHECK_TOKENS:
            for m in MIXES_OP:
                try:
                    failed += not check_case(h, t, m, n_sms)
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    failed += 1
                    say(f"FAIL check H={h} T={t} M={m}: {type(e).__name__}: {e}")
                    traceback.print_exc()
    try:
        failed += not check_nonfinite(n_sms)
    except Exception as e:  # noqa: BLE001
        failed += 1
        say(f"FAIL non-finite check: {type(e).__name__}: {e}")
    rows: list = []
    if not args.no_timing:
        for section in (lambda: time_fma(rows, budget), lambda: time_wgmma(rows, budget),
                        lambda: time_ops(rows, budget, n_sms)):
            try:
                failed += not section()
            except Exception as e:  # noqa: BLE001
                failed += 1
                say(f"FAIL timing section: {type(e).__name__}: {e}")
                traceback.print_exc()
        table(rows)
    say(f"\nwall {time.perf_counter() - wall:.0f} s ({BUDGET_S - budget.left():.0f} s after the compiles)")
    say("ALL OK" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
