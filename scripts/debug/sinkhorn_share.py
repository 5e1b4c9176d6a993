"""The Sinkhorn's share of a decode call, measured without touching a kernel: ``sinkhorn_repeat`` is a
runtime argument of every fused pre of ours, so the per-call time of mhc_pre, fused_post_pre and
pre_big_fuse, replayed from a CUDA graph at repeats r = 1 .. 20, shows what the Sinkhorn chain costs on
the critical path. One GPU run, well under a minute once the kernels are compiled.

    source scripts/device_env.sh
    python scripts/debug/sinkhorn_share.py --backend tilelang \
        --backend mhc_kernels.tilelang.mid_probes:TileLangSinkhornGather --tokens 1,16,32 --out share.md

Why: at 16 / 32 x 7168 mhc_pre misses issue 16's 8 us floor (8.1 / 8.9 us, results/gpu/
2026-12-05-h100-engines-12), and decode_pre ends 4.7 / 4.9 us after the GEMM. The last CTA of a token
sums the partials, forms the mixes and runs 2 (r - 1) + 1 dependent normalisations; the other CTAs
collapse the residual beside it. If the period p(r) falls with r down to a plateau, the plateau is the
other path (the collapse, the wait, the GEMM) and the slope is one repeat's latency; if it falls to
r = 1 without a plateau, the Sinkhorn CTA stays the critical path and p(20) - p(1) is what a faster
Sinkhorn can win at most.

Per (backend, op, H, T): the median graph-replayed time per call at each r (20 calls a graph, the
benchmark's timer and inputs), then ``slope`` (us per repeat, from the two largest r), ``share``
(p(20) - p(1)) and ``plateau`` (the smallest r whose time is within the replays' spread of p(1)).
The results are timings, not checks: each backend's outputs at r = 20 are the benchmark's.
"""

from __future__ import annotations

import argparse

REPEATS = (1, 2, 4, 8, 12, 16, 20)


def share_summary(times: dict[int, float], spread: float = 0.0) -> dict[str, float | int]:
    """From per-call times at each repeat count: the slope of the two largest counts (us per repeat),
    the share (time at the largest count minus the time at the smallest) and the plateau (the largest
    count whose time lies within ``spread`` of the smallest count's: below it more repeats cost nothing,
    another path is critical)."""
    rs = sorted(times)
    if len(rs) < 2:
        raise ValueError(f"need two repeat counts or more, got {rs}")
    lo, hi, prev = rs[0], rs[-1], rs[-2]
    slope = (times[hi] - times[prev]) / (hi - prev)
    plateau = max(r for r in rs if times[r] <= times[lo] + spread)
    return {"slope": slope, "share": times[hi] - times[lo], "plateau": plateau}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", action="append", required=True)
    p.add_argument("--op", action="append", default=None, help="default: mhc_pre, fused_post_pre, pre_big_fuse")
    p.add_argument("--tokens", default="1,16,32")
    p.add_argument("--hidden", default="7168,4096")
    p.add_argument("--repeats", default=",".join(map(str, REPEATS)))
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)

    import torch

    from mhc_reference.contract import get_op
    from mhc_verify.bench import direct_call, make_inputs, op_splits
    from profile_ops import time_grid  # scripts/debug, beside this file
    from mhc_verify.registry import discover, select
    from mhc_verify.timing import CudaTimer

    ops = a.op or ["mhc_pre", "fused_post_pre", "pre_big_fuse"]
    repeats = sorted(int(r) for r in a.repeats.split(","))
    device = torch.device("cuda")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count
    timer = CudaTimer()
    infos = select(a.backend, discover([b for b in a.backend if ":" in b]))
    lines = [f"# The Sinkhorn's share of a call ({torch.cuda.get_device_name()}): per-call us replayed from a "
             f"CUDA graph at sinkhorn_repeat = {', '.join(map(str, repeats))}", "",
             "| backend | op | H | T | " + " | ".join(f"r={r}" for r in repeats)
             + " | slope us/repeat | share p(max) - p(min) | plateau to r |",
             "|---|---|---|---|" + "---|" * len(repeats) + "---|---|---|"]
    def measure(name, backend, op, h, t):
        spec = get_op(op)
        inputs, params = make_inputs(op, t, h, op_splits(op, t, h, n_sms), device)
        backend.run(op, inputs, params)  # compiles, contract-checked
        times, spreads = {}, []
        for r in repeats:
            g = timer.graph(direct_call(backend, spec, inputs, {**params, "sinkhorn_repeat": r}), t)
            if g.us is None:
                raise RuntimeError(g.not_capturable)
            times[r] = g.us
            spreads.append(g.hi_us - g.lo_us)
        s = share_summary(times, max(spreads))
        return (f"| {name} | {op} | {h} | {t} | " + " | ".join(f"{times[r]:.2f}" for r in repeats)
                + f" | {s['slope']:.3f} | {s['share']:.2f} | {s['plateau']} |")

    failed = time_grid(infos, ops, [int(x) for x in a.hidden.split(",")], [int(x) for x in a.tokens.split(",")],
                       lines, a.out, measure)
    return 1 if failed else 0

if __name__ == "__main__":
    raise SystemExit(main())
