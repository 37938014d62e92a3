"""Randomized dosage comparison, as estimation (FDA 2024 dosage-optimization guidance: such trials
need not be powered to show superiority of one dosage over another).

Per randomized arm: objective response rate (exact Clopper-Pearson CI), PFS (Kaplan-Meier, median with
Brookmeyer-Crowley CI) and the safety endpoints of :mod:`dossier.analyses.endpoints`. Between arms:
differences of rates with Newcombe's hybrid score interval (method 10, Stat Med 1998;17:873) and the
PFS hazard ratio from a Cox model with the arm as the only covariate (statsmodels PHReg, Breslow ties).
The reference arm is the proposed dosage when it was randomized, otherwise the lowest dosage; a
placebo/control arm, when present, is also compared with every active arm.
"""

from __future__ import annotations

import pandas as pd

from dossier.analyses.endpoints import (
    OPTIONAL_MEASURES,
    Measure,
    known_rate,
    measure_status,
    response_population,
    subject_endpoints,
    time_to_event,
)
from dossier.analyses.stats import (
    Difference,
    HazardRatio,
    KMCurve,
    Rate,
    Result,
    cox_ph,
    difference,
    kaplan_meier,
    rate,
)
from dossier.ingest.tables import StudyData
from dossier.labels import SAFETY_ENDPOINTS, safety_label


class ArmSummary(Result):
    dose: float
    control: bool
    n: int
    response: Rate | None
    safety: dict[str, Rate]
    pfs: KMCurve | None


class ArmComparison(Result):
    arm: float
    reference: float
    response: Difference | None
    safety: dict[str, Difference]
    pfs_hr: HazardRatio | None


class RandomizedResult(Result):
    population: str
    reference: float
    arms: list[ArmSummary]
    comparisons: list[ArmComparison]
    tte_paramcd: str | None
    severity_basis: str
    endpoint_labels: dict[str, str]
    response_population: str = "randomized, efficacy-evaluable"
    not_collected: list[Measure] = []  # safety measures left out: their source was not collected


def _safety_endpoints(se: pd.DataFrame) -> list[str]:
    """The safety endpoints that were collected (a not-collected one is left out, never shown as 0)."""
    if not se.attrs.get("has_adverse_events"):
        return []
    measures = measure_status(se)
    keys = [*SAFETY_ENDPOINTS, *(k for k in OPTIONAL_MEASURES if k in measures)]
    return [k for k in keys if k not in measures or measures[k].collected]


def _responders(g: pd.DataFrame) -> pd.DataFrame:
    """The efficacy-evaluable subjects with a response record (the population of every response rate)."""
    return response_population(g)


def _diff(a: pd.Series, b: pd.Series, arm: float, ref: float):
    ka, kb = a.dropna(), b.dropna()
    return difference(int(ka.sum()), len(ka), int(kb.sum()), len(kb), arm, ref)


def analyse_randomized(data: StudyData, randomized_dosages: list[float], proposed_dosage: float,
                       pfs_paramcd: str | None = "PFS", low_grade_days: int = 28) -> RandomizedResult | None:
    """Compare the randomized arms; ``None`` when fewer than two randomized arms have subjects."""
    se = subject_endpoints(data, low_grade_days)
    rnd = se[se["randomized"].astype(bool)]
    keep = set(float(d) for d in randomized_dosages) | {0.0}
    rnd = rnd[rnd["dose"].astype(float).isin(keep) | rnd["control"].astype(bool)]
    doses = sorted(rnd["dose"].astype(float).unique())
    if len(doses) < 2:
        return None
    tte = time_to_event(data, pfs_paramcd)
    safety_keys = _safety_endpoints(se)
    reference = float(proposed_dosage) if float(proposed_dosage) in doses else min(d for d in doses if d > 0)
    arms: list[ArmSummary] = []
    groups = {float(d): g for d, g in rnd.groupby("dose")}
    for d in doses:
        g = groups[d]
        resp = None
        gr = _responders(g)
        if se["has_response"].any():
            resp = rate(int(gr["responder"].sum()), len(gr))
        km = None
        if tte is not None:
            t = tte.reindex(g.index).dropna(subset=["time"])
            if len(t):
                km = kaplan_meier(t["time"].to_numpy(float), t["event"].astype(bool).to_numpy(),
                                  label=f"{d:g}", group=d)
        arms.append(ArmSummary(dose=d, control=bool(g["control"].any()), n=len(g), response=resp,
                               safety={k: known_rate(g[k]) for k in safety_keys}, pfs=km))
    pairs = [(d, reference) for d in doses if d != reference and d > 0]
    controls = [d for d in doses if groups[d]["control"].any() or d == 0]
    for c in controls:
        pairs = [p for p in pairs if p[0] != c]
        pairs += [(d, c) for d in doses if d > 0]
    labels = {k: safety_label(k, str(se.attrs["severity_basis"])) for k in SAFETY_ENDPOINTS}
    labels.update({k: m.label for k, m in measure_status(se).items() if k in OPTIONAL_MEASURES and m.collected})
    comparisons: list[ArmComparison] = []
    for a, b in pairs:
        ga, gb = groups[a], groups[b]
        resp_diff = None
        if se["has_response"].any():
            ra, rb = _responders(ga), _responders(gb)
            resp_diff = difference(int(ra["responder"].sum()), len(ra), int(rb["responder"].sum()), len(rb), a, b)
        saf = {k: _diff(ga[k], gb[k], a, b) for k in safety_keys}
        hr = None
        if tte is not None:
            t = tte.reindex(list(ga.index) + list(gb.index)).dropna(subset=["time"])
            x = pd.DataFrame({"arm": (rnd.loc[t.index, "dose"].astype(float) == a).astype(float).to_numpy()})
            hr = cox_ph(t["time"].to_numpy(float), t["event"].astype(bool).to_numpy(), x, "arm")
        comparisons.append(ArmComparison(arm=a, reference=b, response=resp_diff, safety=saf, pfs_hr=hr))
    return RandomizedResult(population="randomized", reference=reference, arms=arms, comparisons=comparisons,
                            tte_paramcd=None if tte is None else str(tte["paramcd"].iloc[0]),
                            severity_basis=se.attrs["severity_basis"], endpoint_labels=labels,
                            not_collected=[m for k, m in measure_status(se).items()
                                           if k in SAFETY_ENDPOINTS and not m.collected])

