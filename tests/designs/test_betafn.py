"""The beta functions of the interval designs without scipy (dossier.designs.betafn), against scipy.

* At integer parameters the posterior tail is a binomial sum (DLMF 8.17.5): the exact decisions of
  ``beta_sf_first_above`` / ``binomial_cdf_exceeds`` are those of ``scipy.stats.beta.sf`` /
  ``scipy.stats.binom.cdf`` on a grid, except where scipy's value is within rounding (1e-12) of the cutoff:
  there the probability equals the cutoff (e.g. Pr(p > 0.5 | 4 of 8) = 0.5) and the exact comparison says
  "not above", whatever the rounding of a floating-point incomplete beta.
* ``betainc`` / ``betaincinv`` (continued fraction, Newton on the logit) agree with ``scipy.special``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from dossier.designs.betafn import beta_sf_first_above, betainc, betaincinv, binomial_cdf_exceeds
from dossier.designs.interval import NEVER, elimination_boundary

TARGETS = (0.05, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.4, 0.5, 0.6)
CUTOFFS = (0.5, 0.8, 0.9, 0.95, 0.99)


def _first(values: np.ndarray, cutoff: float, start: int = 0) -> int | None:
    hit = [k for k in range(start, len(values)) if values[k] > cutoff]
    return hit[0] if hit else None


def _tied(values: np.ndarray, cutoff: float) -> bool:
    return bool(np.any(np.abs(values - cutoff) < 1e-12))


@pytest.mark.parametrize("p", TARGETS)
def test_binomial_cdf_exceeds_matches_scipy_binom_cdf(p):
    for n in range(0, 41):
        cdf = stats.binom.cdf(np.arange(n + 1), n, p)
        for c in CUTOFFS:
            if _tied(cdf, c):
                continue
            assert binomial_cdf_exceeds(n, p, c) == _first(cdf, c), (n, p, c)
            assert binomial_cdf_exceeds(n, p, c, k_min=2) == _first(cdf, c, 2), (n, p, c)


@pytest.mark.parametrize("prior", [(1, 1), (1, 2), (2, 1), (3, 3)])
def test_posterior_tail_decisions_match_scipy_beta_sf(prior):
    """Pr(p > x | y of n) under Beta(y + a, n - y + b): the first y above the cutoff, as scipy.stats.beta.sf."""
    a, b = prior
    for x in TARGETS:
        for n in range(0, 31):
            y = np.arange(n + 1)
            sf = stats.beta.sf(x, y + a, n - y + b)
            for c in CUTOFFS:
                if _tied(sf, c):
                    continue
                assert beta_sf_first_above(x, n, c, a, b) == _first(sf, c), (x, n, c, prior)
                assert beta_sf_first_above(x, n, c, a, b, y_min=1) == _first(sf, c, 1), (x, n, c, prior)


def test_elimination_boundary_is_that_of_scipy_incomplete_beta():
    """The elimination / safety boundary (BOIN get.boundary's rule) with the exact tail and with scipy's
    betaincc, as computed before; non-integer priors still use scipy."""
    for x in TARGETS:
        for c in (0.8, 0.85, 0.9, 0.95):
            ref = np.full(61, NEVER)
            tied = np.zeros(61, dtype=bool)
            for n in range(3, 61):
                y = np.arange(1, n + 1)
                sf = special.betaincc(y + 1.0, n - y + 1.0, x)
                tied[n] = _tied(sf, c)
                hit = np.flatnonzero(sf > c)
                if hit.size:
                    ref[n] = y[hit[0]]
            np.testing.assert_array_equal(elimination_boundary(x, 60, c)[~tied], ref[~tied])
    half = elimination_boundary(0.3, 20, 0.95, a=0.5, b=0.5)  # Beta(y + 0.5, n - y + 0.5): scipy's betaincc
    ref = [next(y for y in range(1, n + 1) if special.betaincc(y + 0.5, n - y + 0.5, 0.3) > 0.95) for n in (3, 20)]
    assert [half[3], half[20]] == ref


def test_ties_are_decided_exactly():
    """Pr(p > 0.5 | n/2 of n) = 0.5 exactly under Beta(1, 1) (the posterior is symmetric): not above a
    cutoff of 0.5, and the first y above it is n/2 + 1."""
    for n in (2, 4, 8, 16, 30):
        assert beta_sf_first_above(0.5, n, 0.5) == n // 2 + 1
    assert binomial_cdf_exceeds(15, 0.5, 0.5) == 8  # P(Bin(15, 1/2) <= 7) = 1/2 exactly
    assert beta_sf_first_above(0.3, 5, 0.999999999) is None


def test_betainc_matches_scipy():
    worst = 0.0
    for n in range(0, 61, 3):
        for y in range(0, n + 1):
            for a0, b0 in ((0.05, 0.05), (1.0, 1.0), (0.5, 0.5), (2.0, 3.0)):
                a, b = y + a0, n - y + b0
                for x in (1e-6, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999):
                    ref = special.betainc(a, b, x)
                    if ref < 1e-200:
                        continue  # underflow: both are ~0
                    worst = max(worst, abs(betainc(a, b, x) - ref) / ref)
    assert worst < 1e-12, worst


def test_betaincinv_matches_scipy_on_the_select_mtd_intervals():
    """The 2.5% / 97.5% quantiles of Beta(y + 0.05, n - y + 0.05) (BOIN select.mtd's interval) and others."""
    worst = 0.0
    for n in (*range(0, 13), 15, 20, 24, 30, 45, 60):
        for y in range(0, n + 1):
            for a0, b0 in ((0.05, 0.05), (1.0, 1.0), (0.5, 2.0)):
                a, b = y + a0, n - y + b0
                for p in (0.025, 0.975, 0.5, 1e-4, 0.9999):
                    ref = special.betaincinv(a, b, p)
                    worst = max(worst, abs(betaincinv(a, b, p) - ref) / ref)
    assert worst < 1e-11, worst
    assert betaincinv(2.0, 3.0, 0.0) == 0.0 and betaincinv(2.0, 3.0, 1.0) == 1.0
    with pytest.raises(ValueError):
        betaincinv(0.0, 1.0, 0.5)
