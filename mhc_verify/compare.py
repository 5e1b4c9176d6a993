"""Compare a backend's outputs with the float64 reference under the error model's bounds.

Checks, per output:
* non-finite pattern: NaN where the reference is NaN, the same infinity where it is infinite, finite
  where it is finite (an unwritten or poisoned element shows here);
* |out - ref| <= bound + half an ulp of the output dtype, for every finite element;
* diagnostics the bound cannot see (bf16 outputs): the correctly-rounded fraction and a
  rounding-bias sign test (among outputs that are not correctly rounded, how many lie toward zero).
  The sign test is reported, not a verdict: its null hypothesis (a healthy kernel's misses are
  balanced) is false. Measured on the healthy fp32 torch backend (2200 cases per op, CPU):
  saturating sigmoids round pre weights to exactly 1.0 in fp32, so misses lean one way
  (e.g. mhc_pre 647 toward zero vs 1069 away, p = 1.7e-24). A truncating kernel is caught by the
  per-element bound instead: its error reaches a whole ulp where the bound allows half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from mhc_reference._rounding import round_to_bf16
from mhc_verify.error_model import output_rounding

SIGN_TEST_ALPHA = 1e-9
SIGN_TEST_MIN = 64


@dataclass
class OutputCheck:
    name: str
    elements: int
    max_ratio: float  # max |err| / bound over finite elements
    max_abs_err: float
    violations: int
    nonfinite_mismatches: int
    unbounded: int  # finite reference elements whose bound the model could not compute
    correctly_rounded: float | None = None  # fraction, bf16 outputs only
    sign_test_p: float | None = None
    toward_zero: int = 0
    away_from_zero: int = 0
    worst_index: tuple[int, ...] | None = None
    bad_rows: list[int] = field(default_factory=list)  # first few token rows with a failure
    # every failing token row, as [start, stop) runs of consecutive rows (where the failures are, all
    # of them: the stress heatmap; bad_rows keeps the first 64 for messages)
    bad_row_runs: list[tuple[int, int]] = field(default_factory=list)
    ratio_sample: list[float] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.violations == 0 and self.nonfinite_mismatches == 0 and self.unbounded == 0

    @property
    def biased(self) -> bool:
        """Diagnostic only (see the module docstring)."""
        return self.sign_test_p is not None and self.sign_test_p < SIGN_TEST_ALPHA

    def problem(self) -> str:
        parts = []
        if self.nonfinite_mismatches:
            parts.append(f"{self.nonfinite_mismatches} non-finite mismatches")
        if self.violations:
            parts.append(f"{self.violations} elements over the bound (max err/bound {self.max_ratio:.3g} "
                         f"at {self.worst_index})")
        if self.unbounded:
            parts.append(f"{self.unbounded} elements the error model could not bound")
        return f"{self.name}: " + "; ".join(parts) if parts else ""


def _binomial_two_sided_p(k: int, n: int) -> float:
    """Exact two-sided binomial test of k successes in n trials at p = 1/2: twice the smaller tail,
    summed in log space. Vectorised in chunks: a badly wrong output misrounds millions of elements
    (a Python loop over them cost a minute per judgement at 80 000 x 7168 on the H100 host)."""
    if n == 0:
        return 1.0
    lo = min(k, n - k)
    log_norm = math.lgamma(n + 1) - n * math.log(2)
    total = -math.inf
    # Only the terms within 40 standard deviations below lo count: below lo <= n / 2 the terms fall at
    # least as fast as exp(-2 d^2 / n), so at d = 40 sqrt(n) they are exp(-3200) of the largest. At
    # 80 000 x 7168 elements the full sum was ~10^8 lgamma terms per call, seconds on the host.
    first = max(0, lo - int(40 * math.sqrt(n)) - 64)
    for start in range(first, lo + 1, _BINOMIAL_CHUNK):
        i = torch.arange(start, min(lo + 1, start + _BINOMIAL_CHUNK), dtype=torch.float64)
        terms = log_norm - torch.lgamma(i + 1) - torch.lgamma(n - i + 1)
        total = float(torch.logaddexp(torch.tensor(total, dtype=torch.float64), torch.logsumexp(terms, 0)))
    return min(1.0, 2 * math.exp(total))


_BINOMIAL_CHUNK = 1 << 22


def row_runs(rows: torch.Tensor) -> list[tuple[int, int]]:
    """Ascending row indices -> [start, stop) runs of consecutive rows."""
    if rows.numel() == 0:
        return []
    breaks = (rows[1:] != rows[:-1] + 1).nonzero().flatten() + 1
    starts = torch.cat([rows[:1], rows[breaks]])
    stops = torch.cat([rows[breaks - 1] + 1, rows[-1:] + 1])
    return list(zip(starts.tolist(), stops.tolist()))


@dataclass
class PreparedOutput:
    """What the comparison of one output needs that does not depend on the kernel's values: the
    float64 reference, the whole tolerance (bound + half an ulp) and, for bf16 outputs, the
    correctly rounded reference. Built once per (case, inputs), it serves every rerun's comparison
    (mhc_verify.judge_cache): the part of a judgement that must be redone is check_prepared."""
    ref: torch.Tensor  # float64, on the output's device
    total: torch.Tensor  # float64: bound + output rounding
    # round_to_bf16(ref) stored as bf16: every value it yields (bf16 normals, subnormals, +-inf,
    # NaN) is a bf16 value, so the cast is exact and `o == nearest` is unchanged at a quarter the bytes
    nearest: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.ref, self.total, self.nearest) if t is not None)


def prepare_output(ref: torch.Tensor, bound: torch.Tensor, dtype: torch.dtype, device: torch.device
                   ) -> PreparedOutput:
    """The kernel-independent part of check_output for an output of ``dtype`` on ``device``."""
    r = ref.to(device)
    b = bound.to(device)
    total = b + output_rounding(r, b, dtype)
    nearest = round_to_bf16(r).to(torch.bfloat16) if dtype == torch.bfloat16 else None
    return PreparedOutput(r, total, nearest)


def check_output(name: str, out: torch.Tensor, ref: torch.Tensor, bound: torch.Tensor) -> OutputCheck:
    return check_prepared(name, out, prepare_output(ref, bound, out.dtype, out.device))


def check_prepared(name: str, out: torch.Tensor, prepared: PreparedOutput) -> OutputCheck:
    # Each full-size pass and each host sync is paid once per judgement on every rerun judged: the
    # masks are computed once, fills are scalars, and the counts come back in one sync.
    o = out.double()
    r, total = prepared.ref, prepared.total
    finite_ref = torch.isfinite(r)
    finite_o = torch.isfinite(o)
    same_nonfinite = (torch.isnan(r) & torch.isnan(o)) | (torch.isinf(r) & (o == r))
    mismatch = (finite_ref & ~finite_o) | (~finite_ref & ~same_nonfinite)
    err = (o - r).abs()
    finite_total = torch.isfinite(total)
    unbounded = finite_ref & ~finite_total
    checked = finite_ref & finite_o & finite_total
    # err / total where checked and err != 0, else 0 (0/0 where both vanish is no error)
    ratio = (err / total).masked_fill_(~checked | (err == 0), 0.0)
    over = checked & (err > total)
    bad = over | mismatch | unbounded
    counts = torch.stack([over.sum(), mismatch.sum(), unbounded.sum(), checked.sum(), bad.sum()]).tolist()
    n_over, n_mismatch, n_unbounded, n_checked, n_bad = counts
    max_ratio, worst = 0.0, None
    if ratio.numel():
        at = ratio.argmax()  # the first maximum: its value is ratio.max(), NaN included
        max_ratio = float(ratio.reshape(-1)[at])
        worst = tuple(int(i) for i in torch.unravel_index(at, ratio.shape))
    bad_rows: list[int] = []
    bad_row_runs: list[tuple[int, int]] = []
    if n_bad and bad.dim() > 0:
        rows_dim = 1 if name.endswith("_partial") and bad.dim() > 1 else 0
        rows = bad.movedim(rows_dim, 0).reshape(bad.shape[rows_dim], -1).any(-1).nonzero().flatten().cpu()
        bad_rows = [int(i) for i in rows[:64]]
        bad_row_runs = row_runs(rows)
    result = OutputCheck(
        name=name, elements=out.numel(), max_ratio=max_ratio,
        max_abs_err=float(torch.where(checked, err, 0.0).max()) if err.numel() else 0.0,
        violations=n_over, nonfinite_mismatches=n_mismatch, unbounded=n_unbounded,
        worst_index=worst, bad_rows=bad_rows, bad_row_runs=bad_row_runs)
    if n_checked:
        flat = ratio[checked]
        # the 8 largest (their values do not depend on how many more topk would sort)
        result.ratio_sample = torch.topk(flat, min(8, flat.numel())).values.tolist()
    if out.dtype == torch.bfloat16 and n_checked:
        assert prepared.nearest is not None, "prepared for another dtype"
        cr = (o == prepared.nearest) & checked
        miss = checked & ~cr & (r != 0)
        toward = miss & (o.abs() < r.abs())
        n_cr, n_toward, n_miss_all = torch.stack([cr.sum(), toward.sum(), miss.sum()]).tolist()
        result.correctly_rounded = float(n_cr) / float(n_checked)
        result.toward_zero = n_toward
        result.away_from_zero = n_miss_all - result.toward_zero
        n_miss = result.toward_zero + result.away_from_zero
        if n_miss >= SIGN_TEST_MIN:
            result.sign_test_p = _binomial_two_sided_p(result.toward_zero, n_miss)
    return result


def merge_checks(parts: list[tuple[int, OutputCheck]], token_dim: int) -> OutputCheck:
    """Combine the checks of token chunks (offset, check) of one output into one check."""
    first = parts[0][1]
    total = OutputCheck(name=first.name, elements=0, max_ratio=0.0, max_abs_err=0.0, violations=0,
                        nonfinite_mismatches=0, unbounded=0)
    cr_weighted, cr_elements = 0.0, 0
    for offset, c in parts:
        total.elements += c.elements
        total.violations += c.violations
        total.nonfinite_mismatches += c.nonfinite_mismatches
        total.unbounded += c.unbounded
        total.max_abs_err = max(total.max_abs_err, c.max_abs_err)
        if c.max_ratio >= total.max_ratio and c.worst_index is not None:
            idx = list(c.worst_index)
            idx[token_dim] += offset
            total.max_ratio, total.worst_index = c.max_ratio, tuple(idx)
        total.bad_rows += [offset + r for r in c.bad_rows][: 64 - len(total.bad_rows)]
        total.bad_row_runs += [(offset + a, offset + b) for a, b in c.bad_row_runs]
        total.ratio_sample = sorted(total.ratio_sample + c.ratio_sample, reverse=True)[:8]
        if c.correctly_rounded is not None:
            cr_weighted += c.correctly_rounded * c.elements
            cr_elements += c.elements
        total.toward_zero += c.toward_zero
        total.away_from_zero += c.away_from_zero
    if cr_elements:
        total.correctly_rounded = cr_weighted / cr_elements
    n_miss = total.toward_zero + total.away_from_zero
    if n_miss >= SIGN_TEST_MIN:
        total.sign_test_p = _binomial_two_sided_p(total.toward_zero, n_miss)
    return total
