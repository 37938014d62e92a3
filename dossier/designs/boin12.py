"""BOIN12: Bayesian optimal interval phase I/II design for utility-based dose finding.

Reference
---------
Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12: Bayesian optimal interval phase I/II trial design
for utility-based dose finding in immunotherapy and targeted therapies. JCO Precis Oncol 4:1393-1402.
We follow the authors' simulation code (distributed with the article; re-packaged as
``phase12designs::oc_boin12``), which is what trialdesign.org runs, and say where the R package
*escalation* (``get_boin12``) differs.

The design
----------
* Utility of the four outcomes (``utility``): efficacy without toxicity 100, efficacy with toxicity
  60, neither 40, toxicity without efficacy 0 (the published defaults, ``DEFAULT_UTILITY``).
* Desirability of a dose: Pr(u > u_b | data) under a Beta(1, 1) prior for the utility treated as a
  "quasi-binomial" rate with pseudo-count x = sum(u_k y_k) / 100; the benchmark u_b = u_bar +
  (100 - u_bar) / 2 where u_bar is the utility at (P(tox), P(eff)) = (target, eff_lower).  The
  rank-based desirability score (RDS) of Table 3 of the article ranks these probabilities
  (:func:`rds_table`); the decisions only need their order, so the simulation uses the probabilities.
* Boundaries: BOIN escalation/de-escalation counts from the authors' error-minimising search
  (:func:`error_minimising_boundaries`, identical to floor(lambda_e n) / ceil(lambda_d n) except at
  ties); toxicity elimination if Pr(p_T > target) > ``cutoff_tox`` (Beta(1,1), n >= 3 and at least
  3 DLTs, as the authors' code); futility elimination of the dose alone if
  Pr(p_E < eff_lower) > ``cutoff_eff`` (n >= 3).
* Dose finding at the current dose d with n patients: if y_T >= de-escalation boundary, go to the
  highest non-eliminated dose below (stay at the lowest; stop if none is left); otherwise choose
  the most desirable of {d, next lower, next higher non-eliminated dose}, where the higher dose is
  admissible only while n < ``n_star`` (6) or y_T <= escalation boundary.  Exploration rule
  (supplement): with n >= ``n_explore`` (9) at d, y_T below the de-escalation boundary and the next
  dose untried, escalate (``explore=False`` turns the rule off).  The trial stops (no dose selected) when the lowest dose is too toxic,
  every dose is eliminated, or the chosen dose is eliminated; it ends at ``n_cohorts`` cohorts or
  when ``n_earlystop`` patients are at the current dose (default: off, as the authors).
* Simulated outcomes: toxicity of patient i from the shared uniforms (common random numbers); efficacy
  independent of toxicity by default (the authors' simulations), or correlated through the Gumbel model
  with association ``association`` (psi; Murtaugh & Fisher 1990, the model of the U-BOIN application):
  P(E, T) = qp + q(1-q)p(1-p) tanh(psi/2) with marginals p and q unchanged
  (:func:`~dossier.designs.obd.gumbel_cells`), efficacy drawn from P(E | T) or P(E | no T).  With additive
  utilities (the defaults) the true utility of a dose depends on the marginals only.
* OBD selection: isotonic toxicity estimates (PAVA of (y+0.05)/(n+0.1), weights n+0.1, plus
  0.001 x dose index), efficacy by unimodal isotonic regression averaged over the mode with binomial
  likelihood weights (plus 0.01 x dose index, the authors' ``peestimate``); the MTD is the dose
  with the toxicity estimate closest to the target and the OBD the dose of highest estimated
  utility among the treated, non-eliminated doses not above the MTD.  When every dose up to the
  MTD is eliminated or untreated the authors' code still returns the first of them
  (``which.max`` of all -100); we select none (``strict_selection=True``, default) or, with
  ``strict_selection=False``, reproduce the authors' choice -- in a low-efficacy scenario this moves
  ~4% of trials from "dose 1" to "no selection".  Efficacy estimates use the exact weighted
  unimodal least-squares fit; ``Iso::ufit`` with an integer mode gives a slightly different fit in
  some data (it appears to use a neighbour's weight at the mode), which the MC comparison with the
  authors' code does not detect.

Differences from *escalation* (R): it takes the MTD tie to the higher dose, uses the desirability
probability (not the isotonic estimates) for the final choice, does not eliminate for futility
permanently and applies de-escalation to ``max(d - 1, 1)`` even when that dose is eliminated; these
explain why its OCs differ from trialdesign.org beyond Monte Carlo error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from dossier.designs.base import (
    Decision,
    DecisionRow,
    DecisionTable,
    Design,
    LazyTables,
    Scenario,
    TrialData,
    isotonic_batch,
    unique_rows,
)
from dossier.designs.boin import BoinCoreParams, boin_lambdas
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
from dossier.designs.params import DesignParams, param
from dossier.designs.state import _check, check_probabilities
from dossier.errors import DesignError
from dossier.wording import Noted

#: Published default utilities (Lin et al. 2020): keys are the four (efficacy, toxicity) outcomes.
DEFAULT_UTILITY: dict[str, float] = {"eff_no_tox": 100.0, "eff_tox": 60.0, "no_eff_no_tox": 40.0,
                                     "no_eff_tox": 0.0}
NONE = -1


def additive_utility(utility: Mapping[str, float]) -> bool:
    """u(E, no T) + u(no E, T) = u(E, T) + u(no E, no T): the mean utility then depends on the marginal
    counts only (not on how many patients had both a response and a DLT)."""
    u = utility
    return abs((u["eff_no_tox"] + u["no_eff_tox"]) - (u["eff_tox"] + u["no_eff_no_tox"])) < 1e-9


def _utility_tuple(utility: Mapping[str, float] | None) -> tuple[float, float, float, float]:
    u = dict(DEFAULT_UTILITY if utility is None else utility)
    missing = set(DEFAULT_UTILITY) - set(u)
    _check(not missing and len(u) == 4, f"utility needs exactly the keys {sorted(DEFAULT_UTILITY)}",
           "utility", "e.g. {'eff_no_tox': 100, 'eff_tox': 60, 'no_eff_no_tox': 40, 'no_eff_tox': 0}")
    vals = (float(u["eff_no_tox"]), float(u["eff_tox"]), float(u["no_eff_no_tox"]), float(u["no_eff_tox"]))
    _check(vals[0] == 100 and vals[3] == 0 and all(0 <= v <= 100 for v in vals),
           "utilities are on a 0-100 scale with efficacy-without-toxicity = 100 and "
           "toxicity-without-efficacy = 0", "utility")
    return vals


def true_utility(p_tox: Sequence[float], p_eff: Sequence[float],
                 utility: Mapping[str, float] | None = None) -> np.ndarray:
    """Mean utility per dose when toxicity and efficacy are independent."""
    u01, u11, u00, u10 = _utility_tuple(utility)
    t, e = np.asarray(p_tox, float), np.asarray(p_eff, float)
    return u01 * e * (1 - t) + u11 * e * t + u00 * (1 - e) * (1 - t) + u10 * (1 - e) * t


def error_minimising_boundaries(target: float, p_saf: float, p_tox: float, n_max: int
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Escalate-if-<= and de-escalate-if->= DLT counts for n = 0..n_max minimising the sum of the three
    BOIN decision-error probabilities (the authors' ``get.boundary``; first minimum in (m1, m2) order)."""
    from scipy import stats

    esc = np.full(n_max + 1, -1, np.int64)
    de = np.full(n_max + 1, 10**9, np.int64)
    for n in range(1, n_max + 1):
        m = np.arange(n + 1)
        a = stats.binom.cdf(m, n, target) + 1 - stats.binom.cdf(m, n, p_saf)   # term of m1
        b = 1 - stats.binom.cdf(m - 1, n, target) + stats.binom.cdf(m - 1, n, p_tox)  # term of m2
        err = a[:-1, None] + b[None, 1:]                 # m1 in 0..n-1, m2 in 1..n
        err = np.where(np.arange(n)[:, None] < np.arange(1, n + 1)[None, :], err, np.inf)
        i, j = np.unravel_index(np.argmin(err), err.shape)
        esc[n], de[n] = i, j + 1
    return esc, de


def desirability(n: np.ndarray, x: np.ndarray, benchmark: float) -> np.ndarray:
    """Pr(utility > benchmark | data) with a Beta(1 + x, 1 + n - x) posterior (x = utility pseudo-count)."""
    from scipy import special  # here: importing scipy.special takes ~0.3 s (issue 16)

    n = np.asarray(n, float)
    x = np.asarray(x, float)
    if n.size < 64:
        return special.betaincc(1.0 + x, 1.0 + n - x, benchmark / 100.0)
    # few distinct (n, x) pairs in a simulation: evaluate the incomplete beta once per pair
    key = np.stack([n.ravel(), np.round(x.ravel(), 9)], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    vals = special.betaincc(1.0 + uniq[:, 1], 1.0 + uniq[:, 0] - uniq[:, 1], benchmark / 100.0)
    return vals[inv.ravel()].reshape(n.shape)


def umbrella_fit(y: np.ndarray, w: np.ndarray, mode: int) -> np.ndarray:
    """Weighted least-squares unimodal (umbrella) fit with the peak at column ``mode``, for every row.

    Isotonic regression on the tree order "toward the mode": the increasing fit of the columns left
    of the mode and the decreasing fit of those right of it, then the neighbouring blocks that exceed
    the mode's block are pooled into it, the larger first (pool-adjacent-violators on a rooted tree).
    """
    y = np.asarray(y, float)
    w = np.asarray(w, float)
    rows, D = y.shape
    cols = np.arange(D)[None, :]
    left = isotonic_batch(y, w, np.broadcast_to(cols < mode, y.shape))
    right = isotonic_batch(y[:, ::-1], w[:, ::-1], np.broadcast_to(cols < D - 1 - mode, y.shape))[:, ::-1]
    fit_side = np.where(cols < mode, left, np.where(cols > mode, right, np.nan))
    wy = w * y
    a = np.full(rows, mode)          # root block = columns a..b
    b = np.full(rows, mode)
    S = wy[:, mode].copy()
    W = w[:, mode].copy()
    r = np.arange(rows)
    for _ in range(D):
        val = S / W
        lv = np.where(a > 0, fit_side[r, np.maximum(a - 1, 0)], -np.inf)
        rv = np.where(b < D - 1, fit_side[r, np.minimum(b + 1, D - 1)], -np.inf)
        take_l = (lv > val + 1e-12) & (lv >= rv)
        take_r = (rv > val + 1e-12) & ~take_l
        if not (take_l.any() or take_r.any()):
            break
        blk_l = take_l[:, None] & (cols < a[:, None]) & (np.abs(fit_side - lv[:, None]) <= 1e-12)
        blk_r = take_r[:, None] & (cols > b[:, None]) & (np.abs(fit_side - rv[:, None]) <= 1e-12)
        blk = blk_l | blk_r
        S += (wy * blk).sum(axis=1)
        W += (w * blk).sum(axis=1)
        a = np.where(take_l, np.argmax(blk_l, axis=1), a)
        b = np.where(take_r, D - 1 - np.argmax(blk_r[:, ::-1], axis=1), b)
    in_root = (cols >= a[:, None]) & (cols <= b[:, None])
    return np.where(in_root, (S / W)[:, None], fit_side)


def efficacy_estimates(y_eff: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The authors' ``peestimate``: unimodal isotonic fits of (y + 0.05) / (n + 0.1) (weights n + 0.5)
    for every mode, averaged with binomial-likelihood weights, plus 0.01 x dose index (1-based)."""
    yE = np.asarray(y_eff, float)
    nn = np.asarray(n, float)
    D = yE.shape[1]
    pe = (yE + 0.05) / (nn + 0.1)
    fits = np.stack([umbrella_fit(pe, nn + 0.5, i) for i in range(D)], axis=1)  # (rows, mode, dose)
    f = np.clip(fits, 1e-300, 1 - 1e-16)
    # binomial log-likelihood without the binomial coefficient (the same for every mode)
    loglik = (yE[:, None, :] * np.log(f) + (nn - yE)[:, None, :] * np.log1p(-f)).sum(axis=2)
    loglik -= loglik.max(axis=1, keepdims=True)
    wts = np.exp(loglik)
    wts /= wts.sum(axis=1, keepdims=True)
    return (wts[:, :, None] * fits).sum(axis=1) + 0.01 * np.arange(1, D + 1)


class ObdSelection(Noted):
    """The dose selected as OBD at the end of a trial, with the estimates it rests on (0-based doses)."""

    selected: int | None
    mtd: int | None
    p_tox: list[float]
    p_eff: list[float]
    utility: list[float | None]
    eliminated: list[bool]


class RdsRow(BaseModel):
    n: int
    n_tox: int
    n_eff: int
    admissible: bool
    desirability: float
    rds: float | None


class UtilityDesignParams(DesignParams):
    """Options shared by the utility (OBD) designs, BOIN12 and U-BOIN."""

    eff_lower: float = param(0.25, gt=0, lt=1, help="lowest acceptable response rate",
                             source="Lin et al. 2020 (BOIN12 phi_E); Zhou et al. 2019 (U-BOIN)")
    utility: dict[str, float] | None = param(
        None, help="utilities of the four outcomes by name (eff_no_tox=100, eff_tox=60, no_eff_no_tox=40, "
        "no_eff_tox=0)", source="Lin et al. 2020, Table 1")
    cutoff_tox: float = param(0.95, ge=0.5, lt=1, help="toxicity elimination cutoff: Pr(p_T > target | data)",
                              source="Lin et al. 2020 (C_T)")
    cutoff_eff: float = param(0.90, ge=0.5, lt=1, help="futility cutoff: Pr(p_E < eff_lower | data)",
                              source="Lin et al. 2020 (C_E)")
    p_saf: float | None = BoinCoreParams.model_fields["p_saf"]
    p_tox: float | None = BoinCoreParams.model_fields["p_tox"]
    association: float = param(0.0, help="Gumbel association of toxicity and efficacy in simulations "
                               "(0: independent; > 0: responses more likely with a DLT)",
                               source="Murtaugh & Fisher 1990 (Gumbel model); U-BOIN application")


class Boin12Params(UtilityDesignParams):
    """BOIN12's options (Lin et al. 2020; the authors' code / trialdesign.org)."""

    n_star: int = param(6, ge=1, help="patients at a dose from which escalation needs the BOIN escalation "
                        "boundary", source="Lin et al. 2020 (N*)")
    n_explore: int = param(9, ge=1, help="patients at a dose before the exploration rule applies",
                           source="Lin et al. 2020, supplement")
    n_earlystop: int = param(10**6, ge=1, help="stop when this many patients are on the current dose (off)",
                             source="BOIN12 n.earlystop (trialdesign.org)")
    strict_selection: bool = param(True, help="no OBD when every dose up to the MTD is eliminated "
                                   "(off: the authors' code)", source="dossier; Lin et al. 2020 code")
    explore: bool = param(True, help="exploration rule: escalate to an untried dose after n_explore patients",
                          source="Lin et al. 2020, supplement (trialdesign.org)")


class Boin12(LazyTables, Design):
    """BOIN12 (Lin et al. 2020), see the module docstring for the rules and their sources."""

    name = "boin12"
    label = "BOIN12"
    Params = Boin12Params
    _lazy_tables = ("esc_t", "de_t", "elim_t", "elim_e")  # built on first use (_build_tables)
    needs_efficacy = True
    selects = "OBD"

    def __init__(self, *, target: float = 0.35, n_doses: int, cohort_size: int = 3, n_cohorts: int = 10,
                 start_dose: int = 0, eff_lower: float = 0.25, utility: Mapping[str, float] | None = None,
                 n_star: int = 6, n_explore: int = 9, cutoff_tox: float = 0.95, cutoff_eff: float = 0.90,
                 p_saf: float | None = None, p_tox: float | None = None, n_earlystop: int = 10**6,
                 strict_selection: bool = True, explore: bool = True, association: float = 0.0):
        super().__init__(target=target, n_doses=n_doses, cohort_size=cohort_size, n_cohorts=n_cohorts,
                         start_dose=start_dose)
        _check(int(n_explore) >= 1, f"n_explore must be >= 1, got {n_explore}", "n_explore")
        _check(0 < eff_lower < 1, f"eff_lower must be in (0, 1), got {eff_lower}", "eff_lower",
               "the lowest acceptable response rate, e.g. 0.25")
        _check(0.5 <= cutoff_tox < 1 and 0.5 <= cutoff_eff < 1, "cutoffs must be in [0.5, 1)", "cutoff_tox/eff")
        self.eff_lower = float(eff_lower)
        self.utility = dict(zip(DEFAULT_UTILITY, _utility_tuple(utility), strict=True))
        self.n_star, self.n_explore = int(n_star), int(n_explore)
        self.cutoff_tox, self.cutoff_eff = float(cutoff_tox), float(cutoff_eff)
        self.p_saf = 0.6 * self.target if p_saf is None else float(p_saf)
        self.p_tox = 1.4 * self.target if p_tox is None else float(p_tox)
        self.n_earlystop = int(n_earlystop)
        self.strict_selection = bool(strict_selection)
        self.explore = bool(explore)
        self.association = float(association)
        u01, u11, u00, u10 = _utility_tuple(self.utility)
        t, e = self.target, self.eff_lower
        u_bar = u01 * e * (1 - t) + u00 * (1 - t) * (1 - e) + u11 * t * e + u10 * t * (1 - e)
        self.benchmark = u_bar + (100 - u_bar) / 2

    def describe(self) -> dict:
        return super().describe() | {
            "eff_lower": self.eff_lower, "utility": self.utility, "n_star": self.n_star,
            "n_explore": self.n_explore, "cutoff_tox": self.cutoff_tox, "cutoff_eff": self.cutoff_eff,
            "p_saf": self.p_saf, "p_tox": self.p_tox, "n_earlystop": self.n_earlystop,
            "strict_selection": self.strict_selection, "benchmark_utility": self.benchmark} | (
                {} if self.explore else {"explore": False}) | (  # listed only when off / used: outputs unchanged
                {"association": self.association} if self.association else {})

    # --- tables -------------------------------------------------------------------------------
    def _build_tables(self, n_max: int) -> None:
        from scipy import stats

        esc, de = error_minimising_boundaries(self.target, self.p_saf, self.p_tox, n_max)
        elim_t = np.full(n_max + 1, 10**9, np.int64)
        elim_e = np.full(n_max + 1, -1, np.int64)
        for n in range(3, n_max + 1):
            y = np.arange(3, n + 1)
            hit = np.flatnonzero(stats.beta.sf(self.target, y + 1, n - y + 1) > self.cutoff_tox)
            if hit.size:
                elim_t[n] = y[hit[0]]
            ye = np.arange(n + 1)
            ok = np.flatnonzero(stats.beta.cdf(self.eff_lower, ye + 1, n - ye + 1) > self.cutoff_eff)
            if ok.size:
                elim_e[n] = ye[ok[-1]]
        self.esc_t, self.de_t = esc, np.minimum(de, elim_t)
        self.elim_t, self.elim_e = elim_t, elim_e

    def pseudo_count(self, n, y_tox, y_eff, y_both) -> np.ndarray:
        """Utility pseudo-count x = sum_k u_k y_k / 100 from the four outcome cells."""
        u01, u11, u00, u10 = _utility_tuple(self.utility)
        y11 = y_both
        y10 = y_tox - y_both
        y01 = y_eff - y_both
        y00 = n - y_tox - y_eff + y_both
        return (u01 * y01 + u11 * y11 + u00 * y00 + u10 * y10) / 100.0

    def rds_table(self, sample_sizes: Sequence[int] = (0, 3, 6, 9)) -> list[RdsRow]:
        """Rank-based desirability scores (Table 3 of Lin et al. 2020; additive utilities, marginal counts):
        admissible = Pr(p_T > target) < cutoff_tox and Pr(p_E < eff_lower) < cutoff_eff; RDS = rank of
        the desirability among admissible combinations (ties: mean rank, as R's ``rank``)."""
        from scipy import stats

        u01, u11, u00, u10 = _utility_tuple(self.utility)
        if not additive_utility(self.utility):
            raise DesignError("the RDS table by marginal counts needs additive utilities "
                              "(u(E,noT) + u(noE,T) = u(E,T) + u(noE,noT))", "utility")
        rows = []
        for n in sample_sizes:
            for t in range(n + 1):
                for e in range(n + 1):
                    safe = stats.beta.sf(self.target, 1 + t, 1 + n - t) < self.cutoff_tox
                    eff = stats.beta.cdf(self.eff_lower, 1 + e, 1 + n - e) < self.cutoff_eff
                    x = (u11 * e + u00 * (n - t)) / 100.0
                    rows.append((n, t, e, bool(safe and eff), float(desirability(np.float64(n), x, self.benchmark))))
        adm = np.array([r[3] for r in rows])
        ranks = np.full(len(rows), np.nan)
        ranks[adm] = stats.rankdata([r[4] for r in rows if r[3]])
        return [RdsRow(n=r[0], n_tox=r[1], n_eff=r[2], admissible=r[3], desirability=r[4],
                       rds=None if np.isnan(k) else float(k)) for r, k in zip(rows, ranks, strict=True)]

    def decision_table(self) -> DecisionTable:
        """The toxicity part of the rules (escalation admissible / de-escalate / eliminate by DLT counts);
        the efficacy part is the desirability ranking, :meth:`rds_table`."""
        rows = []
        for n in range(1, self.max_patients + 1):
            rows.append(DecisionRow(n=n, escalate_max=int(self.esc_t[n]) if self.esc_t[n] >= 0 else None,
                                    deescalate_min=int(self.de_t[n]) if self.de_t[n] <= n else None,
                                    eliminate_min=int(self.elim_t[n]) if self.elim_t[n] <= n else None))
        lam_e, lam_d = boin_lambdas(self.target, self.p_saf, self.p_tox)
        return DecisionTable(design=self.name, target=self.target, cohort_size=self.cohort_size, lambda_e=lam_e,
                             lambda_d=lam_d, table=rows,
                             note_code="design.table.boin12", note_values={"n_star": self.n_star})

    # --- decisions (vectorised) -----------------------------------------------------------------
    def _decide(self, n, yT, yE, y11, elim, posH, d, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One decision for m trials (arrays modified in place: elim, posH).

        Returns (next dose, finish, no_selection)."""
        m, D = n.shape
        r = np.arange(m)
        cols = np.arange(D)[None, :]
        nd, yt, ye = n[r, d], yT[r, d], yE[r, d]
        tox_el = yt >= self.elim_t[nd]
        elim |= tox_el[:, None] & (cols >= d[:, None])
        elim[r, d] |= ye <= self.elim_e[nd]
        no_pre = (tox_el & (d == 0)) | elim.all(axis=1)
        x = self.pseudo_count(nd, yt, ye, y11[r, d])
        posH[r, d] = desirability(nd.astype(float), x, self.benchmark)
        score = np.where(elim, 0.0, posH)
        brk = ~no_pre & (nd >= self.n_earlystop)

        lower_ok = ~elim & (cols < d[:, None])
        has_below = lower_ok.any(axis=1)
        below = np.where(has_below, D - 1 - np.argmax(lower_ok[:, ::-1], axis=1), d)
        upper_ok = ~elim & (cols > d[:, None])
        has_above = upper_ok.any(axis=1)
        above = np.where(has_above, np.argmax(upper_ok, axis=1), d)

        deesc = yt >= self.de_t[nd]
        nxt = d.copy()
        no_dec = np.zeros(m, dtype=bool)
        cur_el = elim[r, d]
        nxt = np.where(deesc & (d > 0) & has_below, below, nxt)
        no_dec |= deesc & ~has_below & cur_el   # (d == 0 or nothing below) and the dose is eliminated
        jitter = rng.random((m, 3)) * 1e-15     # the authors break exact ties at random
        s_cur = score[r, d] + jitter[:, 0]
        s_below = np.where(has_below, score[r, below], -np.inf) + jitter[:, 1]
        up_allowed = has_above & ((nd < self.n_star) | (yt <= self.esc_t[nd]))
        s_above = np.where(up_allowed, score[r, above], -np.inf) + jitter[:, 2]
        choice = np.argmax(np.stack([s_cur, s_below, s_above], axis=1), axis=1)
        pick = np.choose(choice, [d, below, above])
        nxt = np.where(deesc, nxt, pick)
        no_dec |= elim[r, nxt]
        explore = self.explore & has_above & (nd >= self.n_explore) & (n[r, above] == 0) & (yt < self.de_t[nd])
        nxt = np.where(explore & ~no_dec, above, nxt)
        no_sel = no_pre | (no_dec & ~brk)
        finish = no_pre | brk | no_dec
        return nxt, finish, no_sel

    # --- OBD selection ---------------------------------------------------------------------------
    def _estimates(self, n, yT, yE):
        D = self.n_doses
        nf = n.astype(float)
        pT = isotonic_batch((yT + 0.05) / (nf + 0.1), nf + 0.1, np.ones_like(n, dtype=bool))
        pT = pT + 0.001 * np.arange(1, D + 1)
        pE = efficacy_estimates(yE, n)
        u01, u11, u00, u10 = _utility_tuple(self.utility)
        u = u01 * pE * (1 - pT) + u11 * pE * pT + u00 * (1 - pE) * (1 - pT) + u10 * (1 - pE) * pT
        return pT, pE, u

    def select_batch_obd(self, n, yT, yE, elim) -> np.ndarray:
        """OBD for each trial (0-based, -1 for none); one computation per distinct data row."""
        D = self.n_doses
        uniq, inv = unique_rows(np.concatenate([n, yT, yE, elim.astype(np.int64)], axis=1))
        un, uT, uE, uel = uniq[:, :D], uniq[:, D:2 * D], uniq[:, 2 * D:3 * D], uniq[:, 3 * D:].astype(bool)
        pT, _, u = self._estimates(un, uT, uE)
        u = np.where(uel | (un == 0), -100.0, u)
        mtd = np.argmin(np.abs(pT - self.target), axis=1)
        u = np.where(np.arange(D)[None, :] <= mtd[:, None], u, -np.inf)
        sel = np.argmax(u, axis=1)
        if self.strict_selection:
            sel = np.where(u.max(axis=1) > -100.0, sel, NONE)
        return sel[inv]

    def select_obd(self, n_patients: Sequence[int], n_tox: Sequence[int], n_eff: Sequence[int],
                   eliminated: Sequence[bool] | None = None) -> ObdSelection:
        """Select the OBD from one trial's data (``eliminated``: doses eliminated during the trial)."""
        n, yT = self._check_data(n_patients, n_tox)
        _, yE = self._check_data(n_patients, n_eff)
        el = np.zeros(self.n_doses, bool) if eliminated is None else np.asarray(eliminated, bool)
        pT, pE, u = self._estimates(n[None], yT[None], yE[None])
        sel = int(self.select_batch_obd(n[None], yT[None], yE[None], el[None])[0])
        mtd = int(np.argmin(np.abs(pT[0] - self.target)))
        note = ("design.select.boin12_selected", {"dose": sel + 1, "mtd": mtd + 1}) if sel >= 0 else \
            ("design.select.boin12_none", {})
        return ObdSelection(selected=sel if sel >= 0 else None, mtd=mtd, p_tox=[float(v) for v in pT[0]],
                            p_eff=[float(v) for v in pE[0]],
                            utility=[None if (el[i] or n[i] == 0) else float(u[0, i]) for i in range(self.n_doses)],
                            eliminated=[bool(v) for v in el], note_code=note[0], note_values=note[1])

    def decide_obd(self, n_patients: Sequence[int], n_tox: Sequence[int], n_eff: Sequence[int], current: int,
                   eliminated: Sequence[bool] | None = None, n_both: Sequence[int] | None = None,
                   rng: np.random.Generator | None = None) -> tuple[int | None, list[bool]]:
        """Next dose (0-based; None: stop with no selection) after a cohort at ``current``, and the eliminated
        doses (the form of :meth:`decide` used before the one design contract)."""
        data = TrialData.model_construct(n=n_patients, dlt=n_tox, resp=n_eff, both=n_both, current=current,
                                         eliminated=eliminated)
        nxt, fin, no, el = self._decide_one(data, rng)
        return (None if fin and no else nxt), el

    def _decide_one(self, data: TrialData, rng: np.random.Generator | None = None):
        n, yT = self._check_data(data.n, data.dlt)
        _, yE = self._check_data(data.n, data.resp)
        y11 = np.zeros_like(yT) if data.both is None else np.asarray(data.both, np.int64)
        if data.both is None:
            _check(additive_utility(self.utility), "non-additive utilities need n_both", "n_both")
        el = np.zeros((1, self.n_doses), bool) if data.eliminated is None \
            else np.asarray(data.eliminated, bool)[None].copy()
        posH = np.full((1, self.n_doses), float(desirability(np.float64(0), 0.0, self.benchmark)))
        for i in np.flatnonzero(n > 0):
            posH[0, i] = desirability(np.float64(n[i]), self.pseudo_count(n[i], yT[i], yE[i], y11[i]), self.benchmark)
        nxt, fin, no = self._decide(n[None], yT[None], yE[None], y11[None], el, posH,
                                    np.array([int(data.current)]), rng or np.random.default_rng(0))
        return int(nxt[0]), bool(fin[0]), bool(no[0]), [bool(v) for v in el[0]]

    def select_mtd(self, n_patients: Sequence[int], n_dlt: Sequence[int]):
        """MTD for the escalation summary (:func:`~dossier.designs.obd.isotonic_mtd`)."""
        return isotonic_mtd(self, n_patients, n_dlt)

    def _decide_trial(self, data: TrialData) -> Decision:
        """The decision on toxicity and efficacy (``data.resp`` needed; ``data.both`` for non-additive
        utilities)."""
        if data.resp is None:
            raise DesignError("BOIN12 decides on toxicity and efficacy: give the responses per dose", "resp",
                              "TrialData(n=..., dlt=..., resp=..., current=...) or --resp on the CLI")
        nxt, fin, no, el = self._decide_one(data)
        return obd_decision(data.current, nxt, el, fin, no)

    # --- simulation -------------------------------------------------------------------------------
    def outcomes(self, scenario: Scenario, n_trials: int, rng: np.random.Generator,
                 uniforms: np.ndarray | None = None, record: list | None = None) -> ObdOutcomes:
        return self.simulate_outcomes(scenario.p_tox, scenario.p_eff, n_trials, rng, uniforms, record)

    def summarize(self, scenario: Scenario, outcomes: ObdOutcomes) -> ObdOperatingCharacteristics:
        return self.summarize_outcomes(scenario.p_tox, scenario.p_eff, outcomes)

    def true_utility(self, p_true, p_resp) -> np.ndarray:
        """Mean utility per dose under the simulation's outcome model (independent outcomes when association
        is 0; the Gumbel cells otherwise, :func:`~dossier.designs.obd.gumbel_cells`)."""
        if self.association == 0:
            return true_utility(p_true, p_resp, self.utility)
        return gumbel_cells(p_true, p_resp, self.association) @ np.array(_utility_tuple(self.utility))

    def true_obd(self, p_true, p_resp) -> int:
        """As the authors: the dose of best true utility at or below the true MTD (closest to the target)."""
        p = np.asarray(p_true, float)
        util = self.true_utility(p, p_resp)
        return int(np.argmax(util[:int(np.argmin(np.abs(p - self.target))) + 1]))

    def summarize_outcomes(self, p_true, p_resp, out: ObdOutcomes) -> ObdOperatingCharacteristics:
        """OCs of simulated outcomes (correct selection: the true OBD, :meth:`true_obd`)."""
        p = check_probabilities(p_true, "p_true", self.n_doses)
        q = check_probabilities(p_resp, "p_resp", self.n_doses)
        return summarize_obd(self, p, q, out, utility=self.true_utility(p, q), select_obd=True,
                             obd=self.true_obd(p, q))

    def simulate_outcomes(self, p_true, p_resp, n_trials: int, rng: np.random.Generator,
                          uniforms: np.ndarray | None = None, record: list | None = None) -> ObdOutcomes:
        """Lock-step simulation over trials, one iteration per cohort; toxicity of the i-th patient
        from ``uniforms[:, i]`` (common random numbers), efficacy independent of toxicity.
        ``record`` (optional list) receives the dose assigned to each continuing trial after each
        cohort and whether that dose was eliminated at the time (for tests / audits)."""
        p = check_probabilities(p_true, "p_true", self.n_doses)
        q = check_probabilities(p_resp, "p_resp", self.n_doses)
        posH = np.full((int(n_trials), self.n_doses), float(desirability(np.float64(0), 0.0, self.benchmark)))
        # independent outcomes (association 0) draw efficacy from the marginal rate itself
        pe_tox, pe_none = (q, q) if self.association == 0 else conditional_efficacy(p, q, self.association)
        r = lockstep_trials(self, p, pe_tox, pe_none, n_trials, rng, uniforms, posH, record)
        sel = np.where(r.no_selection, NONE, self.select_batch_obd(r.n, r.y_tox, r.y_eff, r.eliminated))
        return ObdOutcomes(n=r.n, y=r.y_tox, r=r.y_eff, selected=sel, no_mtd=r.no_selection)
