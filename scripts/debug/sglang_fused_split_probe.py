"""Does SGLang's small-batch fused post+pre count some hidden positions more than once?

    source scripts/device_env.sh && python scripts/debug/sglang_fused_split_probe.py

Read in SGLang 0.5.23 (sglang/kernels/ops/layernorm/mhc.py): for T <= 32 mhc_fused_post_pre runs
mhc_fused_post_pre_fma_tilelang with split_k = 8 (T < 8 and H <= 4096) or 4 (:1693-1696). Each split
starts at s * ceil(H / split_k) (:1387) and its 256 threads walk ceil(ceil(H / split_k) / 256) steps
of 256 (:1400, :1469), guarded only by hidden_idx < H (:1471), not by the split's end. Where
ceil(H / split_k) is not a multiple of 256 the splits overlap: position h enters the GEMM and the sum
of squares once per split that covers it.

For each H, this runs SGLang's op (through the sglang-tilelang adapter) and compares its mixes with
two float64 models computed from the bf16 residual the kernel wrote: the engines' op (each position
once) and the overlap model (position h weighted by the number of splits covering it). The one the
kernel matches is the function it computes.
"""

from __future__ import annotations

import math

import torch

from mhc_reference.contract import get_op
from mhc_reference.pre_big_fuse import pre_from_partials
from mhc_verify.cases import Case, build_inputs
from mhc_verify.registry import discover, select

THREADS = 256


def coverage(hidden: int, tokens: int) -> torch.Tensor:
    """How many splits of the FMA kernel read each hidden position (1 everywhere when they tile H)."""
    split_k = (8 if hidden <= 4096 else 4) if tokens < 8 else 4
    per_split = math.ceil(hidden / split_k)
    steps = math.ceil(per_split / THREADS)
    c = torch.zeros(hidden, dtype=torch.float64)
    for s in range(split_k):
        start = s * per_split
        c[start:min(hidden, start + steps * THREADS)] += 1
    return c


def mixes_from(residual: torch.Tensor, fn: torch.Tensor, weight: torch.Tensor):
    t, n, h = residual.shape
    r = residual.double() * weight.to(residual.device)  # [T, n, H]
    mixes = r.reshape(t, n * h) @ fn.double().T
    sqrsum = (residual.double().square() * weight.to(residual.device)).reshape(t, -1).sum(-1)
    return mixes.unsqueeze(0), sqrsum.unsqueeze(0)


def main() -> None:
    backend = select(["sglang-tilelang"], discover())["sglang-tilelang"].backend
    params = {p.name: p.default for p in get_op("fused_post_pre").params}
    print(f"{'T':>3} {'H':>5} {'overlap':>8} | max |kernel - engines' op| / |kernel - overlap model| (post_mix, comb_mix)")
    for tokens in (1, 8):
        for hidden in (256, 320, 640, 1280, 2560, 4096, 7168):
            inputs = build_inputs(Case("fused_post_pre", tokens, 4, hidden, seed=0), torch.device("cuda"))
            out = backend.run("fused_post_pre", inputs, params)
            residual = out["residual_out"]
            line = []
            for name, weight in (("engines", torch.ones(hidden, dtype=torch.float64)), ("overlap", coverage(hidden, tokens))):
                mixes, sqrsum = mixes_from(residual, inputs["fn"], weight)
                model = pre_from_partials(mixes, sqrsum, inputs["hc_scale"], inputs["hc_base"], residual, None, params)
                line.append(((out["post_mix_out"].double().squeeze(-1) - model["post_mix"].squeeze(-1)).abs().max().item(),
                             (out["comb_mix_out"].double() - model["comb_mix"]).abs().max().item()))
            c = coverage(hidden, tokens)
            print(f"{tokens:3d} {hidden:5d} {int(c.max()):>5d}x{int((c > 1).sum()):<4d}| engines' op {line[0][0]:.2e} {line[0][1]:.2e}"
                  f" | overlap model {line[1][0]:.2e} {line[1][1]:.2e}", flush=True)


if __name__ == "__main__":
    main()
