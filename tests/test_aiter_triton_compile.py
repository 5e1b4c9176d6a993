"""aiter's Triton mHC kernels compile for NVIDIA sm_90 (an H100/H200), on a CPU machine, exactly as
the ``aiter-triton`` backend launches them (kernels/aiter/triton.py: ``mhc_post`` and ``mhc_post_pre``
with ``config={}``), at DeepSeek-V4's shapes (n = 4, H = 4096 and 7168).

Nothing here restates aiter's launch logic. The adapter's own op methods run, through
``Backend.run``, on fake CUDA tensors (torch's FakeTensorMode: shapes, strides and dtypes, no
memory, no GPU); aiter's wrappers (aiter/ops/triton/fusions/mhc.py) derive their block sizes as on a
GPU; each ``kernel[grid](...)`` launch they make is recorded instead of run (the wrapper module's
``@triton.jit`` globals are swapped for recorders), and each recorded launch is compiled for
``GPUTarget("cuda", 90, 32)`` with Triton's own binder (the specialization, constexprs and options
``JITFunction.run`` would derive from those arguments; tensors become ``MockTensor``s of their
dtype, 16-byte aligned as fresh CUDA allocations are). aiter reads the GPU's architecture once, at
import (``DEVICE_ARCH``, fusions/mhc.py:22, which makes BLOCK_M 16 on gfx942 only, :595); a
stand-in driver answers that import as an H100/H200 would (target cuda, arch 90). Triton's cache
is a fresh directory, so nothing comes from an earlier run (a launch whose specialization equals an
earlier one in this module is that same kernel: 0.0 s).

The second test is why fused_post_pre runs only where n*H > 8 on NVIDIA: see its docstring.

Skipped, with the reason, where triton or aiter does not import (CI has neither). To run it
(Triton 3.6.0 is what the H200 machine has; amd-aiter is not on PyPI, so its Python package comes
from a source checkout, unmodified, packed by scripts/aiter_site.sh):

    .venv/bin/pip install triton==3.6.0
    bash scripts/aiter_site.sh /path/to/aiter-checkout           # -> .gpu-site/aiter-site.tar.xz
    mkdir -p /tmp/asite && tar -xJf .gpu-site/aiter-site.tar.xz -C /tmp/asite
    PYTHONPATH=/tmp/asite AITER_TRITON_ONLY=1 .venv/bin/python -m pytest -q -s tests/test_aiter_triton_compile.py

(AITER_TRITON_ONLY=1 is also set by the test itself, as the adapter does on a non-ROCm torch.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time

import pytest

torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton", reason="triton is not installed (pip install triton==3.6.0)")

from torch._subclasses.fake_tensor import FakeTensorMode  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource, make_backend  # noqa: E402
from triton.runtime import driver  # noqa: E402
from triton.runtime.jit import JITFunction, MockTensor, create_function_from_signature  # noqa: E402

from mhc_kernels.aiter.triton import FUSIONS, AiterTritonBackend  # noqa: E402
from mhc_reference.contract import dim_sizes, get_op, shape_of  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
N = 4
TOKENS = (1, 17, 64)  # decode (M == 1 is its own specialization); BLOCK_M 32 below 64 tokens, 64 from 64


class _StandInDriver:
    """What an H100/H200's driver answers to ``get_current_target()``: all aiter asks at import."""

    def get_current_target(self):
        return TARGET


@pytest.fixture(scope="module")
def aiter_mhc(tmp_path_factory):
    """aiter's wrapper module, imported as on an H200; removed from sys.modules afterwards so that no
    later test finds an aiter this test imported (the adapter's available() imports it itself)."""
    if importlib.util.find_spec("aiter") is None:
        pytest.skip("aiter is not importable: pack it (bash scripts/aiter_site.sh <aiter checkout>), unpack "
                    ".gpu-site/aiter-site.tar.xz into a directory and put that directory on PYTHONPATH")
    before = set(sys.modules)
    previous = driver.__dict__.get("_active")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AITER_TRITON_ONLY", "1")  # keeps `import aiter` off its HIP ops (the adapter does too)
        mp.setenv("TRITON_CACHE_DIR", str(tmp_path_factory.mktemp("triton-cache")))
        driver.set_active(_StandInDriver())
        try:
            module = importlib.import_module(FUSIONS)
        except Exception as e:  # noqa: BLE001 - any import failure is the skip reason
            pytest.skip(f"{FUSIONS} does not import ({type(e).__name__}: {e})")
        finally:
            driver.set_active(previous)
        yield module
    for name in set(sys.modules) - before:
        if name == "aiter" or name.startswith("aiter."):
            del sys.modules[name]


def _launches(module, op: str, T: int, n: int, H: int, checked: bool = True) -> list:
    """(kernel name, JITFunction, args, kwargs) of every launch the adapter's op makes at (T, n, H).

    checked: through Backend.run (the contract's validation and the adapter's declared constraints,
    as the harness calls it); False calls the op method directly, to see past a declared constraint.
    """
    spec = get_op(op)
    sizes = dim_sizes(T, n, H)
    kernels = {name: fn for name, fn in vars(module).items() if isinstance(fn, JITFunction)}
    recorded = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                recorded.append((self.name, kernels[self.name], args, kwargs))
            return launch

    backend = AiterTritonBackend(modules={FUSIONS: module})
    params = {p.name: p.default for p in spec.params}  # the model's values
    with pytest.MonkeyPatch.context() as mp:
        for name in kernels:
            mp.setattr(module, name, Recorder(name))
        with FakeTensorMode():
            inputs = {s.name: torch.empty(shape_of(s, sizes), dtype=s.dtype, device="cuda")
                      for s in spec.inputs if not s.optional}
            if checked:
                backend.run(op, inputs, params)
            else:
                getattr(backend, op)(**{name: inputs.get(name) for name in spec.input_names}, **params)
    return recorded


def _compile(fn: JITFunction, args, kwargs):
    """What JITFunction.run compiles for these arguments (triton/runtime/jit.py, Triton 3.6), for TARGET."""
    backend = make_backend(TARGET)
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    args = [MockTensor(a.dtype) if isinstance(a, torch.Tensor) else a for a in args]
    kwargs = {k: MockTensor(v.dtype) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    kwargs["debug"] = kwargs.get("debug", fn.debug) or triton.knobs.runtime.debug
    kwargs["instrumentation_mode"] = triton.knobs.compilation.instrumentation_mode
    bound, specialization, options = binder(*args, **kwargs)
    options, signature, constexprs, attrs = fn._pack_args(backend, kwargs, bound, specialization, options)
    return triton.compile(ASTSource(fn, signature, constexprs, attrs), target=TARGET, options=options.__dict__)


def _blocks(kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if k.startswith(("BLOCK", "N_TOTAL", "ACTUAL_KSPLIT"))}


# What the adapter's two ops launch (fusions/mhc.py:402 for mhc_post; :675 and :762 for mhc_post_pre).
EXPECTED = {"hc_post": ["_mhc_post_kernel"],
            "fused_post_pre": ["_mhc_post_pre_split_kernel", "_mhc_post_pre_reduce_apply_kernel"]}


@pytest.mark.parametrize("op", ["hc_post", "fused_post_pre"])
@pytest.mark.parametrize("hidden", [4096, 7168])
def test_aiter_triton_kernels_compile_for_sm90(aiter_mhc, op, hidden):
    done = {}
    for T in TOKENS:
        launches = _launches(aiter_mhc, op, T, N, hidden)
        assert [name for name, *_ in launches] == EXPECTED[op], (op, T)
        for name, fn, args, kwargs in launches:
            start = time.perf_counter()
            compiled = _compile(fn, args, kwargs)
            ptx, cubin = compiled.asm.get("ptx", ""), compiled.asm.get("cubin", b"")
            assert ".target sm_90" in ptx and f".entry {name}" in ptx, (name, T)
            assert isinstance(cubin, bytes) and cubin[:4] == b"\x7fELF", (name, T)
            done[f"{name}[T={T}]"] = (round(time.perf_counter() - start, 1), _blocks(kwargs))
    print(f"\n{op} H={hidden}: compiled for sm_90 (seconds, block sizes): {done}")


def test_fused_post_pre_compiles_exactly_where_the_adapter_declares_it_runs(aiter_mhc):
    """On NVIDIA, mhc_post_pre's split kernel fails to compile where n*H <= 8, and the adapter's
    declared constraint (min_k = 9 on a CUDA build of torch) refuses exactly those shapes.

    Why (aiter e4048607a535): with config={} the wrapper takes BLOCK_K = min(512, next_pow2(K)),
    K = n*H (fusions/mhc.py:597-598), and launches the split kernel with BLOCK_C = BLOCK_K // n
    (:610, :709). The kernel multiplies a (BLOCK_M, n*BLOCK_C) tile by a (n*BLOCK_C, N_TOTAL_POW2)
    one (_triton_kernels/fusions/mhc.py:925, 938, 940: ``tl.dot(out_flat_cast, phi_flat)``), so the
    dot's K is n * (BLOCK_K // n) = next_pow2(n*H) (up to 512), and Triton's NVIDIA backend requires
    K >= 16 for 16-bit operands (triton/backends/nvidia/compiler.py:19-29, checked in
    triton/language/semantic.py:1527-1530): next_pow2(n*H) >= 16, i.e. n*H >= 9. Triton's AMD
    backend has no such bound (min_dot_size (1, 1, 1), backends/amd/compiler.py:15-18); there the
    same launch compiles (measured for gfx942, Triton 3.6), and the adapter declares nothing.
    """
    table = {}
    for n in (2, 4, 8):
        for H in (1, 2, 3, 4, 5, 8, 16):
            launches = _launches(aiter_mhc, "fused_post_pre", 1, n, H, checked=False)
            errors = {}
            for name, fn, args, kwargs in launches:
                try:
                    _compile(fn, args, kwargs)
                except triton.CompilationError as e:
                    errors[name] = str(e)
            if errors:
                assert list(errors) == ["_mhc_post_pre_split_kernel"], (n, H, errors)
                message = errors["_mhc_post_pre_split_kernel"]
                assert "acc_gemm = tl.dot(out_flat_cast, phi_flat)" in message, message
                assert "K >= 16" in message, message
            refused = AiterTritonBackend().supports("fused_post_pre", dim_sizes(1, n, H), {}, {})
            table[(n, H)] = "fails" if errors else "compiles"
            assert bool(errors) == bool(refused), (n, H, errors, refused)
    print(f"\nfused_post_pre on sm_90 at T=1 (n, H): {table}")
    assert {k for k, v in table.items() if v == "fails"} == {(n, H) for (n, H) in table if n * H <= 8}
