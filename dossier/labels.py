"""Labels of the safety endpoints and derived measures: the one source of these labels for ingest messages,
analyses, tables and prose (below every stage, so ingest warnings and documents name a measure alike)."""

from __future__ import annotations

SAFETY_ENDPOINTS: dict[str, str] = {
    "severe": "grade ≥3 TEAE",
    "serious": "serious TEAE",
    "modified": "TEAE leading to dose reduction or interruption",
    "interrupted": "TEAE leading to dose interruption",
    "reduced": "TEAE leading to dose reduction",
    "withdrawn": "TEAE leading to discontinuation",
    "persistent_low_grade": "persistent low-grade TEAE",
}
#: the label of "severe" where no CTCAE grade was recorded and the investigator's severity stands in for it
SEVERE_BY_SEVERITY = "severe TEAE (AESEV; no CTCAE grade recorded)"
#: the CTCAE-only measure (never the severity analogue)
GRADE3_LABEL = "grade ≥3 TEAE (CTCAE)"
#: labels of the other derived measures
MEASURE_LABELS: dict[str, str] = {"grade3": GRADE3_LABEL, "any_teae": "any TEAE",
                                  "withdrawn_study": "discontinuation of the study for an adverse event (ADSL)"}


def safety_label(key: str, severity_basis: str = "grade") -> str:
    """The label of a safety endpoint or derived measure, the one source of these labels for messages, tables and
    prose: "severe" is a grade >= 3 TEAE only where CTCAE grades were recorded (``severity_basis`` "grade");
    with "severity" it is the investigator's severity SEVERE; with "none" neither was recorded."""
    if key == "severe" and severity_basis == "severity":
        return SEVERE_BY_SEVERITY
    return SAFETY_ENDPOINTS.get(key) or MEASURE_LABELS.get(key, key)
