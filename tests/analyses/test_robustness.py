"""run_analyses never fails on odd but valid data: random synthetic ADaM studies of several sizes, a single
dose level, endpoints without events; every result stays JSON-serializable and the sections render."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from dossier.analyses import run_analyses

from .conftest import tiny_study
from .test_sections import SECTIONS, render

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))


@pytest.mark.parametrize("n_subjects,n_ae,seed", [(12, 20, 1), (60, 300, 2), (150, 900, 3)])
def test_random_synthetic_studies(tmp_path, n_subjects, n_ae, seed):
    adam_synthetic = pytest.importorskip("adam_synthetic")
    from dossier.ingest import load_study
    from dossier.spec import parse_spec

    raw = adam_synthetic.write_study(tmp_path, n_subjects=n_subjects, n_ae=n_ae, seed=seed)
    raw["randomized_dosages"] = [80.0, 160.0]
    spec = parse_spec(raw)
    data, _ = load_study(spec, tmp_path)
    b = run_analyses(data, spec, np.random.default_rng(seed))
    text = json.dumps(b.model_dump(mode="json"))
    assert "tolerability" in text
    for s in SECTIONS:
        assert "<section id=" in render(s, b, spec)


def test_single_dose_no_events(example):
    spec, _ = example
    subjects = [{"usubjid": f"S{i}", "dose": 240.0, "randomized": False} for i in range(6)]
    aes = [{"usubjid": "S0", "grade": 1}]
    pk = [{"usubjid": f"S{i}", "paramcd": "AUCSS", "value": 10.0 + i, "unit": "h*ug/mL"} for i in range(6)]
    resp = [{"usubjid": f"S{i}", "bor": "SD", "responder": False} for i in range(6)]
    d = tiny_study(subjects, aes, pk=pk, response=resp)
    b = run_analyses(d, spec, np.random.default_rng(0))
    assert b.randomized is None and b.dose_response is None
    assert b.tolerability is not None and b.tolerability.arms[0].get("severe").events == 0
    er = b.exposure_response
    assert er is not None and er.models == [] and "single_dose_level" in er.pitfalls
    assert b.predictions is None and b.benefit_risk is None
    json.dumps(b.model_dump(mode="json"))
    for s in SECTIONS:
        assert "<section id=" in render(s, b, spec)
