"""ADSL of the combination example (fictional): one record per subject of ``data/dose_pairs.csv``.

The dossier build needs a subject-level dataset; the dose-pair grid itself is read from
``data/dose_pairs.csv`` (``combination.data`` of ``study.yaml``). DOSE01A is the examplinib (agent A) dose;
the arm names both agents. No DLT flags are written here: the dose-pair data are the escalation evidence
(a single-agent escalation summary of agent A alone would misstate a combination trial). Deterministic:
rerun after ``generate.py``.

Usage: python examples/combination/generate_adsl.py [DATA_DIR]   (default: examples/combination/data)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pyreadstat

FIXED_XPT_STAMP = b"01JAN24:00:00:00"
LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "TRT01A": "Actual Treatment",
          "DOSE01A": "Actual Dose of Agent A (mg)", "SAFFL": "Safety Population Flag"}


def build_adsl(pairs: pd.DataFrame) -> pd.DataFrame:
    arm = [f"EXAMPLINIB {a:g} MG QD + PARTNERMAB {b:g} MG/KG Q3W" for a, b in zip(pairs["dose_a"], pairs["dose_b"],
                                                                                 strict=True)]
    return pd.DataFrame({"STUDYID": "CMB-101", "USUBJID": pairs["subject"].astype(str), "TRT01A": arm,
                         "DOSE01A": pairs["dose_a"].astype(float), "SAFFL": "Y"})


def generate(data_dir: Path, out_dir: Path | None = None) -> Path:
    adsl = build_adsl(pd.read_csv(data_dir / "dose_pairs.csv"))
    path = (out_dir or data_dir) / "adsl.xpt"
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_xport(adsl, str(path), file_format_version=5, table_name="ADSL",
                           column_labels=[LABELS[c] for c in adsl.columns])
    path.write_bytes(re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", FIXED_XPT_STAMP, path.read_bytes()))
    return path


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"))
