"""``dossier combination decide|simulate`` and dose-pair data: the CLI contract and the real two-drug
escalation of OncoBayes2 (codata_combo2, trial_AB; Neuenschwander, Roychoudhury & Schmidli 2016),
whose MTD from select.mtd.comb (BOIN 2.7.2) is frozen in data/combination_oncobayes2_r.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dossier.cli import app, main
from dossier.designs.boin_comb import BoinComb
from dossier.designs.comb_base import pairs_to_grid
from dossier.designs.waterfall import Waterfall
from dossier.errors import DesignError

runner = CliRunner()
DATA = Path(__file__).parent / "data"
ONCOBAYES2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "oncobayes2" / "codata_combo2.csv"


def run_json(*args):
    res = runner.invoke(app, ["combination", *args, "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    return json.loads(res.output)


@pytest.fixture(scope="module")
def trial_ab() -> pd.DataFrame:
    if not ONCOBAYES2.exists():
        pytest.skip(f"{ONCOBAYES2} is missing")
    df = pd.read_csv(ONCOBAYES2)
    return df[df.group_id == "trial_AB"]


def test_oncobayes2_trial_ab_grid_and_mtd(trial_ab):
    ref = json.loads((DATA / "combination_oncobayes2_r.json").read_text())
    n, y, la, lb = pairs_to_grid(trial_ab.drug_A, trial_ab.drug_B, trial_ab.num_toxicities, trial_ab.num_patients)
    assert la == ref["levels_a"] and lb == ref["levels_b"]
    np.testing.assert_array_equal(n, ref["n"])
    np.testing.assert_array_equal(y, ref["y"])
    assert n.sum() == trial_ab.num_patients.sum() and y.sum() == trial_ab.num_toxicities.sum()
    sel = BoinComb(target=0.3, n_rows=3, n_cols=3).select_mtd(n, y)
    assert [(a + 1, b + 1) for a, b in sel.selected] == [tuple(v) for v in ref["mtd"]]
    est = np.array([[np.nan if v is None else v for v in row] for row in sel.estimates])
    np.testing.assert_allclose(np.round(est[n > 0], 2), np.array(ref["p_est"])[n > 0])
    # the waterfall contour rule on these data gives the contour select.mtd.comb(mtd.contour = TRUE) prints
    contour = Waterfall(target=0.3, n_rows=3, n_cols=3).select_contour(n, y).selected
    assert sorted((a + 1, b + 1) for a, b in contour) == sorted(tuple(v) for v in ref["contour"])


def test_decide_from_csv_of_dose_pairs(trial_ab, tmp_path):
    csv = tmp_path / "pairs.csv"
    trial_ab.rename(columns={"drug_A": "dose_a", "drug_B": "dose_b", "num_patients": "n",
                             "num_toxicities": "dlt"})[["dose_a", "dose_b", "n", "dlt"]].to_csv(csv, index=False)
    out = run_json("decide", "--data", str(csv), "--target", "0.3", "--current", "2,2", "--seed", "4")
    assert out["levels_a"] == [3.0, 4.5, 6.0] and out["selected"] == [[3, 1]]
    assert out["next"]["action"] in {"escalate", "stay", "deescalate"}
    # 2/10 at (4.5, 600): 0.2 <= lambda_e = 0.2365 -> escalate to (6, 600) or (4.5, 800)
    assert out["next"]["action"] == "escalate" and sorted(out["next"]["candidates"]) == [[2, 3], [3, 2]]


def test_decide_per_subject_rows_and_levels(tmp_path):
    csv = tmp_path / "subjects.csv"
    csv.write_text("dose_a,dose_b,dlt\n10,1,0\n10,1,0\n10,1,1\n20,1,0\n20,1,0\n20,1,0\n")
    out = run_json("decide", "--data", str(csv), "--levels-a", "10,20", "--levels-b", "1,2,4")
    assert out["n"] == [[3, 0, 0], [3, 0, 0]] and out["dlt"] == [[1, 0, 0], [0, 0, 0]]
    bad = tmp_path / "bad.csv"
    bad.write_text("dose_a,dose_b,dlt\n10,1,0\n30,1,0\n")
    with pytest.raises(DesignError):
        read = __import__("dossier.ingest.combination", fromlist=["read_pairs"]).read_pairs
        read(bad, "10,20", "1,2")


def test_simulate_json_has_mc_se_per_pair():
    out = run_json("simulate", "--true", "0.05,0.1,0.2;0.1,0.3,0.5", "--cohorts", "8", "--trials", "300",
                   "--seed", "2")
    assert np.array(out["selection_pct"]).shape == (2, 3)
    assert np.array(out["mc_se"]["mean_patients"]).shape == (2, 3)
    again = run_json("simulate", "--true", "0.05,0.1,0.2;0.1,0.3,0.5", "--cohorts", "8", "--trials", "300",
                     "--seed", "2")
    assert out == again
    wf = run_json("simulate", "--design", "waterfall", "--true", "0.05,0.1,0.2;0.1,0.3,0.5", "--cohorts", "6,4",
                  "--trials", "200")
    assert wf["design"] == "waterfall"


@pytest.mark.parametrize("args", [
    ["combination", "decide", "--n", "3,0;0", "--dlt", "0,0;0,0"],
    ["combination", "decide", "--n", "3,0;0,0", "--dlt", "0,0;0,0", "--design", "nope"],
    ["combination", "simulate", "--true", "0.1,0.2;0.3,1.4"],
    ["combination", "simulate", "--design", "waterfall", "--true", "0.1,0.2;0.3,0.4", "--cohorts", "5"],
    ["combination", "decide", "--data", "/nonexistent.csv"],
])
def test_user_mistakes_exit_2(args, capsys):
    assert main(args) == 2
    assert "Error:" in capsys.readouterr().err


DRUGCOMBO = Path(__file__).resolve().parents[3] / "shared" / "data" / "drugcombo-data"


def _drugcombo_trial(pmid: str, combn: str) -> pd.DataFrame:
    """One regimen of drugcombo-data as dose-pair rows: patients (Total) and, as the DLT count, the
    largest Observed_Frequency at the level -- a lower bound on patients with a DLT (the README warns
    that summing rows double-counts patients with two DLTs).  Levels without a DLT row have no patient
    count in the files: not collected, so they are left out (never counted as 0)."""
    if not DRUGCOMBO.exists():
        pytest.skip(f"{DRUGCOMBO} is missing")
    dl = pd.read_csv(DRUGCOMBO / "dose_level.csv", dtype=str)
    od = pd.read_csv(DRUGCOMBO / "observed_dlt.csv", dtype=str)
    dl = dl[(dl.PMID == pmid) & (dl.CombnID == combn)]
    od = od[(od.PMID == pmid) & (od.CombnID == combn)]
    doses = dl.pivot(index="Dose_Level", columns="Drug_Name", values="Dose_Value").astype(float)
    rows = []
    for level, g in od.groupby("At_Level"):
        rows.append({"level": level, "dose_a": doses.loc[level].iloc[0], "dose_b": doses.loc[level].iloc[1],
                     "n": float(g.Total.iloc[0]), "dlt": float(pd.to_numeric(g.Observed_Frequency).max())})
    return pd.DataFrame(rows), list(doses.columns)


def test_drugcombo_epirubicin_docetaxel_grid_and_decision(tmp_path):
    # PMID 10416004 (CombnID 1): epirubicin 60-80 x docetaxel 70-90 mg/m2; levels 3, 3a and 3b are
    # three cohorts at the same pair (70, 80), pooled by the grid
    rows, drugs = _drugcombo_trial("10416004", "1")
    assert drugs == ["docetaxe", "epirubicin"]            # the curators' spelling, columns sorted by name
    n, y, la, lb = pairs_to_grid(rows.dose_b, rows.dose_a, rows.dlt, rows.n)   # rows: epirubicin
    # level 1 (60, 70) has no DLT row, hence no patient count: not collected, so docetaxel 70 is no level
    # of the grid (listing it would show its pair as untreated, 0 patients, which the files do not say)
    assert la == [60.0, 70.0, 80.0] and lb == [80.0, 90.0]
    assert n[1, 0] == 7 + 7 + 10 and n.sum() == rows.n.sum()
    assert (n[0, 0], y[0, 0]) == (7, 1) and (n[2, 1], y[2, 1]) == (4, 4)
    sel = BoinComb(target=0.3, n_rows=3, n_cols=2).select_mtd(n, y)
    j, k = sel.selected[0]
    assert n[j, k] > 0 and not sel.eliminated[j][k]
    assert sel.eliminated[2][1]                            # (80, 90): 4 of 4 patients with a DLT


def test_drugcombo_missing_counts_are_refused(tmp_path):
    # PMID 10370782 (paclitaxel + doxorubicin): level 2 has a DLT term with no frequency and no total
    rows, _ = _drugcombo_trial("10370782", "83")
    csv = tmp_path / "pairs.csv"
    rows.drop(columns="level").to_csv(csv, index=False)
    assert main(["combination", "decide", "--data", str(csv)]) == 2
