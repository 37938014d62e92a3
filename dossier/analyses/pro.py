"""Patient-reported tolerability and quality of life by dosage: PRO-CTCAE and EORTC QLQ-C30.

FDA's 2024 dosage-optimization guidance asks for the patient's experience of (low-grade, chronic)
toxicity at each dosage; this module turns the ``pro`` table (dossier/ingest/pro.py) into that evidence.

**PRO-CTCAE** (NCI item library v1.0; items scored 0-4), per item and attribute (frequency, severity,
interference/amount) and per dosage, as the ProAE R package (Langlais, Dueck et al.; CRAN ``ProAE``
1.0.4, ``toxSummary``/``toxAUC``) defines the measures:

- *maximum post-baseline score* per patient (``max_post_bl``: the largest score at an assessment after
  baseline), its distribution and the proportion with a maximum >= ``high_score`` (default 3), with an
  exact Clopper-Pearson CI;
- *baseline-adjusted score* (``bl_adjusted``): the maximum post-baseline score, set to 0 when it does not
  exceed the baseline score; missing when the baseline is missing. Proportion >= ``high_score`` among
  patients with a baseline;
- *time-adjusted view*: the incremental area under the group's mean-score curve above (worsening) and
  below (improvement) the group's baseline mean (``toxAUC``/``AUC_worsening``, ``AUC_improvement``):
  patients with a baseline score only; mean score per visit; the points where the mean curve crosses the
  baseline mean added by linear interpolation; trapezoidal rule over the visit number (AVISITN, else the
  study day);
- the follow-up questions of a symptom (severity, interference) skipped because its first question was
  answered 0 are scored 0 before any summary (PRO-CTCAE skip pattern; ProAE ``toxScores(impute = TRUE)``);
- *composite grade* 0-3 per symptom (Basch et al., Clin Trials 2021;18:104-114), looked up from the
  published table (``pro_ctcae_composite.csv``); the composite is 0 when the first question is 0 and
  missing when any of its parts is missing.

**EORTC QLQ-C30** (version 3.0) scored per the EORTC QLQ-C30 Scoring Manual (Fayers et al., 3rd ed.,
2001, section 3 "Scoring procedures"): raw score RS = mean of the scale's items; functional scales
S = (1 - (RS - 1)/range) x 100; symptom scales and global health status S = (RS - 1)/range x 100
(range 3 for items 1-28, 6 for items 29-30); a multi-item scale is scored when at least half of its
items are answered (the mean of those answered), single items only when answered. The summary score
(Giesinger et al., J Clin Epidemiol 2016;69:79-88) is the mean of the five functional scales and of
100 minus each of the eight symptom scores (fatigue, pain, nausea/vomiting, dyspnoea, insomnia,
appetite loss, constipation, diarrhoea), computed when all thirteen are available. Per dosage and
visit: mean change from baseline with a t-based 95% CI; per dosage: the proportion of patients with a
clinically meaningful deterioration (a change of at least ``deterioration_points``, default 10 points
(Osoba et al., J Clin Oncol 1998;16:139-144), in the worsening direction at any post-baseline
assessment) among patients with a baseline and at least one post-baseline score, exact CI.

:class:`PatientReportedResult` ``.by_dose`` is the small summary other analyses (justification matrix,
benefit-risk) read; see :class:`ProDoseSummary`.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from io import StringIO

import numpy as np
import pandas as pd
from scipy import stats

from dossier.analyses.stats import Rate, Result, rate
from dossier.ingest.pro import PRO_CTCAE, QLQ_C30
from dossier.ingest.tables import StudyData

ATTRIBUTE_ORDER = ("frequency", "severity", "interference", "amount", "presence")

# -- QLQ-C30 scales (Scoring Manual, 3rd ed., Table 1): code, label, kind, items ----------------------------
QLQ_C30_SCALES: list[tuple[str, str, str, tuple[int, ...]]] = [
    ("QL2", "Global health status/QoL", "global", (29, 30)),
    ("PF2", "Physical functioning", "functional", (1, 2, 3, 4, 5)),
    ("RF2", "Role functioning", "functional", (6, 7)),
    ("EF", "Emotional functioning", "functional", (21, 22, 23, 24)),
    ("CF", "Cognitive functioning", "functional", (20, 25)),
    ("SF", "Social functioning", "functional", (26, 27)),
    ("FA", "Fatigue", "symptom", (10, 12, 18)),
    ("NV", "Nausea and vomiting", "symptom", (14, 15)),
    ("PA", "Pain", "symptom", (9, 19)),
    ("DY", "Dyspnoea", "symptom", (8,)),
    ("SL", "Insomnia", "symptom", (11,)),
    ("AP", "Appetite loss", "symptom", (13,)),
    ("CO", "Constipation", "symptom", (16,)),
    ("DI", "Diarrhoea", "symptom", (17,)),
    ("FI", "Financial difficulties", "symptom", (28,)),
]
SUMMARY_SCALE = ("C30SUM", "Summary score", "summary")
SUMMARY_FUNCTIONAL = ("PF2", "RF2", "EF", "CF", "SF")
SUMMARY_SYMPTOMS = ("FA", "PA", "NV", "DY", "SL", "AP", "CO", "DI")


# -- settings and results ----------------------------------------------------------------------------------
class ProSettings(Result):
    high_score: int = 3  # PRO-CTCAE score counted as high (3 = "frequently"/"severe"/"quite a bit")
    deterioration_points: float = 10.0  # QLQ-C30 clinically meaningful change (Osoba et al. 1998)


class ScoreDistribution(Result):
    """Patients by their maximum score (0..4 for items, 0..3 for composite grades)."""

    counts: list[int]


class ProCtcaeArm(Result):
    dose: float
    control: bool
    n: int  # patients with at least one post-baseline score of the item
    max_distribution: ScoreDistribution
    high: Rate  # maximum post-baseline score >= high_score
    n_baseline: int  # of them, with a baseline score
    high_adjusted: Rate  # baseline-adjusted score >= high_score (among patients with a baseline)
    mean_max: float | None
    auc_worsening: float | None  # group-level iAUC above the baseline mean (ProAE toxAUC)
    auc_improvement: float | None  # group-level iAUC below the baseline mean (<= 0)


class ProCtcaeItem(Result):
    """One PRO-CTCAE item ("16A": diarrhoea frequency) or one symptom's composite grade ("16")."""

    item: str
    term: str
    attribute: str  # frequency | severity | interference | amount | presence | composite
    arms: list[ProCtcaeArm]


class ProCtcaeResult(Result):
    items: list[ProCtcaeItem]
    composites: list[ProCtcaeItem]
    time_axis: str  # "AVISITN" or "ADY": the x axis of the iAUC


class VisitChange(Result):
    visit: str
    time: float | None  # AVISITN (or median study day) of the visit
    n: int
    mean_score: float | None
    mean_change: float | None
    ci_lower: float | None
    ci_upper: float | None


class QlqScaleArm(Result):
    dose: float
    control: bool
    n_baseline: int
    baseline_mean: float | None
    visits: list[VisitChange]
    deterioration: Rate  # patients with baseline and >= 1 post-baseline score


class QlqScale(Result):
    code: str
    label: str
    kind: str  # functional | symptom | global | summary
    arms: list[QlqScaleArm]

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "symptom"


class QlqC30Result(Result):
    scales: list[QlqScale]
    deterioration_points: float
    visits: list[str]  # post-baseline visits in time order
    time_axis: str = "AVISITN"  # what VisitChange.time is: "AVISITN" or "ADY" (median study day)

    def get(self, code: str) -> QlqScale | None:
        return next((s for s in self.scales if s.code == code), None)


class ProDoseSummary(Result):
    """Per dosage, the patient-reported tolerability a justification matrix or benefit-risk reads.

    - ``n``: patients with at least one post-baseline PRO assessment (either instrument);
    - ``high_symptom``: patients with a baseline-adjusted PRO-CTCAE score >= ``high_score`` on any item,
      among those with a baseline and a post-baseline PRO-CTCAE answer (None: PRO-CTCAE not collected);
    - ``qol_deterioration`` / ``physical_deterioration`` / ``fatigue_deterioration``: QLQ-C30 global
      health status, physical functioning and fatigue worsened by at least ``deterioration_points`` at
      any post-baseline assessment (None: QLQ-C30 not collected).
    Higher rates are worse for all four.
    """

    dose: float
    control: bool
    n: int
    high_symptom: Rate | None = None
    qol_deterioration: Rate | None = None
    physical_deterioration: Rate | None = None
    fatigue_deterioration: Rate | None = None


class PatientReportedResult(Result):
    settings: ProSettings
    instruments: list[str]  # collected instruments, e.g. ["PRO-CTCAE", "QLQ-C30"]
    n_patients: int  # patients with any PRO record
    pro_ctcae: ProCtcaeResult | None = None
    qlq_c30: QlqC30Result | None = None
    by_dose: list[ProDoseSummary]


# -- reference tables ----------------------------------------------------------------------------------------
def _read_csv(name: str) -> pd.DataFrame:
    text = resources.files("dossier.analyses").joinpath(name).read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), comment="#", dtype=str, keep_default_na=False)


@cache
def item_library() -> dict[str, tuple[str, str]]:
    """PRO-CTCAE item ("16A") -> (symptom term, attribute)."""
    t = _read_csv("pro_ctcae_items.csv")
    return {f"{int(r.item)}{r.part}": (r.term, r.attribute) for r in t.itertuples()}


@cache
def composite_table() -> dict[tuple[int | None, int | None, int | None], int]:
    """(frequency, severity, interference) -> composite grade; None where the attribute is not asked."""
    t = _read_csv("pro_ctcae_composite.csv")

    def v(x: str) -> int | None:
        return int(x) if x != "" else None

    return {(v(r.frequency), v(r.severity), v(r.interference)): int(r.grade) for r in t.itertuples()}


def composite_grade(frequency: float | None, severity: float | None, interference: float | None,
                    attributes: tuple[str, ...]) -> float:
    """Composite grade of one assessment (Basch et al. 2021); NaN when a part of the item is missing.

    ``attributes`` are the item's attributes (amount counts as interference); scores of attributes the item
    does not have are ignored. Apply :func:`zero_impute` first for the PRO-CTCAE skip pattern."""
    attrs = tuple("interference" if a == "amount" else a for a in attributes)
    given = {"frequency": frequency, "severity": severity, "interference": interference}
    parts = [given[a] for a in ("frequency", "severity", "interference") if a in attrs]
    if not parts or any(p is None or (isinstance(p, float) and math.isnan(p)) for p in parts):
        return float("nan")
    if len(parts) > 1 and parts[0] == 0:
        return 0.0  # the first question (frequency, else severity) answered 0: no symptom
    key = tuple(int(given[a]) if a in attrs else None for a in ("frequency", "severity", "interference"))
    return float(composite_table()[key])


def zero_impute(first: float, other: float) -> float:
    """PRO-CTCAE skip pattern (as ProAE ``toxScores(impute=TRUE)``): a later part missing after a first part of 0
    is 0."""
    if math.isnan(other) and not math.isnan(first) and first == 0:
        return 0.0
    return other


# -- helpers -------------------------------------------------------------------------------------------------
def _subjects(data: StudyData) -> pd.DataFrame:
    s = data.subjects
    out = pd.DataFrame({"usubjid": s["usubjid"].astype(str).to_numpy(), "dose": s["dose"].to_numpy(float),
                        "control": s["control"].to_numpy(bool) if "control" in s else False})
    return out


def _assessments(pro: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The pro table with an assessment key and a numeric time per assessment (AVISITN, else ADY)."""
    p = pro.copy()
    for col in ("usubjid", "instrument", "item", "paramcd", "visit"):
        p[col] = pd.Series([str(v) if isinstance(v, str) else "" for v in p[col]], index=p.index, dtype=object)
    visit = p["visit"]
    use_visitn = bool(p["visitn"].notna().all())
    axis = "AVISITN" if use_visitn else "ADY"
    p["time"] = p["visitn"].to_numpy(float) if use_visitn else p["day"].to_numpy(float)
    p["assessment"] = np.where(visit != "", visit, "day " + p["day"].map(lambda d: f"{d:g}"))
    return p, axis


def _patient_level(long: pd.DataFrame) -> pd.DataFrame:
    """Per patient (long: usubjid, value, baseline, post_baseline): baseline, max post-baseline and the
    baseline-adjusted score (ProAE ``toxSummary``: 0 when max post-baseline <= baseline; NA without baseline)."""
    bl = long[long["baseline"]].groupby("usubjid")["value"].first()
    mx = long[long["post_baseline"]].dropna(subset=["value"]).groupby("usubjid")["value"].max()
    out = pd.DataFrame({"max_post": mx})
    out["baseline"] = bl.reindex(out.index)
    adj = np.where(out["baseline"].isna(), np.nan,
                   np.where(out["baseline"] >= out["max_post"], 0.0, out["max_post"]))
    out["adjusted"] = adj
    return out


def incremental_auc(time: np.ndarray, mean: np.ndarray, baseline_mean: float) -> tuple[float, float]:
    """(worsening, improvement) areas of a mean-score curve relative to its baseline mean (ProAE toxAUC):
    crossing points are added by linear interpolation, then the trapezoidal rule on the part above (below)."""
    order = np.argsort(time, kind="stable")
    t, y = np.asarray(time, float)[order], np.asarray(mean, float)[order]
    xs, ys = list(t), list(y)
    for i in range(len(t) - 1):
        y0, y1 = y[i], y[i + 1]
        if int(baseline_mean <= y0) + int(baseline_mean <= y1) == 1:  # crosses the baseline mean
            xs.append(t[i] + (baseline_mean - y0) * (t[i + 1] - t[i]) / (y1 - y0))
            ys.append(baseline_mean)
    o = np.argsort(np.asarray(xs), kind="stable")
    x2, d = np.asarray(xs)[o], np.asarray(ys)[o] - baseline_mean
    up, down = np.clip(d, 0, None), np.clip(d, None, 0)
    dx = np.diff(x2)
    return float(np.sum(dx * (up[1:] + up[:-1]) / 2)), float(np.sum(dx * (down[1:] + down[:-1]) / 2))


# -- PRO-CTCAE -----------------------------------------------------------------------------------------------
def _ctcae_arms(long: pd.DataFrame, subjects: pd.DataFrame, high: int, top: int) -> list[ProCtcaeArm]:
    """Per dose: the ProAE summary measures of one score series (an item or a composite)."""
    pl = _patient_level(long).join(subjects.set_index("usubjid"), how="inner")
    # group mean curves for the iAUC: patients with a baseline score only (ProAE toxAUC)
    with_bl = long[long["usubjid"].isin(pl.index[pl["baseline"].notna()])].dropna(subset=["value"])
    with_bl = with_bl.merge(subjects[["usubjid", "dose"]], on="usubjid")
    curves = {d: g.groupby("time")["value"].mean() for d, g in with_bl.groupby("dose")}
    base_time = with_bl[with_bl["baseline"]].groupby("dose")["time"].min().to_dict()
    arms: list[ProCtcaeArm] = []
    for dose, g in pl.groupby("dose", sort=True):
        mx = g["max_post"].to_numpy(float)
        adj = g["adjusted"].dropna().to_numpy(float)
        worse = better = None
        means, t0 = curves.get(dose), base_time.get(dose)
        if means is not None and t0 is not None and t0 in means.index and len(means) > 1:
            worse, better = incremental_auc(means.index.to_numpy(float), means.to_numpy(float), float(means.loc[t0]))
        arms.append(ProCtcaeArm(
            dose=float(dose), control=bool(g["control"].any()), n=len(g),
            max_distribution=ScoreDistribution(counts=[int(np.sum(mx == k)) for k in range(top + 1)]),
            high=rate(int(np.sum(mx >= high)), len(g)),
            n_baseline=len(adj), high_adjusted=rate(int(np.sum(adj >= high)), len(adj)),
            mean_max=float(np.mean(mx)) if len(mx) else None, auc_worsening=worse, auc_improvement=better))
    return arms


def _item_sort_key(item: str) -> tuple[int, str]:
    return int(item.rstrip("ABC")), item[-1] if item[-1] in "ABC" else ""


def _symptom_table(p: pd.DataFrame, parts: list[str]) -> pd.DataFrame:
    """One row per patient and assessment, one column per part of the symptom (zero-imputed), plus the
    baseline/post-baseline flags and time of the assessment."""
    sub = p[p["item"].isin(parts)]
    wide = sub.pivot_table(index=["usubjid", "assessment"], columns="item", values="value", aggfunc="first")
    flags = sub.groupby(["usubjid", "assessment"]).agg(
        baseline=("baseline", "any"), post_baseline=("post_baseline", "any"), time=("time", "first"))
    wide = wide.reindex(columns=parts).join(flags)
    lib = item_library()
    if parts[0].endswith("A") and lib.get(parts[0], ("", ""))[1] != "presence":
        first = wide[parts[0]].to_numpy(float)
        for k in parts[1:]:
            wide[k] = [zero_impute(a, b) for a, b in zip(first, wide[k].to_numpy(float), strict=True)]
    return wide.reset_index()


def analyse_pro_ctcae(p: pd.DataFrame, subjects: pd.DataFrame, high: int, axis: str
                      ) -> tuple[ProCtcaeResult, pd.Series]:
    """The PRO-CTCAE summaries, and per patient whether any scored item's baseline-adjusted score is
    >= ``high`` (patients with a baseline and a post-baseline answer of at least one scored item)."""
    lib = item_library()
    adjusted: list[pd.Series] = []
    items: list[ProCtcaeItem] = []
    composites: list[ProCtcaeItem] = []
    present = sorted(p["item"].astype(str).unique(), key=_item_sort_key)
    flags = ["usubjid", "baseline", "post_baseline", "time"]
    for number in sorted({int(i.rstrip("ABC")) for i in present}):
        parts = [i for i in present if int(i.rstrip("ABC")) == number]
        wide = _symptom_table(p, parts)
        for item in parts:
            term, attribute = lib.get(item, (f"item {item}", "score"))
            long = wide[flags].assign(value=wide[item].to_numpy(float)).dropna(subset=["value"])
            top = 1 if attribute == "presence" else 4
            if attribute != "presence":
                adjusted.append(_patient_level(long)["adjusted"].dropna())
            items.append(ProCtcaeItem(item=item, term=term, attribute=attribute,
                                      arms=_ctcae_arms(long, subjects, min(high, top), top)))
        needed = sorted((k for k in lib if int(k.rstrip("ABC")) == number), key=_item_sort_key)
        attrs = tuple(lib[k][1] for k in needed)
        if not needed or "presence" in attrs or needed != parts:
            continue  # yes/no items have no composite; a composite needs every part of the symptom
        given = dict(zip(attrs, parts, strict=True))
        col = {a: (wide[given[a]].to_numpy(float) if a in given else np.full(len(wide), np.nan))
               for a in ("frequency", "severity", "interference", "amount")}
        interf = col["interference"] if "interference" in given else col["amount"]
        grade = [composite_grade(f, s, i, attrs)
                 for f, s, i in zip(col["frequency"], col["severity"], interf, strict=True)]
        long = wide[flags].assign(value=grade).dropna(subset=["value"])
        composites.append(ProCtcaeItem(item=str(number), term=lib[parts[0]][0], attribute="composite",
                                       arms=_ctcae_arms(long, subjects, min(high, 3), 3)))
    adj = pd.concat(adjusted) if adjusted else pd.Series(dtype=float)
    any_high = (adj >= high).groupby(level=0).any()
    return ProCtcaeResult(items=items, composites=composites, time_axis=axis), any_high


# -- QLQ-C30 -------------------------------------------------------------------------------------------------
def score_qlq_c30(items: pd.DataFrame) -> pd.DataFrame:
    """Scale scores (0-100) from item responses: one row per assessment, columns "1".."30" (missing: NaN).

    Scoring Manual (Fayers et al. 2001), section 3: RS = mean of the answered items when at least half are
    answered; functional S = (1 - (RS-1)/range)*100; symptom and global S = (RS-1)/range*100. Adds the
    summary score C30SUM (Giesinger et al. 2016) when all thirteen of its scales are scored."""
    out = pd.DataFrame(index=items.index)
    for code, _label, kind, nums in QLQ_C30_SCALES:
        cols = [str(n) for n in nums]
        x = items.reindex(columns=cols).to_numpy(float)
        answered = np.sum(np.isfinite(x), axis=1)
        rs = np.where(answered * 2 >= len(cols), _row_nanmean(x), np.nan)  # the half-items rule
        rng = 6.0 if kind == "global" else 3.0
        out[code] = (1 - (rs - 1) / rng) * 100 if kind == "functional" else (rs - 1) / rng * 100
    parts = [out[c].to_numpy(float) for c in SUMMARY_FUNCTIONAL] + \
            [100.0 - out[c].to_numpy(float) for c in SUMMARY_SYMPTOMS]
    out[SUMMARY_SCALE[0]] = np.mean(np.vstack(parts), axis=0)  # NaN when any of the 13 is missing
    return out


def _row_nanmean(x: np.ndarray) -> np.ndarray:
    n = np.sum(np.isfinite(x), axis=1)
    s = np.nansum(x, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def analyse_qlq_c30(p: pd.DataFrame, subjects: pd.DataFrame, points: float, axis: str = "AVISITN") -> QlqC30Result:
    keys = ["usubjid", "assessment"]
    wide = p.pivot_table(index=keys, columns="item", values="value", aggfunc="first")
    flags = p.groupby(keys).agg(baseline=("baseline", "any"), post_baseline=("post_baseline", "any"),
                                time=("time", "median"))
    scale_defs = [(c, lab, k) for c, lab, k, _ in QLQ_C30_SCALES] + [SUMMARY_SCALE]
    codes = [c for c, _, _ in scale_defs]
    scores = score_qlq_c30(wide).join(flags).reset_index().merge(subjects, on="usubjid", how="inner")
    long = scores.melt(id_vars=keys + ["baseline", "post_baseline", "time", "dose", "control"], value_vars=codes,
                       var_name="scale", value_name="score").dropna(subset=["score"])
    base = long[long["baseline"]].groupby(["scale", "usubjid"])["score"].first().rename("base")
    post = long[long["post_baseline"]].join(base, on=["scale", "usubjid"])
    post["change"] = post["score"] - post["base"]
    visit_time = post.groupby("assessment")["time"].median().sort_values(kind="stable")
    visits = [str(v) for v in visit_time.index]
    by_visit = post.groupby(["scale", "dose", "assessment"]).agg(
        n=("change", "count"), mean_score=("score", "mean"), mean_change=("change", "mean"),
        sd=("change", "std")).to_dict("index")
    kind_of = {c: k for c, _, k in scale_defs}
    sign = post["scale"].map(lambda c: 1.0 if kind_of[c] == "symptom" else -1.0)  # worsening direction
    evaluable = post.assign(worse=(sign * post["change"] >= points)).dropna(subset=["change"])
    worse = evaluable.groupby(["scale", "dose", "usubjid"])["worse"].any().groupby(["scale", "dose"]).agg(
        ["sum", "count"]).to_dict("index")
    base_dose = base.reset_index().merge(subjects, on="usubjid").groupby(["scale", "dose"])["base"].agg(
        ["count", "mean"]).to_dict("index")
    doses = scores.groupby("dose", sort=True)["control"].any()
    scales: list[QlqScale] = []
    for code, label, kind in scale_defs:
        arms: list[QlqScaleArm] = []
        for dose, control in doses.items():
            vs: list[VisitChange] = []
            for v in visits:
                r = by_visit.get((code, dose, v))
                if r is None or r["n"] == 0:
                    continue
                n, m = int(r["n"]), float(r["mean_change"])
                lo = hi = None
                if n >= 2:
                    half = float(stats.t.ppf(0.975, n - 1)) * float(r["sd"]) / math.sqrt(n)
                    lo, hi = m - half, m + half
                vs.append(VisitChange(visit=v, time=float(visit_time[v]), n=n, mean_score=float(r["mean_score"]),
                                      mean_change=m, ci_lower=lo, ci_upper=hi))
            w, b = worse.get((code, dose)), base_dose.get((code, dose))
            arms.append(QlqScaleArm(dose=float(dose), control=bool(control), n_baseline=int(b["count"]) if b is not None else 0,
                                    baseline_mean=float(b["mean"]) if b is not None else None, visits=vs,
                                    deterioration=rate(int(w["sum"]) if w is not None else 0,
                                                       int(w["count"]) if w is not None else 0)))
        scales.append(QlqScale(code=code, label=label, kind=kind, arms=arms))
    return QlqC30Result(scales=scales, deterioration_points=points, visits=visits, time_axis=axis)


# -- the analysis --------------------------------------------------------------------------------------------
def _by_dose(p: pd.DataFrame, subjects: pd.DataFrame, any_high: pd.Series | None,
             qlq: QlqC30Result | None) -> list[ProDoseSummary]:
    with_post = p[p["post_baseline"]].merge(subjects, on="usubjid")
    out: list[ProDoseSummary] = []
    for dose, g in with_post.groupby("dose", sort=True):
        s = ProDoseSummary(dose=float(dose), control=bool(g["control"].any()), n=int(g["usubjid"].nunique()))
        if any_high is not None:
            ids = subjects.loc[subjects["dose"] == dose, "usubjid"]
            h = any_high.reindex(ids).dropna()
            s.high_symptom = rate(int(h.sum()), len(h))
        if qlq is not None:
            for field, code in (("qol_deterioration", "QL2"), ("physical_deterioration", "PF2"),
                                ("fatigue_deterioration", "FA")):
                arm = next((a for a in qlq.get(code).arms if a.dose == dose), None)
                if arm is not None:
                    setattr(s, field, arm.deterioration)
        out.append(s)
    return out


def analyse_patient_reported(data: StudyData, settings: ProSettings | None = None) -> PatientReportedResult | None:
    """PRO-CTCAE and QLQ-C30 by dosage; ``None`` when the study has no PRO data (not collected)."""
    if data.pro is None or data.pro.empty:
        return None
    s = settings or ProSettings()
    subjects = _subjects(data)
    p, axis = _assessments(data.pro)
    p = p[p["usubjid"].isin(subjects["usubjid"])]
    ctcae_rows = p[p["instrument"] == PRO_CTCAE]
    c30_rows = p[p["instrument"] == QLQ_C30]
    ctcae, any_high = analyse_pro_ctcae(ctcae_rows, subjects, s.high_score, axis) if len(ctcae_rows) else (None, None)
    qlq = analyse_qlq_c30(c30_rows, subjects, s.deterioration_points, axis) if len(c30_rows) else None
    instruments = [name for name, r in ((PRO_CTCAE, ctcae), (QLQ_C30, qlq)) if r is not None]
    return PatientReportedResult(settings=s, instruments=instruments, n_patients=int(p["usubjid"].nunique()),
                                 pro_ctcae=ctcae, qlq_c30=qlq,
                                 by_dose=_by_dose(p, subjects, any_high, qlq))
