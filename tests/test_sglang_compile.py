"""SGLang's own TileLang mHC kernels (sglang/kernels/ops/layernorm/mhc.py) compile for sm_90a, on a
CPU machine, at DeepSeek-V4's shapes (n = 4, H = 4096 and 7168), with PDL on as on a Hopper GPU.

SGLang wraps each kernel in a lazy ``tilelang.jit`` proxy that compiles on the first call for the
visible GPU; here the test takes the function the proxy wraps (``__wrapped__``) with the proxy's own
jit arguments, asks TileLang for its TIR with the arguments SGLang's wrappers pass (mhc.py:454,
1151-1173, 1193, 1216, 1238, 1348, 1718, 1736), and compiles that TIR for sm_90a with nvcc.

Skipped, with the reason, where ``sglang.kernels.ops.layernorm.mhc`` does not import. To make it
importable without an SGLang install: build the standalone bundle for this interpreter
(``PYVER=3.11 OUT=/tmp/sglang-site.tar.xz ../shared/device/sglang-site.sh``, or any copy of that
packer), unpack it into a directory on PYTHONPATH, and install triton (SGLang's modules import it).
"""

from __future__ import annotations

import importlib
import time

import pytest

torch = pytest.importorskip("torch")

TARGET = {"kind": "cuda", "arch": "sm_90a"}
PDL_MARKERS = ("cudaGridDependencySynchronize", "griddepcontrol")
N = 4


def _sglang_mhc():
    try:
        try:
            importlib.import_module("sglang_mhc_standalone").prepare()
        except ImportError:
            pass  # a full SGLang install has no bundle helper
        return importlib.import_module("sglang.kernels.ops.layernorm.mhc")
    except Exception as e:  # noqa: BLE001 - any import failure is the skip reason
        pytest.skip(f"sglang.kernels.ops.layernorm.mhc does not import ({type(e).__name__}: {e}); make it "
                    "importable: unpack the standalone bundle built for this Python (PYVER=3.11 "
                    "../shared/device/sglang-site.sh) onto PYTHONPATH and pip install triton")


@pytest.fixture(scope="module")
def mhc():
    module = _sglang_mhc()
    tilelang = pytest.importorskip("tilelang")
    module._load_tilelang()  # the proxy's own loader: from here on its decorators are TileLang's
    # Kernels read is_arch_support_pdl() while they are built; a CPU machine has no arch to ask, so
    # state Hopper's answer (PDL on) as SGLang would find it on an H100/H200.
    saved = module.is_arch_support_pdl
    module.is_arch_support_pdl = lambda: True
    yield module, tilelang
    module.is_arch_support_pdl = saved


def _jit_kwargs(proxy) -> dict:
    """The arguments SGLang's lazy proxy will hand to tilelang.jit (a closure variable of it)."""
    cells = dict(zip(proxy.__code__.co_freevars, (c.cell_contents for c in proxy.__closure__)))
    return cells["jit_kwargs"]


def _compile(mhc, tilelang, kernel, *args):
    if not hasattr(kernel, "__wrapped__"):  # a JITImpl built inside a factory after _load_tilelang()
        impl, configs = kernel, None
    else:
        kwargs = mhc._resolve_lazy_tilelang_value(_jit_kwargs(kernel))
        impl, configs = tilelang.jit(**kwargs)(kernel.__wrapped__), kwargs.get("pass_configs")
    tir = impl.get_tir(*args)
    return tilelang.compile(tir, target=TARGET, pass_configs=configs or {})


def _kernels(mhc, hidden: int):
    """(name, kernel, TIR arguments) for every TileLang kernel SGLang's mHC ops launch at n = 4."""
    f32, bf16 = torch.float32, torch.bfloat16
    m, k, t = N * N + 2 * N, N * hidden, 8

    def e(*shape, dtype=f32):
        return torch.empty(*shape, dtype=dtype)

    pre = (e(t, N), e(t, N * N), e(t, hidden, dtype=bf16))
    yield "hc_split_sinkhorn", mhc.hc_split_sinkhorn_kernel, (N, 20, 1e-6)
    yield "mhc_pre_gemm_sqrsum", mhc.mhc_pre_gemm_sqrsum_tilelang, (e(t, k, dtype=bf16), e(m, k), e(t, m), e(t), m, k)
    if k in (16384, 28672):  # mhc.py:1140-1150: the split-K GEMM up to 2048 tokens
        stage_0, stage_1 = mhc.mhc_pre_gemm_sqrsum_splitk_kernel(m, k, split_k=32, token_block=32,
                                                                 hidden_block=256 if k == 16384 else 128)
        yield "mhc_pre_gemm_sqrsum_splitk_stage_0", stage_0, ()
        yield "mhc_pre_gemm_sqrsum_splitk_stage_1", stage_1, ()
    for splits, last in ((1, m), (32, 32)):  # after the TileLang GEMM and after the split-K GEMM
        partials = (e(splits, t, last), e(splits, t), e(3), e(m), e(t, N, hidden, dtype=bf16))
        eps = (1e-6, 1e-6, 1e-6, 2.0, 20)
        yield f"mhc_pre_big_fuse[S={splits}]", mhc.mhc_pre_big_fuse_tilelang, (
            *partials, *pre, hidden, *eps, splits, N, last)
        yield f"mhc_pre_big_fuse_with_norm[S={splits}]", mhc.mhc_pre_big_fuse_with_norm_tilelang, (
            *partials, *pre, e(hidden, dtype=bf16), hidden, *eps, 1e-6, splits, N, last)
    post = (e(t, N, N), e(t, N, hidden, dtype=bf16), e(t, N), e(t, hidden, dtype=bf16), e(t, N, hidden, dtype=bf16))
    yield "mhc_post", mhc.mhc_post_tilelang, (*post, N, hidden)
    fma = (e(t, N, N), e(t, N, hidden, dtype=bf16), e(t, N), e(t, hidden, dtype=bf16), e(m, N, hidden),
           e(4, t, m), e(4, t), e(t, N, hidden, dtype=bf16))
    yield "mhc_fused_post_pre_fma", mhc.mhc_fused_post_pre_fma_tilelang, (*fma, N, hidden, m)


@pytest.mark.parametrize("hidden", [4096, 7168])
def test_sglang_tilelang_kernels_compile_for_sm90a(mhc, hidden):
    module, tilelang = mhc
    done = {}
    for name, kernel, args in _kernels(module, hidden):
        start = time.perf_counter()
        compiled = _compile(module, tilelang, kernel, *args)
        source = compiled.get_kernel_source()
        assert "__global__" in source, name
        done[name] = (round(time.perf_counter() - start, 1), any(p in source for p in PDL_MARKERS))
    print(f"H={hidden}: compiled for sm_90a (seconds, PDL): {done}")
    assert len(done) == 10
    # every one of these kernels reads ENABLE_PDL (mhc.py:247, 506, 617, 696, 941, 1294, 1403): on Hopper
    # all of them carry the grid-dependency instructions
    assert all(pdl for _, pdl in done.values()), done
