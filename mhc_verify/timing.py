"""How long one op call takes on the GPU: replayed from a CUDA graph (as engines run decode) and eager.

Engines call the mHC ops in decode at 1 to a few hundred tokens per step, replayed from CUDA graphs:
there the GPU runs the kernels back to back and the host's launch cost (Python, the library's
wrappers, the driver) is gone. Eager calls at small token counts measure mostly that host cost.
So a call is timed both ways:

* graph: warm up eagerly (compiles, autotuning, allocator growth), capture ``calls`` calls in one
  ``torch.cuda.CUDAGraph`` on a side stream, replay it ``replays`` times between CUDA events; the
  per-call time is the median replay over ``calls``, kept with the fastest and slowest replay. A
  call that cannot be captured (a host sync, a ``.item()``, a blocking allocation, a non-capturable
  library call) raises during capture: the
  result says "not capturable: <reason>" and the eager time stands beside it, never a gap.
* eager: back-to-back calls between CUDA events (GPU time per call, launch gaps included, which is
  what an eager engine pays), and the host wall time to issue one call (before the final sync).

The benchmark takes a ``Timer`` so that its table, plot, interrupt and partial-write logic run on a
CPU with a fake one (tests/test_bench_graph.py); ``CudaTimer`` is the real one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch

from mhc_verify.interrupt import reraise_if_stopping


@dataclass(frozen=True)
class GraphTiming:
    """Per-call GPU time replayed from a CUDA graph, or why the op could not be captured."""

    us: float | None
    calls: int = 0  # calls captured in the graph
    replays: int = 0
    not_capturable: str = ""  # the capture error, when us is None
    # the fastest and slowest replay's per-call time: how far apart two backends' medians must be
    # before "faster" means more than this run's replay-to-replay spread
    lo_us: float | None = None
    hi_us: float | None = None


@dataclass(frozen=True)
class EagerTiming:
    """Per-call GPU time of back-to-back eager calls, and host time to issue one call."""

    us: float
    host_us: float
    iters: int
    # the fastest and slowest batch's per-call time (batches of back-to-back calls): the eager
    # counterpart of GraphTiming's replay range
    lo_us: float | None = None
    hi_us: float | None = None


class Timer(Protocol):
    def graph(self, fn: Callable[[], Any], tokens: int) -> GraphTiming: ...
    def eager(self, fn: Callable[[], Any], tokens: int) -> EagerTiming: ...


def graph_calls_for(tokens: int) -> int:
    """Calls captured per graph: 20 in decode; few at prefill sizes, where one call is already long
    and each captured call keeps its outputs alive in the graph's memory pool until replay ends."""
    return 20 if tokens <= 4096 else 3


def _short_reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}".rstrip(": ")


class CudaTimer:
    """CUDA-event timing on the current device (see the module docstring)."""

    def __init__(self, warmup: int = 3, replays: int = 10, min_seconds: float = 0.02, batches: int = 5) -> None:
        self.warmup, self.replays, self.min_seconds, self.batches = warmup, replays, min_seconds, batches

    def graph(self, fn: Callable[[], Any], tokens: int) -> GraphTiming:
        calls = graph_calls_for(tokens)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up on the capture stream, as torch's docs require
            for _ in range(self.warmup):
                fn()
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=stream):
                for _ in range(calls):
                    fn()
        except torch.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - a capture failure is the result, reported as a row
            reraise_if_stopping(e)
            del graph
            _recover_after_failed_capture()
            return GraphTiming(None, calls, 0, f"not capturable: {_short_reason(e)}")
        try:
            graph.replay()  # the first replay uploads the graph; not timed
            torch.cuda.synchronize()
            samples = []
            for _ in range(self.replays):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                graph.replay()
                end.record()
                end.synchronize()
                samples.append(start.elapsed_time(end) * 1e3 / calls)
        finally:
            del graph
        samples.sort()
        return GraphTiming(samples[len(samples) // 2], calls, self.replays, lo_us=samples[0], hi_us=samples[-1])

    def eager(self, fn: Callable[[], Any], tokens: int) -> EagerTiming:
        fn()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        one = max(time.perf_counter() - t0, 1e-6)
        iters = max(1, min(200, int(self.min_seconds / one)))
        gpu, host = [], []
        for _ in range(self.batches):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            h0 = time.perf_counter()
            for _ in range(iters):
                fn()
            h1 = time.perf_counter()  # issue time only: the host is free here unless the queue is full
            end.record()
            end.synchronize()
            gpu.append(start.elapsed_time(end) * 1e3 / iters)
            host.append((h1 - h0) * 1e6 / iters)
        gpu.sort()
        host.sort()
        return EagerTiming(gpu[len(gpu) // 2], host[len(host) // 2], iters, lo_us=gpu[0], hi_us=gpu[-1])


def _recover_after_failed_capture() -> None:
    """A failed capture leaves the capture stream invalidated until capture ends (torch ends it in
    the context manager); any error left on the device from it is cleared by a synchronize."""
    try:
        torch.cuda.synchronize()
    except Exception:  # noqa: BLE001 - the next call surfaces a real fault as its own error
        pass


def graph_replay_once(call: Callable[[], Any]) -> Any:
    """``call()`` captured in a CUDA graph (after one eager warm-up call), replayed once; returns what
    the captured call returned (its outputs live in the graph's memory pool). The GPU debug scripts'
    "does a graph replay give the eager bits" step."""
    call()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = call()
    graph.replay()
    torch.cuda.synchronize()
    return out


def captured_calls(call: Callable[[], Any], calls: int) -> "torch.cuda.CUDAGraph":
    """``calls`` calls of ``call`` captured in one CUDA graph after one eager warm-up call, replayed once
    (the first replay uploads the graph) and synchronized: ready to time or profile."""
    call()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            call()
    graph.replay()
    torch.cuda.synchronize()
    return graph


def graph_us_per_call(call: Callable[[], Any], calls: int = 20, replays: int = 5) -> float:
    """us per call of ``call``: ``calls`` calls captured in one CUDA graph (captured_calls), the median
    over ``replays`` timed replays. The GPU debug scripts' plain timer; the benchmark's CudaTimer adds
    batches, a minimum time and a capture-failure fallback."""
    import statistics

    graph = captured_calls(call, calls)
    times = []
    for _ in range(replays):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / calls)
    return statistics.median(times)


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
    return 2 * nbytes / best / 1e9
