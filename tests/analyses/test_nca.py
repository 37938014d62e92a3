"""NCA: Phoenix WinNonlin reference outputs for Theoph, closed forms, BLQ, not-estimable λz, selection rule."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dossier.analyses.nca import (
    BLQRule,
    LambdaZOverride,
    NCASettings,
    PointExclusion,
    analyse_nca,
    auc_interval,
)

ROOT = Path(__file__).resolve().parents[2]
THEO = ROOT / ".." / "shared" / "data" / "nlmixr2data" / "theo_sd.csv"
FIX = Path(__file__).parent / "fixtures"

# WinNonlin column -> our PARAMCD
WNL = {"Cmax": "CMAX", "Tmax": "TMAX", "Clast": "CLST", "Tlast": "TLST", "AUClast": "AUCLST", "AUCall": "AUCALL",
       "Lambda_z": "LAMZ", "HL_Lambda_z": "LAMZHL", "No_points_lambda_z": "LAMZNPT", "Lambda_z_lower": "LAMZLL",
       "Lambda_z_upper": "LAMZUL", "Rsq": "R2", "Rsq_adjusted": "R2ADJ", "AUCINF_obs": "AUCIFO",
       "AUCINF_pred": "AUCIFP", "AUC_%Extrap_obs": "AUCPEO", "AUC_%Extrap_pred": "AUCPEP", "Cl_F_obs": "CLFO",
       "Cl_F_pred": "CLFP", "Vz_F_obs": "VZFO", "Vz_F_pred": "VZFP"}


def theoph(dose: float | None = 320.0) -> pd.DataFrame:
    d = pd.read_csv(THEO)
    o = d[d["EVID"] == 0].rename(columns={"ID": "usubjid", "TIME": "time", "DV": "conc"})
    if dose is not None:
        o = o.assign(dose=dose)
    return o[["usubjid", "time", "conc"] + (["dose"] if dose is not None else [])]


@pytest.mark.parametrize(("fixture", "method"), [("Linear", "linear"), ("Log", "lin-up/log-down")])
def test_theoph_matches_phoenix_winnonlin(fixture, method):
    """Phoenix WinNonlin outputs shipped by NonCompart 0.8.0 (tests/Final_Parameters_Pivoted_Theoph_*.csv,
    checked there by tblNCA(Theoph, "Subject", "Time", "conc", dose=320[, down="Log"])), to 1e-6 relative."""
    ref = pd.read_csv(FIX / f"winnonlin_theoph_{fixture}.csv")
    r = analyse_nca(theoph(), NCASettings(auc_method=method, conc_unit="mg/L"))
    wide = r.wide()
    assert len(wide) == 12
    for _, row in ref.iterrows():
        got = wide.loc[(str(int(row["Subject"])), "1")]
        for col, code in WNL.items():
            assert got[code] == pytest.approx(row[col], rel=1e-6), (row["Subject"], col)
    assert r.lambda_z["estimable"].all()
    assert set(r.parameters.loc[r.parameters["paramcd"] == "CLFO", "unit"]) == {"L/h"}
    assert set(r.parameters.loc[r.parameters["paramcd"] == "AUCLST", "unit"]) == {"mg/L*h"}


def test_monoexponential_closed_forms():
    """C = 10 e^{-0.2 t} after a rise from C(0) = 0: λz = 0.2 exactly, log-down trapezoids are exact, so
    AUClast = C1/2 + ∫_1^tlast C dt and AUCinf = AUClast + Clast/0.2; the most points are used (all R² = 1)."""
    k, a = 0.2, 10.0
    t = np.array([0.0, 1, 2, 4, 6, 8, 12, 24])
    c = np.where(t == 0, 0.0, a * np.exp(-k * t))
    r = analyse_nca(pd.DataFrame({"usubjid": "S", "time": t, "conc": c, "dose": 100.0}))
    exact_last = c[1] / 2 + a / k * (math.exp(-k * 1) - math.exp(-k * 24))
    assert r.value("S", "LAMZ") == pytest.approx(k, rel=1e-12)
    assert r.value("S", "AUCLST") == pytest.approx(exact_last, rel=1e-12)
    assert r.value("S", "AUCIFO") == pytest.approx(exact_last + c[-1] / k, rel=1e-12)
    assert r.value("S", "LAMZNPT") == 6  # all points after Cmax (t = 1 is Cmax and excluded)
    assert r.value("S", "LAMZHL") == pytest.approx(math.log(2) / k)
    assert r.value("S", "CLFO") == pytest.approx(100 / (exact_last + c[-1] / k))
    # linear trapezoids overestimate a convex decline: closed form of the trapezoid sum
    rl = analyse_nca(pd.DataFrame({"usubjid": "S", "time": t, "conc": c}), NCASettings(auc_method="linear"))
    assert rl.value("S", "AUCLST") == pytest.approx(sum((t2 - t1) * (c1 + c2) / 2 for (t1, c1), (t2, c2)
                                                        in pairwise(zip(t, c, strict=True))), rel=1e-12)
    # dose missing: CL/F not estimable, with the reason
    p = rl.parameters.set_index("paramcd")
    assert p.at["CLFO", "status"] == "not estimable" and p.at["CLFO", "reason"] == "dose not given"


def test_partial_auc_and_steady_state_closed_forms():
    """AUC(2-30) and AUCτ (τ = 30 > Tlast = 24) with extrapolation Clast e^{-λz(t-Tlast)}; Cavg = AUCτ/τ."""
    k, a = 0.2, 10.0
    t = np.array([0.0, 1, 2, 4, 8, 12, 24])
    c = a * np.exp(-k * t)
    c[0] = 0.5  # predose (steady state)
    df = pd.DataFrame({"usubjid": "S", "profile": "ss", "time": t, "conc": c, "dose": 50.0, "tau": 30.0})
    r = analyse_nca(df, NCASettings(partial_aucs=[(2.0, 30.0), (1.5, 3.0)]))
    exact = a / k * (math.exp(-k * 1) - math.exp(-k * 30)) + (0.5 + c[1]) / 2
    assert r.value("S", "AUCTAU") == pytest.approx(exact, rel=1e-12)
    assert r.value("S", "CAVG") == pytest.approx(exact / 30, rel=1e-12)
    assert r.value("S", "CMIN") == pytest.approx(c[-1])  # smallest observed in [0, τ]
    assert r.value("S", "CLFSS") == pytest.approx(50 / exact, rel=1e-12)
    assert r.value("S", "VZFSS") == pytest.approx(50 / (k * exact), rel=1e-12)
    assert r.value("S", "AUCIFO") is None  # single-dose parameter, not reported at steady state
    p = r.parameters[r.parameters["paramcd"] == "AUCINT"].set_index("start")
    assert p.at[2.0, "value"] == pytest.approx(a / k * (math.exp(-2 * k) - math.exp(-30 * k)), rel=1e-12)
    # log interpolation at 1.5 and 3 on falling segments is exact for an exponential
    assert p.at[1.5, "value"] == pytest.approx(a / k * (math.exp(-1.5 * k) - math.exp(-3 * k)), rel=1e-12)


def test_blq_first_middle_last_and_lloq_from_data():
    """BLQ before the first measurable value -> 0, in the middle -> dropped, after the last -> dropped
    (default), each recorded; with ``last='keep'`` AUCall adds the linear segment Clast -> 0."""
    t = [0.0, 0.5, 1, 2, 3, 4, 6, 8, 12]
    c = [np.nan, 0.02, 4.0, 8.0, 0.03, 4.0, 2.0, 1.0, 0.01]  # LLOQ 0.05: 0.5 h, 3 h and 12 h are BLQ
    blq = [True, False, False, False, False, False, False, False, False]
    df = pd.DataFrame({"usubjid": "B", "time": t, "conc": c, "lloq": 0.05, "blq": blq})
    r = analyse_nca(df)
    actions = r.records.set_index("time")["action"].to_dict()
    assert actions == {0.0: "BLQ (first): set to 0", 0.5: "BLQ (first): set to 0",
                       3.0: "BLQ (middle): dropped", 12.0: "BLQ (last): dropped"}
    # remaining: (0,0) (0.5,0) (1,4) (2,8) (4,4) (6,2) (8,1): 0.5*(4)/2... by hand, lin-up/log-down
    exp_auc = 0 + 0.5 * 4 / 2 + 1 * 12 / 2 + 2 * 4 / math.log(2) + 2 * 2 / math.log(2) + 2 * 1 / math.log(2)
    assert r.value("B", "AUCLST") == pytest.approx(exp_auc, rel=1e-12)
    assert r.value("B", "TLST") == 8.0
    assert r.value("B", "LAMZ") == pytest.approx(math.log(2) / 2, rel=1e-12)
    r2 = analyse_nca(df, NCASettings(blq=BLQRule(last="keep")))
    assert r2.value("B", "AUCALL") == pytest.approx(exp_auc + 4 * 1 / 2, rel=1e-12)
    assert r2.value("B", "AUCLST") == pytest.approx(exp_auc, rel=1e-12)
    # LLOQ from the settings when the data carry none
    r3 = analyse_nca(df.drop(columns=["lloq"]), NCASettings(lloq=0.05))
    assert r3.value("B", "AUCLST") == pytest.approx(exp_auc, rel=1e-12)


def test_lambda_z_not_estimable_is_reported_with_reason():
    df = pd.DataFrame({"usubjid": "N", "time": [0.0, 1, 2, 4], "conc": [0.0, 5.0, 3.0, 2.0], "dose": 10.0})
    r = analyse_nca(df)
    p = r.parameters.set_index("paramcd")
    assert p.at["CMAX", "value"] == 5.0 and p.at["AUCLST", "status"] == "estimated"
    for code in ("LAMZ", "LAMZHL", "AUCIFO", "CLFO", "VZFO", "AUCPEO"):
        assert p.at[code, "status"] == "not estimable"
        assert p.at[code, "reason"] == "λz not estimable: fewer than 3 measurable concentrations after Cmax (2)"
        assert np.isnan(p.at[code, "value"])
    assert not r.lambda_z["estimable"].iloc[0]
    # rising terminal phase: enough points but no negative slope
    up = pd.DataFrame({"usubjid": "U", "time": [0.0, 1, 2, 3, 4], "conc": [9.0, 1.0, 2.0, 3.0, 4.0]})
    ru = analyse_nca(up)
    assert ru.lambda_z["reason"].iloc[0] == "no terminal fit with a negative slope (λz would not be positive)"
    # all BLQ: nothing but AUCall estimable
    z = analyse_nca(pd.DataFrame({"usubjid": "Z", "time": [0.0, 1, 2], "conc": [0.0, 0.0, 0.0]}),
                    NCASettings(blq=BLQRule(last="keep")))
    assert z.value("Z", "CMAX") is None
    assert z.parameters.set_index("paramcd").at["CMAX", "reason"] == "no measurable concentration"


def _brute_force(t, c, tol):
    """Independent reference: every terminal fit by numpy.polyfit, PKNCA's selection rule."""
    imax = int(np.argmax(c))
    fits = []
    for k in range(imax + 1, len(t) - 2):
        x, y = t[k:], np.log(c[k:])
        b, a = np.polyfit(x, y, 1)
        resid = y - (a + b * x)
        r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
        n = len(x)
        fits.append((1 - (1 - r2) * (n - 1) / (n - 2), n, -b))
    fits = [f for f in fits if f[2] > 0]
    best = max(f[0] for f in fits)
    return max((f for f in fits if f[0] > best - tol), key=lambda f: f[1])


@pytest.mark.parametrize("seed", range(5))
def test_automatic_selection_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    t = np.array([0.0, 0.5, 1, 2, 3, 4, 6, 8, 10, 12, 16, 24])
    c = 10 * (np.exp(-0.15 * t) - np.exp(-1.5 * t)) + 2 * np.exp(-0.6 * t) * (t > 0)
    c = c * np.exp(rng.normal(0, 0.05, t.size))
    c[0] = 0.0
    r = analyse_nca(pd.DataFrame({"usubjid": "R", "time": t, "conc": c}))
    adj, n, lam = _brute_force(t, c, 1e-4)
    assert r.value("R", "LAMZNPT") == n
    assert r.value("R", "LAMZ") == pytest.approx(lam, rel=1e-9)
    assert r.value("R", "R2ADJ") == pytest.approx(adj, rel=1e-9)


def test_tolerance_rule_prefers_more_points_within_tolerance():
    """Last 3 points exactly log-linear (adj R² = 1); a fourth point off the line by ε lowers adj R² by
    about ε² -- within 1e-4 the 4-point fit wins, beyond it the 3-point fit."""
    t = np.array([0.0, 1, 2, 4, 6, 8])
    for eps, expected in ((0.004, 4), (0.05, 3)):
        c = 10 * np.exp(-0.3 * t)
        c[2] *= math.exp(eps)
        c[0] = 0.0
        c[1] = 20.0
        r = analyse_nca(pd.DataFrame({"usubjid": "T", "time": t, "conc": c}))
        assert r.value("T", "LAMZNPT") == expected == _brute_force(t, c, 1e-4)[1]


def test_manual_override_and_exclusions_recorded():
    t = np.array([0.0, 1, 2, 4, 6, 8, 12])
    c = np.array([0.0, 8.0, 6.0, 4.0, 3.0, 2.0, 1.2])
    df = pd.DataFrame({"usubjid": ["A"] * 7 + ["B"] * 7, "time": np.tile(t, 2), "conc": np.tile(c, 2)})
    s = NCASettings(lambda_z_overrides=[LambdaZOverride(usubjid="A", start=6.0)],
                    exclusions=[PointExclusion(usubjid="B", time=4.0, reason="sample haemolysed")])
    r = analyse_nca(df, s)
    b, a = np.polyfit(t[4:], np.log(c[4:]), 1)
    assert r.value("A", "LAMZ") == pytest.approx(-b, rel=1e-10)
    assert r.value("A", "LAMZNPT") == 3
    assert r.lambda_z.set_index("usubjid").at["A", "method"] == "manual: window [6, inf]"
    rec = r.records[r.records["action"].str.startswith("excluded")]
    assert rec[["usubjid", "time", "action"]].values.tolist() == [["B", 4.0, "excluded: sample haemolysed"]]
    manual_times = analyse_nca(df, NCASettings(lambda_z_overrides=[LambdaZOverride(usubjid="B", times=[4, 8, 12])]))
    b2, _ = np.polyfit(t[[3, 5, 6]], np.log(c[[3, 5, 6]]), 1)
    assert manual_times.value("B", "LAMZ") == pytest.approx(-b2, rel=1e-10)
    # a window ending before Tlast: λz from its points, Clast predicted at Tlast by that line
    early = analyse_nca(df, NCASettings(lambda_z_overrides=[LambdaZOverride(usubjid="A", start=2, end=6)]))
    b3, a3 = np.polyfit(t[2:5], np.log(c[2:5]), 1)
    assert early.value("A", "LAMZ") == pytest.approx(-b3, rel=1e-10)
    assert (early.value("A", "LAMZLL"), early.value("A", "LAMZUL")) == (2.0, 6.0)
    assert early.value("A", "CLSTP") == pytest.approx(np.exp(a3 + b3 * 12), rel=1e-10)


def test_auc_interval_rejects_bad_intervals():
    t, c = np.array([1.0, 2.0]), np.array([2.0, 1.0])
    assert auc_interval(t, c, 0.0, 2.0, "linear", 2.0, 1.0, math.nan)[1].startswith("interval starts before")
    assert "λz is not estimable" in auc_interval(t, c, 1.0, 3.0, "linear", 2.0, 1.0, math.nan)[1]


def test_theoph_with_actual_doses():
    """CL/F uses each subject's own dose (theo_sd AMT): CL/F x AUCinf = dose."""
    d = pd.read_csv(THEO)
    dose = d[d["EVID"] == 101].set_index("ID")["AMT"]
    o = theoph(None)
    o["dose"] = o["usubjid"].map(dose)
    r = analyse_nca(o)
    w = r.wide()
    for sid, amt in dose.items():
        row = w.loc[(str(sid), "1")]
        assert row["CLFO"] * row["AUCIFO"] == pytest.approx(amt, rel=1e-12)


def test_clearance_and_volume_in_litres():
    """mg dose, ng/mL concentrations: CL/F = 1000 x dose/AUCinf in L/h, Vz/F in L."""
    from dossier.analyses.nca import volume_factor

    assert volume_factor("ng/mL", "mg") == pytest.approx(1000.0)
    assert volume_factor("mg/L", "mg") == pytest.approx(1.0)
    assert volume_factor("ug/mL", "mg") == pytest.approx(1.0)
    assert volume_factor("nmol/L", "mg") is None
    t = np.array([0.0, 1, 2, 4, 8, 12])
    c = np.array([0.0, 90.0, 80.0, 60.0, 35.0, 20.0])
    r = analyse_nca(pd.DataFrame({"usubjid": "U", "time": t, "conc": c, "dose": 5.0}), NCASettings(conc_unit="ng/mL"))
    p = r.parameters.set_index("paramcd")
    assert p.at["CLFO", "value"] == pytest.approx(1000 * 5.0 / p.at["AUCIFO", "value"], rel=1e-12)
    assert (p.at["CLFO", "unit"], p.at["VZFO", "unit"], p.at["AUCIFO", "unit"]) == ("L/h", "L", "ng/mL*h")


def test_predose_sample_and_duplicate_times():
    """A predose sample (time < 0) is C(0) when there is no time-0 sample; earlier ones are excluded;
    two samples at one time are a user error naming the subject."""
    from dossier.errors import DossierError

    df = pd.DataFrame({"usubjid": "P", "time": [-1.0, -0.25, 1, 2, 4, 8], "conc": [0.0, 0.2, 6, 5, 3, 1]})
    r = analyse_nca(df, NCASettings(auc_method="linear"))
    acts = dict(zip(r.records["time"], r.records["action"], strict=True))
    assert acts[-1.0] == "excluded: predose sample (time < 0)"
    assert acts[-0.25] == "predose sample taken as time 0"  # recorded at its original time
    assert r.value("P", "AUCLST") == pytest.approx((0.2 + 6) / 2 + (6 + 5) / 2 + 2 * (5 + 3) / 2 + 4 * (3 + 1) / 2)
    with pytest.raises(DossierError, match="two samples at the same time 2 in profile 1 of subject P"):
        analyse_nca(pd.DataFrame({"usubjid": "P", "time": [0.0, 2, 2, 4], "conc": [0.0, 5, 4, 3]}))
