"""The study spec: what a build needs to know about the study, its data, designs and agencies.

A spec is a YAML file loaded with ``yaml.safe_load`` and validated by pydantic v2 models in which
unknown keys are errors (``extra="forbid"``). Every validation failure is reported as a
:class:`~dossier.errors.SpecError` naming the key path (``design.target``) and what is allowed.
``dossier schema`` prints the JSON Schema of :class:`StudySpec` for editors.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dossier.errors import SpecError
from dossier.simstudy.grid import SimulationStudySpec
from dossier.yamlio import read_yaml

AGENCIES = ("fda", "ema", "pmda")
FORMATS = ("html", "pdf")
DATASET_FORMATS = ("xpt", "dataset-json", "ndjson", "csv", "parquet")


class StrictModel(BaseModel):
    """Base for spec models: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class Modality(StrEnum):
    small_molecule = "small_molecule"
    antibody = "antibody"
    adc = "adc"
    other = "other"


class StudyInfo(StrictModel):
    """Study and compound metadata shown on every dossier's title page."""

    id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="Study identifier; also the output folder name.")]
    title: str
    sponsor: str
    compound: str
    modality: Modality
    indication: str
    line_of_therapy: str = Field(description="e.g. 'second line or later'")
    phase: str = "1/2"
    ind_number: str | None = Field(None, description="US IND number (FDA variant)")
    chemical_name: str | None = None
    dosage_form: str = "tablet"
    route: str = "oral"
    document_version: str = "1.0"
    document_date: str = Field("2026-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$",
                               description="Fixed date printed in the documents and PDF metadata (ISO).")


class Doses(StrictModel):
    """The dose levels studied, in increasing order."""

    unit: Literal["mg", "mg/kg", "mg/m2", "ug", "ug/kg"] = "mg"
    schedule: str = Field("QD", description="e.g. QD, BID, Q3W")
    levels: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)
    control_arms: list[str] = Field(default_factory=list,
                                    description="Arms (ADSL TRT01A) on placebo or control: their subjects have "
                                                "dose 0, which is otherwise rejected.")

    @field_validator("levels")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("dose levels must be strictly increasing")
        return v


class DatasetSpec(StrictModel):
    """Where one dataset lives and how to read it."""

    path: str = Field(description="Path relative to the spec file (or absolute).")
    format: Literal["xpt", "dataset-json", "ndjson", "csv", "parquet"] | None = Field(
        None, description="Taken from the file content when omitted.")
    encoding: str | None = Field(None, description="Character encoding of XPT/CSV, e.g. windows-1252.")
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="Map of standard variable name -> name in this file.")


class Datasets(StrictModel):
    """ADaM datasets of the study. ADSL is required; the others enable their analyses."""

    adsl: DatasetSpec
    adex: DatasetSpec | None = None
    adae: DatasetSpec | None = None
    adpp: DatasetSpec | None = None
    adpc: DatasetSpec | None = None
    adrs: DatasetSpec | None = None
    adtte: DatasetSpec | None = None
    adqs: DatasetSpec | None = Field(None, description="Patient-reported outcomes (BDS): PRO-CTCAE and/or EORTC "
                                                       "QLQ-C30 items, one record per item and assessment")


class RecordFilters(StrictModel):
    """Which records of the BDS datasets carry the endpoints."""

    response_paramcd: str = "BOR"
    pfs_paramcd: str = "PFS"
    exposure_paramcd: str = Field("AUCSS", description="ADPP PARAMCD used as the exposure metric")
    responders: list[str] = Field(default_factory=lambda: ["CR", "PR"])
    persistent_low_grade_days: int = Field(28, ge=1)


Prob = Annotated[float, Field(ge=0, le=1)]
MTD_DESIGNS = ("3+3", "i3+3", "mtpi2", "boin", "crm")
OBD_DESIGNS = ("boin12", "uboin", "bf-boin", "tite-boin")


class Scenario(StrictModel):
    name: str
    true_tox: list[Prob]
    true_eff: list[Prob] | None = Field(None, description="true response probability per dose "
                                                          "(needed by boin12, uboin and bf-boin)")


class UtilitySettings(StrictModel):
    """BOIN12 utilities of the four outcomes (Lin, Zhou & Yuan 2020; defaults of the paper)."""

    eff_no_tox: float = Field(100.0, ge=100, le=100)
    eff_tox: float = Field(60.0, ge=0, le=100)
    no_eff_no_tox: float = Field(40.0, ge=0, le=100)
    no_eff_tox: float = Field(0.0, ge=0, le=0)


class UboinSettings(StrictModel):
    """U-BOIN (Zhou, Lee & Yuan 2019) settings beyond the target, eff_lower and utility."""

    tox_upper: float | None = Field(None, gt=0, lt=1, description="highest acceptable DLT rate (default: "
                                                                   "target + 0.05)")
    s1: int = Field(12, ge=1, description="patients on a dose that end stage I (BOIN)")
    s2: int = Field(24, ge=2, description="patients on a dose that end the trial")
    allocation: Literal["greedy", "proportional", "equal"] = Field(
        "greedy", description="stage-II allocation by posterior mean utility")
    association: float = Field(0.0, description="Gumbel association of toxicity and efficacy in simulations")
    cutoff_tox: float = Field(0.95, ge=0.5, lt=1)
    cutoff_eff: float = Field(0.90, ge=0.5, lt=1)

    @model_validator(mode="after")
    def _stages(self) -> UboinSettings:
        if self.s2 <= self.s1:
            raise ValueError(f"s2 ({self.s2}) must be larger than s1 ({self.s1})")
        return self


class AccrualSettings(StrictModel):
    per_month: float = Field(3.0, gt=0, description="patients per month")
    model: Literal["uniform", "poisson"] = "uniform"
    dlt_window_months: float = Field(1.0, gt=0)


class BackfillSettings(StrictModel):
    n_cap: int = Field(12, ge=1, description="most backfill patients per dose")
    response_rule: Literal["at_or_below", "dose"] = "at_or_below"
    stay_on_1_of_3: bool = False


class DesignSettings(StrictModel):
    """Dose-escalation design and the settings of its simulation."""

    name: Literal["3+3", "i3+3", "mtpi2", "boin", "crm", "boin12", "uboin", "bf-boin", "tite-boin"] = "boin"
    target: float = Field(0.30, gt=0, lt=1, description="Target DLT rate")
    cohort_size: int = Field(3, ge=1, le=12)
    n_cohorts: int = Field(10, ge=1, le=100)
    n_trials: int = Field(2000, ge=10, le=1_000_000)
    seed: int = Field(20240801, ge=0)
    scenarios: list[Scenario] = Field(default_factory=list)
    n_earlystop: int | None = Field(None, ge=1, description="stop when this many patients are on one dose")
    eff_lower: float = Field(0.25, gt=0, lt=1, description="lowest acceptable response rate (boin12, uboin)")
    utility: UtilitySettings = Field(default_factory=UtilitySettings)
    uboin: UboinSettings = Field(default_factory=UboinSettings)
    accrual: AccrualSettings = Field(default_factory=AccrualSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)

    @model_validator(mode="after")
    def _efficacy_scenarios(self) -> DesignSettings:
        if self.name in ("boin12", "uboin", "bf-boin"):
            missing = [s.name for s in self.scenarios if s.true_eff is None]
            if missing:
                raise ValueError(f"design {self.name} needs true_eff in every scenario; missing in {missing}")
        for s in self.scenarios:
            if s.true_eff is not None and len(s.true_eff) != len(s.true_tox):
                raise ValueError(f"scenario {s.name!r}: true_eff and true_tox need one value per dose each")
        return self

    def design_options(self) -> dict[str, Any]:
        """Constructor options of the design beyond target, doses and cohorts."""
        opts: dict[str, Any] = {}
        if self.n_earlystop is not None:
            opts["n_earlystop"] = self.n_earlystop
        if self.name in ("boin12", "uboin"):
            opts.update(eff_lower=self.eff_lower, utility=self.utility.model_dump())
        if self.name == "uboin":
            opts.update(self.uboin.model_dump())
        if self.name in ("bf-boin", "tite-boin"):
            opts.update(accrual_per_month=self.accrual.per_month, dlt_window_months=self.accrual.dlt_window_months,
                        accrual=self.accrual.model)
        if self.name == "bf-boin":
            opts.update(self.backfill.model_dump())
        return opts


class Question(StrictModel):
    """A question for the Agency, with the sponsor's position."""

    discipline: Literal["clinical", "clinical_pharmacology", "statistics", "nonclinical", "cmc", "regulatory"]
    text: str
    position: str


class AgencyOverrides(StrictModel):
    """Local assumptions of one agency that replace the jurisdiction profile's defaults."""

    reference_body_weight_kg: float | None = Field(None, gt=0)
    document_id: str | None = None
    meeting_type: str | None = None
    prior_advice: list[str] | None = None
    population_note: str | None = None


class PmrFactorOverride(StrictModel):
    """A change to one factor of the PMR-risk score (value and/or prior), or a new factor."""

    factor: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$",
                        description="factor name (dossier/analyses/pmr_factors.yaml) or a new one")
    value: float | None = Field(None, description="coded value replacing the one derived from the data")
    centre: float | None = Field(None, description="prior centre, log-odds per unit value")
    spread: float | None = Field(None, gt=0, description="prior SD, log-odds per unit value")
    label: str | None = None
    source: str | None = None
    reason: str = Field(min_length=1, description="why; printed in the dossier")


class PmrSettings(StrictModel):
    """Facts for the PMR-risk score that are not in the data, and factor overrides."""

    registrational_dosages: int = Field(1, ge=0, description="dosages planned in the registrational trial")
    expected_treatment_months: float | None = Field(None, gt=0)
    breakthrough: bool = False
    overrides: list[PmrFactorOverride] = Field(default_factory=list)


class AnalysisOptions(StrictModel):
    """Settings of the analyses (defaults documented in dossier.analyses.AnalysisSettings)."""

    exposure_transform: Literal["log", "linear"] = "log"
    er_covariates: list[str] = Field(default_factory=list)
    aesi_terms: list[str] = Field(default_factory=list, description="AEDECOD terms of special interest")
    prediction_method: Literal["dose_proportional", "lognormal"] = "dose_proportional"
    n_bootstrap_predictions: int = Field(1000, ge=100, le=100_000)
    mcpmod_delta_probability: float = Field(0.10, gt=0, lt=1, description="clinically relevant effect (binary)")
    cui_weights: dict[str, float] = Field(default_factory=lambda: {"response": 0.5, "severe": 0.3, "modified": 0.2})
    # patient-reported outcomes (dossier/analyses/pro.py)
    pro_deterioration_points: float = Field(10.0, gt=0, le=100, description="QLQ-C30 change (points, 0-100 "
                                            "scale) counted as a clinically meaningful deterioration")
    pro_ctcae_high_score: int = Field(3, ge=1, le=4, description="PRO-CTCAE item score counted as high")


class StudySpec(StrictModel):
    """A study spec: everything a build of the dossiers needs."""

    study: StudyInfo
    doses: Doses
    randomized_dosages: list[Annotated[float, Field(gt=0)]] = Field(default_factory=list)
    proposed_dosage: float = Field(gt=0)
    datasets: Datasets
    filters: RecordFilters = Field(default_factory=RecordFilters)
    design: DesignSettings = Field(default_factory=DesignSettings)
    agencies: list[Literal["fda", "ema", "pmda"]] = Field(default_factory=lambda: list(AGENCIES), min_length=1)
    overrides: dict[Literal["fda", "ema", "pmda"], AgencyOverrides] = Field(default_factory=dict)
    questions: list[Question] = Field(default_factory=list)
    pmr: PmrSettings = Field(default_factory=PmrSettings)
    analyses: AnalysisOptions = Field(default_factory=AnalysisOptions)
    simulation_study: SimulationStudySpec | None = Field(
        None, description="Grid of designs x scenarios simulated for the design comparison (dossier study)")

    @model_validator(mode="after")
    def _dosages_are_levels(self) -> StudySpec:
        levels = set(self.doses.levels)
        if self.proposed_dosage not in levels:
            raise ValueError(f"proposed_dosage {self.proposed_dosage:g} is not one of doses.levels "
                             f"{[f'{x:g}' for x in self.doses.levels]}")
        bad = [d for d in self.randomized_dosages if d not in levels]
        if bad:
            raise ValueError(f"randomized_dosages {bad} are not among doses.levels")
        for i, sc in enumerate(self.design.scenarios):
            if len(sc.true_tox) != len(self.doses.levels):
                raise ValueError(f"design.scenarios[{i}].true_tox has {len(sc.true_tox)} values; "
                                 f"one per dose level ({len(self.doses.levels)}) is required")
        return self

    # -- convenience -----------------------------------------------------------------------
    def dose_label(self, dose: float) -> str:
        return f"{dose:g} {self.doses.unit} {self.doses.schedule}"


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(top level)"


def format_validation_error(err: ValidationError, source: str) -> SpecError:
    """Turn a pydantic ValidationError into one SpecError listing every key path and what is allowed."""
    problems = []
    for e in err.errors():
        # pydantic puts union members / function names into loc; keep only real keys
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here; check spelling, see `dossier schema`)"
        elif e["type"] in ("literal_error", "enum"):
            msg = f"{msg}"
        problems.append(f"{_loc(loc)}: {msg}")
    what = f"the study spec is invalid ({len(problems)} problem{'s' if len(problems) != 1 else ''})"
    return SpecError(what + ":\n    " + "\n    ".join(problems), where=source,
                     hint="fix the keys listed above; `dossier schema` prints every allowed key and value")


def parse_spec(data: Any, source: str = "<spec>") -> StudySpec:
    if not isinstance(data, dict):
        raise SpecError("the study spec must be a YAML mapping of keys to values", where=source,
                        hint="start the file with keys such as `study:`, `doses:`, `datasets:`")
    try:
        return StudySpec.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, source) from None


def load_spec(path: str | Path) -> StudySpec:
    """Load and validate a study spec from a YAML file."""
    data = read_yaml(path, "spec file", "pass the path of a study YAML, e.g. examples/examplinib/study.yaml")
    return parse_spec(data, str(path))


def spec_json_schema() -> str:
    """The JSON Schema of the study spec, for editors (``dossier schema``)."""
    return json.dumps(StudySpec.model_json_schema(), indent=2, sort_keys=True)
