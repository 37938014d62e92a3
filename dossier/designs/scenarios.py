"""Simulation scenarios from fitted dose-toxicity and dose-response models.

The analyses stage fits dose-toxicity and dose-response (or exposure-response) models to the
trial's data.  :func:`scenarios_from_fit` turns such a fit -- the dose levels, the fitted P(DLT) and
P(response) per dose and their uncertainty -- into simulation scenarios: the point estimate and
``n_draws`` scenarios drawn from the fitted uncertainty.  :func:`simulate_under_fit` runs a design
under all of them, so that the dossier can show operating characteristics under the sponsor's own
fitted curves (point and averaged over the parameter uncertainty, with the spread) next to the
hypothetical scenarios.

Uncertainty is given either as posterior / bootstrap draws (``p_tox_draws``, ``p_resp_draws``,
one row per draw, rows paired) or as standard errors on the logit scale per dose
(``p_tox_se_logit``, ``p_resp_se_logit``; draws are then independent normals on the logit scale
around the point estimate, comonotone across doses so that a draw shifts the whole curve).  This
module is pure: no data access, explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field, model_validator


class FittedScenario(BaseModel):
    """Fitted dose-toxicity and dose-response curves with their uncertainty (one entry per dose)."""

    doses: list[float]
    p_tox: list[float]
    p_resp: list[float] | None = None
    p_tox_draws: list[list[float]] | None = None
    p_resp_draws: list[list[float]] | None = None
    p_tox_se_logit: list[float] | None = None
    p_resp_se_logit: list[float] | None = None
    source: str = Field("fitted model", description="which analysis produced the fit")

    @model_validator(mode="after")
    def _shapes(self) -> FittedScenario:
        D = len(self.doses)
        if D < 1:
            raise ValueError("need at least one dose")
        for name in ("p_tox", "p_resp", "p_tox_se_logit", "p_resp_se_logit"):
            v = getattr(self, name)
            if v is not None and len(v) != D:
                raise ValueError(f"{name} has {len(v)} values; one per dose ({D}) is required")
        for name in ("p_tox", "p_resp"):
            v = getattr(self, name)
            if v is not None and not all(0 <= x <= 1 for x in v):
                raise ValueError(f"{name} must be probabilities in [0, 1]")
        for name in ("p_tox_draws", "p_resp_draws"):
            v = getattr(self, name)
            if v is not None:
                if not v or any(len(r) != D for r in v):
                    raise ValueError(f"every row of {name} needs one value per dose ({D})")
                if not all(0 <= x <= 1 for r in v for x in r):
                    raise ValueError(f"{name} must be probabilities in [0, 1]")
        if self.p_tox_draws is not None and self.p_resp_draws is not None \
                and len(self.p_tox_draws) != len(self.p_resp_draws):
            raise ValueError("p_tox_draws and p_resp_draws must have the same number of (paired) draws")
        return self


class SimulationScenario(BaseModel):
    """One scenario to simulate: true P(DLT) and P(response) per dose."""

    name: str
    p_tox: list[float]
    p_resp: list[float] | None
    kind: str  # "point" or "draw"


def _draw(point: np.ndarray, draws, se, idx, z, eps: float = 1e-4) -> np.ndarray:
    if draws is not None:
        return np.asarray(draws, float)[idx]
    if se is not None:
        from scipy.special import expit, logit  # here: ~0.3 s to import (issue 16)

        lp = logit(np.clip(point, eps, 1 - eps))
        return expit(lp[None, :] + z[:, None] * np.asarray(se, float)[None, :])
    return np.repeat(point[None, :], len(idx), axis=0)


def scenarios_from_fit(fit: FittedScenario, n_draws: int, rng: np.random.Generator) -> list[SimulationScenario]:
    """The point scenario followed by ``n_draws`` scenarios from the fit's uncertainty.

    With draws given, ``n_draws`` of them are taken at random (without replacement when there are
    enough); with logit-scale SEs, one standard-normal shift per scenario and curve.  Drawn toxicity
    curves are made non-decreasing in dose (cumulative maximum), as the designs assume.
    """
    pt = np.asarray(fit.p_tox, float)
    pr = None if fit.p_resp is None else np.asarray(fit.p_resp, float)
    out = [SimulationScenario(name="fitted (point)", p_tox=pt.tolist(), p_resp=None if pr is None else pr.tolist(),
                              kind="point")]
    if n_draws <= 0:
        return out
    n_avail = len(fit.p_tox_draws or fit.p_resp_draws or [])
    idx = (rng.choice(n_avail, n_draws, replace=n_avail < n_draws) if n_avail else np.zeros(n_draws, int))
    zt, zr = rng.standard_normal(n_draws), rng.standard_normal(n_draws)
    tox = np.maximum.accumulate(_draw(pt, fit.p_tox_draws, fit.p_tox_se_logit, idx, zt), axis=1)
    resp = None if pr is None and fit.p_resp_draws is None else \
        _draw(pr if pr is not None else np.zeros_like(pt), fit.p_resp_draws, fit.p_resp_se_logit, idx, zr)
    for k in range(n_draws):
        out.append(SimulationScenario(name=f"fitted (draw {k + 1})", p_tox=np.clip(tox[k], 0, 1).tolist(),
                                      p_resp=None if resp is None else np.clip(resp[k], 0, 1).tolist(), kind="draw"))
    return out


class FittedScenarioOcs(BaseModel):
    """OCs of a design under the fitted point scenario and averaged over the fitted uncertainty."""

    source: str
    point: dict
    draws_mean_selection_pct: list[float]
    draws_q05_selection_pct: list[float]
    draws_q95_selection_pct: list[float]
    draws_mean_total_patients: float
    n_draws: int
    n_trials_per_scenario: int


def simulate_under_fit(simulate: Callable[[SimulationScenario, int, np.random.Generator], BaseModel],
                       fit: FittedScenario, n_draws: int, n_trials: int, rng: np.random.Generator
                       ) -> FittedScenarioOcs:
    """Run ``simulate(scenario, n_trials, rng) -> OCs`` (any design) under the point and drawn scenarios.

    ``simulate`` returns an OC model with ``selection_pct`` and ``mean_total_patients`` (both
    :class:`OperatingCharacteristics` and :class:`ObdOperatingCharacteristics` do).  The averaged
    selection is the selection probability *integrated over the fit's uncertainty*; the 5-95%
    range shows how much it depends on where the truth lies within that uncertainty.
    """
    scen = scenarios_from_fit(fit, n_draws, rng)
    ocs = [simulate(s, n_trials, rng) for s in scen]
    sel = np.array([o.selection_pct for o in ocs[1:]]) if n_draws > 0 else np.array([ocs[0].selection_pct])
    tot = np.array([o.mean_total_patients for o in ocs[1:]]) if n_draws > 0 else np.array([ocs[0].mean_total_patients])
    return FittedScenarioOcs(
        source=fit.source, point=ocs[0].model_dump(), draws_mean_selection_pct=sel.mean(axis=0).tolist(),
        draws_q05_selection_pct=np.quantile(sel, 0.05, axis=0).tolist(),
        draws_q95_selection_pct=np.quantile(sel, 0.95, axis=0).tolist(),
        draws_mean_total_patients=float(tot.mean()), n_draws=int(n_draws), n_trials_per_scenario=int(n_trials))


def fitted_from_arrays(doses: Sequence[float], p_tox: Sequence[float], p_resp: Sequence[float] | None = None,
                       **uncertainty) -> FittedScenario:
    """Convenience constructor from plain sequences / numpy arrays."""
    conv = {k: (None if v is None else np.asarray(v, float).tolist()) for k, v in uncertainty.items()}
    return FittedScenario(doses=list(map(float, doses)), p_tox=list(map(float, p_tox)),
                          p_resp=None if p_resp is None else list(map(float, p_resp)), **conv)
