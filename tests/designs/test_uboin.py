"""U-BOIN (dossier/designs/uboin.py) against exact enumeration, closed forms and a published reference.

No U-BOIN operating-characteristic table from Zhou, Lee & Yuan (2019) was available to us (see the module
docstring).  What is checked here:

* an exact enumeration of small trials written below, loop by loop from the rules in the module docstring
  and independent of the vectorised engine, reproduces the base-R enumeration published by the independent
  implementation dx-li/mdanderson-stats (docs/uboin.md: N = 6, s1 = 3, s2 = 9, two doses, Gumbel
  association 0.2) to 1e-12, so both codes implement the same conduct rules;
* the vectorised simulation agrees with the exact enumeration within Monte Carlo error (|z| <= 3, binomial
  SEs for selections; SD / sqrt(N) for patients), for greedy and proportional stage-II allocation;
* the posterior summaries equal their closed forms, checked against Dirichlet draws within 4 MC SEs;
* stage I uses BOIN's boundaries (tables equal :class:`~dossier.designs.Boin`'s) and the Beta(1, 1)
  elimination rule at the upper toxicity limit.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pytest
from scipy import stats

from dossier.designs import Boin, make_obd_design, simulate_obd
from dossier.designs.boin import boin_lambdas
from dossier.designs.uboin import CELLS, UBoin, gumbel_cells
from dossier.errors import DesignError

# -- reference: exact enumeration, one scalar rule at a time --------------------------------------------


def _cohort_outcomes(c: int, probs):
    """Every split of a cohort of c over the four cells (CELLS order) with its multinomial probability."""
    for k in itertools.product(range(c + 1), repeat=3):
        if sum(k) > c:
            continue
        ks = (*k, c - sum(k))
        pr = math.factorial(c)
        for kk, pp in zip(ks, probs, strict=True):
            pr = pr / math.factorial(kk) * pp ** kk
        if pr > 0:
            yield ks, pr


def enumerate_uboin(cfg: dict, cells) -> tuple[np.ndarray, np.ndarray]:
    """Exact P(no selection), P(select dose j) and E[patients at dose j] of a U-BOIN trial."""
    D, c, N = cfg["D"], cfg["c"], cfg["N"]
    target, upper = cfg["target"], cfg["tox_upper"]
    lam_e, lam_d = boin_lambdas(target, 0.6 * target, 1.4 * target)
    a, u = cfg["prior"], cfg["u"]   # CELLS order: (E, no T), (E, T), (no E, no T), (no E, T)

    @cache
    def admissible(cnt):
        n, y_t, y_e = sum(cnt), cnt[1] + cnt[3], cnt[0] + cnt[1]
        a_t, a_e, total = a[1] + a[3], a[0] + a[1], sum(a)
        overly_toxic = stats.beta.sf(upper, a_t + y_t, total - a_t + n - y_t)
        futile = stats.beta.cdf(cfg["eff_lower"], a_e + y_e, total - a_e + n - y_e)
        return overly_toxic <= cfg["cutoff_tox"] and futile <= cfg["cutoff_eff"]

    def mean_utility(cnt):
        return sum(uk * (ak + ck) for uk, ak, ck in zip(u, a, cnt, strict=True)) / (sum(a) + sum(cnt))

    def best(counts, elim):
        top, dose = -math.inf, None
        for j in range(D):
            if sum(counts[j]) > 0 and not elim[j] and admissible(counts[j]):
                m = mean_utility(counts[j])
                if m > top + 1e-12:
                    top, dose = m, j
        return dose

    sel = np.zeros(D + 1)
    pts = np.zeros(D)

    def leaf(counts, pr, dose):
        sel[0 if dose is None else dose + 1] += pr
        pts[:] += pr * np.array([sum(x) for x in counts])

    def cohort(counts, elim, stage2, d, pr):
        for split, po in _cohort_outcomes(c, cells[d]):
            cn = [list(x) for x in counts]
            for i in range(4):
                cn[d][i] += split[i]
            cn = tuple(tuple(x) for x in cn)
            el, st, p2 = list(elim), stage2, pr * po
            n = [sum(x) for x in cn]
            y_t = [x[1] + x[3] for x in cn]
            if not st and n[d] >= 3 and stats.beta.sf(upper, y_t[d] + 1, n[d] - y_t[d] + 1) > 0.95:
                el[d:] = [True] * (D - d)
            st = st or any(x >= cfg["s1"] for x in n)
            if el[0]:
                leaf(cn, p2, None)
                continue
            if sum(n) >= N or any(x >= cfg["s2"] for x in n):
                leaf(cn, p2, best(cn, el))
                continue
            if not st:   # stage I: BOIN
                if el[d]:
                    nxt = max(j for j in range(D) if not el[j])
                elif y_t[d] / n[d] >= lam_d:
                    nxt = max(d - 1, 0)
                elif y_t[d] / n[d] <= lam_e and d + 1 < D and not el[d + 1]:
                    nxt = d + 1
                else:
                    nxt = d
                cohort(cn, tuple(el), st, nxt, p2)
                continue
            h = max(j for j in range(D) if n[j] > 0)
            if y_t[h] / n[h] <= lam_e and h + 1 < D and not el[h + 1]:   # B1: explore upward
                cohort(cn, tuple(el), st, h + 1, p2)
                continue
            elig = [j for j in range(D) if n[j] > 0 and not el[j] and admissible(cn[j])]
            if not elig:
                leaf(cn, p2, None)
                continue
            if cfg["allocation"] == "greedy":                               # B2
                cohort(cn, tuple(el), st, best(cn, el), p2)
            else:
                w = [mean_utility(cn[j]) for j in elig]
                for j, wj in zip(elig, w, strict=True):
                    cohort(cn, tuple(el), st, j, p2 * wj / sum(w))

    cohort(tuple((0, 0, 0, 0) for _ in range(D)), (False,) * D, False, cfg["start"], 1.0)
    return sel, pts


DX_LI_UTILITY = {"eff_no_tox": 100, "eff_tox": 50, "no_eff_no_tox": 30, "no_eff_tox": 0}
DX_LI_CFG = dict(D=2, c=3, N=6, target=0.25, tox_upper=0.30, eff_lower=0.2, cutoff_tox=0.95, cutoff_eff=0.9,
                 prior=(0.25,) * 4, u=(100, 50, 30, 0), s1=3, s2=9, allocation="greedy", start=0)


def _z(got, exact, n):
    return (np.asarray(got) - exact) / np.sqrt(exact * (1 - exact) / n)


def test_enumeration_reproduces_published_base_r_reference():
    """dx-li/mdanderson-stats docs/uboin.md: toxicity (0.15, 0.35), efficacy (0.35, 0.65), association 0.2,
    uniform cell prior, utilities (E,noT)=100, (E,T)=50, (noE,noT)=30, (noE,T)=0, tried doses only, greedy
    allocation: base R gives P(no OBD, dose 1, dose 2) = (.035787468407932, .627499667282430, .336712864309637)."""
    cells = gumbel_cells([0.15, 0.35], [0.35, 0.65], 0.2)
    sel, _ = enumerate_uboin(DX_LI_CFG, cells)
    np.testing.assert_allclose(sel, [0.035787468407932, 0.627499667282430, 0.336712864309637], rtol=0, atol=1e-12)


def test_simulation_matches_published_reference_within_mc_error():
    d = UBoin(target=0.25, n_doses=2, n_cohorts=2, utility=DX_LI_UTILITY, s1=3, s2=9, association=0.2)
    n = 40_000
    oc = d.simulate([0.15, 0.35], [0.35, 0.65], n, np.random.default_rng(11))
    got = np.array([oc.no_selection_pct, *oc.selection_pct]) / 100
    z = _z(got, np.array([0.035787468407932, 0.627499667282430, 0.336712864309637]), n)
    assert np.all(np.abs(z) <= 3), z


@pytest.mark.parametrize("allocation", ["greedy", "proportional"])
def test_simulation_matches_exact_enumeration(allocation):
    """Three doses, four cohorts of 3, s1 = 6, s2 = 9, negative association: stage-I escalation and
    elimination, B1 exploration and B2 allocation all occur."""
    p, q, psi = [0.05, 0.20, 0.45], [0.20, 0.45, 0.50], -0.5
    cfg = dict(D=3, c=3, N=12, target=0.25, tox_upper=0.30, eff_lower=0.2, cutoff_tox=0.95, cutoff_eff=0.9,
               prior=(0.25,) * 4, u=(100, 60, 40, 0), s1=6, s2=9, allocation=allocation, start=0)
    sel, pts = enumerate_uboin(cfg, gumbel_cells(p, q, psi))
    assert sel.sum() == pytest.approx(1, abs=1e-12)
    d = UBoin(target=0.25, n_doses=3, n_cohorts=4, s1=6, s2=9, association=psi, allocation=allocation)
    n = 40_000
    out = d.simulate_outcomes(p, q, n, np.random.default_rng(5))
    got = np.array([np.mean(out.selected == j) for j in (-1, 0, 1, 2)])
    assert np.all(np.abs(_z(got, sel, n)) <= 3), (got, sel)
    z_pts = (out.n.mean(axis=0) - pts) / (out.n.std(axis=0, ddof=1) / np.sqrt(n))
    assert np.all(np.abs(z_pts) <= 3), (out.n.mean(axis=0), pts)


def test_allocation_rules_differ():
    """Proportional allocation spreads patients; the exact enumerations of the two rules differ."""
    p, q = [0.05, 0.20, 0.45], [0.20, 0.45, 0.50]
    base = dict(D=3, c=3, N=12, target=0.25, tox_upper=0.30, eff_lower=0.2, cutoff_tox=0.95, cutoff_eff=0.9,
                prior=(0.25,) * 4, u=(100, 60, 40, 0), s1=6, s2=9, start=0)
    g = enumerate_uboin(base | {"allocation": "greedy"}, gumbel_cells(p, q))
    r = enumerate_uboin(base | {"allocation": "proportional"}, gumbel_cells(p, q))
    assert np.max(np.abs(g[0] - r[0])) > 0.01


def test_posterior_closed_forms_against_dirichlet_draws():
    """Mean utility and the Beta marginals of the Dirichlet posterior, against 200k posterior draws."""
    d = UBoin(target=0.25, n_doses=1, n_cohorts=4)
    counts = {"eff_no_tox": 3, "eff_tox": 1, "no_eff_no_tox": 4, "no_eff_tox": 2}
    c = np.array([counts[k] for k in CELLS])
    n, y_t, y_e, y11 = c.sum(), c[1] + c[3], c[0] + c[1], c[1]
    post = d.posterior([n], [y_t], [y_e], [y11])[0]
    draws = np.random.default_rng(3).dirichlet(np.full(4, 0.25) + c, size=200_000)
    u = draws @ np.array([100, 60, 40, 0])
    assert abs(post.mean_utility - u.mean()) <= 4 * u.std() / np.sqrt(len(u))
    for closed, event in ((post.pr_overly_toxic, draws[:, 1] + draws[:, 3] > d.tox_upper),
                          (post.pr_futile, draws[:, 0] + draws[:, 1] < d.eff_lower)):
        assert abs(closed - event.mean()) <= 4 * np.sqrt(closed * (1 - closed) / len(u)) + 1e-12
    # closed form of the mean: sum u_k (a_k + c_k) / (1 + n)
    assert post.mean_utility == pytest.approx((100 * 3.25 + 60 * 1.25 + 40 * 4.25 + 0) / 11)


@pytest.mark.parametrize("target", [0.2, 0.25, 0.3])
def test_stage_one_is_boin_with_elimination_above_the_upper_limit(target):
    d = UBoin(target=target, n_doses=3, n_cohorts=10)
    esc, de, _ = Boin(target=target, n_doses=3).tables(30)
    n = np.arange(1, 31)
    np.testing.assert_array_equal(d.esc[n], esc[n])
    np.testing.assert_array_equal(d.de[n], de[n])
    for m in (3, 6, 9, 12):
        y = np.arange(m + 1)
        pr = stats.beta.sf(target + 0.05, y + 1, m - y + 1)
        assert d.elim1[m] == y[pr > 0.95][0]
    table = d.decision_table()
    assert table.lambda_e == pytest.approx(boin_lambdas(target, 0.6 * target, 1.4 * target)[0])


def test_gumbel_cells():
    p, q = np.array([0.1, 0.3, 0.6]), np.array([0.2, 0.5, 0.9])
    for psi in (-3.0, 0.0, 0.2, 5.0):
        cells = gumbel_cells(p, q, psi)
        np.testing.assert_allclose(cells.sum(axis=1), 1)
        np.testing.assert_allclose(cells[:, 1] + cells[:, 3], p)      # P(DLT)
        np.testing.assert_allclose(cells[:, 0] + cells[:, 1], q)      # P(response)
    np.testing.assert_allclose(gumbel_cells(p, q, 0.0)[:, 1], p * q)
    assert np.all(gumbel_cells(p, q, 1.0)[:, 1] > p * q) and np.all(gumbel_cells(p, q, -1.0)[:, 1] < p * q)


def test_simulated_outcomes_follow_the_joint_model():
    """With one dose and no decisions that matter, cell frequencies match the Gumbel cells."""
    d = UBoin(target=0.25, n_doses=1, n_cohorts=1, cohort_size=10, association=1.5, s1=20, s2=30)
    out = d.simulate_outcomes([0.3], [0.6], 20_000, np.random.default_rng(2))
    cells = gumbel_cells([0.3], [0.6], 1.5)[0]
    assert abs(out.y.mean() / 10 - 0.3) <= 4 * np.sqrt(0.3 * 0.7 / 200_000)
    assert abs(out.r.mean() / 10 - 0.6) <= 4 * np.sqrt(0.6 * 0.4 / 200_000)
    assert cells[1] > 0.3 * 0.6


def test_single_trial_decisions():
    d = UBoin(target=0.25, n_doses=4, n_cohorts=18, s1=6, s2=12)
    # stage I: 0/3 at dose 1 -> escalate
    nxt, el, st = d.decide_obd([3, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], current=0)
    assert (nxt, st) == (1, False)
    # 3/3 at dose 2 -> eliminated with the doses above, back to dose 1
    nxt, el, st = d.decide_obd([3, 3, 0, 0], [0, 3, 0, 0], [1, 1, 0, 0], [0, 1, 0, 0], current=1)
    assert nxt == 0 and el == [False, True, True, True]
    # stage II (dose 1 has 6): highest tried dose 2 at 0/3 -> B1 explores dose 3
    nxt, el, st = d.decide_obd([6, 3, 0, 0], [0, 0, 0, 0], [2, 2, 0, 0], [0, 0, 0, 0], current=1)
    assert (nxt, st) == (2, True)
    # stage II, dose 3 too toxic to explore above: greedy to the best admissible utility (dose 2)
    nxt, _, _ = d.decide_obd([6, 6, 3, 0], [0, 1, 2, 0], [1, 4, 2, 0], [0, 1, 1, 0], current=2, stage2=True)
    assert nxt == 1
    # 0/6 responses at dose 1: Pr(p_E < 0.2) = Beta(0.5, 6.5) cdf = 0.905 > 0.9, not admissible
    sel = d.select_obd([6, 6, 3, 0], [0, 1, 2, 0], [0, 4, 2, 0], [0, 1, 1, 0])
    assert sel.selected == 1 and sel.doses[3].n == 0
    assert sel.doses[0].pr_futile == pytest.approx(stats.beta.cdf(0.2, 0.5, 6.5)) and not sel.doses[0].admissible
    # nothing admissible among the tried doses: the trial stops without a selection
    nxt, _, _ = d.decide_obd([6, 6, 3, 0], [0, 1, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0], current=2, stage2=True)
    assert nxt is None


def test_safety_and_futility_stops():
    d = UBoin(target=0.25, n_doses=3, n_cohorts=10)
    toxic = d.simulate([0.95, 0.97, 0.99], [0.5, 0.5, 0.5], 500, np.random.default_rng(1))
    assert toxic.no_selection_pct > 95 and toxic.safety_stop_pct > 95
    futile = d.simulate([0.05, 0.05, 0.05], [0.0, 0.0, 0.0], 500, np.random.default_rng(1))
    assert futile.no_selection_pct == 100 and futile.mean_total_patients < d.max_patients


def test_common_random_numbers_and_determinism():
    d = make_obd_design("u-boin", target=0.25, n_doses=5, n_cohorts=12)
    p, q = [0.04, 0.12, 0.25, 0.43, 0.63], [0.10, 0.20, 0.30, 0.45, 0.58]
    a = simulate_obd(d, p, q, 300, np.random.default_rng(9))
    b = simulate_obd(d, p, q, 300, np.random.default_rng(9))
    assert a == b
    assert a.true_obd == 2 and a.design == "uboin"
    with pytest.raises(DesignError):
        simulate_obd(d, p, None, 10, np.random.default_rng(1))


@pytest.mark.parametrize("kwargs", [dict(s1=12, s2=12), dict(allocation="random"), dict(tox_upper=0.2),
                                    dict(utility={"eff": 100}), dict(prior=dict.fromkeys(CELLS, 0.0))])
def test_invalid_options(kwargs):
    with pytest.raises(DesignError):
        UBoin(target=0.25, n_doses=3, **kwargs)
