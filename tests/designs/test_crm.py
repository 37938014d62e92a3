"""CRM (dossier/designs/crm.py) against dfcrm (Cheung): getprior(), crm() and trial conduct.

Reference numbers were produced in R 4.2.2 (Debian r-base-core) by the functions ``getprior`` and
``crm`` (method = "bayes") of the dfcrm source (dfcrm is not packaged for Debian, so the two
functions were evaluated from the package source); the exact R call is beside each fixture.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from dossier.designs import Crm, crm_fit, getprior, make_design
from dossier.errors import DesignError

# getprior(0.05, 0.25, 3, 5)
GETPRIOR_EMPIRIC = [0.0839734913056243, 0.1567410211426363, 0.2500000000000000, 0.3545004276151119,
                    0.4603431110853069]
# getprior(0.10, 0.25, 3, 6, model = "logistic")    (the dfcrm man page example)
GETPRIOR_LOGISTIC = [0.0177261662878379, 0.0861165361565317, 0.2499999999999999, 0.4668234524590367,
                     0.6468609729307753, 0.7630570668520615]
# getprior(0.04, 0.20, 4, 7)
GETPRIOR_EMPIRIC_7 = [0.0331108928833364, 0.0703772915292778, 0.1266024645060419, 0.2000000000000000,
                      0.2855482959308027, 0.3768012942418211, 0.4676263925962780]

# the dfcrm crm() man page example
PRIOR = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
LEVEL = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]          # 1-based, as dfcrm
TOX = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]
CRM_REFERENCE = {
    # crm(prior, 0.2, tox, level)
    "empiric": {
        "est": -0.212171528745092, "post.var": 0.157595532201889,
        "ptox": [0.0886529474888311, 0.1553009281329567, 0.2720538793365703, 0.4277897784611887,
                 0.5708462180788342, 0.7493958353633353],
        "ptoxL": [0.00951151088492701, 0.02792791572289229, 0.08200258466412506, 0.19565876404795018,
                  0.34057360310388302, 0.57449773636234991],
        "ptoxU": [0.283322945394692, 0.379325307437925, 0.507857521608173, 0.642773605895578,
                  0.746912847203207, 0.860573771494793],
        "mtd": 2,
    },
    # crm(prior, 0.2, tox, level, model = "logistic")
    "logistic": {
        "est": -0.11011160878738, "post.var": 0.0386954003092437,
        "ptox": [0.0891029822315926, 0.1603896725875461, 0.2831370371550858, 0.4398681849198968,
                 0.5775679582724510, 0.7449297957003512],
        "ptoxL": [0.0126312710797762, 0.0312538441269474, 0.0809152501164952, 0.1854034052015832,
                  0.3287542859803709, 0.5829950451797273],
        "ptoxU": [0.298859688657872, 0.408916524972770, 0.539203654816259, 0.658004383260547,
                  0.741854138961990, 0.832685672546565],
        "mtd": 2,
    },
}


def test_getprior_matches_dfcrm():
    np.testing.assert_allclose(getprior(0.05, 0.25, 3, 5), GETPRIOR_EMPIRIC, rtol=1e-13)
    np.testing.assert_allclose(getprior(0.10, 0.25, 3, 6, model="logistic"), GETPRIOR_LOGISTIC, rtol=1e-13)
    np.testing.assert_allclose(getprior(0.04, 0.20, 4, 7), GETPRIOR_EMPIRIC_7, rtol=1e-13)


def test_getprior_indifference_intervals():
    """Lee & Cheung (2009): adjacent doses meet target -/+ halfwidth at the same beta."""
    sk = np.array(getprior(0.05, 0.25, 3, 5))
    ratio = np.log(sk[:-1]) / np.log(sk[1:])
    np.testing.assert_allclose(ratio, math.log(0.20) / math.log(0.30), rtol=1e-12)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_crm_fit_matches_dfcrm_example(model):
    ref = CRM_REFERENCE[model]
    fit = crm_fit(PRIOR, 0.2, TOX, np.array(LEVEL) - 1, model=model)
    assert fit.estimate == pytest.approx(ref["est"], abs=1e-7)
    assert fit.post_var == pytest.approx(ref["post.var"], abs=1e-7)
    np.testing.assert_allclose(fit.ptox, ref["ptox"], atol=1e-8)
    np.testing.assert_allclose(fit.ptox_lower, ref["ptoxL"], atol=1e-8)
    np.testing.assert_allclose(fit.ptox_upper, ref["ptoxU"], atol=1e-8)
    assert fit.mtd + 1 == ref["mtd"]


def test_crm_fit_extreme_data_matches_dfcrm():
    # crm(prior, 0.2, c(1,1,1), c(1,1,1)): est -2.01149663717227, post.var 0.485125713458472, mtd 1
    fit = crm_fit(PRIOR, 0.2, [1, 1, 1], [0, 0, 0])
    assert fit.estimate == pytest.approx(-2.01149663717227, abs=1e-7)
    assert fit.post_var == pytest.approx(0.485125713458472, abs=1e-7)
    assert fit.mtd == 0
    # crm(prior, 0.2, rep(0,12), rep(1:4, each=3)): est 1.22251312888737, mtd 6
    fit = crm_fit(PRIOR, 0.2, [0] * 12, np.repeat(np.arange(4), 3))
    assert fit.estimate == pytest.approx(1.22251312888737, abs=1e-7)
    assert fit.mtd == 5


def test_simulation_grid_agrees_with_adaptive_quadrature():
    """The coarse grid used in simulations gives the posterior mean to < 1e-6 (vs scipy quad)."""
    d = Crm(target=0.25, n_doses=5, skeleton=GETPRIOR_EMPIRIC)
    n = np.array([3, 6, 9, 3, 0])
    y = np.array([0, 1, 3, 2, 0])
    x = np.array(GETPRIOR_EMPIRIC)
    sd = math.sqrt(1.34)

    def lik(b):
        p = x ** math.exp(b)
        return math.exp(-b * b / 2 / sd**2) * float(np.prod(p**y * (1 - p) ** (n - y)))

    # the prior density beyond |beta| = 20 is below exp(-149): the finite range is exact to double precision
    den = integrate.quad(lik, -20, 20, epsabs=1e-14, limit=200)[0]
    est = integrate.quad(lambda b: b * lik(b), -20, 20, epsabs=1e-14, limit=200)[0] / den
    w = d._grid.posterior(n[None, :].astype(float), y[None, :].astype(float))[0]
    assert float(w @ d._grid.beta) == pytest.approx(est, abs=1e-6)


def test_restrictions_no_skipping_and_coherence():
    d = Crm(target=0.3, n_doses=5, skeleton=[0.05, 0.1, 0.2, 0.3, 0.45])
    # no toxicity at the lowest dose: the model would jump, the restriction allows one level
    assert d.next_dose([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], 0) == 1
    # 1/3 DLT (rate >= target) at the current dose: no escalation (coherence)
    nxt = d.next_dose([3, 3, 3, 0, 0], [0, 0, 1, 0, 0], 2, last_cohort_dlt=1, last_cohort_size=3)
    assert nxt <= 2
    free = Crm(target=0.3, n_doses=5, skeleton=[0.05, 0.1, 0.2, 0.3, 0.45], restrict=False)
    assert free.next_dose([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], 0) > 1


def test_safety_stop_optional():
    d = Crm(target=0.3, n_doses=4, skeleton=[0.1, 0.2, 0.3, 0.4], stop_cutoff=0.9)
    assert d.decide([3, 0, 0, 0], [3, 0, 0, 0], 0).action == "stop_no_mtd"
    plain = Crm(target=0.3, n_doses=4, skeleton=[0.1, 0.2, 0.3, 0.4])
    assert plain.decide([3, 0, 0, 0], [3, 0, 0, 0], 0).action == "stay"


def test_pathways_cover_all_outcomes():
    d = make_design("crm", target=0.3, n_doses=5, skeleton=[0.05, 0.1, 0.2, 0.3, 0.45])
    table = d.decision_table()
    assert len(table.pathways) == 16 and table.start_dose == 0
    first = {tuple(p.dlts[:1]): p.doses[0] for p in table.pathways}
    assert first[(0,)] == 1 and first[(3,)] == 0
    for p in table.pathways:
        assert p.doses[0] <= 1 and p.doses[1] <= p.doses[0] + 1


def test_select_mtd_reports_dfcrm_estimates():
    d = Crm(target=0.2, n_doses=6, skeleton=PRIOR)
    n = np.bincount(np.array(LEVEL) - 1, minlength=6)
    y = np.bincount(np.array(LEVEL) - 1, weights=TOX, minlength=6).astype(int)
    sel = d.select_mtd(n, y)
    assert sel.selected == 1
    np.testing.assert_allclose(sel.estimates, CRM_REFERENCE["empiric"]["ptox"], atol=1e-8)


def test_invalid_crm_parameters():
    with pytest.raises(DesignError):
        Crm(target=0.3, n_doses=3, skeleton=[0.3, 0.2, 0.1])
    with pytest.raises(DesignError):
        Crm(target=0.3, n_doses=3, skeleton=[0.1, 0.2])
    with pytest.raises(DesignError):
        Crm(target=0.3, n_doses=3, skeleton=[0.5, 0.9, 0.97], model="logistic")
    with pytest.raises(DesignError):
        Crm(target=0.3, n_doses=3, model="probit")
    with pytest.raises(DesignError):
        getprior(0.05, 0.25, 0, 5)
