"""``mhc-verify depth``: what L layers of mHC do to each backend's error (the chain: depth_chain).

Per backend and layer: the error of the residual streams and of layer_input against the float64
chain (max, RMS, in bf16 ulps at each row's RMS), the growth per layer, the rounding-bias sign
test, and the per-token drift test. A backend is flagged *biased* when some layer's drift test
rejects "no drift" at DRIFT_ALPHA / L (Bonferroni over the layers): a bias small enough to pass
every per-op bound shows as a systematic drift of the streams' magnitudes, which round-to-nearest
kernels do not have. The sign test is reported, not judged: within a token, one misrounded mix
weight moves whole streams, so its elements are not independent and healthy chains fail it.

``--from A --to B``: the swap verdict at depth, the rule of ``mhc-verify swap``: B's RMS error at
layer L no worse than k x A's on both outputs, and B not biased where A is not; the worst layer is
named (the largest ratio of B's error to A's, or B's most significant drift). ``--swap A:B``
(repeatable) judges several swaps from the same chains.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import asdict
from pathlib import Path

from mhc_kernels.base import Backend
from mhc_verify.depth_chain import CHAIN_OUTPUTS, CORRECTLY_ROUNDED, ChainResult, ChainShape, run_chains
from mhc_verify.front_door import (UsageError, add_force_flag, explicit_backends, output_dir, positive_float,
                                   positive_int, refuse_existing_report, seed_int)
from mhc_verify.plot_file import save_palette_png
from mhc_verify.swap import LESS, SAME

DRIFT_ALPHA = 1e-6
REPORT_FILES = ("depth.json", "depth.md")


def biased_layer(result: ChainResult, layers: int) -> tuple[int, str, float] | None:
    """(layer, output, p) of the most significant drift past DRIFT_ALPHA / layers, or None. The
    correctly rounded chain is never biased: its drift is the floor the others are tested against."""
    if result.backend == CORRECTLY_ROUNDED:
        return None
    worst = min(((e.drift_p, e.layer, name) for name in CHAIN_OUTPUTS for e in result.errors.get(name, [])),
                default=None)
    if worst is None or not worst[0] < DRIFT_ALPHA / layers:
        return None
    return worst[1], worst[2], worst[0]


def swap_verdict(a: ChainResult, b: ChainResult, layers: int, k: float = 2.0) -> tuple[str, list[str]]:
    """(verdict, reasons): B less accurate than A at depth, or at least as accurate."""
    if a.error or b.error:
        return f"ERROR: {a.error or b.error}", []
    reasons = []
    for name in CHAIN_OUTPUTS:
        err_a, err_b = a.at_depth(name).rms_ulps, b.at_depth(name).rms_ulps
        if not err_b <= k * err_a:  # NaN fails too
            ratios = [(eb.rms_ulps / ea.rms_ulps if ea.rms_ulps else math.inf, eb.layer)
                      for ea, eb in zip(a.errors[name], b.errors[name])]
            worst_ratio, worst_layer = max(ratios)
            reasons.append(f"{name}: RMS error at layer {layers} {err_b:.3g} ulps > {k:g} x {err_a:.3g} "
                           f"(worst layer {worst_layer}: {worst_ratio:.3g} x)")
    bias_b, bias_a = biased_layer(b, layers), biased_layer(a, layers)
    if bias_b and not bias_a:
        layer, name, p = bias_b
        drift = next(e.drift_ulps for e in b.errors[name] if e.layer == layer)
        reasons.append(f"{name}: biased, drift {drift:+.3g} ulps per element at layer {layer} (p = {p:.2g} < "
                       f"{DRIFT_ALPHA:g} / {layers}); {a.backend} has no significant drift")
    return (LESS if reasons else SAME), reasons


def plot_depth(path: Path, results: list[ChainResult]) -> Path | None:
    """RMS error (bf16 ulps) against depth, one line per backend, one panel per output."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, len(CHAIN_OUTPUTS), figsize=(11, 4.5))
    for ax, name in zip(axes, CHAIN_OUTPUTS):
        for r in results:
            errors = r.errors.get(name, [])
            if errors:
                ax.plot([e.layer for e in errors], [e.rms_ulps for e in errors], marker=".", label=r.backend)
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_ylabel("RMS |out - float64 chain| (bf16 ulps at row RMS)")
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_palette_png(fig, path, dpi=110)
    plt.close(fig)
    return path


def write_depth_report(out_dir: Path, shape: ChainShape, results: list[ChainResult], command: str,
                       swaps: list[tuple[str, str, str, list[str]]] = (), interrupted: str | None = None) -> Path:
    from mhc_verify.session import provenance

    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"meta": provenance() | {"command": command, "shape": asdict(shape), "hc_mult": 4,
                                    "drift_alpha": DRIFT_ALPHA, "interrupted": interrupted},
            "backends": [{"backend": r.backend, "error": r.error, "biased": biased_layer(r, shape.layers),
                          "first_pre": r.first_pre,
                          "growth_per_layer": {n: r.growth_per_layer(n) for n in CHAIN_OUTPUTS},
                          "layers": {n: [asdict(e) for e in r.errors.get(n, [])] for n in CHAIN_OUTPUTS}}
                         for r in results],
            "swaps": [{"from": a, "to": b, "verdict": v, "reasons": why} for a, b, v, why in swaps]}
    data["swap"] = data["swaps"][0] if data["swaps"] else None  # the one --from/--to (or first --swap)
    (out_dir / "depth.json").write_text(json.dumps(data, indent=2, default=str))
    md = [f"# mhc-verify depth: {shape.layers} layers, T = {shape.tokens}, H = {shape.hidden}, n = 4",
          "", f"- command: `{command}`", f"- date: {data['meta']['date']}",
          *([f"- **INTERRUPTED**: {interrupted} (the table is at the last layer every chain finished)"]
            if interrupted else []),
          "- errors against the float64 chain in bf16 ulps at each row's RMS; drift = per token, the output's "
          "scale along the exact one, <out - exact, exact> / <exact, exact>, in ulps per element, in excess of "
          "the correctly rounded chain's on the same token; "
          f"biased = a layer's per-token drift test p < {DRIFT_ALPHA:g} / {shape.layers}", "",
          "| backend | output | max ulps at L | RMS ulps at L | growth / layer | toward zero at L (sign p) | "
          "drift at L (p) | biased |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.error:
            md.append(f"| {r.backend} | ERROR: {r.error} | | | | | | |")
            continue
        bias = biased_layer(r, shape.layers)
        first = " (layer 0 pre: float64 reference, rounded: no mhc_pre)" if r.first_pre == "reference" else ""
        floor = ""
        if r.backend == CORRECTLY_ROUNDED:
            first, floor = " (float64 ops, each output rounded once)", "the floor: drift against float64, never a finding"
        for name in CHAIN_OUTPUTS:
            e = r.at_depth(name)
            md.append(f"| {r.backend}{first} | {name} | {e.max_ulps:.3g} | {e.rms_ulps:.3g} | "
                      f"{r.growth_per_layer(name):.4f} | {100 * e.toward_zero_fraction:.2f} % ({e.sign_test_p:.2g}) | "
                      f"{e.drift_ulps:+.3g} ({e.drift_p:.2g}) | "
                      f"{f'layer {bias[0]} {bias[1]} (p = {bias[2]:.2g})' if bias else floor or 'no'} |")
    for a, b, verdict, reasons in swaps:
        md += ["", f"## Swap {a} -> {b}: **{verdict}**", ""] + [f"- {reason}" for reason in reasons]
    plot = plot_depth(out_dir / "depth_errors.png", results)
    if plot:
        md += ["", "## Error against depth", "", f"![RMS error against depth]({plot.name})"]
    path = out_dir / "depth.md"
    path.write_text("\n".join(md) + "\n")
    return path


def _backends(names: list[str]) -> list[Backend]:
    from mhc_verify.registry import discover_named

    infos = explicit_backends(names, discover_named(names))
    for info in infos.values():
        if not info.available:
            raise UsageError(f"backend {info.name} unavailable: {info.reason}")
        missing = {"fused_post_pre"} - set(info.implements) and {"hc_post", "mhc_pre"} - set(info.implements)
        if missing:
            raise UsageError(f"backend {info.name} implements neither fused_post_pre nor hc_post and mhc_pre")
    return [info.backend for info in infos.values()]


def run_command(args: argparse.Namespace) -> int:
    if bool(args.from_backend) != bool(args.to_backend):
        raise UsageError("--from and --to go together")
    pairs = [(args.from_backend, args.to_backend)] if args.from_backend else []
    for spec in args.swap or []:
        a, sep, b = spec.partition("::") if "::" in spec else spec.partition(":")
        if not sep or not a or not b:
            raise UsageError(f"--swap {spec!r}: expected A:B (module:attr specs as A::B)")
        pairs.append((a, b))
    names = list(dict.fromkeys((args.backend or []) + [n for pair in pairs for n in pair]))
    if not names:
        raise UsageError("name at least one --backend (or --from A --to B)")
    refuse_existing_report(Path(args.out), REPORT_FILES, args.force)
    backends = _backends(names)
    shape = ChainShape(args.layers, args.tokens, args.hidden, args.seed)
    results: list[ChainResult] = []
    started = time.monotonic()
    from mhc_verify.interrupt import install_stop_handlers

    def on_layer(layer: int) -> None:
        if not args.no_progress and (layer % 10 == 0 or layer == shape.layers):
            print(f"  layer {layer}/{shape.layers} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    restore_handlers = install_stop_handlers()
    interrupted = None
    try:
        run_chains(backends, shape, results=results, on_layer=on_layer)
    except (KeyboardInterrupt, Exception) as e:  # noqa: BLE001 - a stop, or the harness failing (e.g. out
        # of memory in the float64 chain, seen at T = 4096 on a shared H200): the layers done are kept
        # and the run fails, never a pass
        done = min((len(r.errors[CHAIN_OUTPUTS[0]]) for r in results if not r.error), default=0)
        cause = "" if isinstance(e, KeyboardInterrupt) else f" by a harness error: {type(e).__name__}: {str(e)[:200]}"
        interrupted = f"stopped after layer {done} of {shape.layers}{cause}"
        print(f"\ninterrupted: {interrupted}; writing the partial report", file=sys.stderr)
        for r in results:  # layers in lockstep: cut every chain to the last layer all finished
            r.errors = {n: e[:done] for n, e in r.errors.items()}
        shape = ChainShape(done, args.tokens, args.hidden, args.seed)
    finally:
        restore_handlers()
    if interrupted is not None and shape.layers == 0:
        print("no layer finished: nothing to report", file=sys.stderr)
        return 1
    by_name = dict(zip(names, results))
    swaps = [(a, b, *swap_verdict(by_name[a], by_name[b], shape.layers, args.k)) for a, b in pairs]
    command = "mhc-verify " + " ".join(shlex.quote(x) for x in args.argv)
    path = write_depth_report(Path(args.out), shape, results, command, swaps, interrupted)
    for r in results:
        if r.error:
            print(f"{r.backend:20s} ERROR: {r.error}")
            continue
        bias = biased_layer(r, shape.layers)
        print(f"{r.backend:20s} residual RMS {r.at_depth('residual').rms_ulps:.3g} ulps, layer_input RMS "
              f"{r.at_depth('layer_input').rms_ulps:.3g} ulps at layer {shape.layers}"
              + (f"; BIASED at layer {bias[0]} ({bias[1]}, p = {bias[2]:.2g})" if bias else ""))
    for a, b, verdict, reasons in swaps:
        print(f"{a} -> {b}: {verdict}" + "".join(f"\n  {reason}" for reason in reasons))
    print(f"report: {path}")
    failed = (interrupted is not None or any(r.error or biased_layer(r, shape.layers) for r in results)
              or any(v != SAME for _, _, v, _ in swaps))
    return 1 if failed else 0


def add_parser(sub) -> None:
    p = sub.add_parser("depth", help="error of L layers of mHC in a chain, per backend, against float64")
    p.add_argument("--backend", action="append", help="a backend to chain (repeatable)")
    p.add_argument("--from", dest="from_backend", metavar="A", help="swap verdict at depth: the backend in use")
    p.add_argument("--to", dest="to_backend", metavar="B", help="swap verdict at depth: the backend replacing it")
    p.add_argument("--swap", action="append", metavar="A:B",
                   help="swap verdict at depth for B replacing A, from the same chains (repeatable)")
    p.add_argument("--layers", type=positive_int, default=61, help="layers L (DeepSeek-V4-Pro: 61)")
    p.add_argument("--tokens", type=positive_int, default=64, help="tokens T")
    p.add_argument("--hidden", type=positive_int, default=7168, help="hidden size H (DeepSeek-V4-Pro: 7168)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--k", type=positive_float, default=2.0, help="B's error at depth may be up to k x A's")
    p.add_argument("--no-progress", action="store_true", help="no per-layer progress lines on stderr")
    p.add_argument("--out", type=output_dir, default=Path("mhc-verify-depth"))
    add_force_flag(p, "depth report")
    p.set_defaults(func=run_command)
