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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from dossier.designs import REGISTRY
from dossier.designs.params import (
    all_parameters,
    field_source,
    from_one_based,
    is_dose_index,
    validate_options,
)
from dossier.errors import DesignError, SpecError, format_validation_error
from dossier.simstudy.grid import SimulationStudySpec
from dossier.yamlio import read_yaml

AGENCIES = ("fda", "ema", "pmda")
FORMATS = ("html", "pdf", "docx")
#: formats built when --format is not given (Word is asked for explicitly)
DEFAULT_FORMATS = ("html", "pdf")
DATASET_FORMATS = ("xpt", "dataset-json", "ndjson", "csv", "parquet")


class StrictModel(BaseModel):
    """Base for spec models: unknown keys are errors, values are validated on assignment."""

    # floats must be finite: `.inf` / `.nan` in a spec is never a meaningful setting
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False)


THERAPEUTIC_AREAS = ("oncology", "hematology", "neurology", "psychiatry", "cardiovascular", "metabolic",
                     "immunology", "infectious_disease", "respiratory", "other")


class Modality(StrEnum):
    small_molecule = "small_molecule"
    antibody = "antibody"
    adc = "adc"
    other = "other"


class StudyInfo(StrictModel):
    """Study and compound metadata shown on every dossier's title page."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="Study identifier; also the output folder name.")]
    title: str
    sponsor: str
    compound: str
    modality: Modality
    therapeutic_area: Literal["oncology", "hematology", "neurology", "psychiatry", "cardiovascular", "metabolic",
                             "immunology", "infectious_disease", "respiratory", "other"] = Field(
        description="Therapeutic area of the indication. It selects the regulatory framing: 'oncology' gets "
                    "Project Optimus, FDA's oncology dosage-optimization guidance, CTCAE grading and the EMA "
                    "anticancer guideline; every other area gets the general dose-finding framing (ICH E4, FDA "
                    "exposure-response guidance 2003).")
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

    @field_validator("document_date")
    @classmethod
    def _real_date(cls, value: str) -> str:
        import datetime as _dt

        try:
            day = _dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date (YYYY-MM-DD)") from None
        if not 1990 <= day.year <= 2100:
            raise ValueError(f"{value!r} is outside the years 1990-2100")
        return value


class Doses(StrictModel):
    """The dose levels studied, in increasing order."""

    unit: Literal["mg", "mg/kg", "mg/m2", "ug", "ug/kg"] = "mg"
    schedule: str = Field("QD", description="e.g. QD, BID, Q3W")
    levels: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)
    control_arms: list[str] = Field(default_factory=list,
                                    description="Arms (ADSL TRT01A) on placebo or control: their subjects have "
                                                "dose 0, which is otherwise rejected.")
    arm_variable: str | None = Field(None, description="ADSL text variable holding the arm (default: the first "
                                                       "of TRT01A, ACTARM, ARM present)")
    arm_map: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="Arm label -> dose level, when the numeric dose exists only as an arm "
                                          "label; control arms stay in control_arms")

    @model_validator(mode="after")
    def _arm_map(self) -> Doses:
        bad = {a: d for a, d in self.arm_map.items() if d not in set(self.levels)}
        if bad:
            raise ValueError(f"arm_map doses {bad} are not among doses.levels")
        both = sorted({a.strip().upper() for a in self.arm_map} & {a.strip().upper() for a in self.control_arms})
        if both:
            raise ValueError(f"arms {both} are both in arm_map and control_arms; a control arm has no dose level")
        return self

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
    # -- mapping of the data as delivered (dossier.ingest.mapping, dossier.filters) ------------
    rename: dict[str, str] = Field(default_factory=dict,
                                   description="Columns renamed on reading (name in the file -> new name), "
                                               "before filter, codelists and mapping see them.")
    filter: str | None = Field(None, description='Records kept, e.g. PARCAT1 == "OVERALL" and AVAL is not '
                                                 "missing (see dossier.filters); the others are counted "
                                                 "in the ingest report.")
    codelists: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Variable -> {code: meaning}. AEACN meanings: reduction, interruption, withdrawal, increase, "
                    "none, unknown. ADRS AVALC meanings: responder, non-responder, unknown. Any other variable's "
                    "codes are replaced by the meaning (a recode); codes not listed are kept.")
    log_scale: dict[str, Literal["ln", "log10"]] = Field(
        default_factory=dict, description="Variables holding log-transformed values (e.g. {AVAL: ln}); they are "
                                          "back-transformed on reading.")
    key: list[str] | None = Field(None, description="Variables identifying one record (default by dataset, e.g. "
                                                    "USUBJID + AESEQ for ADAE); conflicting duplicates are errors.")

    @field_validator("filter")
    @classmethod
    def _filter_parses(cls, v: str | None) -> str | None:
        if v is not None:
            from dossier.filters import FilterSyntaxError, parse_filter

            try:
                parse_filter(v, "dataset")
            except FilterSyntaxError as err:
                raise ValueError(err.what.replace("filter of DATASET", "filter")) from None
        return v


class Datasets(StrictModel):
    """ADaM datasets of the study. ADSL is required; the others enable their analyses."""

    adsl: DatasetSpec | None = Field(None, description="required, except for a PK-only study (a pk section)")
    adex: DatasetSpec | None = None
    adae: DatasetSpec | None = None
    adpp: DatasetSpec | None = None
    adpc: DatasetSpec | None = None
    adrs: DatasetSpec | None = None
    adtte: DatasetSpec | None = None
    ex: DatasetSpec | None = Field(None, description="SDTM EX (per-record dosing: EXDOSE, EXSTDY/EXENDY) when "
                                                     "ADEX has no per-record doses")
    adqs: DatasetSpec | None = Field(None, description="Patient-reported outcomes (BDS): PRO-CTCAE and/or EORTC "
                                                       "QLQ-C30 items, one record per item and assessment")
    adpd: DatasetSpec | None = Field(None, description="Biomarker / pharmacodynamic measurements (BDS, ADPD- or "
                                                       "ADLB-like): the endpoints are named in `biomarkers`")


class PKSpec(StrictModel):
    """Concentration data for noncompartmental analysis (see dossier/ingest/pk.py and dossier/analyses/nca.py)."""

    dataset: DatasetSpec | None = Field(None, description="ADPC (ADNCA), SDTM PC or a NONMEM-style CSV "
                                         "(ID/TIME/DV/AMT/EVID); default: datasets.adpc")
    ex: DatasetSpec | None = Field(None, description="SDTM EX giving dose times and amounts for SDTM PC")
    layout: Literal["adpc", "sdtm", "nonmem"] | None = Field(None, description="taken from the columns when omitted")
    analyte: str | None = Field(None, description="analyte to keep (PARAMCD, PCTESTCD or DVID value)")
    conc_unit: str | None = Field(None, description="concentration unit when the data carry none, e.g. mg/L")
    time_unit: str = "h"
    lloq: float | None = Field(None, gt=0, description="lower limit of quantitation when the data carry none")
    mdv_observations: Literal["blq", "exclude"] = Field(
        "blq", description="NONMEM observation records with MDV=1: below quantitation or excluded")
    replicates: Literal["error", "mean", "first"] = Field(
        "error", description="several samples at one time of a profile: an error, their mean, or the first")
    tau: float | None = Field(None, gt=0, description="dosing interval of the steady-state profiles")
    steady_state_profiles: list[str] = Field(default_factory=list, description="profiles at steady state")
    nca: dict[str, Any] = Field(default_factory=dict, description="NCA settings (dossier.analyses.nca.NCASettings)")

    @field_validator("nca")
    @classmethod
    def _nca_settings(cls, v: dict[str, Any]) -> dict[str, Any]:
        from dossier.nca_settings import NCASettings  # one definition of the NCA options

        NCASettings(**v)
        return v


class RecordFilters(StrictModel):
    """Which records of the BDS datasets carry the endpoints."""

    response_paramcd: str = "BOR"
    pfs_paramcd: str = "PFS"
    exposure_paramcd: str = Field("AUCSS", description="ADPP PARAMCD used as the exposure metric")
    responders: list[str] = Field(default_factory=lambda: ["CR", "PR"])
    dose_paramcd: list[str] = Field(default_factory=lambda: ["DOSE", "DOSEA", "ADOSE"],
                                    description="ADEX PARAMCDs of per-record actual doses (e.g. DOSE per AVISIT); "
                                                "NDOSE records of the same visit give the administrations")
    persistent_low_grade_days: int = Field(28, ge=1)


Prob = Annotated[float, Field(ge=0, le=1)]
#: the registered designs, by what they select (the capabilities are declared by the design classes)
MTD_DESIGNS = tuple(k for k, c in REGISTRY.items() if c.selects == "MTD" and not c.needs_efficacy
                    and not c.uses_calendar_time)
OBD_DESIGNS = tuple(k for k in REGISTRY if k not in MTD_DESIGNS)


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


#: design parameters spelled in the groups of the ``design`` section (``utility``, ``accrual``, ``backfill``,
#: ``uboin``: the spec's form since issue 8); the group's cutoff_tox, cutoff_eff and association are also flat keys
#: (they apply to BOIN12 too); a flat key overrides the group's value
_GROUPED_PARAMETERS = {"utility", "accrual", "accrual_per_month", "dlt_window_months", "n_cap", "response_rule",
                       "stay_on_1_of_3", "s1", "s2", "allocation", "tox_upper"}
#: spec defaults that differ from "the design's default" (kept from the spec's first versions)
_SPEC_DEFAULTS: dict[str, Any] = {"eff_lower": 0.25}


def _design_option_fields() -> dict[str, Any]:
    """One optional spec key per design parameter, generated from the designs' ``Params`` models: the help text
    names the designs that take it and the published source; None means the design's default."""
    fields: dict[str, Any] = {}
    for name, entry in all_parameters(REGISTRY).items():
        if name in _GROUPED_PARAMETERS:
            continue
        info = entry["field"]
        source = field_source(entry["model"], name)
        one_based = " (1-based)" if is_dose_index(entry["model"], name) else ""
        desc = f"{info.description}{one_based}; designs: {', '.join(entry['designs'])}" + (f"; {source}" if source else "")
        fields[name] = (info.annotation | None, Field(_SPEC_DEFAULTS.get(name), description=desc))
    return fields


class _DesignCore(StrictModel):
    name: Literal[tuple(REGISTRY)] = "boin"  # type: ignore[valid-type]
    target: float = Field(0.30, gt=0, lt=1, description="Target DLT rate")
    cohort_size: int = Field(3, ge=1, le=12)
    n_cohorts: int = Field(10, ge=1, le=100)
    n_trials: int = Field(2000, ge=10, le=1_000_000)
    seed: int = Field(20240801, ge=0)
    scenarios: list[Scenario] = Field(default_factory=list)
    utility: UtilitySettings = Field(default_factory=UtilitySettings)
    uboin: UboinSettings = Field(default_factory=UboinSettings)
    accrual: AccrualSettings = Field(default_factory=AccrualSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)


#: the design section: the settings above, then one key per design parameter generated from the parameter models
_DesignWithOptions = create_model("DesignWithOptions", __base__=_DesignCore, **_design_option_fields())
_OPTION_NAMES = tuple(k for k in _DesignWithOptions.model_fields if k not in _DesignCore.model_fields)


class DesignSettings(_DesignWithOptions):
    """Dose-escalation design and the settings of its simulation.

    Beyond the keys below, every parameter of the registered designs is a key of this section (generated
    from the designs' parameter models, :mod:`dossier.designs.params`); a key applies to the designs that
    take it, and giving it to another design is an error."""

    def _given_options(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _OPTION_NAMES if getattr(self, k) is not None}

    @model_validator(mode="after")
    def _options_apply(self) -> DesignSettings:
        cls = REGISTRY[self.name]
        given = {k: v for k, v in self._given_options().items() if k in self.model_fields_set}
        wrong = [k for k in given if k not in cls.Params.model_fields]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} do{'es' if len(wrong) == 1 else ''} not apply to design "
                             f"{self.name}")
        try:
            validate_options(cls, from_one_based(cls.Params, given))
        except DesignError as err:
            raise ValueError(err.what) from None
        return self

    @model_validator(mode="after")
    def _efficacy_scenarios(self) -> DesignSettings:
        if REGISTRY[self.name].needs_efficacy:
            missing = [s.name for s in self.scenarios if s.true_eff is None]
            if missing:
                raise ValueError(f"design {self.name} needs true_eff in every scenario; missing in {missing}")
        for s in self.scenarios:
            if s.true_eff is not None and len(s.true_eff) != len(s.true_tox):
                raise ValueError(f"scenario {s.name!r}: true_eff and true_tox need one value per dose each")
        return self

    def design_options(self) -> dict[str, Any]:
        """Constructor options of the design beyond target, doses and cohorts (0-based dose indices)."""
        cls = REGISTRY[self.name]
        accepted = cls.Params.model_fields
        opts: dict[str, Any] = {}
        if "utility" in accepted:
            opts["utility"] = self.utility.model_dump()
        if self.name == "uboin":
            opts.update(self.uboin.model_dump())
        if "accrual" in accepted:
            opts.update(accrual_per_month=self.accrual.per_month, dlt_window_months=self.accrual.dlt_window_months,
                        accrual=self.accrual.model)
        if self.name == "bf-boin":
            opts.update(self.backfill.model_dump())
        opts.update({k: v for k, v in self._given_options().items() if k in accepted})
        return from_one_based(cls.Params, opts, "design")


class QuestionWording(StrictModel):
    """One agency's wording of a question and position (e.g. to the CHMP: "Does the CHMP agree ... pivotal
    trial?"), replacing the common wording in that agency's document."""

    text: str | None = None
    position: str | None = None


class Question(StrictModel):
    """A question for the Agency, with the sponsor's position."""

    discipline: Literal["clinical", "clinical_pharmacology", "statistics", "nonclinical", "cmc", "regulatory"]
    text: str
    position: str
    text_ja: str | None = Field(None, description="Japanese text of the question (PMDA consultation item)")
    position_ja: str | None = Field(None, description="Japanese text of the sponsor's position (PMDA)")
    by_agency: dict[Literal["fda", "ema", "pmda"], QuestionWording] = Field(
        default_factory=dict, description="an agency's own wording of the question / position (e.g. ema: CHMP, "
                                          "pivotal trial, posology)")


class AgencyOverrides(StrictModel):
    """Local assumptions of one agency that replace the jurisdiction profile's defaults."""

    reference_body_weight_kg: float | None = Field(None, ge=20, le=200,
                                                   description="adult reference body weight, 20-200 kg")
    document_id: str | None = None
    meeting_type: str | None = None
    prior_advice: list[str] | None = None
    population_note: str | None = None
    parallel_scientific_advice: bool | None = Field(
        None, description="EMA: the Applicant requests parallel EMA-FDA scientific advice on these questions")


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
    prediction_method: Literal["observed", "dose_proportional", "lognormal"] = "observed"
    n_bootstrap_predictions: int = Field(1000, ge=100, le=100_000)
    mcpmod_delta_probability: float = Field(0.10, gt=0, lt=1, description="clinically relevant effect (binary)")
    cui_weights: dict[str, float] = Field(default_factory=lambda: {"response": 0.5, "severe": 0.3, "modified": 0.2})
    # patient-reported outcomes (dossier/analyses/pro.py)
    pro_deterioration_points: float = Field(10.0, gt=0, le=100, description="QLQ-C30 change (points, 0-100 "
                                            "scale) counted as a clinically meaningful deterioration")
    pro_ctcae_high_score: int = Field(3, ge=1, le=4, description="PRO-CTCAE item score counted as high")


class CombinationAgent(StrictModel):
    """One agent of a drug combination with its own dose levels (ascending)."""

    name: str = Field(min_length=1)
    unit: Literal["mg", "mg/kg", "mg/m2", "ug", "ug/kg"] = "mg"
    levels: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _ascending(self) -> CombinationAgent:
        if sorted(set(self.levels)) != self.levels:
            raise ValueError(f"levels of {self.name} must be distinct and ascending, got {self.levels}")
        return self


class CombinationScenario(StrictModel):
    name: str
    true_tox: list[list[Prob]] = Field(description="DLT probability per dose pair: rows agent A, columns agent B")


class CombinationSpec(StrictModel):
    """A two-agent dose-finding trial (dossier.designs.boin_comb / waterfall): agent A levels are the
    grid rows, agent B levels the columns; ``data`` is a CSV of dose pairs (``dossier combination``)."""

    agents: list[CombinationAgent] = Field(min_length=2, max_length=2)
    design: Literal["boin-comb", "waterfall"] = "boin-comb"
    target: float = Field(0.30, ge=0.05, le=0.6)
    cohort_size: int = Field(3, ge=1, le=12)
    n_cohorts: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [10], description=(
        "boin-comb: [total cohorts]; waterfall: cohorts per subtrial (one per agent A level)"))
    n_earlystop: int | None = Field(None, ge=1)
    n_trials: int = Field(2000, ge=10, le=1_000_000)
    seed: int = Field(20240801, ge=0)
    data: DatasetSpec | None = None
    scenarios: list[CombinationScenario] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shapes(self) -> CombinationSpec:
        J, K = (len(a.levels) for a in self.agents)
        for sc in self.scenarios:
            if len(sc.true_tox) != J or any(len(r) != K for r in sc.true_tox):
                raise ValueError(f"scenario {sc.name}: true_tox must be {J} rows x {K} columns")
        if self.design == "boin-comb" and len(self.n_cohorts) != 1:
            raise ValueError("boin-comb takes one total number of cohorts: n_cohorts: [N]")
        if self.design == "waterfall" and (J > K or len(self.n_cohorts) != J):
            raise ValueError(f"waterfall needs agent A (rows) to have no more levels than agent B and one "
                             f"n_cohorts entry per agent A level ({J})")
        return self


class BiomarkerSpec(StrictModel):
    """A continuous biomarker or PD endpoint read from ``datasets.adpd`` (dossier/analyses/biomarker.py)."""

    paramcd: str = Field(min_length=1, description="PARAMCD of the marker in datasets.adpd")
    name: str = Field(min_length=1, description="what the marker is, in words (e.g. pERK inhibition)")
    unit: str = Field(min_length=1, description="unit of AVAL; checked against AVALU when present")
    validation: Literal["exploratory", "validated"] = Field(description="the marker's validation status")
    measure: Literal["value", "change", "percent_change"] = Field(
        "change", description="analysed: AVAL, change from baseline (CHG, else AVAL - baseline) or % change")
    visit: str | None = Field(None, description="AVISIT analysed; default each subject's last post-baseline value")
    direction: Literal["increasing", "decreasing"] = Field(
        "increasing", description="direction of the expected drug effect (decreasing: analysed as a reduction)")
    delta: float | None = Field(None, gt=0, description="relevant effect over dose 0 for the target dose (unit)")
    covariates: list[Literal["baseline", "age", "sex", "weight_kg", "race", "region"]] = Field(
        default_factory=list, description="ANCOVA covariates of MCP-Mod (baseline: the marker's own baseline)")


class Revision(StrictModel):
    """One entry of the document's revision history."""

    version: str = Field(min_length=1)
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    description: str = Field(min_length=1)


class Attendee(StrictModel):
    """A meeting attendee listed in the agency variants."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="title or function, e.g. 'Head of Clinical Pharmacology'")
    affiliation: str | None = None


class RenderSettings(StrictModel):
    """What goes into which document (see README, 'Document apparatus and audiences')."""

    pmr_risk_in_agency_variants: bool = Field(
        False, description="Also print the PMR-risk assessment in the agency-facing variants (by default it is "
                           "only in the internal strategy report)")
    status: str = Field("Draft", min_length=1, description="document status printed in the document control")
    revision_history: list[Revision] = Field(default_factory=list)
    attendees: list[Attendee] = Field(default_factory=list, description="sponsor attendees of the meeting")


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
    render: RenderSettings = Field(default_factory=RenderSettings)
    analyses: AnalysisOptions = Field(default_factory=AnalysisOptions)
    pk: PKSpec | None = Field(None, description="concentration data for NCA (default: datasets.adpc, if given)")
    simulation_study: SimulationStudySpec | None = Field(
        None, description="Grid of designs x scenarios simulated for the design comparison (dossier study)")
    combination: CombinationSpec | None = Field(None, description="two-agent dose finding (dossier combination)")
    biomarkers: list[BiomarkerSpec] = Field(default_factory=list, description="continuous biomarker / PD "
                                            "endpoints in datasets.adpd (MCP-Mod and Emax exposure-response)")

    @model_validator(mode="after")
    def _dosages_are_levels(self) -> StudySpec:
        if self.datasets.adsl is None and self.pk is None:
            raise ValueError("datasets.adsl is required (only a PK-only study, with a pk section, may omit it)")
        levels = set(self.doses.levels)
        if self.proposed_dosage not in levels:
            raise ValueError(f"proposed_dosage {self.proposed_dosage:g} is not one of doses.levels "
                             f"{[f'{x:g}' for x in self.doses.levels]}")
        bad = [d for d in self.randomized_dosages if d not in levels]
        if bad:
            raise ValueError(f"randomized_dosages {bad} are not among doses.levels")
        if self.biomarkers and self.datasets.adpd is None:
            raise ValueError("biomarkers are named but datasets.adpd (the BDS dataset holding them) is not given")
        for i, sc in enumerate(self.design.scenarios):
            if len(sc.true_tox) != len(self.doses.levels):
                raise ValueError(f"design.scenarios[{i}].true_tox has {len(sc.true_tox)} values; "
                                 f"one per dose level ({len(self.doses.levels)}) is required")
        return self

    # -- convenience -----------------------------------------------------------------------
    def dose_label(self, dose: float) -> str:
        return f"{dose:g} {self.doses.unit} {self.doses.schedule}"


#: marker left by `dossier init` (dossier.ingest.init_spec) for what it cannot decide from the data
TODO = "TODO"


def todo_markers(data: object, path: str = "") -> list[tuple[str, str]]:
    """(key path, text) of every value of a spec (parsed YAML) that is a TODO marker."""
    out: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            key = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and k.startswith(TODO):
                out.append((key, k))
            out.extend(todo_markers(v, key))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(todo_markers(v, f"{path}[{i}]"))
    elif isinstance(data, str) and data.strip().startswith(TODO):
        out.append((path, data.strip()))
    return out


def parse_spec(data: Any, source: str = "<spec>") -> StudySpec:
    if not isinstance(data, dict):
        raise SpecError("the study spec must be a YAML mapping of keys to values", where=source,
                        hint="start the file with keys such as `study:`, `doses:`, `datasets:`")
    todos = todo_markers(data)
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as err:
        if not todos:
            raise format_validation_error(err, source, missing_hints={("study", "therapeutic_area"): (
                "missing: the therapeutic area selects the regulatory framing; add "
                f"`therapeutic_area: <one of {', '.join(THERAPEUTIC_AREAS)}>` under `study:` "
                "(oncology for cancer indications; Alzheimer's disease is neurology)")}) from None
        other = format_validation_error(err, source).what.split(":\n    ", 1)[-1].split("\n    ")
        todo_paths = {p for p, _ in todos}
        rest = [line for line in other if line.split(":", 1)[0] not in todo_paths]
    else:
        if not todos:
            return spec
        rest = []
    listed = [f"{p}: {t}" for p, t in todos] + rest
    raise SpecError(f"the study spec has {len(todos)} TODO item(s) to fill in"
                    + (f" and {len(rest)} other problem(s)" if rest else "") + ":\n    " + "\n    ".join(listed),
                    where=source, hint="replace each TODO (left by `dossier init`) with the value it asks for")


def load_spec(path: str | Path) -> StudySpec:
    """Load and validate a study spec from a YAML file."""
    data = read_yaml(path, "spec file", "pass the path of a study YAML, e.g. examples/examplinib/study.yaml")
    return parse_spec(data, str(path))


def spec_json_schema() -> str:
    """The JSON Schema of the study spec, for editors (``dossier schema``)."""
    return json.dumps(StudySpec.model_json_schema(), indent=2, sort_keys=True)
