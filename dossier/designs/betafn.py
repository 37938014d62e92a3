"""The beta distribution functions of the interval designs without scipy (``dossier decide`` starts in
<= 0.4 s; importing ``scipy.special`` alone takes ~0.3 s of CPU).

* :func:`binomial_cdf_exceeds` -- where the binomial CDF passes a cutoff, exactly (integer arithmetic on the binary fraction
  of the probability).  At integer parameters the beta CDF is a binomial tail (DLMF 8.17.5; Abramowitz &
  Stegun 26.5.24): ``I_x(m, N - m + 1) = P(Bin(N, x) >= m)``, so the posterior probabilities of the
  elimination and safety rules (Beta(y + 1, n - y + 1) posteriors) are exact sums and the rules compare
  them with their cutoff exactly: :func:`beta_sf_first_above`.
* :func:`betainc` / :func:`betaincinv` -- the regularized incomplete beta function and its inverse at any
  positive parameters (the Beta(y + 0.05, n - y + 0.05) interval of ``select.mtd``): the continued
  fraction of DLMF 8.17.22 evaluated by the modified Lentz method (Press, Teukolsky, Vetterling & Flannery,
  Numerical Recipes, 3rd ed. 2007, section 6.4 ``betacf``), on the side of the mean where it converges
  fast (``I_x(a, b) = 1 - I_{1-x}(b, a)``, DLMF 8.17.4); inverted by Newton's method on the logit of x with
  a bisection safeguard.  Agrees with ``scipy.special.betaincinv`` to ~1e-13 relative
  (tests/designs/test_betafn.py).
"""

from __future__ import annotations

import math

_TINY = 1e-300
_EPS = 1e-16


class BinaryPowers:
    """m^j and (D - m)^j of a probability m / D (a float is a binary fraction), computed once and grown on
    demand: the binomial terms of every n reuse them."""

    def __init__(self, p: float):
        self.m, self.d = float(p).as_integer_ratio()
        if not 0 <= self.m <= self.d:
            raise ValueError(f"a probability must be in [0, 1], got {p}")
        self.mp, self.qp = [1], [1]

    def upto(self, n: int) -> None:
        while len(self.mp) <= n:
            self.mp.append(self.mp[-1] * self.m)
            self.qp.append(self.qp[-1] * (self.d - self.m))


def binomial_cdf_exceeds(n: int, p: float, cutoff: float, k_min: int = 0, powers: BinaryPowers | None = None
                         ) -> int | None:
    """The smallest k >= k_min with ``P(Bin(n, p) <= k) > cutoff``, decided exactly (None if none).

    With p = m / D (its binary fraction) ``P(Bin(n, p) <= k) = S_k / D^n``, ``S_k = sum_{j <= k} C(n, j)
    m^j (D - m)^(n - j)`` in integers, compared with the binary fraction of ``cutoff`` by cross-multiplying."""
    pw = BinaryPowers(p) if powers is None else powers
    pw.upto(n)
    c_num, c_den = float(cutoff).as_integer_ratio()
    bound = c_num * pw.d**n  # S_k / D^n > c_num / c_den  <=>  S_k c_den > c_num D^n
    total = 0
    for k in range(n + 1):
        total += math.comb(n, k) * pw.mp[k] * pw.qp[n - k]
        if k >= k_min and total * c_den > bound:
            return k
    return None


def beta_sf_first_above(x: float, n: int, cutoff: float, a: int = 1, b: int = 1, y_min: int = 0,
                        powers: BinaryPowers | None = None) -> int | None:
    """The smallest y >= y_min whose Beta(y + a, n - y + b) posterior (integer prior parameters) has
    ``Pr(p > x) > cutoff``, decided exactly (None if none).

    ``Pr(p > x) = 1 - I_x(y + a, n - y + b) = P(Bin(n + a + b - 1, x) <= y + a - 1)`` (DLMF 8.17.5)."""
    if a < 1 or b < 1 or a != int(a) or b != int(b):
        raise ValueError(f"exact posterior tails need positive integer prior parameters, got ({a}, {b})")
    a, b = int(a), int(b)
    k = binomial_cdf_exceeds(n + a + b - 1, x, cutoff, y_min + a - 1, powers)
    return None if k is None or k - (a - 1) > n else k - (a - 1)


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (DLMF 8.17.22) by the modified Lentz method (Numerical Recipes
    ``betacf``); converges fast for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta: no convergence at a={a}, b={b}, x={x}")  # pragma: no cover


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (the Beta(a, b) CDF at x), a, b > 0."""
    if not (a > 0 and b > 0):
        raise ValueError(f"betainc needs a, b > 0, got ({a}, {b})")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return _betainc(a, b, x, 1.0 - x, math.log(x), math.log1p(-x), _lbeta(a, b))


def _betainc(a: float, b: float, x: float, y: float, log_x: float, log_y: float, lbeta: float) -> float:
    """I_x(a, b) from x, y = 1 - x and their logs, each given accurately (y may be far below the spacing of
    doubles near 1, as in the upper quantiles of a small b)."""
    front = math.exp(a * log_x + b * log_y - lbeta)  # x^a (1 - x)^b / B(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, y) / b


def betaincinv(a: float, b: float, p: float) -> float:
    """The x with I_x(a, b) = p (the p-quantile of Beta(a, b)), a, b > 0, 0 <= p <= 1.

    Newton's method on u = logit(x), with x and 1 - x evaluated from u (so that a quantile within 1e-16 of 0
    or of 1 is still resolved; dI/du = x^a (1 - x)^b / B(a, b)), kept inside a bracket that bisection
    shrinks when a step leaves it."""
    if not (a > 0 and b > 0) or not 0.0 <= p <= 1.0:
        raise ValueError(f"betaincinv needs a, b > 0 and 0 <= p <= 1, got ({a}, {b}, {p})")
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    lbeta = _lbeta(a, b)
    lo, hi = -745.0, 745.0  # logit bracket: expit(+-745) reaches the extremes of a double
    mean = a / (a + b)
    u = math.log(mean) - math.log1p(-mean)
    for _ in range(400):
        log_x, log_y = -_log1pexp(-u), -_log1pexp(u)
        f = _betainc(a, b, _expit(u), _expit(-u), log_x, log_y, lbeta) - p
        if f == 0.0:
            break
        if f > 0:
            hi = u
        else:
            lo = u
        log_slope = a * log_x + b * log_y - lbeta
        nxt = u - f / math.exp(log_slope) if log_slope > -700 else 0.5 * (lo + hi)
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - u) <= 4 * _EPS * max(1.0, abs(u)) or hi - lo <= 4 * _EPS * max(1.0, abs(lo), abs(hi)):
            u = nxt
            break
        u = nxt
    return _expit(u)


def _expit(u: float) -> float:
    return 1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u))


def _log1pexp(u: float) -> float:
    """log(1 + e^u) without overflow."""
    return u + math.log1p(math.exp(-u)) if u > 0 else math.log1p(math.exp(u))
