"""Benchmark (not a test): GB/s of each mHC op per backend, beside the GPU's own copy bandwidth.

    python -m mhc_verify.bench --backend tilelang --backend tile_kernels --backend torch-cuda --out DIR

For each op x backend x tokens x hidden size it times the op through the backend contract (the
same call the suite checks), counts the bytes the op must move at least (every input read once,
every output written once, contract shapes), and reports GB/s and the ratio to the device-to-device
copy bandwidth measured at the start of the same run. Small token counts fit in L2 and can exceed
the HBM copy rate; the ratio is meaningful where the working set exceeds L2 (tens of MB).
The gemm ops take the split count an engine would pick (enough CTAs for every SM, each split a whole
number of 64-wide K tiles); the table says which.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import platform
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from mhc_reference.contract import dim_sizes, get_op, shape_of
from mhc_verify.registry import discover, select

TOKENS = (1, 128, 1024, 4096, 65_536, 80_000)
HIDDEN = (4096, 7168)
OPS = ("prenorm_gemm", "pre_big_fuse", "mhc_pre", "hc_post", "layer_input", "hc_head", "fused_post_pre")
N = 4


@dataclass
class BenchRow:
    op: str
    backend: str
    T: int
    H: int
    n_splits: int
    us: float | None
    bytes: int
    gbps: float | None
    of_copy: float | None
    note: str = ""


_last_copy_bw: dict[str, float] = {}


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def copy_bandwidth(device: torch.device, nbytes: int = 1 << 31, reps: int = 20) -> float:
    """Device-to-device copy rate in GB/s (bytes read + bytes written), best of ``reps``."""
    src = torch.empty(nbytes // 2, dtype=torch.bfloat16, device=device).fill_(1.0)
    dst = torch.empty_like(src)
    best = math.inf
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    del src, dst
    _last_copy_bw["gbps"] = 2 * nbytes / best / 1e9
    return _last_copy_bw["gbps"]


def time_call(fn: Callable[[], Any], min_seconds: float = 0.02, batches: int = 5) -> float:
    """Median over batches of the mean time per call in seconds (CUDA events around each batch)."""
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    one = max(time.perf_counter() - t0, 1e-6)
    iters = max(1, min(200, int(min_seconds / one)))
    samples = []
    for _ in range(batches):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / iters)
    samples.sort()
    return samples[len(samples) // 2]


def engine_splits(tokens: int, k: int, block_m: int, n_sms: int, split_multiple: int = 64) -> int:
    """Split count filling the SMs (vLLM's rule), a power of two with K/S whole K tiles, at most 16."""
    grid = max(1, -(-tokens // block_m))
    want = max(1, min(n_sms // grid, (k // split_multiple) // 4, 16))
    s = 1
    while s * 2 <= want and k % (s * 2) == 0 and (k // (s * 2)) % split_multiple == 0:
        s *= 2
    return s


def op_splits(op: str, tokens: int, hidden: int, n_sms: int) -> int:
    """The split count the benchmark gives an op: an engine's (engine_splits) where the op takes
    split-K partials (its n_splits, or pre_big_fuse's partial inputs), else 1."""
    if "n_splits" in get_op(op).param_names or op == "pre_big_fuse":
        return engine_splits(tokens, N * hidden, 128 if tokens >= 1024 else 64, n_sms)
    return 1


def make_inputs(op: str, t: int, h: int, n_splits: int, device: torch.device, norm: bool = False) -> tuple[dict, dict]:
    spec = get_op(op)
    sizes = dim_sizes(t, N, h, n_splits)
    g = torch.Generator(device=device).manual_seed(t * 31 + h)
    inputs: dict[str, torch.Tensor] = {}
    for ts in spec.inputs:
        if ts.optional and not (ts.name == "norm_weight" and norm):
            continue
        shape = shape_of(ts, sizes)
        x = torch.randn(shape, generator=g, device=device, dtype=torch.float32)
        if ts.name in ("fn",):
            x = x * 1e-3
        if ts.name in ("comb_mix",):
            x = torch.softmax(x, dim=-1)
        if ts.name in ("sqrsum_partial",):
            x = x.abs() * h
        inputs[ts.name] = x.to(ts.dtype)
    params = {"n_splits": n_splits} if "n_splits" in spec.param_names else {}
    return inputs, params


def op_bytes(op: str, inputs: dict[str, torch.Tensor], t: int, h: int, n_splits: int) -> int:
    spec = get_op(op)
    sizes = dim_sizes(t, N, h, n_splits)
    total = sum(v.numel() * v.element_size() for v in inputs.values())
    for out in spec.outputs:
        total += math.prod(shape_of(out, sizes)) * out.dtype.itemsize
    return total


def run_bench(backends: list[str], ops: tuple[str, ...], tokens: tuple[int, ...], hidden: tuple[int, ...],
              rows: list[BenchRow], progress: Callable[[str], None] = print) -> tuple[float, dict[str, Any]]:
    """Appends to ``rows`` as it goes, so an interrupted run keeps what it measured."""
    device = torch.device("cuda")
    infos = select(backends, discover([b for b in backends if ":" in b]))
    copy_bw = copy_bandwidth(device)
    progress(f"copy bandwidth {copy_bw:.0f} GB/s")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count
    for name, info in infos.items():
        if not info.available:
            progress(f"{name}: unavailable: {info.reason}")
            for op in ops:
                rows.append(BenchRow(op, name, 0, 0, 0, None, 0, None, None, f"unavailable: {info.reason}"))
            continue
        backend = info.backend
        for op in ops:
            if op not in backend.implements():
                rows.append(BenchRow(op, name, 0, 0, 0, None, 0, None, None, "not implemented"))
                continue
            for h in hidden:
                for t in tokens:
                    s = op_splits(op, t, h, n_sms)
                    inputs, params = make_inputs(op, t, h, s, device)
                    sizes = dim_sizes(t, N, h, s)
                    why = backend.supports(op, sizes, inputs, {**params})
                    if why:
                        rows.append(BenchRow(op, name, t, h, s, None, 0, None, None, f"n/a: {why}"))
                        continue
                    nbytes = op_bytes(op, inputs, t, h, s)
                    try:
                        backend.run(op, inputs, params)  # once through the contract checks (and compile)
                    except torch.OutOfMemoryError:
                        raise
                    except Exception as e:  # noqa: BLE001 - a kernel that fails here is a row saying so;
                        # the other backends' rows are still measured
                        rows.append(BenchRow(op, name, t, h, s, None, nbytes, None, None,
                                             f"FAILED: {type(e).__name__}: {str(e)[:200]}"))
                        progress(f"{op:15s} {name:13s} T={t:6d} H={h} FAILED: {type(e).__name__}: {e}")
                        continue
                    method = getattr(backend, op)
                    spec = get_op(op)
                    kwargs = {name: inputs.get(name) for name in spec.input_names}
                    kwargs.update({p.name: params.get(p.name, p.default) for p in spec.params})
                    try:
                        sec = time_call(lambda: method(**kwargs))  # the kernels alone, no Python checks
                    except torch.OutOfMemoryError as e:  # a failure, never a skip
                        rows.append(BenchRow(op, name, t, h, s, None, nbytes, None, None, f"FAILED: OOM: {e}"))
                        raise
                    gbps = nbytes / sec / 1e9
                    rows.append(BenchRow(op, name, t, h, s, sec * 1e6, nbytes, gbps, gbps / copy_bw))
                    progress(f"{op:15s} {name:13s} T={t:6d} H={h} S={s:2d} {sec*1e6:10.1f} us "
                             f"{gbps:8.0f} GB/s {gbps / copy_bw:6.1%}")
                    del inputs
            torch.cuda.empty_cache()
    prov = {name: (info.provenance if info.available else {"unavailable": info.reason}) for name, info in infos.items()}
    return copy_bw, prov


def environment(command: str) -> dict[str, Any]:
    env: dict[str, Any] = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                           "command": command, "python": platform.python_version(), "torch": torch.__version__,
                           "cuda": torch.version.cuda, "hip": torch.version.hip}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["sms"] = torch.cuda.get_device_properties(0).multi_processor_count
    try:
        env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # noqa: BLE001
        env["driver"] = f"unknown ({type(e).__name__})"
    for dist in ("tilelang", "tile-kernels", "triton"):
        try:
            from importlib.metadata import version

            env[dist] = version(dist)
        except Exception:  # noqa: BLE001
            env[dist] = "not installed"
    return env


def write(out: Path, copy_bw: float, rows: list[BenchRow], prov: dict, env: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps({"environment": env, "copy_gbps": copy_bw,
                                                "rows": [asdict(r) for r in rows], "provenance": prov},
                                               indent=1, default=str))
    lines = ["# mHC kernel benchmark", "", *[f"- {k}: {v}" for k, v in env.items()],
             f"- device-to-device copy bandwidth measured in this run: **{copy_bw:.0f} GB/s**", "",
             "GB/s counts every input read once and every output written once (contract shapes); "
             "'of copy' is that rate over the copy bandwidth above. Below ~4096 tokens the working set "
             "fits in L2 (50 MB) and the launch latency dominates: read the ratio at >= 4096 tokens.", ""]
    backends = sorted({r.backend for r in rows})
    for op in dict.fromkeys(r.op for r in rows):
        lines += [f"## {op}", "", "| T | H | S | " + " | ".join(f"{b} us | {b} GB/s (of copy)" for b in backends) + " |",
                  "|---|---|---|" + "---|---|" * len(backends)]
        keys = sorted({(r.T, r.H) for r in rows if r.op == op and r.T})
        for t, h in sorted(keys, key=lambda k: (k[1], k[0])):
            cells, s_used = [], ""
            for b in backends:
                r = next((r for r in rows if r.op == op and r.backend == b and r.T == t and r.H == h), None)
                if r is None or r.us is None:
                    cells += ["-", (r.note[:40] if r else "-")]
                else:
                    s_used = str(r.n_splits)
                    cells += [f"{r.us:.1f}", f"{r.gbps:.0f} ({r.of_copy:.0%})"]
            lines.append(f"| {t} | {h} | {s_used} | " + " | ".join(cells) + " |")
        notes = {r.backend: r.note for r in rows if r.op == op and not r.T}
        for b, note in notes.items():
            lines.append(f"\n{b}: {note}")
        lines.append("")
    path = out / "bench.md"
    path.write_text("\n".join(lines))
    return path


BENCH_FILES = ("bench.md",)
PROG = "python -m mhc_verify.bench"


def main(argv: list[str] | None = None) -> int:
    from mhc_verify.front_door import guarded

    return guarded(_main, list(sys.argv[1:] if argv is None else argv), PROG)


def _main(argv: list[str]) -> int:
    from mhc_verify.front_door import (FrontDoorParser, UsageError, add_debug_flag, add_force_flag,
                                       explicit_backends, output_dir, positive_int, refuse_existing_report)

    p = FrontDoorParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--backend", action="append", help="repeatable; default tilelang, tile_kernels, torch-cuda")
    p.add_argument("--op", action="append", choices=OPS)
    p.add_argument("--tokens", type=positive_int, action="append")
    p.add_argument("--hidden", type=positive_int, action="append")
    p.add_argument("--out", type=output_dir, required=True)
    add_force_flag(p, "bench.md")
    add_debug_flag(p)
    args = p.parse_args(argv)
    refuse_existing_report(args.out, BENCH_FILES, args.force)
    if args.backend:
        explicit_backends(args.backend, discover([b for b in args.backend if ":" in b]))
    if not torch.cuda.is_available():
        raise UsageError("needs a GPU: torch.cuda.is_available() is False")
    backends = args.backend or ["tilelang", "tile_kernels", "torch-cuda"]
    env = environment(f"{PROG} " + " ".join(argv))
    rows: list[BenchRow] = []
    signal.signal(signal.SIGTERM, _interrupt)  # `timeout` stops us: keep the rows measured so far
    try:
        copy_bw, prov = run_bench(backends, tuple(args.op or OPS), tuple(args.tokens or TOKENS),
                                  tuple(args.hidden or HIDDEN), rows)
    except KeyboardInterrupt:
        env["interrupted"] = f"stopped after {len(rows)} rows; the table is partial"
        copy_bw, prov = _last_copy_bw.get("gbps", float("nan")), {}
    path = write(args.out, copy_bw, rows, prov, env)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
