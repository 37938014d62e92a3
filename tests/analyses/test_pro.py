"""PRO-CTCAE (ProAE measures, composite grading) and EORTC QLQ-C30 scoring.

References:
- ProAE 1.0.4 (CRAN) outputs frozen by fixtures/proae/freeze.R: toxScores(composites, impute),
  toxSummary(max_post_bl, bl_adjusted, AUC_worsening, AUC_improvement) on ProAE's tox_acute data.
- EORTC QLQ-C30 Scoring Manual, 3rd ed. (Fayers et al. 2001), section 3 "Scoring procedures": the
  scale formulas and the half-items rule for missing items; closed forms computed by hand below.
- Giesinger et al., J Clin Epidemiol 2016;69:79-88: the summary score (mean of 13 scales).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dossier.analyses.pro import (
    ProSettings,
    _patient_level,
    analyse_patient_reported,
    composite_grade,
    incremental_auc,
    item_library,
    score_qlq_c30,
    zero_impute,
)
from dossier.ingest.tables import StudyData

FIX = Path(__file__).resolve().parent / "fixtures" / "proae"


def _nan(x) -> float:
    return float("nan") if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


# -- PRO-CTCAE -------------------------------------------------------------------------------------------
def test_composite_grades_match_proae_toxscores():
    """Every combination of 0-4/missing for one item of each of the 7 attribute patterns, with and without
    zero-imputation: ProAE toxScores(composites = TRUE[, impute = TRUE])."""
    ref = pd.read_csv(FIX / "proae_composites.csv")
    lib = item_library()
    checked = 0
    for r in ref.itertuples():
        parts = sorted(k for k in lib if int(k.rstrip("ABC")) == r.item)
        attrs = tuple(lib[k][1] for k in parts)
        vals = [_nan(r.a), _nan(r.b), _nan(r.c)][: len(parts)]
        if r.impute:
            vals = [vals[0]] + [zero_impute(vals[0], v) for v in vals[1:]]
        given = dict(zip(["interference" if a == "amount" else a for a in attrs], vals, strict=True))
        got = composite_grade(given.get("frequency"), given.get("severity"), given.get("interference"), attrs)
        want = _nan(r.composite)
        assert (math.isnan(got) and math.isnan(want)) or got == want, (r, got)
        checked += 1
    assert checked == len(ref) == 684


def _tox_acute_data() -> tuple[StudyData, pd.DataFrame]:
    d = pd.read_csv(FIX / "proae_tox_acute.csv")
    rows = []
    for item, col in (("9A", "PROCTCAE_9A_SCL"), ("9B", "PROCTCAE_9B_SCL")):
        rows.append(pd.DataFrame({
            "usubjid": d["id"].astype(str), "instrument": "PRO-CTCAE", "item": item, "paramcd": f"PRO09{item[-1]}",
            "visit": "Cycle " + d["Cycle"].astype(str), "visitn": d["Cycle"].astype(float), "day": np.nan,
            "value": d[col].astype(float), "baseline": d["Cycle"] == 1, "post_baseline": d["Cycle"] > 1}))
    pro = pd.concat(rows, ignore_index=True)
    arm = d.groupby("id")["arm"].first()
    subjects = pd.DataFrame({"usubjid": arm.index.astype(str), "dose": np.where(arm == "Drug", 100.0, 0.0),
                             "control": (arm == "Placebo").to_numpy()})
    return StudyData(subjects=subjects, pro=pro), d


def test_patient_level_max_and_baseline_adjusted_match_proae_toxsummary():
    data, _ = _tox_acute_data()
    ref = pd.read_csv(FIX / "proae_patient_level.csv").set_index("id")
    for item in ("9A", "9B"):
        pl = _patient_level(data.pro[data.pro["item"] == item])
        pl.index = pl.index.astype(int)
        pl = pl.reindex(ref.index)
        np.testing.assert_array_equal(pl["max_post"].to_numpy(), ref[f"PROCTCAE_{item}_SCL_max_post_bl"].to_numpy())
        np.testing.assert_array_equal(pl["adjusted"].to_numpy(), ref[f"PROCTCAE_{item}_SCL_bl_adjusted"].to_numpy())
    # the rule itself: adjusted is 0 exactly where max post-baseline <= baseline
    assert ((pl["adjusted"] == 0) == (pl["max_post"] <= pl["baseline"])).all()


def test_group_iauc_matches_proae_auc_worsening_and_improvement():
    data, _ = _tox_acute_data()
    ref = pd.read_csv(FIX / "proae_auc.csv")
    res = analyse_patient_reported(data)
    by_item = {i.item: i for i in res.pro_ctcae.items}
    for r in ref.itertuples():
        dose = 100.0 if r.arm == "Drug" else 0.0
        for item, want in (("9A", r.PROCTCAE_9A_SCL), ("9B", r.PROCTCAE_9B_SCL)):
            arm = next(a for a in by_item[item].arms if a.dose == dose)
            got = arm.auc_worsening if r.measure == "AUC_worsening" else arm.auc_improvement
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (r.arm, item, r.measure)


def test_incremental_auc_closed_form():
    """Triangle above baseline: mean 1 at t=1 (baseline), 3 at t=2, 1 at t=3 -> area 2; crossing below."""
    assert incremental_auc(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 1.0]), 1.0) == (2.0, 0.0)
    # from +2 to -2 over one unit crosses at the midpoint: 0.5 above (area 0.5), 0.5 below (area -0.5)
    w, b = incremental_auc(np.array([0.0, 1.0]), np.array([2.0, -2.0]), 0.0)
    assert (w, b) == (pytest.approx(0.5), pytest.approx(-0.5))


def test_item_summaries_by_dose_use_exact_cis():
    data, d = _tox_acute_data()
    res = analyse_patient_reported(data, ProSettings(high_score=3))
    item = next(i for i in res.pro_ctcae.items if i.item == "9A")
    assert (item.term, item.attribute) == ("Nausea", "frequency")
    drug = next(a for a in item.arms if a.dose == 100.0)
    post = d[(d["arm"] == "Drug") & (d["Cycle"] > 1)].groupby("id")["PROCTCAE_9A_SCL"].max()
    assert drug.n == len(post) and drug.high.events == int((post >= 3).sum())
    assert sum(drug.max_distribution.counts) == drug.n
    from scipy import stats
    k, n = drug.high.events, drug.n
    assert drug.high.ci_lower == pytest.approx(stats.beta.ppf(0.025, k, n - k + 1))
    comp = next(c for c in res.pro_ctcae.composites if c.item == "9")
    assert comp.attribute == "composite" and sum(comp.arms[0].max_distribution.counts) == comp.arms[0].n


# -- QLQ-C30 ---------------------------------------------------------------------------------------------
def _items(**answers: float) -> pd.DataFrame:
    row = {str(i): np.nan for i in range(1, 31)}
    row.update({k.lstrip("q"): float(v) for k, v in answers.items()})
    return pd.DataFrame([row])


def test_qlq_c30_scale_formulas_from_the_manual():
    """Scoring Manual section 3: EF (items 21-24) answered 2,3,2,1 -> RS = 2, EF = (1 - (2-1)/3)*100 = 66.67;
    fatigue (10, 12, 18) answered 2,3,4 -> RS = 3, FA = (3-1)/3*100 = 66.67; QL (29, 30) answered 5, 6 ->
    RS = 5.5, QL = (5.5-1)/6*100 = 75; dyspnoea (8) answered 4 -> 100; PF (1-5) all 1 -> 100."""
    s = score_qlq_c30(_items(q21=2, q22=3, q23=2, q24=1, q10=2, q12=3, q18=4, q29=5, q30=6, q8=4,
                             q1=1, q2=1, q3=1, q4=1, q5=1)).iloc[0]
    assert s["EF"] == pytest.approx(200 / 3)
    assert s["FA"] == pytest.approx(200 / 3)
    assert s["QL2"] == pytest.approx(75.0)
    assert s["DY"] == pytest.approx(100.0)
    assert s["PF2"] == pytest.approx(100.0)
    assert math.isnan(s["SL"])  # single item not answered


def test_qlq_c30_half_items_rule():
    """At least half of a scale's items answered: RS is the mean of those answered; fewer: missing."""
    s = score_qlq_c30(_items(q1=2, q2=3, q3=4, q6=3, q10=4)).iloc[0]
    assert s["PF2"] == pytest.approx((1 - (3 - 1) / 3) * 100)  # 3 of 5 items: RS = 3
    assert s["RF2"] == pytest.approx((1 - (3 - 1) / 3) * 100)  # 1 of 2 items: half answered
    assert math.isnan(s["FA"])  # 1 of 3 items: fewer than half
    s = score_qlq_c30(_items(q1=2, q2=3)).iloc[0]
    assert math.isnan(s["PF2"])  # 2 of 5 items


def test_qlq_c30_summary_score_giesinger():
    """Summary = mean(PF, RF, EF, CF, SF, 100-FA, 100-PA, 100-NV, 100-DY, 100-SL, 100-AP, 100-CO, 100-DI);
    all items answered 1 (best on every scale): 100; all 2: functional 66.67, symptom 33.33 -> 66.67."""
    all1 = _items(**{f"q{i}": 1 for i in range(1, 29)}, q29=7, q30=7)
    assert score_qlq_c30(all1).iloc[0]["C30SUM"] == pytest.approx(100.0)
    all2 = _items(**{f"q{i}": 2 for i in range(1, 29)})
    assert score_qlq_c30(all2).iloc[0]["C30SUM"] == pytest.approx(200 / 3)
    missing_di = _items(**{f"q{i}": 2 for i in range(1, 29) if i != 17})
    assert math.isnan(score_qlq_c30(missing_di).iloc[0]["C30SUM"])


def _qlq_study(points: float = 10.0):
    """Two patients at dose 100: fatigue items at baseline 1,1,1 (FA 0) then 2,2,2 (FA 33.3); global
    health 6,6 (QL 83.3) then 5,5 (QL 66.7) for patient A; patient B unchanged."""
    rows = []
    for u, later in (("A", True), ("B", False)):
        for visit, n, bl in (("BASELINE", 0.0, True), ("WEEK 4", 4.0, False)):
            worse = later and not bl
            for item, v in (("10", 2 if worse else 1), ("12", 2 if worse else 1), ("18", 2 if worse else 1),
                            ("29", 5 if worse else 6), ("30", 5 if worse else 6)):
                rows.append({"usubjid": u, "instrument": "QLQ-C30", "item": item, "paramcd": f"C30Q{int(item):02d}",
                             "visit": visit, "visitn": n, "day": np.nan, "value": float(v), "baseline": bl,
                             "post_baseline": not bl})
    subjects = pd.DataFrame({"usubjid": ["A", "B"], "dose": [100.0, 100.0], "control": [False, False]})
    return StudyData(subjects=subjects, pro=pd.DataFrame(rows))


def test_qlq_change_from_baseline_and_deterioration():
    res = analyse_patient_reported(_qlq_study(), ProSettings(deterioration_points=10))
    fa = res.qlq_c30.get("FA").arms[0]
    assert fa.baseline_mean == pytest.approx(0.0)
    v = fa.visits[0]
    assert (v.visit, v.n) == ("WEEK 4", 2)
    assert v.mean_change == pytest.approx(100 / 6)  # (33.3 + 0) / 2
    # t-based CI: mean +- t(0.975, 1) * sd / sqrt(2), sd of (33.3, 0) = 33.3/sqrt(2)
    from scipy import stats
    half = stats.t.ppf(0.975, 1) * (100 / 3 / math.sqrt(2)) / math.sqrt(2)
    assert v.ci_lower == pytest.approx(100 / 6 - half) and v.ci_upper == pytest.approx(100 / 6 + half)
    assert (fa.deterioration.events, fa.deterioration.n) == (1, 2)  # +33.3 points is a deterioration
    ql = res.qlq_c30.get("QL2").arms[0]
    assert (ql.deterioration.events, ql.deterioration.n) == (1, 2)  # -16.7 points
    summary = res.by_dose[0]
    assert summary.qol_deterioration.events == 1 and summary.fatigue_deterioration.events == 1
    assert summary.high_symptom is None  # PRO-CTCAE not collected
    res20 = analyse_patient_reported(_qlq_study(), ProSettings(deterioration_points=20))
    assert res20.qlq_c30.get("QL2").arms[0].deterioration.events == 0  # 16.7 < 20
    assert res20.qlq_c30.get("FA").arms[0].deterioration.events == 1  # 33.3 >= 20


def test_not_collected_is_none():
    subjects = pd.DataFrame({"usubjid": ["A"], "dose": [100.0], "control": [False]})
    assert analyse_patient_reported(StudyData(subjects=subjects)) is None


# -- the section ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example_pro(example):
    spec, data = example
    return spec, analyse_patient_reported(data)


def test_section_renders_example_with_evidence_ids_identical_across_agencies(example_pro):
    from dossier.analyses import AnalysesBundle

    from .test_sections import NUM, _Balance, render

    spec, pr = example_pro
    assert pr is not None and pr.instruments == ["PRO-CTCAE", "QLQ-C30"]
    bundle = AnalysesBundle(patient_reported=pr)
    fda, ema = render("patient_reported", bundle, spec, "fda"), render("patient_reported", bundle, spec, "ema")
    nums = NUM.findall(fda)
    assert nums and nums == NUM.findall(ema)
    eids = [e for e, _ in nums]
    assert len(eids) == len(set(eids)), [e for e in eids if eids.count(e) > 1][:5]
    assert all(e.startswith("pro.") for e in eids)
    p = _Balance()
    p.feed(fda)
    assert not p.stack
    assert "NaN" not in fda and "None" not in fda and "not collected" not in fda
    # the story of the example: more patient-reported diarrhoea and fatigue at 480 than at 240 mg
    by = {s.dose: s for s in pr.by_dose}
    assert by[240.0].high_symptom.rate < by[480.0].high_symptom.rate
    assert by[240.0].fatigue_deterioration.rate <= by[480.0].fatigue_deterioration.rate


def test_section_says_not_collected_and_nothing_else(example):
    from dossier.analyses import AnalysesBundle

    from .test_sections import NUM, render

    spec, _ = example
    for bundle in (AnalysesBundle(), None):
        html = render("patient_reported", bundle, spec)
        assert "not collected" in html and not NUM.findall(html)


def test_qlq_change_figure_is_made_from_the_result(example_pro):
    from dossier.analyses import AnalysesBundle
    from dossier.render.figures import all_figures

    _, pr = example_pro
    figs = all_figures(AnalysesBundle(patient_reported=pr))
    assert set(figs) == {"qlq_c30_change"} and figs["qlq_c30_change"].lstrip().startswith("<?xml")
    assert all_figures(AnalysesBundle()) == {}


def test_by_dose_high_symptom_is_any_item_baseline_adjusted_at_or_above_3():
    """ProAE bl_adjusted (frozen) of nausea frequency or severity >= 3, per arm."""
    data, d = _tox_acute_data()
    ref = pd.read_csv(FIX / "proae_patient_level.csv").set_index("id")
    high = (ref[["PROCTCAE_9A_SCL_bl_adjusted", "PROCTCAE_9B_SCL_bl_adjusted"]] >= 3).any(axis=1)
    arm = d.groupby("id")["arm"].first().reindex(ref.index)
    res = analyse_patient_reported(data)
    by = {s.dose: s for s in res.by_dose}
    for name, dose in (("Drug", 100.0), ("Placebo", 0.0)):
        s = by[dose]
        assert (s.high_symptom.events, s.high_symptom.n) == (int(high[arm == name].sum()), int((arm == name).sum()))
        assert s.control == (name == "Placebo") and s.qol_deterioration is None


def test_spec_options_reach_the_analysis_settings():
    """`analyses.pro_deterioration_points` / `pro_ctcae_high_score` in the spec -> AnalysisSettings (same names)."""
    from dossier.analyses import AnalysisSettings
    from dossier.spec import AnalysisOptions

    opts = AnalysisOptions(pro_deterioration_points=15, pro_ctcae_high_score=2)
    s = AnalysisSettings(**opts.model_dump())
    assert (s.pro_deterioration_points, s.pro_ctcae_high_score) == (15, 2)
    defaults = AnalysisSettings(**AnalysisOptions().model_dump())
    assert (defaults.pro_deterioration_points, defaults.pro_ctcae_high_score) == (10.0, 3)
