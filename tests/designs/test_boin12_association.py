"""BOIN12 with correlated toxicity and efficacy: the Gumbel model (Murtaugh & Fisher 1990), checked against its
closed-form marginals and joint probability; association, exploration, strict selection and the stop-at-n rule
as spec keys and CLI flags."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from dossier.commands.designs import register
from dossier.designs import Boin12, design_from_spec
from dossier.designs.obd import conditional_efficacy, gumbel_cells, lockstep_trials
from dossier.spec import DesignSettings, Scenario


class _Stay:
    """A stub design that keeps every trial at its start dose: its patients are i.i.d. draws of the outcome model."""

    n_doses, cohort_size, n_cohorts = 2, 3, 10

    def __init__(self, start_dose: int):
        self.start_dose = start_dose

    def _decide(self, n, yT, yE, y11, elim, state, d, rng):
        return d, np.zeros(len(d), bool), np.zeros(len(d), bool)


@pytest.mark.parametrize("psi", [-2.0, 0.0, 1.5])
def test_simulated_outcomes_have_the_gumbel_marginals_and_joint(psi):
    """P(DLT) = p, P(response) = q and P(both) = pq + q(1-q)p(1-p) tanh(psi/2) (closed form), each within 3 MC SEs
    over 30,000 simulated patients at each of two doses."""
    p, q = np.array([0.3, 0.6]), np.array([0.5, 0.2])
    pe_tox, pe_none = conditional_efficacy(p, q, psi)
    both = p * q + q * (1 - q) * p * (1 - p) * np.tanh(psi / 2)
    np.testing.assert_allclose(gumbel_cells(p, q, psi)[:, 1], both)
    for dose in (0, 1):
        T = 1000
        r = lockstep_trials(_Stay(dose), p, pe_tox, pe_none, T, np.random.default_rng(11 + dose), None,
                            np.zeros(T))
        N = r.n[:, dose].sum()
        assert N == T * 30
        for observed, expected in ((r.y_tox[:, dose].sum(), p[dose]), (r.y_eff[:, dose].sum(), q[dose]),
                                   (r.y_both[:, dose].sum(), both[dose])):
            z = (observed / N - expected) / np.sqrt(expected * (1 - expected) / N)
            assert abs(z) <= 3, (psi, dose, observed / N, expected)


def test_association_changes_only_non_additive_true_utilities():
    p, q = [0.1, 0.3, 0.5], [0.2, 0.4, 0.6]
    additive = Boin12(n_doses=3, association=1.0)
    np.testing.assert_allclose(additive.true_utility(p, q), Boin12(n_doses=3).true_utility(p, q))
    u = {"eff_no_tox": 100.0, "eff_tox": 80.0, "no_eff_no_tox": 40.0, "no_eff_tox": 0.0}
    d = Boin12(n_doses=3, association=1.0, utility=u)
    cells = gumbel_cells(p, q, 1.0)
    np.testing.assert_allclose(d.true_utility(p, q), cells @ np.array([100.0, 80.0, 40.0, 0.0]))
    assert np.all(d.true_utility(p, q) > Boin12(n_doses=3, utility=u).true_utility(p, q))


def test_boin12_options_as_spec_keys_and_cli_flags():
    tox, eff = [0.05, 0.1, 0.2, 0.35, 0.5], [0.1, 0.25, 0.4, 0.5, 0.55]
    s = DesignSettings(name="boin12", target=0.35, association=0.8, explore=False, strict_selection=False,
                       n_earlystop=9, scenarios=[Scenario(name="a", true_tox=tox, true_eff=eff)])
    d = design_from_spec(s, 5)
    assert (d.association, d.explore, d.strict_selection, d.n_earlystop) == (0.8, False, False, 9)
    app = typer.Typer()
    register(app)
    args = ["simulate", "--design", "boin12", "--target", "0.35", "--true-tox", ",".join(map(str, tox)),
            "--true-eff", ",".join(map(str, eff)), "--trials", "300", "--seed", "2", "--json"]
    res = CliRunner().invoke(app, [*args, "--association", "0.8", "--no-explore", "--no-strict-selection",
                                   "--n-earlystop", "9"])
    assert res.exit_code == 0, (res.output, res.exception)
    out = json.loads(res.output)
    assert out["design_params"]["association"] == 0.8 and out["design_params"]["explore"] is False
    assert out["design_params"]["n_earlystop"] == 9 and out["design_params"]["strict_selection"] is False
    oc = d.simulate(tox, eff, 300, np.random.default_rng(2))
    assert out["selection_pct"] == oc.selection_pct
    # stop at n = 9 (cohorts of 3): the trial ends once its current dose has 9 patients, so no dose gets more
    out9 = d.outcomes(d_scenario := _scenario(tox, eff), 300, np.random.default_rng(3))
    assert out9.n.max() == 9
    assert design_from_spec(s.model_copy(update={"n_earlystop": None}), 5).outcomes(
        d_scenario, 300, np.random.default_rng(3)).n.max() > 9


def _scenario(tox, eff):
    from dossier.designs import Scenario as Truth

    return Truth(p_tox=tox, p_eff=eff)
