"""The benchmark's op calls under pytest-benchmark: its statistics, --benchmark-json, --benchmark-compare.

    pytest benchmarks --benchmark-only                         # every available backend
    pytest benchmarks --benchmark-only -k tilelang --require-backend tilelang
    pytest benchmarks --benchmark-only --benchmark-json out.json --benchmark-compare

Not tests: nothing here asserts a speed (performance claims live in benchmarks, never in timed
tests), and ``pytest`` alone never collects this folder (testpaths = tests). Each call is the op
through the backend contract, as ``python -m mhc_verify.bench`` times it, plus a device synchronise
(pytest-benchmark reads a host clock, so a round includes the host's launch cost: at 4096 tokens that
is a visible share; ``mhc_verify.bench``'s CUDA-event batches are the numbers to quote). Each result
carries, in ``extra_info``, the op's bytes, GB/s over the median and the ratio to the copy bandwidth
measured on the same device in the same session. A backend that is not available skips with its
reason (``--require-backend`` makes that a failure); an op it does not implement skips, saying so.
"""

import math
import time

import pytest
import torch

from mhc_reference.contract import dim_sizes
from mhc_verify.bench import OPS, copy_bandwidth, make_inputs, op_bytes, op_splits

HIDDEN = 7168
GPU_TOKENS = (4096, 65_536)
CPU_TOKENS = (128,)  # the torch backend on a CPU: a smoke run, not a number to compare
BACKENDS = ("tilelang", "tile_kernels", "aiter", "aiter-triton", "torch-cuda", "torch")

_COPY_GBPS: dict[str, float] = {}


def _copy_gbps(device: torch.device) -> float:
    """Device-to-device copy rate (read + write) once per device and session."""
    key = str(device)
    if key not in _COPY_GBPS:
        if device.type == "cuda":
            _COPY_GBPS[key] = copy_bandwidth(device)
        else:
            src = torch.ones(1 << 27, dtype=torch.bfloat16)
            dst = torch.empty_like(src)
            best = math.inf
            for _ in range(5):
                t0 = time.perf_counter()
                dst.copy_(src)
                best = min(best, time.perf_counter() - t0)
            _COPY_GBPS[key] = 2 * src.numel() * src.element_size() / best / 1e9
    return _COPY_GBPS[key]


@pytest.mark.parametrize("tokens", GPU_TOKENS + CPU_TOKENS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend_name", BACKENDS)
def test_op_bandwidth(benchmark, mhc_backend, request, backend_name, op, tokens):
    backend = mhc_backend(backend_name)
    device = torch.device("cuda" if backend.device_type == "cuda" else "cpu")
    if (tokens in CPU_TOKENS) != (device.type == "cpu"):
        pytest.skip(f"{tokens} tokens are for {'CPU' if tokens in CPU_TOKENS else 'GPU'} backends")
    if op not in backend.implements():
        pytest.skip(f"backend {backend.name} does not implement {op} (not implemented)")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 1
    splits = op_splits(op, tokens, HIDDEN, n_sms)
    inputs, params = make_inputs(op, tokens, HIDDEN, splits, device)
    why = backend.supports(op, dim_sizes(tokens, 4, HIDDEN, splits), inputs, dict(params))
    if why:
        pytest.skip(f"backend {backend.name}: {op} at {tokens} x {HIDDEN}: n/a: {why}")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def call():
        backend.run(op, inputs, params)
        sync()

    benchmark.pedantic(call, warmup_rounds=2, rounds=20 if device.type == "cuda" else 3)
    if benchmark.disabled:  # --benchmark-disable (CI's smoke run, tests/test_benchmarks_run.py): one call, no stats
        return
    nbytes = op_bytes(op, inputs, tokens, HIDDEN, splits)
    gbps = nbytes / benchmark.stats.stats.median / 1e9
    info = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "backend": backend.name, "op": op, "tokens": tokens, "hidden": HIDDEN, "n_splits": splits,
            "bytes": nbytes, "gbps_median": round(gbps, 1), "copy_gbps": round(_copy_gbps(device), 1),
            "of_copy": round(gbps / _copy_gbps(device), 4)}
    benchmark.extra_info.update(info)
    request.node.user_properties.append(("bandwidth", info))  # conftest.py prints them as a table
