"""Seeded generator of the examplinib patient-reported outcomes (fictional; mechanics and story, never evidence).

Writes ``data/adqs.xpt``: PRO-CTCAE items and the EORTC QLQ-C30 (version 3.0) as an ADaM BDS dataset
(one record per subject, item and assessment; PARCAT1 the instrument, PARAMCD the item, AVAL the
numeric response, AVISIT/AVISITN (week), ADY, ABLFL). It reads the subjects and their doses from the
committed ``data/adsl.xpt`` and their treatment duration (ADEX PARAMCD DURD) from ``data/adex.xpt``,
written by ``generate.py``; rerun this script after regenerating those.

The truth follows the rest of examplinib: symptoms rise with exposure (log dose), above all diarrhoea and
fatigue, less so nausea, appetite loss and mouth sores; they start within the first weeks and persist at a
low grade (the chronic low-grade toxicity the 2024 FDA dosage-optimization guidance asks about). The same
latent fatigue and diarrhoea burden drives the PRO-CTCAE items and the QLQ-C30 fatigue, functioning,
diarrhoea and global health status items, so the instruments agree. Assessments: baseline (day 1), then
weeks 2, 4, 6, 8, 12, 16, 20 and 24 while on treatment; about 5% of questionnaires are missed and about
2% of QLQ-C30 items unanswered. PRO-CTCAE follow-up questions are skipped (left out) when the first
question of the symptom is answered 0, as on the form.

Usage: python examples/examplinib/generate_pro.py [DATA_DIR]   (default: examples/examplinib/data)
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240803
STUDYID = "EXM-101"
#: the example's main generator (the examples are scripts, not a package: read by path)
_GENERATE = runpy.run_path(str(Path(__file__).resolve().with_name("generate.py")))
write_xpt, read_subjects = _GENERATE["write_xpt"], _GENERATE["read_subjects"]
WEEKS = [0, 2, 4, 6, 8, 12, 16, 20, 24]
#: latent symptoms: (baseline level, slope per unit log(dose/240), level at 240 mg on treatment)
SYMPTOMS = {
    "diarrhoea": (0.1, 1.0, 1.1),
    "fatigue": (0.6, 1.0, 0.95),
    "nausea": (0.2, 0.4, 0.9),
    "appetite": (0.3, 0.4, 0.9),
    "mouth": (0.1, 0.3, 0.6),
}
#: PRO-CTCAE items: PARAMCD, label, latent symptom, shift of the attribute relative to the latent level
PRO_CTCAE_ITEMS = [
    ("PRO03A", "Mouth/throat sores severity", "mouth", 0.0),
    ("PRO03B", "Mouth/throat sores interference", "mouth", -0.4),
    ("PRO08A", "Decreased appetite severity", "appetite", 0.0),
    ("PRO08B", "Decreased appetite interference", "appetite", -0.3),
    ("PRO09A", "Nausea frequency", "nausea", 0.1),
    ("PRO09B", "Nausea severity", "nausea", -0.2),
    ("PRO16A", "Diarrhea frequency", "diarrhoea", 0.2),
    ("PRO53A", "Fatigue severity", "fatigue", 0.0),
    ("PRO53B", "Fatigue interference", "fatigue", -0.2),
]
#: QLQ-C30 items driven by the latent symptoms (item: symptom, weight); the others by general health
C30_DRIVERS = {10: ("fatigue", 1.0), 12: ("fatigue", 1.0), 18: ("fatigue", 1.0), 1: ("fatigue", 0.4),
               2: ("fatigue", 0.5), 3: ("fatigue", 0.3), 4: ("fatigue", 0.3), 5: ("fatigue", 0.1),
               6: ("fatigue", 0.6), 7: ("fatigue", 0.6), 26: ("fatigue", 0.4), 27: ("fatigue", 0.4),
               17: ("diarrhoea", 1.0), 14: ("nausea", 1.0), 15: ("nausea", 0.5), 13: ("appetite", 1.0)}


def build_adqs(subjects: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    records: list[dict] = []
    for s in subjects.itertuples():
        x = np.log(s.DOSE01A / 240.0)
        person = {k: rng.normal(0, 0.6) for k in SYMPTOMS}  # each patient's own propensity
        general = rng.normal(0, 0.5)  # general health, drives the other QLQ-C30 items
        for week in WEEKS:
            day = 1 + 7 * week
            if week > 0 and (day > s.days or rng.random() < 0.05):
                continue  # off treatment, or questionnaire missed
            onset = 0.0 if week == 0 else min(1.0, week / 4.0)
            level = {k: base + onset * max(0.0, on240 - base + slope * x) + person[k] + rng.normal(0, 0.15)
                     for k, (base, slope, on240) in SYMPTOMS.items()}
            visit = "BASELINE" if week == 0 else f"WEEK {week}"
            common = {"STUDYID": STUDYID, "USUBJID": s.USUBJID, "AVISIT": visit, "AVISITN": float(week),
                      "ADY": float(day), "ABLFL": "Y" if week == 0 else ""}
            first_zero: dict[str, bool] = {}
            for code, label, symptom, shift in PRO_CTCAE_ITEMS:
                score = int(np.clip(np.round(level[symptom] + shift + rng.normal(0, 0.3)), 0, 4))
                if code.endswith("A"):
                    first_zero[symptom] = score == 0
                elif first_zero[symptom]:
                    continue  # follow-up question skipped after "never"/"none"
                records.append({**common, "PARCAT1": "PRO-CTCAE", "PARAMCD": code, "PARAM": label,
                                "AVAL": float(score)})
            burden = 0.5 * level["fatigue"] + 0.35 * level["diarrhoea"] + 0.15 * level["nausea"]
            for item in range(1, 31):
                if rng.random() < 0.02:
                    continue  # item not answered
                if item >= 29:
                    value = np.clip(np.round(5.6 - 1.1 * burden - general + rng.normal(0, 0.25)), 1, 7)
                else:
                    symptom, w = C30_DRIVERS.get(item, (None, 0.0))
                    drive = w * level[symptom] if symptom else 0.0
                    value = np.clip(np.round(1.0 + drive + 0.5 * general + rng.normal(0, 0.15)), 1, 4)
                records.append({**common, "PARCAT1": "QLQ-C30", "PARAMCD": f"C30Q{item:02d}",
                                "PARAM": f"QLQ-C30 Q{item}", "AVAL": float(value)})
    cols = ["STUDYID", "USUBJID", "PARCAT1", "PARAMCD", "PARAM", "AVISIT", "AVISITN", "ADY", "AVAL", "ABLFL"]
    return pd.DataFrame.from_records(records, columns=cols)


LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier",
          "PARCAT1": "Parameter Category 1 (instrument)", "PARAMCD": "Parameter Code", "PARAM": "Parameter",
          "AVISIT": "Analysis Visit", "AVISITN": "Analysis Visit (N)", "ADY": "Analysis Relative Day",
          "AVAL": "Analysis Value", "ABLFL": "Baseline Record Flag"}


def generate(data_dir: Path, seed: int = SEED, out_dir: Path | None = None) -> Path:
    """Write adqs.xpt (into ``out_dir``, default ``data_dir``) with fixed header stamps (byte-reproducible)."""
    return write_xpt(build_adqs(read_subjects(data_dir), seed), (out_dir or data_dir) / "adqs.xpt", "adqs", LABELS)


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"))
