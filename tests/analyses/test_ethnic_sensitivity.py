"""Japan-specific analyses: MHLW Method 1 consistency probability (closed form vs Monte Carlo and the
published ~22% Japanese fraction at 90% power), and recovery of a known body-weight exponent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dossier.analyses.ethnic_sensitivity import analyse_ethnic_sensitivity, consistency_probability
from dossier.ingest.tables import StudyData


def test_consistency_probability_matches_monte_carlo():
    """P(D_J >= 0.5 D) by simulation of a two-arm normal trial; 20,000 trials, MC SE <= 0.0036."""
    rng = np.random.default_rng(7)
    n, f, power = 400, 0.2, 0.8
    n_j = int(n * f)
    z = 1.959964 + 0.841621
    delta = z * np.sqrt(2 / n)  # unit SD: the trial has 80% power
    reps = 20_000
    # per-arm means of Japanese and non-Japanese patients (independent subsets), difference of arms
    d_j = delta + rng.standard_normal(reps) * np.sqrt(2 / n_j)
    d_other = delta + rng.standard_normal(reps) * np.sqrt(2 / (n - n_j))
    d_all = f * d_j + (1 - f) * d_other
    p_mc = np.mean(d_j >= 0.5 * d_all)
    p = consistency_probability(f, power)
    se = np.sqrt(p * (1 - p) / reps)
    assert abs(p_mc - p) <= 3 * se, f"closed form {p:.4f} vs MC {p_mc:.4f} (z={(p_mc - p) / se:.2f})"


def test_published_japanese_fraction_for_90_percent_power():
    """Quan et al. (2010): about 22.4% Japanese patients give an 80% chance of consistency at 90% power."""
    assert consistency_probability(0.224, 0.9) == pytest.approx(0.80, abs=0.002)
    assert consistency_probability(0.10, 0.9) < 0.8 < consistency_probability(0.30, 0.9)


def _synthetic(rng, n=300, exponent=-0.75, asian_ratio=1.25):
    weight = np.exp(rng.normal(np.log(68), 0.2, n))
    asian = rng.random(n) < 0.3
    dose = rng.choice([100.0, 200.0, 400.0], n)
    auc = dose * 0.1 * (weight / 70) ** exponent * np.where(asian, asian_ratio, 1.0) * np.exp(rng.normal(0, 0.2, n))
    ids = [f"S{i:04d}" for i in range(n)]
    subjects = pd.DataFrame({"usubjid": ids, "dose": dose, "weight_kg": weight,
                             "country": np.where(asian, "JPN", "USA")})
    pk = pd.DataFrame({"usubjid": ids, "paramcd": "AUCSS", "value": auc, "unit": "ug*h/mL"})
    return StudyData(subjects=subjects, pk=pk)


def test_recovers_weight_exponent_ratio_and_dose_proportionality():
    data = _synthetic(np.random.default_rng(3))
    r = analyse_ethnic_sensitivity(data, exposure_paramcd="AUCSS", candidate_doses=[200.0, 400.0],
                                   reference_weight_kg=60, rng=np.random.default_rng(1))
    assert r.weight_exponent.lower < -0.75 < r.weight_exponent.upper
    assert r.east_asian_ratio_adjusted.lower < 1.25 < r.east_asian_ratio_adjusted.upper
    assert r.dose_proportionality.lower < 1.0 < r.dose_proportionality.upper
    jp = {p.dose: p for p in r.predictions if p.population == "Japanese"}
    west = {p.dose: p for p in r.predictions if p.population == "non-Asian"}
    # lighter patients and the East-Asian effect both raise the exposure: (60/70)^-0.75 * 1.25 ~ 1.40
    assert jp[400.0].median / west[400.0].median == pytest.approx((60 / 70) ** -0.75 * 1.25, rel=0.1)
    assert jp[400.0].median == pytest.approx(2 * jp[200.0].median, rel=1e-9)  # linear model in dose


def test_no_pk_gives_none():
    data = StudyData(subjects=pd.DataFrame({"usubjid": ["a"], "dose": [1.0], "weight_kg": [70.0], "country": ["USA"]}))
    assert analyse_ethnic_sensitivity(data, exposure_paramcd="AUCSS", candidate_doses=[1.0],
                                      reference_weight_kg=60, rng=np.random.default_rng(0)) is None
