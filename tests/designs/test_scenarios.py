"""Scenarios from fitted models (dossier/designs/scenarios.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from dossier.designs import Boin, Boin12, simulate_trials
from dossier.designs.scenarios import (
    FittedScenario,
    fitted_from_arrays,
    scenarios_from_fit,
    simulate_under_fit,
)


def test_point_and_draws_from_standard_errors():
    fit = FittedScenario(doses=[10, 20, 40, 80], p_tox=[0.05, 0.1, 0.2, 0.35], p_resp=[0.1, 0.25, 0.4, 0.45],
                         p_tox_se_logit=[0.3] * 4, p_resp_se_logit=[0.2] * 4)
    sc = scenarios_from_fit(fit, 400, np.random.default_rng(1))
    assert sc[0].kind == "point" and sc[0].p_tox == fit.p_tox
    draws = np.array([s.p_tox for s in sc[1:]])
    assert draws.shape == (400, 4)
    assert np.all(np.diff(draws, axis=1) >= 0)          # monotone toxicity
    # draws are expit(logit(p) + 0.3 z), one z per scenario: on the logit scale every dose is shifted by the
    # same 0.3 z, so the shifts are identical across doses, their median is 0 within its MC error (the SE of a
    # sample median of N(0, 1) draws is sqrt(pi / 2) / sqrt(n)) and their SD is 0.3 within its MC error
    # (SE of a sample SD: sigma / sqrt(2 (n - 1)))
    z = (np.log(draws / (1 - draws)) - np.log(np.array(fit.p_tox) / (1 - np.array(fit.p_tox)))) / 0.3
    np.testing.assert_allclose(z, z[:, :1].repeat(4, axis=1), atol=1e-9)
    n = len(z)
    assert abs(np.median(z[:, 0])) <= 3 * np.sqrt(np.pi / 2) / np.sqrt(n)
    assert abs(np.std(z[:, 0], ddof=1) - 1) <= 3 / np.sqrt(2 * (n - 1))


def test_draws_are_taken_from_given_draws():
    dr = [[0.05, 0.1, 0.3], [0.02, 0.2, 0.25]]
    fit = fitted_from_arrays([1, 2, 3], [0.04, 0.15, 0.28], p_tox_draws=np.array(dr))
    sc = scenarios_from_fit(fit, 5, np.random.default_rng(0))
    assert all(s.p_tox in dr for s in sc[1:]) and all(s.p_resp is None for s in sc)


def test_validation():
    with pytest.raises(ValidationError):
        FittedScenario(doses=[1, 2], p_tox=[0.1])
    with pytest.raises(ValidationError):
        FittedScenario(doses=[1, 2], p_tox=[0.1, 1.2])
    with pytest.raises(ValidationError):
        FittedScenario(doses=[1, 2], p_tox=[0.1, 0.2], p_tox_draws=[[0.1, 0.2]], p_resp_draws=[[0.1, 0.2]] * 2)


def test_simulate_under_fit_with_mtd_and_obd_designs():
    fit = FittedScenario(doses=[10, 20, 40, 80, 160], p_tox=[0.03, 0.08, 0.18, 0.3, 0.45],
                         p_resp=[0.1, 0.25, 0.4, 0.45, 0.5], p_tox_se_logit=[0.4] * 5, p_resp_se_logit=[0.3] * 5,
                         source="logistic dose-toxicity, Emax dose-response")
    boin = Boin(target=0.3, n_doses=5)
    res = simulate_under_fit(lambda s, n, rng: simulate_trials(boin, s.p_tox, n, rng), fit, 8, 300,
                             np.random.default_rng(2))
    assert res.n_draws == 8 and len(res.draws_mean_selection_pct) == 5
    assert all(lo <= m + 1e-9 and m <= hi + 1e-9 for lo, m, hi in
               zip(res.draws_q05_selection_pct, res.draws_mean_selection_pct, res.draws_q95_selection_pct, strict=True))
    b12 = Boin12(n_doses=5)
    res2 = simulate_under_fit(lambda s, n, rng: b12.simulate(s.p_tox, s.p_resp, n, rng), fit, 4, 200,
                              np.random.default_rng(3))
    assert res2.point["design"] == "boin12" and res2.source.startswith("logistic")
