"""Figures of the core evidence, drawn from analysis results (never from raw data) as SVG strings.

Byte-deterministic SVG: a fixed ``svg.hashsalt`` and no date metadata. Text stays text
(``svg.fonttype = "none"``), laid out by matplotlib with the project's own font (the Latin subset of
Noto Sans CJK JP in ``dossier/templates/assets/fonts``, registered with matplotlib's font manager) and
rendered with the same font by the HTML and the PDF (family "Dossier Sans"): searchable, small SVGs,
the same glyphs everywhere, and no system font.
Matplotlib's object API with the SVG backend only (no pyplot state).

Functions: :func:`quartile_plot`, :func:`km_plot`, :func:`dose_response_plot`, :func:`utility_plot`,
:func:`tolerability_plot`, :func:`prediction_plot`, :func:`escalation_plot`, :func:`biomarker_plot`, and
:func:`all_figures`.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from collections.abc import Callable

    from dossier.analyses import AnalysesBundle
    from dossier.analyses.benefit_risk import BenefitRiskResult
    from dossier.analyses.biomarker import BiomarkerEndpoint
    from dossier.analyses.escalation import EscalationResult
    from dossier.analyses.exposure_response import ExposureResponseResult
    from dossier.analyses.mcpmod import MCPModResult
    from dossier.analyses.nca import PKResult
    from dossier.analyses.predictions import PredictionsResult
    from dossier.analyses.pro import QlqC30Result
    from dossier.analyses.stats import KMCurve
    from dossier.analyses.tolerability import TolerabilityResult

FIGURE_FONT = "Noto Sans CJK JP"  # the family name inside the project's font files
DOCUMENT_FONT = "Dossier Sans"  # the same files as the documents' CSS names them


@cache
def register_fonts() -> None:
    """Make the project's Latin font files known to matplotlib (once per process)."""
    from matplotlib import font_manager

    from dossier.render.assets import ASSETS_DIR

    for weight in ("Regular", "Bold"):
        font_manager.fontManager.addfont(str(ASSETS_DIR / "fonts" / f"DossierSans-Latin-{weight}-subset.otf"))


register_fonts()

#: smallest text in a figure at printed size (FDA PDF specifications: at least 9 point); figures are at most
#: :data:`MAX_WIDTH_IN` wide so that they print at 100% or larger on A4 and letter (18 mm side margins)
MIN_FONT_PT = 9
MAX_WIDTH_IN = 6.8
RC = {"svg.hashsalt": "dossier-analyses", "svg.fonttype": "none", "font.size": MIN_FONT_PT, "font.family": FIGURE_FONT,
      "axes.titlesize": MIN_FONT_PT, "axes.labelsize": MIN_FONT_PT, "xtick.labelsize": MIN_FONT_PT,
      "ytick.labelsize": MIN_FONT_PT, "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": MIN_FONT_PT,
      "figure.titlesize": MIN_FONT_PT,
      "axes.spines.top": False, "axes.spines.right": False, "axes.linewidth": 0.6, "lines.linewidth": 1.2,
      "xtick.major.width": 0.6, "ytick.major.width": 0.6, "legend.frameon": False, "path.simplify": False,
      # text from the data or the spec (terms, labels, names) is drawn as given: "$" never starts mathtext
      # (which would garble "US$ 5 vs US$ 6", fail on an unbalanced "$" and pull in a system math font)
      "text.parse_math": False, "text.usetex": False}
#: colours of things that are not dose levels (endpoints, quartiles): never used for a dose
PALETTE = ["#3d405b", "#8c510a", "#01665e", "#762a83", "#b35806", "#1b7837", "#c51b7d", "#4d4d4d"]
#: model curves and their bands
MODEL_COLOUR = "#1f3b63"
#: one colour per dose level, the same in every figure (Okabe & Ito colour-blind-safe set, yellow left out as
#: unreadable on white); levels are coloured in increasing order; control (placebo, dose 0) is grey
DOSE_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999933"]
CONTROL_COLOUR = "#8c8c8c"
#: the study's dose levels and unit, set by :func:`all_figures` (from the spec) for every figure it draws
_DOSES: contextvars.ContextVar[tuple[tuple[float, ...], str] | None] = contextvars.ContextVar("doses", default=None)


@contextlib.contextmanager
def dose_levels(levels: Sequence[float], unit: str) -> Iterator[None]:
    """Within this block figures colour doses by their rank among ``levels`` and label dose axes with ``unit``."""
    token = _DOSES.set((tuple(sorted(float(d) for d in levels)), unit))
    try:
        yield
    finally:
        _DOSES.reset(token)


def dose_colour(dose: float | None, control: bool = False) -> str:
    """The colour of a dose level: its rank among the study's dose levels (all figures agree), grey for control."""
    if control or dose is None or dose == 0:
        return CONTROL_COLOUR
    known = _DOSES.get()
    levels = known[0] if known is not None else ()
    if float(dose) not in levels:  # a dose outside the study's levels: ranked among them and itself
        levels = tuple(sorted({*levels, float(dose)}))
    return DOSE_PALETTE[levels.index(float(dose)) % len(DOSE_PALETTE)]


def dose_axis_label(extra: str = "") -> str:
    """ "Dose (mg)" with the study's unit (and an optional note after a semicolon)."""
    known = _DOSES.get()
    unit = known[1] if known is not None else ""
    inner = "; ".join(x for x in (unit, extra) if x)
    return f"Dose ({inner})" if inner else "Dose"


#: CDISC PK parameter codes as typeset in text (subscripts written out as reviewers read them)
_METRIC_TEXT = {"AUCSS": "AUCss", "AUCTAU": "AUC\u03c4", "AUCINF": "AUCinf", "AUCLST": "AUClast", "AUCLAST": "AUClast",
                "CMAX": "Cmax", "CMAXSS": "Cmax,ss", "CMIN": "Cmin", "CMINSS": "Cmin,ss", "CTROUGH": "Ctrough",
                "CAVG": "Cavg", "CAVGSS": "Cavg,ss"}


def typeset_metric(metric: str) -> str:
    """An exposure metric as written in text: "AUCSS" -> "AUCss", "CMAX" -> "Cmax" (others unchanged)."""
    return _METRIC_TEXT.get(metric.upper().replace("_", ""), metric)


def typeset_unit(unit: str) -> str:
    """A unit as typeset: "ug" and "mcg" -> "\u00b5g", "*" or "." between units -> "\u00b7" ("ug*h/mL" -> "\u00b5g\u00b7h/mL")."""
    out = re.sub(r"(?<![A-Za-z])(ug|mcg)(?![a-z])", "\u00b5g", unit)
    return re.sub(r"(?<=[A-Za-z\)])\s*[*.]\s*(?=[A-Za-z\(])", "\u00b7", out)


def exposure_label(metric: str, unit: str | None) -> str:
    m = typeset_metric(metric)
    return f"{m} ({typeset_unit(unit)})" if unit else m


def _plain_log_ticks(axis) -> None:
    """Log-axis tick labels as plain numbers ("10", "100"): the default labels are mathtext, which the
    figures never parse (text.parse_math is off), so they would print as "$\\mathdefault{10^{1}}$"."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
ENDPOINT_LABELS = {
    "response": "Objective response", "severe": "Grade \u22653 TEAE", "serious": "Serious TEAE",
    "modified": "Dose reduction or interruption", "interrupted": "Dose interruption", "reduced": "Dose reduction",
    "withdrawn": "Discontinuation", "persistent_low_grade": "Persistent low-grade TEAE", "any_teae": "Any TEAE",
    "withdrawn_study": "Discontinued study (AE; ADSL)",
}


def _label(key: str, severity_basis: str = "grade") -> str:
    if key == "severe" and severity_basis == "severity":
        return "Severe TEAE"
    if key.startswith("aesi_"):
        return "AESI: " + key[5:].replace("_", " ")
    return ENDPOINT_LABELS.get(key, key)


#: while set (see :func:`png_output`), figure functions return PNG bytes at this resolution instead of SVG
_PNG_DPI: contextvars.ContextVar[int | None] = contextvars.ContextVar("png_dpi", default=None)


@contextlib.contextmanager
def png_output(dpi: int = 300) -> Iterator[None]:
    """Within this block every figure function returns the same matplotlib figure as PNG bytes at ``dpi``
    (print resolution for Word), deterministically (no software or date metadata), instead of SVG text."""
    token = _PNG_DPI.set(dpi)
    try:
        yield
    finally:
        _PNG_DPI.reset(token)


def svg_markup(fig: Figure, **savefig_kw) -> str:
    """The figure as SVG text, its font renamed to the documents' font family (or, inside
    :func:`png_output`, as PNG bytes)."""
    dpi = _PNG_DPI.get()
    if dpi is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        raw = io.BytesIO()
        fig.savefig(raw, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white", **savefig_kw)
        return raw.getvalue()  # type: ignore[return-value]
    FigureCanvasSVG(fig)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, **savefig_kw)
    return buf.getvalue().replace(f"'{FIGURE_FONT}'", f"'{DOCUMENT_FONT}'")


def _svg(fig: Figure) -> str:
    return svg_markup(fig, bbox_inches="tight")


def _new(w: float, h: float, **kw) -> tuple[Figure, object]:
    fig = Figure(figsize=(w, h))
    axes = fig.subplots(**kw) if kw else fig.subplots()
    return fig, axes


def quartile_plot(er: ExposureResponseResult, endpoint: str) -> str:
    """Observed rate (exact 95% CI) per exposure quartile over the logistic model curve and its 95% band,
    with the exposure distribution per dosage beneath on the same exposure axis."""
    m = er.model(endpoint)
    if m is None:
        raise ValueError(f"no E-R model for {endpoint!r}")
    with rc_context(RC):
        fig, (ax, ax2) = _new(6.4, 4.8, nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
        ax.fill_between(m.curve_exposure, m.curve_lower, m.curve_upper, color=MODEL_COLOUR, alpha=0.15, lw=0,
                        label="Model 95% CI")
        ax.plot(m.curve_exposure, m.curve_prob, color=MODEL_COLOUR, label="Logistic model")
        x = [q.median_exposure for q in m.quartiles]
        y = [q.rate.rate for q in m.quartiles]
        lo = [q.rate.rate - q.rate.ci_lower for q in m.quartiles]
        hi = [q.rate.ci_upper - q.rate.rate for q in m.quartiles]
        ax.errorbar(x, y, yerr=[lo, hi], fmt="o", color="black", ms=4, capsize=3, lw=0.8,
                    label="Observed by exposure quartile (95% CI)")
        for q in m.quartiles:
            ax.annotate(f"{q.rate.events}/{q.rate.n}", (q.median_exposure, q.rate.ci_upper), textcoords="offset points",
                        xytext=(0, 3), ha="center", fontsize=MIN_FONT_PT)
        if endpoint == "response" and er.emax is not None:
            ax.plot(er.emax.curve_exposure, er.emax.curve_prob, color=PALETTE[1], ls="--", lw=1.0, label="Emax model")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(f"P({_label(endpoint, er.severity_basis)})")
        ax.legend(loc="upper left", fontsize=MIN_FONT_PT)
        for i, b in enumerate(er.exposure_by_dose):
            vals = np.asarray(b.values)
            # one rug tick per patient, drawn as a single path (NaN-separated segments): one SVG element
            # instead of one per patient keeps the PDF fast to render
            xs = np.repeat(vals, 3)
            xs[2::3] = np.nan
            ys = np.tile([i - 0.25, i + 0.25, np.nan], len(vals))
            colour = dose_colour(b.dose)
            ax2.plot(xs, ys, color=colour, lw=0.5)
            ax2.plot([b.p05, b.p95], [i, i], color=colour, lw=0.8)
            ax2.plot([b.median], [i], "D", color=colour, ms=3.5)
        ax2.set_yticks(range(len(er.exposure_by_dose)), [f"{b.dose:g}" for b in er.exposure_by_dose])
        ax2.set_ylabel(dose_axis_label())
        if er.transform == "log":
            ax2.set_xscale("log")
            _plain_log_ticks(ax2.xaxis)
        ax2.set_xlabel(exposure_label(er.metric, er.unit))
        return _svg(fig)


def km_plot(curves: list[KMCurve], xlabel: str = "Time (days)", title: str = "", by_dose: bool = False) -> str:
    """Kaplan-Meier curves (step functions with censoring-aware 95% bands) with the numbers at risk at each
    time tick in a table under the axis (one row per curve, in its colour).  ``by_dose``: the curves are dose
    groups (``group`` is the dose; label "Placebo" for control) and take the study's dose colours."""
    with rc_context(RC):
        fig, ax = _new(6.4, 3.8)
        colours = []
        for i, c in enumerate(curves):
            col = (dose_colour(float(c.group) if isinstance(c.group, int | float) else None, c.label == "Placebo")
                   if by_dose else PALETTE[i % len(PALETTE)])
            colours.append(col)
            # the step function runs to the last follow-up time, not only to the last event
            extend = c.last_time is not None and c.last_time > c.time[-1]
            t = c.time + ([c.last_time] if extend else [])
            surv, lo, hi = ((v + v[-1:]) if extend else v for v in (c.survival, c.ci_lower, c.ci_upper))
            ax.step(t, surv, where="post", color=col, label=f"{c.label} (n={c.n}, events={c.events})")
            ax.fill_between(t, lo, hi, step="post", color=col, alpha=0.10, lw=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Probability event-free")
        if title:
            ax.set_title(title, fontsize=MIN_FONT_PT)
        ax.legend(loc="upper right", fontsize=MIN_FONT_PT)
        if all(c.follow_up for c in curves):
            _at_risk_table(ax, curves, colours)
        return _svg(fig)


def _at_risk_table(ax, curves: list[KMCurve], colours: list[str]) -> None:
    """Numbers at risk under the time axis at its major ticks (the reader's convention for KM plots)."""
    lo, hi = ax.get_xlim()
    ticks = [float(t) for t in ax.get_xticks() if lo - 1e-9 <= t <= hi + 1e-9]
    ax.set_xticks(ticks)
    ax.set_xlim(lo, hi)
    top = -42.0  # points below the axis: under the tick labels and the axis label
    ax.annotate("Number at risk", xy=(0, 0), xycoords="axes fraction", xytext=(-24, top), textcoords="offset points",
                ha="right", va="top", fontsize=MIN_FONT_PT, fontweight="bold")
    for i, (c, col) in enumerate(zip(curves, colours, strict=True)):
        y = top - 12.0 * (i + 1)
        ax.annotate(c.label, xy=(0, 0), xycoords="axes fraction", xytext=(-24, y), textcoords="offset points",
                    ha="right", va="top", fontsize=MIN_FONT_PT, color=col)
        for t in ticks:
            ax.annotate(f"{c.at_risk_at(t)}", xy=(t, 0), xycoords=("data", "axes fraction"), xytext=(0, y),
                        textcoords="offset points", ha="center", va="top", fontsize=MIN_FONT_PT, color=col)


def dose_response_plot(res: MCPModResult, severity_basis: str = "grade") -> str:
    """Observed rate (or mean) per dose with 95% CI and the selected MCP-Mod model with its bootstrap band."""
    with rc_context(RC):
        fig, ax = _new(5.6, 3.6)
        d = [g.dose for g in res.groups]
        if res.data_type == "binary":
            from dossier.analyses.stats import clopper_pearson

            y = [g.rate for g in res.groups]
            ci = [clopper_pearson(g.events, g.n) for g in res.groups]
            ax.set_ylabel(f"P({_label(res.endpoint, severity_basis)})")
        else:
            y = [g.estimate for g in res.groups]
            ci = [(g.estimate - 1.96 * g.se, g.estimate + 1.96 * g.se) for g in res.groups]
            ax.set_ylabel(res.endpoint)
        ax.errorbar(d, y, yerr=[[yy - c[0] for yy, c in zip(y, ci, strict=True)],
                                [c[1] - yy for yy, c in zip(y, ci, strict=True)]],
                    fmt="o", color="black", ms=4, capsize=3, lw=0.8, label="Observed (95% CI)")
        if res.curve_response:
            if res.curve_lower:
                ax.fill_between(res.curve_dose, res.curve_lower, res.curve_upper, color=MODEL_COLOUR, alpha=0.15,
                                lw=0, label="Bootstrap 95% band")
            ax.plot(res.curve_dose, res.curve_response, color=MODEL_COLOUR, label=f"{res.selected_model} model")
        if res.target_dose is not None:
            ax.axvline(res.target_dose, color=PALETTE[1], ls="--", lw=0.8, label="Target dose")
        ax.set_xlabel(dose_axis_label())
        ax.legend(loc="best", fontsize=MIN_FONT_PT)
        return _svg(fig)


def tolerability_plot(tol: TolerabilityResult, endpoints: tuple[str, ...] = ("severe", "reduced", "interrupted",
                                                                             "withdrawn", "withdrawn_study")) -> str:
    """Rates (exact 95% CI) of key tolerability endpoints per dosage, with the Harvey et al. medians."""
    # a measure that was not collected has no rate: it is left off the figure, never drawn as 0
    endpoints = tuple(k for k in endpoints if any((r := a.get(k)) is not None and r.rate is not None for a in tol.arms))
    with rc_context(RC):
        fig, ax = _new(5.6, 3.8)
        arms = tol.arms
        width = 0.8 / len(arms)
        for i, a in enumerate(arms):
            xs, ys, lo, hi = [], [], [], []
            for j, key in enumerate(endpoints):
                r = a.get(key)
                if r is None or r.rate is None:
                    continue
                xs.append(j + (i - (len(arms) - 1) / 2) * width)
                ys.append(r.rate)
                lo.append(r.rate - r.ci_lower)
                hi.append(r.ci_upper - r.rate)
            ax.bar(xs, ys, width=width * 0.9, color=dose_colour(a.dose, getattr(a, "control", False)),
                   label="Placebo" if getattr(a, "control", False) else f"{a.dose:g}", alpha=0.85)
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="none", ecolor="black", lw=0.6, capsize=1.5)
        for j, key in enumerate(endpoints):
            measure = tol.measures.get(key)
            if key in tol.benchmarks and not (measure is not None and measure.source.startswith("ADSL")):
                ax.plot([j - 0.45, j + 0.45], [tol.benchmarks[key]] * 2, color="black", ls=":", lw=1.0)
        ax.set_xticks(range(len(endpoints)), [textwrap.fill(_label(k, tol.severity_basis), 16) for k in endpoints])
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("Proportion of patients")
        ax.legend(title=dose_axis_label(), fontsize=MIN_FONT_PT, title_fontsize=MIN_FONT_PT, loc="upper left",
                  bbox_to_anchor=(1.0, 1.0))
        return _svg(fig)


def prediction_plot(pred: PredictionsResult, severity_basis: str = "grade") -> str:
    """Predicted probabilities (bootstrap 95% CI) of each endpoint across dosages."""
    with rc_context(RC):
        fig, ax = _new(6.0, 3.6)
        doses = [d.dose for d in pred.dosages]
        keys = [e.endpoint for e in pred.dosages[0].endpoints]
        for i, key in enumerate(keys):
            es = [d.get(key) for d in pred.dosages]
            y = [e.estimate for e in es]
            ax.fill_between(doses, [e.ci_lower for e in es], [e.ci_upper for e in es], color=PALETTE[i % 8], alpha=0.12,
                            lw=0)
            ax.plot(doses, y, "o-", color=PALETTE[i % 8], ms=3, label=_label(key, severity_basis))
        ax.axvline(pred.proposed_dosage, color="#777777", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xticks(doses, [f"{d:g}" for d in doses])
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(dose_axis_label("log scale"))
        ax.set_ylabel("Predicted probability")
        ax.legend(fontsize=MIN_FONT_PT, loc="upper left")
        return _svg(fig)


def utility_plot(br: BenefitRiskResult) -> str:
    """Clinical utility (95% CI) per dosage and its sensitivity to the efficacy weight."""
    with rc_context(RC):
        fig, (ax, ax2) = _new(6.6, 3.2, ncols=2)
        for i, u in enumerate(br.dosages):
            col = dose_colour(u.dose) if u.candidate else "#aaaaaa"
            ax.errorbar([i], [u.utility], yerr=[[u.utility - u.ci_lower], [u.ci_upper - u.utility]], fmt="o",
                        color=col, ms=5 if u.dose == br.recommended_dose else 3.5, capsize=3, lw=0.8)
        ax.set_xticks(range(len(br.dosages)), [f"{u.dose:g}" for u in br.dosages])
        ax.set_xlabel(dose_axis_label("grey: not a candidate"))
        ax.set_ylabel("Clinical utility index")
        doses = [u.dose for u in br.dosages]
        we = [s.efficacy_weight for s in br.sensitivity]
        for i, d in enumerate(doses):
            ax2.plot(we, [s.utilities[f"{d:g}"] for s in br.sensitivity], color=dose_colour(d), label=f"{d:g}",
                     ls="-" if br.dosages[i].candidate else ":")
        ax2.axvline(br.weights.get("response", 0.5), color="#777777", ls=":", lw=0.8)
        ax2.set_xlabel("Weight on efficacy")
        ax2.set_ylabel("Utility")
        ax2.legend(title=dose_axis_label(), fontsize=MIN_FONT_PT, title_fontsize=MIN_FONT_PT, ncol=2)
        fig.tight_layout()
        return _svg(fig)


def escalation_plot(esc: EscalationResult) -> str:
    """DLT rate (exact 95% CI) per dose with the target rate."""
    with rc_context(RC):
        fig, ax = _new(5.2, 3.0)
        ds = [d for d in esc.doses if d.dlt.n > 0]
        x = range(len(ds))
        y = [d.dlt.rate for d in ds]
        ax.errorbar(x, y, yerr=[[d.dlt.rate - d.dlt.ci_lower for d in ds], [d.dlt.ci_upper - d.dlt.rate for d in ds]],
                    fmt="o", color="black", ms=4, capsize=3, lw=0.8)
        for i, d in zip(x, ds, strict=True):
            ax.annotate(f"{d.dlt.events}/{d.dlt.n}", (i, d.dlt.ci_upper), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=MIN_FONT_PT)
        ax.axhline(esc.target, color=PALETTE[1], ls="--", lw=0.8)
        ax.set_xticks(list(x), [f"{d.dose:g}" for d in ds])
        ax.set_ylim(0, 1.05)
        ax.set_xlabel(dose_axis_label())
        ax.set_ylabel("DLT rate")
        return _svg(fig)


#: a plot with more marks than this draws its data layer as an image at print resolution (PRINT_DPI): thousands
#: of vector markers make the SVG megabytes long and the PDF slow to render, with nothing a printed page shows
MANY_MARKS = 2000
PRINT_DPI = 300


def _profile_lines(sel: np.ndarray, codes: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points ``sel`` as one polyline per profile: NaN between consecutive points of different profiles."""
    if sel.size == 0:
        return np.empty(0), np.empty(0)
    brk = np.flatnonzero(codes[sel][1:] != codes[sel][:-1]) + 1  # where a new profile starts
    return np.insert(x[sel], brk, np.nan), np.insert(y[sel], brk, np.nan)


def concentration_time_plot(pk: PKResult, profile_type: str = "single dose") -> str:
    """Individual concentration-time profiles by dose group, linear (left) and log (right) scale, with the
    LLOQ as a dashed line; BLQ samples are not drawn (they have no concentration).  With more than
    ``MANY_MARKS`` samples the profiles are drawn as an image at ``PRINT_DPI`` (axes and text stay vector)."""
    pts = [p for p in pk.observations if p.profile_type == profile_type and p.conc is not None]
    groups = sorted({p.dose for p in pts if p.dose is not None})
    dose = np.array([np.nan if p.dose is None else p.dose for p in pts], dtype=float)
    time = np.array([p.time for p in pts], dtype=float)
    conc = np.array([p.conc for p in pts], dtype=float)
    ids: dict[tuple[str, str], int] = {}
    codes = np.array([ids.setdefault((p.usubjid, p.profile), len(ids)) for p in pts], dtype=np.int64)
    many = len(pts) > MANY_MARKS
    with rc_context(RC):
        fig, axes = _new(6.6, 3.4, ncols=2)
        for ax, scale in zip(axes, ("linear", "log"), strict=True):
            for i, g in enumerate(groups):
                keep = (dose == g) & (conc > 0) if scale == "log" else dose == g
                xs, ys = _profile_lines(np.flatnonzero(keep), codes, time, conc)
                colour = dose_colour(g) if len(groups) <= len(DOSE_PALETTE) else MODEL_COLOUR
                label = f"{g:g} {pk.dose_unit}" if len(groups) <= len(DOSE_PALETTE) else (
                    "individual profiles" if i == 0 else None)
                ax.plot(xs, ys, color=colour, lw=0.7, alpha=0.7, marker="o", ms=1.8, label=label, rasterized=many)
            if pk.lloq is not None:
                ax.axhline(pk.lloq, color="black", ls="--", lw=0.8, label="LLOQ")
            if scale == "log":
                ax.set_yscale("log")
            ax.set_xlabel(f"Time after dose ({pk.time_unit})")
            ax.set_ylabel(f"Concentration ({typeset_unit(pk.conc_unit)})" if pk.conc_unit else "Concentration")
            ax.set_title(f"{scale.capitalize()} scale", fontsize=MIN_FONT_PT)
        axes[0].legend(loc="best", fontsize=MIN_FONT_PT)
        return svg_markup(fig, bbox_inches="tight", dpi=PRINT_DPI) if many else _svg(fig)


#: the QLQ-C30 change figure shows a dosage group at a visit with at least this many patients
QLQ_CHANGE_MIN_N = 5


def qlq_change_plot(q: QlqC30Result, codes: tuple[str, ...] = ("QL2", "PF2", "FA", "DI"), min_n: int = QLQ_CHANGE_MIN_N) -> str:
    """QLQ-C30 mean change from baseline (t-based 95% CI) by visit and dosage, with the deterioration
    threshold (dotted, in the worsening direction); dosages with at least ``min_n`` patients at a visit."""
    with rc_context(RC):
        fig, axes = _new(6.4, 4.6, nrows=2, ncols=2, sharex=True)
        for ax, code in zip(np.ravel(axes), codes, strict=False):
            sc = q.get(code)
            if sc is None:
                continue
            for i, a in enumerate(sc.arms):
                vs = [v for v in a.visits if v.n >= min_n and v.mean_change is not None]
                if not vs:
                    continue
                t = np.array([v.time for v in vs], dtype=float)
                y = np.array([v.mean_change for v in vs], dtype=float)
                lo = np.array([v.ci_lower if v.ci_lower is not None else v.mean_change for v in vs], dtype=float)
                hi = np.array([v.ci_upper if v.ci_upper is not None else v.mean_change for v in vs], dtype=float)
                ax.errorbar(t + (i - len(sc.arms) / 2) * 0.12, y, yerr=[y - lo, hi - y],
                            color=dose_colour(a.dose, a.control),
                            lw=1.0, capsize=1.5, marker="o", ms=2.5, label="Placebo" if a.control else f"{a.dose:g}")
            worse = q.deterioration_points if sc.kind == "symptom" else -q.deterioration_points
            ax.axhline(0, color="black", lw=0.5)
            ax.axhline(worse, color="black", lw=0.8, ls=":")
            ax.set_title(sc.label, fontsize=MIN_FONT_PT)
            ax.set_ylabel("Change from baseline (points)")
        handles, labels = np.ravel(axes)[0].get_legend_handles_labels()
        fig.legend(handles, labels, title=dose_axis_label(), fontsize=MIN_FONT_PT, title_fontsize=MIN_FONT_PT, loc="upper center",
                   ncol=max(len(labels), 1), bbox_to_anchor=(0.5, 0.0), frameon=False)
        for ax in np.ravel(axes)[-2:]:
            ax.set_xlabel("Visit number" if q.time_axis == "AVISITN" else "Study day")
        return _svg(fig)


def biomarker_plot(ep: BiomarkerEndpoint) -> str:
    """A biomarker / PD marker by dose: the observed mean per dose group with its t-based 95% CI (dose
    colours; placebo grey) and, only when MCP-Mod selected a model, that model's curve (least-squares means
    when covariate-adjusted) with its bootstrap 95% band and the target dose (dashed) when one was found."""
    with rc_context(RC):
        fig, ax = _new(5.6, 3.6)
        for g in ep.by_dose:
            if g.mean is None:
                continue
            lo = g.mean - g.ci_lower if g.ci_lower is not None else 0.0
            hi = g.ci_upper - g.mean if g.ci_upper is not None else 0.0
            ax.errorbar([g.dose], [g.mean], yerr=[[lo], [hi]], fmt="o", ms=4, capsize=3, lw=0.9,
                        color=dose_colour(g.dose, g.control))
        ax.plot([], [], "o", color="black", ms=4, label="Observed mean (95% CI)")
        r = ep.mcpmod
        if r is not None and r.dose_response_detected and r.selected_model and r.curve_response:
            if r.curve_lower:
                ax.fill_between(r.curve_dose, r.curve_lower, r.curve_upper, color=MODEL_COLOUR, alpha=0.15, lw=0,
                                label="Bootstrap 95% band")
            ax.plot(r.curve_dose, r.curve_response, color=MODEL_COLOUR, label=f"{r.selected_model} model")
            if r.target_dose is not None:
                ax.axvline(r.target_dose, color=PALETTE[1], ls="--", lw=0.8, label="Target dose")
        ax.set_title("\n".join(textwrap.wrap(ep.name, 70)), fontsize=MIN_FONT_PT)
        what = ep.measure_words[0].upper() + ep.measure_words[1:]
        ax.set_ylabel(f"{what}{', sign reversed' if ep.analysed_as_reduction else ''} "
                      f"({typeset_unit(ep.response_unit)})")
        ax.set_xlabel(dose_axis_label())
        ax.legend(loc="best", fontsize=MIN_FONT_PT)
        return _svg(fig)


def all_figures(bundle: AnalysesBundle, doses: Sequence[float] | None = None, dose_unit: str = "",
                workers: int = 1) -> dict[str, str]:
    """Every figure the bundle supports: name -> SVG markup (drawn in ``workers`` processes).  ``doses`` (the
    spec's dose levels) and ``dose_unit`` key the dose colours and label the dose axes; without them, the
    tolerability arms' doses."""
    if doses is None:
        doses = [a.dose for a in bundle.tolerability.arms if not a.control] if bundle.tolerability is not None else []
    with dose_levels(doses, dose_unit):
        return draw_figures(figure_plan(bundle), workers)


def figure_plan(bundle: AnalysesBundle) -> list[tuple[str, Callable[..., str], tuple]]:
    """``(name, function, arguments)`` of every figure the bundle supports, in document order."""
    plan: list[tuple[str, Callable[..., str], tuple]] = []
    basis = bundle.tolerability.severity_basis if bundle.tolerability is not None else "grade"
    if bundle.escalation is not None:
        plan.append(("escalation_dlt", escalation_plot, (bundle.escalation,)))
    tol = bundle.tolerability
    if tol is not None:
        plan.append(("tolerability_rates", tolerability_plot, (tol,)))
        kms = [a.time_to_modification.model_copy(update={"label": "Placebo" if a.control else f"{a.dose:g}"})
               for a in tol.arms if a.time_to_modification is not None and a.n >= 5 and a.time_to_modification.events]
        if kms:
            plan.append(("km_time_to_modification", partial(km_plot, by_dose=True), (kms, "Days since first dose")))
    rnd = bundle.randomized
    if rnd is not None:
        kms = [a.pfs.model_copy(update={"label": "Placebo" if a.control else f"{a.dose:g}"})
               for a in rnd.arms if a.pfs is not None]
        if kms:
            plan.append(("km_randomized", partial(km_plot, by_dose=True), (kms, "Days since randomization")))
    if bundle.dose_response is not None:
        for r in bundle.dose_response.endpoints:
            plan.append((f"dose_response_{r.endpoint}", dose_response_plot, (r, basis)))
    er = bundle.exposure_response
    if er is not None:
        for m in er.models:
            plan.append((f"er_quartile_{m.endpoint}", quartile_plot, (er, m.endpoint)))
        if er.pfs is not None and er.pfs.km_by_quartile:
            plan.append(("km_exposure_quartile", partial(km_plot, title=f"By {typeset_metric(er.metric)} quartile"),
                         (er.pfs.km_by_quartile, "Days")))
    if bundle.predictions is not None:
        plan.append(("predictions", prediction_plot, (bundle.predictions, basis)))
    if bundle.benefit_risk is not None:
        plan.append(("utility", utility_plot, (bundle.benefit_risk,)))
    pk = getattr(bundle, "pk", None)
    if pk is not None:
        for ptype in pk.profile_types():
            plan.append((f"pk_conc_{ptype.replace(' ', '_')}", concentration_time_plot, (pk, ptype)))
    if bundle.patient_reported is not None and bundle.patient_reported.qlq_c30 is not None:
        plan.append(("qlq_c30_change", qlq_change_plot, (bundle.patient_reported.qlq_c30,)))
    bm = getattr(bundle, "biomarkers", None)
    if bm is not None:
        for ep in bm.endpoints:
            if any(g.mean is not None for g in ep.by_dose):
                plan.append((f"biomarker_{ep.paramcd}", biomarker_plot, (ep,)))
    return plan


_PLAN: list[tuple[str, Callable[..., str], tuple]] = []  # the figures being drawn: inherited by forked workers


def _draw(index: int) -> str:
    _, func, args = _PLAN[index]
    return func(*args)


def draw_figures(plan: list[tuple[str, Callable[..., str], tuple]], workers: int = 1,
                 meanwhile: Callable[[], object] | None = None) -> dict[str, str]:
    """Draw a figure plan: name -> SVG, in the plan's order.  With ``workers`` > 1 the figures are drawn in
    forked processes (each figure is a pure function of its arguments, which reach the workers by fork,
    not by pickling; the SVG text is the same whichever process drew it), and ``meanwhile`` (e.g. importing
    what the next stage needs) runs in this process once the workers are started, instead of after them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if workers <= 1 or len(plan) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        figures = {name: func(*args) for name, func, args in plan}
        if meanwhile is not None:
            meanwhile()
        return figures
    _PLAN[:] = plan
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(plan)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_draw, i) for i in range(len(plan))]  # the workers are forked here
            if meanwhile is not None:
                meanwhile()
            return {name: f.result() for (name, _, _), f in zip(plan, futures, strict=True)}
    finally:
        _PLAN.clear()
