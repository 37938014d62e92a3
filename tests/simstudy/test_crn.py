"""Common random numbers: in one study every design sees the same simulated patients in a scenario,
so the difference between two designs varies less than the difference of two independent runs.

Replicated experiment (R master seeds, 200 trials per design each), BOIN vs CRM on one scenario:
* D_crn[r]  = PCS(BOIN) - PCS(CRM) from the same study (seed r);
* D_ind[r]  = PCS(BOIN) from study R + r minus PCS(CRM) from study 2R + r (independent runs).
Each D is a mean over 200 trials, close to normal, and the two sets are independent, so
var(D_ind) / var(D_crn) ~ F(R-1, R-1) if CRN did not help.  One-sided F-test at alpha = 0.001: the
assertion would pass by chance with probability <= 0.1% if CRN did not reduce the variance.  The
variance ratio of this pair is about 2.4-3.4 (two measurements, R = 60 and 100); at 2.4 the probability
that the test fails by chance is about 0.1% (critical F = 1.55 for R = 200).  The seeds are fixed, so
the outcome is deterministic.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from dossier.simstudy import parse_study_spec, run_study

R = 200
SCENARIO = [0.05, 0.12, 0.25, 0.40, 0.55]


def _pcs(seed: int) -> tuple[float, float, float]:
    spec = parse_study_spec({
        "seed": seed, "n_trials": 200, "block_trials": 200,
        "designs": [{"name": "boin"}, {"name": "crm", "options": {"skeleton": SCENARIO}}],
        "scenarios": [{"name": "s", "true_tox": SCENARIO}]})
    boin, crm = run_study(spec).comparison
    return boin.pcs, crm.pcs, crm.pcs_diff_se


def test_common_random_numbers_reduce_the_variance_of_differences():
    runs = np.array([_pcs(seed) for seed in range(3 * R)])
    d_crn = runs[:R, 0] - runs[:R, 1]
    d_ind = runs[R:2 * R, 0] - runs[2 * R:, 1]
    ratio = np.var(d_ind, ddof=1) / np.var(d_crn, ddof=1)
    p_value = stats.f.sf(ratio, R - 1, R - 1)
    assert p_value < 0.001, (ratio, p_value)
    # the paired MC SE reported by the study estimates the spread of the CRN differences
    reported = float(np.sqrt(np.mean(runs[:R, 2] ** 2)))
    assert 0.75 < np.std(d_crn, ddof=1) / reported < 1.33, (np.std(d_crn, ddof=1), reported)


def test_paired_standard_error_is_smaller_than_independent(grid_spec):
    result = run_study(grid_spec)
    for c in result.cells:
        if c.design_id == result.reference:
            assert c.pcs_diff == 0.0 and c.pcs_diff_se == 0.0
        else:
            assert 0 < c.pcs_diff_se < c.pcs_diff_se_independent
