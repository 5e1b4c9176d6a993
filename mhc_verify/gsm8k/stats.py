"""Paired statistics for the gsm8k gate: exact one-sided McNemar and its minimum detectable drop.

Both runs answer the same questions, so each question falls in one of four cells. Only the
discordant ones carry information about a difference:

    b = questions the baseline answers right and the candidate wrong   (regressions)
    c = questions the baseline answers wrong and the candidate right   (improvements)

Under H0 (the candidate is no worse), a discordant question is a regression or an improvement
with equal probability, so given d = b + c, b ~ Binomial(d, 1/2). The exact one-sided McNemar
test rejects H0 ("the candidate is worse") when P(B >= b | d, 1/2) < alpha.

No scipy: the tails are sums of binomial terms, exact in integers for p = 1/2 and in log space
otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from statistics import NormalDist


def binom_sf_half(k: int, n: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2), exact (integer arithmetic, one rounding at the end)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    # Python divides big integers with a single correct rounding, so this never overflows.
    return sum(math.comb(n, i) for i in range(k, n + 1)) / (1 << n)


def _log_binom_pmf(k: int, n: int, p: float) -> float:
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binom_pmf(k: int, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p)."""
    if k < 0 or k > n:
        return 0.0
    return math.exp(_log_binom_pmf(k, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return min(1.0, sum(binom_pmf(i, n, p) for i in range(k, n + 1)))


def mcnemar_one_sided(b: int, c: int) -> float:
    """Exact one-sided McNemar p-value for "the candidate is worse": P(B >= b), B ~ Bin(b + c, 1/2).

    With no discordant question (b = c = 0) there is no evidence of a drop: p = 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must be >= 0, got b={b}, c={c}")
    return binom_sf_half(b, b + c)


def mcnemar_two_sided(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value (for A/A runs, where either direction is a discrepancy)."""
    d = b + c
    if d == 0:
        return 1.0
    return min(1.0, 2.0 * binom_sf_half(max(b, c), d))


@cache
def critical_regressions(d: int, alpha: float) -> int:
    """Smallest k with P(B >= k | d, 1/2) <= alpha: the regressions out of d that reject H0.

    Returns d + 1 when even b = d cannot reject (d too small for this alpha).
    """
    # Exact: walk down from the top of the tail in integers, comparing sum C(d, i) <= alpha * 2^d
    # as rationals (2^d overflows a float past d = 1023).
    a = Fraction(alpha)
    bound = a.numerator * (1 << d)
    k, tail, term = d + 1, 0, 1  # term = C(d, k - 1), starting at C(d, d)
    while k > 0 and (tail + term) * a.denominator <= bound:
        tail += term
        k -= 1
        term = term * k // (d - k + 1)  # C(d, k - 1) from C(d, k)
    return k


def paired_power(n: int, discordance: float, drop: float, alpha: float) -> float:
    """Exact power of the one-sided McNemar test against a drop, under the noise-plus-drop model.

    Model: each of the n questions independently flips, from baseline to candidate, "right to
    wrong" with probability discordance/2 + drop and "wrong to right" with probability
    discordance/2. ``discordance`` is the engine's own symmetric run-to-run flip rate (what an A/A
    run measures); ``drop`` is the accuracy loss the test should see. Then
    D = b + c ~ Binomial(n, discordance + drop), b | D ~ Binomial(D, q) with
    q = (discordance/2 + drop) / (discordance + drop), and

        power = sum_D P(D) * P(b >= k_alpha(D) | D, q)

    with k_alpha(D) from :func:`critical_regressions`.
    """
    psi = discordance + drop
    if psi <= 0.0:
        return 0.0
    if psi > 1.0:
        raise ValueError(f"discordance + drop = {psi} > 1")
    q = (discordance / 2 + drop) / psi
    mean, sd = n * psi, math.sqrt(n * psi * (1 - psi))
    # Terms beyond 12 standard deviations are below double precision's reach.
    lo = max(0, int(mean - 12 * sd) - 5)
    hi = min(n, int(mean + 12 * sd) + 5)
    total = 0.0
    for d in range(lo, hi + 1):
        w = binom_pmf(d, n, psi)
        if w == 0.0:
            continue
        k = critical_regressions(d, alpha)
        if k <= d:
            total += w * binom_sf(k, d, q)
    return min(1.0, total)


def minimum_detectable_drop(n: int, discordance: float, alpha: float, power: float,
                            tol: float = 1e-5) -> float:
    """Smallest accuracy drop (a fraction, 0.012 = 1.2 points) the paired test detects with ``power``.

    Exact: the smallest ``drop`` with :func:`paired_power` (n, discordance, drop, alpha) >= power,
    by bisection (the power rises with the drop, up to the saw-tooth of a discrete test).

    Normal approximation, for orientation (psi0 = discordance, z_x the standard normal quantile):

        drop ~= (z_{1-alpha} * sqrt(psi0 + drop) + z_{power} * sqrt(psi0 + drop - drop^2)) / sqrt(n)
             ~= (z_{1-alpha} + z_{power}) * sqrt(psi0 / n)        when drop << psi0

    e.g. n = 1319, alpha = 0.05, power = 0.8: psi0 = 3 % gives 1.44 points by the first line
    (1.2 by the second) and 1.51 exactly; psi0 = 1 %: 1.0 exactly; a deterministic engine
    (psi0 = 0): 0.5. Two unpaired runs see 2.1 points at 95 % accuracy at the same alpha and power
    (:func:`unpaired_minimum_detectable_drop`), 4.84 at the worst-case variance p = 1/2.
    """
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie in (0, 1)")
    ceiling = 1.0 - discordance
    # Bracket from the normal approximation upwards: powers at large drops are costly to sum
    # (D grows with the drop) and never needed.
    hi = min(ceiling, max(2 * approximate_minimum_detectable_drop(n, discordance, alpha, power), 1e-3))
    while paired_power(n, discordance, hi, alpha) < power:
        if hi >= ceiling:
            return math.inf
        hi = min(ceiling, 2 * hi)
    lo = 0.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if paired_power(n, discordance, mid, alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def approximate_minimum_detectable_drop(n: int, discordance: float, alpha: float, power: float) -> float:
    """The normal approximation of :func:`minimum_detectable_drop`, solved by fixed-point iteration."""
    za, zb = NormalDist().inv_cdf(1 - alpha), NormalDist().inv_cdf(power)
    drop = (za + zb) * math.sqrt(max(discordance, 1e-12) / n)
    for _ in range(100):
        drop = (za * math.sqrt(discordance + drop) + zb * math.sqrt(max(discordance + drop - drop * drop, 0.0))) \
            / math.sqrt(n)
    return drop


def unpaired_minimum_detectable_drop(n: int, accuracy: float, alpha: float, power: float) -> float:
    """Minimum detectable drop of a one-sided two-sample test on two independent runs of n questions.

    (z_{1-alpha} + z_{power}) * sqrt(2 p (1 - p) / n): what comparing two headline numbers can see.
    At p = 1/2 (the largest variance) and n = 1319 this is 4.84 points, TensorRT-LLM's theta.
    """
    za, zb = NormalDist().inv_cdf(1 - alpha), NormalDist().inv_cdf(power)
    return (za + zb) * math.sqrt(2 * accuracy * (1 - accuracy) / n)


@dataclass(frozen=True)
class PairedResult:
    """One filter's paired comparison."""

    n: int
    b: int  # baseline right, candidate wrong
    c: int  # baseline wrong, candidate right
    p_value: float
    alpha: float
    significant: bool
    discordance: float  # (b + c) / n
    mdd_observed: float  # minimum detectable drop taking this comparison's discordance as the noise
    mdd_aa: float | None  # ... taking the configured A/A discordance as the noise


def paired_test(n: int, b: int, c: int, alpha: float, power: float,
                aa_discordance: float | None = None) -> PairedResult:
    """Exact one-sided McNemar on (b, c) plus the minimum detectable drops at ``power``.

    The observed discordance (b + c) / n includes any real drop, so using it as the noise level
    overstates the noise and the resulting minimum detectable drop errs on the large side.
    """
    p = mcnemar_one_sided(b, c)
    psi = (b + c) / n if n else 0.0
    mdd_obs = minimum_detectable_drop(n, psi, alpha, power) if n else math.inf
    mdd_aa = minimum_detectable_drop(n, aa_discordance, alpha, power) if (n and aa_discordance is not None) else None
    return PairedResult(n=n, b=b, c=c, p_value=p, alpha=alpha, significant=p < alpha, discordance=psi,
                        mdd_observed=mdd_obs, mdd_aa=mdd_aa)
