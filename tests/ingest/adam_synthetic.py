"""A seeded generator of small oncology ADaM studies (the standard variables ingest maps), for tests
and ``benchmarks/bench_ingest.py``. Vectorized so 200,000 AE rows take well under a second."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LEVELS = [40.0, 80.0, 160.0, 240.0]
ACTIONS = ["DOSE NOT CHANGED", "DOSE REDUCED", "DRUG INTERRUPTED", "DRUG WITHDRAWN"]
TERMS = [("NAUSEA", "GASTROINTESTINAL DISORDERS"), ("DIARRHOEA", "GASTROINTESTINAL DISORDERS"),
         ("FATIGUE", "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS"),
         ("RASH", "SKIN AND SUBCUTANEOUS TISSUE DISORDERS"), ("NEUTROPENIA", "BLOOD AND LYMPHATIC SYSTEM DISORDERS"),
         ("ALANINE AMINOTRANSFERASE INCREASED", "INVESTIGATIONS")]


def make_tables(n_subjects: int = 60, n_ae: int = 300, seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    usubjid = np.array([f"EX-001-{i:05d}" for i in range(1, n_subjects + 1)], dtype=object)
    dose = np.array(LEVELS)[rng.integers(0, len(LEVELS), n_subjects)]
    part = np.where(rng.random(n_subjects) < 0.6, "ESCALATION", np.where(rng.random(n_subjects) < 0.5,
                                                                          "BACKFILL", "RANDOMIZED"))
    adsl = pd.DataFrame({
        "STUDYID": "EX-001", "USUBJID": usubjid, "SUBJID": [u[-5:] for u in usubjid],
        "SITEID": rng.choice(["101", "102", "201"], n_subjects),
        "ARM": [f"{d:g} mg QD" for d in dose], "TRT01P": [f"{d:g} mg QD" for d in dose],
        "TRT01A": [f"{d:g} mg QD" for d in dose], "DOSE01P": dose, "DOSE01A": dose, "DOSEU": "mg",
        "PART": part, "RANDFL": np.where(part == "RANDOMIZED", "Y", "N"), "SAFFL": "Y",
        "EFFFL": np.where(rng.random(n_subjects) < 0.9, "Y", "N"),
        "DLTEVLFL": np.where(part == "ESCALATION", "Y", "N"),
        "AGE": rng.integers(25, 85, n_subjects).astype(float), "SEX": rng.choice(["F", "M"], n_subjects),
        "RACE": rng.choice(["WHITE", "ASIAN", "BLACK OR AFRICAN AMERICAN"], n_subjects),
        "COUNTRY": rng.choice(["USA", "JPN", "DEU"], n_subjects),
        "REGION1": rng.choice(["North America", "Asia", "Europe"], n_subjects),
        "WEIGHTBL": np.round(rng.normal(72, 12, n_subjects).clip(40, 150), 1),
        "TRTSDT": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n_subjects), unit="D"),
    })
    params = [("DURD", "Treatment Duration (days)"), ("RDI", "Relative Dose Intensity (%)"),
              ("NDOSRED", "Number of Dose Reductions"), ("NDOSINT", "Number of Dose Interruptions")]
    adex = pd.DataFrame({
        "USUBJID": np.repeat(usubjid, 4), "PARAMCD": [p for p, _ in params] * n_subjects,
        "PARAM": [q for _, q in params] * n_subjects,
        "AVAL": np.column_stack([rng.integers(21, 400, n_subjects), np.round(rng.uniform(60, 100, n_subjects), 1),
                                 rng.integers(0, 3, n_subjects), rng.integers(0, 4, n_subjects)]).ravel().astype(float),
    })
    subj = rng.integers(0, n_subjects, n_ae)
    term = rng.integers(0, len(TERMS), n_ae)
    grade = rng.choice(["1", "2", "3", "4", "5"], n_ae, p=[0.45, 0.3, 0.18, 0.06, 0.01])
    start = rng.integers(1, 200, n_ae).astype(float)
    adae = pd.DataFrame({
        "USUBJID": usubjid[subj], "AESEQ": np.arange(1, n_ae + 1, dtype=float),
        "AEDECOD": np.array([t for t, _ in TERMS], dtype=object)[term],
        "AEBODSYS": np.array([s for _, s in TERMS], dtype=object)[term], "AETOXGR": grade, "ATOXGR": grade,
        "AESER": np.where(rng.random(n_ae) < 0.1, "Y", "N"), "TRTEMFL": np.where(rng.random(n_ae) < 0.95, "Y", "N"),
        "AEACN": rng.choice(ACTIONS, n_ae, p=[0.7, 0.12, 0.13, 0.05]),
        "DLTFL": np.where((grade >= "3") & (rng.random(n_ae) < 0.2), "Y", "N"),
        "ASTDY": start, "AENDY": start + rng.integers(0, 30, n_ae),
    })
    pk_codes = [("AUCSS", "AUC at steady state", "h*ng/mL"), ("CMAXSS", "Cmax at steady state", "ng/mL"),
                ("CMINSS", "Cmin at steady state", "ng/mL")]
    auc = dose * rng.lognormal(3.0, 0.3, n_subjects)
    adpp = pd.DataFrame({
        "USUBJID": np.repeat(usubjid, 3), "PARAMCD": [c for c, _, _ in pk_codes] * n_subjects,
        "PARAM": [p for _, p, _ in pk_codes] * n_subjects,
        "AVAL": np.column_stack([auc, auc / 12, auc / 40]).ravel(), "AVALU": [u for _, _, u in pk_codes] * n_subjects,
    })
    adrs = pd.DataFrame({"USUBJID": usubjid, "PARAMCD": "BOR", "PARAM": "Best Overall Response",
                         "AVALC": rng.choice(["CR", "PR", "SD", "PD", "NE"], n_subjects)})
    adtte = pd.DataFrame({"USUBJID": usubjid, "PARAMCD": "PFS", "PARAM": "Progression-Free Survival",
                          "AVAL": rng.integers(10, 700, n_subjects).astype(float),
                          "CNSR": rng.integers(0, 2, n_subjects).astype(float), "AVALU": "DAYS"})
    return {"adsl": adsl, "adex": adex, "adae": adae, "adpp": adpp, "adrs": adrs, "adtte": adtte}


def write_xpt(df: pd.DataFrame, path: Path, name: str, version: int = 5) -> None:
    import pyreadstat

    fmt = {c: "DATE9." for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}
    df = df.copy()
    for c in fmt:  # SAS dates are days since 1960-01-01
        df[c] = (df[c] - pd.Timestamp("1960-01-01")).dt.days.astype("float64")
    pyreadstat.write_xport(df, str(path), table_name=name.upper(), file_format_version=version,
                           variable_format=fmt)


def write_dataset_json(df: pd.DataFrame, path: Path, name: str, ndjson: bool = False) -> None:
    """Dataset-JSON 1.1: text -> string, numbers -> decimal (exact JSON strings), dates -> ISO dates."""
    import json

    columns, values = [], []
    for col in df.columns:
        s = df[col]
        meta = {"itemOID": f"IT.{name.upper()}.{col}", "name": col, "label": col.title()}
        if pd.api.types.is_datetime64_any_dtype(s):
            meta |= {"dataType": "date", "targetDataType": "integer"}
            values.append([None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in s])
        elif pd.api.types.is_numeric_dtype(s):
            meta |= {"dataType": "decimal"}
            values.append([None if pd.isna(v) else repr(float(v)) for v in s])
        else:
            meta |= {"dataType": "string"}
            values.append([None if pd.isna(v) else str(v) for v in s])
        columns.append(meta)
    rows = [list(r) for r in zip(*values, strict=True)] if values else []
    top = {"datasetJSONCreationDateTime": "2025-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
           "itemGroupOID": f"IG.{name.upper()}", "records": len(rows), "name": name.upper(),
           "label": name.upper(), "columns": columns}
    if ndjson:
        path.write_text("\n".join([json.dumps(top)] + [json.dumps(r) for r in rows]) + "\n", encoding="utf-8")
    else:
        path.write_text(json.dumps(top | {"rows": rows}), encoding="utf-8")


def write_study(folder: Path, n_subjects: int = 60, n_ae: int = 300, seed: int = 1, fmt: str = "xpt",
                tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """Write the study's datasets into folder; returns the spec (a dict) with paths relative to it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = tables or make_tables(n_subjects, n_ae, seed)
    datasets = {}
    for name, df in tables.items():
        if fmt == "xpt":
            path = folder / f"{name}.xpt"
            write_xpt(df, path, name)
        elif fmt == "csv":
            path = folder / f"{name}.csv"
            df.to_csv(path, index=False, date_format="%Y-%m-%d")
        elif fmt in ("json", "ndjson"):
            path = folder / f"{name}.{fmt}"
            write_dataset_json(df, path, name, ndjson=fmt == "ndjson")
        elif fmt == "parquet":
            path = folder / f"{name}.parquet"
            df.to_parquet(path, index=False)
        else:
            raise ValueError(fmt)
        datasets[name] = {"path": path.name}
    return spec_dict(datasets)


def spec_dict(datasets: dict) -> dict:
    return {
        "study": {"id": "EX-001", "title": "Synthetic", "sponsor": "Test", "compound": "examplinib",
                  "modality": "small_molecule", "therapeutic_area": "oncology", "indication": "solid tumours", "line_of_therapy": "2L+"},
        "doses": {"levels": LEVELS}, "proposed_dosage": 160.0, "datasets": datasets,
    }
