"""ADSL and ADRS of the combination example (fictional): the escalation subjects of ``data/dose_pairs.csv`` and
a randomized dose-optimization part.

The dose-pair grid itself is read from ``data/dose_pairs.csv`` (``combination.data`` of ``study.yaml``): the
escalation. DOSE01A is the examplinib (agent A) dose; the arm names both agents. No DLT flags are written here:
the dose-pair data are the escalation evidence (a single-agent escalation summary of agent A alone would
misstate a combination trial).

After the escalation selected 240 mg examplinib + 10 mg/kg partnermab, the lower examplinib dosage was
compared with it (as the FDA dosage-optimization guidance asks for a dosage below the one the escalation
selected): ``N_PER_ARM`` patients per arm were randomized 1:1 to examplinib 120 or 240 mg QD, each with
partnermab 10 mg/kg Q3W (RANDFL = Y). Their best overall response (ADRS, PARAMCD BOR) is drawn from the
seeded generator with the true response probabilities ``TRUE_RESPONSE`` (lower at 120 mg). The escalation
subjects' responses are not part of this example's data (they have no ADRS record and count as not
efficacy-evaluable). Deterministic: rerun after ``generate.py``.

Usage: python examples/combination/generate_adsl.py [DATA_DIR]   (default: examples/combination/data)
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: the XPT writer shared by the examples (fixed header timestamps, variable labels)
write_xpt = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examplinib" / "generate.py"))["write_xpt"]
SEED = 20240806
N_PER_ARM = 40
PARTNER_DOSE = 10.0  # mg/kg, the partnermab level of the selected pair
#: true objective-response probability of examplinib (mg QD) with partnermab 10 mg/kg (fictional)
TRUE_RESPONSE = {120.0: 0.15, 240.0: 0.55}
LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "TRT01A": "Actual Treatment",
          "DOSE01A": "Actual Dose of Agent A (mg)", "SAFFL": "Safety Population Flag",
          "RANDFL": "Randomized Population Flag", "EFFFL": "Efficacy Population Flag"}
ADRS_LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "PARAMCD": "Parameter Code",
               "PARAM": "Parameter", "AVALC": "Analysis Value (C)"}


def _arm(a: float, b: float) -> str:
    return f"EXAMPLINIB {a:g} MG QD + PARTNERMAB {b:g} MG/KG Q3W"


def randomized_part(rng: np.random.Generator) -> pd.DataFrame:
    """The randomized part: subject, agent-A dose (1:1, in a seeded random order) and best overall response."""
    doses = np.repeat(sorted(TRUE_RESPONSE), N_PER_ARM)
    doses = doses[rng.permutation(len(doses))]
    p = np.array([TRUE_RESPONSE[d] for d in doses])
    responder = rng.random(len(doses)) < p
    # a non-responder's best response: stable or progressive disease; a responder's: partial or complete
    u = rng.random(len(doses))
    bor = np.where(responder, np.where(u < 0.1, "CR", "PR"), np.where(u < 0.55, "SD", "PD"))
    return pd.DataFrame({"subject": [f"CMB-R{i + 1:03d}" for i in range(len(doses))], "dose_a": doses,
                         "bor": bor})


def build(pairs: pd.DataFrame, rnd: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    esc = pd.DataFrame({"STUDYID": "CMB-101", "USUBJID": pairs["subject"].astype(str),
                        "TRT01A": [_arm(a, b) for a, b in zip(pairs["dose_a"], pairs["dose_b"], strict=True)],
                        "DOSE01A": pairs["dose_a"].astype(float), "SAFFL": "Y", "RANDFL": "N", "EFFFL": "N"})
    ran = pd.DataFrame({"STUDYID": "CMB-101", "USUBJID": rnd["subject"],
                        "TRT01A": [_arm(a, PARTNER_DOSE) for a in rnd["dose_a"]],
                        "DOSE01A": rnd["dose_a"].astype(float), "SAFFL": "Y", "RANDFL": "Y", "EFFFL": "Y"})
    adsl = pd.concat([esc, ran], ignore_index=True)
    adrs = pd.DataFrame({"STUDYID": "CMB-101", "USUBJID": rnd["subject"], "PARAMCD": "BOR",
                         "PARAM": "Best overall response (RECIST 1.1)", "AVALC": rnd["bor"]})
    return adsl, adrs


def generate(data_dir: Path, out_dir: Path | None = None) -> Path:
    """Write adsl.xpt and adrs.xpt; returns the path of adsl.xpt."""
    adsl, adrs = build(pd.read_csv(data_dir / "dose_pairs.csv"), randomized_part(np.random.default_rng(SEED)))
    out = out_dir or data_dir
    out.mkdir(parents=True, exist_ok=True)
    write_xpt(adsl, out / "adsl.xpt", "ADSL", LABELS)
    write_xpt(adrs, out / "adrs.xpt", "ADRS", ADRS_LABELS)
    return out / "adsl.xpt"


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"))
