"""End to end: the public ADaM samples in ../shared/data validate and build as delivered, with every
mapping declared in the spec (no pre-processing outside it). Expected numbers are direct pandas
counts of the raw files."""

from __future__ import annotations

import json

import pandas as pd
import pyreadstat
import yaml
from ingest_helpers import STUDY, shared

from dossier.cli import main
from dossier.pipeline import build


def _write(tmp_path, spec: dict):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _spec(datasets: dict, folder, **more) -> dict:
    spec = {"study": STUDY, "doses": {"levels": [54, 81], "control_arms": ["Placebo"]}, "proposed_dosage": 54,
            "datasets": {k: {"path": str(folder / v) if isinstance(v, str) else v} for k, v in datasets.items()},
            "filters": {"pfs_paramcd": "TTDE"}, "agencies": ["fda"]}
    spec.update(more)
    return spec


def test_phuse_cdiscpilot01_with_ex_validates(tmp_path, capsys):
    folder = shared("phuse-scripts", "cdiscpilot01")
    spec = _spec({"adsl": "adsl.xpt", "adae": "adae.xpt", "adtte": "adtte.xpt", "ex": "ex.xpt"}, folder)
    assert main(["validate", str(_write(tmp_path, spec)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {d["name"]: d["rows_out"] for d in report["datasets"]} == {"adsl": 254, "ex": 591, "adae": 1191,
                                                                       "adtte": 254}


def test_cdisc_dataset_json_formats_validate(tmp_path, capsys):
    folder = shared("cdisc-dataset-json")
    spec = _spec({"adsl": "adsl.json", "adae": "adae.ndjson", "adtte": "adtte.dsjc"}, folder)
    assert main(["validate", str(_write(tmp_path, spec)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [d["format"] for d in report["datasets"]] == ["dataset-json", "ndjson", "ndjson"]  # .dsjc: compressed NDJSON
    assert {d["name"]: d["rows_out"] for d in report["datasets"]} == {"adsl": 254, "adae": 1191, "adtte": 254}


def test_pilot_example_with_a_filter_and_rename_validates(tmp_path):
    """The mapping keys work on the committed CDISC pilot example's data."""
    folder = shared("cdisc-pilot-adam")
    spec = _spec({"adsl": "adsl.xpt", "adae": "adae.xpt", "ex": "sdtm/ex.xpt"}, folder)
    spec["datasets"]["adae"].update(filter='TRTEMFL == "Y"', rename={"AESEV": "ASEV"})
    assert main(["validate", str(_write(tmp_path, spec))]) == 0


def test_random_cdisc_data_builds_with_arm_map_as_delivered(tmp_path):
    """Doses only as arm labels, AETOXGR as text, AEACN with nine terms: built from the spec alone."""
    folder = shared("random-cdisc-data")
    spec = {"study": {**STUDY, "id": "AB12345"},
            "doses": {"levels": [480, 960], "control_arms": ["B: Placebo"],
                      "arm_map": {"A: Drug X": 480, "C: Combination": 960}},
            "proposed_dosage": 480,
            "datasets": {"adsl": {"path": str(folder / "adsl.xpt")}, "adae": {"path": str(folder / "adae.xpt")}},
            "agencies": ["fda"]}
    result = build(_write(tmp_path, spec), formats="html", out_dir=tmp_path / "out")
    evidence = json.loads((result.study_dir / "evidence.json").read_text())
    arms = {a["dose"]: a for a in evidence["analyses"]["tolerability"]["arms"]}
    sl = pyreadstat.read_xport(str(folder / "adsl.xpt"))[0]
    ae = pyreadstat.read_xport(str(folder / "adae.xpt"))[0].drop(columns=["TRT01A"], errors="ignore").merge(
        sl[["USUBJID", "TRT01A"]], on="USUBJID")
    dose_of = {"A: Drug X": 480.0, "B: Placebo": 0.0, "C: Combination": 960.0}
    reduced = ae[ae["AEACN"].isin(["DOSE REDUCED", "DOSE RATE REDUCED"])].groupby("TRT01A")["USUBJID"].nunique()
    withdrawn = ae[ae["AEACN"] == "DRUG WITHDRAWN"].groupby("TRT01A")["USUBJID"].nunique()
    n = sl.groupby("TRT01A").size()
    for arm, dose in dose_of.items():
        endpoints = {e["endpoint"]: e["rate"] for e in arms[dose]["endpoints"]}
        assert arms[dose]["n"] == n[arm]
        assert endpoints["reduced"]["events"] == reduced.get(arm, 0)
        assert endpoints["withdrawn"]["events"] == withdrawn.get(arm, 0)


def test_phuse_pilot_with_ex_builds_and_shows_titration(tmp_path):
    folder = shared("phuse-scripts", "cdiscpilot01")
    spec = _spec({"adsl": "adsl.xpt", "adae": "adae.xpt", "adtte": "adtte.xpt", "ex": "ex.xpt"}, folder,
                 randomized_dosages=[54, 81])
    result = build(_write(tmp_path, spec), formats="html", out_dir=tmp_path / "out")
    evidence = json.loads((result.study_dir / "evidence.json").read_text())
    groups = {g["dose"]: g for g in evidence["analyses"]["dosing"]["groups"]}
    ex = pyreadstat.read_xport(str(folder / "ex.xpt"))[0].sort_values(["USUBJID", "EXSTDY"])
    sl = pyreadstat.read_xport(str(folder / "adsl.xpt"))[0]

    def changed(g: pd.DataFrame) -> bool:
        nz = [x for x in g["EXDOSE"] if x > 0]
        return any(a != b for a, b in zip(nz, nz[1:], strict=False))

    per_subject = ex.groupby("USUBJID").apply(changed, include_groups=False)
    for dose in (54.0, 81.0):
        ids = sl.loc[sl["TRT01AN"] == dose, "USUBJID"]
        assert groups[dose]["n_dose_changed"] == int(per_subject.reindex(ids).fillna(False).sum())
    assert groups[81.0]["n_dose_changed"] > 0 and groups[0.0]["control"]
