"""Noncompartmental analysis (NCA) of concentration-time profiles, per subject and profile.

Conventions implemented (extravascular or infusion dosing; an intravascular bolus C0 back-extrapolation
is not implemented):

- **Cmax / Tmax**: the largest measured concentration and its first time (PKNCA ``first.tmax = TRUE``).
- **Clast / Tlast**: the last measurable (> 0 after BLQ handling) concentration and its time.
- **AUClast, AUCall**: trapezoidal areas from the first sample to Tlast (AUClast) or to the last
  sample, BLQ kept as 0 (AUCall). ``"linear"``: linear trapezoids; ``"lin-up/log-down"``: linear when
  the concentration rises or stays, log trapezoid ``dt (C1 - C2) / ln(C1/C2)`` when it falls and both are
  positive (Gabrielsson & Weiner, *Pharmacokinetic and Pharmacodynamic Data Analysis*, 5th ed. 2016,
  ch. 2; PKNCA ``auc.method``; NonCompart ``AUC(down = "Log")``; Phoenix WinNonlin "Linear up Log down").
- **λz** (terminal rate constant): unweighted least squares of ln C on t over the last *k* measurable
  points after Tmax (Tmax excluded unless ``allow_tmax_in_lambda_z``), k >= ``min_lambda_z_points``
  (3). Automatic selection (PKNCA ``pk.calc.half.life``; WinNonlin "best fit"): among fits with λz > 0
  the best adjusted R² is found, and of the fits whose adjusted R² is within ``adj_r2_tolerance`` (1e-4)
  of it, the one with the most points is chosen. A manual selection (listed times or a time window per
  subject/profile) replaces the search. If no fit qualifies, λz and everything derived from it are
  reported as *not estimable* with the reason.
- **t½** = ln 2 / λz; **AUCinf,obs** = AUClast + Clast/λz; **AUCinf,pred** = AUClast + Ĉlast/λz with
  Ĉlast the regression's prediction at Tlast; **%AUCextrap** = 100 (1 - AUClast/AUCinf);
  **CL/F** = dose/AUCinf and **Vz/F** = dose/(λz AUCinf) (single dose, observed and predicted);
  at steady state (a dosing interval τ is given) **AUCτ**, **Cmin** (smallest concentration in [0, τ]),
  **Cavg** = AUCτ/τ, **CLss/F** = dose/AUCτ and **Vz/F** = dose/(λz AUCτ) (Gabrielsson & Weiner ch. 2;
  WinNonlin steady-state parameters).
- **Partial AUCs** over [a, b]: interpolation inside the data (log interpolation on a falling segment under
  lin-up/log-down, linear otherwise) and extrapolation after Tlast as Clast·exp(-λz (t - Tlast))
  (PKNCA ``interp.extrap.conc``); not estimable when b > Tlast and λz is not estimable, or a < first sample.
- **BLQ** (PKNCA ``conc.blq``): a concentration is BLQ when flagged, when it is 0, or when it is below
  its LLOQ. Each BLQ value is handled by its position -- ``first`` (before the first measurable value),
  ``middle``, ``last`` (after the last measurable value) -- as ``"keep"`` (set to 0), ``"drop"`` or a
  number. Default: first keep (0), middle drop, last drop (missing after the first measurable value).
- **Time 0**: when a profile has no sample at its dose time, C(0) = 0 is added for a single dose and
  C(0) = the smallest concentration in [0, τ] at steady state (WinNonlin's rule), and recorded.

Every exclusion, BLQ substitution, added C(0) and λz choice is recorded in the result. The computation
is vectorized over profiles (padded arrays, reverse cumulative sums for all candidate λz fits at once).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import Field

from dossier.analyses.dose_proportionality import DoseProportionalityResult, analyse_dose_proportionality
from dossier.analyses.stats import Result
from dossier.errors import DossierError
from dossier.nca_settings import (  # noqa: F401  (the NCA options, re-exported)
    AUCMethod,
    BLQAction,
    BLQRule,
    LambdaZOverride,
    NCASettings,
    PointExclusion,
)

#: PARAMCD -> (description, unit kind); unit kinds are resolved by :func:`_unit`.
PARAMETERS: dict[str, tuple[str, str]] = {
    "CMAX": ("Maximum concentration", "conc"),
    "TMAX": ("Time of maximum concentration", "time"),
    "CLST": ("Last measurable concentration", "conc"),
    "TLST": ("Time of last measurable concentration", "time"),
    "AUCLST": ("AUC to the last measurable concentration", "auc"),
    "AUCALL": ("AUC to the last sample (BLQ as 0)", "auc"),
    "LAMZ": ("Terminal rate constant λz", "rate"),
    "LAMZHL": ("Terminal half-life", "time"),
    "LAMZNPT": ("Number of points used for λz", "count"),
    "LAMZLL": ("Start of the λz time window", "time"),
    "LAMZUL": ("End of the λz time window", "time"),
    "R2": ("R² of the λz regression", "count"),
    "R2ADJ": ("Adjusted R² of the λz regression", "count"),
    "CLSTP": ("Clast predicted by the λz regression", "conc"),
    "AUCIFO": ("AUC to infinity (observed Clast)", "auc"),
    "AUCIFP": ("AUC to infinity (predicted Clast)", "auc"),
    "AUCPEO": ("AUC extrapolated, % (observed)", "percent"),
    "AUCPEP": ("AUC extrapolated, % (predicted)", "percent"),
    "CLFO": ("Apparent clearance CL/F (observed)", "clearance"),
    "CLFP": ("Apparent clearance CL/F (predicted)", "clearance"),
    "VZFO": ("Apparent volume Vz/F (observed)", "volume"),
    "VZFP": ("Apparent volume Vz/F (predicted)", "volume"),
    "AUCTAU": ("AUC over the dosing interval", "auc"),
    "CMIN": ("Minimum concentration in the dosing interval", "conc"),
    "CAVG": ("Average concentration over the dosing interval", "conc"),
    "CLFSS": ("Apparent clearance at steady state CLss/F", "clearance"),
    "VZFSS": ("Apparent volume at steady state Vz/F", "volume"),
    "AUCINT": ("Partial AUC", "auc"),
}


class NCAResult(Result):
    """NCA results: a tidy ADPP-like parameter table plus the record of every choice made.

    ``parameters`` columns: usubjid, profile, paramcd, value, unit, start, end, status ("estimated" or
    "not estimable"), reason (why not estimable), dose, tau. ``lambda_z``: one row per profile (method,
    points, window, adjusted R², estimable, reason). ``records``: exclusions, BLQ substitutions and added
    time-0 values (usubjid, profile, time, conc, action).
    """

    model_config = {"arbitrary_types_allowed": True}

    parameters: pd.DataFrame = Field(exclude=True)
    lambda_z: pd.DataFrame = Field(exclude=True)
    records: pd.DataFrame = Field(exclude=True)
    settings: NCASettings

    def value(self, usubjid: str, paramcd: str, profile: str | None = None) -> float | None:
        p = self.parameters
        m = (p["usubjid"] == usubjid) & (p["paramcd"] == paramcd)
        if profile is not None:
            m &= p["profile"] == profile
        v = p.loc[m, "value"]
        return None if v.empty or pd.isna(v.iloc[0]) else float(v.iloc[0])

    def wide(self) -> pd.DataFrame:
        """One row per subject and profile, one column per PARAMCD (AUCINT excluded)."""
        p = self.parameters[self.parameters["paramcd"] != "AUCINT"]
        return p.pivot_table(index=["usubjid", "profile"], columns="paramcd", values="value", aggfunc="first",
                             dropna=False, sort=False)

    def to_records(self) -> dict:
        """JSON-ready view (used by the evidence bundle)."""
        def rows(df: pd.DataFrame) -> list[dict]:
            return [{k: (None if (isinstance(v, float) and not math.isfinite(v)) else v) for k, v in r.items()}
                    for r in df.to_dict("records")]
        return {"parameters": rows(self.parameters), "lambda_z": rows(self.lambda_z),
                "records": rows(self.records), "settings": self.settings.model_dump(mode="json")}


_MASS_G = {"pg": 1e-12, "ng": 1e-9, "ug": 1e-6, "µg": 1e-6, "mcg": 1e-6, "mg": 1e-3, "g": 1.0}
_VOLUME_L = {"ml": 1e-3, "dl": 0.1, "l": 1.0}


def volume_factor(conc_unit: str, dose_unit: str) -> float | None:
    """Factor turning dose/(concentration) into litres (e.g. mg/(ng/mL) -> 1000 L); None if not mass/volume."""
    parts = conc_unit.replace(" ", "").split("/")
    if len(parts) != 2 or dose_unit not in _MASS_G:
        return None
    mass, vol = parts[0], parts[1].lower()
    if mass not in _MASS_G or vol not in _VOLUME_L:
        return None
    return _MASS_G[dose_unit] / (_MASS_G[mass] / _VOLUME_L[vol])


def _unit(kind: str, s: NCASettings) -> str:
    """Unit of a parameter kind from the concentration, time and dose units ("" where a unit is not given).
    CL/F and Vz/F are in L/time and L when the units are mass and mass/volume (see :func:`volume_factor`)."""
    c, t, d = s.conc_unit, s.time_unit, s.dose_unit
    if kind in ("time", "rate", "count", "percent"):
        return {"time": t, "rate": f"1/{t}", "count": "", "percent": "%"}[kind]
    if not c:
        return ""
    if kind == "conc":
        return c
    if kind == "auc":
        return f"{c}*{t}"
    litres = volume_factor(c, d) is not None
    if kind == "clearance":
        return f"L/{t}" if litres else f"{d}/({c}*{t})"
    return "L" if litres else f"{d}/({c})"


# ----------------------------------------------------------------------------------------------------
# Preparation: exclusions, BLQ, time 0 (vectorized with pandas)
# ----------------------------------------------------------------------------------------------------

def _blq_value(action: BLQAction, conc: pd.Series) -> pd.Series:
    if action == "keep":
        return pd.Series(0.0, index=conc.index)
    if action == "drop":
        return pd.Series(np.nan, index=conc.index)
    return pd.Series(float(action), index=conc.index)


def _prepare(df: pd.DataFrame, s: NCASettings) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    need = {"usubjid", "time", "conc"}
    missing = need - set(df.columns)
    if missing:
        raise DossierError(f"concentration table lacks column(s) {sorted(missing)}", where="NCA input",
                           hint="the PK concentration table needs usubjid, time and conc")
    d = df.copy()
    d["usubjid"] = d["usubjid"].astype(str)
    d["profile"] = d["profile"].astype(str) if "profile" in d else "1"
    for col, default in (("dose", np.nan), ("tau", np.nan), ("lloq", np.nan)):
        d[col] = d[col].astype(float) if col in d else default
    if s.lloq is not None:
        d["lloq"] = d["lloq"].fillna(s.lloq)
    d["blq"] = d["blq"].fillna(False).astype(bool) if "blq" in d else False
    d["time"] = d["time"].astype(float)
    d["conc"] = d["conc"].astype(float)
    d = d.sort_values(["usubjid", "profile", "time"], kind="mergesort").reset_index(drop=True)
    records: list[pd.DataFrame] = []

    def record(mask: pd.Series, action) -> None:
        if mask.any():
            r = d.loc[mask, ["usubjid", "profile", "time", "conc"]].copy()
            r["action"] = action if isinstance(action, str) else action[mask].to_numpy()
            records.append(r)

    if s.exclusions:
        ex = pd.DataFrame([e.model_dump() for e in s.exclusions])
        key = d[["usubjid", "profile", "time"]].reset_index()
        m = key.merge(ex, on=["usubjid", "time"], how="inner")
        m = m[m["profile_y"].isna() | (m["profile_y"] == m["profile_x"])]
        drop = pd.Series(False, index=d.index)
        drop[m["index"].to_numpy()] = True
        reason = pd.Series("", index=d.index)
        reason[m["index"].to_numpy()] = ("excluded: " + m["reason"]).to_numpy()
        record(drop, reason)
        d = d[~drop].reset_index(drop=True)
    # predose samples (time < 0): the last one becomes C(0) when the profile has no sample at time 0,
    # the others are excluded (the AUC interval starts at the dose)
    neg = d["time"] < 0
    if neg.any():
        keys = [d["usubjid"], d["profile"]]
        has_zero = (d["time"] == 0).groupby(keys).transform("any")
        last_neg = neg & ~has_zero & (d.loc[neg, "time"].groupby([d.loc[neg, "usubjid"], d.loc[neg, "profile"]])
                                      .transform("max").reindex(d.index) == d["time"])
        record(last_neg, "predose sample taken as time 0")
        d.loc[last_neg, "time"] = 0.0
        drop = neg & ~last_neg
        record(drop, "excluded: predose sample (time < 0)")
        d = d[~drop].reset_index(drop=True)
    dup = d.duplicated(["usubjid", "profile", "time"], keep=False)
    if dup.any():
        r = d[dup].iloc[0]
        raise DossierError(f"two samples at the same time {r['time']:g} in profile {r['profile']} of subject "
                           f"{r['usubjid']}", where="NCA input", hint="keep one sample per time in each profile")
    blq = d["blq"] | (d["conc"] <= 0) | (d["conc"] < d["lloq"])
    missing_conc = d["conc"].isna() & ~d["blq"]
    record(missing_conc, "excluded: concentration missing")
    d = d[~missing_conc].reset_index(drop=True)
    blq = blq[~missing_conc].reset_index(drop=True)
    g = d.groupby(["usubjid", "profile"], sort=False)
    meas = ~blq
    pos = g.cumcount()
    first_meas = pos.where(meas).groupby([d["usubjid"], d["profile"]], sort=False).transform("min")
    last_meas = pos.where(meas).groupby([d["usubjid"], d["profile"]], sort=False).transform("max")
    where = np.where(first_meas.isna() | (pos < first_meas), "first", np.where(pos > last_meas, "last", "middle"))
    new = d["conc"].copy()
    for position in ("first", "middle", "last"):
        m = blq & (where == position)
        if m.any():
            action = getattr(s.blq, position)
            new[m] = _blq_value(action, d.loc[m, "conc"])
            label = f"BLQ ({position}): " + ("set to 0" if action == "keep" else "dropped" if action == "drop"
                                             else f"set to {float(action):g}")
            record(m, label)
    d["conc"] = new
    d = d[d["conc"].notna()].reset_index(drop=True)
    # time 0: C(0)=0 (single dose) or min over [0, tau] (steady state) when the profile has no dose-time sample
    g = d.groupby(["usubjid", "profile"], sort=False)
    first = g.head(1)
    add = first[first["time"] > 0].copy()
    if not add.empty:
        ss = add["tau"].notna()
        if ss.any():
            within = d[d["tau"].notna() & (d["time"] <= d["tau"])]
            cmin = within.groupby(["usubjid", "profile"], sort=False)["conc"].min()
            idx = pd.MultiIndex.from_frame(add.loc[ss, ["usubjid", "profile"]])
            add.loc[ss, "conc"] = cmin.reindex(idx).to_numpy()
        add.loc[~ss, "conc"] = 0.0
        add["time"] = 0.0
        add = add[add["conc"].notna()]
        r = add[["usubjid", "profile", "time", "conc"]].copy()
        r["action"] = np.where(add["tau"].notna(), "C(0) added: minimum in [0, tau] (steady state)",
                               "C(0) added: 0 before a single dose")
        records.append(r)
        d = pd.concat([add, d], ignore_index=True).sort_values(["usubjid", "profile", "time"], kind="mergesort")
        d = d.reset_index(drop=True)
    return d, records


# ----------------------------------------------------------------------------------------------------
# Vectorized core
# ----------------------------------------------------------------------------------------------------

def _pad(d: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    keys = d[["usubjid", "profile"]]
    code, uniq = pd.factorize(pd.MultiIndex.from_frame(keys))
    prof = pd.DataFrame(list(uniq), columns=["usubjid", "profile"])
    pos = d.groupby(code, sort=False).cumcount().to_numpy()
    n_max = int(pos.max()) + 1 if len(pos) else 1
    T = np.full((len(prof), n_max), np.nan)
    C = np.full((len(prof), n_max), np.nan)
    T[code, pos] = d["time"].to_numpy()
    C[code, pos] = d["conc"].to_numpy()
    first = d.groupby(code, sort=False)[["dose", "tau"]].first()
    prof["dose"] = first["dose"].to_numpy()
    prof["tau"] = first["tau"].to_numpy()
    return prof, T, C, code


def _auc_segments(T: np.ndarray, C: np.ndarray, method: AUCMethod) -> np.ndarray:
    dt = np.diff(T, axis=1)
    c1, c2 = C[:, :-1], C[:, 1:]
    seg = dt * (c1 + c2) / 2.0
    if method == "lin-up/log-down":
        down = (c2 < c1) & (c2 > 0) & (c1 > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logseg = dt * (c1 - c2) / np.log(c1 / c2)
        seg = np.where(down, logseg, seg)
    return seg


def _lambda_z(T: np.ndarray, C: np.ndarray, elig: np.ndarray, tlast: np.ndarray, auto: np.ndarray,
              s: NCASettings) -> dict[str, np.ndarray]:
    """All candidate terminal fits at once; ``elig`` marks the points each profile may use.

    For ``auto`` profiles each eligible point k starts one candidate (the eligible points from k on);
    otherwise the single fit over all eligible points is used.
    """
    P, N = T.shape
    x = np.where(elig, T - tlast[:, None], 0.0)  # centred at Tlast for numerical stability
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(elig, np.log(np.where(elig, C, 1.0)), 0.0)
    w = elig.astype(float)

    def rcum(a):
        return np.cumsum(a[:, ::-1], axis=1)[:, ::-1]

    n, sx, sy = rcum(w), rcum(x), rcum(y)
    sxx, sxy, syy = rcum(x * x), rcum(x * y), rcum(y * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        vxx = n * sxx - sx * sx
        vxy = n * sxy - sx * sy
        vyy = n * syy - sy * sy
        slope = vxy / vxx
        r2 = np.where(vyy > 0, vxy * vxy / (vxx * vyy), np.nan)
        adj = 1.0 - (1.0 - r2) * (n - 1.0) / (n - 2.0)
        intercept = (sy - slope * sx) / n
    ok = elig & (n >= s.min_lambda_z_points) & (slope < 0) & np.isfinite(adj)
    # manual profiles: only the fit over all eligible points (the first eligible index)
    first_elig = np.where(elig.any(axis=1), elig.argmax(axis=1), 0)
    only_first = np.zeros_like(ok)
    only_first[np.arange(P), first_elig] = True
    ok &= np.where(auto[:, None], True, only_first)
    adj_m = np.where(ok, adj, -np.inf)
    best = adj_m.max(axis=1)
    within = ok & (adj_m > best[:, None] - s.adj_r2_tolerance)
    k = np.where(within.any(axis=1), within.argmax(axis=1), -1)  # earliest start = most points
    rows = np.arange(P)
    kk = np.maximum(k, 0)
    est = k >= 0
    out = {
        "estimable": est,
        "lamz": np.where(est, -slope[rows, kk], np.nan),
        "r2": np.where(est, r2[rows, kk], np.nan),
        "adj": np.where(est, adj[rows, kk], np.nan),
        "npt": np.where(est, n[rows, kk], 0).astype(int),
        "lower": np.where(est, T[rows, kk], np.nan),
        "upper": np.where(est, T[rows, N - 1 - elig[:, ::-1].argmax(axis=1)], np.nan),
        "clstp": np.where(est, np.exp(intercept[rows, kk]), np.nan),
        "n_eligible": elig.sum(axis=1),
    }
    return out


def _interp(t: np.ndarray, c: np.ndarray, x: float, method: AUCMethod, tlast: float, clast: float,
            lamz: float) -> float:
    if x > tlast:
        return clast * math.exp(-lamz * (x - tlast)) if math.isfinite(lamz) else math.nan
    i = int(np.searchsorted(t, x, side="right")) - 1
    if t[i] == x:
        return float(c[i])
    c1, c2, t1, t2 = c[i], c[i + 1], t[i], t[i + 1]
    if method == "lin-up/log-down" and c2 < c1 and c2 > 0:
        return float(math.exp(math.log(c1) + (x - t1) / (t2 - t1) * (math.log(c2) - math.log(c1))))
    return float(c1 + (x - t1) / (t2 - t1) * (c2 - c1))


def auc_interval(t: np.ndarray, c: np.ndarray, a: float, b: float, method: AUCMethod, tlast: float,
                 clast: float, lamz: float) -> tuple[float, str]:
    """AUC over [a, b] for one profile (sorted ``t``), with the reason when not estimable.

    Inside the sampled range: trapezoids of ``method`` over the samples and the interpolated end points;
    after Tlast: the integral of Clast·exp(-λz (t - Tlast)).
    """
    if not (b > a):
        return math.nan, f"interval end {b:g} not after its start {a:g}"
    if a < t[0]:
        return math.nan, f"interval starts before the first sample ({t[0]:g})"
    if b > tlast and not math.isfinite(lamz):
        return math.nan, "interval extends beyond Tlast and λz is not estimable"
    total = 0.0
    hi_obs = min(b, tlast)
    if hi_obs > a:
        keep = (t > a) & (t < hi_obs) & (t <= tlast)
        tt = np.concatenate([[a], t[keep], [hi_obs]])
        cc = np.concatenate([[_interp(t, c, a, method, tlast, clast, lamz)], c[keep],
                             [_interp(t, c, hi_obs, method, tlast, clast, lamz)]])
        total += float(_auc_segments(tt[None, :], cc[None, :], method).sum())
    if b > tlast:
        lo = max(a, tlast)
        total += clast / lamz * (math.exp(-lamz * (lo - tlast)) - math.exp(-lamz * (b - tlast)))
    return total, ""


def analyse_nca(conc: pd.DataFrame, settings: NCASettings | None = None) -> NCAResult:
    """NCA of every (usubjid, profile) in ``conc``.

    ``conc`` columns: usubjid, time (since the profile's dose), conc; optional profile, dose (amount given
    for the profile), tau (dosing interval: the profile is at steady state), lloq, blq (flag).
    """
    s = settings or NCASettings()
    d, records = _prepare(conc, s)
    if d.empty:
        raise DossierError("no concentration left after BLQ handling and exclusions", where="NCA input",
                           hint="check the concentration data and the BLQ settings")
    prof, T, C, code = _pad(d)
    P, N = T.shape
    valid = ~np.isnan(C)
    idx = np.broadcast_to(np.arange(N), (P, N))
    pos = np.where(valid & (C > 0), 1, 0)
    has_pos = pos.any(axis=1)
    ilast = np.where(has_pos, N - 1 - pos[:, ::-1].argmax(axis=1), 0)
    rows = np.arange(P)
    cm = np.where(valid, C, -np.inf)
    imax = cm.argmax(axis=1)
    cmax, tmax = C[rows, imax], T[rows, imax]
    tlast, clast = T[rows, ilast], C[rows, ilast]
    seg = np.nan_to_num(_auc_segments(T, C, s.auc_method), nan=0.0)
    auclast = np.where(idx[:, 1:] <= ilast[:, None], seg, 0.0).sum(axis=1)
    aucall = seg.sum(axis=1)

    # λz eligibility: after Tmax (or from it), up to Tlast, measurable
    start = imax if s.allow_tmax_in_lambda_z else imax + 1
    elig = valid & (C > 0) & (idx >= start[:, None]) & (idx <= ilast[:, None])
    auto = np.ones(P, dtype=bool)
    manual_desc = [""] * P
    if s.lambda_z_overrides:
        lookup = {(u, p): i for i, (u, p) in enumerate(zip(prof["usubjid"], prof["profile"], strict=True))}
        for o in s.lambda_z_overrides:
            targets = [i for (u, p), i in lookup.items() if u == o.usubjid and (o.profile is None or p == o.profile)]
            for i in targets:
                t = T[i]
                if o.times is not None:
                    sel = np.isin(np.round(t, 9), np.round(np.asarray(o.times, float), 9))
                    manual_desc[i] = "manual: times " + ", ".join(f"{v:g}" for v in o.times)
                else:
                    lo = -np.inf if o.start is None else o.start
                    hi = np.inf if o.end is None else o.end
                    sel = (t >= lo) & (t <= hi)
                    manual_desc[i] = f"manual: window [{lo:g}, {hi:g}]"
                elig[i] = valid[i] & (C[i] > 0) & sel
                auto[i] = False
    lz = _lambda_z(T, C, elig, tlast, auto, s)
    est = lz["estimable"] & has_pos
    lamz = np.where(est, lz["lamz"], np.nan)
    reason = np.full(P, "", dtype=object)
    for i in np.flatnonzero(~est):
        if not has_pos[i]:
            reason[i] = "no measurable concentration"
        elif lz["n_eligible"][i] < s.min_lambda_z_points:
            where_ = "in the manual selection" if not auto[i] else "after Cmax" if not s.allow_tmax_in_lambda_z \
                else "from Cmax on"
            reason[i] = (f"fewer than {s.min_lambda_z_points} measurable concentrations {where_} "
                         f"({int(lz['n_eligible'][i])})")
        else:
            reason[i] = "no terminal fit with a negative slope (λz would not be positive)"

    with np.errstate(divide="ignore", invalid="ignore"):
        aucifo = auclast + clast / lamz
        aucifp = auclast + lz["clstp"] / lamz
        dose = prof["dose"].to_numpy(float)
        vf = volume_factor(s.conc_unit, s.dose_unit) or 1.0  # CL/F in L/time and Vz/F in L when units allow
        dose_l = dose * vf
        tau = prof["tau"].to_numpy(float)
        ss = np.isfinite(tau)
        cols: dict[str, np.ndarray] = {
            "CMAX": np.where(has_pos, cmax, np.nan), "TMAX": np.where(has_pos, tmax, np.nan), "CLST": np.where(has_pos, clast, np.nan),
            "TLST": np.where(has_pos, tlast, np.nan),
            "AUCLST": np.where(has_pos, auclast, np.nan), "AUCALL": aucall,
            "LAMZ": lamz, "LAMZHL": math.log(2) / lamz, "LAMZNPT": np.where(est, lz["npt"], np.nan),
            "LAMZLL": np.where(est, lz["lower"], np.nan), "LAMZUL": np.where(est, lz["upper"], np.nan),
            "R2": np.where(est, lz["r2"], np.nan), "R2ADJ": np.where(est, lz["adj"], np.nan),
            "CLSTP": np.where(est, lz["clstp"], np.nan),
            "AUCIFO": np.where(~ss, aucifo, np.nan), "AUCIFP": np.where(~ss, aucifp, np.nan),
            "AUCPEO": np.where(~ss, 100 * (1 - auclast / aucifo), np.nan),
            "AUCPEP": np.where(~ss, 100 * (1 - auclast / aucifp), np.nan),
            "CLFO": np.where(~ss, dose_l / aucifo, np.nan), "CLFP": np.where(~ss, dose_l / aucifp, np.nan),
            "VZFO": np.where(~ss, dose_l / (lamz * aucifo), np.nan),
            "VZFP": np.where(~ss, dose_l / (lamz * aucifp), np.nan),
        }
    lz_dependent = {"LAMZ", "LAMZHL", "LAMZNPT", "LAMZLL", "LAMZUL", "R2", "R2ADJ", "CLSTP", "AUCIFO", "AUCIFP",
                    "AUCPEO", "AUCPEP", "CLFO", "CLFP", "VZFO", "VZFP"}
    single_only = {"AUCIFO", "AUCIFP", "AUCPEO", "AUCPEP", "CLFO", "CLFP", "VZFO", "VZFP"}
    no_conc = {"CMAX", "TMAX", "CLST", "TLST", "AUCLST"}
    frames = []
    for code_, vals in cols.items():
        if code_ in single_only:
            keep = ~ss
        else:
            keep = np.ones(P, dtype=bool)
        why = np.full(P, "", dtype=object)
        if code_ in lz_dependent:
            why = np.where(np.isnan(lamz), "λz not estimable: " + reason.astype(str), why)
        if code_ in no_conc:
            why = np.where(~has_pos, "no measurable concentration", why)
        if code_ in ("CLFO", "CLFP", "VZFO", "VZFP"):
            why = np.where((why == "") & ~np.isfinite(dose), "dose not given", why)
        frames.append(_frame(prof, code_, vals, why, keep, s))
    # steady state and partial AUCs (per profile: few, small)
    extra: list[dict] = []
    t_by = [T[i][valid[i]] for i in range(P)]
    c_by = [C[i][valid[i]] for i in range(P)]
    uids, pids = prof["usubjid"].tolist(), prof["profile"].tolist()
    for i in range(P):
        u, p, dz, tu = uids[i], pids[i], dose[i], tau[i]
        lz_i = float(lamz[i])
        base = {"usubjid": u, "profile": p, "dose": dz, "tau": tu}
        if not has_pos[i]:
            continue
        if np.isfinite(tu):
            a, why = auc_interval(t_by[i], c_by[i], 0.0, float(tu), s.auc_method, float(tlast[i]),
                                  float(clast[i]), lz_i)
            inside = t_by[i] <= tu
            cmin = float(c_by[i][inside].min()) if inside.any() else math.nan
            cl = dz * vf / a if np.isfinite(dz) else math.nan
            vz = dz * vf / (lz_i * a) if np.isfinite(dz) else math.nan
            why_v = why or ("λz not estimable: " + reason[i] if np.isnan(lz_i) else "")
            for pc, v, w in (("AUCTAU", a, why), ("CMIN", cmin, ""), ("CAVG", a / tu, why), ("CLFSS", cl, why),
                             ("VZFSS", vz, why_v)):
                extra.append({**base, "paramcd": pc, "value": v, "start": 0.0, "end": float(tu),
                              "reason": w if not np.isfinite(v) else ""})
        for a0, b0 in s.partial_aucs:
            a, why = auc_interval(t_by[i], c_by[i], float(a0), float(b0), s.auc_method, float(tlast[i]),
                                  float(clast[i]), lz_i)
            extra.append({**base, "paramcd": "AUCINT", "value": a, "start": float(a0), "end": float(b0),
                          "reason": why})
    if extra:
        e = pd.DataFrame(extra)
        e["unit"] = [_unit(PARAMETERS[c][1], s) for c in e["paramcd"]]
        e["reason"] = np.where(e["value"].isna() & (e["reason"] == ""), "not estimable", e["reason"])
        e["status"] = np.where(e["value"].notna(), "estimated", "not estimable")
        frames.append(e)
    params = pd.concat(frames, ignore_index=True)
    params = params[["usubjid", "profile", "paramcd", "value", "unit", "start", "end", "status", "reason", "dose",
                     "tau"]]
    lzt = pd.DataFrame({
        "usubjid": prof["usubjid"], "profile": prof["profile"],
        "method": [m or f"automatic (best adjusted R², tolerance {s.adj_r2_tolerance:g})" for m in manual_desc],
        "n_points": np.where(est, lz["npt"], 0), "start": np.where(est, lz["lower"], np.nan),
        "end": np.where(est, lz["upper"], np.nan), "adj_r2": np.where(est, lz["adj"], np.nan),
        "estimable": est, "reason": reason.astype(str),
    })
    rec = (pd.concat(records, ignore_index=True) if records
           else pd.DataFrame(columns=["usubjid", "profile", "time", "conc", "action"]))
    return NCAResult(parameters=params, lambda_z=lzt, records=rec, settings=s)


def _frame(prof: pd.DataFrame, code: str, vals: np.ndarray, why: np.ndarray, keep: np.ndarray,
           s: NCASettings) -> pd.DataFrame:
    v = np.asarray(vals, float)
    v = np.where(np.isfinite(v), v, np.nan)
    why = np.where(np.isnan(v) & (why == ""), "not estimable", why)
    f = pd.DataFrame({"usubjid": prof["usubjid"], "profile": prof["profile"], "paramcd": code, "value": v,
                      "unit": _unit(PARAMETERS[code][1], s), "start": np.nan, "end": np.nan,
                      "status": np.where(np.isnan(v), "not estimable", "estimated"), "reason": why,
                      "dose": prof["dose"], "tau": prof["tau"]})
    return f[keep]


# ----------------------------------------------------------------------------------------------------
# The PK evidence: NCA table, summaries by dose, dose proportionality, accumulation
# ----------------------------------------------------------------------------------------------------

#: parameters summarised by dose (geometric statistics; TMAX by median and range)
SUMMARY_PARAMETERS = ("CMAX", "TMAX", "AUCLST", "AUCIFO", "AUCPEO", "LAMZHL", "CLFO", "VZFO", "AUCTAU", "CMIN",
                      "CAVG", "CLFSS")
#: NCA parameters offered to exposure-response as exposure metrics (ADPP PARAMCD when ADPP is absent)
EXPOSURE_METRICS = ("CMAX", "AUCLST", "AUCIFO", "AUCTAU", "CAVG", "CMIN")
#: power-model metrics per kind of profile (single dose, steady state)
PROPORTIONALITY_METRICS = {"single dose": ("AUCIFO", "AUCLST", "CMAX"), "steady state": ("AUCTAU", "CMAX")}


class NCAParameterRow(Result):
    usubjid: str
    profile: str
    paramcd: str
    value: float | None
    unit: str
    start: float | None = None
    end: float | None = None
    status: str
    reason: str = ""
    dose: float | None = None
    tau: float | None = None


class LambdaZRow(Result):
    usubjid: str
    profile: str
    method: str
    n_points: int
    start: float | None
    end: float | None
    adj_r2: float | None
    estimable: bool
    reason: str


class NCARecordRow(Result):
    usubjid: str
    profile: str
    time: float
    conc: float | None
    action: str


class NCASummaryRow(Result):
    """One parameter at one dose and kind of profile: n estimable, geometric mean and CV%, median, range."""

    profile_type: str  # "single dose" / "steady state"
    dose: float
    paramcd: str
    unit: str
    n: int
    n_profiles: int
    geo_mean: float | None
    geo_cv_pct: float | None
    median: float | None
    minimum: float | None
    maximum: float | None


class AccumulationRow(Result):
    """Accumulation ratio Rac = AUCτ (steady state) / AUC(0-τ) (first dose), per dose: geometric mean, CV%."""

    dose: float
    tau: float
    n: int
    geo_mean: float | None
    geo_cv_pct: float | None


class ConcentrationPoint(Result):
    usubjid: str
    profile: str
    profile_type: str
    dose: float | None  # the dose given before the sample (the group of the summaries and figures)
    time: float
    conc: float | None
    blq: bool


class PKResult(Result):
    """The PK evidence: NCA per subject and profile (ADPP-like), summaries, proportionality, accumulation."""

    analyte: str
    conc_unit: str
    time_unit: str
    dose_unit: str
    lloq: float | None  # the LLOQ when one value holds for every sample
    n_subjects: int
    n_profiles: int
    doses: list[float]
    dose_source: str  # "record" (dose given per sample), "arm" (subject's dose level) or "mixed"
    parameters: list[NCAParameterRow]
    lambda_z: list[LambdaZRow]
    records: list[NCARecordRow]
    summary: list[NCASummaryRow]
    dose_proportionality: list[DoseProportionalityResult]
    accumulation: list[AccumulationRow]
    observations: list[ConcentrationPoint]
    settings: NCASettings

    def summary_for(self, profile_type: str, dose: float, paramcd: str) -> NCASummaryRow | None:
        return next((r for r in self.summary if r.profile_type == profile_type and r.dose == dose
                     and r.paramcd == paramcd), None)

    def profile_types(self) -> list[str]:
        return [t for t in ("single dose", "steady state") if any(r.profile_type == t for r in self.summary)]

    def adpp(self) -> pd.DataFrame:
        """ADPP-like table (usubjid, paramcd, value, unit) for exposure-response: one profile per subject,
        the steady-state profile when there is one, else the first; exposure metrics only."""
        p = pd.DataFrame([r.model_dump() for r in self.parameters if r.paramcd in EXPOSURE_METRICS
                          and r.value is not None])
        if p.empty:
            return pd.DataFrame(columns=["usubjid", "paramcd", "value", "unit"])
        p["ss"] = p["tau"].notna()
        order = p[["usubjid", "profile", "ss"]].drop_duplicates().sort_values(["usubjid", "ss"], ascending=[True, False],
                                                                               kind="mergesort")
        chosen = order.drop_duplicates("usubjid")[["usubjid", "profile"]]
        return p.merge(chosen, on=["usubjid", "profile"])[["usubjid", "paramcd", "value", "unit"]]


def _none(v) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) or pd.isna(v) else float(v)


def _geo(values: np.ndarray) -> tuple[float | None, float | None]:
    v = values[np.isfinite(values) & (values > 0)]
    if len(v) == 0:
        return None, None
    lg = np.log(v)
    cv = 100 * math.sqrt(math.exp(float(np.var(lg, ddof=1))) - 1) if len(v) > 1 else None
    return float(np.exp(lg.mean())), cv


def analyse_pk(profiles: pd.DataFrame, settings: NCASettings | None = None, dose_unit: str = "mg") -> PKResult:
    """NCA of the typed PK table (:mod:`dossier.ingest.pk`), summaries by dose, dose proportionality
    (:func:`dossier.analyses.dose_proportionality.analyse_dose_proportionality`) and accumulation.

    Summaries are by the dose of each profile (the dose given before its samples, so a crossover subject
    counts at each of its doses); the power model uses the same doses.
    """
    s = (settings or NCASettings()).model_copy()
    units = sorted({u for u in profiles["unit"].astype(str) if u}) if "unit" in profiles else []
    if not s.conc_unit and len(units) == 1:
        s.conc_unit = units[0]
    s.dose_unit = dose_unit
    taus = sorted({float(t) for t in profiles["tau"].dropna()}) if "tau" in profiles else []
    for tau in taus:  # AUC(0-τ) after the first dose, for the accumulation ratio
        if (0.0, tau) not in s.partial_aucs:
            s.partial_aucs = [*s.partial_aucs, (0.0, tau)]
    r = analyse_nca(profiles, s)
    par = r.parameters.copy()
    par["group"] = par["dose"].astype(float)
    par["profile_type"] = np.where(par["tau"].notna(), "steady state", "single dose")
    summary: list[NCASummaryRow] = []
    main = par[par["paramcd"].isin(SUMMARY_PARAMETERS)]
    for (ptype, dose, code), grp in main.groupby(["profile_type", "group", "paramcd"], sort=True):
        v = grp["value"].to_numpy(float)
        ok = v[np.isfinite(v)]
        if ptype == "single dose" and code in ("AUCTAU", "CMIN", "CAVG", "CLFSS"):
            continue
        gm, cv = (None, None) if code == "TMAX" else _geo(ok)
        summary.append(NCASummaryRow(
            profile_type=ptype, dose=float(dose), paramcd=code, unit=str(grp["unit"].iloc[0]), n=len(ok),
            n_profiles=len(grp), geo_mean=gm, geo_cv_pct=cv, median=float(np.median(ok)) if len(ok) else None,
            minimum=float(ok.min()) if len(ok) else None, maximum=float(ok.max()) if len(ok) else None))
    dp: list[DoseProportionalityResult] = []
    for ptype, metrics in PROPORTIONALITY_METRICS.items():
        sub = par[par["profile_type"] == ptype]
        if sub.empty:
            continue
        for code in metrics:
            m = sub[sub["paramcd"] == code]
            res = analyse_dose_proportionality(m["dose"].to_numpy(float), m["value"].to_numpy(float),
                                               m["usubjid"].to_numpy(object), metric=code)
            dp.append(res.model_copy(update={"profiles": ptype}))
    acc: list[AccumulationRow] = []
    if taus:
        ss = par[(par["paramcd"] == "AUCTAU")][["usubjid", "group", "tau", "value"]]
        sd = par[(par["paramcd"] == "AUCINT") & par["tau"].isna() & (par["start"] == 0.0)]
        j = ss.merge(sd[["usubjid", "end", "value"]], left_on=["usubjid", "tau"], right_on=["usubjid", "end"],
                     suffixes=("_ss", "_sd"))
        for (dose, tau), grp in j.groupby(["group", "tau"], sort=True):
            ratio = (grp["value_ss"] / grp["value_sd"]).to_numpy(float)
            ok = ratio[np.isfinite(ratio) & (ratio > 0)]
            gm, cv = _geo(ok)
            acc.append(AccumulationRow(dose=float(dose), tau=float(tau), n=len(ok), geo_mean=gm, geo_cv_pct=cv))
    lloqs = sorted({float(x) for x in profiles["lloq"].dropna()}) if "lloq" in profiles else []
    if not lloqs and s.lloq is not None:
        lloqs = [s.lloq]
    src = sorted(set(profiles["dose_source"].astype(str))) if "dose_source" in profiles else ["record"]
    obs = profiles.assign(usubjid=profiles["usubjid"].astype(str), profile=profiles["profile"].astype(str))
    ptype = np.where(obs["tau"].notna(), "steady state", "single dose") if "tau" in obs else "single dose"
    observations = [ConcentrationPoint(usubjid=u, profile=p, profile_type=pt, dose=_none(d), time=float(t),
                                       conc=_none(c), blq=bool(b))
                    for u, p, pt, d, t, c, b in zip(obs["usubjid"], obs["profile"], np.broadcast_to(ptype, len(obs)),
                                                    obs["dose"], obs["time"], obs["conc"],
                                                    obs["blq"] if "blq" in obs else np.zeros(len(obs), bool),
                                                    strict=True)]
    rows = r.parameters.to_dict("records")
    return PKResult(
        analyte=str(profiles["analyte"].iloc[0]) if "analyte" in profiles and len(profiles) else "",
        conc_unit=s.conc_unit, time_unit=s.time_unit, dose_unit=dose_unit,
        lloq=lloqs[0] if len(lloqs) == 1 else None, n_subjects=int(par["usubjid"].nunique()),
        n_profiles=int(r.lambda_z.shape[0]), doses=sorted({float(x) for x in par["group"].dropna()}),
        dose_source=src[0] if len(src) == 1 else "mixed",
        parameters=[NCAParameterRow(usubjid=str(x["usubjid"]), profile=str(x["profile"]), paramcd=x["paramcd"],
                                    value=_none(x["value"]), unit=x["unit"], start=_none(x["start"]),
                                    end=_none(x["end"]), status=x["status"], reason=str(x["reason"]),
                                    dose=_none(x["dose"]), tau=_none(x["tau"])) for x in rows],
        lambda_z=[LambdaZRow(usubjid=str(x["usubjid"]), profile=str(x["profile"]), method=x["method"],
                             n_points=int(x["n_points"]), start=_none(x["start"]), end=_none(x["end"]),
                             adj_r2=_none(x["adj_r2"]), estimable=bool(x["estimable"]), reason=x["reason"])
                  for x in r.lambda_z.to_dict("records")],
        records=[NCARecordRow(usubjid=str(x["usubjid"]), profile=str(x["profile"]), time=float(x["time"]),
                              conc=_none(x["conc"]), action=str(x["action"])) for x in r.records.to_dict("records")],
        summary=summary, dose_proportionality=dp, accumulation=acc, observations=observations, settings=s)
