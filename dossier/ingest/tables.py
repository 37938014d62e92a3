"""The typed tables every analysis reads: :class:`StudyData`.

Ingest maps ADaM datasets (or tabular extracts) to these tables; analyses never see raw ADaM
variable names. Each table is a pandas DataFrame with the columns listed in ``TABLE_COLUMNS``
(name -> dtype); optional tables are ``None`` when the spec gives no dataset for them.

Column conventions
- ``usubjid``: unique subject identifier (string) in every table.
- ``dose``: actual dose level of the subject (float, in the spec's dose unit): always one of the
  spec's ``doses.levels``, or 0.0 for subjects of a control (placebo) arm declared in
  ``doses.control_arms`` (those rows have ``control`` True).
- flags are booleans (ADaM "Y" -> True, anything else -> False).
- ``grade``: CTCAE grade 1-5 (nullable Int64; missing grade stays missing, reported as a warning).
- ``event``: True when the time-to-event record is an event (ADaM CNSR == 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TABLE_COLUMNS: dict[str, dict[str, str]] = {
    # ADSL
    "subjects": {
        "usubjid": "string", "arm": "string", "dose": "float64", "planned_dose": "float64",
        "part": "string",  # ESCALATION / BACKFILL / RANDOMIZED (ADSL PART when present, else "")
        "randomized": "bool", "safety": "bool", "efficacy": "bool", "dlt_evaluable": "bool",
        "weight_kg": "float64", "age": "float64", "sex": "string", "race": "string",
        "country": "string", "region": "string",
        "first_dose_date": "datetime64[ns]",  # TRTSDT (NaT when absent)
        "control": "bool",  # subject of a control (placebo) arm declared in the spec; dose is 0
        "discontinuation_reason": "string",  # ADSL DCDECOD > DCSREAS, upper case ("" when absent)
    },
    # ADEX (BDS, one row per subject after pivoting PARAMCD)
    "exposure": {
        "usubjid": "string", "duration_days": "float64", "rdi_pct": "float64",
        "n_reductions": "float64", "n_interruptions": "float64",
    },
    # ADEX dose records (filters.dose_paramcd) or SDTM EX: one row per dosing record
    "dosing": {
        "usubjid": "string", "start_day": "float64", "end_day": "float64",  # study days (day 1 = first dose)
        "start_date": "datetime64[ns]", "end_date": "datetime64[ns]",
        "dose": "float64",  # per administration, in the spec's unit (0 = not given / placebo)
        "n_admin": "float64",  # administrations in the record (NaN when not known)
        "frequency": "string", "visit": "string",
        "row": "float64",  # data row in the source file
        "source": "string",  # ADEX or EX
    },
    # ADAE
    "adverse_events": {
        "usubjid": "string", "term": "string", "soc": "string", "grade": "Int64",
        "serious": "bool", "teae": "bool", "dlt": "bool",
        "action": "string",  # AEACN as given (upper case)
        # AEACN meanings (codelists or CDISC terms): missing (NA) where the action is not known or not collected
        "dose_reduced": "boolean", "dose_interrupted": "boolean", "drug_withdrawn": "boolean",
        "start_day": "float64", "end_day": "float64",
        "severity": "string",  # ASEV/AESEV (MILD/MODERATE/SEVERE) as given, "" when absent
        "dose_at_onset": "float64",  # dose in effect on start_day (dosing records); NaN when unknown
    },
    # ADPP (long: one row per subject and parameter)
    "pk": {"usubjid": "string", "paramcd": "string", "value": "float64", "unit": "string"},
    # ADPC (long concentrations)
    "concentrations": {"usubjid": "string", "time_h": "float64", "value": "float64", "unit": "string"},
    # PK concentrations for NCA, one row per sample (ADPC, SDTM PC + EX or NONMEM CSV: dossier/ingest/pk.py)
    "pk_profiles": {"usubjid": "string", "analyte": "string", "profile": "string", "time": "float64",
                    "conc": "float64", "blq": "bool", "lloq": "float64", "dose": "float64",
                    "dose_source": "string", "tau": "float64", "unit": "string"},
    # ADRS (best overall response record chosen by filters.response_paramcd)
    "response": {"usubjid": "string", "bor": "string", "responder": "bool"},
    # ADTTE (records of filters.pfs_paramcd)
    "time_to_event": {"usubjid": "string", "paramcd": "string", "time": "float64", "event": "bool",
                      "unit": "string"},
    # ADQS (BDS, PRO items; dossier/ingest/pro.py): one row per subject, item and assessment
    "pro": {"usubjid": "string", "instrument": "string",  # "PRO-CTCAE" or "QLQ-C30"
            "item": "string",  # PRO-CTCAE "16A", QLQ-C30 "1".."30"
            "paramcd": "string", "visit": "string", "visitn": "float64", "day": "float64", "value": "float64",
            "baseline": "bool", "post_baseline": "bool"},
    # ADPD / ADLB-like (BDS, the spec's biomarkers; dossier/ingest/biomarker.py): one row per subject,
    # marker and assessment; change is NaN without a baseline (never 0)
    "biomarker": {"usubjid": "string", "paramcd": "string", "visit": "string", "visitn": "float64",
                  "day": "float64", "value": "float64", "base": "float64", "change": "float64",
                  "baseline": "bool", "post_baseline": "bool", "unit": "string"},
}


@dataclass
class StudyData:
    """All typed tables of one study, plus where they came from."""

    subjects: pd.DataFrame
    exposure: pd.DataFrame | None = None
    adverse_events: pd.DataFrame | None = None
    pk: pd.DataFrame | None = None
    concentrations: pd.DataFrame | None = None
    pk_profiles: pd.DataFrame | None = None
    response: pd.DataFrame | None = None
    time_to_event: pd.DataFrame | None = None
    pro: pd.DataFrame | None = None  # patient-reported outcomes (ADQS); None: not collected
    biomarker: pd.DataFrame | None = None  # biomarker / PD measurements (ADPD); None: not collected
    combination: dict | None = None  # two-agent dose pairs (combination.data): n, dlt, levels_a, levels_b
    sources: dict[str, str] = field(default_factory=dict)  # table name -> input file path
    #: "table.field" -> the ADaM variable it was read from; a field of a read dataset missing here was absent
    variables: dict[str, str] = field(default_factory=dict)
    dosing: pd.DataFrame | None = None  # per-record dosing (ADEX dose records or SDTM EX)

    def dose_at(self, usubjid, day):
        """Dose in effect for subject(s) on study day(s) (day 1 = first dose); NaN where no dosing record
        covers the day. PK sample times in hours: ``dose_at(u, dosing.day_of_hours(h))``."""
        from dossier.ingest.dosing import dose_at

        return dose_at(self.dosing, usubjid, day)

    def dosing_summary(self) -> pd.DataFrame:
        """Per subject: start, last and modal dose, dose changes, cumulative dose, RDI (ingest.dosing)."""
        from dossier.ingest.dosing import dosing_summary

        planned = self.subjects.set_index(self.subjects["usubjid"].astype(str))["planned_dose"]
        return dosing_summary(self.dosing, planned)
