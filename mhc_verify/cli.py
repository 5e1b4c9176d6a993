"""The ``mhc-verify`` command: check, replay, backends (and the subcommands other modules add)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import TYPE_CHECKING

from mhc_reference.contract import OPS
from mhc_verify.front_door import (FrontDoorParser, UsageError, add_debug_flag, add_force_flag, explicit_backends,
                                   guarded, output_dir, parse_json, positive_int, read_json, readable_file,
                                   refuse_existing_report)
from mhc_verify.progress import make_progress
from mhc_verify.registry import BackendInfo, discover
from mhc_verify.strategies import PROFILES, with_model_params

if TYPE_CHECKING:
    from mhc_verify.cases import Case

REPORT_FILES = ("report.json", "report.md")


def _backend_table(infos: dict[str, BackendInfo]) -> str:
    rows = [f"{'backend':14s} {'available':9s} {'source':11s} reason / ops"]
    for name, b in infos.items():
        ops = ", ".join(b.implements) if b.implements else "-"
        rows.append(f"{name:14s} {'yes' if b.available else 'NO':9s} {b.source:11s} {b.reason}")
        rows.append(f"{'':14s} {'':9s} {'':11s} ops: {ops}")
        if b.backend is not None and b.backend.known_issues:
            for op, text in b.backend.known_issues.items():
                rows.append(f"{'':14s} {'':9s} {'':11s} KNOWN ISSUE {op}: {text}")
    return "\n".join(rows)


def cmd_backends(args: argparse.Namespace) -> int:
    # Built-ins and entry points that fail to load are listed with the reason; a backend named here
    # that cannot be loaded is an error.
    infos = discover([b for b in args.backend or [] if ":" in b])
    named = explicit_backends(args.backend or [], infos)
    explicit_backends(args.require_backend or [], infos, "--require-backend")
    infos.update(named)
    print(_backend_table(infos))
    missing = [n for n in args.require_backend or [] if not (n in infos and infos[n].available)]
    for n in missing:
        print(f"error: required backend {n!r} is not available", file=sys.stderr)
    return 1 if missing else 0


def _choose_backends(args: argparse.Namespace) -> tuple[dict[str, BackendInfo], dict[str, BackendInfo]]:
    """(every discovered backend, the chosen ones). Default: torch plus every GPU backend; those
    unavailable here are kept, so that the run names each with its reason (never a silent omission)."""
    specs = [b for b in (args.backend or []) + (args.require_backend or []) if ":" in b]
    infos = discover(specs)
    required = explicit_backends(args.require_backend or [], infos, "--require-backend")
    if args.backend:
        chosen = explicit_backends(args.backend, infos)
    else:
        chosen = {n: b for n, b in infos.items()
                  if n == "torch" or b.backend is None or b.backend.device_type == "cuda"}
    for name, info in required.items():
        chosen.setdefault(name, info)
    return infos, chosen


def cmd_check(args: argparse.Namespace) -> int:
    from mhc_verify.report import write_report
    from mhc_verify.runner import DeviceLost
    from mhc_verify.session import PairStats, check_pair, provenance

    profile = PROFILES[args.profile]
    if args.model_params:
        profile = with_model_params(profile)
    refuse_existing_report(args.out, REPORT_FILES, args.force)
    infos, chosen = _choose_backends(args)
    ops = list(dict.fromkeys(args.op or OPS))
    out_dir = args.out
    examples = args.examples or profile.max_examples
    stats: list[PairStats] = []
    exit_code = 0
    runnable = [(n, b) for n, b in chosen.items() if b.available]
    for name, info in chosen.items():
        if not info.available:
            required = name in (args.require_backend or [])
            tag = "FAIL (required)" if required else "skipped"
            print(f"{tag}: backend {name} unavailable: {info.reason}", file=sys.stderr)
            s = PairStats(name, "*", verdict="unavailable (required)" if required else "unavailable",
                          reason=info.reason)
            stats.append(s)
            if required:
                exit_code = 1
    pairs = sum(len([op for op in ops if op in b.implements]) for _, b in runnable)
    progress = make_progress(pairs * examples, pairs, args.no_progress)
    # An interrupted run (Ctrl-C, or `timeout` sending SIGTERM) still writes its report: the pairs
    # finished so far, and the pair it stopped in marked "interrupted" (never a pass).
    interrupted = None
    device_lost_in = ""
    from mhc_verify.interrupt import install_stop_handlers

    restore_handlers = install_stop_handlers()
    current = None
    try:
        for name, info in runnable:
            backend = info.backend
            for op in ops:
                if op not in info.implements:
                    why = backend.not_implemented.get(op)
                    stats.append(PairStats(name, op, verdict="not implemented",
                                           reason=f"{name} does not implement {op}" + (f": {why}" if why else "")))
                    continue
                if progress:
                    progress.start_pair(name, op, examples)
                partial = PairStats(name, op)  # before `current`: a stop in between must not reuse the last pair's
                current = (name, op)

                def tick(result):
                    if progress:
                        progress.case_done(result.status, f"T={result.case.T} H={result.case.H} "
                                                          f"r={result.max_ratio:.2g}")

                s = check_pair(backend, op, profile, examples, out_dir / "repro", tick, use_target=not args.no_target,
                               seed=args.seed, stats=partial)
                if progress:
                    progress.end_pair(s.verdict)
                stats.append(s)
                if s.verdict != "pass":
                    exit_code = 1
                    print(f"\n{s.verdict}: {name}/{op}", file=sys.stderr)
                    for f in s.failures or [{"kind": s.verdict, "reason": s.reason, "reproducer": "-"}]:
                        print(f"  [{f['kind']}] {f['reason'].splitlines()[0][:300]}\n    reproduce: {f['reproducer']}",
                              file=sys.stderr)
        current = None
    except DeviceLost as lost:
        # A kernel fault poisons the CUDA context for the whole process: the faulting pair keeps
        # its failures (with the faulting case's reproducer); what was not run is said, never passed.
        exit_code = 1
        device_lost_in = str(lost)
        stats.append(partial)
        print(f"\nDEVICE LOST in {current[0]}/{current[1]}: {lost}\n  the pairs after it were not run: "
              "rerun them in a new process (--backend/--op)", file=sys.stderr)
        for f in partial.failures:
            print(f"  [{f['kind']}] reproduce: {f['reproducer']}", file=sys.stderr)
    except KeyboardInterrupt:
        interrupted = current
        exit_code = 1
        if current is not None:  # the cases judged before the stop are kept; the verdict is never a pass
            partial.verdict = partial.verdict if partial.failure else "interrupted"
            partial.reason = partial.reason or (f"the run was stopped while checking this pair, after "
                                                f"{partial.cases} judged cases")
            stats.append(partial)
        print(f"\ninterrupted{f' in {current[0]}/{current[1]}' if current else ''}: writing the partial report",
              file=sys.stderr)
    finally:
        restore_handlers()
    if progress:
        progress.close()
    for name, info in runnable:  # provenance after the run: JIT compile counters and the like
        try:
            info.provenance = info.backend.provenance()
        except Exception as e:  # noqa: BLE001
            info.provenance = {"error": f"provenance() raised {type(e).__name__}: {e}"}
    meta = provenance() | {"command": "mhc-verify " + " ".join(shlex.quote(a) for a in args.argv),
                           "profile": profile.name, "examples": examples}
    if device_lost_in:
        meta["interrupted"] = f"device lost: {device_lost_in}; pairs after it were not run"
    if interrupted is not None:
        meta["interrupted"] = f"stopped in {interrupted[0]}/{interrupted[1]}; pairs after it were not run"
    json_path, md_path = write_report(out_dir, stats, chosen, meta)
    from mhc_verify.report import verdict_table
    print("\n".join(verdict_table(stats)))
    print(f"\nreport: {md_path} and {json_path}")
    return exit_code


def _replay_target(args: argparse.Namespace) -> tuple[Case, BackendInfo, str | None]:
    """The case and backend a replay asks for, every field checked before anything is built, and a
    note on the version of the suite that wrote the reproducer (None: nothing to note)."""
    from mhc_verify.case_json import case_from_json, check_fits, reproducer_from_json

    if args.file and args.case:
        raise UsageError("give a reproducer FILE or --case JSON, not both")
    if args.file:
        case, named_backend, note = reproducer_from_json(read_json(args.file, "reproducer"), str(args.file))
    elif args.case:
        case, named_backend, note = case_from_json(parse_json(args.case, "--case"), "--case"), None, None
    else:
        raise UsageError("replay needs a reproducer FILE or --case JSON")
    backend_name = args.backend or named_backend
    if not backend_name:
        raise UsageError("replay needs --backend (or a reproducer file that names one)")
    infos = discover([backend_name] if ":" in backend_name else [])
    option = "--backend" if args.backend else f"{args.file}: backend"
    info = next(iter(explicit_backends([backend_name], infos, option).values()))
    if info.available:
        check_fits(case, info.backend.device_type, f"{args.file}: case" if args.file else "--case")
    return case, info, (f"note: {args.file}: {note}" if note else None)


def cmd_replay(args: argparse.Namespace) -> int:
    from mhc_verify.runner import run_case

    case, b, note = _replay_target(args)
    if note:
        print(note, file=sys.stderr)
    if not b.available:
        print(f"error: backend {b.name} unavailable: {b.reason}", file=sys.stderr)
        return 1
    result = run_case(b.backend, case, diagnostics=True)
    print(result.summary())
    for c in result.checks:
        cr = f", correctly rounded {100 * c.correctly_rounded:.4f} %" if c.correctly_rounded is not None else ""
        print(f"  {c.name}: max err/bound {c.max_ratio:.4g} (max |err| {c.max_abs_err:.3g}), "
              f"{c.violations} over bound, {c.nonfinite_mismatches} non-finite mismatches{cr}"
              + (f", bad token rows {c.bad_rows[:16]}" if c.bad_rows else ""))
    return 0 if result.status == "pass" else 1


def build_parser() -> argparse.ArgumentParser:
    parser = FrontDoorParser(prog="mhc-verify", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def backend_args(p):
        p.add_argument("--backend", action="append", help="backend name or module:attr (repeatable); "
                       "default: torch plus every available GPU backend")
        p.add_argument("--require-backend", action="append", metavar="NAME",
                       help="fail if this backend is unavailable (repeatable)")

    p = sub.add_parser("check", help="run the property-based suite and write a report (the main job)")
    backend_args(p)
    p.add_argument("--op", action="append", choices=list(OPS), help="restrict to these ops (repeatable)")
    p.add_argument("--profile", default=os.environ.get("HYPOTHESIS_PROFILE", "ci"), choices=list(PROFILES),
                   help="default: $HYPOTHESIS_PROFILE or ci")
    p.add_argument("--examples", type=positive_int, help="examples per (backend, op); default: the profile's")
    p.add_argument("--out", type=output_dir, default="mhc-verify-report", help="report directory")
    add_force_flag(p)
    p.add_argument("--seed", type=int, help="random seed (default: derandomized, reproducible)")
    p.add_argument("--model-params", action="store_true",
                   help="pin epsilons, post multiplier and Sinkhorn repeat to the model's values (the contract's "
                        "defaults); for backends that compile them into kernels, where each other value recompiles")
    p.add_argument("--no-target", action="store_true", help="do not steer the search with target()")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress display (default: a bar on a terminal, else a line per backend/op)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("replay", help="re-run a reproducer bit-exactly")
    p.add_argument("file", nargs="?", type=readable_file, help="a reproducer JSON written by check")
    p.add_argument("--case", help="a case descriptor JSON (as printed in a failure line)")
    p.add_argument("--backend")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("backends", help="list backends: found, unavailable and why")
    backend_args(p)
    p.set_defaults(func=cmd_backends)

    for module in ("mhc_verify.gsm8k.cli", "mhc_verify.stress", "mhc_verify.mutants", "mhc_verify.merge",
                   "mhc_verify.swap", "mhc_verify.depth"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError as e:
            if e.name and module.startswith(e.name):
                continue  # that subcommand is not part of this build
            raise
        mod.add_parser(sub)
    add_debug_flag(parser)  # after every subcommand is added: each one takes --debug too
    return parser


def _run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv  # the report's command line: what was asked, also when called as main([...])
    try:
        return args.func(args)
    except UsageError as e:  # raised by the command's own checks: reported under its name
        e.prog = e.prog or f"mhc-verify {args.command}"
        raise


def main(argv: list[str] | None = None) -> int:
    return guarded(_run, list(sys.argv[1:] if argv is None else argv), "mhc-verify")


if __name__ == "__main__":
    sys.exit(main())
