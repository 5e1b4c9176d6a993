"""Benchmark (not a test): per-call time of each mHC op per backend, replayed from a CUDA graph as
engines run decode, and eager beside it; GB/s beside the GPU's own copy bandwidth.

    python -m mhc_verify.bench --backend tilelang --backend tile_kernels --backend vllm-tilelang --out DIR

For each op x tokens x hidden size it times every backend side by side (the same inputs, the call
the suite checks, without its Python contract checks): the per-call GPU time of a CUDA-graph replay
(``--mode graph``), the eager GPU time per call and the host time to issue one (``--mode eager``),
both by default (mhc_verify/timing.py says how). It counts the bytes the op must move at least
(every input read once, every output written once, contract shapes) and reports GB/s and the ratio
to the device-to-device copy bandwidth measured at the start of the same run. Small token counts fit
in L2 and are launch-bound; the ratio is meaningful where the working set exceeds L2 (tens of MB).
There (from BenchConfig.copy_beside_min_bytes, 128 MiB) each point also times a copy of its own bytes
just before its backends, the way its rows are timed, and reports the ratio to that copy too: two
eager runs in a row of the same kernel at 65 536 tokens differed by up to 8 % on an H200 (results/gpu/
2026-12-04-h200-engines-6, call 4), which a copy timed at the start of the run cannot see.
The gemm ops take the split count an engine would pick (enough CTAs for every SM, each split a whole
number of 64-wide K tiles); the table says which.

Outputs in --out: bench.jsonl (rows as measured, flushed: a killed run leaves them), bench.md
(tables, fastest marked, where ours is not fastest), bench.json, bench-H<H>.png (log-log, one panel
per op). SIGTERM (``timeout``) or Ctrl-C writes what was measured, marked INTERRUPTED.
"""


from __future__ import annotations

import argparse
import datetime as _dt
import math
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from mhc_reference.contract import dim_sizes, get_op, shape_of
from mhc_verify.bench_report import OURS, BenchRow, RowSink, per_call_us, write_report
from mhc_verify.interrupt import install_stop_handlers, reraise_if_stopping
from mhc_verify.registry import discover, discover_named, select
from mhc_verify.runner import DeviceLost, device_lost
from mhc_verify.timing import CudaTimer, EagerTiming, GraphTiming, Timer, copy_bandwidth

# Decode (engines replay these from CUDA graphs) up to prefill chunks and the stress sizes.
TOKENS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 65_536, 80_000)
HIDDEN = (4096, 7168)
OPS = ("prenorm_gemm", "pre_big_fuse", "mhc_pre", "hc_post", "layer_input", "hc_head", "fused_post_pre")
MODES = ("both", "graph", "eager")
DEFAULT_BACKENDS = ("tilelang", "tile_kernels", "torch-cuda", "vllm-tilelang", "vllm-triton", "vllm-torch",
                    "aiter-triton")
N = 4

__all__ = ["BenchRow", "OPS", "TOKENS", "HIDDEN", "copy_bandwidth", "engine_splits", "make_inputs", "op_bytes",
           "op_splits", "run_bench", "time_call", "main"]


def time_call(fn: Callable[[], Any], min_seconds: float = 0.02, batches: int = 5) -> float:
    """Median over batches of the mean GPU time per call in seconds (CudaTimer.eager: CUDA events
    around each batch of back-to-back calls)."""
    return CudaTimer(min_seconds=min_seconds, batches=batches).eager(fn, tokens=0).us / 1e6


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




@dataclass
class BenchConfig:
    """How to time: the timer (CUDA events, or a fake in CPU tests), the device inputs live on,
    graph/eager/both, and above which T no graph is captured (None: every T)."""

    timer: Timer = field(default_factory=CudaTimer)
    device: torch.device = field(default_factory=lambda: torch.device("cuda"))
    mode: str = "both"
    graph_max_tokens: int | None = None
    n_sms: int | None = None  # default: the device's
    # points whose op moves at least this many bytes get a copy of the same bytes timed beside them
    # (BenchRow.copy_beside_gbps): above L2 (50 MB on an H100 / H200), where the ratio means DRAM;
    # 128 MiB takes in the prenorm_gemm op at 4096 x 4096 (issue 16's 90 % floor)
    copy_beside_min_bytes: int = 128 << 20


def _row_for(op: str, name: str, t: int, h: int, s: int, nbytes: int, graph: GraphTiming | None,
             eager: EagerTiming | None, copy_gbps: float) -> BenchRow:
    graph_us = graph.us if graph else None
    eager_us = eager.us if eager else None
    us = per_call_us(graph_us, eager_us)
    gbps = nbytes / (us * 1e-6) / 1e9 if us else None
    notes = [graph.not_capturable] if graph and graph.not_capturable else []
    return BenchRow(op, name, t, h, s, us, nbytes, gbps, gbps / copy_gbps if gbps else None, "; ".join(notes),
                    graph_us=graph_us, eager_us=eager_us, host_us=eager.host_us if eager else None,
                    graph_calls=graph.calls if graph else 0, graph_lo_us=graph.lo_us if graph else None,
                    graph_hi_us=graph.hi_us if graph else None, eager_lo_us=eager.lo_us if eager else None,
                    eager_hi_us=eager.hi_us if eager else None)


def run_bench(backends: list[str], ops: tuple[str, ...], tokens: tuple[int, ...], hidden: tuple[int, ...],
              rows: list[BenchRow], progress: Callable[[str], None] = print, *, config: BenchConfig | None = None,
              copy_gbps: float | None = None, sink: RowSink | None = None) -> tuple[float, dict[str, Any]]:
    """Appends to ``rows`` (and ``sink``) as it goes, so an interrupted run keeps what it measured.

    Loop order H -> op -> T -> backend: every backend of one (op, T, H) is timed on the same inputs
    one after the other, so a stopped run still has whole side-by-side comparisons."""
    config = config or BenchConfig()
    device = config.device
    infos = select(backends, discover_named(backends))
    if copy_gbps is None:
        copy_gbps = copy_bandwidth(device)
    _last_copy_bw["gbps"] = copy_gbps
    progress(f"copy bandwidth {copy_gbps:.0f} GB/s")
    n_sms = config.n_sms or torch.cuda.get_device_properties(device).multi_processor_count

    def add(row: BenchRow) -> None:
        rows.append(row)
        if sink is not None:
            sink.add(row)

    live = {}
    for name, info in infos.items():
        if not info.available:
            progress(f"{name}: unavailable: {info.reason}")
            for op in ops:
                add(BenchRow(op, name, 0, 0, 0, None, 0, None, None, f"unavailable: {info.reason}"))
        elif info.backend.device_type != device.type:
            for op in ops:
                add(BenchRow(op, name, 0, 0, 0, None, 0, None, None,
                             f"runs on {info.backend.device_type}, this run times {device.type}"))
        else:
            live[name] = info.backend
            for op in ops:
                if op not in info.backend.implements():
                    why = info.backend.not_implemented.get(op, "")
                    add(BenchRow(op, name, 0, 0, 0, None, 0, None, None, "not implemented" + (f": {why}" if why else "")))
    for h in hidden:
        for op in ops:
            spec = get_op(op)
            for t in tokens:
                s = op_splits(op, t, h, n_sms)
                inputs, params = make_inputs(op, t, h, s, device)
                nbytes = op_bytes(op, inputs, t, h, s)
                sizes = dim_sizes(t, N, h, s)
                beside = _copy_beside(nbytes, t, config, progress) if nbytes >= config.copy_beside_min_bytes else None
                for name, backend in live.items():
                    if op not in backend.implements():
                        continue
                    why = backend.supports(op, sizes, inputs, {**params})
                    if why:
                        add(BenchRow(op, name, t, h, s, None, 0, None, None, f"n/a: {why}"))
                        continue
                    row = _measure(backend, name, spec, op, inputs, params, t, h, s, nbytes, copy_gbps, config, progress)
                    row.copy_beside_gbps = beside
                    add(row)
                    if row.note.startswith("FAILED") and (lost := device_lost(backend)):
                        # a fault is sticky for the process: every later row would fail and blame the
                        # backend measured next (seen: vllm-triton's hc_head at 80 000 tokens)
                        raise DeviceLost(f"the CUDA context was lost by {name} at {op} T={t} H={h} ({lost})")
                del inputs
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            if sink is not None:
                sink.provenance(_provenance(infos))
    return copy_gbps, _provenance(infos)  # after the run: compile counts and engine calls are in it


def _provenance(infos: dict[str, Any]) -> dict[str, Any]:
    return {name: (info.backend.provenance() if info.available and info.backend else {"unavailable": info.reason})
            for name, info in infos.items()}


def _copy_beside(nbytes: int, tokens: int, config: BenchConfig, progress: Callable[[str], None]) -> float | None:
    """GB/s of a device-to-device copy moving ``nbytes`` (half read, half written), timed as this
    point's rows are: replayed from a CUDA graph where they are (no launch gaps), else eagerly. None
    (said in the log) where it cannot be allocated: the rows then keep only the run's copy ratio."""
    graphed = config.mode in ("both", "graph") and (config.graph_max_tokens is None or tokens <= config.graph_max_tokens)
    try:
        src = torch.empty(nbytes // 2, dtype=torch.uint8, device=config.device).fill_(1)
        dst = torch.empty_like(src)
        timing = (config.timer.graph if graphed else config.timer.eager)(lambda: dst.copy_(src), tokens)
    except torch.OutOfMemoryError:
        progress(f"copy beside {nbytes / 1e9:.1f} GB: not measured (out of memory)")
        return None
    finally:
        src = dst = None
        if config.device.type == "cuda":
            torch.cuda.empty_cache()
    if timing.us is None:  # a copy is always capturable; a timer that says otherwise is reported
        progress(f"copy beside {nbytes / 1e9:.1f} GB: not measured ({getattr(timing, 'not_capturable', '')})")
        return None
    gbps = 2 * (nbytes // 2) / (timing.us * 1e-6) / 1e9
    progress(f"copy beside {nbytes / 1e9:.2f} GB ({'graph' if graphed else 'eager'}): {timing.us:.1f} us, "
             f"{gbps:.0f} GB/s")
    return gbps


def direct_call(backend, spec, inputs: dict, params: dict) -> Callable[[], Any]:
    """The backend's op method bound to these inputs and params: the kernels alone, without the
    contract checks of ``Backend.run`` (what an engine's hot path pays)."""
    method = getattr(backend, spec.name)
    kwargs = {n: inputs.get(n) for n in spec.input_names}
    kwargs.update({p.name: params.get(p.name, p.default) for p in spec.params})
    return lambda: method(**kwargs)


def _measure(backend, name: str, spec, op: str, inputs: dict, params: dict, t: int, h: int, s: int, nbytes: int,
             copy_gbps: float, config: BenchConfig, progress: Callable[[str], None]) -> BenchRow:
    """One backend at one (op, T, H): a contract-checked call first (it compiles), then the kernels
    alone (the method, no Python checks) eagerly and/or replayed from a graph."""
    where = f"{op:15s} {name:14s} T={t:6d} H={h}"
    try:
        backend.run(op, inputs, params)
    except torch.OutOfMemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - a kernel that fails here is a row saying so
        reraise_if_stopping(e)  # TVM FFI turns our SIGTERM into RuntimeError('') mid-compile: that is the stop
        progress(f"{where} FAILED: {type(e).__name__}: {e}")
        return BenchRow(op, name, t, h, s, None, nbytes, None, None, f"FAILED: {type(e).__name__}: {str(e)[:200]}")
    call = direct_call(backend, spec, inputs, params)
    graph = eager = None
    try:
        if config.mode in ("both", "eager"):
            eager = config.timer.eager(call, t)
        if config.mode in ("both", "graph"):
            if config.graph_max_tokens is not None and t > config.graph_max_tokens:
                graph = GraphTiming(None, 0, 0, f"graph not measured above T={config.graph_max_tokens}")
                if eager is None:
                    eager = config.timer.eager(call, t)  # the row still gets a time
            else:
                graph = config.timer.graph(call, t)
                if graph.us is None and eager is None:
                    eager = config.timer.eager(call, t)  # not capturable: its eager time beside the reason
    except torch.OutOfMemoryError:  # a failure, never a skip: run_and_write writes what it has
        progress(f"{where} FAILED: OOM")
        raise
    except Exception as e:  # noqa: BLE001
        reraise_if_stopping(e)
        progress(f"{where} FAILED while timing: {type(e).__name__}: {e}")
        return BenchRow(op, name, t, h, s, None, nbytes, None, None,
                        f"FAILED while timing: {type(e).__name__}: {str(e)[:200]}")
    row = _row_for(op, name, t, h, s, nbytes, graph, eager, copy_gbps)
    g = f"graph {row.graph_us:9.1f}" if row.graph_us is not None else "graph         -"
    e_ = f"eager {row.eager_us:9.1f} host {row.host_us:7.1f}" if row.eager_us is not None else ""
    ratio = f" {row.gbps:8.0f} GB/s {row.of_copy:6.1%}" if row.gbps is not None else ""
    progress(f"{where} S={s:2d} {g} {e_} us{ratio}" + (f"  [{row.note}]" if row.note else ""))
    return row


def _git_rev() -> str:
    try:
        root = Path(__file__).resolve().parents[1]
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return (rev or "not a git checkout") + (" (uncommitted changes)" if dirty else "")
    except Exception as e:  # noqa: BLE001
        return f"unknown ({type(e).__name__})"


SOURCE_DIRS = ("reference", "kernels", "mhc_verify")  # the packages mhc_reference, mhc_kernels, mhc_verify


def source_digest(root: Path | None = None) -> str:
    """The first 12 hex digits of a sha256 over every .py file under SOURCE_DIRS (relative path, then
    content, in path order): names the code a run used where git cannot. A device's copy of the working
    tree may carry stale git metadata (the thirteenth session's H200 runs read "807803a (uncommitted
    changes)", the session's first commit, for trees two and six commits later). For a commit:
    ``git worktree add /tmp/rev REV`` and ``source_digest(Path("/tmp/rev"))``."""
    import hashlib

    root = root or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = sorted(p for d in SOURCE_DIRS for p in (root / d).rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12] if files else "no sources found"


def environment(command: str) -> dict[str, Any]:
    import os

    env: dict[str, Any] = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                           "command": command, "git": _git_rev(), "sources": source_digest(),
                           "python": platform.python_version(),
                           "torch": torch.__version__, "cuda": torch.version.cuda, "hip": torch.version.hip}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["sms"] = torch.cuda.get_device_properties(0).multi_processor_count
    try:
        env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:  # noqa: BLE001
        env["driver"] = f"unknown ({type(e).__name__})"
    from importlib.metadata import version

    for dist in ("tilelang", "tile-kernels", "triton", "vllm", "amd-aiter", "sglang"):
        try:
            env[dist] = version(dist)
        except Exception:  # noqa: BLE001
            env[dist] = "not installed"
    env["tilelang cache dir"] = os.environ.get("TILELANG_CACHE_DIR", "~/.tilelang/cache (default)")
    return env


BENCH_FILES = ("bench.md", "bench.jsonl")
PROG = "python -m mhc_verify.bench"


def main(argv: list[str] | None = None) -> int:
    from mhc_verify.front_door import guarded

    return guarded(_main, list(sys.argv[1:] if argv is None else argv), PROG)


def _flat(values: list[list[int]] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(v for vs in values for v in vs) if values else default


def _main(argv: list[str]) -> int:
    from mhc_verify.front_door import (FrontDoorParser, UsageError, add_debug_flag, add_force_flag,
                                       explicit_backends, output_dir, positive_int, positive_int_list,
                                       refuse_existing_report)

    p = FrontDoorParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--backend", action="append",
                   help=f"repeatable; default every available one of {', '.join(DEFAULT_BACKENDS)}")
    p.add_argument("--op", action="append", choices=OPS)
    p.add_argument("--tokens", type=positive_int_list, action="append",
                   help=f"repeatable or comma list; default {','.join(map(str, TOKENS))}")
    p.add_argument("--hidden", type=positive_int_list, action="append", help="default 4096,7168")
    p.add_argument("--mode", choices=MODES, default="both",
                   help="graph: CUDA-graph replay per call; eager: eager GPU and host time; both (default)")
    p.add_argument("--graph-max-tokens", type=positive_int, default=None,
                   help="capture graphs only up to this T (larger T: eager only, the table says so)")
    p.add_argument("--precompile", choices=("auto", "off"), default="auto",
                   help="auto: compile our TileLang kernels for the grid's hidden sizes in parallel processes "
                        "first (into TileLang's disk cache); off: each compiles at its first call")
    p.add_argument("--ours", action="append",
                   help="one of our backends for the 'ours fastest?' column (repeatable; default tilelang): "
                        "the fastest of them is compared with every other backend")
    p.add_argument("--out", type=output_dir, required=True)
    add_force_flag(p, "bench.md")
    add_debug_flag(p)
    args = p.parse_args(argv)
    refuse_existing_report(args.out, BENCH_FILES, args.force)
    if args.backend:
        explicit_backends(args.backend, discover_named(args.backend))
    if not torch.cuda.is_available():
        raise UsageError("needs a GPU: torch.cuda.is_available() is False")
    if args.backend:
        backends = args.backend
    else:  # the default set: those that run here (an unavailable default is no error, only absent)
        found = discover()
        backends = [b for b in DEFAULT_BACKENDS if b in found and found[b].available]
    hidden = _flat(args.hidden, HIDDEN)
    env = environment(f"{PROG} " + " ".join(argv))
    env.update({"ours": list(args.ours or OURS), "mode": args.mode, "graph max tokens": args.graph_max_tokens or "every T",
                "timer": vars(CudaTimer())})
    config = BenchConfig(timer=CudaTimer(), device=torch.device("cuda"), mode=args.mode,
                         graph_max_tokens=args.graph_max_tokens)
    return run_and_write(args.out, backends, tuple(args.op or OPS), _flat(args.tokens, TOKENS), hidden, config, env,
                         precompile=args.precompile == "auto" and "tilelang" in backends)


def _precompile_tilelang(hidden: tuple[int, ...], progress: Callable[[str], None]) -> dict[str, Any]:
    """Our TileLang kernels for every hidden size, compiled in parallel into TileLang's disk cache
    before timing (a cold run otherwise spends minutes compiling one kernel after another)."""
    from mhc_kernels.tilelang._build import device_target
    from mhc_kernels.tilelang.precompile import precompile

    start = time.perf_counter()
    result = precompile(hidden, device_target())
    progress(f"tilelang precompile: {result['configs']} kernel configurations, {result['compiled']} compiled, "
             f"{result['seconds']:.0f} s ({result['workers']} processes, {result['from_cache']} from TileLang's disk cache)" +
             (f"; failed: {result['failed']}" if result["failed"] else ""))
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    return result


def run_and_write(out: Path, backends: list[str], ops: tuple[str, ...], tokens: tuple[int, ...],
                  hidden: tuple[int, ...], config: BenchConfig, env: dict[str, Any], *,
                  copy_gbps: float | None = None, precompile: bool = False,
                  progress: Callable[[str], None] = print) -> int:
    """Run the grid and write bench.jsonl (as it goes) and bench.md/json/png (at the end, or on a
    stop request: SIGTERM or Ctrl-C, marked INTERRUPTED). Returns the exit status."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**env, "grid": {"backends": list(backends), "ops": list(ops), "tokens": list(tokens),
                           "hidden": list(hidden)}}
    rows: list[BenchRow] = []
    prov: dict[str, Any] = {}
    status = 0
    sink = RowSink(out / "bench.jsonl", env)
    restore = install_stop_handlers()  # `timeout` stops us: keep the rows measured so far
    try:
        if precompile:
            env["tilelang precompile"] = _precompile_tilelang(hidden, progress)
        copy_gbps, prov = run_bench(list(backends), ops, tokens, hidden, rows, progress, config=config,
                                    copy_gbps=copy_gbps, sink=sink)
    except KeyboardInterrupt:
        env["interrupted"] = (f"stopped (SIGTERM or Ctrl-C) after {len(rows)} rows; the tables are partial, "
                              f"the rest of the grid was not measured")
        progress(f"INTERRUPTED after {len(rows)} rows: writing what was measured")
    except torch.OutOfMemoryError as e:
        env["interrupted"] = f"stopped by out of memory after {len(rows)} rows: {str(e)[:200]}"
        status = 1
    except DeviceLost as e:
        env["interrupted"] = f"stopped after {len(rows)} rows: {e}; the rest of the grid was not measured"
        progress(f"DEVICE LOST: {e}: writing what was measured")
        status = 1
    except Exception as e:  # noqa: BLE001 - the harness failing must not lose the rows measured
        env["interrupted"] = f"stopped by {type(e).__name__} after {len(rows)} rows: {str(e)[:200]}"
        progress(f"FAILED: {type(e).__name__}: {e}: writing what was measured")
        status = 1
    finally:
        restore()
        sink.close()
    copy = copy_gbps if copy_gbps is not None else _last_copy_bw.get("gbps", float("nan"))
    path = write_report(out, rows, env, copy, prov)
    progress(f"wrote {path}")
    return status


_last_copy_bw: dict[str, float] = {}


if __name__ == "__main__":
    raise SystemExit(main())
