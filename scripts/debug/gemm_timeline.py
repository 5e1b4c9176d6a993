"""Where the prenorm_gemm op's time goes inside its GEMM: timestamps from every CTA of gemm_multicast.py's kernel, in
calls replayed back to back from one CUDA graph, as the benchmark times the op.

    source scripts/device_env.sh
    python scripts/debug/gemm_timeline.py --tokens 256 --hidden 4096 --out timeline.md [--no-fn3-first] [--late-sum]
        [--epilogue-before]

The op as the default (TileLangDecode) runs it at 129-256 tokens (the middle shape: two chunks a split, one CTA per
chunk and 64-token block, chunk_sum behind it; fn3 loaded before the PDL wait, chunk_sum triggering right after its
own wait), its GEMM built with ``stamps`` (build_prenorm_gemm_multicast): each CTA writes its SM, then the globaltimer
and clock64 at six points: entry, the producer past its PDL wait, the first and the last tile arrived, the last wgmma
done, the partials written. Why: profile_ops.py gives a kernel's start and end; between them the op at 256 x 4096
spends about 4.5 us after its wait (results/gpu/2026-12-07-h100-engines-29), which that profile cannot split into
loads, tensor-core work and epilogue.

Per call (the first left out: nothing ran before it), from the globaltimer: the CTAs' first entry to their first
release from the PDL wait, the spread of the releases and of the ends, the span, and the gap from the last CTA's end
to the next call's first release (chunk_sum and the launch between). Per CTA, from clock64 (the SM's own cycles,
converted at the run's median cycles per ns): the wait, release to first tile, first to last tile, last tile to the
last wgmma, the epilogue. The outputs are checked bitwise against the backend's own op call first.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch

# stamp_rows' columns: the SM, then STAMP_POINTS globaltimer values, then as many clock64 values
POINTS = ("entry", "released", "first tile", "last tile", "wgmma done", "written")
PHASES = (("wait", 0, 1), ("release to first tile", 1, 2), ("first to last tile", 2, 3),
          ("last tile to wgmma done", 3, 4), ("epilogue", 4, 5))


def summarize(rows: torch.Tensor) -> dict:
    """rows [calls, CTAs, 1 + 2 * len(POINTS)] int64 (globaltimer ns, clock64 cycles) -> the report's numbers, from
    calls 1 .. calls - 1: 'calls' (per call: launch to release, release spread, end spread, span, gap to the next
    call's release, in us), 'phases' (per phase: median and max over CTAs, in us at 'cycles_per_ns'), 'sms' (distinct
    SMs per call)."""
    p = len(POINTS)
    g = rows[:, :, 1:1 + p].double()
    c = rows[:, :, 1 + p:1 + 2 * p].double()
    calls = []
    for i in range(1, rows.shape[0]):
        entry, release, end = g[i, :, 0], g[i, :, 1], g[i, :, 5]
        calls.append({"launch to release": (release.min() - entry.min()).item() / 1e3,
                      "release spread": (release.max() - release.min()).item() / 1e3,
                      "end spread": (end.max() - end.min()).item() / 1e3,
                      "span": (end.max() - entry.min()).item() / 1e3,
                      "gap to next release": ((g[i + 1, :, 1].min() - end.max()).item() / 1e3
                                              if i + 1 < rows.shape[0] else float("nan"))})
    kept = slice(1, rows.shape[0])
    span_ns = (g[kept, :, 5] - g[kept, :, 0]).flatten()
    span_cycles = (c[kept, :, 5] - c[kept, :, 0]).flatten()
    long = span_ns > 0
    cycles_per_ns = statistics.median((span_cycles[long] / span_ns[long]).tolist()) if long.any() else float("nan")
    phases = {}
    for name, a, b in PHASES:
        us = ((c[kept, :, b] - c[kept, :, a]) / cycles_per_ns / 1e3).flatten().tolist()
        phases[name] = (statistics.median(us), max(us))
    return {"calls": calls, "phases": phases, "cycles_per_ns": cycles_per_ns,
            "sms": [len(set(rows[i, :, 0].tolist())) for i in range(1, rows.shape[0])]}


def report(summary: dict, title: str) -> str:
    lines = [f"# {title}", "", f"cycles per ns (clock64 over globaltimer, median over CTAs): "
             f"{summary['cycles_per_ns']:.3f}; distinct SMs per call: {sorted(set(summary['sms']))}", "",
             "| per call (us, globaltimer) | median | min | max |", "|---|---|---|---|"]
    for key in summary["calls"][0]:
        values = [call[key] for call in summary["calls"] if call[key] == call[key]]
        if values:
            lines.append(f"| {key} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    lines += ["", "| per CTA (us, clock64) | median | max |", "|---|---|---|"]
    lines += [f"| {name} | {med:.2f} | {top:.2f} |" for name, (med, top) in summary["phases"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--replays", type=int, default=3)
    parser.add_argument("--stages", type=int, default=None, help="default: the backend's op_multicast_stages")
    parser.add_argument("--no-fn3-first", action="store_true", help="fn3 after the PDL wait (the control)")
    parser.add_argument("--late-sum", action="store_true", help="chunk_sum triggering at its end")
    parser.add_argument("--epilogue-before", action="store_true",
                        help="the kernel without the overlapped squares and the register epilogue "
                             "(mid_probes.TileLangOpEpilogueBefore's); else the default's variant")
    parser.add_argument("--out", default=None, help="a markdown file; else stdout only")
    args = parser.parse_args(argv)

    from mhc_kernels.tilelang.gemm import chunk_sum_kernel
    from mhc_kernels.tilelang.gemm_multicast import BLOCK_M, STAMP_POINTS, prenorm_gemm_multicast_kernel
    from mhc_kernels.tilelang.decode_backend import TileLangDecode
    from mhc_kernels.tilelang.mid_probes import TileLangOpEpilogueBefore
    from mhc_reference.contract import hc_mult_from_mix_count
    from mhc_verify.bench import make_inputs, op_splits

    assert STAMP_POINTS == len(POINTS), (STAMP_POINTS, POINTS)
    device = torch.device("cuda")
    t, h = args.tokens, args.hidden
    splits = op_splits("prenorm_gemm", t, h, torch.cuda.get_device_properties(0).multi_processor_count)
    inputs, _ = make_inputs("prenorm_gemm", t, h, splits, device)
    x, fn = inputs["x"], inputs["fn"]
    m = fn.shape[0]
    n = hc_mult_from_mix_count(m)
    probe = TileLangOpEpilogueBefore() if args.epilogue_before else TileLangDecode()
    assert probe.op_multicast_cluster == 1 and probe.op_multicast_tokens[0] <= t <= probe.op_multicast_tokens[1], \
        "the op at these tokens is not the stamped kernel's"
    chunks = probe.op_multicast_chunks
    want = probe.prenorm_gemm(x, fn, splits)  # also fills the fn3 cache
    fn3 = probe._split_fn(fn)
    target = probe._target()
    stages = args.stages or probe.op_multicast_stages
    gemm = prenorm_gemm_multicast_kernel(n, h, m, target, cluster=1, num_stages=stages,
                                         early_trigger=probe._early(t, "prenorm_gemm"),
                                         fn3_first=not args.no_fn3_first, stamps=True, **probe.multicast_variant())
    sums = chunk_sum_kernel(m, chunks, target, loads_first=True, early_trigger=not args.late_sum)
    parts = splits * chunks
    ctas = -(-t // BLOCK_M) * parts
    rows = torch.zeros(args.calls, ctas, 1 + 2 * STAMP_POINTS, dtype=torch.int64, device=device)
    mixes_parts = torch.empty(parts, t, m, device=device)
    sqrsum_parts = torch.empty(parts, t, device=device)
    mixes = torch.empty(splits, t, m, device=device)
    sqrsum = torch.empty(splits, t, device=device)

    def call(i: int) -> None:
        gemm(x, fn3, mixes_parts, sqrsum_parts, rows[i])
        sums(mixes_parts.view(splits, chunks, t, m), sqrsum_parts.view(splits, chunks, t), mixes, sqrsum)

    call(0)
    torch.cuda.synchronize()
    same = torch.equal(mixes, want[0]) and torch.equal(sqrsum, want[1])
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(stream), torch.cuda.graph(graph, stream=stream):
        for i in range(args.calls):
            call(i)
    for _ in range(args.replays):
        graph.replay()
    torch.cuda.synchronize()
    title = (f"prenorm_gemm {t} x {h} on {torch.cuda.get_device_name(0)}: {ctas} CTAs, {parts} K ranges, "
             f"{stages} stages, fn3 {'after' if args.no_fn3_first else 'before'} the PDL wait, chunk_sum "
             f"triggering {'at its end' if args.late_sum else 'after its wait'}, "
             f"{'+'.join(probe.multicast_variant()) or 'squares before the wgmmas, epilogue through shared memory'}; "
             f"{args.calls} calls a replay, the last "
             f"of {args.replays} replays; outputs {'bitwise' if same else 'NOT bitwise'} the backend's op call")
    text = report(summarize(rows.cpu()), title)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
