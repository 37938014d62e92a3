"""`dossier init DATA_DIR`: a starting spec from a folder of datasets, completed in at most five edits."""

from __future__ import annotations

import shutil

import pyreadstat
import pytest
import yaml
from ingest_helpers import shared

from dossier.cli import main
from dossier.errors import DossierError, SpecError
from dossier.ingest import check_study
from dossier.ingest.init_spec import propose_spec, todo_markers
from dossier.spec import load_spec, parse_spec

#: the edits a user makes to the spec `dossier init` writes for the CDISC pilot folder (at most five): the facts
#: the data cannot give (sponsor, compound, indication, proposed dosage) and the therapeutic area, which selects
#: the regulatory framing and is never guessed; the title starts as "Study <STUDYID>" from ADSL
PILOT_EDITS = {
    '"TODO: the sponsor"': "CDISC",
    '"TODO: the compound (INN or code)"': "xanomeline",
    '"TODO: the indication"': "Alzheimer's disease",
    '"TODO: the therapeutic area: oncology, neurology, ... (see `dossier schema`)"': "neurology",
    '"TODO: the dosage proposed, one of 54, 81"': "54",
}


def test_init_on_the_cdisc_pilot_validates_after_five_edits(tmp_path, capsys):
    folder = shared("cdisc-pilot-adam")
    out = tmp_path / "spec" / "study.yaml"
    assert main(["init", str(folder), "--out", str(out)]) == 0
    text = out.read_text()
    # validate lists what is still to do, and nothing else
    assert main(["validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{len(PILOT_EDITS)} TODO item(s)" in err and "other problem" not in err
    for key in ("study.sponsor", "study.compound", "study.indication", "study.therapeutic_area", "proposed_dosage"):
        assert f"{key}: TODO" in err
    assert len(PILOT_EDITS) <= 5
    for old, new in PILOT_EDITS.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    out.write_text(text)
    assert main(["validate", str(out)]) == 0
    spec = load_spec(out)
    raw = pyreadstat.read_xport(str(folder / "adsl.xpt"))[0]
    # inferred: dose levels from TRT01AN, the placebo arm as control, the study id, the only ADTTE parameter
    assert spec.doses.levels == sorted(set(raw["TRT01AN"]) - {0})
    assert spec.doses.control_arms == ["Placebo"] and spec.study.id == raw["STUDYID"].iloc[0]
    assert spec.filters.pfs_paramcd == "TTDE" and spec.randomized_dosages == [54.0, 81.0]
    assert {"adsl", "adae", "adtte", "ex"} <= {k for k, v in spec.datasets.model_dump().items() if v}
    report = check_study(spec, out.parent)
    assert report.errors == []
    # the per-record dosing of SDTM EX is used
    assert any(d.name == "ex" and d.rows_out == 591 for d in report.datasets)


def test_init_refuses_to_overwrite_and_needs_an_adsl(tmp_path):
    out = tmp_path / "study.yaml"
    out.write_text("mine")
    with pytest.raises(DossierError, match="not overwritten"):
        from dossier.ingest.init_spec import write_spec

        write_spec(shared("cdisc-pilot-adam"), out)
    assert out.read_text() == "mine"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DossierError, match="no ADSL found"):
        propose_spec(tmp_path / "empty", out)


def test_init_proposes_an_arm_map_with_todos_when_doses_are_only_labels(tmp_path):
    folder = shared("random-cdisc-data")
    text, todos = propose_spec(folder, tmp_path / "study.yaml")
    data = yaml.safe_load(text)
    assert data["doses"]["control_arms"] == ["B: Placebo"]
    assert set(data["doses"]["arm_map"]) == {"A: Drug X", "C: Combination"}
    paths = [p for p, _ in todo_markers(data)]
    assert "doses.arm_map.A: Drug X" in paths and "doses.levels" in paths
    with pytest.raises(SpecError, match="TODO item"):
        parse_spec(data, "study.yaml")


def test_init_reads_dose_numbers_from_arm_labels(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    import pandas as pd

    pd.DataFrame({"STUDYID": ["S1"] * 4, "USUBJID": ["1", "2", "3", "4"],
                  "TRT01A": ["Drug 100 mg", "Drug 200 mg", "Placebo", "Drug 100 mg"]}).to_csv(
        folder / "subjects.csv", index=False)  # recognised by content, not by name
    text, todos = propose_spec(folder, tmp_path / "study.yaml")
    data = yaml.safe_load(text)
    assert data["doses"]["levels"] == [100.0, 200.0]
    assert data["doses"]["arm_map"] == {"Drug 100 mg": 100, "Drug 200 mg": 200}
    assert data["doses"]["control_arms"] == ["Placebo"]
    assert "recognised by its content" in text


def test_todo_markers_find_keys_and_values():
    assert todo_markers({"a": {"b": "TODO: x", "c": [1, "TODO y"]}, "TODO": 1}) == [
        ("a.b", "TODO: x"), ("a.c[1]", "TODO y"), ("TODO", "TODO")]


def test_init_on_dataset_json_folder_uses_one_format_and_notes_the_others(tmp_path):
    src = shared("cdisc-dataset-json")
    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("adsl.json", "adsl.ndjson", "adae.json", "adtte.json"):
        shutil.copy(src / name, folder / name)
    text, _ = propose_spec(folder, tmp_path / "study.yaml")
    data = yaml.safe_load(text)
    assert data["datasets"]["adsl"]["path"].endswith("adsl.json") and "also as adsl.ndjson" in text
