"""Tolerability by dosage (FDA 2024 guidance "Optimizing the Dosage of Human Prescription Drugs and
Biological Products for the Treatment of Oncologic Diseases", section on tolerability).

Per dosage (safety population, treatment-emergent AEs): grade >= 3 AEs, serious AEs, AEs leading to
dose interruption, reduction and discontinuation, and persistent low-grade toxicity, each a rate with
its exact Clopper-Pearson interval; relative dose intensity (median, quartiles); time to first dose
modification (Kaplan-Meier). The Harvey et al. (JNCI 2023;115:485) medians of registration trials of
oral oncology drugs (dose reduction 28%, interruption 55%, discontinuation 10%) are carried as context,
not as thresholds.
"""

from __future__ import annotations

import numpy as np

from dossier.analyses.endpoints import (
    OPTIONAL_MEASURES,
    Measure,
    aesi_key,
    known_rate,
    measure_status,
    subject_endpoints,
)
from dossier.analyses.stats import KMCurve, Rate, Result, kaplan_meier
from dossier.ingest.tables import StudyData
from dossier.labels import SAFETY_ENDPOINTS

#: Harvey et al., JNCI 2023;115:485 -- medians over registration trials of 59 oral oncology NMEs.
HARVEY_BENCHMARKS = {"reduced": 0.28, "interrupted": 0.55, "withdrawn": 0.10}
HARVEY_SOURCE = "Harvey et al., JNCI 2023;115:485 (registration trials of 59 oral oncology NMEs, 2010-2020)"


class EndpointRate(Result):
    """One endpoint's rate among the subjects with a known value; ``None`` when it was not collected."""

    endpoint: str
    rate: Rate | None
    benchmark: float | None = None


class TolerabilityArm(Result):
    dose: float
    control: bool
    n: int
    endpoints: list[EndpointRate]
    rdi_median: float | None
    rdi_q1: float | None
    rdi_q3: float | None
    duration_median_days: float | None
    time_to_modification: KMCurve | None

    def get(self, endpoint: str) -> Rate | None:
        for e in self.endpoints:
            if e.endpoint == endpoint:
                return e.rate
        return None


class TolerabilityResult(Result):
    population: str = "safety"
    severity_basis: str
    low_grade_days: int
    endpoint_labels: dict[str, str]
    arms: list[TolerabilityArm]
    benchmarks: dict[str, float]
    benchmark_source: str
    measures: dict[str, Measure] = {}  # collected / partial / not collected, with source and reason

    def not_collected(self) -> list[Measure]:
        return [m for m in self.measures.values() if not m.collected]


def _q(x: np.ndarray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.quantile(x, q)) if len(x) else None


def analyse_tolerability(data: StudyData, low_grade_days: int = 28, aesi_terms: list[str] | tuple[str, ...] = (),
                         oncology: bool = True) -> TolerabilityResult | None:
    """Tolerability per dosage (plus any TEAE of each adverse event of special interest); ``None`` when the
    study has no adverse-event data. The Harvey et al. benchmarks (oral oncology drugs) are carried only for
    an oncology study (``oncology``)."""
    if data.adverse_events is None:
        return None
    se = subject_endpoints(data, low_grade_days, aesi_terms)
    basis = str(se.attrs["severity_basis"])
    measures = measure_status(se)
    se = se[se["safety"].astype(bool)] if "safety" in se else se
    arms: list[TolerabilityArm] = []
    for dose, g in se.groupby("dose", sort=True):
        n = len(g)
        eps = [EndpointRate(endpoint="any_teae", rate=known_rate(g["any_teae"]))]
        for key in [*SAFETY_ENDPOINTS, *(k for k in OPTIONAL_MEASURES if k in measures and measures[k].collected)]:
            ok = key not in measures or measures[key].collected
            eps.append(EndpointRate(endpoint=key, rate=known_rate(g[key]) if ok else None,
                                    benchmark=HARVEY_BENCHMARKS.get(key) if oncology else None))
        for t in aesi_terms:
            eps.append(EndpointRate(endpoint=aesi_key(t), rate=known_rate(g[aesi_key(t)])))
        rdi = g["rdi_pct"].to_numpy(float)
        km = None
        if g["mod_time"].notna().any():
            km = kaplan_meier(g["mod_time"].to_numpy(float), g["mod_event"].to_numpy(bool),
                              label=f"{dose:g}", group=float(dose))
        arms.append(TolerabilityArm(dose=float(dose), control=bool(g["control"].any()), n=n, endpoints=eps,
                                    rdi_median=_q(rdi, 0.5), rdi_q1=_q(rdi, 0.25), rdi_q3=_q(rdi, 0.75),
                                    duration_median_days=_q(g["duration_days"].to_numpy(float), 0.5),
                                    time_to_modification=km))
    labels = {"any_teae": "any TEAE", **SAFETY_ENDPOINTS, **{aesi_key(t): str(t) for t in aesi_terms}}
    labels.update({k: measures[k].label for k in OPTIONAL_MEASURES if k in measures and measures[k].collected})
    return TolerabilityResult(severity_basis=basis, low_grade_days=low_grade_days,
                              endpoint_labels=labels, arms=arms,
                              benchmarks=dict(HARVEY_BENCHMARKS) if oncology else {},
                              benchmark_source=HARVEY_SOURCE if oncology else "",
                              measures={k: m for k, m in measures.items()
                                        if k != "grade3" and (k not in OPTIONAL_MEASURES or m.collected)})
