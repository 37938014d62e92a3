"""Render one agency's dossier as HTML from the core evidence (Jinja2, autoescape, StrictUndefined).

The agency's template ``dossier/templates/<agency>/document.html.j2`` extends ``dossier/templates/base/document.html.j2``;
the section plan comes from the jurisdiction profile (data), and core-evidence sections are the same
``dossier/templates/base/sections/*.html.j2`` includes in every variant.
"""

from __future__ import annotations

import base64
import io
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup

from dossier import __version__
from dossier.errors import BuildError
from dossier.evidence import CoreEvidence, dose_steps, section_needs
from dossier.jurisdictions import JurisdictionProfile
from dossier.render.assets import ASSETS_DIR, TEMPLATE_SUFFIXES, TEMPLATES_DIR, template_files  # noqa: F401

#: core-evidence sections, in order; every variant renders all of them from the same bundle
CORE_SECTIONS: list[tuple[str, str]] = [
    ("dose_summary", "Overview by dose level"),
    ("escalation", "Dose escalation and the MTD"),
    ("combination", "Combination dose finding"),
    ("design", "Dose-escalation design and operating characteristics"),
    ("design_study", "Simulation study: comparison of designs"),
    ("tolerability", "Tolerability over time"),
    ("patient_reported", "Patient-reported tolerability and quality of life"),
    ("randomized", "Randomized comparison of dosages"),
    ("dose_response", "Dose-response (MCP-Mod)"),
    ("pk", "Pharmacokinetics"),
    ("exposure_response", "Exposure-response"),
    ("biomarker", "Biomarker and pharmacodynamic dose-response"),
    ("predictions", "Predictions at the candidate dosages"),
    ("benefit_risk", "Benefit-risk and the proposed dosage"),
    ("justification", "Justification of the proposed dosage"),
    ("model_credibility", "Model credibility (ICH M15)"),
    ("pmr_risk", "Risk of a post-marketing requirement on the dosage"),
    ("uncertainties", "Uncertainties and limitations"),
]

#: what each evidence-id group (the first part of a data-eid) refers to, for the evidence index
EVIDENCE_GROUPS: dict[str, tuple[str, str]] = {
    "study": ("Study spec", "Values set in the study spec (proposed and randomized dosages)."),
    "ds": ("Overview by dose level", "Subject-level proportions per actual dose level (ADSL DOSE01A) with exact "
           "Clopper-Pearson 95% CIs; DLTs among DLT-evaluable subjects, response among efficacy-evaluable "
           "subjects, AEs among safety subjects (treatment-emergent)."),
    "design": ("Escalation design and operating characteristics", "Design rules from the spec's design settings; "
               "operating characteristics simulated with the spec's seed (Monte Carlo SE shown)."),
    "pmr": ("PMR risk", "Logistic score on the log-odds scale: intercept at the 15% base rate (FDA Project Optimus), "
            "one term per factor with priors from Collins et al. 2025 and Harvey et al. 2023 or expert judgement; "
            "interval by simulation of the priors (dossier/analyses/pmr_factors.yaml)."),
    "jp": ("Japan-specific analyses", "Power model of exposure on dose; OLS of log dose-normalised exposure on log "
           "body weight and East-Asian region; MHLW 2007 Method 1 consistency probability (Quan et al. 2010)."),
    "esc": ("Dose escalation", "DLTs among DLT-evaluable patients per dose with exact CIs; MTD selected by the "
            "spec's design from isotonic estimates (BOIN conventions)."),
    "tol": ("Tolerability", "Subject-level TEAE rates per dosage with exact CIs; relative dose intensity; Kaplan-Meier "
            "time to first dose modification; persistent low-grade TEAEs (oncology: benchmarks cited in the section)."),
    "pro": ("Patient-reported outcomes", "PRO-CTCAE: maximum post-baseline and baseline-adjusted item scores, "
            "incremental AUC above baseline (ProAE conventions) and composite grades (Basch et al. 2021); EORTC "
            "QLQ-C30 scored per its scoring manual (Fayers et al. 2001), summary score (Giesinger et al. 2016), "
            "change from baseline with t-based CIs and deterioration by the spec's threshold; exact CIs for rates."),
    "bio": ("Biomarkers and pharmacodynamics", "Continuous markers named in the spec (validation status from the "
            "spec): mean response by dosage with t-based CIs; MCP-Mod with normal errors and ANCOVA covariates "
            "(Bretz, Pinheiro & Branson 2005; DoseFinding conventions); Emax model on exposure by least squares "
            "with a profile-likelihood CI of EC50."),
    "rnd": ("Randomized comparison", "Rates and differences with Newcombe CIs; Kaplan-Meier estimates and Cox "
            "hazard ratio of the spec's time-to-event endpoint (statsmodels PHReg); estimation, not hypothesis testing."),
    "dr": ("Dose-response (MCP-Mod)", "Bretz, Pinheiro & Branson 2005; Pinheiro et al. 2014: optimal contrasts, "
           "multiple contrast test (multivariate t), model fit, AIC selection or averaging, target dose; "
           "numbers checked against R DoseFinding."),
    "pk": ("Pharmacokinetics", "Noncompartmental analysis per subject and profile (dossier/analyses/nca.py: "
           "linear-up/log-down AUC, lambda_z by best adjusted R-squared with the PKNCA tolerance rule, PKNCA BLQ "
           "rules); geometric means and CVs by dose; power model with the Smith et al. 2000 acceptance interval."),
    "er": ("Exposure-response", "Logistic regression (statsmodels GLM) of each binary endpoint on log exposure; Emax "
           "fit; Cox model of the time-to-event endpoint on exposure; observed rates by exposure quartile with exact CIs."),
    "pred": ("Predictions at candidate dosages", "Dose-proportional scaling of observed exposures, propagated "
             "through the E-R models with bootstrap parameter uncertainty."),
    "br": ("Benefit-risk", "Clinical utility index over candidate dosages with documented weights and a weight "
           "sensitivity analysis."),
    "cred": ("Model credibility", "ICH M15 assessment: question, context of use, model influence, decision "
             "consequence, model risk, evaluation."),
    "simstudy": ("Simulation study", "Designs x scenarios simulated with common random numbers from the master "
                 "seed (SeedSequence per scenario and block of trials); MC SE binomial or SD/sqrt(N); differences "
                 "from the reference design with the paired MC SE."),
    "just": ("Dosage justification", "Each candidate dose against each line of evidence by the explicit rules of "
             "dossier/analyses/justification.py; favoured dosage: the lowest adequately studied dose without "
             "evidence of lost efficacy."),
    "ref": ("Values cited in the sponsor's text", "Evidence values cited by reference ({ev:KEY}) in the questions "
            "and positions; keys and formats in dossier/findings.py."),
    "finding": ("Findings", "Statements of the spec that the evidence does not bear out (dossier/findings.py)."),
    "label": ("Target labeling", "Dose-reduction steps: the next lower studied dose levels below the proposed dosage."),
    "ingest": ("Ingest report", "Rows read from each input dataset and rows kept after the ingest's exclusions."),
}

_EID = re.compile(r'data-eid="([A-Za-z0-9_]+)[.\"]')


def make_environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """Jinja environment for dossiers: HTML autoescaping everywhere and StrictUndefined."""
    env = Environment(loader=FileSystemLoader(str(templates_dir)), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=False)
    from dossier.designs import design_label

    env.filters["design_label"] = design_label
    from dossier.labels import safety_label

    env.globals["safety_label"] = safety_label  # the one source of the safety endpoints' labels
    env.filters["metric"] = _typeset_metric
    env.filters["unit"] = _typeset_unit
    return env


def _typeset_metric(metric: str) -> str:
    """"AUCSS" -> "AUCss" (dossier.render.figures.typeset_metric, imported when a template uses it)."""
    from dossier.render.figures import typeset_metric

    return typeset_metric(str(metric))


def _typeset_unit(unit: str) -> str:
    """"ug*h/mL" -> "µg·h/mL" (dossier.render.figures.typeset_unit)."""
    from dossier.render.figures import typeset_unit

    return typeset_unit(str(unit))


@cache
def _shared_environment() -> Environment:
    """One environment per process, so that each template is compiled once for all variants (Jinja's
    auto-reload still recompiles a template whose file changed)."""
    return make_environment()


def mcpmod_context(evidence: CoreEvidence) -> dict[str, Any] | None:
    """For EMA: which dose-response endpoints use MCP-Mod inside the context of use of its CHMP qualification
    opinion, and why the others are outside (the reasons as codes; templates word them)."""
    dr = evidence.analyses.dose_response if evidence.analyses is not None else None
    if dr is None or not dr.endpoints:
        return None
    return {"endpoints": [e.endpoint for e in dr.endpoints],
            "inside": [e.endpoint for e in dr.endpoints if e.within_qualification_context],
            "outside": [e.endpoint for e in dr.endpoints if not e.within_qualification_context],
            "reasons": sorted({n for e in dr.endpoints if not e.within_qualification_context for n in e.context_notes})}


def agency_core_sections(pmr_risk_in_agency_variants: bool = False) -> list[tuple[str, str]]:
    """The core-evidence sections of an agency-facing variant: the evidence and nothing about the sponsor's
    regulatory strategy. The PMR-risk score goes to the internal strategy report unless the spec asks for it
    (``render.pmr_risk_in_agency_variants``)."""
    return [(i, t) for i, t in CORE_SECTIONS if i != "pmr_risk" or pmr_risk_in_agency_variants]


def present_sections(evidence: CoreEvidence, sections: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sections`` without those the study's design does not have (``omit_when_unmet`` in the needs table:
    the combination dose finding of a single-agent study is left out, not reported as not performed)."""
    omit = set(section_needs().get("omit_when_unmet", []))
    return [(i, t) for i, t in sections
            if not (i in omit and i in evidence.applicability and not evidence.applicability[i].applicable)]


def _context(evidence: CoreEvidence, figures: dict[str, str], evidence_hash: str | None) -> dict[str, Any]:
    """What every document (agency variant or internal report) is rendered from."""
    from dossier.findings import evidence_values, render_text
    from dossier.render.figures import QLQ_CHANGE_MIN_N

    values = evidence_values(evidence)
    return {
        "evidence": evidence,
        "figures": {k: Markup(v) for k, v in figures.items()},
        "css": Markup((ASSETS_DIR / "dossier.css").read_text(encoding="utf-8")),
        "version": __version__,
        "evidence_hash": evidence_hash or evidence.content_hash(),
        "dose_steps": dose_steps(evidence),
        # "severe" is a grade >= 3 TEAE only where CTCAE grades were recorded (dossier/analyses/endpoints.py)
        "severity_basis": (evidence.analyses.tolerability.severity_basis
                           if evidence.analyses is not None and evidence.analyses.tolerability is not None else "grade"),
        "mcpmod_context": mcpmod_context(evidence),
        "qlq_min_n": QLQ_CHANGE_MIN_N,  # the QLQ-C30 change figure's minimum group size, named in its caption
        "evidence_groups": [],
        "audience": "agency",
        "render": {"pmr_risk_in_agency_variants": False, "status": "Draft", "revision_history": [],
                   "attendees": []},
        # the sponsor's free text with its {ev:KEY} references rendered (dossier.findings)
        "evtext": lambda text, where="overrides": render_text(str(text), values, where, evidence.doses.unit),
    }


def _render(template_name: str, context: dict[str, Any]) -> str:
    """Render in passes: the first tells which evidence groups the document cites (its evidence index) and
    what its apparatus lists (contents, tables, figures, abbreviations, references); the last is numbered and
    its cross-references filled (dossier.render.apparatus)."""
    from dossier.render import apparatus

    env = _shared_environment()
    context.setdefault("apparatus", apparatus.Apparatus().context())
    try:
        template = env.get_template(template_name)
        doc = template.render(context)
        for _ in range(3):  # the lists do not change the numbered body, so this settles in one more pass
            groups = [{"id": g, "title": EVIDENCE_GROUPS.get(g, (g, ""))[0],
                       "method": EVIDENCE_GROUPS.get(g, ("", ""))[1]} for g in sorted(set(_EID.findall(doc)))]
            found = apparatus.analyse(doc).context()
            if found == context["apparatus"] and groups == context["evidence_groups"]:
                break
            context["apparatus"], context["evidence_groups"] = found, groups
            doc = template.render(context)
        return apparatus.apply(doc, apparatus.analyse(doc))
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError) as err:
        where = getattr(err, "filename", None) or getattr(err, "name", None) or "templates"
        lineno = getattr(err, "lineno", None)
        raise BuildError(f"template error: {err.message if hasattr(err, 'message') else err}",
                         where=f"{where}:{lineno}" if lineno else str(where),
                         hint="fix the template, or the result it reads") from err


def render_html(evidence: CoreEvidence, profile: JurisdictionProfile, *, figures: dict[str, str],
                questions: list[dict[str, Any]], extra: dict[str, Any] | None = None,
                core_sections: list[tuple[str, str]] | None = None, evidence_hash: str | None = None) -> str:
    """The dossier HTML of one agency (agency-facing: evidence and the sponsor's positions)."""
    context = _context(evidence, figures, evidence_hash)
    context.update({
        "profile": profile,
        "agency": profile.agency,
        "terms": profile.terms,
        "questions": questions,
        "doc_id": f"{evidence.study.id}-{profile.agency.upper()}-DJ",
        "core_sections": [{"id": i, "title": t} for i, t in present_sections(evidence, core_sections or agency_core_sections())],
        "framing": profile.framing_for(evidence.study.therapeutic_area),
    })
    context.update(extra or {})
    return _render(f"{profile.agency}/document.html.j2", context)


def render_internal_html(evidence: CoreEvidence, *, figures: dict[str, str], agencies: list[str],
                         extra: dict[str, Any] | None = None, evidence_hash: str | None = None) -> str:
    """The internal strategy report: the PMR-risk score (with other products' scores) and the findings of the
    consistency checks. For the sponsor only, never for submission."""
    context = _context(evidence, figures, evidence_hash)
    context.update({
        "audience": "internal",
        "agency": "internal",
        "agencies": agencies,
        "terms": {"dosage": "dosage", "Dosage": "Dosage", "sponsor": "Sponsor", "agency": "Agency",
                  "by_dosage": "by dosage", "dosage_comparison": "Randomized dosage comparison"},
        "doc_id": f"{evidence.study.id}-INTERNAL-STRATEGY",
    })
    context.update(extra or {})
    return _render("internal/strategy.html.j2", context)


_FONT_URL = re.compile(r'url\("fonts/([A-Za-z0-9_.-]+\.otf)"\)')
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


@cache
def _font_data_uri(name: str) -> str:
    data = (ASSETS_DIR / "fonts" / name).read_bytes()
    return "data:font/otf;base64," + base64.b64encode(data).decode("ascii")


def _subset_data_uri(name: str, text: str) -> str:
    """The font reduced to the characters of ``text`` (fontTools), as a data URI; deterministic."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(ASSETS_DIR / "fonts" / name), recalcTimestamp=False)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return "data:font/otf;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def inline_fonts(html: str) -> str:
    """Make a dossier's HTML self-contained: its fonts as data URIs. The Latin fonts are inlined whole
    (~95 KB each); the Japanese fonts only when the document has CJK text, reduced to its characters."""
    cjk = "".join(sorted(set(_CJK.findall(html))))

    if not cjk:
        html = re.sub(r'@font-face \{[^}]*NotoSansJP[^}]*\}\n?', "", html)

    def repl(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("NotoSansJP"):
            return f'url("{_subset_data_uri(name, cjk)}")'
        return f'url("{_font_data_uri(name)}")'

    return _FONT_URL.sub(repl, html)


def extract_numbers(html: str) -> dict[str, str]:
    """Every evidence-linked number of a rendered dossier: ``{eid: text}`` (used by tests and ``diff``)."""
    out: dict[str, str] = {}
    for eid, text in re.findall(r'<a class="num" data-eid="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S):
        prev = out.get(eid)
        if prev is not None and prev != text:
            raise BuildError(f"evidence id {eid} renders two different values: {prev!r} and {text!r}",
                             where="templates", hint="give each number its own evidence id")
        out[eid] = text
    return out


def extract_core_numbers(html: str) -> dict[str, str]:
    """The evidence-linked numbers inside the core-evidence block only."""
    start = html.find('<div class="core-evidence">')
    end = html.find("<!--end-core-evidence-->")
    return extract_numbers(html[start:end]) if start >= 0 else {}


def extract_sections(html: str) -> list[str]:
    """Section ids of the agency's plan in document order."""
    return re.findall(r'<section class="plan" id="sec-([^"]+)">', html)
