"""ADSL of the combination example (fictional): one record per subject of ``data/dose_pairs.csv``.

The dossier build needs a subject-level dataset; the dose-pair grid itself is read from
``data/dose_pairs.csv`` (``combination.data`` of ``study.yaml``). DOSE01A is the examplinib (agent A) dose;
the arm names both agents. No DLT flags are written here: the dose-pair data are the escalation evidence
(a single-agent escalation summary of agent A alone would misstate a combination trial). Deterministic:
rerun after ``generate.py``.

Usage: python examples/combination/generate_adsl.py [DATA_DIR]   (default: examples/combination/data)
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pandas as pd

#: the XPT writer of the examplinib generator (the examples are scripts, not a package: read by path)
write_xpt = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examplinib" / "generate.py"))["write_xpt"]
LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "TRT01A": "Actual Treatment",
          "DOSE01A": "Actual Dose of Agent A (mg)", "SAFFL": "Safety Population Flag"}


def build_adsl(pairs: pd.DataFrame) -> pd.DataFrame:
    arm = [f"EXAMPLINIB {a:g} MG QD + PARTNERMAB {b:g} MG/KG Q3W" for a, b in zip(pairs["dose_a"], pairs["dose_b"],
                                                                                 strict=True)]
    return pd.DataFrame({"STUDYID": "CMB-101", "USUBJID": pairs["subject"].astype(str), "TRT01A": arm,
                         "DOSE01A": pairs["dose_a"].astype(float), "SAFFL": "Y"})


def generate(data_dir: Path, out_dir: Path | None = None) -> Path:
    return write_xpt(build_adsl(pd.read_csv(data_dir / "dose_pairs.csv")), (out_dir or data_dir) / "adsl.xpt", "adsl", LABELS)


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"))
