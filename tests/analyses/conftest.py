"""Shared fixtures: the examplinib example study and the CDISC pilot (real data in ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dossier.ingest.tables import StudyData

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
EXAMPLE = REPO / "examples" / "examplinib"
CDISC = REPO / "examples" / "cdisc_pilot"


@pytest.fixture(scope="session")
def example():
    from dossier.ingest import load_study
    from dossier.spec import load_spec

    spec = load_spec(EXAMPLE / "study.yaml")
    data, _ = load_study(spec, EXAMPLE)
    return spec, data


@pytest.fixture(scope="session")
def example_bundle(example):
    from dossier.analyses import run_analyses

    spec, data = example
    return run_analyses(data, spec, np.random.default_rng(spec.design.seed))


def load_cdisc():
    """The CDISC pilot spec and data (``doses.control_arms`` set even if spec.py does not know it yet)."""
    if not (SHARED / "cdisc-pilot-adam" / "adsl.xpt").exists():
        pytest.skip(f"CDISC pilot ADaM data not found at {SHARED / 'cdisc-pilot-adam'} (sibling `shared` folder)")
    from dossier.ingest import load_study
    from dossier.spec import parse_spec

    raw = yaml.safe_load((CDISC / "study.yaml").read_text())
    control = raw["doses"].get("control_arms")
    try:
        spec = parse_spec(raw, str(CDISC / "study.yaml"))
    except Exception:  # spec.py without doses.control_arms: set it as an attribute ingest reads
        raw["doses"].pop("control_arms", None)
        spec = parse_spec(raw, str(CDISC / "study.yaml"))
        object.__setattr__(spec.doses, "control_arms", control)
    data, _ = load_study(spec, CDISC)
    return spec, data


@pytest.fixture(scope="session")
def cdisc():
    return load_cdisc()


def tiny_study(subjects: list[dict], aes: list[dict] | None = None, exposure: list[dict] | None = None,
               pk: list[dict] | None = None, response: list[dict] | None = None,
               tte: list[dict] | None = None) -> StudyData:
    """A hand-made StudyData with defaults for the columns a test does not care about."""
    base = {"arm": "", "part": "", "randomized": False, "safety": True, "efficacy": True, "dlt_evaluable": False,
            "weight_kg": 70.0, "age": 60.0, "sex": "F", "race": "", "country": "", "region": "", "control": False,
            "planned_dose": np.nan}
    subj = pd.DataFrame([{**base, **s} for s in subjects])
    ae_base = {"term": "X", "soc": "Y", "grade": 1, "serious": False, "teae": True, "dlt": False, "action": "",
               "dose_reduced": False, "dose_interrupted": False, "drug_withdrawn": False, "start_day": 1.0,
               "end_day": 5.0, "severity": ""}
    ae = None
    if aes is not None:
        ae = pd.DataFrame([{**ae_base, **a} for a in aes], columns=["usubjid", *ae_base])
        ae["grade"] = ae["grade"].astype("Int64")
    return StudyData(subjects=subj, adverse_events=ae,
                     exposure=None if exposure is None else pd.DataFrame(exposure),
                     pk=None if pk is None else pd.DataFrame(pk),
                     response=None if response is None else pd.DataFrame(response),
                     time_to_event=None if tte is None else pd.DataFrame(tte))
