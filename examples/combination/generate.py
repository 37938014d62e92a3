"""Seeded generator of a small two-agent combination-escalation example (fictional; mechanics, never evidence).

Examplinib (agent A: 120, 240, 480 mg QD) is combined with partnermab (agent B: 1, 3, 10, 20 mg/kg Q3W).
The true DLT probability of a dose pair follows a logistic model in the log doses with a positive
interaction (the combination is more toxic than either agent alone would suggest):

    logit p(a, b) = -4.2 + 0.9 log(a / 120) + 0.6 log(b) + 0.25 log(a / 120) log(b)

One trial is run with the BOIN combination design (Lin & Yin 2017; target 0.30, 10 cohorts of 3,
start at the lowest pair): each cohort's decision is made by ``BoinComb.decide`` on the data so far,
exactly as a trial team would call ``dossier combination decide``.  Each patient's DLT is drawn from
the seeded generator.  Output: one row per subject (``dose_pairs.csv``: subject, cohort, dose_a,
dose_b, dlt) and the truth (``truth.csv``).

Usage: python examples/combination/generate.py [OUT_DIR]   (default: examples/combination/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from dossier.designs.boin_comb import BoinComb

SEED = 20240805
DOSES_A = [120.0, 240.0, 480.0]        # examplinib, mg QD
DOSES_B = [1.0, 3.0, 10.0, 20.0]       # partnermab, mg/kg Q3W
TARGET, COHORT, COHORTS = 0.30, 3, 10


def true_tox() -> np.ndarray:
    la = np.log(np.array(DOSES_A) / DOSES_A[0])[:, None]
    lb = np.log(np.array(DOSES_B))[None, :]
    eta = -4.2 + 0.9 * la + 0.6 * lb + 0.25 * la * lb
    return 1 / (1 + np.exp(-eta))


def run_trial(rng: np.random.Generator) -> pd.DataFrame:
    p = true_tox()
    design = BoinComb(target=TARGET, n_rows=len(DOSES_A), n_cols=len(DOSES_B), cohort_size=COHORT,
                      n_cohorts=COHORTS)
    n = np.zeros(p.shape, dtype=int)
    y = np.zeros(p.shape, dtype=int)
    pair = (0, 0)
    rows = []
    for cohort in range(1, COHORTS + 1):
        dlt = (rng.random(COHORT) < p[pair]).astype(int)
        for v in dlt:
            rows.append({"subject": f"CMB-{len(rows) + 1:03d}", "cohort": cohort, "dose_a": DOSES_A[pair[0]],
                         "dose_b": DOSES_B[pair[1]], "dlt": int(v)})
        n[pair] += COHORT
        y[pair] += int(dlt.sum())
        if cohort == COHORTS:
            break
        decision = design.decide(n, y, pair, rng)
        if decision.next_pair is None:
            break
        pair = decision.next_pair
    return pd.DataFrame(rows)


def generate(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    subjects = run_trial(np.random.default_rng(SEED))
    p = true_tox()
    truth = pd.DataFrame([{"dose_a": a, "dose_b": b, "p_dlt": round(float(p[i, j]), 4)}
                          for i, a in enumerate(DOSES_A) for j, b in enumerate(DOSES_B)])
    paths = [out_dir / "dose_pairs.csv", out_dir / "truth.csv"]
    subjects.to_csv(paths[0], index=False, lineterminator="\n")
    truth.to_csv(paths[1], index=False, lineterminator="\n")
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    for path in generate(target):
        print(path)
