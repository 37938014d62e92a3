"""Dose-escalation summary: patients, DLTs and DLT rate per dose with exact Clopper-Pearson CIs, and
the MTD selected by the spec's escalation design (its own end-of-trial rule, e.g. isotonic regression
for BOIN: Liu & Yuan, JRSS-C 2015;64:507; see :mod:`dossier.designs`). The maximum administered dose
is reported alongside, since an MTD need not have been reached.
"""

from __future__ import annotations

from dossier.analyses.stats import Rate, Result, rate
from dossier.ingest.tables import StudyData
from dossier.wording import Phrase


class EscalationDose(Result):
    dose: float
    dlt: Rate
    isotonic_estimate: float | None


class EscalationResult(Result):
    design: str
    target: float
    population: str
    doses: list[EscalationDose]
    n_patients: int
    n_dlt: int
    mtd: float | None
    mtd_index: int | None
    mtd_reached: bool
    maximum_administered_dose: float | None
    selection_note: Phrase  # how the MTD was selected (worded by templates/data/wording.yaml)


def analyse_escalation(data: StudyData, levels: list[float], design, target: float | None = None,
                       cohort_size: int = 3, n_cohorts: int = 10) -> EscalationResult | None:
    """DLT summary of DLT-evaluable patients and the design's MTD; ``None`` without DLT-evaluable data.

    ``design`` is the spec's design section (:class:`dossier.spec.DesignSettings`: the design is built
    with its options by :func:`dossier.designs.design_from_spec`) or a design name with ``target``,
    ``cohort_size`` and ``n_cohorts``."""
    subj = data.subjects
    if "dlt_evaluable" not in subj or not subj["dlt_evaluable"].astype(bool).any():
        return None
    ev = subj[subj["dlt_evaluable"].astype(bool)]
    ids = set(ev["usubjid"].astype(str))
    dlt_ids: set[str] = set()
    if data.adverse_events is not None:
        ae = data.adverse_events
        dlt_ids = set(ae.loc[ae["dlt"].astype(bool), "usubjid"].astype(str)) & ids
    levels = [float(x) for x in levels]
    n_pat = [int((ev["dose"].astype(float) == d).sum()) for d in levels]
    n_dlt = [int(sum(1 for u, dd in zip(ev["usubjid"].astype(str), ev["dose"].astype(float), strict=True)
                     if dd == d and u in dlt_ids)) for d in levels]
    from dossier.designs import design_from_spec

    if isinstance(design, str):
        design = {"name": design, "target": target, "cohort_size": cohort_size, "n_cohorts": n_cohorts}
    des = design_from_spec(design, len(levels))
    design, target = des.name, des.target
    sel = des.select_mtd(n_pat, n_dlt)
    out = [EscalationDose(dose=d, dlt=rate(x, n), isotonic_estimate=(sel.estimates[i] if n else None))
           for i, (d, n, x) in enumerate(zip(levels, n_pat, n_dlt, strict=True))]
    treated = [d for d, n in zip(levels, n_pat, strict=True) if n > 0]
    mtd = levels[sel.selected] if sel.selected is not None else None
    return EscalationResult(design=design, target=target, population="DLT-evaluable", doses=out,
                            n_patients=sum(n_pat), n_dlt=sum(n_dlt), mtd=mtd, mtd_index=sel.selected,
                            # an MTD is "reached" when a higher dose was given (and judged too toxic)
                            mtd_reached=mtd is not None and mtd < max(treated, default=0.0),
                            maximum_administered_dose=max(treated) if treated else None, selection_note=Phrase(code=sel.note_code, values=sel.note_values))
