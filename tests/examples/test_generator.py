"""The example generator reproduces the committed datasets byte for byte (seeded, fixed XPT stamps)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "examplinib"


def _generator():
    spec = importlib.util.spec_from_file_location("examplinib_generate", EXAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_files(tmp_path):
    paths = _generator().generate(tmp_path)
    assert {p.name for p in paths} == {f"{n}.xpt" for n in ("adsl", "adex", "adae", "adpp", "adrs", "adtte")}
    for p in paths:
        assert p.read_bytes() == (EXAMPLE / "data" / p.name).read_bytes(), f"{p.name} differs from the committed file"


def test_truth_favours_a_dose_below_the_mtd():
    """The story the example must tell: efficacy plateaus above ~240 mg, toxicity keeps rising."""
    gen = _generator()
    data = gen.build_datasets()
    adsl, adrs, adae = data["adsl"], data["adrs"], data["adae"]
    rand = adsl[adsl["PART"] == "RANDOMIZED"]
    resp = adrs.merge(rand[["USUBJID", "DOSE01A"]])
    orr = resp.groupby("DOSE01A")["AVALC"].apply(lambda x: x.isin(["CR", "PR"]).mean())
    assert abs(orr[240] - orr[480]) < 0.10
    ae = adae.merge(adsl[["USUBJID", "DOSE01A"]])
    g3 = ae.assign(g3=ae["AETOXGR"].astype(int) >= 3).groupby(["DOSE01A", "USUBJID"])["g3"].any()
    rate = g3.groupby("DOSE01A").mean()
    assert rate[240] < rate[480] < rate[720]
