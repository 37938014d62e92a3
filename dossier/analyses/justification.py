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

if TYPE_CHECKING:
    from dossier.analyses import AnalysesBundle
    from dossier.analyses.dose_summary import DoseSummary

LINES: dict[str, str] = {
    "randomized": "Randomized comparison",
    "dose_response": "Dose-response (MCP-Mod)",
    "er_efficacy": "Exposure-response, efficacy",
    "er_safety": "Exposure-response, safety",
    "tolerability": "Tolerability over time",
    "patient_reported": "Patient-reported tolerability",
    "pk": "Dose-exposure (PK)",
    "biomarker": "Biomarker / PD (MCP-Mod)",
}
#: the same lines as they read inside a sentence
LINE_PHRASES: dict[str, str] = {
    "randomized": "randomized comparison",
    "dose_response": "dose-response (MCP-Mod)",
    "er_efficacy": "exposure-response for efficacy",
    "er_safety": "exposure-response for safety",
    "tolerability": "tolerability over time",
    "patient_reported": "patient-reported tolerability",
    "pk": "dose-exposure (PK)",
    "biomarker": "biomarker / pharmacodynamic dose-response",
}
EFFICACY_LINES = ("randomized", "dose_response", "er_efficacy")
SAFETY_KEYS = ("severe", "modified")
#: the patient-reported measures of the patient_reported line (fields of pro.ProDoseSummary; higher is worse)
PRO_KEYS: dict[str, str] = {
    "high_symptom": "PRO-CTCAE score ≥{high} above baseline",
    "qol_deterioration": "global health status deterioration",
    "physical_deterioration": "physical functioning deterioration",
}


class Cell(Result):
    line: str
    verdict: str  # supports | against | neutral | not_assessable
    reason: str
    evidence: list[str] = []
    excludes_dose: bool = False  # biomarker line: a validated marker is against the dose (counts as efficacy)


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
                               what="no dose is both adequately studied and free of evidence of lost efficacy; "
                                    "the evidence favours no dosage",
                               hint="study more patients at the candidate doses, or revisit the dosage"))
        elif not self.agrees:
            out.append(Finding(kind="dosage", where="proposed_dosage", evidence=["just.favoured"],
                               what=f"the proposed dosage {self.proposed:g} {u} is not what the evidence favours "
                                    f"({self.favoured:g} {u}, the lowest adequately studied dose without "
                                    "evidence of lost efficacy)",
                               hint="address the difference in the positions, or change proposed_dosage"))
        for d in self.not_excluded_below:
            r = self.row(d)
            out.append(Finding(kind="dosage", where="proposed_dosage", evidence=[f"just.{d:g}"],
                               what=f"{d:g} {u}, below the favoured dosage, is not excluded by the evidence "
                                    f"(no efficacy line is against it; {r.n_treated if r else 0} patients treated, "
                                    f"fewer than the {self.min_patients} needed to be adequately studied)",
                               hint="show evidence of lost efficacy at this dose, or study it"))
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
    rnd = b.randomized
    if rnd is None:
        return Cell(line="randomized", verdict="not_assessable", reason="no randomized comparison")
    arms = {a.dose: a for a in rnd.arms}
    if d not in arms:
        return Cell(line="randomized", verdict="not_assessable", reason="not a randomized arm")
    verdicts, reasons, eids = [], [], []
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
        g = f"{100 * gain:+.1f} points (95% CI {100 * glo:.1f} to {100 * ghi:.1f})"
        # a higher arm a: its significant response gain is against d, its toxicity without a relevant
        # gain supports d; a lower arm a: d's relevant significant gain supports d, d's toxicity without
        # one is against d
        gain_counts = _sig(glo, ghi) > 0 and (a > d or gain >= delta)
        first, second = ("against", "supports") if a > d else ("supports", "against")
        if gain_counts:
            verdicts.append(first)
            reasons.append(f"response significantly higher {'at ' + _g(a) if a > d else 'than at ' + _g(a)}: {g}")
        elif gain < delta and worse:
            verdicts.append(second)
            reasons.append(f"response gain of the higher dose {g} (< {100 * delta:.0f}) with significantly more "
                           f"{' and '.join(worse)} (vs {_g(a)})")
        else:
            verdicts.append("neutral")
            reasons.append(f"vs {_g(a)}: response {g}")
    if not verdicts:
        return Cell(line="randomized", verdict="not_assessable", reason="no response data in the randomized arms")
    v = "against" if "against" in verdicts else "supports" if "supports" in verdicts else "neutral"
    return Cell(line="randomized", verdict=v, reason="; ".join(reasons), evidence=eids)


def _dose_response(d: float, b: AnalysesBundle, delta: float, doses: list[float]) -> Cell:
    dr = b.dose_response.get("response") if b.dose_response is not None else None
    if dr is None:
        return Cell(line="dose_response", verdict="not_assessable", reason="no MCP-Mod analysis of response")
    if not dr.dose_response_detected or not dr.curve_dose:
        return Cell(line="dose_response", verdict="neutral", reason="no dose-response for response detected",
                    evidence=["dr.response"])
    fitted = np.interp(doses, dr.curve_dose, dr.curve_response)
    fd = float(np.interp(d, dr.curve_dose, dr.curve_response))
    top = float(fitted.max())
    if top - fd >= delta:
        return Cell(line="dose_response", verdict="against", evidence=["dr.response"],
                    reason=f"fitted response {100 * fd:.1f}% is {100 * (top - fd):.1f} points below the highest "
                           f"fitted ({100 * top:.1f}%)")
    return Cell(line="dose_response", verdict="supports", evidence=["dr.response"],
                reason=f"fitted response {100 * fd:.1f}% within {100 * delta:.0f} points of the highest")


def _pred_diffs(b: AnalysesBundle, keys: tuple[str, ...]) -> dict[tuple[float, str], tuple[float, float, float]]:
    p = b.predictions
    return {(x.dose, x.endpoint): (x.estimate, x.ci_lower, x.ci_upper) for x in p.differences if x.endpoint in keys}


def _er(d: float, b: AnalysesBundle, P: float, delta: float, kind: str) -> Cell:
    line = "er_efficacy" if kind == "efficacy" else "er_safety"
    p = b.predictions
    keys = ("response",) if kind == "efficacy" else SAFETY_KEYS
    if p is None or p.get(P) is None or not any(p.get(P).get(k) for k in keys):
        return Cell(line=line, verdict="not_assessable", reason="no exposure-response prediction")
    here = p.get(d)
    if here is None:
        return Cell(line=line, verdict="not_assessable", reason="not predicted")
    if here.extrapolated:
        return Cell(line=line, verdict="not_assessable", reason="prediction is an extrapolation",
                    evidence=[f"pred.{_g(d)}"])
    diffs = _pred_diffs(b, keys)
    usable = {x.dose for x in p.dosages if not x.extrapolated}
    er = b.exposure_response
    above = er.efficacy_above_proposed if er is not None else None
    rising = above is not None and above.slope_ci_lower > 0
    eids = [f"pred.{_g(d)}"]

    def txt(x: float, k: str) -> str:
        e, lo, hi = diffs[(x, k)]
        return f"{k} {100 * e:+.1f} points vs {_g(P)} (95% CI {100 * lo:.1f} to {100 * hi:.1f})"

    if kind == "efficacy":
        if d != P:
            e, lo, hi = diffs.get((d, "response"), (0.0, None, None))
            s = _sig(lo, hi)
            if d < P:
                v = "against" if s < 0 else "supports" if s > 0 else "neutral"
            else:
                v = "supports" if s > 0 and e >= delta and rising else "neutral"
                if s > 0 and e >= delta and not rising:
                    return Cell(line=line, verdict=v, evidence=[*eids, "er.response_above_proposed"],
                                reason=txt(d, "response") + f"; no rise of response above the exposures of {_g(P)} "
                                       "(slope CI includes 0)")
            return Cell(line=line, verdict=v, reason=txt(d, "response"), evidence=eids)
        higher = [x for x in usable if x > P and (x, "response") in diffs]
        lower = [x for x in usable if x < P and (x, "response") in diffs]
        better = [x for x in higher if _sig(*diffs[(x, "response")][1:]) > 0 and diffs[(x, "response")][0] >= delta
                  and rising]
        if better:
            return Cell(line=line, verdict="against", evidence=eids,
                        reason="higher response at " + ", ".join(txt(x, "response") for x in better))
        if lower and all(_sig(*diffs[(x, "response")][1:]) < 0 for x in lower):
            return Cell(line=line, verdict="supports", evidence=eids,
                        reason="every lower dose has significantly lower predicted response")
        return Cell(line=line, verdict="neutral", evidence=eids,
                    reason="no higher dose with a relevant gain; not every lower dose significantly worse")
    # safety
    if d != P:
        sig = {k: _sig(*diffs[(d, k)][1:]) for k in keys if (d, k) in diffs}
        reason = "; ".join(txt(d, k) for k in sig)
        if d < P:
            v = "supports" if any(s < 0 for s in sig.values()) else "neutral"
        else:
            v = "against" if any(s > 0 for s in sig.values()) else "neutral"
        return Cell(line=line, verdict=v, reason=reason, evidence=eids)
    less = [x for x in usable if x < P and any((x, k) in diffs and _sig(*diffs[(x, k)][1:]) < 0 for k in keys)]
    more = [x for x in usable if x > P and any((x, k) in diffs and _sig(*diffs[(x, k)][1:]) > 0 for k in keys)]
    if less:
        return Cell(line=line, verdict="against", evidence=eids,
                    reason="significantly less toxicity predicted at " + ", ".join(_g(x) for x in sorted(less)))
    if more:
        return Cell(line=line, verdict="supports", evidence=eids,
                    reason="significantly more toxicity predicted at " + ", ".join(_g(x) for x in sorted(more)))
    return Cell(line=line, verdict="neutral", evidence=eids, reason="no significant difference in predicted toxicity")


def _tol_rates(b: AnalysesBundle, dose: float) -> dict[str, tuple[int, int]]:
    t = b.tolerability
    arm = next((a for a in t.arms if a.dose == dose and not a.control), None) if t is not None else None
    if arm is None:
        return {}
    return {e.endpoint: _rate(e.rate) for e in arm.endpoints if e.endpoint in SAFETY_KEYS and _rate(e.rate)}


def _tolerability(d: float, b: AnalysesBundle, P: float, n: dict[float, int], min_patients: int,
                  doses: list[float]) -> Cell:
    line = "tolerability"
    if b.tolerability is None:
        return Cell(line=line, verdict="not_assessable", reason="no adverse-event data")
    if n.get(d, 0) < min_patients:
        return Cell(line=line, verdict="not_assessable",
                    reason=f"{n.get(d, 0)} patients treated (fewer than {min_patients})")
    ref = _tol_rates(b, P)

    def cmp(x: float) -> dict[str, tuple[float, int]]:
        rx = _tol_rates(b, x)
        out = {}
        for k in SAFETY_KEYS:
            if k in rx and k in ref:
                e, lo, hi = newcombe_diff_ci(*rx[k], *ref[k])
                out[k] = (e, _sig(lo, hi))
        return out

    if d != P:
        c = cmp(d)
        reason = "; ".join(f"{k} {100 * e:+.1f} points vs {_g(P)}" + (" (significant)" if s else "")
                           for k, (e, s) in c.items())
        if d < P:
            v = "supports" if any(s < 0 for _, s in c.values()) else "neutral"
        else:
            v = "against" if any(s > 0 for _, s in c.values()) else "neutral"
        return Cell(line=line, verdict=v, reason=reason or "no comparable rates", evidence=[f"tol.{_g(d)}"])
    adequate = [x for x in doses if x != P and n.get(x, 0) >= min_patients]
    less = [x for x in adequate if x < P and any(s < 0 for _, s in cmp(x).values())]
    more = [x for x in adequate if x > P and any(s > 0 for _, s in cmp(x).values())]
    if less:
        return Cell(line=line, verdict="against", evidence=[f"tol.{_g(P)}"],
                    reason="significantly better tolerated at " + ", ".join(_g(x) for x in less))
    if more:
        return Cell(line=line, verdict="supports", evidence=[f"tol.{_g(P)}"],
                    reason="significantly worse tolerated at " + ", ".join(_g(x) for x in more))
    return Cell(line=line, verdict="neutral", evidence=[f"tol.{_g(P)}"],
                reason="no significant difference from the other adequately studied doses")


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
        return Cell(line=line, verdict="not_assessable", reason="patient-reported outcomes not collected")

    def n_pro(x: float) -> int:
        s = _pro_summary(b, x)
        return s.n if s is not None else 0

    if n_pro(d) < min_patients:
        return Cell(line=line, verdict="not_assessable",
                    reason=f"{n_pro(d)} patients with a post-baseline PRO assessment (fewer than {min_patients})")
    if n_pro(P) < min_patients:
        return Cell(line=line, verdict="not_assessable",
                    reason=f"{n_pro(P)} patients with a post-baseline PRO assessment at {_g(P)} "
                           f"(fewer than {min_patients})")
    ref = _pro_rates(b, P)
    label = {k: v.format(high=pr.settings.high_score) for k, v in PRO_KEYS.items()}

    def cmp(x: float) -> dict[str, tuple[float, float, float, int]]:
        rx = _pro_rates(b, x)
        out = {}
        for k in PRO_KEYS:
            if k in rx and k in ref:
                e, lo, hi = newcombe_diff_ci(*rx[k], *ref[k])
                out[k] = (e, lo, hi, _sig(lo, hi))
        return out

    eids = [f"pro.dose.{_g(d)}"]
    if d != P:
        c = cmp(d)
        if not c:
            return Cell(line=line, verdict="not_assessable", evidence=eids,
                        reason=f"no patient-reported measure known at both {_g(d)} and {_g(P)}")
        reason = "; ".join(f"{label[k]} {100 * e:+.1f} points vs {_g(P)} (95% CI {100 * lo:.1f} to {100 * hi:.1f})"
                           for k, (e, lo, hi, _) in c.items())
        if d < P:
            v = "supports" if any(s < 0 for *_, s in c.values()) else "neutral"
        else:
            v = "against" if any(s > 0 for *_, s in c.values()) else "neutral"
        return Cell(line=line, verdict=v, reason=reason, evidence=[*eids, f"pro.dose.{_g(P)}"])
    others = {x: cmp(x) for x in doses if x != P and n_pro(x) >= min_patients}
    if not ref or not any(others.values()):
        return Cell(line=line, verdict="not_assessable", evidence=eids,
                    reason="no other dose with enough patients and a patient-reported measure known at both doses")

    def which(x: float, sign: int) -> str:
        return f"{_g(x)} (" + ", ".join(label[k] for k, (*_, s) in others[x].items() if s == sign) + ")"

    less = [x for x in others if x < P and any(s < 0 for *_, s in others[x].values())]
    more = [x for x in others if x > P and any(s > 0 for *_, s in others[x].values())]
    if less:
        return Cell(line=line, verdict="against", evidence=eids,
                    reason="significantly less patient-reported toxicity at " + "; ".join(which(x, -1) for x in less))
    if more:
        return Cell(line=line, verdict="supports", evidence=eids,
                    reason="significantly more patient-reported toxicity at " + "; ".join(which(x, 1) for x in more))
    return Cell(line=line, verdict="neutral", evidence=eids,
                reason="no significant difference from the other doses with enough patient-reported assessments")


def _pk(d: float, b: AnalysesBundle, P: float) -> Cell:
    p = b.predictions
    here = p.get(d) if p is not None else None
    if here is None:
        return Cell(line="pk", verdict="not_assessable", reason="no exposure data")
    if here.extrapolated:
        return Cell(line="pk", verdict="not_assessable", evidence=[f"pred.{_g(d)}"],
                    reason=f"exposure extrapolated ({here.basis})")
    ref = p.get(P)
    if d > P and ref is not None and here.exposure_median <= ref.exposure_median:
        return Cell(line="pk", verdict="against", evidence=[f"pred.{_g(d)}"],
                    reason=f"median exposure not higher than at {_g(P)}")
    return Cell(line="pk", verdict="neutral", evidence=[f"pred.{_g(d)}"], reason=f"exposure {here.basis}")


def _biomarker(d: float, b: AnalysesBundle) -> Cell:
    line = "biomarker"
    bm = getattr(b, "biomarkers", None)
    if bm is None or not bm.endpoints:
        return Cell(line=line, verdict="not_assessable", reason="no biomarker / PD data")
    verdicts, reasons, eids, excludes = [], [], [], False
    for ep in bm.endpoints:
        r = ep.mcpmod
        if r is None or d not in {g.dose for g in ep.by_dose}:
            continue
        eids.append(f"bio.{ep.paramcd}")
        name = f"{ep.name} ({ep.validation})"
        if not r.dose_response_detected or not r.curve_dose:
            verdicts.append("neutral")
            reasons.append(f"{name}: no dose-response signal")
            continue
        effect = float(np.interp(d, r.curve_dose, r.curve_response) - np.interp(0.0, r.curve_dose, r.curve_response))
        zero = "placebo" if r.has_placebo else "the zero dose (the model's extrapolation: no placebo)"
        what = f"{name}: modelled {'reduction' if ep.analysed_as_reduction else 'effect'} over {zero} " \
               f"{effect:.3g} {ep.response_unit}"
        if r.delta is None:
            verdicts.append("neutral")
            reasons.append(f"{what}; no relevant effect stated to judge it against")
        elif effect >= r.delta:
            verdicts.append("supports")
            reasons.append(f"{what}, reaches the relevant {r.delta:g}")
        else:
            verdicts.append("against")
            reasons.append(f"{what}, below the relevant {r.delta:g}")
            excludes |= ep.validation == "validated"
    if not verdicts:
        return Cell(line=line, verdict="not_assessable", reason="no marker analysed by MCP-Mod with values at this dose")
    v = "against" if "against" in verdicts else "supports" if "supports" in verdicts else "neutral"
    return Cell(line=line, verdict=v, reason="; ".join(reasons), evidence=eids, excludes_dose=excludes)


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
    titles = dict(LINES)
    bm = getattr(b, "biomarkers", None)
    if bm is not None and bm.endpoints and all(ep.validation == "exploratory" for ep in bm.endpoints):
        titles["biomarker"] = "Biomarker / PD (MCP-Mod; exploratory)"
    return JustificationResult(proposed=proposed, unit=unit, delta=delta, min_patients=min_patients,
                               lines={k: titles[k] for k in shown}, phrases={k: LINE_PHRASES[k] for k in LINES},
                               absent_lines=[LINE_PHRASES[k] for k in LINES if k not in shown],
                               rows=rows, favoured=favoured, not_excluded_below=not_excluded,
                               material=material_results(b))
