"""The design-comparison figure of a simulation study (matplotlib -> SVG).

Three panels over the scenarios (numbered as in the dossier's tables): percentage of correct selection,
mean patients treated at the true MTD, and percentage of patients treated above it; one marker per
design with a 95% Monte Carlo interval (+-1.96 MC SE).

Deterministic SVG: ``svg.hashsalt`` is fixed and the date metadata is dropped, so the same result gives
the same bytes.
"""

from __future__ import annotations

from dossier.simstudy.results import SimulationStudyResult

PANELS = (
    ("pcs", "pcs_se", "Correct selection (%)"),
    ("patients_at_mtd", "patients_at_mtd_se", "Patients at the MTD (mean)"),
    ("patients_above_mtd_pct", "patients_above_mtd_pct_se", "Patients above the MTD (%)"),
)
MARKERS = "osD^vP<>X*h"


def design_study_svg(result: SimulationStudyResult) -> str:
    """The comparison figure as an SVG string."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    designs = result.designs
    scen = result.scenarios
    rows = {(r.design_id, r.scenario_id): r for r in result.comparison}
    n_d, n_s = len(designs), len(scen)
    width = 0.8 / max(n_d, 1)
    from dossier.render.figures import RC, svg_markup

    with plt.rc_context({**RC, "svg.hashsalt": "dossier-simstudy"}):
        fig, axes = plt.subplots(len(PANELS), 1, figsize=(6.6, 2.0 * len(PANELS) + 1.1), sharex=True)
        colours = plt.get_cmap("tab10").colors
        for ax, (key, se_key, title) in zip(axes, PANELS, strict=True):
            for di, d in enumerate(designs):
                xs = [si + (di - (n_d - 1) / 2) * width for si in range(n_s)]
                ys = [getattr(rows[(d.id, s.id)], key) for s in scen]
                es = [1.96 * getattr(rows[(d.id, s.id)], se_key) for s in scen]
                ax.errorbar(xs, ys, yerr=es, fmt=MARKERS[di % len(MARKERS)], ms=3.5, lw=0.8, capsize=1.5,
                            color=colours[di % len(colours)], label=d.label)
            ax.set_ylabel(title)
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", color="#dddddd", lw=0.5)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[-1].set_xticks(range(n_s), [str(i + 1) for i in range(n_s)])
        axes[-1].set_xlabel("Scenario")
        axes[0].set_ylim(0, 102)
        axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 1.35), ncol=min(n_d, 4), frameon=False)
        fig.text(0.01, 0.005, f"{result.n_trials} simulated trials per design and scenario (seed {result.seed}); "
                 "whiskers: 95% Monte Carlo interval.", fontsize=RC["font.size"], va="bottom")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        svg = svg_markup(fig)
        plt.close(fig)
    return svg


def write_figure(result: SimulationStudyResult, path) -> None:
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(design_study_svg(result), encoding="utf-8")
