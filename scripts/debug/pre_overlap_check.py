"""Is the overlap fused pre (TileLangPreOverlap) bitwise the default one, and is it faster? One GPU run.

    source scripts/device_env.sh && python scripts/debug/pre_overlap_check.py [--tokens 1,8] [--hidden 7168]

For T in 1, 8, 64, 256, 512, 1024, 4096, H in 4096, 7168, without and with the RMSNorm weight, on the
benchmark's pre_big_fuse inputs (mhc_verify.bench.make_inputs, S = op_splits as the benchmark gives
it), runs TileLangBackend's pre_big_fuse (pre.py) and TileLangPreOverlap's (pre_overlap.py; with
norm also its kept-in-registers variant, column "regs") and checks, per output (post_mix, comb_mix,
layer_input):

* the two kernels bitwise equal (the overlap kernel does the same operations in the same order);
* each bitwise equal over RERUNS calls, and a CUDA-graph replay bitwise equal to the eager call;

then times both graph-replayed (GRAPH_CALLS calls in one CUDA graph, median of REPLAYS replays) and
prints a table. Exit status 1 on any mismatch (the timing is reported either way), 2 without a GPU.
The kernels are compiled first (12 compiles), so the checks and timings themselves take seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

import torch

from mhc_verify.judge_cache import bits_equal
from mhc_verify.timing import graph_replay_once, graph_us_per_call

from mhc_kernels.tilelang.backend import TileLangBackend
from mhc_kernels.tilelang.pre_overlap_backend import TileLangPreOverlap
from mhc_reference.contract import get_op
from mhc_verify.bench import make_inputs, op_splits

OP = "pre_big_fuse"
TOKENS = (1, 8, 64, 256, 512, 1024, 4096)
HIDDEN = (4096, 7168)
RERUNS = 3
GRAPH_CALLS = 20
REPLAYS = 5


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(torch.int16 if t.element_size() == 2 else torch.int32)


def same_bits(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(bits_equal(a[k], b[k]) for k in a)


def differing(a: torch.Tensor, b: torch.Tensor) -> int:
    return int((_bits(a) != _bits(b)).sum())


def graph_replay(call: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """call() captured in a CUDA graph (after an eager warm-up), replayed once; its outputs cloned."""
    return {k: v.clone() for k, v in graph_replay_once(call).items()}


def graph_us(call: Callable[[], Any]) -> float:
    """us per call: GRAPH_CALLS calls captured in one CUDA graph, median of REPLAYS replays."""
    return graph_us_per_call(call, GRAPH_CALLS, REPLAYS)


def precompile(backends: dict, hidden: tuple[int, ...]) -> None:
    """Every (kernel, H, norm) once, on T = 1 inputs: the timing loop then compiles nothing."""
    start = time.perf_counter()
    for h in hidden:
        for norm in (False, True):
            inputs, params = make_inputs(OP, 1, h, 1, torch.device("cuda"), norm=norm)
            for backend in backends.values():
                backend.run(OP, inputs, params)
    torch.cuda.synchronize()
    print(f"compiled in {time.perf_counter() - start:.1f} s", flush=True)


def check_case(backends: dict, t: int, h: int, norm: bool, n_sms: int) -> tuple[bool, str]:
    splits = op_splits(OP, t, h, n_sms)
    inputs, params = make_inputs(OP, t, h, splits, torch.device("cuda"), norm=norm)
    names = [name for name in backends if norm or name != "regs"]  # without norm regs is ov's kernel
    runs = {name: [backends[name].run(OP, inputs, params) for _ in range(RERUNS)] for name in names}
    torch.cuda.synchronize()
    graphs = {name: graph_replay(lambda b=backends[name]: b.run(OP, inputs, params)) for name in names}
    notes = []
    ok = True
    for who in names[1:]:
        for name in get_op(OP).output_names:
            b, o = runs["base"][0][name], runs[who][0][name]
            if not bits_equal(b, o):
                ok = False
                notes.append(f"{who} {name}: {differing(b, o)} of {b.numel()} differ")
    for who in names:
        if not all(same_bits(r, runs[who][0]) for r in runs[who][1:]):
            ok = False
            notes.append(f"{who} reruns differ")
        if not same_bits(graphs[who], runs[who][0]):
            ok = False
            notes.append(f"{who} graph replay differs")
    us = {name: graph_us(lambda b=backends[name]: b.run(OP, inputs, params)) for name in names}
    regs = f"regs {us['regs']:8.2f} us" if "regs" in us else f"regs {'-':>8}   "
    line = (f"{'ok  ' if ok else 'FAIL'} T={t:<5} H={h} norm={int(norm)} S={splits:<3} base {us['base']:8.2f} us  "
            f"overlap {us['ov']:8.2f} us  {regs}  overlap/base {us['ov'] / us['base']:5.3f}  "
            f"{'; '.join(notes) or 'bitwise equal'}")
    return ok, line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=lambda s: tuple(int(v) for v in s.split(",")), default=TOKENS)
    p.add_argument("--hidden", type=lambda s: tuple(int(v) for v in s.split(",")), default=HIDDEN)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("needs a GPU", file=sys.stderr)
        return 2
    regs = TileLangPreOverlap()
    regs.kept_in_shared = False
    backends = {"base": TileLangBackend(), "ov": TileLangPreOverlap(), "regs": regs}
    for backend in backends.values():
        available, why = backend.available()
        print(f"{backend.name}: {why}")
        if not available:
            return 2
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count
    precompile(backends, args.hidden)
    failed = 0
    for h in args.hidden:
        for norm in (False, True):
            for t in args.tokens:
                try:
                    ok, line = check_case(backends, t, h, norm, n_sms)
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    ok, line = False, f"FAIL T={t} H={h} norm={int(norm)}: {type(e).__name__}: {e}"
                failed += not ok
                print(line, flush=True)
    for name, backend in backends.items():
        print(f"calls {name}: {backend.calls}")
    print(f"{'ALL OK' if not failed else f'{failed} case(s) FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
