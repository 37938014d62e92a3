"""Seeded generator of the examplinib pharmacodynamic marker (fictional; mechanics and story, never evidence).

Writes ``data/adpd.xpt``: one PD marker as an ADaM BDS dataset, PARAMCD ``PERKINH`` -- target engagement
measured as the % inhibition of phosphorylated ERK (downstream of KRAS G12C) relative to a reference
sample, in the subject's pre-dose (baseline, day 1) sample and at weeks 1, 4 and 8 while on treatment;
AVAL, BASE, CHG (= AVAL - BASE), AVALU "%", AVISIT/AVISITN (week), ADY and ABLFL.

It reads the subjects and their doses from the committed ``data/adsl.xpt``, their steady-state exposure
(ADPP PARAMCD AUCSS) from ``data/adpp.xpt`` and their treatment duration (ADEX PARAMCD DURD) from
``data/adex.xpt``, written by ``generate.py``; rerun this script after regenerating those.

The truth follows the rest of examplinib: inhibition follows an Emax model in exposure, I = IMAX * AUC /
(IC50 + AUC), with IMAX 90% and IC50 6 ug*h/mL, so the median exposure of 240 mg (about 25 ug*h/mL) already
gives about 80% of the maximal inhibition and higher doses add little -- the plateau the efficacy shows
above 240 mg. Each patient has their own deviation (SD 8 points), each sample an assay error (SD 6 points);
about 5% of samples are missed, and none is taken after the end of treatment.

Usage: python examples/examplinib/generate_pd.py [DATA_DIR]   (default: examples/examplinib/data)
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

SEED = 20240804
STUDYID = "EXM-101"
#: the example's main generator (the examples are scripts, not a package: read by path)
_GENERATE = runpy.run_path(str(Path(__file__).resolve().with_name("generate.py")))
write_xpt, read_subjects = _GENERATE["write_xpt"], _GENERATE["read_subjects"]
WEEKS = [0, 1, 4, 8]
IMAX = 90.0  # maximal inhibition (%)
IC50 = 6.0  # AUCSS (ug*h/mL) giving half the maximal inhibition
SUBJECT_SD = 8.0
ASSAY_SD = 6.0


def read_study(data_dir: Path) -> pd.DataFrame:
    """Subjects (USUBJID, dose, days on treatment, AUCSS) from the committed ADSL, ADEX and ADPP."""
    out = read_subjects(data_dir)
    adpp, _ = pyreadstat.read_xport(str(data_dir / "adpp.xpt"))
    auc = adpp[adpp["PARAMCD"] == "AUCSS"].set_index("USUBJID")["AVAL"]
    out["auc"] = out["USUBJID"].map(auc).to_numpy(float)
    return out


def build_adpd(subjects: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    records: list[dict] = []
    for s in subjects.itertuples():
        person = rng.normal(0, SUBJECT_SD)
        effect = IMAX * s.auc / (IC50 + s.auc) if np.isfinite(s.auc) else np.nan
        base = None
        for week in WEEKS:
            day = 1 + 7 * week
            if week > 0 and (day > s.days or rng.random() < 0.05):
                continue  # off treatment, or sample missed
            noise = rng.normal(0, ASSAY_SD)
            if week == 0:
                aval = noise
            elif np.isfinite(effect):
                aval = effect + person + noise
            else:
                continue  # no exposure known: no on-treatment sample
            aval = round(float(np.clip(aval, -30.0, 100.0)), 1)
            if week == 0:
                base = aval
            records.append({"STUDYID": STUDYID, "USUBJID": s.USUBJID, "PARAMCD": "PERKINH",
                            "PARAM": "pERK inhibition (target engagement)", "AVISIT": "BASELINE" if week == 0
                            else f"WEEK {week}", "AVISITN": float(week), "ADY": float(day), "AVAL": aval,
                            "AVALU": "%", "BASE": base if base is not None else np.nan,
                            "CHG": round(aval - base, 1) if base is not None else np.nan,
                            "ABLFL": "Y" if week == 0 else ""})
    cols = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY", "AVAL", "AVALU", "BASE", "CHG",
            "ABLFL"]
    return pd.DataFrame.from_records(records, columns=cols)


LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "PARAMCD": "Parameter Code",
          "PARAM": "Parameter", "AVISIT": "Analysis Visit", "AVISITN": "Analysis Visit (N)",
          "ADY": "Analysis Relative Day", "AVAL": "Analysis Value", "AVALU": "Analysis Value Unit",
          "BASE": "Baseline Value", "CHG": "Change from Baseline", "ABLFL": "Baseline Record Flag"}


def generate(data_dir: Path, seed: int = SEED, out_dir: Path | None = None) -> Path:
    """Write adpd.xpt (into ``out_dir``, default ``data_dir``) with fixed header stamps (byte-reproducible)."""
    return write_xpt(build_adpd(read_study(data_dir), seed), (out_dir or data_dir) / "adpd.xpt", "adpd", LABELS)


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"))
