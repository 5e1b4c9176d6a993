"""Where the GPU time of one op call goes: every kernel it launches, with its device time, per
(backend, op, T). One GPU run, well under a minute once the kernels are compiled.

    source scripts/device_env.sh
    python scripts/debug/profile_ops.py --backend tilelang --backend vllm-tilelang \
        --op mhc_pre --op fused_post_pre --op hc_head --tokens 1,8,32,128,65536 --hidden 7168 --out prof.md

Each op is called once (compiles), then CALLS times eagerly under torch.profiler (CUDA activity
only); with ``--mode graph``, CALLS calls captured in one CUDA graph and replayed under it, as engines
run decode (and as the benchmark times it): the table then gives each kernel's start and end within
its call (from the call's first kernel start), so a PDL dependent that starts before its producer ends
shows it, and the period of the calls (first start to next first start: the per-call time the graph
replay pays, launch gaps included). Per call: the kernels in launch order with their device time, their sum (the GPU busy
time), and the span from the first kernel's start to the last one's end (busy time plus the gaps
between launches: at small T a chain of short kernels is bound by those gaps, and a CUDA graph
replay shrinks them but does not remove them). The inputs are the benchmark's (`bench.make_inputs`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict

import torch


def kernel_events(prof) -> list[tuple[str, float, float]]:
    """(name, start us, duration us) of every GPU kernel the profiler saw, in start order."""
    out = []
    for e in prof.events():
        if e.device_type != torch.autograd.DeviceType.CUDA:
            continue
        out.append((e.name, e.time_range.start, e.time_range.elapsed_us()))
    return sorted(out, key=lambda k: k[1])


def split_calls(events: list[tuple[str, float, float]], calls: int) -> tuple[int, int]:
    """(kernels per call, calls) for the profiled events: even chunks, or one chunk of all (a one-off kernel)."""
    per_call = len(events) // calls if calls else 0
    if per_call == 0 or len(events) % calls:
        return len(events), 1
    return per_call, calls


def graph_rows(events: list[tuple[str, float, float]],
               calls: int) -> tuple[list[tuple[str, float, float, float]], float, float]:
    """Kernels of ``calls`` consecutive calls replayed from one graph -> per kernel (name, median start,
    median duration, median end, us from its call's first kernel start), the median busy time of a call
    and the median period (a call's first kernel start to the next call's)."""
    per_call, calls = split_calls(events, calls)
    starts: dict[tuple[int, str], list[float]] = defaultdict(list)
    durs: dict[tuple[int, str], list[float]] = defaultdict(list)
    ends: dict[tuple[int, str], list[float]] = defaultdict(list)
    busy, periods = [], []
    for c in range(calls):
        chunk = events[c * per_call:(c + 1) * per_call]
        t0 = chunk[0][1]
        for i, (name, start, dur) in enumerate(chunk):
            starts[(i, name)].append(start - t0)
            durs[(i, name)].append(dur)
            ends[(i, name)].append(start + dur - t0)
        busy.append(sum(d for _, _, d in chunk))
        if c + 1 < calls:
            periods.append(events[(c + 1) * per_call][1] - t0)
    rows = [(k[1], statistics.median(starts[k]), statistics.median(durs[k]), statistics.median(ends[k]))
            for k in sorted(starts)]
    return rows, statistics.median(busy), statistics.median(periods) if periods else float("nan")


def prepared_call(backend, op: str, t: int, h: int):
    """The op's call on the benchmark's inputs (bench.make_inputs, its split count), compiled and
    contract-checked once."""
    from mhc_verify.bench import direct_call, make_inputs, op_splits
    from mhc_reference.contract import get_op

    device = torch.device("cuda")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count
    inputs, params = make_inputs(op, t, h, op_splits(op, t, h, n_sms), device)
    backend.run(op, inputs, params)  # compiles, contract-checked
    return direct_call(backend, get_op(op), inputs, params)


def profile_graph(backend, op: str, t: int, h: int, calls: int):
    """The op's kernels replayed from a CUDA graph of ``calls`` calls (graph_rows' result)."""
    from mhc_verify.timing import captured_calls

    graph = captured_calls(prepared_call(backend, op, t, h), calls)
    for _ in range(2):
        graph.replay()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        graph.replay()
        torch.cuda.synchronize()
    events = kernel_events(prof)
    del graph
    if not events:
        raise RuntimeError("the profiler saw no kernel of the graph replay")
    return graph_rows(events, calls)


def profile_one(backend, op: str, t: int, h: int, calls: int) -> tuple[list[tuple[str, float, int]], float, float]:
    call = prepared_call(backend, op, t, h)
    for _ in range(3):
        call()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            torch.cuda.synchronize()  # each call alone on the GPU: its span has no queued neighbour
            call()
        torch.cuda.synchronize()
    events = kernel_events(prof)
    per_call, calls = split_calls(events, calls)  # uneven (a one-off kernel): totals over all calls
    per_kernel: dict[tuple[int, str], list[float]] = defaultdict(list)
    spans, busy = [], []
    for c in range(calls):
        chunk = events[c * per_call:(c + 1) * per_call]
        for i, (name, _, dur) in enumerate(chunk):
            per_kernel[(i, name)].append(dur)
        spans.append(chunk[-1][1] + chunk[-1][2] - chunk[0][1])
        busy.append(sum(d for _, _, d in chunk))
    rows = [(name, statistics.median(durs), len(durs)) for (i, name), durs in sorted(per_kernel.items())]
    return rows, statistics.median(busy), statistics.median(spans)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", action="append", required=True)
    p.add_argument("--op", action="append", required=True)
    p.add_argument("--tokens", default="1,8,32,128,65536")
    p.add_argument("--hidden", type=int, default=7168)
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--mode", choices=("eager", "graph"), default="eager")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    from mhc_verify.registry import discover, select

    infos = select(a.backend, discover([b for b in a.backend if ":" in b]))
    how = (f"median of {a.calls} eager calls, each after a synchronize" if a.mode == "eager" else
           f"median of {a.calls} calls replayed from one CUDA graph; start / end: us from the call's first kernel start")
    lines = [f"# Per-kernel device time per call ({torch.cuda.get_device_name()}, H = {a.hidden}, {how})", ""]
    for name, info in infos.items():
        if not info.available:
            lines.append(f"- {name}: unavailable: {info.reason}")
            continue
        for op in a.op:
            if op not in info.backend.implements():
                continue
            for t in (int(x) for x in a.tokens.split(",")):
                try:
                    if a.mode == "graph":
                        rows, busy, period = profile_graph(info.backend, op, t, a.hidden, a.calls)
                    else:
                        rows, busy, span = profile_one(info.backend, op, t, a.hidden, a.calls)
                except Exception as e:  # noqa: BLE001 - one failing point must not hide the others
                    lines.append(f"\n## {name} {op} T={t}: FAILED {type(e).__name__}: {str(e)[:200]}")
                    continue
                if a.mode == "graph":
                    lines.append(f"\n## {name} {op} T={t}: {len(rows)} kernels, busy {busy:.1f} us, "
                                 f"period {period:.1f} us per call\n")
                    lines.append("| # | kernel | start | us | end |")
                    lines.append("|---|---|---|---|---|")
                    for i, (kname, start, us, end) in enumerate(rows):
                        lines.append(f"| {i} | `{kname[:110]}` | {start:.2f} | {us:.2f} | {end:.2f} |")
                    print(f"{name} {op} T={t}: busy {busy:.1f} us period {period:.1f} us ({len(rows)} kernels)",
                          flush=True)
                    _write(a.out, lines)
                    continue
                lines.append(f"\n## {name} {op} T={t}: {len(rows)} kernels, busy {busy:.1f} us, "
                             f"span {span:.1f} us (first start to last end)\n")
                lines.append("| # | kernel | us |")
                lines.append("|---|---|---|")
                for i, (kname, us, _) in enumerate(rows):
                    lines.append(f"| {i} | `{kname[:110]}` | {us:.2f} |")
                print(f"{name} {op} T={t}: busy {busy:.1f} us span {span:.1f} us ({len(rows)} kernels)", flush=True)
                _write(a.out, lines)  # after every point: a run stopped by its timeout keeps what it measured
    _write(a.out, lines)
    if not a.out:
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def time_grid(infos: dict, ops: list[str], hidden: list[int], tokens: list[int], lines: list[str],
              out: str | None, measure) -> int:
    """The timing scripts' loop (sinkhorn_share.py, l2_window.py): ``measure(name, backend, op, H, T)``
    returns a table row for every available backend, op, H and T, in that order; each row is printed and
    the table written at once (a run stopped by its timeout keeps what it measured). A backend that is not
    there is a line, never a silent skip; a point that raises is a FAILED line and the others still run.
    Returns the count of both (the script's exit code says whether it is 0); the table is printed where
    ``out`` is None."""
    failed = 0
    for name, info in infos.items():
        if not info.available:
            lines.append(f"\n- {name}: unavailable: {info.reason}")
            failed += 1
            continue
        for op in ops:
            for h in hidden:
                for t in tokens:
                    try:
                        row = measure(name, info.backend, op, h, t)
                    except Exception as e:  # noqa: BLE001 - one failing point must not hide the others
                        lines.append(f"\n- {name} {op} H={h} T={t}: FAILED {type(e).__name__}: {str(e)[:200]}\n")
                        failed += 1
                        continue
                    lines.append(row)
                    print(row, flush=True)
                    _write(out, lines)
    _write(out, lines)
    if not out:
        sys.stdout.write("\n".join(lines) + "\n")
    return failed


def _write(path: str | None, lines: list[str]) -> None:
    if path:
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
