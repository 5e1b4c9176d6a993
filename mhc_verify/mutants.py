"""Suite power: run the planted-bug catalogue and print a kill table (``mhc-verify mutants``).

A mutant is killed when the property search fails it on one of the ops it changes. For each
mutant the table gives the number of examples until the first failure, with and without
``target()`` steering, and the minimal failing case's reproducer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass

from mhc_kernels.mutants import CATALOGUE
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES, Profile

KILL_TABLE_FILES = ("kill_table.md", "kill_table.json")


@dataclass
class Kill:
    mutant: str
    family: str
    killed: bool
    op: str | None
    examples_to_kill: int | None  # with target()
    examples_to_kill_untargeted: int | None
    reproducer: str | None
    cpu_killable: bool


def _first_failure(backend, op: str, profile: Profile, budget: int, use_target: bool) -> tuple[int | None, str | None]:
    count = {"n": 0, "first": None}

    def progress(result):
        count["n"] += 1
        if result.status in ("fail", "error") and count["first"] is None:
            count["first"] = count["n"]

    stats = check_pair(backend, op, profile, budget, progress=progress, use_target=use_target, diagnostics=False)
    if stats.verdict in ("FAIL", "ERROR"):
        return count["first"], stats.failure["reproducer"] if stats.failure else None
    return None, None


def run_catalogue(profile: Profile, budget: int, include_gpu_only: bool = False, untargeted: bool = True,
                  progress=None) -> list[Kill]:
    kills = []
    for cls in CATALOGUE:
        if not cls.cpu_killable and not include_gpu_only:
            kills.append(Kill(cls.name, cls.family, False, None, None, None,
                              "needs the nightly profile's sizes (not run here)", False))
            continue
        mutant = cls()
        found = Kill(cls.name, cls.family, False, None, None, None, None, cls.cpu_killable)
        for op in cls.ops:
            first, repro = _first_failure(mutant, op, profile, budget, use_target=True)
            if first is not None:
                found.killed, found.op, found.examples_to_kill, found.reproducer = True, op, first, repro
                if untargeted:
                    found.examples_to_kill_untargeted = _first_failure(mutant, op, profile, budget, False)[0]
                break
        kills.append(found)
        if progress:
            progress(found)
    return kills


def kill_table(kills: list[Kill]) -> str:
    rows = ["| mutant | family | killed | op | examples to kill (target) | (no target) |", "|---|---|---|---|---|---|"]
    for k in kills:
        rows.append(f"| {k.mutant} | {k.family} | {'yes' if k.killed else 'NO'} | {k.op or '-'} | "
                    f"{k.examples_to_kill or '-'} | {k.examples_to_kill_untargeted or '-'} |")
    counted = [k for k in kills if k.cpu_killable]
    killed = [k for k in counted if k.killed]
    steps = [k.examples_to_kill for k in killed if k.examples_to_kill]
    rows.append("")
    rows.append(f"killed {len(killed)}/{len(counted)} CPU-killable mutants"
                + (f"; examples to kill with target(): median {statistics.median(steps)}, max {max(steps)}"
                   if steps else ""))
    return "\n".join(rows)


def cmd_mutants(args: argparse.Namespace) -> int:
    from mhc_verify.front_door import refuse_existing_report

    profile = PROFILES[args.profile]
    out = args.out
    refuse_existing_report(out, KILL_TABLE_FILES, args.force)
    out.mkdir(parents=True, exist_ok=True)
    kills = run_catalogue(profile, args.examples, args.include_gpu_only, not args.no_untargeted,
                          progress=lambda k: print(f"{k.mutant}: {'killed' if k.killed else 'SURVIVED'}"
                                                   f" after {k.examples_to_kill}", file=sys.stderr))
    table = kill_table(kills)
    (out / "kill_table.md").write_text(f"# Mutant kill table ({profile.name} profile, {args.examples} examples "
                                       f"per op)\n\n{table}\n")
    (out / "kill_table.json").write_text(json.dumps([asdict(k) for k in kills], indent=2))
    print(table)
    survivors = [k for k in kills if k.cpu_killable and not k.killed]
    return 1 if survivors else 0


def add_parser(subparsers) -> None:
    from mhc_verify.front_door import add_force_flag, output_dir, positive_int

    p = subparsers.add_parser("mutants", help="run the planted-bug catalogue and print a kill table")
    p.add_argument("--profile", default="ci", choices=list(PROFILES))
    p.add_argument("--examples", type=positive_int, default=200, help="budget of examples per (mutant, op)")
    p.add_argument("--include-gpu-only", action="store_true", help="also run mutants that need nightly sizes")
    p.add_argument("--no-untargeted", action="store_true", help="skip the second search without target()")
    p.add_argument("--out", type=output_dir, default="mhc-verify-mutants")
    add_force_flag(p, "kill table")
    p.set_defaults(func=cmd_mutants)
