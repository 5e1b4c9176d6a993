"""Is a probe that claims the default's bits bitwise the default on a GPU? One run, seconds after its
compiles (the benchmark's precompile, or ``python -m mhc_kernels.tilelang.precompile --probes``):

    source scripts/device_env.sh && python scripts/debug/probe_bitwise_check.py \\
        --probe mhc_kernels.tilelang.mid_probes:TileLangMidLean [--against tilelang] \\
        [--op mhc_pre,fused_post_pre,pre_big_fuse] [--tokens 33,64,256,512,1024,4096] [--hidden 4096,7168]

For the probes whose kernels change where loads go or how many CTAs an SM holds, not the arithmetic
(mid_probes.TileLangMidLean's one residual buffer, TileLangPostPerToken's hc_post kernel;
TileLangSinkhornRows has its own check, sinkhorn_rows_check.py, with the division sweep). For each op, H and T (mhc_pre also with the RMSNorm
weight), on the benchmark's inputs (mhc_verify.bench.make_inputs) and, for the ops with a Sinkhorn,
on inputs whose comb logits spread over about +-100 (exp underflows):

* the probe's outputs == the baseline's, bitwise;
* the probe's outputs on ``--reruns`` more eager calls and on one CUDA-graph replay == its first
  call's, bitwise (a changed load order is where a race would show, run to run).

One line per check (``ok`` / ``FAIL``), each case in its own try (one crash hides nothing), a last
line ``ALL OK`` or ``N FAILED``; exit 1 on any mismatch or error, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

import torch

from decode_variants_check import _call, report, same_bits, say  # scripts/debug, beside this file
from mhc_reference.contract import get_op
from mhc_verify.bench import direct_call, make_inputs, op_splits
from mhc_kernels import BUILTIN_BACKENDS
from mhc_verify.registry import _load
from mhc_verify.timing import graph_replay_once

OPS = ("mhc_pre", "fused_post_pre", "pre_big_fuse")
TOKENS = (33, 64, 128, 256, 512, 1024, 4096)
HIDDEN = (4096, 7168)


def spread_logits(inputs: dict) -> dict:
    """The comb logits over about +-100: hc_base's comb entries scaled by 60 (exp(v - max) underflows)."""
    out = dict(inputs)
    base = inputs["hc_base"].clone()
    base[8:] = base[8:] * 60
    out["hc_base"] = base
    return out


def check_case(probe, against, op: str, h: int, t: int, norm: bool, n_sms: int, reruns: int,
               device: torch.device) -> int:
    failed = 0
    inputs, params = make_inputs(op, t, h, op_splits(op, t, h, n_sms), device, norm=norm)
    with_comb = "hc_base" in inputs and inputs["hc_base"].numel() > 8  # a Sinkhorn's logits (not hc_head's n)
    families = [("bench", inputs)] + ([("spread", spread_logits(inputs))] if with_comb else [])
    for family, ins in families:
        what = f"{op:<14} H={h} T={t:<5} norm={norm!s:<5} {family:<6}"
        got = _call(probe, op, ins, params)
        failed += not report(same_bits(got, _call(against, op, ins, params)), f"{what} {probe.name} == {against.name}")
        again = [same_bits(_call(probe, op, ins, params), got) for _ in range(reruns)]
        failed += not report(all(again), f"{what} {probe.name} {reruns} reruns == its first call "
                                         f"({again.count(False)} differ)")
        if device.type == "cuda":
            graphed = graph_replay_once(direct_call(probe, get_op(op), ins, params))
            failed += not report(same_bits(graphed, got), f"{what} {probe.name} graph replay == eager")
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--probe", required=True, help="module:Class of the probe backend")
    p.add_argument("--against", default="tilelang", help="the backend whose bits it claims (name or module:Class)")
    p.add_argument("--op", default=",".join(OPS))
    p.add_argument("--tokens", default=",".join(map(str, TOKENS)))
    p.add_argument("--hidden", default=",".join(map(str, HIDDEN)))
    p.add_argument("--reruns", type=int, default=3)
    p.add_argument("--device", default="cuda", help="cuda; cpu only to try the script on CPU backends (no graphs)")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        say("needs a GPU")
        return 2
    wall = time.perf_counter()
    n_sms = torch.cuda.get_device_properties(0).multi_processor_count if device.type == "cuda" else 8
    probe, against = (_load(BUILTIN_BACKENDS.get(spec, spec)) for spec in (args.probe, args.against))
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    say(f"{gpu} ({n_sms} SMs): {probe.name} against {against.name}")
    failed = 0
    for op in args.op.split(","):
        for h in map(int, args.hidden.split(",")):
            for t in map(int, args.tokens.split(",")):
                for norm in ((False, True) if op == "mhc_pre" else (False,)):
                    try:
                        failed += check_case(probe, against, op, h, t, norm, n_sms, args.reruns, device)
                    except Exception as e:  # noqa: BLE001 - reported, the other cases go on
                        failed += 1
                        say(f"FAIL {op} H={h} T={t} norm={norm}: {type(e).__name__}: {e}")
                        traceback.print_exc()
    say(f"\nwall {time.perf_counter() - wall:.0f} s")
    say("ALL OK" if not failed else f"{failed} FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
