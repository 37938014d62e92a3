"""CoreEvidence: the agency-neutral bundle every dossier variant is rendered from.

It holds the results of all analyses with their provenance (input files and their sha256, the spec
hash, the package version). It is JSON-serializable with sorted keys and has a content hash, so two
variants (or two builds) can prove they were rendered from identical evidence.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, Field

from dossier.analyses import AnalysesBundle
from dossier.analyses.dose_summary import DoseSummary
from dossier.analyses.ethnic_sensitivity import EthnicSensitivityResult
from dossier.analyses.justification import JustificationResult
from dossier.analyses.pmr_risk import PmrRiskResult
from dossier.designs import DecisionTable, ObdOperatingCharacteristics, OperatingCharacteristics
from dossier.finding import Finding
from dossier.inputs import InputFile  # noqa: F401  (re-exported)
from dossier.simstudy.results import SimulationStudyResult
from dossier.spec import Doses, StudyInfo


class Provenance(BaseModel):
    package_version: str
    spec_sha256: str
    inputs: list[InputFile]
    ingest: Any = None  # dossier.ingest.IngestReport (row counts in/out, exclusions, warnings)


class ScenarioOC(BaseModel):
    name: str
    # OBD designs report more (efficacy, backfill, duration); tried first so a cached file keeps them
    oc: ObdOperatingCharacteristics | OperatingCharacteristics = Field(union_mode="left_to_right")
    #: "design id/scenario id" of the simulation-study cell these OCs are (same design, scenario, seed and
    #: number of trials): one simulation, one value, wherever it is shown
    study_cell: str | None = None


class DesignEvidence(BaseModel):
    """The escalation design's rules and its simulated operating characteristics per scenario."""

    name: str
    target: float
    cohort_size: int
    n_cohorts: int
    n_trials: int
    seed: int
    decision_table: DecisionTable | None = None
    scenarios: list[ScenarioOC] = Field(default_factory=list)


class Applicability(BaseModel):
    """Whether a section applies to the study: its needs, and for each unmet need what is missing."""

    section: str
    applicable: bool
    needs: list[str]  # what the section needs, in words
    missing: list[str] = Field(default_factory=list)  # one sentence per unmet need


class CoreEvidence(BaseModel):
    """Everything the dossiers say about the data, agency-neutral."""

    study: StudyInfo
    doses: Doses
    proposed_dosage: float
    randomized_dosages: list[float]
    dose_summary: DoseSummary
    design: DesignEvidence | None = None
    analyses: AnalysesBundle | None = None
    mtd: float | None = None  # MTD estimated by the spec's design from the escalation data
    pmr_risk: PmrRiskResult | None = None
    simulation_study: SimulationStudyResult | None = None
    ethnic: EthnicSensitivityResult | None = None  # Japan-specific (rendered in the PMDA variant)
    justification: JustificationResult | None = None  # dose x evidence line (dossier.analyses.justification)
    findings: list[Finding] = Field(default_factory=list)  # statements the evidence does not bear out
    provenance: Provenance
    #: section id -> whether it applies and what is missing (dossier/jurisdictions/section_needs.yaml)
    applicability: dict[str, Applicability] = Field(default_factory=dict)

    def applies(self, section: str) -> bool:
        """Whether a section applies (a section without declared needs always does)."""
        a = self.applicability.get(section)
        return a is None or a.applicable

    def to_json_dict(self) -> dict[str, Any]:
        return _clean(self.model_dump(mode="json"))

    def canonical_json(self) -> str:
        """Sorted-key JSON with no NaN: the byte form that is hashed and written to evidence.json."""
        return json.dumps(self.to_json_dict(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _clean(obj: Any) -> Any:
    """Replace non-finite floats by None so the JSON is valid and deterministic."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


@cache
def section_needs() -> dict[str, Any]:
    """The needs table: what each need means and which needs each section has (data, not code)."""
    text = resources.files("dossier.jurisdictions").joinpath("section_needs.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def needs_met(ev: CoreEvidence) -> dict[str, bool]:
    """Each need of the needs table checked against the evidence."""
    a = ev.analyses
    rows = ev.dose_summary.rows

    def has(name: str) -> bool:
        return a is not None and getattr(a, name) is not None

    er_models = has("exposure_response") and bool(a.exposure_response.models)
    return {
        "escalation": has("escalation"),
        "design_simulation": ev.design is not None,
        "simulation_study": ev.simulation_study is not None,
        "randomized": has("randomized"),
        "adverse_events": has("tolerability"),
        "efficacy": any(r.response is not None and r.response.n > 0 for r in rows),
        "dose_response": has("dose_response"),
        "pk": has("exposure_response"),
        "er_models": er_models,
        "benefit_risk_inputs": has("predictions") and has("benefit_risk"),
        "models": has("dose_response") or er_models,
        "oncology": ev.study.therapeutic_area == "oncology",
        "combination": has("combination"),
    }


def compute_applicability(ev: CoreEvidence) -> dict[str, Applicability]:
    """For each section of the needs table: applicable or not, with what is missing."""
    table = section_needs()
    met = needs_met(ev)
    out: dict[str, Applicability] = {}
    for section, needs in table["sections"].items():
        unmet = [n for n in needs if not met[n]]
        out[section] = Applicability(section=section, applicable=not unmet,
                                     needs=[table["needs"][n]["what"] for n in needs],
                                     missing=[table["needs"][n]["missing"] for n in unmet])
    return out


def dose_steps(evidence: CoreEvidence, max_steps: int = 2) -> list[float]:
    """Dose-reduction steps: up to ``max_steps`` studied dose levels below the proposed dosage."""
    lower = [d for d in evidence.doses.levels if d < evidence.proposed_dosage]
    return list(reversed(lower))[:max_steps]
