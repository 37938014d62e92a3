"""Patient-reported outcomes in the justification matrix (the ``patient_reported`` line of
dossier/analyses/justification.py) and in the benefit-risk utility (dossier/analyses/benefit_risk.py).

References: the cell rule is the module docstring's (the clinician-reported tolerability rule applied to the
PRO rates); the interval it prints is Newcombe's method 10, checked here against Newcombe (Stat Med 1998;
17:873-890) Table II example (a): 56/70 vs 48/80, difference 0.2, 95% CI 0.0524 to 0.3339. The utility is
the closed form of the weighted additive index (Ouellet 2009) with the stated default weights; the PRO
bootstrap is Binomial(n, p)/n, whose mean and variance are checked within Monte Carlo error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dossier.analyses import AnalysesBundle
from dossier.analyses.benefit_risk import DEFAULT_PRO_WEIGHTS, _pro_criteria, analyse_benefit_risk
from dossier.analyses.justification import PRO_KEYS, analyse_justification
from dossier.analyses.predictions import PredictionDraws
from dossier.analyses.pro import PatientReportedResult, ProDoseSummary, ProSettings
from dossier.analyses.stats import newcombe_diff_ci, rate
from dossier.wording import say

PHRASE = "patient-reported tolerability"


def _summary(dose, n=20, high=None, qol=None, pf=None):
    """A ProDoseSummary; each measure (events, n) or None (instrument not collected)."""
    def r(x):
        return None if x is None else rate(*x)

    return ProDoseSummary(dose=dose, control=False, n=n, high_symptom=r(high), qol_deterioration=r(qol),
                          physical_deterioration=r(pf))


def _pro(*rows):
    return PatientReportedResult(settings=ProSettings(), instruments=["PRO-CTCAE", "QLQ-C30"],
                                 n_patients=sum(s.n for s in rows), by_dose=list(rows))


def _justify(pro, doses=(10.0, 20.0, 40.0), proposed=20.0, treated=20, bundle=None):
    rows = [SimpleNamespace(dose=d, n_subjects=treated, control=False) for d in doses]
    b = (bundle or AnalysesBundle()).model_copy(update={"patient_reported": pro})
    return analyse_justification(b, SimpleNamespace(rows=rows), list(doses), proposed, [max(doses)], "mg",
                                 min_patients=10)


def _verdicts(j):
    return {r.dose: r.cell("patient_reported").verdict for r in j.rows}


# --- the cell rule on constructed PRO evidence -----------------------------------------------------------

def test_each_verdict_by_the_tolerability_rule():
    # 10 mg: significantly less QoL deterioration than the proposed 20 mg; 40 mg: significantly more symptoms
    j = _justify(_pro(_summary(10.0, high=(2, 20), qol=(1, 20), pf=(3, 20)),
                      _summary(20.0, high=(2, 20), qol=(12, 20), pf=(3, 20)),
                      _summary(40.0, high=(15, 20), qol=(12, 20), pf=(3, 20))))
    assert j.lines["patient_reported"] == "Patient-reported tolerability"
    assert _verdicts(j) == {10.0: "supports", 20.0: "against", 40.0: "against"}
    assert j.row(20.0).cell("patient_reported").reason == \
        "significantly less patient-reported toxicity at 10 (global health status deterioration)"
    # the lower dose no better: the proposed dose is supported by the worse higher dose
    j = _justify(_pro(_summary(10.0, high=(2, 20), qol=(12, 20), pf=(3, 20)),
                      _summary(20.0, high=(2, 20), qol=(12, 20), pf=(3, 20)),
                      _summary(40.0, high=(15, 20), qol=(12, 20), pf=(3, 20))))
    assert _verdicts(j) == {10.0: "neutral", 20.0: "supports", 40.0: "against"}
    assert "more patient-reported toxicity at 40 (PRO-CTCAE score ≥3 above baseline)" in \
        j.row(20.0).cell("patient_reported").reason
    # no significant difference anywhere: neutral at every dose
    same = dict(high=(4, 20), qol=(8, 20), pf=(5, 20))
    j = _justify(_pro(*(_summary(d, **same) for d in (10.0, 20.0, 40.0))))
    assert set(_verdicts(j).values()) == {"neutral"}


def test_reason_prints_the_newcombe_interval_of_the_difference():
    # Newcombe (1998) Table II (a): 56/70 vs 48/80 -> +0.2000 (0.0524 to 0.3339)
    j = _justify(_pro(_summary(20.0, n=80, high=(48, 80)), _summary(40.0, n=70, high=(56, 70))),
                 doses=(20.0, 40.0))
    c = j.row(40.0).cell("patient_reported")
    assert c.verdict == "against"
    assert c.reason == "PRO-CTCAE score ≥3 above baseline +20.0 points vs 20 (95% CI 5.2 to 33.4)"
    assert c.evidence == ["pro.dose.40", "pro.dose.20"]


def test_not_collected_leaves_the_line_out_and_names_it_absent():
    j = _justify(None)
    assert "patient_reported" not in j.lines and PHRASE in j.absent_lines
    assert all(c.line != "patient_reported" for r in j.rows for c in r.cells)


def test_small_n_is_not_assessable_and_missing_is_never_zero():
    # 10 mg: 5 patients with PRO assessments (treated: 20) -> not assessable, whatever its rates
    j = _justify(_pro(_summary(10.0, n=5, high=(0, 5), qol=(0, 5), pf=(0, 5)),
                      _summary(20.0, high=(10, 20), qol=(12, 20), pf=(10, 20)),
                      _summary(40.0, high=(10, 20), qol=(12, 20), pf=(10, 20))))
    c = j.row(10.0).cell("patient_reported")
    assert c.verdict == "not_assessable"
    assert c.reason == "5 patients with a post-baseline PRO assessment (fewer than 10)"
    # too few at the proposed dose: nothing to compare with, the line assesses no dose and is left out
    j = _justify(_pro(_summary(10.0, high=(0, 20)), _summary(20.0, n=6, high=(5, 6)), _summary(40.0, high=(9, 20))))
    assert "patient_reported" not in j.lines and PHRASE in j.absent_lines
    # QLQ-C30 not collected at 10 mg and PRO-CTCAE not collected at 20 mg: no measure known at both doses.
    # Read as 0 the missing rates would make 10 mg "supports" (0/20 vs 12/20); it is not assessable.
    j = _justify(_pro(_summary(10.0, high=(0, 20)), _summary(20.0, qol=(12, 20), pf=(12, 20)),
                      _summary(40.0, qol=(12, 20), pf=(12, 20))))
    c = j.row(10.0).cell("patient_reported")
    assert c.verdict == "not_assessable" and "no patient-reported measure known at both" in c.reason
    # a dose without any PRO record (not in by_dose) is not assessable, not "no toxicity"
    j = _justify(_pro(_summary(20.0, high=(10, 20)), _summary(40.0, high=(10, 20))))
    assert j.row(10.0).cell("patient_reported").verdict == "not_assessable"


def test_only_the_collected_instrument_is_compared():
    # QLQ-C30 not collected: only PRO-CTCAE enters, and the reason says nothing of QLQ-C30
    j = _justify(_pro(_summary(10.0, high=(2, 20)), _summary(20.0, high=(2, 20)), _summary(40.0, high=(15, 20))))
    c = j.row(40.0).cell("patient_reported")
    assert c.verdict == "against" and "deterioration" not in c.reason and c.reason.count("points vs 20") == 1


def test_a_patient_reported_against_never_excludes_a_dose():
    pro = _pro(_summary(10.0, high=(0, 20), qol=(0, 20), pf=(0, 20)),
               _summary(20.0, high=(18, 20), qol=(18, 20), pf=(18, 20)),
               _summary(40.0, high=(20, 20), qol=(20, 20), pf=(20, 20)))
    with_pro, without = _justify(pro), _justify(None)
    assert _verdicts(with_pro)[20.0] == "against"
    assert [r.efficacy_excluded for r in with_pro.rows] == [r.efficacy_excluded for r in without.rows]
    assert with_pro.favoured == without.favoured


# --- the example (examplinib has PRO-CTCAE and QLQ-C30) ----------------------------------------------------

@pytest.fixture(scope="module")
def example_matrix(example, example_bundle):
    from dossier.analyses.dose_summary import analyse_dose_summary

    spec, data = example
    ds = analyse_dose_summary(data, spec.doses.levels, spec.doses.unit, spec.filters.exposure_paramcd)

    def justify(bundle):
        return analyse_justification(bundle, ds, list(spec.doses.levels), spec.proposed_dosage,
                                     list(spec.randomized_dosages), spec.doses.unit,
                                     min_patients=bundle.settings.cui_min_patients)
    return justify(example_bundle), justify(example_bundle.model_copy(update={"patient_reported": None}))


def test_example_line_is_coherent_with_the_pro_section(example, example_bundle, example_matrix):
    spec, _ = example
    j, _ = example_matrix
    P = spec.proposed_dosage
    assert "patient_reported" in j.lines and PHRASE not in j.absent_lines
    by = {s.dose: s for s in example_bundle.patient_reported.by_dose}
    high = example_bundle.patient_reported.settings.high_score
    for r in j.rows:
        c = r.cell("patient_reported")
        if by[r.dose].n < j.min_patients:
            assert c.verdict == "not_assessable" and c.reason.startswith(f"{by[r.dose].n} patients"), r.dose
            continue
        if r.dose == P:
            continue
        # every measure's difference and interval are those of the PRO section's rates (pro.dose.<d>)
        signs = []
        facts = {f.values["measure"]: f.values for f in c.facts}
        for k in PRO_KEYS:
            x, ref = getattr(by[r.dose], k), getattr(by[P], k)
            e, lo, hi = newcombe_diff_ci(x.events, x.n, ref.events, ref.n)
            assert (facts[k]["e"], facts[k]["lo"], facts[k]["hi"]) == (e, lo, hi)
            label = say(f"just.patient_reported.measure.{k}", high=high)
            assert f"{label} {100 * e:+.1f} points vs {P:g} (95% CI {100 * lo:.1f} to " \
                   f"{100 * hi:.1f})" in c.reason
            signs.append(1 if lo > 0 else -1 if hi < 0 else 0)
        expected = ("supports" if -1 in signs else "neutral") if r.dose < P else ("against" if 1 in signs else "neutral")
        assert c.verdict == expected, (r.dose, c.reason)
    # the generator's truth: more symptoms at higher doses -- 480 mg is worse on every PRO measure
    assert j.row(480.0).cell("patient_reported").verdict == "against"
    assert j.row(480.0).cell("patient_reported").reason.count("(95% CI") == len(PRO_KEYS)


def test_example_without_pro_lists_the_line_as_absent(example_matrix):
    j, without = example_matrix
    assert "patient_reported" not in without.lines and PHRASE in without.absent_lines
    # the other lines and the decision are untouched by the PRO line
    for r, s in zip(j.rows, without.rows, strict=True):
        assert [c for c in r.cells if c.line != "patient_reported"] == s.cells
        assert r.efficacy_excluded == s.efficacy_excluded
    assert j.favoured == without.favoured


def _bare_numbers():
    path = Path(__file__).resolve().parents[1] / "render" / "test_evidence_sentences.py"
    spec = importlib.util.spec_from_file_location("_evidence_sentences", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.unlinked_by_section


def test_example_section_states_the_rule_and_links_every_number(example, example_bundle, example_matrix):
    from dossier.jurisdictions import load_profile

    from .test_sections import _env

    spec, _ = example
    j, _ = example_matrix
    tpl = _env().from_string('{% import "base/macros.html.j2" as m with context %}'
                             '<div class="core-section" id="core-justification">'
                             '{% include "base/sections/justification.html.j2" %}</div>')
    evidence = SimpleNamespace(analyses=example_bundle, doses=spec.doses, proposed_dosage=spec.proposed_dosage,
                               justification=j)
    html = tpl.render(evidence=evidence, figures={}, terms=load_profile("fda").terms, agency="fda")
    assert "<th>Patient-reported tolerability</th>" in html
    assert "line applies the tolerability rule to patient-reported rates" in html
    assert "it is weighed but never excludes a dose" in html
    bare = _bare_numbers()(html).get("core-justification", [])
    # (the biomarker rule's "dose 0" is another line's sentence, left to its owner)
    assert [t for t in bare if "patient-reported" in t.lower() or "PRO" in t] == [], bare


# --- the benefit-risk utility ------------------------------------------------------------------------------

def _draws(doses=(10.0, 20.0, 40.0), n_boot=400, seed=3):
    g = np.random.default_rng(seed)
    point = {"response": np.array([0.2, 0.45, 0.5]), "severe": np.array([0.1, 0.2, 0.4]),
             "modified": np.array([0.1, 0.25, 0.45])}
    draws = {k: np.clip(v[None, :] + g.normal(0, 0.03, (n_boot, 3)), 0, 1) for k, v in point.items()}
    pred = SimpleNamespace(dosages=[SimpleNamespace(dose=d, n_observed=20, extrapolated=False) for d in doses])
    return pred, PredictionDraws(list(doses), draws, point)


def _br_pro(qol20=(12, 20)):
    return _pro(_summary(10.0, high=(1, 20), qol=(2, 20)), _summary(20.0, high=(2, 20), qol=qol20),
                _summary(40.0, high=(15, 20), qol=(18, 20)))


def test_utility_without_pro_is_unchanged():
    pred, draws = _draws()
    base = analyse_benefit_risk(pred, draws, 20.0)
    assert base.pro_status == {"pro_symptom": "not_collected", "pro_qol": "not_collected"}
    assert base.model_copy(update={"pro_status": {}}) == \
        analyse_benefit_risk(pred, draws, 20.0, pro=None, rng=np.random.default_rng(1)).model_copy(
            update={"pro_status": {}})
    assert base.weights == pytest.approx({"response": 0.5, "severe": 0.3, "modified": 0.2})


def test_utility_weighs_the_observed_pro_rates_with_the_default_weights():
    pred, draws = _draws()
    br = analyse_benefit_risk(pred, draws, 20.0, pro=_br_pro(), rng=np.random.default_rng(7))
    assert br.pro_weighed == ["pro_symptom", "pro_qol"]
    raw = {"response": 0.5, "severe": 0.3, "modified": 0.2, **DEFAULT_PRO_WEIGHTS}
    w = {k: v / sum(raw.values()) for k, v in raw.items()}
    assert br.weights == pytest.approx(w)
    pro_rates = {"pro_symptom": np.array([1, 2, 15]) / 20, "pro_qol": np.array([2, 12, 18]) / 20}
    for j, u in enumerate(br.dosages):
        closed = w["response"] * draws.point["response"][j] + sum(
            w[k] * (1 - (draws.point[k][j] if k in draws.point else pro_rates[k][j])) for k in w if k != "response")
        assert u.utility == pytest.approx(closed, abs=1e-12)
        assert u.components["pro_qol"] == pro_rates["pro_qol"][j]
    assert {d.source for d in br.drivers if d.endpoint.startswith("pro_")} == {"pro"}
    # the spec's weight is used; weight 0 leaves the criterion out and says so
    br2 = analyse_benefit_risk(pred, draws, 20.0, weights={**raw, "pro_qol": 0.3}, pro=_br_pro(),
                               rng=np.random.default_rng(7))
    assert br2.weights["pro_qol"] == pytest.approx(0.3 / 1.4)  # 0.5 + 0.3 + 0.2 + 0.1 + 0.3
    br0 = analyse_benefit_risk(pred, draws, 20.0, weights={**raw, "pro_qol": 0.0}, pro=_br_pro(),
                               rng=np.random.default_rng(7))
    assert br0.pro_status["pro_qol"] == "zero_weight" and "pro_qol" not in br0.weights


def test_pro_rate_unknown_at_a_dosage_leaves_the_criterion_out():
    pred, draws = _draws()
    pro = _pro(_summary(10.0, high=(1, 20), qol=(2, 20)), _summary(20.0, high=(2, 20)),
               _summary(40.0, high=(15, 20), qol=(18, 20)))  # QLQ-C30 missing at 20 mg: never 0
    br = analyse_benefit_risk(pred, draws, 20.0, pro=pro, rng=np.random.default_rng(7))
    assert br.pro_status == {"pro_symptom": "weighed", "pro_qol": "incomplete"}
    assert set(br.weights) == {"response", "severe", "modified", "pro_symptom"}


def test_pro_bootstrap_is_the_resampled_proportion_within_mc_error():
    n_draws = 4000
    pro = _br_pro()
    point, sample, status = _pro_criteria(pro, [10.0, 20.0, 40.0], {}, n_draws, np.random.default_rng(11))
    assert status == {"pro_symptom": "weighed", "pro_qol": "weighed"}
    for key, ev in (("pro_symptom", (1, 2, 15)), ("pro_qol", (2, 12, 18))):
        p = np.array(ev) / 20
        assert np.array_equal(point[key], p)
        var = p * (1 - p) / 20  # Var of a resampled proportion of 20 patients
        se_mean = np.sqrt(var / n_draws)
        assert np.all(np.abs(sample[key].mean(axis=0) - p) <= 3 * se_mean)
        # sample variance: its SE from the binomial's fourth central moment, mu4 = n p q (1 + 3 (n - 2) p q) / n^4
        q = 1 - p
        mu4 = 20 * p * q * (1 + 3 * (20 - 2) * p * q) / 20 ** 4
        se_var = np.sqrt((mu4 - var ** 2) / n_draws)
        assert np.all(np.abs(sample[key].var(axis=0) - var) <= 3 * se_var + 1e-15)


def test_example_benefit_risk_weighs_pro(example_bundle):
    br = example_bundle.benefit_risk
    assert br.pro_status == {"pro_symptom": "weighed", "pro_qol": "weighed"}
    by = {s.dose: s for s in example_bundle.patient_reported.by_dose}
    for u in br.dosages:
        assert u.components["pro_symptom"] == by[u.dose].high_symptom.rate
        assert u.components["pro_qol"] == by[u.dose].qol_deterioration.rate


def test_benefit_risk_section_states_the_pro_criteria_and_links_their_numbers(example, example_bundle):
    from .test_sections import render

    spec, _ = example
    html = '<div class="core-section" id="core-benefit_risk">' + render("benefit_risk", example_bundle, spec) + "</div>"
    assert "combines the predicted probabilities and the observed patient-reported rates" in html
    assert "patient-reported (observed)" in html  # PRO drivers are labelled as observed, not predicted
    assert _bare_numbers()(html) == {}
    # PROs not collected: the index says so, and names nothing it did not weigh as weighed
    br = example_bundle.benefit_risk.model_copy(update={"pro_status": {"pro_symptom": "not_collected",
                                                                       "pro_qol": "not_collected"}})
    html = render("benefit_risk", example_bundle.model_copy(update={"benefit_risk": br, "patient_reported": None}),
                  spec)
    assert "Not weighed: patient-reported severe symptom (PRO-CTCAE) (not collected); patient-reported " \
           "deterioration of global health status (QLQ-C30) (not collected)." in html
    assert "observed patient-reported rates" not in html
