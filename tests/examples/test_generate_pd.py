"""The PD generator reproduces the committed ADPD byte for byte, and its data tell examplinib's story."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyreadstat

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "examplinib"


def _generator():
    spec = importlib.util.spec_from_file_location("examplinib_generate_pd", EXAMPLE / "generate_pd.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_adpd(tmp_path):
    path = _generator().generate(EXAMPLE / "data", out_dir=tmp_path)
    assert path.read_bytes() == (EXAMPLE / "data" / "adpd.xpt").read_bytes(), \
        "adpd.xpt differs: rerun examples/examplinib/generate_pd.py (after generate.py)"


def test_inhibition_rises_with_dose_and_flattens_above_240_mg():
    """Mean week-4 change: 120 < 240 < 480 mg, and the step 240 -> 480 smaller than 120 -> 240 (Emax plateau)."""
    adpd, _ = pyreadstat.read_xport(str(EXAMPLE / "data" / "adpd.xpt"))
    adsl, _ = pyreadstat.read_xport(str(EXAMPLE / "data" / "adsl.xpt"))
    wk4 = adpd[adpd["AVISIT"] == "WEEK 4"].merge(adsl[["USUBJID", "DOSE01A"]])
    mean = wk4.groupby("DOSE01A")["CHG"].mean()
    assert mean[120] < mean[240] < mean[480]
    assert mean[480] - mean[240] < mean[240] - mean[120]
    assert (adpd.loc[adpd["ABLFL"] == "Y", "CHG"] == 0).all()
