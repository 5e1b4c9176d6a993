"""Fewer SMs for some stress reruns: CUDA green contexts, driven through the driver API (ctypes).

A green context owns a subset of the GPU's SMs; work launched into a stream created from it runs
only on those SMs. A kernel under test keeps the grid it chose from the device's full SM count and
runs it in more waves, with other CTA interleavings: a perturbation for races between thread blocks.

Why not ``torch.cuda.green_contexts``: its ``set_context()`` pushes the green context and launches on
the default stream, and on an H100 (torch 2.11, CUDA 13) our TileLang kernels' launch path made the
primary context current again (``popped == context_`` assertion at ``pop_context()``), so they ran on
the whole GPU. A stream created from the green context (``cuGreenCtxStreamCreate``) carries its SMs
with every launch, whatever context is current; torch sees it as an ``ExternalStream``.

Every partition is checked when created: a compute-bound probe (an fp32 matmul) must run at least
``MIN_PROBE_SLOWDOWN`` times slower on 1/8 of the SMs than on all of them, or the partitions are
refused with the measured numbers (never a silent run on the whole GPU).
"""

from __future__ import annotations

import ctypes
import time

import torch

CU_DEV_RESOURCE_TYPE_SM = 1
CU_GREEN_CTX_DEFAULT_STREAM = 0x1
CU_STREAM_NON_BLOCKING = 0x1
RESOURCE_BYTES = 1024  # CUdevResource is opaque here (its size changed between CUDA 12 and 13)
FRACTIONS = (0.5, 0.25, 0.125)
MIN_PROBE_SLOWDOWN = 2.0  # an fp32 matmul on 1/8 of the SMs: ~8x in theory
MIN_ELEMENTWISE_SLOWDOWN = 1.2  # a memory-bound op on 1/8 of the SMs: ~1.5-2x


class GreenContextError(RuntimeError):
    pass


def _driver() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libcuda.so.1")
    except OSError as e:
        raise GreenContextError(f"cannot load the CUDA driver (libcuda.so.1): {e}") from e


def _check(lib: ctypes.CDLL, name: str, *args) -> None:
    fn = getattr(lib, name, None)
    if fn is None:
        raise GreenContextError(f"the CUDA driver has no {name} (green contexts need a 12.4+ driver)")
    code = fn(*args)
    if code != 0:
        text = ctypes.c_char_p()
        lib.cuGetErrorString(code, ctypes.byref(text))
        raise GreenContextError(f"{name} failed: CUresult {code} ({(text.value or b'?').decode()})")


class SmPartitions:
    """Streams on ``FRACTIONS`` of the device's SMs, by name ``"sms=K/TOTAL"`` (K as requested;
    the driver may round it up to its SM granularity)."""

    def __init__(self, device: torch.device, fractions: tuple[float, ...] = FRACTIONS) -> None:
        if device.type != "cuda" or not torch.cuda.is_available():
            raise GreenContextError("--vary-sms needs a CUDA device (green contexts partition its SMs)")
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.zeros(1, device=f"cuda:{index}")  # the primary context exists before the driver calls
        lib = _driver()
        dev = ctypes.c_int()
        _check(lib, "cuDeviceGet", ctypes.byref(dev), index)
        whole = ctypes.create_string_buffer(RESOURCE_BYTES)
        _check(lib, "cuDeviceGetDevResource", dev, whole, CU_DEV_RESOURCE_TYPE_SM)
        self.total = torch.cuda.get_device_properties(index).multi_processor_count
        self.device = torch.device(f"cuda:{index}")
        self.streams: dict[str, torch.cuda.ExternalStream] = {}
        self._keep: list = []  # driver handles live as long as the partitions
        for fraction in fractions:
            sms = max(1, int(self.total * fraction))
            group = ctypes.create_string_buffer(RESOURCE_BYTES)
            rest = ctypes.create_string_buffer(RESOURCE_BYTES)
            groups = ctypes.c_uint(1)
            _check(lib, "cuDevSmResourceSplitByCount", group, ctypes.byref(groups), whole, rest, 0, sms)
            desc = ctypes.c_void_p()
            _check(lib, "cuDevResourceGenerateDesc", ctypes.byref(desc), group, 1)
            green = ctypes.c_void_p()
            _check(lib, "cuGreenCtxCreate", ctypes.byref(green), desc, dev, CU_GREEN_CTX_DEFAULT_STREAM)
            stream = ctypes.c_void_p()
            _check(lib, "cuGreenCtxStreamCreate", ctypes.byref(stream), green, CU_STREAM_NON_BLOCKING, 0)
            self._keep += [group, rest, desc, green, stream]
            self.streams[f"sms={sms}/{self.total}"] = torch.cuda.ExternalStream(stream.value, device=self.device)
        self.probe, self.probe_ms, needed = self._probe()
        smallest = list(self.streams)[-1]
        slowdown = self.probe_ms[smallest] / self.probe_ms["all"]
        if slowdown < needed:
            raise GreenContextError(
                f"green contexts did not limit the SMs: {self.probe} took {self.probe_ms[smallest]:.2f} ms on "
                f"{smallest} against {self.probe_ms['all']:.2f} ms on all {self.total} (x{slowdown:.2f}, "
                f"needs x{needed})")

    def run(self, name: str, call):
        """call() on the partition's stream, finished before returning (the stream lives in another
        context: the device-wide synchronize of the primary context does not wait for it)."""
        stream = self.streams[name]
        torch.cuda.synchronize(self.device)  # inputs written on the primary context's streams
        with torch.cuda.stream(stream):
            out = call()
        stream.synchronize()
        return out

    def _probe(self) -> tuple[str, dict[str, float], float]:
        """(what ran, ms per partition and "all", the slowdown 1/8 of the SMs must show). An fp32
        matmul scales with the SMs; if cuBLAS refuses the other context's stream, an elementwise
        op (memory-bound: fewer SMs still pull less bandwidth, but not 8x less) is the probe."""
        a = torch.randn(4096, 4096, device=self.device)
        prev = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            return "an fp32 4096^3 matmul", self._time_all(lambda: a @ a), MIN_PROBE_SLOWDOWN
        except RuntimeError as e:
            matmul_error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        finally:
            torch.backends.cuda.matmul.allow_tf32 = prev
        x = torch.randn(1 << 27, device=self.device)
        return (f"torch.sin over 2^27 floats (the matmul probe failed: {matmul_error})",
                self._time_all(lambda: torch.sin(x)), MIN_ELEMENTWISE_SLOWDOWN)

    def _time_all(self, fn) -> dict[str, float]:
        times = {"all": _time_ms(fn, torch.cuda.current_stream(self.device))}
        for name, stream in self.streams.items():
            times[name] = _time_ms(fn, stream)
        return times

    def describe(self) -> str:
        return f"{self.probe}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in self.probe_ms.items())


def _time_ms(fn, stream, reps: int = 5) -> float:
    with torch.cuda.stream(stream):
        fn()  # warm-up (cuBLAS handle and workspace for this stream)
    stream.synchronize()
    start = time.perf_counter()
    with torch.cuda.stream(stream):
        for _ in range(reps):
            fn()
    stream.synchronize()
    return (time.perf_counter() - start) / reps * 1e3
