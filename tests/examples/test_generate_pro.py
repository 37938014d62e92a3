"""The PRO generator reproduces the committed ADQS byte for byte, and its data tell examplinib's story."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyreadstat

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "examplinib"


def _generator():
    spec = importlib.util.spec_from_file_location("examplinib_generate_pro", EXAMPLE / "generate_pro.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_adqs(tmp_path):
    path = _generator().generate(EXAMPLE / "data", out_dir=tmp_path)
    assert path.read_bytes() == (EXAMPLE / "data" / "adqs.xpt").read_bytes(), \
        "adqs.xpt differs: rerun examples/examplinib/generate_pro.py (after generate.py)"


def test_more_diarrhoea_and_fatigue_at_higher_doses():
    """Max post-baseline PRO-CTCAE diarrhoea frequency and fatigue severity >= 3: 240 < 480 < 720+ mg."""
    adqs, _ = pyreadstat.read_xport(str(EXAMPLE / "data" / "adqs.xpt"))
    adsl, _ = pyreadstat.read_xport(str(EXAMPLE / "data" / "adsl.xpt"))
    post = adqs[adqs["ABLFL"] != "Y"].merge(adsl[["USUBJID", "DOSE01A"]])
    post = post.assign(band=post["DOSE01A"].clip(upper=720))
    for code in ("PRO16A", "PRO53A"):
        high = post[post["PARAMCD"] == code].groupby(["band", "USUBJID"])["AVAL"].max().ge(3).groupby("band").mean()
        assert high[240] < high[480] < high[720], code
