"""``mhc-verify swap``: is kernel B at least as accurate as the kernel A it replaces?

Both backends run on the same drawn cases (the same input tensors), each is judged against the
float64 reference of the engines' op, and B is judged relative to A, per case and output:

* B's max error <= k x A's max error + half an ulp of the output dtype at the output's largest
  magnitude (k = 2 by default, the rule FlashAttention's tests use against their reference), over
  the cases of one input family: each side's largest error over them, not case by case (B worse on
  one case and A on another is rounding luck, as for "more accurate" below). Why: comb_mix (n x n
  per token, 20 Sinkhorn steps amplifying every rounding) of an fp32 mhc_pre summed in reverse K
  order had 3.45 x the forward sum's error on one case (1.4e-6 against 4.05e-7) and the same
  largest error over all 25 cases (2.39e-6 against 2.42e-6); a targeted search for the worst
  per-case ratio finds such a case in any pair that only rounds differently (dev profile, 25
  examples, seeds 1-8, that pair: 3 of 8 runs "less accurate" case by case, 2 of 8 per family; fn
  rounded to bf16: 8 of 8 either way). Maxima of a few heavy-tailed fp32 rounding errors still
  differ by more than k at times (post_mix, family saturating, 12 cases: 2.27e-6 against 7.18e-7):
  the remaining false alarms are a known limit of the rule. A non-finite output where the
  reference is finite fails on its own case;
* on bf16 outputs, B's correctly-rounded fraction no lower than A's by more than ``cr_margin``.

Both are measured against the engines' semantics, whatever either backend declares (a declared
departure is the change the swap makes). The change itself, |B - A| in ulps of the output, is
summarised (max, p99, bitwise-equal fraction) with where it concentrates (families, token ranges).
Verdict: "B less accurate" (the case holding B's largest error in a violating family, or the
shrunk case of a non-finite or correctly-rounded violation, with a reproducer replayable for both
backends; a replay with ``--case`` judges that one case by the per-case rule), "B more accurate" (B never violates, and on some output A's largest error over all cases
exceeds k x B's largest), or "B at least as accurate as A".
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from hypothesis import HealthCheck, Phase, assume, given, settings, target
from hypothesis.errors import Unsatisfiable

from mhc_kernels.base import Backend, ConstraintError
from mhc_reference.contract import OPS, dim_sizes
from mhc_verify.cases import Case, build_inputs
from mhc_verify.error_model import ulp
from mhc_verify.case_json import case_from_json
from mhc_verify.front_door import (UsageError, add_force_flag, explicit_backends, output_dir, parse_json,
                                   positive_float, positive_int, refuse_existing_report, seed_int)
from mhc_verify.runner import reference_outputs
from mhc_verify.strategies import PROFILES, Profile, cases

LESS, SAME, MORE = "B less accurate", "B at least as accurate as A", "B more accurate"


@dataclass
class OutputComparison:
    """One output of one case: each backend's max error against the engines' float64 op."""

    name: str
    err_a: float
    err_b: float
    half_ulp: float  # half an ulp of the output dtype at the output's largest reference magnitude
    cr_a: float | None = None  # correctly rounded fraction (bf16 outputs)
    cr_b: float | None = None
    change_max_ulps: float = 0.0  # max |B - A| in ulps of the output dtype
    change_p99_ulps: float = 0.0
    bitwise_equal: float = 1.0  # fraction of elements where B == A bit for bit

    def b_worse(self, k: float, cr_margin: float) -> str | None:
        """Why B is less accurate than A on this output, or None."""
        if not self.err_b <= k * self.err_a + self.half_ulp:  # NaN errors fail too
            return f"{self.name}: max err {self.err_b:.3g} > {k:g} x {self.err_a:.3g} + {self.half_ulp:.3g}"
        if self.cr_a is not None and self.cr_b is not None and self.cr_b < self.cr_a - cr_margin:
            return (f"{self.name}: correctly rounded {100 * self.cr_b:.3f} % < {100 * self.cr_a:.3f} % - "
                    f"{100 * cr_margin:g} points")
        return None

    def a_worse(self, k: float, cr_margin: float) -> str | None:
        swapped = OutputComparison(self.name, self.err_b, self.err_a, self.half_ulp, self.cr_b, self.cr_a)
        return swapped.b_worse(k, cr_margin)


@dataclass
class CaseComparison:
    case: dict
    outputs: list[OutputComparison]
    error: str | None = None  # a backend raised, or broke the contract
    raised: str = ""  # "A" or "B": which one raised (A runs first; B is not run once A raised)
    b_worse: list[str] = field(default_factory=list)
    a_worse: list[str] = field(default_factory=list)
    # a backend refused the built inputs under its declared constraints (e.g. strided views for a
    # kernel that asserts contiguity): the case is outside the swap, not a crash
    outside: str = ""

    @property
    def severity(self) -> float:
        """How far B is past the rule (> 1: violated); steers the search."""
        return max((o.err_b / max(2.0 * o.err_a + o.half_ulp, 1e-300) for o in self.outputs), default=0.0)


def _max_err(out: torch.Tensor, ref: torch.Tensor) -> tuple[float, float | None]:
    o, r = out.double(), ref.to(out.device).double()
    finite = torch.isfinite(r)
    err = (o - r).abs()
    if (finite & ~torch.isfinite(o)).any():
        return math.inf, None
    e = float(err[finite].max()) if finite.any() else 0.0
    cr = None
    if out.dtype == torch.bfloat16 and finite.any():
        cr = float((o[finite] == r[finite].to(torch.bfloat16).double()).double().mean())
    return e, cr


def compare_case(a: Backend, b: Backend, case: Case) -> CaseComparison:
    """Run A and B on the same inputs and compare each output's error against the engines' op."""
    from mhc_verify.runner import _device_for

    inputs_a = build_inputs(case, _device_for(a))
    inputs_b = {k: (v.to(_device_for(b)) if isinstance(v, torch.Tensor) else v) for k, v in inputs_a.items()}
    params = case.param_dict()
    outs = {}
    for tag, backend, inputs in (("A", a, inputs_a), ("B", b, inputs_b)):
        try:
            outs[tag] = backend.run(case.op, inputs, params)
        except ConstraintError as e:
            return CaseComparison(json.loads(case.to_json()), [], outside=f"{tag}: {e}")
        except Exception as e:  # noqa: BLE001 - a crash is reported, never a pass
            return CaseComparison(json.loads(case.to_json()), [], error=f"{tag} ({backend.name}) raised "
                                  f"{type(e).__name__}: {str(e)[:300]}", raised=tag)
    # each against the engines' op; for the fused post+pre, of the residual that backend wrote
    ref_a = reference_outputs(case, inputs_a, params, outs["A"])
    ref_b = reference_outputs(case, inputs_b, params, outs["B"])
    result = CaseComparison(json.loads(case.to_json()), [])
    for name, out_a in outs["A"].items():
        out_b = outs["B"][name].to(out_a.device)
        err_a, cr_a = _max_err(out_a, ref_a[name])
        err_b, cr_b = _max_err(out_b, ref_b[name])
        r = ref_a[name].to(out_a.device).double()
        finite = torch.isfinite(r)
        magnitude = float(r[finite].abs().max()) if finite.any() else 0.0
        half = 0.5 * float(ulp(torch.tensor(magnitude, dtype=torch.float64), out_a.dtype))
        steps = ulp(r.abs(), out_a.dtype)
        both = finite & torch.isfinite(out_a.double()) & torch.isfinite(out_b.double())
        change = ((out_b.double() - out_a.double()).abs() / steps)[both]
        comp = OutputComparison(name, err_a, err_b, half, cr_a, cr_b)
        if change.numel():
            comp.change_max_ulps = float(change.max())
            comp.change_p99_ulps = float(torch.quantile(change.float()[:1 << 24], 0.99))
            comp.bitwise_equal = float((change == 0).double().mean())
        result.outputs.append(comp)
    return result


@dataclass
class SwapResult:
    backend_a: str
    backend_b: str
    op: str
    k: float
    cr_margin: float
    verdict: str = SAME
    cases: list[CaseComparison] = field(default_factory=list)
    worst: CaseComparison | None = None  # the shrunk case that shows B less accurate
    errors: list[CaseComparison] = field(default_factory=list)
    reproducer: str = ""
    interrupted: bool = False
    # how the user named the backends (a module:attr spec replays, a class's name may not)
    spec_a: str = ""
    spec_b: str = ""
    # the first case outside a backend's declared constraints (B's, or A's on built inputs): why no case
    # ran on both when every drawn case was (Hypothesis gives up)
    outside_b: str = ""

    @property
    def b_raises(self) -> list[CaseComparison]:
        return [e for e in self.errors if e.raised == "B"]

    @property
    def full_verdict(self) -> str:
        """The accuracy verdict over the cases both ran, then what raised: a crash of B where A runs
        is its own finding, and never hides (nor is hidden by) the accuracy verdict."""
        if self.interrupted:
            head = f"interrupted after {len(self.cases)} cases" + (f" ({self.verdict})" if self.verdict == LESS else "")
        else:
            head = self.verdict if self.cases else (
                f"no case ran on both: every drawn case is outside the declared constraints, e.g. {self.outside_b}"
                if self.outside_b else "no case ran on both")
        parts = [head]
        if self.b_raises:
            parts.append(f"B raises where A runs ({len(self.b_raises)} cases)")
        a_raises = len(self.errors) - len(self.b_raises)
        if a_raises:
            parts.append(f"A raises ({a_raises} cases; B not run on them)")
        return "; ".join(parts)

    @property
    def passed(self) -> bool:
        return self.verdict in (SAME, MORE) and bool(self.cases) and not self.b_raises and not self.interrupted

    def error_reproducer(self, e: CaseComparison) -> str:
        return replay_command(self, e.case)

    def summary(self) -> dict:
        per_output: dict[str, dict] = {}
        for c in self.cases:
            for o in c.outputs:
                s = per_output.setdefault(o.name, {"max_err_a": 0.0, "max_err_b": 0.0, "change_max_ulps": 0.0,
                                                   "bitwise_equal_min": 1.0, "cr_a_min": None, "cr_b_min": None})
                s["max_err_a"] = max(s["max_err_a"], o.err_a)
                s["max_err_b"] = max(s["max_err_b"], o.err_b)
                s["change_max_ulps"] = max(s["change_max_ulps"], o.change_max_ulps)
                s["bitwise_equal_min"] = min(s["bitwise_equal_min"], o.bitwise_equal)
                for key, v in (("cr_a_min", o.cr_a), ("cr_b_min", o.cr_b)):
                    if v is not None:
                        s[key] = v if s[key] is None else min(s[key], v)
        by_family: dict[str, int] = {}
        by_tokens: dict[str, int] = {}
        for c in self.cases:
            if c.b_worse:
                by_family[c.case["family"]] = by_family.get(c.case["family"], 0) + 1
                bucket = "0" if c.case["T"] == 0 else f"<= {2 ** math.ceil(math.log2(max(1, c.case['T'])))}"
                by_tokens[bucket] = by_tokens.get(bucket, 0) + 1
        return {"per_output": per_output, "b_worse_by_family": by_family, "b_worse_by_tokens": by_tokens,
                "cases": len(self.cases), "b_worse_cases": sum(bool(c.b_worse) for c in self.cases),
                "a_worse_cases": sum(bool(c.a_worse) for c in self.cases), "errors": len(self.errors)}


def swap_pair(a: Backend, b: Backend, op: str, profile: Profile, max_examples: int | None = None,
              k: float = 2.0, cr_margin: float = 0.001, seed: int | None = None,
              result: SwapResult | None = None) -> SwapResult:
    """Judge B against A on ``op``; ``result``, if given, is filled in place (kept on a stop)."""
    result = result or SwapResult(a.name, b.name, op, k, cr_margin)
    worst: list[CaseComparison] = []

    def body(case: Case) -> None:
        given_inputs = {"norm_weight": True} if case.norm_weight else {}
        why_not = b.supports(op, dim_sizes(case.T, case.n, case.H, case.n_splits), given_inputs, case.param_dict())
        if why_not is not None:
            result.outside_b = result.outside_b or str(why_not)
        assume(why_not is None)
        comp = compare_case(a, b, case)
        if comp.outside:
            result.outside_b = result.outside_b or comp.outside
        assume(not comp.outside)
        if comp.error:
            result.errors.append(comp)
            return
        comp.b_worse = [w for o in comp.outputs if (w := o.b_worse(k, cr_margin))]
        comp.a_worse = [w for o in comp.outputs if (w := o.a_worse(k, cr_margin))]
        result.cases.append(comp)
        target(min(comp.severity, 1e6), label="B err / (k A err + half ulp)")
        # judged over the family at the end (_family_violations); on its own case only what luck
        # cannot explain: a non-finite output or fewer correctly rounded bf16 elements
        alone = [w for o in comp.outputs if (w := o.b_worse(k, cr_margin))
                 and (not math.isfinite(o.err_b) or w.startswith(f"{o.name}: correctly rounded"))]
        if alone:
            worst[:] = [comp]
            raise AssertionError("; ".join(alone))

    test = given(cases(op, a, profile))(body)
    test = settings(max_examples=max_examples or profile.max_examples, deadline=None, database=None,
                    derandomize=seed is None, print_blob=False, suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=False, phases=[Phase.generate, Phase.target, Phase.shrink])(test)
    try:
        test()
    except AssertionError:
        pass
    except Unsatisfiable:
        pass  # no case both run: full_verdict says so with B's reason, and it is not a pass
    except KeyboardInterrupt:
        result.interrupted = True  # the caller writes what was judged; never a pass
        raise
    finally:
        _finish(result, worst, a, b, k)
    return result


def _finish(result: SwapResult, worst: list[CaseComparison], a: Backend, b: Backend, k: float) -> None:
    if not worst and (violations := _family_violations(result, k)):
        why, case = violations[0]
        worst = [case]
        case.b_worse = [why] + [w for w in case.b_worse if w not in (why,)]
    if worst:
        result.verdict, result.worst = LESS, worst[-1]  # the last raised is Hypothesis' shrunk case
        result.reproducer = replay_command(result, result.worst.case)
    elif result.cases and _a_worse_overall(result, k):
        result.verdict = MORE


def _family_violations(result: SwapResult, k: float) -> list[tuple[str, CaseComparison]]:
    """(why, the case holding B's largest error) for every (output, input family) where B's largest
    error over the family's cases exceeds k x A's largest + half an ulp (the largest over them),
    worst first."""
    groups: dict[tuple[str, str], list[tuple[OutputComparison, CaseComparison]]] = {}
    for c in result.cases:
        for o in c.outputs:
            groups.setdefault((o.name, c.case["family"]), []).append((o, c))
    found = []
    for (name, family), items in groups.items():
        err_a = max(o.err_a for o, _ in items)
        err_b = max((o.err_b for o, _ in items), key=lambda e: (math.isnan(e), e))
        half = max(o.half_ulp for o, _ in items)
        if not err_b <= k * err_a + half:
            held = max(items, key=lambda oc: (math.isnan(oc[0].err_b), oc[0].err_b))[1]
            why = (f"{name}, family {family}: B's largest error over its {len(items)} cases {err_b:.3g} > "
                   f"{k:g} x A's {err_a:.3g} + {half:.3g}")
            found.append((err_b / max(k * err_a + half, 1e-300), why, held))
    return [(why, case) for _, why, case in sorted(found, key=lambda f: -f[0] if math.isfinite(f[0]) else -math.inf)]


def replay_command(result: SwapResult, case: dict) -> str:
    return (f"mhc-verify swap --from {shlex.quote(result.spec_a or result.backend_a)} --to "
            f"{shlex.quote(result.spec_b or result.backend_b)} --case {shlex.quote(json.dumps(case, sort_keys=True))}")


def _a_worse_overall(result: SwapResult, k: float) -> bool:
    """B more accurate: on some output, A's largest error over all cases exceeds k x B's largest
    (plus half an ulp). Over the maxima, not per case: a single case where B happens to be exact and
    A half an ulp off is rounding luck, not accuracy."""
    for name, s in result.summary()["per_output"].items():
        half = max(o.half_ulp for c in result.cases for o in c.outputs if o.name == name)
        if s["max_err_a"] > k * s["max_err_b"] + half:
            return True
    return False


def plot_errors(path: Path, results: list[SwapResult]) -> Path | None:
    """Per case and output, |B - ref| against |A - ref| (log-log), with the rule's line y = k x."""
    points = [(o.err_a, o.err_b, r.op) for r in results for c in r.cases for o in c.outputs
              if o.err_a > 0 and o.err_b > 0 and math.isfinite(o.err_b)]
    if not points:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 5))
    for op in dict.fromkeys(p[2] for p in points):
        xs, ys = zip(*[(x, y) for x, y, o in points if o == op])
        ax.scatter(xs, ys, s=8, label=op)
    lo = min(min(p[0], p[1]) for p in points)
    hi = max(max(p[0], p[1]) for p in points)
    ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, label="B = A")
    ax.plot([lo, hi], [results[0].k * lo, results[0].k * hi], color="red", linewidth=0.8,
            label=f"B = {results[0].k:g} A (the rule)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"max |A - ref|  (A = {results[0].backend_a})")
    ax.set_ylabel(f"max |B - ref|  (B = {results[0].backend_b})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_swap_report(out_dir: Path, results: list[SwapResult], command: str) -> Path:
    from mhc_verify.session import provenance

    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"meta": provenance() | {"command": command},
            "results": [{"backend_a": r.backend_a, "backend_b": r.backend_b, "op": r.op, "k": r.k,
                         "cr_margin": r.cr_margin, "verdict": r.full_verdict, "accuracy_verdict": r.verdict,
                         "passed": r.passed, "reproducer": r.reproducer,
                         "worst": asdict(r.worst) if r.worst else None, "summary": r.summary(),
                         "errors": [asdict(e) | {"reproducer": r.error_reproducer(e)} for e in r.errors[:5]]}
                        for r in results]}
    (out_dir / "swap.json").write_text(json.dumps(data, indent=2, default=str))
    a, b = results[0].backend_a, results[0].backend_b
    md = [f"# mhc-verify swap: {a} -> {b}", "", f"- command: `{command}`", f"- date: {data['meta']['date']}",
          f"- rule: B's max error <= k x A's + half an ulp (k = {results[0].k:g}); bf16 outputs' correctly "
          f"rounded fraction no lower than A's by more than {100 * results[0].cr_margin:g} points; both "
          "against the engines' float64 op", "",
          "| op | verdict | cases | B worse / A worse | output | max err A | max err B | "
          "min correctly rounded A / B | max change (ulps) | min bitwise-equal |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.summary()
        first = True
        for name, o in s["per_output"].items() or {"-": {}}.items():
            cr = (f"{100 * o['cr_a_min']:.3f} % / {100 * o['cr_b_min']:.3f} %" if o.get("cr_a_min") is not None
                  and o.get("cr_b_min") is not None else "-")
            head = (f"| {r.op} | **{r.full_verdict}** | {s['cases']} | {s['b_worse_cases']} / {s['a_worse_cases']} |"
                    if first else "| | | | |")
            md.append(f"{head} {name} | {o.get('max_err_a', 0):.3g} | {o.get('max_err_b', 0):.3g} | {cr} | "
                      f"{o.get('change_max_ulps', 0):.3g} | {100 * o.get('bitwise_equal_min', 1):.2f} % |")
            first = False
    for r in results:
        if r.worst:
            md += ["", f"## {r.op}: {r.verdict}", "", "; ".join(r.worst.b_worse), "",
                   f"    {r.reproducer}", "",
                   f"B worse by family: {r.summary()['b_worse_by_family']}; by token count: "
                   f"{r.summary()['b_worse_by_tokens']}"]
        if r.errors:  # one reproducer per distinct message: one crash must not hide another
            md += ["", f"## {r.op}: {len(r.errors)} cases raised", ""]
            seen: set[str] = set()
            for e in r.errors:
                key = e.error.split(":")[0] + e.error.split(":", 1)[-1][:80]
                if key in seen:
                    continue
                seen.add(key)
                md += [f"- {e.error}", "", f"    {r.error_reproducer(e)}", ""]
    plot = plot_errors(out_dir / "swap_errors.png", results)
    if plot:
        md += ["", "## Per case and output: B's error against A's", "", f"![|B - ref| vs |A - ref|]({plot.name})"]
    path = out_dir / "swap.md"
    path.write_text("\n".join(md) + "\n")
    return path


def run_command(args: argparse.Namespace) -> int:
    from mhc_verify.registry import discover_named

    names = [args.from_backend, args.to_backend]
    infos = explicit_backends(names, discover_named(names))
    a_info, b_info = infos[next(iter(infos))], list(infos.values())[-1]
    for info in (a_info, b_info):
        if not info.available:
            raise UsageError(f"backend {info.name} unavailable: {info.reason}")
    if args.case is None:
        refuse_existing_report(Path(args.out), ("swap.json", "swap.md"), args.force)
    a, b = a_info.backend, b_info.backend
    profile = PROFILES[args.profile]
    command = "mhc-verify " + " ".join(shlex.quote(x) for x in args.argv)
    if args.case:
        case = case_from_json(parse_json(args.case, "--case"), "--case")
        comp = compare_case(a, b, case)
        if comp.outside:
            result.outside_b = result.outside_b or comp.outside
        assume(not comp.outside)
        if comp.error:
            print(f"ERROR: {comp.error}")
            return 1
        worse = [w for o in comp.outputs if (w := o.b_worse(args.k, args.cr_margin))]
        for o in comp.outputs:
            print(f"  {o.name}: max err A {o.err_a:.4g}, B {o.err_b:.4g}; change max {o.change_max_ulps:.3g} ulps, "
                  f"bitwise equal {100 * o.bitwise_equal:.3f} %")
        print(f"{LESS}: " + "; ".join(worse) if worse else SAME)
        return 1 if worse else 0
    ops = args.op or [op for op in OPS if op in a.implements() and op in b.implements()]
    results: list[SwapResult] = []
    from mhc_verify.interrupt import install_stop_handlers

    restore_handlers = install_stop_handlers()
    try:
        for op in ops:
            if op not in a.implements() or op not in b.implements():
                print(f"{op}: not implemented by {a.name if op not in a.implements() else b.name}: skipped",
                      file=sys.stderr)
                continue
            r = SwapResult(a.name, b.name, op, args.k, args.cr_margin, spec_a=args.from_backend,
                           spec_b=args.to_backend)
            results.append(r)  # before the run: a stop inside it keeps what was judged
            swap_pair(a, b, op, profile, args.examples, args.k, args.cr_margin, args.seed, result=r)
            print(f"{op:15s} {r.full_verdict}" + (f"\n  reproduce: {r.reproducer}" if r.reproducer else ""))
            for e in r.b_raises[:1]:
                print(f"  B raised: {e.error[:200]}\n  reproduce: {r.error_reproducer(e)}")
    except KeyboardInterrupt:
        print("\ninterrupted: writing the partial swap report", file=sys.stderr)
    finally:
        restore_handlers()
    if not results:
        print("error: the two backends implement no op in common", file=sys.stderr)
        return 2
    path = write_swap_report(Path(args.out), results, command)
    print(f"report: {path}")
    return 0 if all(r.passed for r in results) else 1


def add_parser(sub) -> None:
    p = sub.add_parser("swap", help="is backend B at least as accurate as the backend A it replaces?")
    p.add_argument("--from", dest="from_backend", required=True, metavar="A", help="the backend in use")
    p.add_argument("--to", dest="to_backend", required=True, metavar="B", help="the backend replacing it")
    p.add_argument("--op", action="append", choices=list(OPS), help="ops (default: every op both implement)")
    p.add_argument("--profile", default="ci", choices=list(PROFILES))
    p.add_argument("--examples", type=positive_int, help="cases per op (default: the profile's)")
    p.add_argument("--k", type=positive_float, default=2.0, help="B's max error may be up to k x A's (+ half an ulp)")
    p.add_argument("--cr-margin", type=float, default=0.001,
                   help="how far B's correctly-rounded fraction may fall below A's (fraction, default 0.001)")
    p.add_argument("--case", help="replay one case descriptor JSON for both backends")
    p.add_argument("--seed", type=seed_int)
    p.add_argument("--out", type=output_dir, default=Path("mhc-verify-swap"))
    add_force_flag(p, "swap report")
    p.set_defaults(func=run_command)
