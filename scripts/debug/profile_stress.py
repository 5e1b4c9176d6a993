"""Where a stress case's time goes, on any device: the phase breakdown with the reference kept
(the default) and rebuilt per judgement (as before issue 16), and a cProfile of one judgement.

    python scripts/debug/profile_stress.py mhc_pre 4096 1024 --reruns 100 --judge-every 10 [--cuda]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

import torch

import mhc_verify.judge_cache as judge_cache
from mhc_verify.cases import Case, build_inputs
from mhc_verify.judge_cache import CachedJudge
from mhc_verify.registry import discover, select
from mhc_verify.runner import judge
from mhc_verify.stress import stress_case


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("op")
    p.add_argument("tokens", type=int)
    p.add_argument("hidden", type=int)
    p.add_argument("--backend", default="torch")
    p.add_argument("--reruns", type=int, default=100)
    p.add_argument("--judge-every", type=int, default=10)
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    (info,) = select([args.backend], discover()).values()
    backend = info.backend
    case = Case(args.op, args.tokens, 4, args.hidden, family="normal", seed=args.tokens)
    for label, share in (("rebuilt per judgement", 0.0), ("reference kept", judge_cache.CACHE_MEMORY_SHARE)):
        judge_cache.CACHE_MEMORY_SHARE = share
        r = stress_case(backend, case, args.reruns, args.judge_every)
        print(f"{label}: {r.seconds:.2f} s wall, {r.judged} judged, {r.judge_seconds:.2f} s judging\n  "
              f"{r.times.describe(r.seconds)}")
    judge_cache.CACHE_MEMORY_SHARE = 0.5
    device = "cuda" if backend.device_type == "cuda" else "cpu"
    inputs, params = build_inputs(case, device), case.param_dict()
    outputs = backend.run(case.op, inputs, params)
    for label, call in (("runner.judge (reference rebuilt)", lambda outputs: judge(backend, case, inputs, params, outputs)),
                        ("cached judge, after its build", CachedJudge(backend, case, inputs, params))):
        if isinstance(call, CachedJudge):
            call(outputs)  # the build
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        call(outputs)
        prof.disable()
        if device == "cuda":
            torch.cuda.synchronize()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(args.top)
        print(f"\n=== {label}: {time.perf_counter() - t0:.3f} s\n{text.getvalue()}")


if __name__ == "__main__":
    main()
