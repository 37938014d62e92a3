"""Per-record dosing (dossier.ingest.dosing): SDTM EX of the CDISC pilot (phuse-scripts cdiscpilot01,
with its 54 -> 81 -> 54 mg titration in the high-dose arm), and ADEX per-visit DOSE/NDOSE records in the
layout of random.cdisc.data's cadex. Oracles are direct loops over the raw records written here."""

from __future__ import annotations

import adam_synthetic as synthetic
import numpy as np
import pandas as pd
import pyreadstat
import pytest
from ingest_helpers import build_spec, pilot_spec, shared

from dossier.analyses.dosing import analyse_dosing
from dossier.ingest import check_study, load_study
from dossier.ingest.dosing import day_of_hours, dose_at, dosing_summary


@pytest.fixture(scope="module")
def pilot_ex():
    folder = shared("phuse-scripts", "cdiscpilot01")
    data, report = load_study(pilot_spec({"adsl": "adsl.xpt", "adae": "adae.xpt", "ex": "ex.xpt"}), folder)
    raw = pyreadstat.read_xport(str(folder / "ex.xpt"))[0]
    return data, report, raw


def test_ex_records_carry_exactly_the_raw_doses_and_days(pilot_ex):
    data, report, raw = pilot_ex
    assert report.errors == []
    d = data.dosing
    assert len(d) == len(raw) == 591
    assert d["dose"].tolist() == raw["EXDOSE"].tolist()
    np.testing.assert_array_equal(d["start_day"].to_numpy(), raw["EXSTDY"].to_numpy())
    np.testing.assert_array_equal(d["end_day"].to_numpy(), raw["EXENDY"].to_numpy())
    # the dose in effect on each record's first and last day is that record's dose
    assert np.array_equal(data.dose_at(raw["USUBJID"], raw["EXSTDY"]), raw["EXDOSE"].to_numpy())
    has_end = raw["EXENDY"].notna().to_numpy()
    assert np.array_equal(data.dose_at(raw["USUBJID"][has_end], raw["EXENDY"][has_end]),
                          raw["EXDOSE"].to_numpy()[has_end])
    assert np.isnan(data.dose_at("01-701-1015", 0.0)[0]) and np.isnan(data.dose_at("NOBODY", 5.0)[0])


def test_summary_matches_a_record_by_record_oracle(pilot_ex):
    data, _, raw = pilot_ex
    summary = data.dosing_summary().set_index("usubjid")
    planned = pyreadstat.read_xport(str(shared("phuse-scripts", "cdiscpilot01", "adsl.xpt")))[0].set_index(
        "USUBJID")["TRT01PN"]
    for u, g in raw.sort_values(["USUBJID", "EXSTDY"]).groupby("USUBJID"):
        row = summary.loc[u]
        doses = g["EXDOSE"].tolist()
        nonzero = [x for x in doses if x > 0]
        changes = sum(1 for a, b in zip(nonzero, nonzero[1:], strict=False) if a != b)
        assert row["n_dose_changes"] == changes
        assert row["n_reductions"] == sum(1 for a, b in zip(nonzero, nonzero[1:], strict=False) if b < a)
        assert row["start_dose"] == doses[0] and row["last_dose"] == doses[-1]
        ends = g["EXENDY"].tolist()
        if any(pd.isna(e) for e in ends[:-1]):
            continue
        if pd.isna(ends[-1]):
            assert np.isnan(row["cumulative_dose"])  # open last record: not known, not 0
            continue
        cum = sum(x * (e - s + 1) for x, s, e in zip(doses, g["EXSTDY"], ends, strict=True))  # QD
        assert row["cumulative_dose"] == cum
        assert row["days_on_treatment"] == ends[-1] - g["EXSTDY"].iloc[0] + 1
        if planned[u] > 0:
            plan = planned[u] * sum(e - s + 1 for s, e in zip(g["EXSTDY"], ends, strict=True))
            assert row["rdi_pct"] == pytest.approx(100 * cum / plan, rel=1e-12)


def test_titration_is_visible_in_the_dosing_result(pilot_ex):
    data, _, raw = pilot_ex
    result = analyse_dosing(data)
    high = next(g for g in result.groups if g.dose == 81.0)
    sl = pyreadstat.read_xport(str(shared("phuse-scripts", "cdiscpilot01", "adsl.xpt")))[0]
    high_ids = set(sl.loc[sl["TRT01AN"] == 81, "USUBJID"])
    escalated = 0
    for _u, g in raw[raw["USUBJID"].isin(high_ids)].sort_values("EXSTDY").groupby("USUBJID"):
        nz = [x for x in g["EXDOSE"] if x > 0]
        escalated += any(b > a for a, b in zip(nz, nz[1:], strict=False))
    assert high.n_escalated == escalated and high.n_subjects == len(high_ids) == 84
    assert result.source == "EX" and all(s.n_dose_changes > 0 for s in result.changed)
    placebo = next(g for g in result.groups if g.control)
    assert placebo.median_rdi_pct is None and placebo.n_rdi_known == 0


def test_dose_at_onset_of_each_adverse_event(pilot_ex):
    data, _, raw = pilot_ex
    ae = data.adverse_events
    records: dict[str, list] = {}
    for r in raw.sort_values(["USUBJID", "EXSTDY"]).itertuples():
        records.setdefault(r.USUBJID, []).append((r.EXSTDY, r.EXENDY, r.EXDOSE))

    def oracle(u, day):
        recs = records.get(u, [])
        for k, (s, e, x) in enumerate(recs):
            end = e if not np.isnan(e) else (recs[k + 1][0] - 1 if k + 1 < len(recs) else np.inf)
            if s <= day <= end:
                return x
        return np.nan

    expected = [oracle(u, d) for u, d in zip(ae["usubjid"].astype(str), ae["start_day"], strict=True)]
    np.testing.assert_array_equal(ae["dose_at_onset"].to_numpy(), np.array(expected))
    assert dose_at(data.dosing, ae["usubjid"].iloc[0], ae["start_day"].iloc[0])[0] == expected[0]
    # AEs before the first dose have no dose in effect (missing, not 0)
    assert ae.loc[ae["start_day"] < 1, "dose_at_onset"].isna().all()


def test_day_of_hours():
    assert day_of_hours([0, 23.9, 24, 48.5, -1]).tolist() == [1, 1, 2, 3, -1]


def _cadex_like(adsl: pd.DataFrame) -> pd.DataFrame:
    """Per-visit DOSE / NDOSE records for two drugs (PARCAT2) plus OVERALL totals, as in cadex."""
    rows = []
    for k, (u, start) in enumerate(zip(adsl["USUBJID"], adsl["TRTSDT"], strict=True)):
        base = float(adsl["DOSE01A"].iloc[k])
        doses = [base, base, base / 2 if k % 3 == 0 else base]
        for v, dose in enumerate(doses):
            day = pd.Timestamp(start) + pd.Timedelta(days=21 * v)
            for drug, factor in (("Drug A", 1.0), ("Drug B", 2.0)):
                common = {"USUBJID": u, "PARCAT1": "INDIVIDUAL", "PARCAT2": drug, "AVISIT": f"CYCLE {v + 1}",
                          "ASTDT": day}
                rows.append({**common, "PARAMCD": "DOSE", "AVAL": dose * factor, "AVALU": "mg"})
                rows.append({**common, "PARAMCD": "NDOSE", "AVAL": 21.0 if v < 2 else 10.0, "AVALU": ""})
        rows.append({"USUBJID": u, "PARCAT1": "OVERALL", "PARCAT2": "Drug A", "AVISIT": "", "ASTDT": pd.NaT,
                     "PARAMCD": "TDOSE", "AVAL": 0.0, "AVALU": "mg"})
    return pd.DataFrame(rows)


def test_adex_per_visit_records_with_a_filter(tmp_path):
    tables = synthetic.make_tables()
    tables["adex"] = _cadex_like(tables["adsl"])
    spec = synthetic.write_study(tmp_path, tables=tables)
    spec["datasets"]["adex"]["filter"] = 'PARCAT2 == "Drug A" or PARCAT1 == "OVERALL"'
    data, report = load_study(build_spec(spec), tmp_path)
    assert report.errors == []
    raw = tables["adex"]
    a = raw[(raw["PARCAT2"] == "Drug A") & (raw["PARAMCD"] == "DOSE")]
    assert len(data.dosing) == len(a)
    n = raw[(raw["PARCAT2"] == "Drug A") & (raw["PARAMCD"] == "NDOSE")]
    expected = (a.set_index(["USUBJID", "AVISIT"])["AVAL"] * n.set_index(["USUBJID", "AVISIT"])["AVAL"]) \
        .groupby(level=0).sum()
    summary = data.dosing_summary().set_index("usubjid")
    np.testing.assert_array_equal(summary.loc[expected.index, "cumulative_dose"].to_numpy(), expected.to_numpy())
    # days from dates (ADSL TRTSDT is day 1): cycles start on days 1, 22, 43
    assert sorted(set(data.dosing["start_day"])) == [1.0, 22.0, 43.0]
    reduced = summary["n_reductions"] > 0
    assert reduced.sum() == len(tables["adsl"][::3])
    # the exposure table is derived from the records where ADEX has no overall parameters
    assert (data.exposure.set_index("usubjid")["n_reductions"] > 0).sum() == reduced.sum()
    # the dose on day 50 is the third cycle's dose
    u = tables["adsl"]["USUBJID"].iloc[0]
    assert data.dose_at(u, 50)[0] == a[(a["USUBJID"] == u) & (a["AVISIT"] == "CYCLE 3")]["AVAL"].iloc[0]
    # without the PARCAT2 filter two drugs give two doses on one day: a located error
    spec["datasets"]["adex"]["filter"] = 'PARCAT1 == "INDIVIDUAL"'
    report = check_study(build_spec(spec), tmp_path)
    errs = [e for e in report.errors if "start on the same day" in e.message]
    assert errs and errs[0].file == "adex.xpt" and "PARCAT2" in errs[0].hint


def test_summary_of_no_records_is_empty():
    out = dosing_summary(None)
    assert out.empty and "rdi_pct" in out.columns
