"""Where does the prenorm GEMM's time go? Times variants of kernels/tilelang/gemm.py with one part removed.

    python scripts/debug/gemm_variants.py [T] [H]

Each variant is the kernel source with one textual change (written to a temporary module, since
TileLang parses kernel source), compiled for this GPU and timed at T tokens (no correctness check:
variants that drop work are wrong on purpose). Prints us per call and GB/s over x's bytes.
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

import torch

SOURCE = (Path(__file__).resolve().parents[2] / "kernels" / "tilelang" / "gemm.py").read_text()
VARIANTS = {
    "base": [],
    "no_sqsum": [("sq_cols[i, k] += x_f[i, k] * x_f[i, k]", "sq_cols[i, k] = x_f[i, k]")],
    "hi_gemm_only": [("T.gemm(x_finite, mid_sh, acc_mid, transpose_B=True)", ""),
                     ("T.gemm(x_finite, lo_sh, acc_lo, transpose_B=True)", "")],
    "stages3": [("num_stages=2", "num_stages=3")],
}


def load(name, edits):
    src = SOURCE
    for old, new in edits:
        assert old in src, (name, old)
        src = src.replace(old, new)
    path = Path(tempfile.mkdtemp()) / f"gemm_{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"gemm_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    import tilelang

    from mhc_kernels.tilelang._build import device_target, pass_configs

    t = int(sys.argv[1]) if len(sys.argv) > 1 else 65536
    h = int(sys.argv[2]) if len(sys.argv) > 2 else 7168
    n, m = 4, 24
    x = torch.randn(t, n * h, device="cuda").to(torch.bfloat16)
    fn = torch.randn(m, n * h, device="cuda") * 1e-3
    target = device_target()
    configs = [(name, edits, 128, {}) for name, edits in VARIANTS.items()]
    configs += [("base_bm64", [], 64, {}), ("mma_not_wgmma", [], 128, {tilelang.PassConfigKey.TL_DISABLE_WGMMA: True})]
    for name, edits, bm, extra in configs:
        mod = load(name, edits)
        kernel = tilelang.compile(mod.build_prenorm_gemm(n, h, m, bm, target.pdl), target=target.tilelang_target(),
                                  pass_configs={**pass_configs(), **extra})
        for splits in (1, 4):
            mixes = torch.empty(splits, t, m, device="cuda")
            sq = torch.empty(splits, t, device="cuda")
            for _ in range(3):
                kernel(x, fn, mixes, sq)
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(10):
                kernel(x, fn, mixes, sq)
            b.record()
            b.synchronize()
            us = a.elapsed_time(b) / 10 * 1e3
            print(f"{name:16s} block_m={bm:3d} S={splits}: {us:9.1f} us  {x.numel() * 2 / us / 1e3:7.0f} GB/s", flush=True)


if __name__ == "__main__":
    main()
