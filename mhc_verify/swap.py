"""``mhc-verify swap``: is kernel B at least as accurate as the kernel A it replaces?

Both backends run on the same drawn cases (the same input tensors), each is judged against the
float64 reference of the engines' op, and B is judged relative to A, per case and output:

* B's max error <= k x A's max error + half an ulp of the output dtype at the output's largest
  magnitude (k = 2 by default, the rule FlashAttention's tests use against their reference);
* on bf16 outputs, B's correctly-rounded fraction no lower than A's by more than ``cr_margin``.

Either rule breaking on a case is not yet a verdict: maxima of a few rounding errors are luck's
sample. An fp32 mhc_pre summed in reverse K order had 3.45 x the forward sum's comb_mix error on one
case (1.4e-6 against 4.05e-7; 20 Sinkhorn steps amplify every rounding) and the same largest error
over 25 cases; judged case by case, that pure reordering came out "less accurate" in 13 and "more
accurate" in 4 of 32 seeded runs of 25 cases (dev profile), and a layer_input of 14 elements can
lose 1 correctly rounded element of 14 by luck. With the rule below: 0 of 32, while fn rounded to
bf16 and every 7th token's post weights off by 2^-14 were caught in 32 of 32 (tests/test_swap.py). So
B is less accurate on an output only where both hold over the whole run: the rule on the maxima
(B's largest error over all cases against k x A's largest; the correctly rounded elements of all
distinct inputs, B's fewer by more than cr_margin of them), and a paired test over every distinct
input judged (shape, family, seed; the targeted search re-draws its worst inputs, which are not new
draws) saying B is worse beyond chance (one-sided exact binomial p <= SIGNIFICANCE):

* for the max rule, over tokens: each token's (row of T) largest error, B's against A's, counted
  where they differ (a token is the unit: its elements share its mixes and their rounding);
* for the correctly rounded rule, over bf16 elements: those only A rounds correctly against those
  only B does (McNemar's exact test).

The paired test alone would call a reordering that is worse on a skewed majority of tokens by a
rounding less accurate; it is (the reverse-K sum above is worse on 431 of 681 differing tokens of
the cancellation family over eight runs), but not by k.

A systematic loss is worse on nearly every token (fn rounded to bf16); a kernel equal to A but for
some corrupted tokens is worse on those and tied elsewhere, which the test counts alone (10
corrupted tokens suffice, in however many cases). What it lets pass: a few tokens worse inside a
rounding that differs everywhere; ``mhc-verify check``'s declared bounds judge those. A non-finite
output where the reference is finite fails on its own case. "More accurate" is the mirror image,
with the same test.

Both are measured against the engines' semantics, whatever either backend declares (a declared
departure is the change the swap makes). The change itself, |B - A| in ulps of the output, is
summarised (max, p99, bitwise-equal fraction) with where it concentrates (families, token ranges).
Verdict: "B less accurate" (the case breaking the rule furthest on an output where the paired test
holds, or the shrunk case of a non-finite output, with a reproducer replayable for both backends; a
replay with ``--case`` judges that one case by the per-case rules), "B more accurate" (B less
accurate nowhere, and A so on some output, by the same rules with A and B exchanged), or "B at least
as accurate as A".
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
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable

from mhc_kernels.base import Backend, ConstraintError
from mhc_reference.contract import OPS, dim_sizes, get_op
from mhc_verify.cases import Case, build_inputs
from mhc_verify.error_model import ulp
from mhc_verify.case_json import case_from_json
from mhc_verify.front_door import (UsageError, add_force_flag, explicit_backends, output_dir, parse_json,
                                   positive_float, positive_int, refuse_existing_report, seed_int)
from mhc_verify.plot_file import save_palette_png
from mhc_verify.runner import reference_outputs
from mhc_verify.strategies import PROFILES, Profile, cases

LESS, SAME, MORE = "B less accurate", "B at least as accurate as A", "B more accurate"
SIGNIFICANCE = 1e-3  # one-sided p of the paired test (module docstring)


def binomial_tail(worse: int, better: int) -> float:
    """P(X >= worse) for X ~ Binomial(worse + better, 1/2): exact up to 5000 trials (summed in log
    space), then the normal approximation with continuity correction."""
    n = worse + better
    if n == 0 or worse == 0:
        return 1.0
    if n <= 5000:
        log_terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2.0)
                     for i in range(worse, n + 1)]
        top = max(log_terms)
        return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))
    z = (worse - 0.5 - n / 2.0) / math.sqrt(n / 4.0)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


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
    # the paired counts (module docstring): tokens whose largest error is B's / A's (ties neither),
    # bf16 elements only A / only B rounds correctly
    tokens_b_worse: int = 0
    tokens_a_worse: int = 0
    cr_only_a: int = 0
    cr_only_b: int = 0
    elements: int = 0  # where the reference is finite

    def b_worse(self, k: float, cr_margin: float) -> str | None:
        """Why B is less accurate than A on this output, or None."""
        if not self.err_b <= k * self.err_a + self.half_ulp:  # NaN errors fail too
            return f"{self.name}: max err {self.err_b:.3g} > {k:g} x {self.err_a:.3g} + {self.half_ulp:.3g}"
        if self.cr_a is not None and self.cr_b is not None and self.cr_b < self.cr_a - cr_margin:
            return (f"{self.name}: correctly rounded {100 * self.cr_b:.3f} % < {100 * self.cr_a:.3f} % - "
                    f"{100 * cr_margin:g} points")
        return None

    def a_worse(self, k: float, cr_margin: float) -> str | None:
        return self.swapped().b_worse(k, cr_margin)

    def swapped(self) -> "OutputComparison":
        """A and B exchanged (for "more accurate", the mirror image)."""
        return OutputComparison(self.name, self.err_b, self.err_a, self.half_ulp, self.cr_b, self.cr_a,
                                tokens_b_worse=self.tokens_a_worse, tokens_a_worse=self.tokens_b_worse,
                                cr_only_a=self.cr_only_b, cr_only_b=self.cr_only_a, elements=self.elements)


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


def _errors(out: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """|out - ref| where the reference is finite (a non-finite output there: inf), 0 elsewhere; that
    mask; for bf16 outputs, where the output is the reference rounded to bf16 (None otherwise)."""
    o, r = out.double(), ref.to(out.device).double()
    finite = torch.isfinite(r)
    err = torch.where(finite, (o - r).abs().nan_to_num(nan=math.inf), torch.zeros_like(r))
    rounded = (o == r.to(torch.bfloat16).double()) & finite if out.dtype == torch.bfloat16 else None
    return err, finite, rounded


def _max_err(err: torch.Tensor, finite: torch.Tensor, rounded: torch.Tensor | None) -> tuple[float, float | None]:
    """The largest error and the correctly rounded fraction (bf16; None with a non-finite output)."""
    e = float(err.max()) if err.numel() else 0.0
    if math.isinf(e) or rounded is None or not finite.any():
        return e, None
    return e, float(rounded[finite].double().mean())


def _paired_counts(err_a: torch.Tensor, err_b: torch.Tensor, rounded_a: torch.Tensor | None,
                   rounded_b: torch.Tensor | None, token_dim: int | None) -> tuple[int, int, int, int]:
    """(tokens whose largest error is B's, A's; bf16 elements only A, only B rounds correctly), from
    _errors of each side against its own reference."""
    if token_dim is None or err_a.dim() == 0:
        e_a, e_b = err_a.reshape(1, -1), err_b.reshape(1, -1)
    else:
        e_a, e_b = err_a.movedim(token_dim, 0).flatten(1), err_b.movedim(token_dim, 0).flatten(1)
    if e_a.shape[1] == 0:
        return 0, 0, 0, 0
    worst_a, worst_b = e_a.amax(dim=1), e_b.amax(dim=1)
    only_a = only_b = 0
    if rounded_a is not None and rounded_b is not None:
        only_a, only_b = int((rounded_a & ~rounded_b).sum()), int((rounded_b & ~rounded_a).sum())
    return int((worst_b > worst_a).sum()), int((worst_a > worst_b).sum()), only_a, only_b


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
        errors_a, finite, rounded_a = _errors(out_a, ref_a[name])
        errors_b, finite_b, rounded_b = _errors(out_b, ref_b[name])
        err_a, cr_a = _max_err(errors_a, finite, rounded_a)
        err_b, cr_b = _max_err(errors_b, finite_b, rounded_b)
        r = ref_a[name].to(out_a.device).double()
        magnitude = float(r[finite].abs().max()) if finite.any() else 0.0
        half = 0.5 * float(ulp(torch.tensor(magnitude, dtype=torch.float64), out_a.dtype))
        steps = ulp(r.abs(), out_a.dtype)
        both = finite & torch.isfinite(out_a.double()) & torch.isfinite(out_b.double())
        change = ((out_b.double() - out_a.double()).abs() / steps)[both]
        comp = OutputComparison(name, err_a, err_b, half, cr_a, cr_b)
        comp.elements = int(finite.sum())
        dims = get_op(case.op).output(name).dims
        (comp.tokens_b_worse, comp.tokens_a_worse, comp.cr_only_a,
         comp.cr_only_b) = _paired_counts(errors_a, errors_b, rounded_a, rounded_b,
                                          dims.index("T") if "T" in dims else None)
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
        for name, (b_worse, a_worse) in token_counts(self.cases).items():
            per_output[name].update(tokens_b_worse=b_worse, tokens_a_worse=a_worse,
                                    tokens_p=binomial_tail(b_worse, a_worse))
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
        # a case breaking a rule is a verdict only with the paired test over all cases (_finish);
        # on its own only a non-finite output where the reference is finite (no luck makes that)
        alone = [f"{o.name}: non-finite where the reference is finite and A's is not" for o in comp.outputs
                 if math.isinf(o.err_b) and math.isfinite(o.err_a)]
        if alone:
            worst[:] = [comp]
            raise AssertionError("; ".join(alone))

    test = given(cases(op, a, profile))(body)
    test = settings(max_examples=max_examples or profile.max_examples, deadline=None, database=None,
                    derandomize=seed is None, print_blob=False, suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=False, phases=[Phase.generate, Phase.target, Phase.shrink])(test)
    if seed is not None:  # without it a --seed run drew at random: not derandomized, and no seed given
        test = hypothesis_seed(seed)(test)
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
    if not worst and (found := paired_violations(result, k)):
        why, case = found[0]
        case.b_worse = [why] + case.b_worse
        worst = [case]
    if worst:
        result.verdict, result.worst = LESS, worst[-1]  # the last raised is Hypothesis' shrunk case
        result.reproducer = replay_command(result, result.worst.case)
    elif result.cases and paired_violations(result, k, mirror=True):
        result.verdict = MORE


def distinct_inputs(cases: list[CaseComparison]) -> list[CaseComparison]:
    """The first case of each input (shape, family, seed): the paired test counts each input once, as
    the targeted search re-draws its worst case with other parameters or layouts, whose tokens are the
    same draws (their errors move together)."""
    return list({(c.case["T"], c.case["n"], c.case["H"], c.case["family"], c.case["seed"]): c
                 for c in reversed(cases)}.values())


def token_counts(cases: list[CaseComparison]) -> dict[str, tuple[int, int]]:
    """Per output, over the distinct inputs: (tokens whose largest error is B's, tokens whose is A's),
    the paired test's counts (module docstring)."""
    counts: dict[str, tuple[int, int]] = {}
    for c in distinct_inputs(cases):
        for o in c.outputs:
            b_worse, a_worse = counts.get(o.name, (0, 0))
            counts[o.name] = (b_worse + o.tokens_b_worse, a_worse + o.tokens_a_worse)
    return counts


def paired_violations(result: SwapResult, k: float, mirror: bool = False) -> list[tuple[str, CaseComparison]]:
    """(why, a case that shows it: B's largest error among the cases breaking the per-case rule) for
    every output where the run breaks the max rule (or the correctly rounded rule) and the paired test
    over the distinct inputs (module docstring) says B is worse beyond chance; ``mirror``: the same
    with A and B exchanged."""
    found = []
    better, worse = ("B", "A") if mirror else ("A", "B")
    distinct = distinct_inputs(result.cases)
    tokens_by_output = token_counts(result.cases)
    for name in dict.fromkeys(o.name for c in result.cases for o in c.outputs):
        pairs = [(o.swapped() if mirror else o, c) for c in result.cases for o in c.outputs if o.name == name]
        counted = [o.swapped() if mirror else o for c in distinct for o in c.outputs if o.name == name]
        err_a = max(o.err_a for o, _ in pairs)
        err_b = max((o.err_b for o, _ in pairs), key=lambda e: (math.isnan(e), e))
        half = max(o.half_ulp for o, _ in pairs)
        tokens = tokens_by_output[name][::-1] if mirror else tokens_by_output[name]
        p = binomial_tail(*tokens)
        if not err_b <= k * err_a + half and p <= SIGNIFICANCE:
            broken = [(o, c) for o, c in pairs if not o.err_b <= k * o.err_a + o.half_ulp] or pairs
            o, c = max(broken, key=lambda oc: (math.isnan(oc[0].err_b), oc[0].err_b))
            found.append((f"{name}: {worse}'s largest error over the {len(pairs)} cases {err_b:.3g} > {k:g} x "
                          f"{better}'s {err_a:.3g} + {half:.3g}, and over {len(counted)} distinct inputs the largest "
                          f"error of {tokens[0]} tokens is {worse}'s, of {tokens[1]} {better}'s (p {p:.2g}); "
                          f"this case: {o.err_b:.3g} against {o.err_a:.3g}", c))
            continue
        only = (sum(o.cr_only_a for o in counted), sum(o.cr_only_b for o in counted))
        p_cr = binomial_tail(*only)
        elements = sum(o.elements for o in counted if o.cr_a is not None)
        if elements and only[0] - only[1] > result.cr_margin * elements and p_cr <= SIGNIFICANCE:
            o, c = max(((o, c) for o, c in pairs if o.cr_a is not None and o.cr_b is not None),
                       key=lambda oc: oc[0].cr_a - oc[0].cr_b)
            found.append((f"{name}: over {len(counted)} distinct inputs ({elements} bf16 elements) {only[0]} only "
                          f"{better} rounds correctly, {only[1]} only {worse} (p {p_cr:.2g}); this case: "
                          f"{100 * o.cr_b:.3f} % correctly rounded against {100 * o.cr_a:.3f} %", c))
    return found


def replay_command(result: SwapResult, case: dict) -> str:
    return (f"mhc-verify swap --from {shlex.quote(result.spec_a or result.backend_a)} --to "
            f"{shlex.quote(result.spec_b or result.backend_b)} --case {shlex.quote(json.dumps(case, sort_keys=True))}")


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
    save_palette_png(fig, path, dpi=110)
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
          f"- rule: B's largest error over the cases <= k x A's + half an ulp (k = {results[0].k:g}); bf16 "
          f"outputs' correctly rounded elements no fewer than A's by more than {100 * results[0].cr_margin:g} % "
          f"of them; B less accurate only where a rule breaks and B is worse on more tokens (correctly rounded "
          f"elements) of the distinct inputs than chance gives (one-sided binomial p <= {SIGNIFICANCE:g}); all "
          "against the engines' float64 op", "",
          "| op | verdict | cases | cases breaking the per-case rule, B / A | output | max err A | max err B | "
          "tokens with the larger error, B / A (p) | min correctly rounded A / B | max change (ulps) | "
          "min bitwise-equal |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r.summary()
        first = True
        for name, o in s["per_output"].items() or {"-": {}}.items():
            cr = (f"{100 * o['cr_a_min']:.3f} % / {100 * o['cr_b_min']:.3f} %" if o.get("cr_a_min") is not None
                  and o.get("cr_b_min") is not None else "-")
            head = (f"| {r.op} | **{r.full_verdict}** | {s['cases']} | {s['b_worse_cases']} / {s['a_worse_cases']} |"
                    if first else "| | | | |")
            tokens = (f"{o['tokens_b_worse']} / {o['tokens_a_worse']} ({o['tokens_p']:.2g})" if "tokens_p" in o
                      else "-")
            md.append(f"{head} {name} | {o.get('max_err_a', 0):.3g} | {o.get('max_err_b', 0):.3g} | {tokens} | {cr} | "
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
