"""Does the decode path (TileLangDecode) compute what the default TileLang path computes? One GPU run.

    source scripts/device_env.sh && python scripts/debug/decode_check.py [--tokens 1,2,4] [--hidden 7168] \
        [--decode-backend mhc_kernels.tilelang.mid_probes:TileLangMid]

For T in 1, 2, 4, 8, 16, 32, 64 and H in 4096, 7168, on the benchmark's inputs
(mhc_verify.bench.make_inputs, n_splits as the benchmark gives them: op_splits), runs
TileLangBackend and TileLangDecode on the same inputs for mhc_pre, fused_post_pre (each without and
with the RMSNorm weight) and hc_head, and prints per output:

* ``max|dec-base|``: the largest difference between the two paths (the decode path sums the K range
  in other pieces, so mixes may differ in their last bits and bf16 outputs by an ulp now and then);
  ``max|dec-ref|`` and ``max|base-ref|`` against the float64 reference (mhc_reference), for scale;
* ``rerun``: whether each backend's output is bitwise the same over 3 calls (it must be);
* ``graph``: whether a CUDA-graph replay of the decode call gives the eager call's bits (it must).

Must hold (else the line says FAIL and the exit status is 1): bitwise reruns and graph replays; the
non-finite pattern of the decode path equal to the default's; hc_post's residual_out bitwise equal
to the default's (the same arithmetic per element); above TileLangDecode.decode_max_tokens (T = 64
here) every output bitwise equal to the default's (the decode path is not taken). The accuracy
verdict itself comes from the suite: ``mhc-verify check --backend
mhc_kernels.tilelang.decode_backend:TileLangDecode --profile nightly`` and ``mhc-verify stress``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import torch

from mhc_kernels.tilelang.backend import TileLangBackend
from mhc_reference.contract import get_op
from mhc_verify.bench import make_inputs, op_splits
from mhc_verify.judge_cache import bits_equal
from mhc_verify.timing import graph_replay_once

TOKENS = (1, 2, 4, 8, 16, 32, 64)
HIDDEN = (4096, 7168)
CASES = (("mhc_pre", False), ("mhc_pre", True), ("fused_post_pre", False), ("fused_post_pre", True),
         ("hc_head", False))
RERUNS = 3


def same_bits(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return all(bits_equal(a[k], b[k]) for k in a)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    finite = torch.isfinite(a) & torch.isfinite(b)
    return float((a - b)[finite].abs().max()) if finite.any() else 0.0


def reference(op: str, inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    spec = get_op(op)
    full = {p.name: params.get(p.name, p.default) for p in spec.params}
    return importlib.import_module(f"mhc_reference.{op}").reference(inputs, full)


def graph_replay(backend, op: str, inputs: dict, params: dict) -> dict[str, torch.Tensor]:
    """The op captured in a CUDA graph (after a warm-up call that compiles), replayed once."""
    out = graph_replay_once(lambda: backend.run(op, inputs, params))
    return {k: v.clone() for k, v in out.items()}


def check_case(base, dec, op: str, norm: bool, t: int, h: int, n_sms: int) -> bool:
    splits = op_splits(op, t, h, n_sms)
    inputs, params = make_inputs(op, t, h, splits, torch.device("cuda"), norm=norm)
    runs = {name: [backend.run(op, inputs, params) for _ in range(RERUNS)] for name, backend in
            (("base", base), ("dec", dec))}
    torch.cuda.synchronize()
    ref = reference(op, inputs, params)
    graph_ok = same_bits(graph_replay(dec, op, inputs, params), runs["dec"][0])
    decode_taken = dec._decode(t, op) or dec._mid(t, op)  # the decode path's own kernels run
    ok = True
    for name in get_op(op).output_names:
        b, d = runs["base"][0][name], runs["dec"][0][name]
        reruns = {k: all(bits_equal(r[name], v[0][name]) for r in v[1:]) for k, v in runs.items()}
        nonfinite_same = torch.equal(torch.isfinite(b), torch.isfinite(d))
        equal = bits_equal(b, d)
        must_equal = name == "residual_out" or not decode_taken
        good = reruns["dec"] and reruns["base"] and graph_ok and nonfinite_same and (equal or not must_equal)
        ok &= good
        exact = ref.get(name)  # the references return every contract output under its name
        vs_ref = (f"max|dec-ref| {max_diff(d, exact):.3e} max|base-ref| {max_diff(b, exact):.3e}"
                  if exact is not None else "")
        print(f"{'ok  ' if good else 'FAIL'} {op:<15} norm={int(norm)} T={t:<3} H={h} S={splits:<2} "
              f"{'decode' if decode_taken else 'default'} {name:<14} max|dec-base| {max_diff(d, b):.3e} "
              f"bitwise {'=' if equal else '!='} rerun base/dec {reruns['base']}/{reruns['dec']} "
              f"graph {graph_ok} {vs_ref}", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=lambda s: tuple(int(v) for v in s.split(",")), default=TOKENS)
    p.add_argument("--hidden", type=lambda s: tuple(int(v) for v in s.split(",")), default=HIDDEN)
    p.add_argument("--decode-backend", default="mhc_kernels.tilelang.decode_backend:TileLangDecode",
                   help="module:class of a TileLangDecode subclass (e.g. mhc_kernels.tilelang.mid_probes:TileLangMid)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("needs a GPU", file=sys.stderr)
        return 2
    module, _, cls = args.decode_backend.rpartition(":")
    base, dec = TileLangBackend(), getattr(importlib.import_module(module), cls)()
    for backend in (base, dec):
        available, why = backend.available()
        print(f"{backend.name}: {why}")
        if not available:
            return 2
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count
    failed = 0
    for h in args.hidden:
        for t in args.tokens:
            for op, norm in CASES:
                try:
                    failed += not check_case(base, dec, op, norm, t, h, n_sms)
                except Exception as e:  # noqa: BLE001 - reported, the run goes on
                    failed += 1
                    print(f"FAIL {op} norm={int(norm)} T={t} H={h}: {type(e).__name__}: {e}", flush=True)
    print(f"decode calls: {dec.calls}")
    print(f"{'ALL OK' if not failed else f'{failed} case(s) FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
