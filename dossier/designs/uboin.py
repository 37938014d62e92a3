"""U-BOIN: the utility-based Bayesian optimal interval phase I/II design.

Reference
---------
Zhou Y, Lee JJ, Yuan Y (2019). A utility-based Bayesian optimal interval (U-BOIN) phase I/II design to
identify the optimal biological dose for targeted and immune therapies. Stat Med 38(28):5299-5316,
doi:10.1002/sim.8361 (author manuscript PMC7927960).

What the design does (the paper's summary, and the rules we implement)
-----------------------------------------------------------------------
Toxicity and efficacy are modelled jointly: the four outcomes (efficacy yes/no x toxicity yes/no) of
a patient at dose j are multinomial with probabilities pi_j, under a Dirichlet prior of total mass 1
(``prior``, default 1/4 per cell).  A utility u_k (0-100) scores each outcome; the dose's mean utility
is U_j = sum_k u_k pi_jk, with posterior mean sum_k u_k (a_k + c_jk) / (sum(a) + n_j) (c: counts).
The marginals of the Dirichlet give Beta posteriors for P(toxicity) and P(efficacy), from which a
dose is *admissible* when Pr(p_T > ``tox_upper`` | data) <= ``cutoff_tox`` and
Pr(p_E < ``eff_lower`` | data) <= ``cutoff_eff``.

The trial has two seamless stages:

* **Stage I** is BOIN (Liu & Yuan 2015) at ``target`` with its usual boundaries (lambda_e, lambda_d
  from p_saf = 0.6 x target and p_tox = 1.4 x target): escalate if the observed DLT rate at the
  current dose is <= lambda_e (stay if the next dose is eliminated or there is none), de-escalate if
  >= lambda_d (stay at the lowest dose), otherwise stay.  Safety: with >= 3 patients at the current
  dose and Pr(p_T > ``tox_upper`` | data) > 0.95 under Beta(1, 1), that dose and all higher doses are
  eliminated (the trial stops with no selection if the lowest dose is); out of an eliminated dose we
  de-escalate.  ``tox_upper`` defaults to target + 0.05.
* **Stage II** starts once any dose has ``s1`` patients.  After each cohort: (B1) if the highest dose
  tried so far has an observed DLT rate <= lambda_e and the next higher dose is not eliminated, the
  next cohort explores that dose; otherwise (B2) the next cohort goes to an admissible tried dose by
  its posterior mean utility -- the highest one (``allocation="greedy"``), or at random with
  probabilities proportional to the posterior mean utilities (``"proportional"``) or equal
  (``"equal"``).  With no admissible tried dose the trial stops without a selection.
* The trial ends when the maximum sample size is reached or any dose has ``s2`` patients; the OBD is
  the admissible, tried, non-eliminated dose with the highest posterior mean utility (none if there is
  no such dose).

Sources, and what is our choice
-------------------------------
We could read the article's summary (PMC7927960), not its full text or supplement.  The detailed rules
above (the stage-I safety limit target + 0.05, the B1 exploration step before the B2 utility
allocation, the s1 / s2 transitions, the total prior mass of 1, the three allocation rules and the
Gumbel association model) follow the published description as restated, with citations to the article
and to the authors' U-BOIN application (biostatistics.mdanderson.org/shinyapps/UBOIN, V2.4.4.0), by the
independent implementation ``dx-li/mdanderson-stats`` (docs/uboin.md).  That implementation publishes
an exact enumeration of a small trial computed in base R, which our code reproduces to 1e-12
(tests/designs/test_uboin.py); it validates the conduct rules, **not** the authors' undisclosed software
settings, and no published U-BOIN operating-characteristic table was available to us.  Our choices,
where the sources leave a convention open:

* only tried doses are candidates in B2 and for the final selection;
* ties in mean utility go to the lowest dose;
* at the maximum sample size (or s2) the trial stops and selects even when the last cohort eliminated
  the current dose (``dx-li`` then returns no selection; the difference only arises in stage I);
* default utilities are those of the BOIN12 family (100 / 60 / 40 / 0, Lin et al. 2020) so that the two
  utility designs compare on one scale; the defaults ``s1 = 12``, ``s2 = 24``, ``eff_lower = 0.2``,
  ``cutoff_eff = 0.9`` follow ``dx-li``'s implementation and were not verified against the article; all are
  options, and a protocol should state its own.

Outcomes are simulated from the Gumbel model with association ``association`` (psi; 0: independent),
cell probabilities pi(e, t) = q^e (1-q)^(1-e) p^t (1-p)^(1-t) + (-1)^(e+t) q(1-q)p(1-p) tanh(psi/2)
(Murtaugh & Fisher 1990; the model of the U-BOIN application).  Toxicity uses the shared uniforms
(common random numbers with the MTD designs), efficacy its conditional probability given toxicity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from dossier.designs.base import Decision, DecisionRow, DecisionTable, Design, LazyTables, Scenario, TrialData
from dossier.designs.boin import boin_lambdas
from dossier.designs.boin12 import DEFAULT_UTILITY, UtilityDesignParams
from dossier.designs.interval import NEVER, elimination_boundary
from dossier.designs.obd import (
    ObdOperatingCharacteristics,
    ObdOutcomes,
    conditional_efficacy,
    gumbel_cells,
    isotonic_mtd,
    lockstep_trials,
    obd_decision,
    summarize_obd,
)
from dossier.designs.params import param
from dossier.designs.state import _check, check_probabilities
from dossier.errors import DesignError
from dossier.wording import Noted

#: order of the four outcome cells in utilities and priors: (efficacy, toxicity)
CELLS = tuple(DEFAULT_UTILITY)
DEFAULT_PRIOR: dict[str, float] = dict.fromkeys(CELLS, 0.25)
ALLOCATIONS = ("greedy", "proportional", "equal")
NONE = -1


def _cells(values: Mapping[str, float] | None, default: Mapping[str, float], what: str) -> np.ndarray:
    v = dict(default if values is None else values)
    unknown = set(v) - set(CELLS)
    _check(not unknown and set(v) == set(CELLS), f"{what} needs the four outcomes {', '.join(CELLS)}; "
           f"got {', '.join(sorted(v))}", what)
    return np.array([float(v[k]) for k in CELLS])


class DosePosterior(BaseModel):
    """Posterior summary of one dose (U-BOIN's Dirichlet model)."""

    dose: int
    n: int
    mean_utility: float
    pr_overly_toxic: float
    pr_futile: float
    admissible: bool
    eliminated: bool


class UboinSelection(Noted):
    selected: int | None
    doses: list[DosePosterior]


class UBoinParams(UtilityDesignParams):
    """U-BOIN's options (Zhou, Lee & Yuan 2019; see the module docstring for their sources)."""

    eff_lower: float = param(0.2, gt=0, lt=1, help="lowest acceptable response rate",
                             source="Zhou et al. 2019 (dx-li default)")
    tox_upper: float | None = param(None, gt=0, lt=1, help="highest acceptable DLT rate (target + 0.05)",
                                    source="Zhou et al. 2019")
    prior: dict[str, float] | None = param(None, help="Dirichlet prior of the four outcomes (1/4 each)",
                                           source="Zhou et al. 2019")
    s1: int = param(12, ge=1, help="patients on a dose that end stage I (BOIN)", source="Zhou et al. 2019")
    s2: int = param(24, ge=2, help="patients on a dose that end the trial", source="Zhou et al. 2019")
    stage1_cutoff: float = param(0.95, ge=0.5, lt=1, help="stage-I elimination cutoff: Pr(p_T > tox_upper)",
                                 source="Zhou et al. 2019")
    allocation: Literal["greedy", "proportional", "equal"] = param(
        "greedy", help="stage-II allocation by posterior mean utility", source="Zhou et al. 2019")


class UBoin(LazyTables, Design):
    """U-BOIN (Zhou, Lee & Yuan 2019); see the module docstring for the rules and their sources."""

    name = "uboin"
    label = "U-BOIN"
    aliases = ("u-boin",)
    Params = UBoinParams
    _lazy_tables = ("esc", "de", "elim1", "pr_tox", "pr_fut", "adm_tox", "adm_eff")  # built on first use
    needs_efficacy = True
    selects = "OBD"

    def __init__(self, *, target: float = 0.25, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, tox_upper: float | None = None, eff_lower: float = 0.2,
                 utility: Mapping[str, float] | None = None, prior: Mapping[str, float] | None = None,
                 s1: int = 12, s2: int = 24, cutoff_tox: float = 0.95, cutoff_eff: float = 0.90,
                 stage1_cutoff: float = 0.95, allocation: str = "greedy", association: float = 0.0,
                 p_saf: float | None = None, p_tox: float | None = None):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose)
        self.tox_upper = self.target + 0.05 if tox_upper is None else float(tox_upper)
        _check(self.target < self.tox_upper < 1, f"tox_upper ({self.tox_upper}) must be above the target "
               f"({self.target}) and below 1", "tox_upper", "the highest acceptable DLT rate, e.g. target + 0.05")
        _check(0 < eff_lower < 1, f"eff_lower must be in (0, 1), got {eff_lower}", "eff_lower",
               "the lowest acceptable response rate, e.g. 0.2")
        for nm, c in (("cutoff_tox", cutoff_tox), ("cutoff_eff", cutoff_eff), ("stage1_cutoff", stage1_cutoff)):
            _check(0.5 <= c < 1, f"{nm} must be in [0.5, 1), got {c}", nm)
        _check(isinstance(s1, int | np.integer) and isinstance(s2, int | np.integer) and 1 <= s1 < s2,
               f"need whole numbers 1 <= s1 < s2, got s1={s1}, s2={s2}", "s1/s2",
               "s1: patients on a dose that end stage I; s2: patients on a dose that end the trial")
        _check(allocation in ALLOCATIONS, f"allocation must be one of {', '.join(ALLOCATIONS)}, got "
               f"{allocation!r}", "allocation")
        self.eff_lower = float(eff_lower)
        self.u = _cells(utility, DEFAULT_UTILITY, "utility")
        _check(bool(np.all((self.u >= 0) & (self.u <= 100))), "utilities must be in [0, 100]", "utility")
        self.a = _cells(prior, DEFAULT_PRIOR, "prior")
        _check(bool(np.all(self.a > 0)), "the Dirichlet prior needs positive cell parameters", "prior")
        self.s1, self.s2 = int(s1), int(s2)
        self.cutoff_tox, self.cutoff_eff, self.stage1_cutoff = float(cutoff_tox), float(cutoff_eff), float(stage1_cutoff)
        self.allocation = allocation
        self.association = float(association)
        self.p_saf = 0.6 * self.target if p_saf is None else float(p_saf)
        self.p_tox = 1.4 * self.target if p_tox is None else float(p_tox)
        self.lambda_e, self.lambda_d = boin_lambdas(self.target, self.p_saf, self.p_tox)

    @property
    def utility(self) -> dict[str, float]:
        return dict(zip(CELLS, (float(v) for v in self.u), strict=True))

    def describe(self) -> dict:
        return super().describe() | {
            "tox_upper": self.tox_upper, "eff_lower": self.eff_lower, "utility": self.utility,
            "prior": dict(zip(CELLS, (float(v) for v in self.a), strict=True)), "s1": self.s1, "s2": self.s2,
            "cutoff_tox": self.cutoff_tox, "cutoff_eff": self.cutoff_eff, "stage1_cutoff": self.stage1_cutoff,
            "allocation": self.allocation, "association": self.association, "p_saf": self.p_saf,
            "p_tox": self.p_tox, "lambda_e": self.lambda_e, "lambda_d": self.lambda_d}

    # --- tables -------------------------------------------------------------------------------
    def _build_tables(self, n_max: int) -> None:
        n = np.arange(n_max + 1)
        self.esc = np.floor(self.lambda_e * n).astype(np.int64)     # escalate if DLTs <= esc[n]
        self.de = np.ceil(self.lambda_d * n).astype(np.int64)       # de-escalate if DLTs >= de[n]
        self.elim1 = elimination_boundary(self.tox_upper, n_max, self.stage1_cutoff)
        nn, yy = np.meshgrid(n, n, indexing="ij")
        ok = yy <= nn
        with np.errstate(invalid="ignore"):
            pr_tox, pr_fut = self._tails(nn, yy, yy)
        self.pr_tox = np.where(ok, pr_tox, np.nan)
        self.pr_fut = np.where(ok, pr_fut, np.nan)
        self.adm_tox = ok & (pr_tox <= self.cutoff_tox)
        self.adm_eff = ok & (pr_fut <= self.cutoff_eff)

    def _tails(self, n, y_tox, y_eff) -> tuple[np.ndarray, np.ndarray]:
        """Pr(p_T > tox_upper | data) and Pr(p_E < eff_lower | data) from the Beta marginals of the
        Dirichlet posterior."""
        from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

        a_tox, a_eff, total = self.a[1] + self.a[3], self.a[0] + self.a[1], self.a.sum()
        return (special.betaincc(a_tox + y_tox, total - a_tox + n - y_tox, self.tox_upper),
                special.betainc(a_eff + y_eff, total - a_eff + n - y_eff, self.eff_lower))

    def mean_utility(self, n, yT, yE, y11) -> np.ndarray:
        """Posterior mean utility sum_k u_k (a_k + c_k) / (sum(a) + n) (arrays of counts)."""
        c = (yE - y11, y11, n - yT - yE + y11, yT - y11)
        num = sum(self.u[k] * (self.a[k] + c[k]) for k in range(4))
        return num / (self.a.sum() + n)

    def decision_table(self) -> DecisionTable:
        """Stage I (BOIN at the target, elimination above ``tox_upper``) by DLT counts; stage II is
        the B1 exploration / B2 utility allocation described in the module docstring."""
        rows = [DecisionRow(n=n, escalate_max=int(self.esc[n]),
                            deescalate_min=int(self.de[n]) if self.de[n] <= n else None,
                            eliminate_min=int(self.elim1[n]) if self.elim1[n] != NEVER and self.elim1[n] <= n
                            else None)
                for n in range(1, self.max_patients + 1)]
        return DecisionTable(design=self.name, target=self.target, cohort_size=self.cohort_size,
                             lambda_e=self.lambda_e, lambda_d=self.lambda_d, table=rows,
                             note_code="design.table.uboin",
                             note_values={"s1": self.s1, "allocation": self.allocation,
                                          "max_patients": self.max_patients, "s2": self.s2})

    # --- decisions (vectorised) -----------------------------------------------------------------
    def _eligible(self, n, yT, yE, elim) -> np.ndarray:
        return (n > 0) & ~elim & self.adm_tox[n, yT] & self.adm_eff[n, yE]

    def _decide(self, n, yT, yE, y11, elim, stage2, d, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One decision after a cohort at dose ``d`` for m trials (``elim`` and ``stage2`` are updated in
        place).  Returns (next dose, finish, no_selection)."""
        m, D = n.shape
        r = np.arange(m)
        cols = np.arange(D)[None, :]
        nd, yt = n[r, d], yT[r, d]
        # stage-I safety rule (Beta(1, 1), >= 3 patients, above tox_upper): dose d and above
        newly = ~stage2 & (yt >= self.elim1[nd])
        elim |= newly[:, None] & (cols >= d[:, None])
        stage2 |= (n >= self.s1).any(axis=1)
        safety = elim[:, 0]
        at_end = ~safety & ((n.sum(axis=1) >= self.max_patients) | (n >= self.s2).any(axis=1))

        # stage I: BOIN
        first_el = np.where(elim.any(axis=1), np.argmax(elim, axis=1), D)
        up = np.minimum(d + 1, D - 1)
        up_ok = (d + 1 < D) & ~elim[r, up]
        nxt1 = np.where(yt >= self.de[nd], np.maximum(d - 1, 0),
                        np.where((yt <= self.esc[nd]) & up_ok, d + 1, d))
        nxt1 = np.where(elim[r, d], first_el - 1, nxt1)

        # stage II: B1 exploration above the highest tried dose, else B2 utility allocation
        tried = n > 0
        h = D - 1 - np.argmax(tried[:, ::-1], axis=1)
        hu = np.minimum(h + 1, D - 1)
        b1 = (h + 1 < D) & ~elim[r, hu] & (yT[r, h] <= self.esc[n[r, h]])
        elig = self._eligible(n, yT, yE, elim)
        none = ~elig.any(axis=1)
        mu = self.mean_utility(n, yT, yE, y11)
        draw = rng.random(m)
        if self.allocation == "greedy":
            pick = np.argmax(np.where(elig, mu, -np.inf), axis=1)
        else:
            w = elig.astype(float) if self.allocation == "equal" else np.where(elig, mu, 0.0)
            w = np.where((w.sum(axis=1) > 0)[:, None], w, elig.astype(float))   # all-zero utilities: equal
            cdf = np.cumsum(w, axis=1) / np.maximum(w.sum(axis=1), 1e-300)[:, None]
            pick = np.minimum((cdf <= draw[:, None]).sum(axis=1), D - 1)
            pick = np.where(elig[r, pick], pick, np.argmax(elig, axis=1))      # guard against round-off
        nxt2 = np.where(b1, h + 1, pick)
        stop2 = stage2 & ~b1 & none

        nxt = np.where(stage2, nxt2, nxt1)
        finish = safety | at_end | stop2
        no_sel = safety | (stop2 & ~at_end)
        return nxt, finish, no_sel

    def select_batch_obd(self, n, yT, yE, y11, elim) -> np.ndarray:
        """The OBD of each trial (0-based; -1: none): the admissible tried dose with the highest
        posterior mean utility (lowest dose on ties)."""
        elig = self._eligible(n, yT, yE, elim)
        mu = np.where(elig, self.mean_utility(n, yT, yE, y11), -np.inf)
        return np.where(elig.any(axis=1), np.argmax(mu, axis=1), NONE)

    # --- single-trial API -----------------------------------------------------------------------
    def _counts(self, n_patients, n_tox, n_eff, n_both):
        n, yT = self._check_data(n_patients, n_tox)
        _, yE = self._check_data(n_patients, n_eff)
        y11 = np.asarray(n_both, dtype=np.int64)
        _check(y11.shape == n.shape and bool(np.all((y11 >= 0) & (y11 <= np.minimum(yT, yE)))
                                             & np.all(n - yT - yE + y11 >= 0)),
               "n_both (patients with both a response and a DLT) must fit the other counts at every dose",
               "n_both")
        return n, yT, yE, y11

    def posterior(self, n_patients, n_tox, n_eff, n_both, eliminated=None) -> list[DosePosterior]:
        """Posterior summaries per dose (mean utility, Pr(overly toxic), Pr(futile), admissibility)."""
        n, yT, yE, y11 = self._counts(n_patients, n_tox, n_eff, n_both)
        el = np.zeros(self.n_doses, bool) if eliminated is None else np.asarray(eliminated, bool)
        mu = self.mean_utility(n, yT, yE, y11)
        pr_tox, pr_fut = self._tails(n, yT, yE)
        return [DosePosterior(dose=j, n=int(n[j]), mean_utility=float(mu[j]), pr_overly_toxic=float(pr_tox[j]),
                              pr_futile=float(pr_fut[j]),
                              admissible=bool(pr_tox[j] <= self.cutoff_tox and pr_fut[j] <= self.cutoff_eff),
                              eliminated=bool(el[j]))
                for j in range(self.n_doses)]

    def select_obd(self, n_patients, n_tox, n_eff, n_both, eliminated=None) -> UboinSelection:
        """The OBD from one trial's data (``eliminated``: doses eliminated by the stage-I safety rule)."""
        n, yT, yE, y11 = self._counts(n_patients, n_tox, n_eff, n_both)
        el = np.zeros(self.n_doses, bool) if eliminated is None else np.asarray(eliminated, bool)
        sel = int(self.select_batch_obd(n[None], yT[None], yE[None], y11[None], el[None])[0])
        note = ("design.select.uboin_selected", {"dose": sel + 1}) if sel >= 0 else ("design.select.uboin_none", {})
        return UboinSelection(selected=None if sel < 0 else sel,
                              doses=self.posterior(n, yT, yE, y11, el), note_code=note[0],
                              note_values=note[1])

    def decide_obd(self, n_patients, n_tox, n_eff, n_both, current: int, eliminated=None, stage2: bool = False,
                   rng: np.random.Generator | None = None) -> tuple[int | None, list[bool], bool]:
        """Next dose (0-based; None: the trial ends -- see :meth:`select_obd`) after a cohort at
        ``current``, the eliminated doses and whether the trial is in stage II (the form of :meth:`decide`
        used before the one design contract)."""
        data = TrialData.model_construct(n=n_patients, dlt=n_tox, resp=n_eff, both=n_both, current=current,
                                         eliminated=eliminated, stage2=stage2)
        nxt, fin, _, el, st = self._decide_one(data, rng)
        return (None if fin else nxt), el, st

    def _decide_one(self, data: TrialData, rng: np.random.Generator | None = None):
        n, yT, yE, y11 = self._counts(data.n, data.dlt, data.resp, data.both)
        current = data.current
        _check(0 <= int(current) < self.n_doses and n[int(current)] > 0,
               "the current dose must be a treated dose index", "current")
        el = (np.zeros(self.n_doses, bool) if data.eliminated is None
              else np.asarray(data.eliminated, bool)).copy()[None]
        st = np.array([bool(data.stage2)])
        nxt, fin, no = self._decide(n[None], yT[None], yE[None], y11[None], el, st, np.array([int(current)]),
                                    rng or np.random.default_rng(0))
        return int(nxt[0]), bool(fin[0]), bool(no[0]), [bool(v) for v in el[0]], bool(st[0])

    def _decide_trial(self, data: TrialData) -> Decision:
        """The decision on toxicity and efficacy (``data.resp`` and ``data.both`` needed)."""
        if data.resp is None or data.both is None:
            raise DesignError("U-BOIN decides on toxicity and efficacy: give the responses and the patients "
                              "with both a response and a DLT per dose", "resp/both",
                              "TrialData(n=..., dlt=..., resp=..., both=..., current=...)")
        nxt, fin, no, el, st = self._decide_one(data)
        return obd_decision(data.current, nxt, el, fin, no, stage2=st)

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]):
        """MTD for the escalation summary (:func:`~dossier.designs.obd.isotonic_mtd`)."""
        return isotonic_mtd(self, n_patients, n_dlt)

    # --- simulation -------------------------------------------------------------------------------
    def true_utility(self, p_true, p_resp) -> np.ndarray:
        return gumbel_cells(p_true, p_resp, self.association) @ self.u

    def true_obd(self, p_true, p_resp) -> int:
        """The dose of highest true mean utility among the acceptable doses (P(DLT) <= tox_upper and
        P(response) >= eff_lower); if none is acceptable, among the doses with P(DLT) <= tox_upper, else
        among all doses."""
        p, q = np.asarray(p_true, float), np.asarray(p_resp, float)
        u = self.true_utility(p, q)
        for ok in ((p <= self.tox_upper) & (q >= self.eff_lower), p <= self.tox_upper, np.ones_like(p, bool)):
            if ok.any():
                return int(np.argmax(np.where(ok, u, -np.inf)))
        raise AssertionError("unreachable")

    def summarize_outcomes(self, p_true, p_resp, out: ObdOutcomes) -> ObdOperatingCharacteristics:
        """OCs of simulated outcomes (correct selection: the true OBD, :meth:`true_obd`)."""
        p = check_probabilities(p_true, "p_true", self.n_doses)
        q = check_probabilities(p_resp, "p_resp", self.n_doses)
        return summarize_obd(self, p, q, out, utility=self.true_utility(p, q), select_obd=True,
                             obd=self.true_obd(p, q))

    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None) -> ObdOutcomes:
        return self.simulate_outcomes(scenario.p_tox, scenario.p_eff, n_trials, rng, uniforms)

    def summarize(self, scenario: Scenario, outcomes: ObdOutcomes) -> ObdOperatingCharacteristics:
        return self.summarize_outcomes(scenario.p_tox, scenario.p_eff, outcomes)

    def simulate_outcomes(self, p_true, p_resp, n_trials: int, rng: np.random.Generator,
                          uniforms: np.ndarray | None = None) -> ObdOutcomes:
        """Lock-step simulation over trials (:func:`~dossier.designs.obd.lockstep_trials`); toxicity of the
        i-th patient from ``uniforms[:, i]`` (common random numbers), efficacy from its Gumbel conditional
        probability given toxicity."""
        p = check_probabilities(p_true, "p_true", self.n_doses)
        q = check_probabilities(p_resp, "p_resp", self.n_doses)
        pe_tox, pe_none = conditional_efficacy(p, q, self.association)
        r = lockstep_trials(self, p, pe_tox, pe_none, n_trials, rng, uniforms, np.zeros(int(n_trials), bool))
        sel = np.where(r.no_selection, NONE,
                       self.select_batch_obd(r.n, r.y_tox, r.y_eff, r.y_both, r.eliminated))
        # no_mtd: the safety stop (lowest dose eliminated); no_sel also counts stops with no admissible dose
        return ObdOutcomes(n=r.n, y=r.y_tox, r=r.y_eff, selected=sel, no_mtd=r.eliminated[:, 0].copy())
