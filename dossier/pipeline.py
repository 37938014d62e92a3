"""build(spec) -> evidence -> dossiers: the only place that strings the stages together.

A build
1. loads and validates the spec and fingerprints its inputs (sha256 of the spec, every dataset,
   every template and asset, the package version, the agencies and formats);
2. reuses the previous build when nothing changed (outputs present with their recorded hashes), or
   reuses the cached evidence when only templates changed;
3. otherwise ingests the data and runs the analyses into one :class:`CoreEvidence`;
4. renders each agency's HTML and PDF, preflights each PDF, and writes everything (``evidence.json``,
   ``manifest.json``, ``<agency>/dossier.html|pdf``, ``<agency>/variant.json``) into a temporary folder
   that replaces ``output/<study>`` only when the whole build succeeded.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dossier import __version__
from dossier.errors import BuildError, DossierError, SpecError
from dossier.inputs import InputFile
from dossier.jurisdictions import load_profile
from dossier.render import write
from dossier.spec import AGENCIES, DEFAULT_FORMATS, FORMATS, StudySpec, load_spec

if TYPE_CHECKING:  # the analyses, numpy and the evidence model load when evidence is computed or read:
    # `build --check` and an up-to-date rebuild only fingerprint the inputs (issue 16: <= 1 s and <= 2 s)
    import numpy as np

    from dossier.evidence import CoreEvidence, DesignEvidence

Progress = Callable[[str], None]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def templates_sha256() -> str:
    """One hash over every template and asset file (relative path + content)."""
    from dossier.render.assets import TEMPLATES_DIR, template_files

    h = hashlib.sha256()
    for p in template_files():
        h.update(p.relative_to(TEMPLATES_DIR).as_posix().encode() + b"\0" + sha256_file(p).encode())
    return h.hexdigest()


#: the package's own files that produce the evidence (analysis code, its YAML settings and CSV tables); the
#: templates and assets are hashed apart (``templates_sha256``), so a template edit reuses the evidence
CODE_SUFFIXES = (".py", ".yaml", ".csv")
_PACKAGE_DIR = Path(__file__).resolve().parent


def code_files() -> list[str]:
    """Every code and data file of the package outside the templates folder (paths relative to the package,
    with "/"), in a fixed order."""
    files = []
    for folder, dirs, names in os.walk(_PACKAGE_DIR):
        rel = os.path.relpath(folder, _PACKAGE_DIR).replace(os.sep, "/")
        # not the templates (hashed apart) nor the bytecode caches
        dirs[:] = [d for d in dirs if d != "__pycache__" and not (d == "templates" and rel == ".")]
        files += [n if rel == "." else f"{rel}/{n}" for n in names if n.endswith(CODE_SUFFIXES)]
    return sorted(files)


@functools.cache
def code_sha256() -> str:
    """One hash over the package's code and data files (relative path, size and content), computed once per
    process (a few ms for ~100 files): an analysis-code change within one package version makes the cached
    evidence stale."""
    h = hashlib.sha256()
    for rel in code_files():
        data = (_PACKAGE_DIR / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


@dataclass
class BuildPlan:
    spec_path: Path
    spec: StudySpec
    agencies: list[str]
    formats: list[str]
    out_dir: Path
    inputs: list[InputFile]
    spec_sha256: str
    templates_sha256: str
    pdfa: bool = False  # PDFs as PDF/A-2b (--pdfa)

    @property
    def study_dir(self) -> Path:
        return self.out_dir / self.spec.study.id

    @property
    def base_dir(self) -> Path:
        return self.spec_path.parent

    def protected_paths(self) -> list[Path]:
        """The build's own inputs: no output folder it replaces may hold them."""
        return [self.spec_path] + [(p if p.is_absolute() else self.base_dir / p)
                                   for p in (Path(i.path) for i in self.inputs)]

    def evidence_key(self) -> str:
        """What the evidence depends on: package version and code, spec and inputs."""
        payload = {"version": __version__, "code": code_sha256(), "spec": self.spec_sha256,
                   "inputs": [i.model_dump() for i in self.inputs]}
        return sha256_bytes(json.dumps(payload, sort_keys=True).encode())

    def fingerprint(self) -> str:
        """What the whole build depends on."""
        payload = {"evidence": self.evidence_key(), "templates": self.templates_sha256,
                   "agencies": self.agencies, "formats": self.formats}
        if self.pdfa:
            payload["pdfa"] = True
        return sha256_bytes(json.dumps(payload, sort_keys=True).encode())


@dataclass
class BuildResult:
    study_dir: Path
    outputs: list[Path] = field(default_factory=list)
    status: str = "built"  # built | up-to-date | rendered (evidence reused)
    timings: dict[str, float] = field(default_factory=dict)
    evidence_hash: str = ""
    findings: list[Any] = field(default_factory=list)  # dossier.findings.Finding


def _parse_list(value: Sequence[str] | str | None, allowed: Sequence[str], what: str, default: list[str]) -> list[str]:
    if value is None:
        return list(default)
    items = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise SpecError(f"unknown {what} {', '.join(repr(b) for b in bad) or '(empty)'}", where=f"--{what}",
                        hint=f"choose from {', '.join(allowed)} (comma-separated)")
    return [a for a in allowed if a in items]


def plan_build(spec_path: str | Path, agencies: Sequence[str] | str | None = None,
               formats: Sequence[str] | str | None = None, out_dir: str | Path = "output") -> BuildPlan:
    spec_path = Path(spec_path)
    spec = load_spec(spec_path)
    agency_list = _parse_list(agencies, AGENCIES, "agency", list(spec.agencies))
    format_list = _parse_list(formats, FORMATS, "format", list(DEFAULT_FORMATS))
    inputs = []
    named = [(f"datasets.{n}", n, getattr(spec.datasets, n)) for n in ("adsl", "adex", "ex", "adae", "adpp", "adpc", "adrs", "adqs", "adpd",
                                                                         "adtte")]
    if spec.combination is not None and spec.combination.data is not None:  # two-agent dose pairs
        named.append(("combination.data", "combination", spec.combination.data))
    if spec.pk is not None:  # concentration data (and SDTM EX) given in the PK section
        named += [("pk.dataset", "pk", spec.pk.dataset), ("pk.ex", "pk_ex", spec.pk.ex)]
    for where, name, ds in named:
        if ds is None:
            continue
        p = Path(ds.path)
        resolved = p if p.is_absolute() else spec_path.parent / p
        if not resolved.is_file():
            raise SpecError(f"dataset file not found: {resolved}", where=f"{where}.path",
                            hint="paths are relative to the spec file's folder; check the name and location")
        inputs.append(InputFile(name=name, path=ds.path, sha256=sha256_file(resolved)))
    return BuildPlan(spec_path=spec_path, spec=spec, agencies=agency_list, formats=format_list,
                     out_dir=Path(out_dir), inputs=inputs, spec_sha256=sha256_file(spec_path),
                     templates_sha256=templates_sha256())


# -- evidence ---------------------------------------------------------------------------------------

STAGES = ("design", "analyses", "pmr", "ethnic")


def stage_rng(spec: StudySpec, stage: str) -> np.random.Generator:
    """An independent, reproducible random stream per stage, derived from the spec's one seed."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence(spec.design.seed, spawn_key=(STAGES.index(stage),)))


def make_spec_design(spec: StudySpec):
    """The spec's escalation design object (MTD or OBD design)."""
    from dossier.designs import design_from_spec

    return design_from_spec(spec.design, len(spec.doses.levels))


def study_cell_for(spec: StudySpec, study, true_tox: list[float], true_eff: list[float] | None) -> str | None:
    """The simulation-study cell that simulates the spec's design under this scenario with the same settings
    and number of trials ("design id/scenario id"), if the study has one."""
    from dossier.spec import OBD_DESIGNS

    if study is None or study.n_trials != spec.design.n_trials:
        return None
    d = spec.design
    want = {"name": d.name, "target": d.target, "cohort_size": d.cohort_size, "n_cohorts": d.n_cohorts,
            "options": d.design_options()}
    design_id = next((c.id for c in study.designs if c.settings() == want), None)
    scen = next((s.id for s in study.scenarios if list(s.true_tox) == list(true_tox)
                 and (d.name not in OBD_DESIGNS or s.true_eff == true_eff)), None)
    return None if design_id is None or scen is None else f"{design_id}/{scen}"


def simulate_design(spec: StudySpec, study=None) -> DesignEvidence:
    """The spec's escalation design: its decision table and OCs under each true-toxicity scenario.  A scenario
    that the simulation study ``study`` also simulates for this design (same settings and number of trials)
    takes that cell's OCs, so one simulation gives one value wherever it is reported."""
    import numpy as np

    from dossier.designs import simulate_design as simulate
    from dossier.evidence import DesignEvidence

    d = spec.design
    design = make_spec_design(spec)
    try:
        table = design.decision_table()
    except DossierError:
        table = None
    # one child stream per scenario, so adding a scenario does not change the others
    streams = np.random.SeedSequence(d.seed, spawn_key=(STAGES.index("design"),)).spawn(max(len(d.scenarios), 1))
    scenarios = []
    for sc, ss in zip(d.scenarios, streams, strict=False):
        cell = study_cell_for(spec, study, sc.true_tox, sc.true_eff)
        if cell is not None:
            scenarios.append({"name": sc.name, "oc": study.cell(*cell.split("/")).oc, "study_cell": cell})
            continue
        rng = np.random.default_rng(ss)
        oc = simulate(design, sc.true_tox, sc.true_eff, d.n_trials, rng)
        scenarios.append({"name": sc.name, "oc": oc})
    return DesignEvidence(name=d.name, target=d.target, cohort_size=d.cohort_size, n_cohorts=d.n_cohorts,
                          n_trials=d.n_trials, seed=d.seed, decision_table=table, scenarios=scenarios)


def pmr_inputs(spec: StudySpec, dose_summary, mtd: float | None, analyses=None):
    """The plain facts the PMR-risk score needs, read from the evidence at the proposed dosage."""
    from dossier.analyses.pmr_risk import PmrInputs

    row = next(r for r in dose_summary.rows if r.dose == spec.proposed_dosage)
    given = [r.dose for r in dose_summary.rows if r.n_subjects > 0 and not r.control]

    def rate(r):  # a measure that was not collected is None (unknown), never 0
        return None if r is None or r.rate is None else r.rate

    # the discontinuation benchmark is discontinuation of the drug for an AE (ADAE AEACN), not ADSL's
    # discontinuation of the study: a fallback from ADSL is left out of the score
    disc_source = str(dose_summary.measures.get("withdrawn", {}).get("source", "ADAE"))
    disc = None if disc_source.startswith("ADSL") else row.discontinuation

    facts = dict(
        proposed_dosage=spec.proposed_dosage, mtd=mtd, max_administered_dose=max(given) if given else None,
        modality=spec.study.modality.value, randomized_dosages=list(spec.randomized_dosages),
        dose_levels=given, n_patients_at_proposed=row.n_subjects,
        dose_reduction_rate=rate(row.reduction), dose_interruption_rate=rate(row.interruption),
        discontinuation_rate=rate(disc), grade3_rate=rate(row.grade3),
        registrational_dosages=spec.pmr.registrational_dosages,
        expected_treatment_months=spec.pmr.expected_treatment_months, breakthrough=spec.pmr.breakthrough,
        persistent_low_grade_rate=persistent_low_grade_rate(analyses, spec.proposed_dosage),
    )
    facts.update(er_facts(analyses))
    return PmrInputs(**facts)


def er_facts(analyses) -> dict[str, Any]:
    """E-R slopes (log-odds per unit log exposure) and the persistent low-grade rate for the PMR score."""
    facts: dict[str, Any] = {}
    if analyses is None:
        return facts
    er = analyses.exposure_response
    if er is not None:
        by_endpoint = {m.endpoint: m for m in er.models}
        for kind, endpoint in (("efficacy", "response"), ("safety", "severe")):
            model = by_endpoint.get(endpoint)
            if model is not None:
                facts[f"{kind}_er_slope"] = model.slope
                facts[f"{kind}_er_ci"] = (model.slope_ci_lower, model.slope_ci_upper)
    return facts


def persistent_low_grade_rate(analyses, proposed_dosage: float) -> float | None:
    tol = analyses.tolerability if analyses is not None else None
    arm = next((a for a in tol.arms if a.dose == proposed_dosage and not a.control), None) if tol is not None else None
    rate = next((e.rate for e in arm.endpoints if e.endpoint == "persistent_low_grade"), None) if arm else None
    return None if rate is None else rate.rate


def compute_evidence(plan: BuildPlan, progress: Progress | None = None, *, executor: str = "inprocess",
                     workers: int | None = None) -> CoreEvidence:
    """The agency-neutral evidence of a study.  ``executor`` / ``workers`` choose how the simulation study
    is computed (``inprocess``, ``processes`` or ``dask``); its results do not depend on them."""
    from dossier.analyses import AnalysisSettings, run_analyses, with_nca_exposure
    from dossier.analyses.dose_summary import analyse_dose_summary
    from dossier.analyses.ethnic_sensitivity import analyse_ethnic_sensitivity
    from dossier.evidence import CoreEvidence, Provenance
    from dossier.ingest import load_study

    say = progress or (lambda _msg: None)
    spec = plan.spec
    say("ingest")
    data, report = load_study(spec, plan.base_dir)
    say("analyses")
    dose_summary = analyse_dose_summary(data, spec.doses.levels, spec.doses.unit, spec.filters.exposure_paramcd)
    settings = AnalysisSettings(**spec.analyses.model_dump())
    analyses = run_analyses(data, spec, stage_rng(spec, "analyses"), settings=settings)
    mtd = analyses.escalation.mtd if analyses.escalation is not None else None
    simulation_study = None
    if spec.simulation_study is not None:
        from dossier.simstudy import run_study

        say("simulation study")
        # the cache lives outside the study folder (which a build replaces), keyed by task hash
        simulation_study = run_study(spec.simulation_study, executor, workers=workers,
                                     cache_dir=plan.out_dir / ".cache" / "simstudy" / spec.study.id)
    say("design simulation")
    design = simulate_design(spec, simulation_study) if spec.design.scenarios else None
    say("pmr risk")
    from dossier.analyses.pmr_risk import assess_pmr_risk

    pmr = assess_pmr_risk(pmr_inputs(spec, dose_summary, mtd, analyses), stage_rng(spec, "pmr"),
                          spec.pmr.overrides)
    pmda = load_profile("pmda", spec.overrides.get("pmda"))
    candidates = sorted(set(spec.randomized_dosages) | {spec.proposed_dosage})
    ethnic = analyse_ethnic_sensitivity(
        with_nca_exposure(data, analyses.pk), exposure_paramcd=spec.filters.exposure_paramcd, candidate_doses=candidates,
        reference_weight_kg=float(pmda.assumptions["reference_body_weight_kg"]), rng=stage_rng(spec, "ethnic"))
    evidence = CoreEvidence(
        study=spec.study, doses=spec.doses, proposed_dosage=spec.proposed_dosage,
        randomized_dosages=list(spec.randomized_dosages), dose_summary=dose_summary, design=design,
        ethnic=ethnic, mtd=mtd, pmr_risk=pmr, analyses=analyses, simulation_study=simulation_study,
        provenance=Provenance(package_version=__version__, spec_sha256=plan.spec_sha256, inputs=plan.inputs,
                              ingest=report),
    )
    say("findings")
    return add_findings(spec, evidence)


def add_findings(spec: StudySpec, evidence: CoreEvidence) -> CoreEvidence:
    """The justification matrix (dossier.analyses.justification) and the findings (dossier.findings)."""
    from dossier.analyses.justification import analyse_justification
    from dossier.evidence import compute_applicability
    from dossier.findings import collect_findings

    if evidence.analyses is not None:
        s = evidence.analyses.settings
        evidence.justification = analyse_justification(
            evidence.analyses, evidence.dose_summary, list(spec.doses.levels), spec.proposed_dosage,
            list(spec.randomized_dosages), spec.doses.unit, delta=s.mcpmod_delta_probability,
            min_patients=s.cui_min_patients)
    evidence.applicability = compute_applicability(evidence)
    evidence.findings = collect_findings(spec, evidence)
    return evidence


def questions_for(spec: StudySpec, evidence: CoreEvidence, profile: Any = None) -> list[dict[str, Any]]:
    """The questions to one agency (``profile``, a JurisdictionProfile; FDA's when not given): the spec's, in
    the agency's own wording where the spec gives one (``by_agency``), their ``{ev:KEY}`` references rendered
    as linked values (see dossier.findings); or, when the spec has none, the agency's default question
    (``default_question`` of its YAML profile), which lists only the analyses that were done."""
    from dossier.findings import evidence_values, render_text

    profile = profile if profile is not None else load_profile("fda")
    values = evidence_values(evidence)
    unit = evidence.doses.unit
    qs = []
    for i, q in enumerate(spec.questions):
        d = q.model_dump(exclude={"by_agency"})
        own = q.by_agency.get(profile.agency)
        for k in ("text", "position"):
            where = f"questions[{i}].{k}"
            if own is not None and getattr(own, k):
                d[k], where = getattr(own, k), f"questions[{i}].by_agency.{profile.agency}.{k}"
            d[k] = render_text(d[k], values, where, unit)
        qs.append(d)
    if not qs:
        qs = [_default_question(evidence, profile.default_question, values)]
    for i, q in enumerate(qs, start=1):
        q["number"] = i
    return qs


def _default_question(evidence: CoreEvidence, wording: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The agency's default question, its wording (Jinja in the agency YAML) rendered with the proposed dosage
    (an evidence-linked value) and the names of the analyses done, in the order of ``analysis_names``."""
    import jinja2

    from dossier.findings import render_text

    def and_list(words: list[str], conj: str = " and ", sep: str = ", ") -> str:
        return sep.join(words[:-1]) + (conj if len(words) > 1 else "") + (words[-1] if words else "")

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["and_list"] = and_list
    done = [sid for sid in wording.get("analysis_names", {}) if evidence.applies(sid)]
    context = {"dose": "{ev:study.proposed_dosage}", "schedule": evidence.doses.schedule,
               "analyses": [wording["analysis_names"][sid] for sid in done],
               "analyses_ja": [wording.get("analysis_names_ja", {}).get(sid, sid) for sid in done],
               "schedule_ja": wording.get("schedule_ja", {}).get(evidence.doses.schedule, evidence.doses.schedule)}
    q: dict[str, Any] = {"discipline": wording.get("discipline", "clinical_pharmacology"), "text_ja": None,
                         "position_ja": None}
    for k in ("text", "position", "text_ja", "position_ja"):
        if wording.get(k):
            text = env.from_string(wording[k]).render(context)
            q[k] = render_text(text, values, f"default question ({k})", evidence.doses.unit)
    return q


# -- rendering and writing ----------------------------------------------------------------------------

_FIGURE_MEMO: collections.OrderedDict[str, dict[str, str]] = collections.OrderedDict()
_PNG_MEMO: dict[str, dict[str, bytes]] = {}


def make_figures(evidence: CoreEvidence, evidence_hash: str | None = None, workers: int | None = None
                 ) -> dict[str, str]:
    """Every figure of the core evidence as SVG, made once from the results and shared by all variants.

    Figures are a pure function of the evidence, so a process that builds the same evidence again (another
    output folder, a rebuild with --force) reuses them: the last few sets are kept in memory, keyed by the
    evidence hash (``evidence_hash``, computed when not given).  ``workers`` processes draw them (default: one
    per core)."""
    key = evidence_hash or evidence.content_hash()
    if key in _FIGURE_MEMO:
        _FIGURE_MEMO.move_to_end(key)
        return dict(_FIGURE_MEMO[key])
    figures = _make_figures(evidence, workers if workers is not None else (os.cpu_count() or 1))
    _FIGURE_MEMO[key] = dict(figures)
    while len(_FIGURE_MEMO) > 4:
        _FIGURE_MEMO.popitem(last=False)
    return figures


def _make_figures(evidence: CoreEvidence, workers: int = 1) -> dict[str, str]:
    from dossier.render.figures import dose_levels, draw_figures, figure_plan

    plan = figure_plan(evidence.analyses) if evidence.analyses is not None else []
    if evidence.simulation_study is not None:
        from dossier.render.study_figures import design_study_svg

        plan.append(("design_study", design_study_svg, (evidence.simulation_study,)))
    if evidence.pmr_risk is not None:
        from dossier.render.pmr_figures import pmr_waterfall_svg

        plan.append(("pmr_waterfall", pmr_waterfall_svg, (evidence.pmr_risk,)))
    # one colour per dose level in every figure (the spec's levels; entered before the workers are forked)
    with dose_levels(evidence.doses.levels, evidence.doses.unit):
        # while the workers draw, this process imports the renderers (WeasyPrint: ~1.5 s) instead of after them
        return draw_figures(plan, workers, meanwhile=_import_renderers)


def _import_renderers() -> None:
    import dossier.render.html
    import dossier.render.pdf  # noqa: F401


def render_variants(plan: BuildPlan, evidence: CoreEvidence, stage_dir: Path,
                    progress: Progress | None = None, timings: dict[str, float] | None = None,
                    workers: int | None = None) -> list[Path]:
    """Render every agency's HTML (and PDF, in parallel processes) into ``stage_dir``; preflight each PDF."""
    import time

    from dossier.render.html import (
        agency_core_sections,
        extract_core_numbers,
        extract_sections,
        inline_fonts,
        render_html,
        render_internal_html,
    )

    say = progress or (lambda _msg: None)
    timings = timings if timings is not None else {}
    evidence_hash = evidence.content_hash()
    t0 = time.perf_counter()
    figures = make_figures(evidence, evidence_hash, workers)
    timings["figures"] = time.perf_counter() - t0
    render_settings = {"render": plan.spec.render.model_dump(), "spec_agencies": list(plan.spec.agencies)}
    core_sections = agency_core_sections(plan.spec.render.pmr_risk_in_agency_variants)
    written: list[Path] = []
    pdf_jobs: list[tuple[str, str, str]] = []
    papers: dict[str, str] = {}
    for agency in plan.agencies:
        profile = load_profile(agency, plan.spec.overrides.get(agency), area=plan.spec.study.therapeutic_area)
        papers[agency] = profile.paper
        say(f"render {agency} html")
        t0 = time.perf_counter()
        questions = questions_for(plan.spec, evidence, profile)
        html = render_html(evidence, profile, figures=figures, questions=questions, evidence_hash=evidence_hash,
                           core_sections=core_sections, extra=render_settings)
        timings["render_html"] = timings.get("render_html", 0.0) + time.perf_counter() - t0
        adir = stage_dir / agency
        adir.mkdir(parents=True, exist_ok=True)
        variant = {"agency": agency, "document_type": profile.document_type, "paper": profile.paper,
                   "evidence_sha256": evidence_hash, "sections": extract_sections(html),
                   "section_titles": {s.id: s.title for s in profile.sections},
                   "assumptions": readable_assumptions(profile.assumptions, evidence),
                   "overridden": profile.overridden,
                   "terms": profile.terms, "core_numbers": extract_core_numbers(html)}
        (adir / "variant.json").write_text(json.dumps(variant, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
        written.append(adir / "variant.json")
        if "html" in plan.formats:
            (adir / "dossier.html").write_text(inline_fonts(html), encoding="utf-8")
            written.append(adir / "dossier.html")
        if "pdf" in plan.formats:
            pdf_jobs.append((html, f"{evidence_hash}:{agency}", agency))
        if "docx" in plan.formats:
            written.append(_write_docx(evidence, html, figures, profile, adir, timings))
    # the internal strategy report (PMR risk, other products' scores, findings): beside the variants, never in them
    say("render internal strategy report")
    internal = render_internal_html(evidence, figures=figures, agencies=plan.agencies, extra=render_settings,
                                    evidence_hash=evidence_hash)
    (stage_dir / "internal").mkdir(parents=True, exist_ok=True)
    papers["internal"] = "a4"
    if "html" in plan.formats:
        (stage_dir / "internal" / "strategy.html").write_text(inline_fonts(internal), encoding="utf-8")
        written.append(stage_dir / "internal" / "strategy.html")
    if "pdf" in plan.formats:
        pdf_jobs.append((internal, f"{evidence_hash}:internal", "internal"))
    if pdf_jobs:
        from dossier.render.pdf import render_pdfs

        say(f"render {len(pdf_jobs)} PDF(s)")
        t0 = time.perf_counter()
        # one process per PDF when there is more than one core: 3 variants on 2 cores then finish together
        # (~1.5 x one PDF) instead of one core rendering two PDFs after each other (2 x one PDF)
        n_workers = workers if workers is not None else (len(pdf_jobs) if (os.cpu_count() or 1) > 1 else 1)
        # rendered and preflighted (from the bytes, not the file) in worker processes
        pdfs = render_pdfs([(html, key, papers[agency], agency != "internal") for html, key, agency in pdf_jobs],
                           evidence.study.document_date, n_workers, plan.pdfa)
        timings["render_pdf"] = time.perf_counter() - t0
        for (_, _, agency), (pdf, problems) in zip(pdf_jobs, pdfs, strict=True):
            path = stage_dir / agency / ("strategy.pdf" if agency == "internal" else "dossier.pdf")
            path.write_bytes(pdf)
            if problems:
                raise BuildError(f"the {agency.upper()} PDF fails preflight: " + "; ".join(problems),
                                 where=str(plan.study_dir / path.relative_to(stage_dir)),
                                 hint="fix the template or stylesheet; run `dossier preflight` on the file")
            written.append(path)
    return written


def _write_docx(evidence: CoreEvidence, html: str, figures: dict[str, str], profile, adir: Path,
                timings: dict[str, float]) -> Path:
    """The variant as Word (``dossier.docx``), built from its HTML; figures as 300-dpi PNGs made once per build."""
    import time

    from dossier.render.docx import FIGURE_DPI, render_docx
    from dossier.render.figures import png_output

    t0 = time.perf_counter()
    key = evidence.content_hash()
    if key not in _PNG_MEMO:
        _PNG_MEMO.clear()  # one set of print-resolution figures is kept (they are large)
        with png_output(FIGURE_DPI):  # the same matplotlib figures as the SVGs, at print resolution
            _PNG_MEMO[key] = _make_figures(evidence, os.cpu_count() or 1)  # type: ignore[assignment]
    study = evidence.study
    data = render_docx(html, svgs=figures, pngs=_PNG_MEMO[key], date=study.document_date, title=study.title,
                       paper=profile.paper, subject=profile.document_type)
    path = adir / "dossier.docx"
    path.write_bytes(data)
    timings["render_docx"] = timings.get("render_docx", 0.0) + time.perf_counter() - t0
    return path


def readable_assumptions(assumptions: dict[str, Any], evidence: CoreEvidence) -> dict[str, Any]:
    """The local assumptions as the documents print them: {ev:KEY} references replaced by their values."""
    from dossier.findings import evidence_values, render_text
    from dossier.render.apparatus import plain

    values = evidence_values(evidence)
    return {k: plain(str(render_text(v, values, f"assumptions.{k}", evidence.doses.unit)))
            if isinstance(v, str) and "{ev:" in v else v for k, v in assumptions.items()}


def _manifest(plan: BuildPlan, stage_dir: Path, files: list[Path], evidence_hash: str) -> dict[str, Any]:
    return {
        "dossier_version": __version__,
        "study": plan.spec.study.id,
        "fingerprint": plan.fingerprint(),
        "evidence_key": plan.evidence_key(),
        "spec": {"path": plan.spec_path.name, "sha256": plan.spec_sha256},
        "inputs": [i.model_dump() for i in plan.inputs],
        "templates_sha256": plan.templates_sha256,
        "code_sha256": code_sha256(),
        "agencies": plan.agencies,
        "formats": plan.formats,
        "evidence_sha256": evidence_hash,
        # for the sponsor only (PMR risk, other products' scores, findings): never part of a submission
        "internal_report": sorted(f.relative_to(stage_dir).as_posix() for f in files
                                  if f.relative_to(stage_dir).parts[0] == "internal"),
        "outputs": [{"path": f.relative_to(stage_dir).as_posix(), "sha256": sha256_file(f),
                     "bytes": f.stat().st_size} for f in sorted(files)],
    }


def evidence_for(spec_path: str | Path, out_dir: str | Path = "output", progress: Progress | None = None
                 ) -> CoreEvidence:
    """The evidence of a spec: the last build's when it is current, otherwise computed (nothing written)."""
    from dossier.evidence import CoreEvidence

    plan = plan_build(spec_path, None, None, out_dir)
    manifest = read_manifest(plan.study_dir)
    cached = plan.study_dir / "evidence.json"
    if manifest is not None and manifest.get("evidence_key") == plan.evidence_key() and cached.is_file():
        try:
            return add_findings(plan.spec, CoreEvidence.model_validate_json(cached.read_text(encoding="utf-8")))
        except ValueError:
            pass
    return as_if_cached(plan.spec, compute_evidence(plan, progress))


def as_if_cached(spec: StudySpec, evidence: CoreEvidence) -> CoreEvidence:
    """The evidence as a later build reads it back from ``evidence.json`` (canonical JSON, then the
    justification and findings recomputed): a fresh build and a rebuild from the cache render from the same
    object, so their documents are byte-identical (dict order included)."""
    from dossier.evidence import CoreEvidence

    if not isinstance(evidence, CoreEvidence):  # a stand-in of the tests
        return evidence
    return add_findings(spec, CoreEvidence.model_validate_json(evidence.canonical_json()))


def cached_findings(study_dir: Path) -> list[Any]:
    """The findings stored in a built study's evidence.json (empty when there is none)."""
    from dossier.findings import Finding

    path = study_dir / "evidence.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return []
    return [Finding.model_validate(f) for f in data.get("findings", [])]


def read_manifest(study_dir: Path) -> dict[str, Any] | None:
    path = study_dir / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def check_outputs(plan: BuildPlan) -> list[str]:
    """Why the built dossiers are stale or broken (empty list: up to date)."""
    manifest = read_manifest(plan.study_dir)
    if manifest is None:
        old = write.interrupted_swap(plan.out_dir, plan.spec.study.id)
        if old is not None:
            return [f"an interrupted build left the previous output in {old}; the next build restores it"]
        return [f"no manifest at {plan.study_dir / 'manifest.json'}: the study was never built there"]
    problems = []
    if manifest.get("dossier_version") != __version__:
        problems.append(f"package version changed: built with {manifest.get('dossier_version')}, now {__version__}")
    if manifest.get("spec", {}).get("sha256") != plan.spec_sha256:
        problems.append(f"spec changed: {plan.spec_path}")
    old_inputs = {i["name"]: i for i in manifest.get("inputs", [])}
    for i in plan.inputs:
        old = old_inputs.get(i.name)
        if old is None or old.get("sha256") != i.sha256:
            problems.append(f"input changed: {i.name} ({i.path})")
    if set(old_inputs) - {i.name for i in plan.inputs}:
        problems.append(f"inputs removed from the spec: {sorted(set(old_inputs) - {i.name for i in plan.inputs})}")
    if manifest.get("code_sha256") != code_sha256():
        problems.append("package code or data changed (dossier/**/*.py, *.yaml, *.csv): the evidence is recomputed")
    if manifest.get("templates_sha256") != plan.templates_sha256:
        problems.append("templates or assets changed")
    if manifest.get("agencies") != plan.agencies or manifest.get("formats") != plan.formats:
        problems.append("agencies or formats differ from the last build")
    for out in manifest.get("outputs", []):
        p = plan.study_dir / out["path"]
        if not p.is_file():
            problems.append(f"output missing: {p}")
        elif sha256_file(p) != out["sha256"]:
            problems.append(f"output modified since the build: {p}")
    return problems


def build(spec_path: str | Path, agencies: Sequence[str] | str | None = None,
          formats: Sequence[str] | str | None = None, out_dir: str | Path = "output",
          progress: Progress | None = None, force: bool = False, *, executor: str = "inprocess",
          workers: int | None = None, strict: bool = False, pdfa: bool = False) -> BuildResult:
    """Build every requested dossier of a study (see the module docstring).  ``executor`` and ``workers``
    run the simulation study (in this process, in ``workers`` processes or on Dask) and ``workers`` also
    bounds the PDF processes; outputs are byte-identical whatever they are. With ``strict``, any finding
    (dossier.findings) fails the build with :class:`~dossier.findings.FindingsError` (exit 1) before anything
    is written, so the previous outputs stay untouched."""
    import time

    from dossier.simstudy.executors import EXECUTORS, ExecutorError

    if str(executor).strip().lower() not in EXECUTORS:
        raise ExecutorError(f"unknown executor {executor!r}", "--executor", f"choose one of: {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers must be >= 1, got {workers}", "--workers")
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    plan = plan_build(spec_path, agencies, formats, out_dir)
    plan.pdfa = pdfa
    write.check_out_dir(plan.out_dir)
    protected = plan.protected_paths()
    write.check_replaceable(plan.study_dir, plan.spec.study.id, protected)
    try:
        plan.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write.os_error(err, "create the output folder", plan.out_dir) from None
    try:
        with write.study_lock(plan.out_dir, plan.spec.study.id, say=progress):
            write.recover(plan.out_dir, plan.spec.study.id, say=progress)
            write.check_replaceable(plan.study_dir, plan.spec.study.id, protected)
            return _build_locked(plan, progress, force, executor, workers, timings, t_start, protected, strict)
    except OSError as err:
        raise write.os_error(err, "write the outputs", getattr(err, "filename", None) or plan.study_dir) from None


def _build_locked(plan: BuildPlan, progress: Progress | None, force: bool, executor: str, workers: int | None,
                  timings: dict[str, float], t_start: float, protected: list[Path],
                  strict: bool = False) -> BuildResult:
    import time

    result = BuildResult(study_dir=plan.study_dir, timings=timings)
    manifest = read_manifest(plan.study_dir)
    if not force and manifest is not None and manifest.get("fingerprint") == plan.fingerprint() \
            and not check_outputs(plan):
        result.status = "up-to-date"
        result.evidence_hash = manifest.get("evidence_sha256", "")
        result.findings = cached_findings(plan.study_dir)
        if strict and result.findings:
            from dossier.findings import FindingsError

            raise FindingsError(result.findings, str(plan.spec_path))
        result.outputs = [plan.study_dir / o["path"] for o in manifest["outputs"]]
        timings["total"] = time.perf_counter() - t_start
        return result
    from dossier.render.assets import ASSETS_DIR

    # a damaged installation: one clean error before any work (not when up to date: the assets are in the
    # fingerprint, and reading the fonts is a tenth of a second of a rebuild that renders nothing)
    write.check_assets(ASSETS_DIR)

    from dossier.evidence import CoreEvidence

    evidence: CoreEvidence | None = None
    cached = plan.study_dir / "evidence.json"
    if not force and manifest is not None and manifest.get("evidence_key") == plan.evidence_key() and cached.is_file():
        try:
            evidence = add_findings(plan.spec,
                                    CoreEvidence.model_validate_json(cached.read_text(encoding="utf-8")))
            result.status = "rendered"
        except ValueError:
            evidence = None
    t0 = time.perf_counter()
    if evidence is None:
        evidence = as_if_cached(plan.spec, compute_evidence(plan, progress, executor=executor, workers=workers))
    timings["evidence"] = time.perf_counter() - t0
    result.findings = list(evidence.findings)
    if strict and evidence.findings:
        from dossier.findings import FindingsError

        raise FindingsError(evidence.findings, str(plan.spec_path))

    stage_dir = Path(tempfile.mkdtemp(prefix=f".{plan.spec.study.id}.build-", dir=plan.out_dir))
    try:
        evidence_json = evidence.canonical_json() + "\n"
        evidence_hash = evidence.content_hash()
        (stage_dir / "evidence.json").write_text(evidence_json, encoding="utf-8")
        files = [stage_dir / "evidence.json"]
        files += render_variants(plan, evidence, stage_dir, progress, timings, workers=workers)
        if evidence.simulation_study is not None:
            files.append(evidence.simulation_study.write_parquet(stage_dir / "simulation_study.parquet"))
        manifest_data = _manifest(plan, stage_dir, files, evidence_hash)
        (stage_dir / "manifest.json").write_text(json.dumps(manifest_data, sort_keys=True, indent=2) + "\n",
                                                 encoding="utf-8")
        (stage_dir / write.MARKER).write_text(write.marker_text(plan.spec.study.id), encoding="utf-8")
        # the folder may have changed while the evidence was computed: check again right before replacing it
        write.check_replaceable(plan.study_dir, plan.spec.study.id, protected)
        write.swap_in(stage_dir, plan.study_dir)
    except BaseException:
        shutil.rmtree(stage_dir, ignore_errors=True)
        raise
    result.outputs = [plan.study_dir / f.relative_to(stage_dir) for f in files] + [plan.study_dir / "manifest.json"]
    result.evidence_hash = evidence_hash
    timings["total"] = time.perf_counter() - t_start
    return result
