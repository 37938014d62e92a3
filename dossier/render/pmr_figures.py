"""Figure of the PMR-risk score: a horizontal waterfall of the factor contributions on the log-odds scale.

Deterministic SVG: ``svg.hashsalt`` is fixed and the date metadata is dropped, so the same result gives
the same bytes.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy.special import expit, logit  # noqa: E402

from dossier.analyses.pmr_risk import PmrRiskResult  # noqa: E402
from dossier.render.figures import MIN_FONT_PT, RC, svg_markup  # noqa: E402

RAISE_COLOUR = "#b2182b"
LOWER_COLOUR = "#2166ac"
TOTAL_COLOUR = "#404040"
PROB_TICKS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


def pmr_waterfall_svg(result: PmrRiskResult) -> str:
    """Waterfall from the base rate (intercept) through each non-zero contribution to the total.

    The baseline is the base rate (a dotted vertical line at the intercept): each factor's bar starts where the
    previous one ended, and the base rate and the total are drawn as points (with the total's simulated interval
    as a whisker), so no bar is anchored at an arbitrary 50% (log-odds 0).  Bars are sorted by absolute
    contribution; factors without a published effect size are marked with an asterisk. The top axis shows the
    probability scale.
    """
    steps = sorted((f for f in result.factors if f.contribution != 0),
                   key=lambda f: -abs(f.contribution))
    labels = [f"Base rate {100 * result.base_rate:.0f}%"]
    labels += [textwrap.fill(f.label + ("" if f.published_effect_size else " *"), 38) for f in steps]
    labels.append(f"Total: {100 * result.probability:.0f}% ({result.category})")

    with plt.rc_context({**RC, "svg.hashsalt": "dossier-pmr", "axes.spines.top": True,
                         "axes.spines.right": True}):
        fig, ax = plt.subplots(figsize=(6.6, 0.42 * len(labels) + 1.6))
        y = list(range(len(labels)))[::-1]
        ax.axvline(result.intercept, color="#555555", lw=0.7, ls=":")
        ax.plot([result.intercept], [y[0]], "D", color=TOTAL_COLOUR, ms=6)
        level = result.intercept
        for yi, f in zip(y[1:-1], steps, strict=True):
            colour = RAISE_COLOUR if f.contribution > 0 else LOWER_COLOUR
            ax.barh(yi, f.contribution, left=level, color=colour, height=0.6)
            ax.plot([level, level], [yi + 0.3, yi + 0.7], color="#999999", lw=0.6)
            level += f.contribution
        ax.barh(y[-1], result.total_log_odds - result.intercept, left=result.intercept, color=TOTAL_COLOUR,
                height=0.6, alpha=0.35)
        ax.plot([result.total_log_odds], [y[-1]], "D", color=TOTAL_COLOUR, ms=6)
        lo, hi = (float(logit(p)) for p in result.interval)
        ax.errorbar([result.total_log_odds], [y[-1]], xerr=[[result.total_log_odds - lo], [hi - result.total_log_odds]],
                    fmt="none", ecolor="black", capsize=3, lw=0.8)
        for cut in result.category_cutoffs.values():
            ax.axvline(float(logit(cut)), color="#777777", lw=0.6, ls="--")
        ax.set_yticks(y, labels)
        ax.set_xlabel("Log-odds of a PMR on the dosage (dotted line: base rate)")
        xs = [result.intercept, result.total_log_odds, lo, hi]
        acc = result.intercept
        for f in steps:
            acc += f.contribution
            xs.append(acc)
        left, right = min(xs) - 0.3, max(xs) + 0.3
        ax.set_xlim(left, right)
        top = ax.secondary_xaxis("top", functions=(lambda v: expit(v), lambda p: logit(p)))
        ticks: list[float] = []
        for p in PROB_TICKS:  # keep ticks at least 0.45 log-odds apart so labels do not overlap
            if left <= logit(p) <= right and (not ticks or logit(p) - logit(ticks[-1]) >= 0.45):
                ticks.append(p)
        top.set_xticks(ticks)
        top.set_xticklabels([f"{100 * p:g}" for p in ticks])
        top.set_xlabel("Probability (%)")
        ax.spines["right"].set_visible(False)
        fig.text(0.01, 0.01, textwrap.fill("* expert judgement, no published effect size.  Dashed lines: category "
                                           "cut-offs. Whisker: simulated interval of the probability.", 95),
                 fontsize=MIN_FONT_PT, va="bottom")
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        svg = svg_markup(fig)
        plt.close(fig)
    return svg
