"""The decode path's variants against its plain kernels: bitwise equal, and are they faster?
One GPU run (H100/H200), well under a minute after its compiles:

    source scripts/device_env.sh && python scripts/debug/decode_variants_check.py

Variants (kernels/tilelang/decode.py, decode_gemm.py; TileLangDecode's class attributes):

* hc_post_wide with 1024 columns (128 threads) per CTA instead of decode_block(H) = 512 (64 threads):
  ``hc_post_wide_block_from``.
* token-major partials ([T, parts, M], [T, parts]) from decode_gemm into decode_pre / decode_head,
  and decode_head's residual load before its PDL wait: ``token_major_partials`` (the GEMM is then
  the FMA kernel at every T).

Sections (each failure reported, the rest goes on):

1. compile: every configuration below, in parallel processes, into TileLang's disk cache.
2. bitwise, H = 4096 and 7168, T = 1, 8, 32, 64, 128, 256, on the benchmark's inputs
   (mhc_verify.bench.make_inputs):
   * decode_gemm kernel (M = 24 and 4, block_t 8 and 32): token-major == default transposed, every
     element written (outputs start as NaN);
   * op hc_post: 1024 columns == 512 columns;
   * op hc_head, mhc_pre (with and without the RMSNorm weight), fused_post_pre: token-major (with
     1024-column hc_post for fused_post_pre) == the default layout on the same GEMM configuration
     (T <= 8: the plan, fma block_t 8; above: decode_gemm = "fma", its defaults, since the plan's
     wgmma GEMM sums in another order);
   * the token-major hc_head, eager == CUDA-graph replay.
3. timing (H = 7168; a CUDA graph of 20 calls, median of 5 replays, us per call): hc_post at T = 16,
   32, 64, 128 with 512 and 1024 columns; the whole hc_head at T = 32, 64, 128, 256, 512, default
   layout and token-major; mhc_pre at T = 1, 8, 32, 64, 128: the plan (wgmma above 8 tokens) and
   token-major (fma at every T).

Prints ``ok`` / ``FAIL`` per check, then a timing table; exits 1 on any mismatch or failure.
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
from mhc_kernels.tilelang.decode_gemm import decode_gemm_kernel
from mhc_kernels.tilelang.precompile import compile_in_parallel, decode_jobs
from mhc_reference.contract import get_op
from mhc_verify.bench import direct_call, make_inputs, op_splits

N = 4
MIXES = N * N + 2 * N
CHECK_HIDDEN = (4096, 7168)
CHECK_TOKENS = (1, 8, 32, 64, 128, 256)
TIME_HIDDEN = 7168
POST_TOKENS = (16, 32, 64, 128)
HEAD_TOKENS = (32, 64, 128, 256, 512)
PRE_TOKENS = (1, 8, 32, 64, 128)
GRAPH_CALLS = 20
REPLAYS = 5
WIDE = 1024


class Base(TileLangDecode):
    """The decode kernels without either variant (512-column hc_post, [parts, T, M] partials) at every
    T checked here: the decode thresholds lifted, the middle path off. Since 2026-12-04 (fifth
    session) TileLangDecode itself runs both variants by default (hc_post 1024 columns from 32
    tokens, hc_head token-major), so they are switched off here explicitly."""

    decode_max_tokens = 512
    decode_max_tokens_by_op = {"hc_post": 4096, "pre_big_fuse": 32, "hc_head": 512}
    mid_max_tokens = 0
    decode_pre_cluster = False  # decode_pre's variants (the cluster pre: probe_bitwise_check.py against it)
    hc_post_wide_block_from: dict[int, int] = {}
    token_major_partials: frozenset[str] = frozenset()


class Wide(Base):
    hc_post_wide_block_from = {1: WIDE}


class TokenMajor(Base):
    token_major_partials = frozenset({"mhc_pre", "hc_head"})


class Both(TokenMajor):
    hc_post_wide_block_from = {1: WIDE}


def say(line: str) -> None:
    print(line, flush=True)


def compile_jobs() -> list[tuple[str, str, tuple, dict]]:
    jobs: list = []
    for h in CHECK_HIDDEN:
        parts = decode_parts(N, h)
        jobs += decode_jobs(h)
        jobs.append((f"hc_post_wide[H={h},h_blk={WIDE}]", "decode.hc_post_wide_kernel", (N, h), {"h_blk": WIDE}))
        for m in (MIXES, N):
            for bt in (8, 32):
                jobs.append((f"decode_gemm[H={h},M={m},block_t={bt},tm]", "decode_gemm.decode_gemm_kernel",
                             (N, h, m, parts), {"block_t": bt, "token_major": True}))
                jobs.append((f"decode_gemm[H={h},M={m},block_t={bt}]", "decode_gemm.decode_gemm_kernel",
                             (N, h, m, parts), {"block_t": bt}))
        jobs += [(f"decode_pre[H={h},norm={b},tm]", "decode.decode_pre_kernel", (N, h, parts, b),
                  {"token_major": True}) for b in (False, True)]
        jobs.append((f"decode_head[H={h},tm]", "decode.decode_head_kernel", (N, h, parts), {"token_major": True}))
    wide = dict(WIDE_K_TILES[gemm.SMALL_T_BLOCK_M])  # the plan's wgmma GEMM (mhc_pre timing)
    for m in (MIXES, N):
        jobs.append((f"split_fn[M={m}]", "gemm.split_fn_kernel", (m, N * TIME_HIDDEN), {}))
        jobs.append((f"prenorm_gemm[M={m}]", "gemm.prenorm_gemm_kernel", (N, TIME_HIDDEN, m, gemm.SMALL_T_BLOCK_M),
                     wide))
    return list({j[0]: j for j in jobs}.values())


def precompile_all() -> None:
    # spawned workers (this process holds a CUDA context); a failure is met again at the first call
    stats = compile_in_parallel(compile_jobs(), device_target(), 16)
    say(f"compile: {stats['configs']} configurations in {stats['seconds']:.0f} s"
        + (f"; FAILED: {stats['failed']}" if stats["failed"] else ""))


# -- bitwise ----------------------------------------------------------------------------------------

def _flat(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    return [o for o in out if isinstance(o, torch.Tensor)]


def same_bits(a: Any, b: Any) -> bool:
    fa, fb = _flat(a), _flat(b)
    return len(fa) == len(fb) and all(bits_equal(x.contiguous(), y.contiguous()) for x, y in zip(fa, fb))


def report(good: bool, what: str) -> bool:
    say(f"{'ok  ' if good else 'FAIL'} {what}")
    return good


def check_gemm(h: int, t: int) -> int:
    failed = 0
    parts = decode_parts(N, h)
    g = torch.Generator(device="cuda").manual_seed(t * 13 + h)
    x = torch.randn(t, N * h, generator=g, device="cuda").to(torch.bfloat16)
    for m in (MIXES, N):
        fn = torch.randn(m, N * h, generator=g, device="cuda") * 1e-3
        for bt in (8, 32):
            outs = {}
            for tm in (False, True):
                shape = (t, parts) if tm else (parts, t)
                mixes = torch.full((*shape, m), float("nan"), device="cuda")
                sq = torch.full(shape, float("nan"), device="cuda")
                decode_gemm_kernel(N, h, m, parts, device_target(), block_t=bt, token_major=tm)(x, fn, mixes, sq)
                outs[tm] = (mixes, sq)
            torch.cuda.synchronize()
            written = all(torch.isfinite(o).all() for o in outs[True])
            good = written and same_bits(outs[True], (outs[False][0].transpose(0, 1), outs[False][1].T))
            failed += not report(good, f"decode_gemm H={h} T={t:<3} M={m:<2} block_t={bt:<2} token-major == "
                                       f"default transposed (all written {written})")
    return failed


def _call(backend: TileLangDecode, op: str, inputs: dict, params: dict) -> Any:
    out = direct_call(backend, get_op(op), inputs, params)()
    if inputs and next(iter(inputs.values())).is_cuda:  # probe_bitwise_check --device cpu calls it too
        torch.cuda.synchronize()
    return out


def _same_gemm_base(t: int) -> Base:
    """Today's layout on the GEMM configuration the token-major variant runs at T tokens."""
    b = Base()
    if t > 8:
        b.decode_gemm = "fma"  # token-major replaces the plan's wgmma rows by the FMA kernel's defaults
    return b


def check_ops(h: int, t: int, n_sms: int) -> int:
    failed = 0
    dev = torch.device("cuda")
    inputs, params = make_inputs("hc_post", t, h, 1, dev)
    failed += not report(same_bits(_call(Wide(), "hc_post", inputs, params), _call(Base(), "hc_post", inputs, params)),
                         f"hc_post        H={h} T={t:<3} {WIDE} columns == 512")
    inputs, params = make_inputs("hc_head", t, h, op_splits("hc_head", t, h, n_sms), dev)
    tm = TokenMajor()
    got = _call(tm, "hc_head", inputs, params)
    failed += not report(same_bits(got, _call(_same_gemm_base(t), "hc_head", inputs, params)),
                         f"hc_head        H={h} T={t:<3} token-major == default layout   calls {dict(tm.calls)}")
    graphed = graph_replay_once(direct_call(tm, get_op("hc_head"), inputs, params))
    failed += not report(same_bits(graphed, got), f"hc_head        H={h} T={t:<3} token-major graph replay == eager")
    for norm in (False, True):
        inputs, params = make_inputs("mhc_pre", t, h, op_splits("mhc_pre", t, h, n_sms), dev, norm=norm)
        failed += not report(same_bits(_call(TokenMajor(), "mhc_pre", inputs, params),
                                       _call(_same_gemm_base(t), "mhc_pre", inputs, params)),
                             f"mhc_pre        H={h} T={t:<3} norm={norm!s:<5} token-major == default layout")
    inputs, params = make_inputs("fused_post_pre", t, h, op_splits("fused_post_pre", t, h, n_sms), dev)
    failed += not report(same_bits(_call(Both(), "fused_post_pre", inputs, params),
                                   _call(_same_gemm_base(t), "fused_post_pre", inputs, params)),
                         f"fused_post_pre H={h} T={t:<3} token-major + {WIDE} columns == default")
    return failed


# -- timing -----------------------------------------------------------------------------------------

def graph_us(call: Callable[[], Any]) -> float:
    """us per call: GRAPH_CALLS calls captured in one CUDA graph, median of REPLAYS replays."""
    return graph_us_per_call(call, GRAPH_CALLS, REPLAYS)


TIMED = [("hc_post", "512 columns", Base, POST_TOKENS), ("hc_post", f"{WIDE} columns", Wide, POST_TOKENS),
         ("hc_head", "default layout", Base, HEAD_TOKENS), ("hc_head", "token-major", TokenMajor, HEAD_TOKENS),
         ("mhc_pre", "the plan", Base, PRE_TOKENS), ("mhc_pre", "token-major (fma)", TokenMajor, PRE_TOKENS)]


def time_all(rows: list, n_sms: int) -> int:
    failed = 0
    for op, name, cls, tokens in TIMED:
        for t in tokens:
            try:
                backend = cls()
                inputs, params = make_inputs(op, t, TIME_HIDDEN, op_splits(op, t, TIME_HIDDEN, n_sms),
                                             torch.device("cuda"))
                backend.run(op, inputs, params)  # contract-checked; compiles, caches fn3 for wgmma
                us = graph_us(direct_call(backend, get_op(op), inputs, params))
                rows.append((op, name, t, us))
                say(f"time {op} {name:<24} T={t:<3} {us:7.2f} us  calls {dict(backend.calls)}")
            except Exception as e:  # noqa: BLE001 - reported, the others go on
                failed += 1
                say(f"FAIL time {op} {name} T={t}: {type(e).__name__}: {e}")
    return failed


def table(rows: list) -> None:
    say(f"\n== timing (us per call, CUDA graph of {GRAPH_CALLS} calls, median of {REPLAYS} replays; "
        f"H = {TIME_HIDDEN}) ==")
    keyed: dict[tuple, dict[int, float]] = {}
    for op, name, t, us in rows:
        keyed.setdefault((op, name), {})[t] = us
    all_t = sorted({r[2] for r in rows})
    say(f"{'op':<8} {'variant':<24} " + " ".join(f"{'T=' + str(t):>8}" for t in all_t))
    for (op, name), by_t in keyed.items():
        say(f"{op:<8} {name:<24} " + " ".join(f"{by_t[t]:8.2f}" if t in by_t else f"{'-':>8}" for t in all_t))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--no-timing", action="store_true", help="bitwise checks only")
    p.add_argument("--no-precompile", action="store_true", help="compile lazily, one kernel after another")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        say("needs a GPU")
        return 2
    wall = time.perf_counter()
    target = device_target()
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count
    say(f"{torch.cuda.get_device_name()} ({n_sms} SMs), target {target.arch}, PDL {'on' if target.pdl else 'off'}")
    if not args.no_precompile:
        try:
            precompile_all()
        except Exception as e:  # noqa: BLE001 - then the kernels compile at their first call
            say(f"precompile failed ({type(e).__name__}: {e}); compiling lazily")
    after_compiles = time.perf_counter()
    failed = 0
    for h in CHECK_HIDDEN:
        for t in CHECK_TOKENS:
            for section in (lambda: check_gemm(h, t), lambda: check_ops(h, t, n_sms)):
                try:
                    failed += section()
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    failed += 1
                    say(f"FAIL check H={h} T={t}: {type(e).__name__}: {e}")
                    traceback.print_exc()
    rows: list = []
    if not args.no_timing:
        try:
            failed += time_all(rows, n_sms)
        except Exception as e:  # noqa: BLE001
            failed += 1
            say(f"FAIL timing: {type(e).__name__}: {e}")
            traceback.print_exc()
        table(rows)
    say(f"\nwall {time.perf_counter() - wall:.0f} s ({time.perf_counter() - after_compiles:.0f} s after the compiles)")
    say("ALL OK" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
