"""Dose-pair grid evidence of a two-agent combination escalation (for the ``combination`` section).

From patients and DLTs per dose pair and the combination design of the trial
(:class:`~dossier.designs.boin_comb.BoinComb` or :class:`~dossier.designs.waterfall.Waterfall`): per pair
the patients, DLTs, the design's bivariate isotonic estimate (``None``: not treated, so not estimated)
and whether it is eliminated or selected; and, where the data allow, the contribution of each agent
as an add-on comparison: the DLT rate at a pair against the pair with the same level of the other
agent and the next lower level of this agent, both treated (exact Clopper-Pearson 95% intervals).
"""

from __future__ import annotations

from pydantic import BaseModel
from scipy import stats

from dossier.designs.boin_comb import BoinComb
from dossier.designs.waterfall import Waterfall
from dossier.wording import Phrase


class PairCell(BaseModel):
    dose_a: float
    dose_b: float
    n: int
    dlt: int
    estimate: float | None
    eliminated: bool
    selected: bool


class AddOn(BaseModel):
    """Adding one level of ``agent`` to a pair: DLT rates without and with it, both treated pairs."""

    agent: str
    base: tuple[float, float]
    added: tuple[float, float]
    base_rate: float
    added_rate: float
    base_ci: tuple[float, float]
    added_ci: tuple[float, float]


class CombinationEvidence(BaseModel):
    design: str
    target: float
    agent_a: str
    agent_b: str
    unit_a: str
    unit_b: str
    levels_a: list[float]
    levels_b: list[float]
    rows: list[list[PairCell]]  # highest level of agent A first, as the grid is drawn
    selected: list[tuple[float, float]]
    n_patients: int
    n_dlt: int
    note: Phrase  # how the pair(s) were selected (worded by templates/data/wording.yaml)
    add_on: list[AddOn]


def _cp(x: int, n: int) -> tuple[float, float]:
    lo = 0.0 if x == 0 else float(stats.beta.ppf(0.025, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(0.975, x + 1, n - x))
    return lo, hi


def combination_evidence(design: BoinComb | Waterfall, n, y, levels_a, levels_b, agents=("A", "B"),
                         units=("mg", "mg")) -> CombinationEvidence:
    """The grid of one trial's data with the design's selection (see the module docstring)."""
    sel = design.select_contour(n, y) if isinstance(design, Waterfall) else design.select_mtd(n, y)
    chosen = set(sel.selected)
    J, K = design.shape
    cells = [[PairCell(dose_a=levels_a[j], dose_b=levels_b[k], n=int(n[j][k]), dlt=int(y[j][k]),
                       estimate=sel.estimates[j][k], eliminated=bool(sel.eliminated[j][k]), selected=(j, k) in chosen)
              for k in range(K)] for j in range(J)]
    add_on = []
    for j in range(J):
        for k in range(K):
            for agent, (pj, pk) in ((agents[0], (j - 1, k)), (agents[1], (j, k - 1))):
                if pj < 0 or pk < 0 or n[j][k] == 0 or n[pj][pk] == 0:
                    continue
                add_on.append(AddOn(agent=agent, base=(levels_a[pj], levels_b[pk]), added=(levels_a[j], levels_b[k]),
                                    base_rate=y[pj][pk] / n[pj][pk], added_rate=y[j][k] / n[j][k],
                                    base_ci=_cp(int(y[pj][pk]), int(n[pj][pk])), added_ci=_cp(int(y[j][k]), int(n[j][k]))))
    return CombinationEvidence(
        design=design.name, target=design.target, agent_a=agents[0], agent_b=agents[1], unit_a=units[0],
        unit_b=units[1], levels_a=list(levels_a), levels_b=list(levels_b), rows=cells[::-1],
        selected=[(levels_a[j], levels_b[k]) for j, k in sel.selected], n_patients=int(sum(map(sum, n))),
        n_dlt=int(sum(map(sum, y))), note=Phrase(code=sel.note_code, values=sel.note_values), add_on=add_on)


def analyse_combination(data, cs) -> CombinationEvidence | None:
    """The grid of the study's dose-pair data (``StudyData.combination``) under the spec's combination design
    (``cs``: :class:`dossier.spec.CombinationSpec`); None without combination data."""
    if cs is None or getattr(data, "combination", None) is None:
        return None
    from dossier.designs.combination import combination_design_from_spec

    g = data.combination
    return combination_evidence(combination_design_from_spec(cs), g["n"], g["dlt"], g["levels_a"], g["levels_b"],
                                agents=(cs.agents[0].name, cs.agents[1].name),
                                units=(cs.agents[0].unit, cs.agents[1].unit))
