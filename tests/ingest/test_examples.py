"""The example study (examplinib, generated ADaM XPT) and the spec over real data validate and ingest."""

from __future__ import annotations

import pytest
from ingest_helpers import REPO

from dossier.ingest import check_study, load_study
from dossier.spec import load_spec

EXAMPLE = REPO / "examples" / "examplinib" / "study.yaml"


@pytest.mark.skipif(not (EXAMPLE.parent / "data" / "adsl.xpt").exists(), reason="example data not generated")
def test_example_study_ingests_with_no_error_and_no_configuration():
    spec = load_spec(EXAMPLE)
    assert all(getattr(spec.datasets, n) is None or not getattr(spec.datasets, n).columns
               for n in ("adsl", "adex", "adae", "adpp", "adrs", "adtte"))
    data, report = load_study(spec, EXAMPLE.parent)
    assert report.errors == []
    assert all(d.rows_in == d.rows_out for d in report.datasets)
    assert set(data.subjects["dose"]) <= set(spec.doses.levels)
    assert data.subjects["part"].isin(["ESCALATION", "BACKFILL", "RANDOMIZED"]).all()
    assert data.exposure is not None and data.pk is not None and data.response is not None
    assert not check_study(spec, EXAMPLE.parent).has_errors()
