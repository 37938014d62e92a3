"""dossier/ingest/dataset_json.py validate_metadata: every structural problem of the CDISC Dataset-JSON 1.1
schema (https://github.com/cdisc-org/DataExchange-DatasetJson, dataset.schema.json) in one message, top-level
keys first, then the column definitions in column order."""

from __future__ import annotations

import pytest

from dossier.errors import DataError
from dossier.ingest.dataset_json import MAX_LISTED, validate_metadata

COLUMNS = [{"itemOID": "IT.USUBJID", "name": "USUBJID", "label": "Subject", "dataType": "string"},
           {"itemOID": "IT.AVAL", "name": "AVAL", "label": "Value", "dataType": "double"}]
META = {"datasetJSONCreationDateTime": "2025-01-01T10:00:00", "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.ADPP", "records": 0, "name": "ADPP", "label": "PK Parameters", "columns": COLUMNS}


def problems(meta: dict, layout: str = "dataset-json") -> list[str]:
    with pytest.raises(DataError) as exc:
        validate_metadata(meta, "ds.json", layout=layout)
    assert exc.value.where == "ds.json"
    return exc.value.what.removeprefix("invalid Dataset-JSON 1.1 structure: ").split("; ")


def test_valid_metadata_returns_the_columns():
    assert validate_metadata(META, "ds.json", layout="dataset-json") == COLUMNS
    assert validate_metadata({**META, "columns": []}, "ds.json", layout="ndjson") == []


def test_top_level_and_column_problems_in_one_message_in_order():
    cols = [{**COLUMNS[0], "name": "AVAL"}, {**COLUMNS[1], "dataType": "text", "colour": 1}, "x",
            {"itemOID": "IT.E", "label": "E", "dataType": "string", "name": ""}]
    meta = {**META, "records": -1, "label": 3, "columns": cols}
    del meta["itemGroupOID"]
    assert problems(meta) == [
        "missing required key(s) ['itemGroupOID']",
        "records -1 is not a non-negative integer",
        "label must be a string",
        "columns[1] has unknown key(s) ['colour']",
        "columns[1] (AVAL) dataType 'text' is not one of ['string', 'integer', 'decimal', 'float', 'double', "
        "'boolean', 'datetime', 'date', 'time', 'URI']",
        "column name 'AVAL' appears twice",
        "columns[2] is not an object",
        "columns[3] name must be a non-empty string",
    ]


def test_columns_that_are_not_an_array_and_ndjson_rows():
    assert problems({**META, "columns": {}}) == ["columns must be an array"]
    assert problems({**META, "rows": []}, layout="ndjson") == [
        "NDJSON metadata line must not hold `rows` (rows follow, one per line)"]


def test_at_most_max_listed_problems_are_shown():
    cols = [{"itemOID": f"IT.{i}", "label": "x", "dataType": "string", "name": "A"} for i in range(MAX_LISTED + 5)]
    found = problems({**META, "columns": cols})
    assert len(found) == MAX_LISTED + 1 and found[-1] == "... 4 more"
