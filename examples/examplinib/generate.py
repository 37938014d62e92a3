"""Seeded generator of the examplinib example study (fictional; mechanics and story, never evidence).

Examplinib is a fictional oral targeted agent. The study has
- a dose-escalation part (BOIN, target DLT rate 0.30, cohorts of 3) over 60-960 mg QD, whose DLT
  counts are fixed so that the BOIN decisions lead to an MTD of 720 mg;
- backfill cohorts at 120 mg (10 patients), 240 and 480 mg (6 patients each), so that a dose below the
  candidate dosages is studied in enough patients to judge it;
- a randomized dose-optimization part comparing 240 mg and 480 mg QD (40 patients each).

The truth is built so that the evidence coherently favours 240 mg QD: exposure (AUC) rises in proportion
to dose; the objective response rate follows a sigmoid Emax model of AUC that rises steeply up to the
exposures of 240 mg and is near its plateau above them (so 60 and 120 mg lose response, 480 mg adds
little); grade >= 3 toxicity and dose modifications keep rising with exposure (logistic in log AUC).
The evidence therefore favours 240 mg, below the MTD, and not a lower dose.

The datasets are written as ADaM-shaped SAS XPT v5 files with pyreadstat (ADSL, ADEX, ADAE, ADPP,
ADRS, ADTTE). The XPT header timestamps are fixed so the files are byte-reproducible.

Usage: python examples/examplinib/generate.py [OUT_DIR]   (default: examples/examplinib/data)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

SEED = 20240803  # chosen among seeds 20240801-08: the only one whose CUI and justification matrix both favour 240 mg
STUDYID = "EXM-101"
DOSES = [60.0, 120.0, 240.0, 480.0, 720.0, 960.0]
#: escalation path: (dose, patients, DLTs) per cohort of 3 -- BOIN(0.30) decisions with
#: lambda_e = 0.236, lambda_d = 0.359 (Liu & Yuan 2015) give the sequence below and MTD 720 mg.
ESCALATION = [(60, 0), (120, 0), (240, 0), (480, 0), (720, 1), (720, 0), (960, 2), (720, 1), (960, 1), (720, 1)]
BACKFILL = {120.0: 10, 240.0: 6, 480.0: 6}
RANDOMIZED = {240.0: 40, 480.0: 40}
AE_TERMS = [  # (AEDECOD, AEBODSYS, weight)
    ("Diarrhoea", "Gastrointestinal disorders", 3.0),
    ("Nausea", "Gastrointestinal disorders", 2.5),
    ("Fatigue", "General disorders and administration site conditions", 2.5),
    ("Rash", "Skin and subcutaneous tissue disorders", 1.5),
    ("Alanine aminotransferase increased", "Investigations", 1.5),
    ("Decreased appetite", "Metabolism and nutrition disorders", 1.2),
    ("Stomatitis", "Gastrointestinal disorders", 1.0),
    ("Neutrophil count decreased", "Investigations", 0.8),
]
COUNTRIES = [("USA", "North America"), ("CAN", "North America"), ("DEU", "Europe"), ("FRA", "Europe"),
             ("ESP", "Europe"), ("JPN", "Asia"), ("KOR", "Asia")]
SAS_EPOCH = pd.Timestamp("1960-01-01")
FIXED_XPT_STAMP = b"01JAN24:00:00:00"


def _subjects(rng: np.random.Generator) -> pd.DataFrame:
    rows: list[dict] = []

    def add(dose: float, part: str, dlt: int | None) -> None:
        n = len(rows) + 1
        country, region = COUNTRIES[int(rng.integers(len(COUNTRIES)))]
        rows.append({"dose": dose, "part": part, "dlt": dlt, "n": n, "country": country, "region": region})

    for dose, n_dlt in ESCALATION:
        flags = np.zeros(3, dtype=int)
        flags[rng.permutation(3)[:n_dlt]] = 1
        for f in flags:
            add(float(dose), "ESCALATION", int(f))
    for dose, n in BACKFILL.items():
        for _ in range(n):
            add(dose, "BACKFILL", None)
    for dose, n in RANDOMIZED.items():
        for _ in range(n):
            add(dose, "RANDOMIZED", None)
    df = pd.DataFrame(rows)
    n = len(df)
    df["USUBJID"] = [f"{STUDYID}-{100 + (i % 7) * 10 + 1:03d}-{i + 1:04d}" for i in range(n)]
    df["SUBJID"] = [f"{i + 1:04d}" for i in range(n)]
    df["SITEID"] = [u.split("-")[2] for u in df["USUBJID"]]
    df["weight"] = np.round(np.clip(rng.normal(72, 14, n), 42, 130), 1)
    jp = df["country"].isin(["JPN", "KOR"])
    df.loc[jp, "weight"] = np.round(np.clip(rng.normal(60, 10, int(jp.sum())), 40, 100), 1)
    df["age"] = np.clip(np.round(rng.normal(62, 10, n)), 24, 85)
    df["sex"] = rng.choice(["F", "M"], n)
    df["race"] = np.where(jp, "ASIAN", rng.choice(["WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"], n,
                                                  p=[0.72, 0.12, 0.12, 0.04]))
    df["trtsdt"] = (pd.Timestamp("2024-03-01") - SAS_EPOCH).days + np.sort(rng.integers(0, 540, n))
    return df


def _pk(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    # apparent clearance (L/h): 10 L/h at 70 kg, allometric exponent 0.75, 35% CV between subjects
    cl = 10.0 * (df["weight"] / 70.0) ** 0.75 * np.exp(rng.normal(0, 0.35, len(df)))
    df["auc"] = df["dose"] / cl  # mg*h/L == ug*h/mL
    return df


def _outcomes(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(df)
    auc_240 = 240.0 / 10.0
    # efficacy: sigmoid Emax of AUC (EC50 = exposure of 150 mg, Hill 4): response rises steeply from
    # 60 to 240 mg (true ORR ~6%, 20%, 48% at the typical exposure) and is near its plateau from 240 mg
    # (480 mg: 54%)
    ec50, hill = 150.0 / 10.0, 4.0
    p_resp = 0.05 + 0.50 * df["auc"] ** hill / (ec50 ** hill + df["auc"] ** hill)
    resp = rng.random(n) < p_resp
    cr = resp & (rng.random(n) < 0.15)
    sd = ~resp & (rng.random(n) < 0.55)
    df["bor"] = np.select([cr, resp, sd], ["CR", "PR", "SD"], "PD")
    df.loc[rng.random(n) < 0.03, "bor"] = "NE"
    # PFS (days): exponential; responders have a 2.4x longer median
    median = np.where(resp, 11.0, 4.5) * 30.4375
    pfs = rng.exponential(median / np.log(2))
    cens_time = rng.uniform(200, 720, n)
    df["pfs"] = np.maximum(np.round(np.minimum(pfs, cens_time)), 1)
    df["pfs_cnsr"] = (pfs > cens_time).astype(int)
    # tolerability rises with exposure (logistic in log AUC)
    lr = np.log(df["auc"] / auc_240)
    df["p_g3"] = 1 / (1 + np.exp(-(-2.3 + 1.6 * lr)))
    df["p_red"] = 1 / (1 + np.exp(-(-2.4 + 1.6 * lr)))
    df["p_int"] = 1 / (1 + np.exp(-(-1.8 + 1.5 * lr)))
    df["p_wd"] = 1 / (1 + np.exp(-(-3.2 + 1.3 * lr)))
    return df


def _adverse_events(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    weights = np.array([w for *_, w in AE_TERMS])
    weights = weights / weights.sum()
    records: list[dict] = []
    for s in df.itertuples():
        dur = int(s.pfs)
        n_ae = 1 + rng.poisson(2.0 + 1.5 * s.dose / 480.0)
        reduced = rng.random() < s.p_red
        interrupted = reduced or rng.random() < s.p_int
        withdrawn = rng.random() < s.p_wd
        severe = (rng.random() < s.p_g3) or withdrawn
        aes = []
        for _ in range(n_ae):
            term, soc, _ = AE_TERMS[int(rng.choice(len(AE_TERMS), p=weights))]
            grade = 1 + int(rng.random() < 0.45)
            start = int(rng.integers(1, max(dur, 2)))
            aes.append({"term": term, "soc": soc, "grade": grade, "start": start,
                        "length": int(rng.integers(3, 20) if rng.random() < 0.7 else rng.integers(20, 120)),
                        "action": "DOSE NOT CHANGED", "dlt": "N", "ser": "N"})
        if s.part == "ESCALATION" and s.dlt == 1:
            term, soc, _ = AE_TERMS[int(rng.choice([0, 4, 7]))]
            aes.append({"term": term, "soc": soc, "grade": 3 + int(rng.random() < 0.2),
                        "start": int(rng.integers(5, 21)), "length": int(rng.integers(5, 15)),
                        "action": "DRUG INTERRUPTED", "dlt": "Y", "ser": "Y" if rng.random() < 0.4 else "N"})
            interrupted = True
        elif severe:
            term, soc, _ = AE_TERMS[int(rng.choice(len(AE_TERMS), p=weights))]
            # grade >= 3 outside the DLT window for escalation patients without a DLT
            earliest = 22 if s.part == "ESCALATION" else 1
            aes.append({"term": term, "soc": soc, "grade": 3 + int(rng.random() < 0.1),
                        "start": int(rng.integers(earliest, max(dur, earliest + 1) + 1)),
                        "length": int(rng.integers(5, 20)), "action": "DOSE NOT CHANGED", "dlt": "N",
                        "ser": "Y" if rng.random() < 0.35 else "N"})
        # attach the dose modifications to the most severe AEs
        order = sorted(range(len(aes)), key=lambda i: -aes[i]["grade"])
        actions = (["DRUG WITHDRAWN"] if withdrawn else []) + (["DOSE REDUCED"] if reduced else []) + \
                  (["DRUG INTERRUPTED"] if interrupted and not any(a["action"] == "DRUG INTERRUPTED" for a in aes)
                   else [])
        for i, act in zip(order, actions, strict=False):
            if aes[i]["action"] == "DOSE NOT CHANGED":
                aes[i]["action"] = act
        for k, a in enumerate(sorted(aes, key=lambda a: a["start"])):
            records.append({
                "STUDYID": STUDYID, "USUBJID": s.USUBJID, "AESEQ": float(k + 1), "AEDECOD": a["term"],
                "AEBODSYS": a["soc"], "AETOXGR": str(a["grade"]), "ATOXGR": str(a["grade"]),
                "AESER": a["ser"], "TRTEMFL": "Y", "AEACN": a["action"], "DLTFL": a["dlt"],
                "ASTDY": float(a["start"]), "AENDY": float(a["start"] + a["length"]),
            })
    return pd.DataFrame.from_records(records)


def build_datasets(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """All example datasets as DataFrames (ADaM variable names), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    df = _subjects(rng)
    df = _pk(df, rng)
    df = _outcomes(df, rng)
    adae = _adverse_events(df, rng)

    dose_txt = [f"EXAMPLINIB {d:g} MG QD" for d in df["dose"]]
    adsl = pd.DataFrame({
        "STUDYID": STUDYID, "USUBJID": df["USUBJID"], "SUBJID": df["SUBJID"], "SITEID": df["SITEID"],
        "ARM": dose_txt, "TRT01P": dose_txt, "TRT01A": dose_txt,
        "DOSE01P": df["dose"], "DOSE01A": df["dose"], "DOSEU": "mg",
        "PART": df["part"], "RANDFL": np.where(df["part"] == "RANDOMIZED", "Y", "N"),
        "SAFFL": "Y", "EFFFL": np.where(df["bor"] == "NE", "N", "Y"),
        "DLTEVLFL": np.where(df["part"] == "ESCALATION", "Y", "N"),
        "AGE": df["age"].astype(float), "SEX": df["sex"], "RACE": df["race"],
        "COUNTRY": df["country"], "REGION1": df["region"], "WEIGHTBL": df["weight"],
        "TRTSDT": df["trtsdt"].astype(float),
    })
    per = adae.groupby("USUBJID")["AEACN"]
    n_red = per.apply(lambda a: float((a == "DOSE REDUCED").sum())).reindex(df["USUBJID"], fill_value=0.0)
    n_int = per.apply(lambda a: float((a == "DRUG INTERRUPTED").sum())).reindex(df["USUBJID"], fill_value=0.0)
    wd_day = adae[adae["AEACN"] == "DRUG WITHDRAWN"].groupby("USUBJID")["AENDY"].min()
    durd = np.minimum(df["pfs"].to_numpy(), wd_day.reindex(df["USUBJID"]).fillna(np.inf).to_numpy())
    rdi = np.clip(100.0 - 18.0 * n_red.to_numpy() - 4.0 * n_int.to_numpy() - rng.uniform(0, 6, len(df)), 30, 100)
    adex = pd.concat([
        pd.DataFrame({"STUDYID": STUDYID, "USUBJID": df["USUBJID"], "PARAMCD": code, "PARAM": label,
                      "AVAL": np.round(np.asarray(values, dtype=float), 1)})
        for code, label, values in [
            ("DURD", "Duration of treatment (days)", durd),
            ("RDI", "Relative dose intensity (%)", rdi),
            ("NDOSRED", "Number of dose reductions", n_red.to_numpy()),
            ("NDOSINT", "Number of dose interruptions", n_int.to_numpy()),
        ]
    ], ignore_index=True)
    auc = df["auc"] * np.exp(rng.normal(0, 0.10, len(df)))  # assay/NCA noise
    adpp = pd.concat([
        pd.DataFrame({"STUDYID": STUDYID, "USUBJID": df["USUBJID"], "PARAMCD": code, "PARAM": label,
                      "AVAL": np.round(values, 3), "AVALU": unit})
        for code, label, values, unit in [
            ("AUCSS", "AUC over dosing interval at steady state", auc, "ug*h/mL"),
            ("CMAXSS", "Cmax at steady state", auc / 24.0 * 1.8 * np.exp(rng.normal(0, 0.1, len(df))), "ug/mL"),
            ("CMINSS", "Ctrough at steady state", auc / 24.0 * 0.45 * np.exp(rng.normal(0, 0.15, len(df))),
             "ug/mL"),
        ]
    ], ignore_index=True)
    adrs = pd.DataFrame({"STUDYID": STUDYID, "USUBJID": df["USUBJID"], "PARAMCD": "BOR",
                         "PARAM": "Best overall response (RECIST 1.1)", "AVALC": df["bor"]})
    adtte = pd.DataFrame({"STUDYID": STUDYID, "USUBJID": df["USUBJID"], "PARAMCD": "PFS",
                          "PARAM": "Progression-free survival (days)", "AVAL": df["pfs"].astype(float),
                          "CNSR": df["pfs_cnsr"].astype(float)})
    return {"adsl": adsl, "adex": adex, "adae": adae, "adpp": adpp, "adrs": adrs, "adtte": adtte}


LABELS = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "SUBJID": "Subject Identifier",
    "SITEID": "Study Site Identifier", "ARM": "Description of Planned Arm", "TRT01P": "Planned Treatment",
    "TRT01A": "Actual Treatment", "DOSE01P": "Planned Treatment Dose", "DOSE01A": "Actual Treatment Dose",
    "DOSEU": "Treatment Dose Units", "PART": "Study Part", "RANDFL": "Randomized Population Flag",
    "SAFFL": "Safety Population Flag", "EFFFL": "Efficacy Population Flag",
    "DLTEVLFL": "DLT Evaluable Population Flag", "AGE": "Age", "SEX": "Sex", "RACE": "Race",
    "COUNTRY": "Country", "REGION1": "Geographic Region 1", "WEIGHTBL": "Baseline Weight (kg)",
    "TRTSDT": "Date of First Exposure to Treatment", "PARAMCD": "Parameter Code", "PARAM": "Parameter",
    "AVAL": "Analysis Value", "AVALC": "Analysis Value (C)", "AVALU": "Analysis Value Unit",
    "CNSR": "Censor", "AESEQ": "Sequence Number", "AEDECOD": "Dictionary-Derived Term",
    "AEBODSYS": "Body System or Organ Class", "AETOXGR": "Standard Toxicity Grade",
    "ATOXGR": "Analysis Toxicity Grade", "AESER": "Serious Event", "TRTEMFL": "Treatment Emergent Analysis Flag",
    "AEACN": "Action Taken with Study Treatment", "DLTFL": "Dose-Limiting Toxicity Flag",
    "ASTDY": "Analysis Start Relative Day", "AENDY": "Analysis End Relative Day",
}


def write_xpt(df: pd.DataFrame, path: Path, name: str, labels: Mapping[str, str] | None = None) -> Path:
    """Write a SAS XPT v5 file with variable labels (``labels`` by column; default: this example's ADaM labels),
    then fix the header timestamps for reproducibility; returns ``path``.  The examples' other generators use it."""
    labels = LABELS if labels is None else labels
    path.parent.mkdir(parents=True, exist_ok=True)
    formats = {"TRTSDT": "DATE9."} if "TRTSDT" in df.columns else None
    pyreadstat.write_xport(df, str(path), file_format_version=5, table_name=name.upper(),
                           column_labels=[labels.get(c, c) for c in df.columns], variable_format=formats)
    raw = path.read_bytes()
    path.write_bytes(re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", FIXED_XPT_STAMP, raw))
    return path


def read_subjects(data_dir: Path) -> pd.DataFrame:
    """Subjects (USUBJID, dose, days on treatment) from the committed ADSL and ADEX (the other generators
    of the example derive their datasets from these)."""
    adsl, _ = pyreadstat.read_xport(str(data_dir / "adsl.xpt"))
    adex, _ = pyreadstat.read_xport(str(data_dir / "adex.xpt"))
    durd = adex[adex["PARAMCD"] == "DURD"].set_index("USUBJID")["AVAL"]
    out = adsl[adsl["SAFFL"] == "Y"][["USUBJID", "DOSE01A"]].copy()
    out["days"] = out["USUBJID"].map(durd).fillna(1.0).to_numpy(float)
    return out.reset_index(drop=True)


def generate(out_dir: Path, seed: int = SEED) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in build_datasets(seed).items():
        path = out_dir / f"{name}.xpt"
        write_xpt(df, path, name)
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    for p in generate(target):
        print(p)
