"""Tests of dossier/analyses/pmr_risk.py, its factor and calibration tables, figure and template.

References: Collins et al., Cancer Chemother Pharmacol 2025;95:17 (3/15 vs 4/39; 7/54; E-R pattern
0/7 and 4/7); Harvey et al., JNCI 2023;115:485 (benchmarks 28/55/10%); FDA Project Optimus (15%).
The published inputs are recomputed here from the counts and checked against issue 6's numbers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import markupsafe
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined
from scipy.special import expit, logit
from scipy.stats.contingency import odds_ratio

from dossier.analyses.pmr_risk import (
    EXPERT,
    FactorOverride,
    PmrInputs,
    assess_pmr_risk,
    load_calibration_table,
    load_factor_table,
    point_probability,
    rank_calibration,
)

ROOT = Path(__file__).resolve().parents[2]
#: the project's shared reference values (sibling `shared` folder of the repository)
PUBLISHED = ROOT / ".." / "shared" / "reference" / "published.json"
LEVELS = [60.0, 120.0, 240.0, 480.0, 720.0, 960.0]
COMMON = dict(mtd=720, max_administered_dose=960, modality="small_molecule", randomized_dosages=[240, 480],
              dose_levels=LEVELS, efficacy_er_slope=0.05, efficacy_er_ci=(-0.2, 0.3), safety_er_slope=1.3,
              safety_er_ci=(0.6, 2.0), expected_treatment_months=8)


def at_mtd(**kw) -> PmrInputs:
    """The examplinib-like profile at the MTD: 720 mg, flat efficacy E-R, rising safety E-R, many modifications."""
    return PmrInputs(**{**COMMON, "proposed_dosage": 720, "n_patients_at_proposed": 12, "dose_reduction_rate": 0.45,
                        "dose_interruption_rate": 0.70, "discontinuation_rate": 0.15, "grade3_rate": 0.55,
                        "persistent_low_grade_rate": 0.40, **kw})


def at_240(**kw) -> PmrInputs:
    """The same study proposing 240 mg, the lower arm of the randomized 240 vs 480 mg comparison."""
    return PmrInputs(**{**COMMON, "proposed_dosage": 240, "n_patients_at_proposed": 49, "dose_reduction_rate": 0.15,
                        "dose_interruption_rate": 0.35, "discontinuation_rate": 0.05, "grade3_rate": 0.25,
                        "persistent_low_grade_rate": 0.20, **kw})


def sotorasib_like() -> PmrInputs:
    """Approved at 960 mg, the highest dosage tested, no MTD, no randomized comparison, flat efficacy E-R,
    good tolerability (few reductions), breakthrough designation."""
    return PmrInputs(proposed_dosage=960, mtd=None, max_administered_dose=960, modality="small_molecule",
                     n_randomized_dosages=0, n_patients_at_proposed=126, registrational_dosages=1,
                     efficacy_er_slope=0.02, efficacy_er_ci=(-0.3, 0.35), dose_reduction_rate=0.05,
                     dose_interruption_rate=0.34, discontinuation_rate=0.09, breakthrough=True,
                     dose_levels=[180, 360, 720, 960])


def rng(seed: int = 20240801) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- published inputs, computed in code -------------------------------------------------------------
def test_label_dose_mtd_odds_ratio_matches_issue():
    # issue 6: 3 of 15 at the MTD vs 4 of 39 others: crude OR ~2.2, exact 95% CI about 0.3-15
    crude = (3 * 35) / (12 * 4)
    assert crude == pytest.approx(2.19, abs=0.005)
    ci = odds_ratio([[3, 12], [4, 35]], kind="conditional").confidence_interval(0.95)
    assert ci.low == pytest.approx(0.3, abs=0.05) and ci.high == pytest.approx(15, abs=0.5)
    f = {f["name"]: f for f in load_factor_table()["factors"]}["label_dose_equals_mtd"]
    assert f["centre"] == pytest.approx(math.log(crude))
    assert f["spread"] == pytest.approx((math.log(ci.high) - math.log(ci.low)) / (2 * 1.959964), rel=1e-6)
    assert f["published_effect_size"] and f["prior_derived"]["crude_or"] == pytest.approx(2.1875)


def test_base_rate_and_counts_match_published_reference():
    table = load_factor_table()
    br = table["base_rate"]
    assert br["intercept"] == pytest.approx(logit(0.15))
    assert br["intercept_spread"] == pytest.approx(math.sqrt(1 / 7 + 1 / 47))
    assert 7 / 54 == pytest.approx(0.13, abs=0.005)  # Collins 2025: 7 of 54 (13%)


def test_factor_table_matches_the_shared_published_reference():
    if not PUBLISHED.is_file():
        pytest.skip(f"shared reference values not available: {PUBLISHED} is missing")
    table = load_factor_table()
    br = table["base_rate"]
    ref = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    pe, tb = ref["pmr_evidence"], ref["tolerability_benchmarks"]
    assert br["value"] == pe["base_rate"]["value"]
    lab = pe["label_dose_equals_mtd"]
    prior = {f["name"]: f for f in table["factors"]}["label_dose_equals_mtd"]["prior"]
    assert (prior["exposed_events"], prior["exposed_n"], prior["unexposed_events"], prior["unexposed_n"]) == (
        lab["pmr_at_mtd"], lab["n_at_mtd"], lab["pmr_other"], lab["n_other"])
    bench = {f["name"]: f.get("benchmark") for f in table["factors"]}
    assert bench["dose_reduction_excess"] == tb["dose_reduction_pct"] / 100
    assert bench["dose_interruption_excess"] == tb["dose_interruption_pct"] / 100
    assert bench["discontinuation_excess"] == tb["discontinuation_pct"] / 100
    er = pe["er_pattern_among_pmr"]
    priors = {f["name"]: f["prior"] for f in table["factors"]}
    assert priors["positive_safety_er"]["events"] == er["positive_safety_er"]
    assert priors["positive_efficacy_er"]["events"] == er["positive_efficacy_er"]
    assert priors["flat_efficacy_er"]["events"] == er["n"] - er["positive_efficacy_er"]


def test_er_pattern_prior_is_modest_and_wide():
    f = {f["name"]: f for f in load_factor_table()["factors"]}
    # 7/7 without positive efficacy E-R: p = 8/9 vs reference 0.5, log LR halved
    assert f["flat_efficacy_er"]["centre"] == pytest.approx(0.5 * math.log((8 / 9) / 0.5))
    assert f["positive_safety_er"]["centre"] == pytest.approx(0.5 * math.log((5 / 9) / 0.35))
    for name in ("flat_efficacy_er", "positive_safety_er", "positive_efficacy_er"):
        assert abs(f[name]["centre"]) < 1.0 and f[name]["spread"] >= 0.5


def test_no_59_percent_figure_used():
    text = (ROOT / "dossier/analyses/pmr_factors.yaml").read_text()
    assert "0.59" not in text and "59%" not in text


def test_factor_table_directions_match_prior_signs_and_sources():
    for f in load_factor_table()["factors"]:
        assert (f["centre"] > 0) == (f["direction"] == "raises"), f["name"]
        assert f["source"] and f["coding"] and f["spread"] > 0
        if not f["published_effect_size"]:
            assert "expert judgement" in f["source"].lower() or "expert" in f["source"].lower(), f["name"]


# -- the score ----------------------------------------------------------------------------------
def test_contributions_sum_to_total_exactly():
    for x in (at_mtd(), at_240(), sotorasib_like()):
        r = assess_pmr_risk(x, rng(), n_draws=2000)
        assert r.intercept + sum(f.contribution for f in r.factors) == r.total_log_odds
        assert r.probability == pytest.approx(float(expit(r.total_log_odds)), rel=1e-12)
        for f in r.factors:
            assert f.contribution == f.centre * f.value


#: per factor: (inputs with a lower coded value, inputs with a higher coded value)
DIRECTION_CASES = {
    "label_dose_equals_mtd": (at_240(proposed_dosage=480, mtd=720), at_240(proposed_dosage=480, mtd=480)),
    "top_of_range_without_mtd": (at_240(mtd=None, max_administered_dose=960),
                                 at_240(mtd=None, max_administered_dose=240)),
    "no_randomized_comparison": (at_240(), at_240(randomized_dosages=[], n_randomized_dosages=0)),
    "single_registrational_dosage": (at_240(registrational_dosages=2), at_240(registrational_dosages=1)),
    "few_patients_at_proposed": (at_240(n_patients_at_proposed=120), at_240(n_patients_at_proposed=10)),
    "dose_reduction_excess": (at_240(dose_reduction_rate=0.28), at_240(dose_reduction_rate=0.6)),
    "dose_interruption_excess": (at_240(dose_interruption_rate=0.55), at_240(dose_interruption_rate=0.85)),
    "discontinuation_excess": (at_240(discontinuation_rate=0.10), at_240(discontinuation_rate=0.3)),
    "grade3_excess": (at_240(grade3_rate=0.5), at_240(grade3_rate=0.8)),
    "flat_efficacy_er": (at_mtd(efficacy_er_ci=(0.2, 0.9)), at_mtd()),
    "positive_safety_er": (at_mtd(safety_er_ci=(-0.1, 2.0)), at_mtd()),
    "positive_efficacy_er": (at_240(efficacy_er_ci=(-0.2, 0.3)), at_240(efficacy_er_ci=(0.2, 0.9))),
    "persistent_low_grade_toxicity": (at_240(persistent_low_grade_rate=0.25), at_240(persistent_low_grade_rate=0.6)),
    "breakthrough_designation": (at_240(), at_240(breakthrough=True)),
    "modality_adc": (at_240(), at_240(modality="adc")),
    "modality_antibody": (at_240(), at_240(modality="antibody")),
}


def test_every_factor_has_a_direction_case():
    assert set(DIRECTION_CASES) == {f["name"] for f in load_factor_table()["factors"]}


@pytest.mark.parametrize("name", sorted(DIRECTION_CASES))
def test_each_factor_moves_score_in_documented_direction(name):
    lo, hi = DIRECTION_CASES[name]
    r_lo, r_hi = assess_pmr_risk(lo, rng(), n_draws=500), assess_pmr_risk(hi, rng(), n_draws=500)
    f_lo = next(f for f in r_lo.factors if f.name == name)
    f_hi = next(f for f in r_hi.factors if f.name == name)
    assert f_hi.value > f_lo.value
    if f_hi.direction == "raises":
        assert r_hi.probability > r_lo.probability and f_hi.contribution > f_lo.contribution
    else:
        assert r_hi.probability < r_lo.probability and f_hi.contribution < f_lo.contribution


rate = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["dose_reduction_rate", "dose_interruption_rate", "discontinuation_rate",
                              "grade3_rate", "persistent_low_grade_rate"]),
       base=st.fixed_dictionaries({k: rate for k in ["dose_reduction_rate", "dose_interruption_rate",
                                                     "discontinuation_rate", "grade3_rate",
                                                     "persistent_low_grade_rate"]}),
       a=rate, b=rate)
def test_more_toxicity_never_lowers_the_score(field, base, a, b):
    lo, hi = sorted((a, b))
    p_lo = point_probability(at_240(**{**base, field: lo}))
    p_hi = point_probability(at_240(**{**base, field: hi}))
    assert p_hi >= p_lo


@settings(max_examples=40, deadline=None)
@given(n1=st.integers(0, 300), n2=st.integers(0, 300))
def test_more_patients_never_raise_the_score(n1, n2):
    lo, hi = sorted((n1, n2))
    assert point_probability(at_240(n_patients_at_proposed=hi)) <= point_probability(at_240(n_patients_at_proposed=lo))


def test_example_at_mtd_scores_higher_than_randomized_240():
    hi, lo = assess_pmr_risk(at_mtd(), rng()), assess_pmr_risk(at_240(), rng())
    assert hi.probability > lo.probability
    assert hi.category == "high" and lo.category in ("low", "moderate")
    names = {f.name for f in hi.factors if f.contribution > 0}
    assert {"label_dose_equals_mtd", "flat_efficacy_er", "positive_safety_er"} <= names
    # at the lowest randomized arm the flat/rising E-R no longer points to an untested lower dosage
    assert next(f for f in lo.factors if f.name == "flat_efficacy_er").value == 0


def test_sotorasib_like_profile_scores_high():
    r = assess_pmr_risk(sotorasib_like(), rng())
    assert r.category == "high"
    assert next(f for f in r.factors if f.name == "top_of_range_without_mtd").value == 1
    assert next(f for f in r.factors if f.name == "no_randomized_comparison").value == 1


def test_reproducible_under_a_seed():
    a = assess_pmr_risk(at_mtd(), rng(7), n_draws=5000).model_dump_json()
    b = assess_pmr_risk(at_mtd(), rng(7), n_draws=5000).model_dump_json()
    c = assess_pmr_risk(at_mtd(), rng(8), n_draws=5000).model_dump_json()
    assert a == b and a != c


def test_simulation_agrees_with_closed_form():
    # the log-odds is a sum of independent normals: median prob == prob at the centres; interval analytic
    r = assess_pmr_risk(at_mtd(), rng(), n_draws=20000)
    assert r.probability_median == pytest.approx(r.probability, abs=0.01)
    sd = math.sqrt(r.intercept_spread**2 + sum((f.spread * f.value) ** 2 for f in r.factors))
    assert r.interval[0] == pytest.approx(float(expit(r.total_log_odds - 1.6449 * sd)), abs=0.01)
    assert r.interval[1] == pytest.approx(float(expit(r.total_log_odds + 1.6449 * sd)), abs=0.01)
    assert r.interval[0] < r.probability < r.interval[1]
    assert sum(r.category_probabilities.values()) == pytest.approx(1.0)
    assert sum(f.variance_share for f in r.factors) < 1.0


def test_sensitivity_brackets_the_probability():
    r = assess_pmr_risk(at_mtd(), rng(), n_draws=1000)
    for f in r.factors:
        assert f.probability_low <= r.probability <= f.probability_high
        if f.value == 0:
            assert f.probability_low == f.probability_high == r.probability
    mtd = next(f for f in r.factors if f.name == "label_dose_equals_mtd")
    assert mtd.probability_high - mtd.probability_low > 0.3  # the wide Collins CI shows


def test_overrides_applied_and_reported():
    base = assess_pmr_risk(at_240(), rng(), n_draws=1000)
    ovs = [FactorOverride(factor="breakthrough_designation", value=1, reason="BTD granted after data cut"),
           FactorOverride(factor="label_dose_equals_mtd", centre=1.2, spread=0.5, reason="internal meta-analysis",
                          source="sponsor database"),
           FactorOverride(factor="prior_agency_advice", value=1, centre=-0.5, spread=0.4,
                          label="Agency agreed the dosage at EOP2", reason="EOP2 minutes")]
    r = assess_pmr_risk(at_240(), rng(), overrides=ovs, n_draws=1000)
    assert [o.factor for o in r.applied_overrides] == [o.factor for o in ovs]
    by = {f.name: f for f in r.factors}
    assert by["breakthrough_designation"].value == 1 and by["breakthrough_designation"].overridden
    assert r.applied_overrides[0].changes == {"value": [0.0, 1.0]}
    assert by["label_dose_equals_mtd"].centre == 1.2 and by["label_dose_equals_mtd"].effect_size_note == EXPERT
    assert by["label_dose_equals_mtd"].source == "sponsor database"
    new = by["prior_agency_advice"]
    assert r.applied_overrides[2].new_factor and new.direction == "lowers" and new.contribution == -0.5
    assert r.intercept + sum(f.contribution for f in r.factors) == r.total_log_odds
    expected = base.total_log_odds + by["breakthrough_designation"].contribution - 0.5
    assert r.total_log_odds == pytest.approx(expected)
    with pytest.raises(ValueError, match="value, centre and spread"):
        assess_pmr_risk(at_240(), rng(), overrides=[FactorOverride(factor="x_new", value=1, reason="r")])


def test_mitigations_are_structured_and_lower_the_risk():
    r = assess_pmr_risk(at_mtd(), rng(), n_draws=1000)
    assert {m.factor for m in r.mitigations} == {f.name for f in r.factors if f.contribution > 0}
    mtd = next(m for m in r.mitigations if m.factor == "label_dose_equals_mtd")
    assert {k: mtd.evidence[k] for k in ("action", "dosages", "n_per_arm")} == {
        "action": "randomize", "dosages": [240.0, 480.0, 720.0], "n_per_arm": 40}
    for m in r.mitigations:
        assert m.probability_if_mitigated < r.probability and "action" in m.evidence
    few = next(m for m in r.mitigations if m.factor == "few_patients_at_proposed")
    assert few.evidence["n_additional"] == 88
    # proposing 480 without other levels: half the dosage as the lower arm
    r2 = assess_pmr_risk(PmrInputs(proposed_dosage=480, mtd=480), rng(), n_draws=300)
    m2 = next(m for m in r2.mitigations if m.factor == "label_dose_equals_mtd")
    assert m2.evidence["dosages"] == [240.0, 480.0]


def test_unknown_facts_are_neutral_and_listed():
    r = assess_pmr_risk(PmrInputs(proposed_dosage=100), rng(), n_draws=300)
    unknown = {f.name for f in r.factors if not f.known}
    assert {"dose_reduction_excess", "flat_efficacy_er", "few_patients_at_proposed"} <= unknown
    assert all(f.value == 0 for f in r.factors if not f.known)
    assert "dose_reduction_rate" in r.unknown_inputs and "efficacy_er_ci" in r.unknown_inputs


def test_er_positive_flag_derived_from_ci():
    assert PmrInputs(proposed_dosage=1, efficacy_er_ci=(0.1, 0.5)).efficacy_er_positive is True
    assert PmrInputs(proposed_dosage=1, safety_er_ci=(-0.1, 0.5)).safety_er_positive is False
    assert PmrInputs(proposed_dosage=1, randomized_dosages=[1, 2]).n_randomized_dosages == 2


# -- calibration: sanity check, not validation --------------------------------------------------
def test_calibration_ranking():
    cal = rank_calibration()
    assert [r.rank for r in cal.rows] == list(range(1, len(cal.rows) + 1))
    by = {r.drug: r for r in cal.rows}
    assert by["sotorasib"].category == "high" and by["sotorasib"].pmr_dose_optimization
    assert cal.concordance == 1.0  # every drug with a dosage PMR ranks above osimertinib (no PMR)
    assert cal.rows[-1].drug == "osimertinib"
    for d in load_calibration_table():
        assert d["source"] and d["confidence"] in ("high", "medium")
        PmrInputs(**d["inputs"])


def test_result_places_the_study_among_calibration_drugs():
    r = assess_pmr_risk(at_240(), rng(), n_draws=500)
    assert r.study_rank_among_calibration == len(r.calibration.rows) + 1  # below all calibration drugs
    assert assess_pmr_risk(at_mtd(), rng(), n_draws=500).study_rank_among_calibration == 1


# -- figure and template ----------------------------------------------------------------------
def test_waterfall_svg_is_deterministic():
    from dossier.render.pmr_figures import pmr_waterfall_svg

    r = assess_pmr_risk(at_mtd(), rng(), n_draws=2000)
    a, b = pmr_waterfall_svg(r), pmr_waterfall_svg(r)
    assert a == b and a.lstrip().startswith("<?xml") and "<svg" in a
    assert "Base rate" in a and "Total" in a


def _render(result, agency: str, figures: dict | None = None) -> str:
    env = Environment(loader=ChoiceLoader([
        DictLoader({"wrap.html.j2": '{%- import "base/macros.html.j2" as m with context -%}'
                                    '{% include "base/sections/pmr_risk.html.j2" %}'}),
        FileSystemLoader(str(ROOT / "dossier" / "templates"))]), autoescape=True, undefined=StrictUndefined)
    terms = {"ema": {"dosage": "posology"}}.get(agency, {"dosage": "dosage"})
    evidence = SimpleNamespace(pmr_risk=result, doses=SimpleNamespace(unit="mg"))
    return env.get_template("wrap.html.j2").render(evidence=evidence, figures=figures or {}, agency=agency,
                                                   terms=terms)


@pytest.mark.parametrize("agency,wording", [("fda", "post-marketing requirement (PMR)"),
                                            ("ema", "FDA post-marketing requirement (PMR)"),
                                            ("internal", "FDA post-marketing requirement (PMR)")])
def test_template_renders_per_agency(agency, wording):
    r = assess_pmr_risk(at_mtd(), rng(), overrides=[FactorOverride(factor="breakthrough_designation", value=1,
                                                                   reason="granted")], n_draws=1000)
    html = _render(r, agency, {"pmr_waterfall": "<svg id='w'></svg>"})
    assert html.lstrip().startswith('<section id="pmr-risk">\n<h2>')
    assert wording in html and "not a validated prediction" in html
    assert "expert judgement, no published effect size" in html and "<svg id='w'>" in html
    assert f'data-eid="pmr.probability" href="#ev-pmr">{100 * r.probability:.1f}%' in html
    assert 'data-eid="pmr.interval"' in html and 'data-eid="pmr.factor.label_dose_equals_mtd.contribution"' in html
    assert 'data-eid="pmr.factor.label_dose_equals_mtd.odds_ratio" href="#ev-pmr">2.19<' in html
    assert "Changed factor" in html and "granted" in html and "A sanity check, not a validation" in html
    assert 'data-eid="pmr.mitigation.label_dose_equals_mtd.dosages.0" href="#ev-pmr">240<' in html
    # the score is FDA-based: no document relabels it as another agency's measure (issue 15)
    assert "post-authorisation measure" not in html and "承認条件" not in html
    if agency == "ema":
        assert "posology" in html
    # every number of the prose and of the numeric cells sits in a macro span; citations (sources, the
    # calibration facts) are reference text and are not checked
    text = re.sub(r'<a class="num"[^>]*>.*?</a>', "", html)
    parts = re.findall(r'<td class="n">(.*?)</td>', text) + re.findall(r"<p[^>]*>(.*?)</p>", text, flags=re.S)
    prose = " ".join(parts)
    for cited in (r.base_rate_source, r.intercept_spread_source, "Clin Cancer Res 2024;30:937"):
        prose = prose.replace(str(markupsafe.escape(cited)), "")
    prose = re.sub(r"(?i)grade 3 or higher", "", prose)  # a term, not a number
    prose = re.sub(r"<[^>]+>", " ", prose)
    stray = re.findall(r"(?<![A-Za-z-])\d+(?:\.\d+)?%?", prose)
    assert stray == [], stray[:10]


def test_template_guards_missing_result_and_figure():
    html = _render(None, "fda")
    assert '<section id="pmr-risk">' in html and "not assessed" in html
    html = _render(assess_pmr_risk(at_240(), rng(), n_draws=300), "pmda")
    assert "<figure" not in html and "No factor was overridden" in html
