"""Exact McNemar and the minimum detectable drop, against brute force and simulation."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from mhc_verify.gsm8k.stats import (
    approximate_minimum_detectable_drop,
    binom_sf,
    binom_sf_half,
    critical_regressions,
    mcnemar_one_sided,
    mcnemar_two_sided,
    minimum_detectable_drop,
    paired_power,
    paired_test,
    unpaired_minimum_detectable_drop,
)


def brute_tail(k: int, n: int) -> Fraction:
    return Fraction(sum(math.comb(n, i) for i in range(max(k, 0), n + 1)), 2 ** n)


@pytest.mark.parametrize("b", range(0, 13))
@pytest.mark.parametrize("c", range(0, 13))
def test_mcnemar_one_sided_is_the_exact_binomial_tail(b, c):
    assert mcnemar_one_sided(b, c) == pytest.approx(float(brute_tail(b, b + c)), rel=1e-12)


def test_mcnemar_known_values():
    assert mcnemar_one_sided(0, 0) == 1.0
    assert mcnemar_one_sided(5, 0) == 1 / 32
    assert mcnemar_one_sided(10, 2) == pytest.approx(79 / 4096)
    assert mcnemar_one_sided(2, 10) == pytest.approx(float(brute_tail(2, 12)))
    assert mcnemar_two_sided(3, 3) == 1.0
    assert mcnemar_two_sided(10, 2) == pytest.approx(2 * 79 / 4096)
    with pytest.raises(ValueError):
        mcnemar_one_sided(-1, 2)


def test_large_counts_do_not_overflow():
    # 2^1319 is beyond a float; the tail must still come out right.
    assert binom_sf_half(660, 1319) == pytest.approx(0.5, abs=0.02)
    assert binom_sf_half(0, 1319) == 1.0 and binom_sf_half(1320, 1319) == 0.0
    assert 0 < mcnemar_one_sided(700, 619) < 0.02


@pytest.mark.parametrize("d", [*range(40), 200, 1319])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_critical_regressions(d, alpha):
    k = critical_regressions(d, alpha)
    assert k == d + 1 or brute_tail(k, d) <= Fraction(alpha)
    assert k == 0 or brute_tail(k - 1, d) > Fraction(alpha)


def test_binom_sf_general_p():
    assert binom_sf(3, 10, 0.3) == pytest.approx(
        sum(math.comb(10, i) * 0.3 ** i * 0.7 ** (10 - i) for i in range(3, 11)))


def test_power_matches_simulation():
    n, psi0, drop, alpha = 400, 0.04, 0.02, 0.05
    rng = random.Random(1234)
    hits, trials = 0, 3000
    for _ in range(trials):
        b = c = 0
        for _ in range(n):
            u = rng.random()
            if u < psi0 / 2 + drop:
                b += 1
            elif u < psi0 + drop:
                c += 1
        hits += mcnemar_one_sided(b, c) < alpha
    assert paired_power(n, psi0, drop, alpha) == pytest.approx(hits / trials, abs=0.03)


def test_minimum_detectable_drop_values():
    # The setting: n = 1319, alpha 0.05, power 0.8.
    assert minimum_detectable_drop(1319, 0.03, 0.05, 0.8) == pytest.approx(0.0151, abs=5e-4)
    assert minimum_detectable_drop(1319, 0.01, 0.05, 0.8) == pytest.approx(0.0101, abs=5e-4)
    assert minimum_detectable_drop(1319, 0.0, 0.05, 0.8) == pytest.approx(0.0051, abs=5e-4)
    for psi in (0.01, 0.03, 0.05):
        exact = minimum_detectable_drop(1319, psi, 0.05, 0.8)
        assert paired_power(1319, psi, exact, 0.05) >= 0.8
        assert approximate_minimum_detectable_drop(1319, psi, 0.05, 0.8) == pytest.approx(exact, rel=0.1)
    # Paired beats unpaired: two headline numbers at 95 % cannot see ~2 points.
    assert unpaired_minimum_detectable_drop(1319, 0.95, 0.05, 0.8) == pytest.approx(0.0211, abs=5e-4)
    # Too few questions to ever reject at alpha = 0.05.
    assert minimum_detectable_drop(4, 0.0, 0.05, 0.8) == math.inf


def test_paired_test_bundle():
    r = paired_test(1319, 12, 3, 0.05, 0.8, aa_discordance=0.01)
    assert r.b == 12 and r.c == 3 and r.significant and r.p_value == pytest.approx(float(brute_tail(12, 15)))
    assert r.discordance == pytest.approx(15 / 1319)
    assert r.mdd_aa == pytest.approx(minimum_detectable_drop(1319, 0.01, 0.05, 0.8))
    assert not paired_test(1319, 3, 3, 0.05, 0.8).significant
