"""Dosage justification matrix: every candidate dose against every line of evidence, by explicit rules.

Rows: every studied dose level up to the highest randomized or proposed dose (so every dose below the
proposed one is addressed). Columns (lines of evidence) and the rule that fills each cell with
``supports`` / ``against`` / ``neutral`` / ``not_assessable``; *P* is the proposed dosage, *delta* the
clinically relevant difference in response probability (``analyses.mcpmod_delta_probability``, default
0.10), "significant" means the 95% interval excludes no difference:

* **randomized** (observed rates of the randomized arms, Newcombe intervals): for a dose d and each other
  randomized arm a -- if a > d: *against* d when a's response is significantly higher; *supports* d
  when a's response gain is below delta and a has significantly more grade >= 3 TEAEs or dose
  modifications. If a < d: *supports* d when d's response is significantly higher by at least delta;
  *against* d when its gain is below delta and d is significantly less tolerated. Any *against* wins, then
  any *supports*; a dose that was not randomized is *not assessable*.
* **dose_response** (MCP-Mod on objective response): *not assessable* without the analysis; *neutral*
  when no dose-response was detected; otherwise *against* d when the fitted response at d is at least
  delta below the highest fitted response over the studied doses, else *supports*.
* **er_efficacy** (predicted response, bootstrap intervals of the difference from P): d < P: *against*
  when significantly lower, *supports* when significantly higher, else *neutral*; d > P: *supports* when
  significantly higher by at least delta *and* response still rises above P's exposures (the logistic
  model fitted to the exposures of P and above has a slope whose 95% CI lies above 0; a logistic model
  over the whole range cannot show a plateau, so this is the plateau test), else *neutral*; P: *against*
  when such a higher dose exists, *supports* when every lower dose is significantly worse, else
  *neutral*. An extrapolated prediction is *not assessable*.
* **er_safety** (predicted grade >= 3 TEAE and dose-modification probabilities): d < P: *supports* when
  either is significantly lower than at P; d > P: *against* when either is significantly higher; P:
  *against* when a lower dose has significantly less of either, *supports* when a higher dose has
  significantly more, else *neutral*. Extrapolations are *not assessable*.
* **tolerability** (observed grade >= 3 TEAE and dose-modification rates over the whole treatment,
  Newcombe intervals against P): as er_safety with the observed rates; *not assessable* for a dose with
  fewer than ``min_patients`` treated patients.
* **patient_reported** (patient-reported tolerability, :mod:`dossier.analyses.pro` ``by_dose``; the FDA 2024
  dosage-optimization guidance asks for the patient's experience of symptomatic toxicity by dosage): three
  per-patient measures, each a proportion of the patients assessed at the dose (higher is worse) -- a
  PRO-CTCAE baseline-adjusted maximum post-baseline score >= ``high_score`` (default 3: "frequently",
  "severe", "quite a bit") on any item and attribute (ProAE ``toxSummary`` conventions), and a QLQ-C30
  deterioration of at least ``deterioration_points`` (default 10 points, Osoba et al., J Clin Oncol
  1998;16:139-144) at any post-baseline assessment in global health status (QL2) and in physical
  functioning (PF2), the overall and the functional core outcomes of FDA's core-PRO guidance (the symptom
  burden is PRO-CTCAE's; QLQ-C30 fatigue is shown in the PRO section and does not enter the rule). The rule
  is the tolerability line's, with the PRO rates: each measure at d against P by the Newcombe difference
  interval; d < P: *supports* when any is significantly lower; d > P: *against* when any is significantly
  higher; P: *against* when a lower dose has significantly less of any, *supports* when a higher dose has
  significantly more, else *neutral*. *Not assessable*: PROs not collected (no ``patient_reported``
  result: never counted as no toxicity), fewer than ``min_patients`` patients with a post-baseline PRO
  assessment at d or at P, or no measure known at both doses (an instrument not collected is left out of
  the comparison, not counted as 0). Like clinician-reported tolerability, a PRO *against* never excludes a
  dose: the decision rule below takes the lowest dose without evidence of lost efficacy, so tolerability
  lines (clinician- or patient-reported) inform the choice among doses and are shown, but do not decide it.
* **pk** (the observed dose-exposure relation): *not assessable* when the exposure at d is extrapolated;
  *against* d > P when its median exposure is not higher than at P (no added exposure); else *neutral*.
* **biomarker** (biomarker / PD dose-response, MCP-Mod of each marker in the spec's ``biomarkers``,
  :mod:`dossier.analyses.biomarker`): per marker, *not assessable* at d without an MCP-Mod analysis or
  without values at d; *neutral* when no dose-response signal was detected, or when the spec states no
  relevant effect (``biomarkers[].delta``) to judge the modelled effect against; otherwise, with the
  modelled effect at d over dose 0 (in the analysed direction, the marker's unit), *supports* d when it
  reaches delta and *against* d when it falls short (the PD effect the spec calls relevant is not
  attained).  Over several markers: any *against*, then any *supports*, then *neutral*.
  Validation status (the spec's ``biomarkers[].validation``): an **exploratory** marker is shown and
  never enters the decision rule -- it cannot exclude a dose, nor outweigh the clinical lines; a
  **validated** marker that is *against* a dose counts like an efficacy line (``Cell.excludes_dose``).

Decision rule (stated in the document where it decides): a dose is *efficacy-excluded* when any efficacy
line (randomized, dose_response, er_efficacy) or a validated biomarker is *against* it, and *adequately studied* when at least
``min_patients`` patients were treated at it (``analyses.cui_min_patients``, default 10). The favoured
dosage is the lowest adequately studied dose that is not efficacy-excluded (toxicity rises with dose in
the lines above, so the lowest dose without evidence of lost efficacy). A dose below the favoured one
that is neither adequately studied nor efficacy-excluded is *not excluded by the evidence*; it and a
favoured dosage other than the proposed one are findings (:mod:`dossier.findings`).

Material results (chosen by rule, each shown in the justification and benefit-risk discussions): every
logistic exposure-response slope and the exposure-PFS hazard ratio whose 95% CI excludes no effect (in
either direction), every randomized difference (response and every compared safety endpoint) whose 95% CI
excludes 0, every randomized time-to-event hazard ratio whose 95% CI excludes 1, and a detected dose-response.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dossier.analyses.stats import Result, newcombe_diff_ci
from dossier.wording import Phrase, say

if TYPE_CHECKING:
    from dossier.analyses import AnalysesBundle
    from dossier.analyses.dose_summary import DoseSummary

#: the lines of evidence, in the matrix's order; each line's column title and its phrase inside a sentence are
#: ``just.line.<key>.title`` / ``.phrase`` in templates/data/wording.yaml
LINES: tuple[str, ...] = ("randomized", "dose_response", "er_efficacy", "er_safety", "tolerability",
                          "patient_reported", "pk", "biomarker")
EFFICACY_LINES = ("randomized", "dose_response", "er_efficacy")
SAFETY_KEYS = ("severe", "modified")
#: the patient-reported measures of the patient_reported line (fields of pro.ProDoseSummary; higher is worse;
#: their wording: ``just.patient_reported.measure.<key>`` in templates/data/wording.yaml)
PRO_KEYS: tuple[str, ...] = ("high_symptom", "qol_deterioration", "physical_deterioration")


class Cell(Result):
    """One dose against one line of evidence: the verdict, the facts it rests on (phrases: a wording code with
    its numbers, worded by templates/data/wording.yaml) and the evidence they come from."""

    line: str
    verdict: str  # supports | against | neutral | not_assessable
    facts: list[Phrase] = []
    evidence: list[str] = []
    excludes_dose: bool = False  # biomarker line: a validated marker is against the dose (counts as efficacy)

    @property
    def reason(self) -> str:
        """The facts as one text ("; " between them)."""
        return "; ".join(say(f) for f in self.facts)


def _fact(code: str, **values) -> Phrase:
    """A fact of a cell: ``just.<code>`` of the wording table with its values."""
    return Phrase(code=f"just.{code}", values=values)


def _cell(line: str, verdict: str, *facts: Phrase, evidence: list[str] | None = None,
          excludes_dose: bool = False) -> Cell:
    return Cell(line=line, verdict=verdict, facts=list(facts), evidence=evidence or [], excludes_dose=excludes_dose)


class DoseJustification(Result):
    dose: float
    n_treated: int
    adequately_studied: bool
    efficacy_excluded: bool
    cells: list[Cell]

    def cell(self, line: str) -> Cell:
        return next(c for c in self.cells if c.line == line)


class MaterialResult(Result):
    """A result whose 95% CI excludes no effect: it must be discussed."""

    source: str  # er | er_pfs | randomized | randomized_tte | dose_response
    endpoint: str
    label: str
    measure: str  # "OR per doubling of exposure", "HR per doubling", "difference (points)", ...
    estimate: float
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None = None
    favourable_to_higher_exposure: bool  # True: more benefit / less harm with more exposure or dose
    evidence: str
    arm: float | None = None  # randomized differences: arm minus reference
    reference: float | None = None


class JustificationResult(Result):
    proposed: float
    unit: str
    delta: float
    min_patients: int
    lines: dict[str, str]  # the lines that can assess at least one dose (the matrix's columns)
    phrases: dict[str, str] = {}  # every line as it reads inside a sentence
    absent_lines: list[str] = []  # lines without data for any dose (left out of the matrix), as phrases
    rows: list[DoseJustification]
    favoured: float | None
    not_excluded_below: list[float]
    material: list[MaterialResult]

    @property
    def agrees(self) -> bool:
        return self.favoured == self.proposed

    def row(self, dose: float) -> DoseJustification | None:
        return next((r for r in self.rows if r.dose == dose), None)

    def findings(self) -> list:
        from dossier.finding import Finding

        out = []
        u = self.unit
        if self.favoured is None:
            out.append(Finding(kind="dosage", where="proposed_dosage", evidence=["just.favoured"],
                               what=say("just.finding.no_favoured"), hint=say("just.finding.no_favoured_hint")))
        elif not self.agrees:
            out.append(Finding(kind="dosage", where="proposed_dosage", evidence=["just.favoured"],
                               what=say("just.finding.other_favoured", proposed=self.proposed,
                                        favoured=self.favoured, unit=u),
                               hint=say("just.finding.other_favoured_hint")))
        for d in self.not_excluded_below:
            r = self.row(d)
            out.append(Finding(kind="dosage", where="proposed_dosage", evidence=[f"just.{d:g}"],
                               what=say("just.finding.not_excluded", dose=d, unit=u, n=r.n_treated if r else 0,
                                        min_patients=self.min_patients),
                               hint=say("just.finding.not_excluded_hint")))
        return out


def _sig(lo: float | None, hi: float | None) -> int:
    """+1 / -1 when the interval lies above / below 0, 0 otherwise."""
    if lo is not None and lo > 0:
        return 1
    if hi is not None and hi < 0:
        return -1
    return 0


def _g(d: float) -> str:
    return f"{d:g}"


def _rate(r) -> tuple[int, int] | None:
    if r is None or not getattr(r, "n", 0) or getattr(r, "rate", None) is None:
        return None
    return int(r.events), int(r.n)


def _randomized(d: float, b: AnalysesBundle, delta: float) -> Cell:
    line = "randomized"
    rnd = b.randomized
    if rnd is None:
        return _cell(line, "not_assessable", _fact("randomized.none"))
    arms = {a.dose: a for a in rnd.arms}
    if d not in arms:
        return _cell(line, "not_assessable", _fact("randomized.not_randomized"))
    verdicts, facts, eids = [], [], []
    for a, arm in arms.items():
        if a == d or arm.control:
            continue
        hi_d, lo_d = (a, d) if a > d else (d, a)
        r_hi, r_lo = _rate(arms[hi_d].response), _rate(arms[lo_d].response)
        eids.append(f"rnd.{_g(hi_d)}_vs_{_g(lo_d)}")
        if r_hi is None or r_lo is None:
            continue
        gain, glo, ghi = newcombe_diff_ci(*r_hi, *r_lo)
        worse = [k for k in SAFETY_KEYS if _rate(arms[hi_d].safety.get(k)) and _rate(arms[lo_d].safety.get(k))
                 and _sig(*newcombe_diff_ci(*_rate(arms[hi_d].safety[k]), *_rate(arms[lo_d].safety[k]))[1:]) > 0]
        g = {"e": gain, "lo": glo, "hi": ghi, "other": a, "dose": d}
        # a higher arm a: its significant response gain is against d, its toxicity without a relevant
        # gain supports d; a lower arm a: d's relevant significant gain supports d, d's toxicity without
        # one is against d
        gain_counts = _sig(glo, ghi) > 0 and (a > d or gain >= delta)
        first, second = ("against", "supports") if a > d else ("supports", "against")
        if gain_counts:
            verdicts.append(first)
            facts.append(_fact("randomized.higher", **g))
        elif gain < delta and worse:
            verdicts.append(second)
            facts.append(_fact("randomized.tolerability", **g, delta=delta, worse=worse))
        else:
            verdicts.append("neutral")
            facts.append(_fact("randomized.neutral", **g))
    if not verdicts:
        return _cell(line, "not_assessable", _fact("randomized.no_response"))
    return _cell(line, _overall(verdicts), *facts, evidence=eids)


def _overall(verdicts: list[str]) -> str:
    """Several comparisons in one cell: any *against* wins, then any *supports*, else *neutral*."""
    return "against" if "against" in verdicts else "supports" if "supports" in verdicts else "neutral"


def _dose_response(d: float, b: AnalysesBundle, delta: float, doses: list[float]) -> Cell:
    line = "dose_response"
    dr = b.dose_response.get("response") if b.dose_response is not None else None
    if dr is None:
        return _cell(line, "not_assessable", _fact("dose_response.none"))
    if not dr.dose_response_detected or not dr.curve_dose:
        return _cell(line, "neutral", _fact("dose_response.not_detected"), evidence=["dr.response"])
    fitted = np.interp(doses, dr.curve_dose, dr.curve_response)
    fd = float(np.interp(d, dr.curve_dose, dr.curve_response))
    top = float(fitted.max())
    if top - fd >= delta:
        return _cell(line, "against", _fact("dose_response.below_top", fitted=fd, top=top), evidence=["dr.response"])
    return _cell(line, "supports", _fact("dose_response.near_top", fitted=fd, delta=delta), evidence=["dr.response"])


def _pred_diffs(b: AnalysesBundle, keys: tuple[str, ...]) -> dict[tuple[float, str], tuple[float, float, float]]:
    p = b.predictions
    return {(x.dose, x.endpoint): (x.estimate, x.ci_lower, x.ci_upper) for x in p.differences if x.endpoint in keys}


def _er(d: float, b: AnalysesBundle, P: float, delta: float, kind: str) -> Cell:
    line = "er_efficacy" if kind == "efficacy" else "er_safety"
    p = b.predictions
    keys = ("response",) if kind == "efficacy" else SAFETY_KEYS
    if p is None or p.get(P) is None or not any(p.get(P).get(k) for k in keys):
        return _cell(line, "not_assessable", _fact("er.none"))
    here = p.get(d)
    if here is None:
        return _cell(line, "not_assessable", _fact("er.not_predicted"))
    if here.extrapolated:
        return _cell(line, "not_assessable", _fact("er.extrapolated"), evidence=[f"pred.{_g(d)}"])
    diffs = _pred_diffs(b, keys)
    usable = {x.dose for x in p.dosages if not x.extrapolated}
    er = b.exposure_response
    above = er.efficacy_above_proposed if er is not None else None
    rising = above is not None and above.slope_ci_lower > 0
    eids = [f"pred.{_g(d)}"]

    def diff(x: float, k: str) -> dict:
        e, lo, hi = diffs[(x, k)]
        return {"endpoint": k, "e": e, "lo": lo, "hi": hi, "ref": P}

    if kind == "efficacy":
        return _er_efficacy(d, P, delta, diffs, usable, rising, diff, eids)
    # safety
    if d != P:
        sig = {k: _sig(*diffs[(d, k)][1:]) for k in keys if (d, k) in diffs}
        if d < P:
            v = "supports" if any(s < 0 for s in sig.values()) else "neutral"
        else:
            v = "against" if any(s > 0 for s in sig.values()) else "neutral"
        return _cell(line, v, *(_fact("er.diff", **diff(d, k)) for k in sig), evidence=eids)
    less = [x for x in usable if x < P and any((x, k) in diffs and _sig(*diffs[(x, k)][1:]) < 0 for k in keys)]
    more = [x for x in usable if x > P and any((x, k) in diffs and _sig(*diffs[(x, k)][1:]) > 0 for k in keys)]
    if less:
        return _cell(line, "against", _fact("er.toxicity_at", direction="less", doses=sorted(less)), evidence=eids)
    if more:
        return _cell(line, "supports", _fact("er.toxicity_at", direction="more", doses=sorted(more)), evidence=eids)
    return _cell(line, "neutral", _fact("er.safety_neutral"), evidence=eids)


def _er_efficacy(d, P, delta, diffs, usable, rising, diff, eids) -> Cell:
    """The er_efficacy line (rule: module docstring); ``diff(x, k)``: the predicted difference of x from P."""
    line = "er_efficacy"
    if d != P:
        e, lo, hi = diffs.get((d, "response"), (0.0, None, None))
        s = _sig(lo, hi)
        if d < P:
            v = "against" if s < 0 else "supports" if s > 0 else "neutral"
        else:
            v = "supports" if s > 0 and e >= delta and rising else "neutral"
            if s > 0 and e >= delta and not rising:
                return _cell(line, v, _fact("er.diff", **diff(d, "response")), _fact("er.no_rise", ref=P),
                             evidence=[*eids, "er.response_above_proposed"])
        return _cell(line, v, _fact("er.diff", **diff(d, "response")), evidence=eids)
    higher = [x for x in usable if x > P and (x, "response") in diffs]
    lower = [x for x in usable if x < P and (x, "response") in diffs]
    better = [x for x in higher if _sig(*diffs[(x, "response")][1:]) > 0 and diffs[(x, "response")][0] >= delta
              and rising]
    if better:
        return _cell(line, "against", _fact("er.higher_response", diffs=[diff(x, "response") for x in better]),
                     evidence=eids)
    if lower and all(_sig(*diffs[(x, "response")][1:]) < 0 for x in lower):
        return _cell(line, "supports", _fact("er.lower_all_worse"), evidence=eids)
    return _cell(line, "neutral", _fact("er.efficacy_neutral"), evidence=eids)


def _tol_rates(b: AnalysesBundle, dose: float) -> dict[str, tuple[int, int]]:
    t = b.tolerability
    arm = next((a for a in t.arms if a.dose == dose and not a.control), None) if t is not None else None
    if arm is None:
        return {}
    return {e.endpoint: _rate(e.rate) for e in arm.endpoints if e.endpoint in SAFETY_KEYS and _rate(e.rate)}


def _compare_rates(rates, x: float, ref: dict[str, tuple[int, int]], keys) -> dict[str, tuple[float, float, float, int]]:
    """Each measure known at x and at the reference dose: the Newcombe difference (x minus reference), its 95%
    interval and its sign (:func:`_sig`); ``rates(x)`` gives the (events, n) of each measure at x."""
    rx = rates(x)
    out = {}
    for k in keys:
        if k in rx and k in ref:
            e, lo, hi = newcombe_diff_ci(*rx[k], *ref[k])
            out[k] = (e, lo, hi, _sig(lo, hi))
    return out


def _tolerability(d: float, b: AnalysesBundle, P: float, n: dict[float, int], min_patients: int,
                  doses: list[float]) -> Cell:
    line = "tolerability"
    if b.tolerability is None:
        return _cell(line, "not_assessable", _fact("tolerability.none"))
    if n.get(d, 0) < min_patients:
        return _cell(line, "not_assessable", _fact("tolerability.few_patients", n=n.get(d, 0),
                                                   min_patients=min_patients))
    ref = _tol_rates(b, P)

    def cmp(x: float) -> dict[str, tuple[float, float, float, int]]:
        return _compare_rates(lambda y: _tol_rates(b, y), x, ref, SAFETY_KEYS)

    if d != P:
        c = cmp(d)
        facts = [_fact("tolerability.diff", endpoint=k, e=e, ref=P, significant=bool(s)) for k, (e, _, _, s) in c.items()]
        v = _versus(d, P, c)
        return _cell(line, v, *(facts or [_fact("tolerability.no_rates")]), evidence=[f"tol.{_g(d)}"])
    adequate = [x for x in doses if x != P and n.get(x, 0) >= min_patients]
    less = [x for x in adequate if x < P and any(s < 0 for *_, s in cmp(x).values())]
    more = [x for x in adequate if x > P and any(s > 0 for *_, s in cmp(x).values())]
    if less:
        return _cell(line, "against", _fact("tolerability.tolerated_at", direction="better", doses=less),
                     evidence=[f"tol.{_g(P)}"])
    if more:
        return _cell(line, "supports", _fact("tolerability.tolerated_at", direction="worse", doses=more),
                     evidence=[f"tol.{_g(P)}"])
    return _cell(line, "neutral", _fact("tolerability.neutral"), evidence=[f"tol.{_g(P)}"])


def _versus(d: float, P: float, c: dict[str, tuple[float, float, float, int]]) -> str:
    """A harm measure at d against P: a lower dose with significantly less of any supports it, a higher dose with
    significantly more of any is against it, else neutral."""
    if d < P:
        return "supports" if any(s < 0 for *_, s in c.values()) else "neutral"
    return "against" if any(s > 0 for *_, s in c.values()) else "neutral"


def _pro_summary(b: AnalysesBundle, dose: float):
    pr = b.patient_reported
    return next((s for s in pr.by_dose if s.dose == dose and not s.control), None) if pr is not None else None


def _pro_rates(b: AnalysesBundle, dose: float) -> dict[str, tuple[int, int]]:
    """The PRO measures known at ``dose`` (events, n); a measure not collected or without patients is absent."""
    s = _pro_summary(b, dose)
    return {} if s is None else {k: _rate(getattr(s, k)) for k in PRO_KEYS if _rate(getattr(s, k))}


def _patient_reported(d: float, b: AnalysesBundle, P: float, min_patients: int, doses: list[float]) -> Cell:
    """Patient-reported tolerability (rule: module docstring), mirroring :func:`_tolerability`."""
    line = "patient_reported"
    pr = b.patient_reported
    if pr is None:
        return _cell(line, "not_assessable", _fact("patient_reported.none"))

    def n_pro(x: float) -> int:
        s = _pro_summary(b, x)
        return s.n if s is not None else 0

    for x, at in ((d, None), (P, P)):
        if n_pro(x) < min_patients:
            return _cell(line, "not_assessable", _fact("patient_reported.few_patients", n=n_pro(x), at=at,
                                                       min_patients=min_patients))
    ref = _pro_rates(b, P)
    high = pr.settings.high_score

    def cmp(x: float) -> dict[str, tuple[float, float, float, int]]:
        return _compare_rates(lambda y: _pro_rates(b, y), x, ref, PRO_KEYS)

    eids = [f"pro.dose.{_g(d)}"]
    if d != P:
        c = cmp(d)
        if not c:
            return _cell(line, "not_assessable", _fact("patient_reported.no_common_measure", dose=d, ref=P),
                         evidence=eids)
        facts = [_fact("patient_reported.diff", measure=k, high=high, e=e, lo=lo, hi=hi, ref=P)
                 for k, (e, lo, hi, _) in c.items()]
        return _cell(line, _versus(d, P, c), *facts, evidence=[*eids, f"pro.dose.{_g(P)}"])
    others = {x: cmp(x) for x in doses if x != P and n_pro(x) >= min_patients}
    if not ref or not any(others.values()):
        return _cell(line, "not_assessable", _fact("patient_reported.no_comparison"), evidence=eids)

    def which(xs: list[float], sign: int) -> list[dict]:
        return [{"dose": x, "measures": [k for k, (*_, s) in others[x].items() if s == sign]} for x in xs]

    less = [x for x in others if x < P and any(s < 0 for *_, s in others[x].values())]
    more = [x for x in others if x > P and any(s > 0 for *_, s in others[x].values())]
    if less:
        return _cell(line, "against", _fact("patient_reported.toxicity_at", direction="less", high=high,
                                            doses=which(less, -1)), evidence=eids)
    if more:
        return _cell(line, "supports", _fact("patient_reported.toxicity_at", direction="more", high=high,
                                             doses=which(more, 1)), evidence=eids)
    return _cell(line, "neutral", _fact("patient_reported.neutral"), evidence=eids)


def _pk(d: float, b: AnalysesBundle, P: float) -> Cell:
    p = b.predictions
    here = p.get(d) if p is not None else None
    if here is None:
        return _cell("pk", "not_assessable", _fact("pk.none"))
    eids = [f"pred.{_g(d)}"]
    if here.extrapolated:
        return _cell("pk", "not_assessable", _fact("pk.extrapolated", basis=here.basis), evidence=eids)
    ref = p.get(P)
    if d > P and ref is not None and here.exposure_median <= ref.exposure_median:
        return _cell("pk", "against", _fact("pk.no_added_exposure", ref=P), evidence=eids)
    return _cell("pk", "neutral", _fact("pk.exposure", basis=here.basis), evidence=eids)


def _biomarker(d: float, b: AnalysesBundle) -> Cell:
    line = "biomarker"
    bm = getattr(b, "biomarkers", None)
    if bm is None or not bm.endpoints:
        return _cell(line, "not_assessable", _fact("biomarker.none"))
    verdicts, facts, eids, excludes = [], [], [], False
    for ep in bm.endpoints:
        r = ep.mcpmod
        if r is None or d not in {g.dose for g in ep.by_dose}:
            continue
        eids.append(f"bio.{ep.paramcd}")
        name = {"name": ep.name, "validation": ep.validation}
        if not r.dose_response_detected or not r.curve_dose:
            verdicts.append("neutral")
            facts.append(_fact("biomarker.no_signal", **name))
            continue
        effect = float(np.interp(d, r.curve_dose, r.curve_response) - np.interp(0.0, r.curve_dose, r.curve_response))
        judged = "none" if r.delta is None else "reaches" if effect >= r.delta else "below"
        verdicts.append({"none": "neutral", "reaches": "supports", "below": "against"}[judged])
        excludes |= judged == "below" and ep.validation == "validated"
        facts.append(_fact("biomarker.effect", **name, reduction=ep.analysed_as_reduction, placebo=r.has_placebo,
                           effect=effect, unit=ep.response_unit, delta=r.delta, judged=judged))
    if not verdicts:
        return _cell(line, "not_assessable", _fact("biomarker.none_at_dose"))
    return _cell(line, _overall(verdicts), *facts, evidence=eids, excludes_dose=excludes)


def material_results(b: AnalysesBundle) -> list[MaterialResult]:
    out: list[MaterialResult] = []
    er = b.exposure_response
    if er is not None:
        for m in er.models:
            if m.or_per_doubling_ci_lower is None or m.or_per_doubling_ci_upper is None:
                continue
            if m.or_per_doubling_ci_lower > 1 or m.or_per_doubling_ci_upper < 1:
                up = m.or_per_doubling > 1
                out.append(MaterialResult(source="er", endpoint=m.endpoint, label=m.label,
                                          measure="odds ratio per doubling of exposure", estimate=m.or_per_doubling,
                                          ci_lower=m.or_per_doubling_ci_lower, ci_upper=m.or_per_doubling_ci_upper,
                                          p_value=m.p_value, evidence=f"er.{m.endpoint}",
                                          favourable_to_higher_exposure=up if m.kind == "efficacy" else not up))
        h = er.pfs.hr_per_doubling if er.pfs is not None else None
        if h is not None and h.hr is not None and _sig(None if h.ci_lower is None else h.ci_lower - 1,
                                                       None if h.ci_upper is None else h.ci_upper - 1):
            out.append(MaterialResult(source="er_pfs", endpoint="pfs", label=er.pfs.paramcd,
                                      measure="hazard ratio per doubling of exposure", estimate=h.hr,
                                      ci_lower=h.ci_lower, ci_upper=h.ci_upper, p_value=h.p_value,
                                      evidence="er.pfs", favourable_to_higher_exposure=h.hr < 1))
    rnd = b.randomized
    if rnd is not None:
        for c in rnd.comparisons:
            # every compared endpoint, not only those the matrix weighs (SAFETY_KEYS)
            items = ([("response", c.response)] if c.response else []) + list(c.safety.items())
            for k, diff in items:
                if diff.estimate is not None and _sig(diff.ci_lower, diff.ci_upper):
                    higher_arm = c.arm > c.reference
                    good = (diff.estimate > 0) == (k == "response")
                    out.append(MaterialResult(source="randomized", endpoint=k, label=rnd.endpoint_labels.get(k, k),
                                              measure="difference in percentage points", arm=c.arm,
                                              reference=c.reference,
                                              estimate=100 * diff.estimate, ci_lower=100 * diff.ci_lower,
                                              ci_upper=100 * diff.ci_upper,
                                              evidence=f"rnd.cmp.{_g(c.arm)}_{_g(c.reference)}.{k}",
                                              favourable_to_higher_exposure=good == higher_arm))
            h = c.pfs_hr
            if h is not None and h.hr is not None and _sig(None if h.ci_lower is None else h.ci_lower - 1,
                                                           None if h.ci_upper is None else h.ci_upper - 1):
                # the event of a time-to-event endpoint (progression, death, an adverse event) is unwanted: a
                # hazard ratio below 1 favours the first arm
                out.append(MaterialResult(source="randomized_tte", endpoint="tte", label=rnd.tte_paramcd or "time to event",
                                          measure="hazard ratio", arm=c.arm, reference=c.reference, estimate=h.hr,
                                          ci_lower=h.ci_lower, ci_upper=h.ci_upper, p_value=h.p_value,
                                          evidence=f"rnd.cmp.{_g(c.arm)}_{_g(c.reference)}.tte",
                                          favourable_to_higher_exposure=(h.hr < 1) == (c.arm > c.reference)))
    return out


def analyse_justification(b: AnalysesBundle, dose_summary: DoseSummary, levels: list[float], proposed: float,
                          randomized: list[float], unit: str, delta: float = 0.10,
                          min_patients: int = 10) -> JustificationResult:
    """The justification matrix, the favoured dosage and the material results (rules: module docstring)."""
    n = {r.dose: r.n_subjects for r in dose_summary.rows if not r.control}
    top = max([proposed, *randomized])
    doses = [d for d in levels if d <= top and n.get(d, 0) > 0 or d == proposed]
    rows = []
    for d in doses:
        cells = [_randomized(d, b, delta), _dose_response(d, b, delta, [x for x in levels if n.get(x, 0) > 0]),
                 _er(d, b, proposed, delta, "efficacy"), _er(d, b, proposed, delta, "safety"),
                 _tolerability(d, b, proposed, n, min_patients, doses),
                 _patient_reported(d, b, proposed, min_patients, doses), _pk(d, b, proposed), _biomarker(d, b)]
        excluded = any(c.verdict == "against" and c.line in EFFICACY_LINES or c.excludes_dose for c in cells)
        rows.append(DoseJustification(dose=d, n_treated=n.get(d, 0), adequately_studied=n.get(d, 0) >= min_patients,
                                      efficacy_excluded=excluded, cells=cells))
    # a line that can assess no dose (its data are absent) is left out of the matrix, and only named as absent
    shown = [k for k in LINES if any(c.line == k and c.verdict != "not_assessable" for r in rows for c in r.cells)]
    for r in rows:
        r.cells = [c for c in r.cells if c.line in shown]
    eligible = [r.dose for r in rows if r.adequately_studied and not r.efficacy_excluded]
    favoured = min(eligible) if eligible else None
    limit = favoured if favoured is not None else proposed
    not_excluded = [r.dose for r in rows if r.dose < limit and not r.adequately_studied and not r.efficacy_excluded]
    titles = {k: say(f"just.line.{k}.title") for k in LINES}
    phrases = {k: say(f"just.line.{k}.phrase") for k in LINES}
    bm = getattr(b, "biomarkers", None)
    if bm is not None and bm.endpoints and all(ep.validation == "exploratory" for ep in bm.endpoints):
        titles["biomarker"] = say("just.line.biomarker.title_exploratory")
    return JustificationResult(proposed=proposed, unit=unit, delta=delta, min_patients=min_patients,
                               lines={k: titles[k] for k in shown}, phrases=phrases,
                               absent_lines=[phrases[k] for k in LINES if k not in shown],
                               rows=rows, favoured=favoured, not_excluded_below=not_excluded,
                               material=material_results(b))
