"""Corruption campaign: a seeded generator of mutated inputs across every accepted format and the spec.

Each case writes a small synthetic study in one format (XPT v5, Dataset-JSON .json / .ndjson / gzip .dsjc,
CSV, gzip .csv.gz, Parquet), applies one mutation to one file or to the spec, and ingests it as
`dossier validate` / `build` would (spec parsed from its YAML text, then :func:`dossier.ingest.load_study`).
Two studies: ``adam`` (ADSL, ADEX, ADAE, ADPP, ADRS, ADTTE as standard ADaM, tests/ingest/adam_synthetic.py,
with ADAE's MedDRA coding columns AETERM/AELLT/AEPTCD as a coded AE domain delivers them)
and ``mapped`` (the same plus SDTM EX, ADQS and ADPC, read through the spec's arm_map, rename, record filter,
code lists and pk section; :func:`make_mapped_tables`). Mutations: bytes of one file (truncation, bit flips,
garbage, deleted/duplicated ranges), values of one table (columns dropped/renamed, text in numbers, blanks,
huge values, exact and conflicting duplicate records, codes outside the code list, out-of-scale PRO responses,
negative concentrations, a categorical value replaced by another of its column), and the spec (keys dropped, hostile values, duplicate keys, alias bombs,
truncation, bad paths, broken mapping). Each outcome is classified:

- ``clean-error``: a DossierError (one located message, exit 2);
- ``identical``: accepted, and the tables equal those of the unmutated study;
- ``different-warned``: accepted with different tables, and the ingest report has more warnings or
  reports rows excluded (with their reason) that the unmutated study did not;
- ``spec-changed``: a spec mutation that left a valid spec (e.g. an optional key dropped): the user's new
  study definition, whose hash the evidence records; different results are expected;
- accepted-different, undetectable by construction (counted apart, never as silent differences; each is
  what a valid file says, which no reader can tell from real data without a checksum of the delivery: the
  evidence records each input's SHA-256, so the change stays traceable):

  - ``number-changed-in-file``: a byte mutation that left a valid file whose only changes are numbers turned
    into other finite numbers (a flipped bit of an XPT double or of a digit), within plausibility ranges;
  - ``value-substituted``: a value replaced by another valid value of the same domain, i.e. another value the
    same column holds (AE term NAUSEA -> RASH, response CR -> PD, grade 2 -> 3, sex F -> M), with no column
    of the record that pairs with it (the ``substitute_value`` mutation, or a byte mutation whose only text
    changes are such replacements). Narrow on purpose: a garbled value no record holds, a blanked value, a
    lost or added row, or a change the coding cross-checks can see (AEDECOD against AEPTCD, AELLT, AETERM and
    AEBODSYS; PARAMCD against PARAM) is not in it;

- ``silent-difference``: accepted with different tables and no new warning  -> failure;
- ``traceback``: any other exception                                           -> failure;
- ``hang``: over the per-case time limit                                     -> failure.

Usage: ``python benchmarks/campaign_corruption.py [--cases 1000] [--seed 20261203] [--timeout 20] [--case N ...]``.
Prints the counts (by outcome, and by study/format x mutation for failures) and exits 1 on any failure;
``--case`` re-runs single cases of the plan (with their detail).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "ingest"))

import adam_synthetic as synthetic  # noqa: E402

from dossier.errors import DossierError  # noqa: E402
from dossier.ingest import load_study  # noqa: E402
from dossier.spec import parse_spec  # noqa: E402
from dossier.yamlio import parse_yaml  # noqa: E402

FORMATS = ("xpt", "csv", "csv.gz", "parquet", "json", "ndjson", "dsjc")
TABLES = ("subjects", "exposure", "adverse_events", "pk", "concentrations", "pk_profiles", "response",
          "time_to_event", "pro", "dosing")
BYTE_MUTATIONS = ("truncate", "truncate_half", "bitflip", "delete_range", "insert_garbage", "zero_range",
                  "empty", "append_garbage", "duplicate_range")
TABLE_MUTATIONS = ("drop_column", "rename_column", "text_in_number", "blank_required", "huge_number",
                   "negative_dose", "drop_adsl_subject", "exact_duplicate_record", "conflicting_duplicate",
                   "unknown_code", "out_of_scale", "substitute_value")
SPEC_MUTATIONS = ("spec_drop_key", "spec_hostile_value", "spec_duplicate_key", "spec_alias_bomb",
                  "spec_truncate", "spec_bad_path", "spec_mapping_edit")
#: mutations that only apply to the mapped study (they act on its code lists, ADQS, EX, ADPC or spec mapping)
MAPPED_ONLY = ("unknown_code", "out_of_scale", "spec_mapping_edit")
#: outcomes accepted with different tables that no reader can detect from the files (see the module docstring)
UNDETECTABLE = ("number-changed-in-file", "value-substituted")
HOSTILE = [float("inf"), float("nan"), -1, 0, 10**30, "", "x" * 5000, "$\\frac{a}{b}$", None, [], {},
           "../../../../etc/shadow", "2026-13-45", True]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def make_mapped_tables() -> dict[str, pd.DataFrame]:
    """The study as delivered with every mapping feature at work: ADSL with no numeric dose (``doses.arm_map``
    gives it from TRT01A) and its weight under another name (``rename``); ADEX with per-cycle records that a
    record ``filter`` drops; ADAE actions as codes (``codelists``); SDTM EX per-record dosing (a dose reduction
    on day 22 for every third subject); ADQS PRO-CTCAE and QLQ-C30 items at three visits; ADPC concentration
    profiles on days 1 and 15 (NCA through the spec's pk section)."""
    t = {k: v.copy() for k, v in synthetic.make_tables(n_subjects=12, n_ae=30, seed=7).items()}
    adsl = t["adsl"].drop(columns=["DOSE01A"]).rename(columns={"WEIGHTBL": "WTBL"})
    t["adsl"] = adsl
    adex = t["adex"].assign(PARCAT1="OVERALL")
    cycles = adex[adex["PARAMCD"] == "RDI"].assign(PARCAT1="CYCLE 1", AVAL=100.0)
    t["adex"] = pd.concat([adex, cycles], ignore_index=True)
    t["adae"]["AEACN"] = t["adae"]["AEACN"].map({a: str(i + 1) for i, a in enumerate(synthetic.ACTIONS)})
    ex, qs, pc = [], [], []
    for k, (u, dose) in enumerate(zip(adsl["USUBJID"], adsl["DOSE01P"], strict=True)):
        second = dose / 2 if k % 3 == 0 else dose
        ex += [{"STUDYID": "EX-001", "USUBJID": u, "EXSEQ": 1.0, "EXDOSE": dose, "EXDOSU": "mg", "EXDOSFRQ": "QD",
                "EXSTDY": 1.0, "EXENDY": 21.0},
               {"STUDYID": "EX-001", "USUBJID": u, "EXSEQ": 2.0, "EXDOSE": second, "EXDOSU": "mg", "EXDOSFRQ": "QD",
                "EXSTDY": 22.0, "EXENDY": 42.0}]
        if k < 10:
            for week, day in ((0, 1), (4, 29), (8, 57)):
                for code, value in (("PRO16A", 0 if week == 0 else 1 + k % 3), ("PRO53A", 1), ("C30Q10", 2),
                                    ("C30Q29", 5 - (week > 0))):
                    qs.append({"USUBJID": u, "PARAMCD": code, "AVISIT": "BASELINE" if week == 0 else f"WEEK {week}",
                               "AVISITN": float(week), "ADY": float(day), "AVAL": float(value),
                               "ABLFL": "Y" if week == 0 else ""})
        if k < 6:
            for visit, offset, acc in (("DAY 1", 0.0, 1.0), ("DAY 15", 336.0, 1.5)):
                for tt in (0.0, 1.0, 2.0, 4.0, 8.0, 24.0):
                    c = round(acc * dose / 40 * (np.exp(-0.1 * tt) - np.exp(-1.0 * tt)), 4)
                    pc.append({"USUBJID": u, "PARAMCD": "EXM", "AVISIT": visit, "AFRLT": offset + tt, "ARRLT": tt,
                               "AVAL": c if c >= 0.01 else None, "AVALC": f"{c:.4f}" if c >= 0.01 else "BLQ",
                               "AVALU": "ug/mL", "DOSEA": dose, "ALLOQ": 0.01})
    t["ex"], t["adqs"], t["adpc"] = pd.DataFrame(ex), pd.DataFrame(qs), pd.DataFrame(pc)
    return t


def mapped_spec(spec: dict) -> dict:
    """The spec features the mapped study needs (see :func:`make_mapped_tables`)."""
    ds = spec["datasets"]
    spec["doses"]["arm_map"] = {f"{d:g} mg QD": d for d in synthetic.LEVELS}
    ds["adsl"]["rename"] = {"WTBL": "WEIGHTBL"}
    ds["adex"]["filter"] = 'PARCAT1 == "OVERALL"'
    ds["adae"]["codelists"] = {"AEACN": {"1": "none", "2": "reduction", "3": "interruption", "4": "withdrawal"}}
    spec["pk"] = {"tau": 24.0, "steady_state_profiles": ["DAY 15"]}
    return spec


#: verbatim terms (AETERM) and lowest level terms (AELLT) of each preferred term, and its MedDRA code (AEPTCD)
CODING = {"NAUSEA": (("Nausea", "Feeling sick"), ("NAUSEA", "FEELING QUEASY"), 10028813.0),
          "DIARRHOEA": (("Diarrhea", "Loose stools"), ("DIARRHEA", "LOOSE STOOLS"), 10012735.0),
          "FATIGUE": (("Fatigue", "Tiredness"), ("FATIGUE", "TIREDNESS"), 10016256.0),
          "RASH": (("Rash", "Skin rash"), ("RASH", "SKIN RASH"), 10037844.0),
          "NEUTROPENIA": (("Neutropenia", "Low neutrophils"), ("NEUTROPENIA", "NEUTROPHIL COUNT LOW"), 10029354.0),
          "ALANINE AMINOTRANSFERASE INCREASED": (("ALT increased", "Raised ALT"), ("ALT INCREASED", "ALT RAISED"),
                                                 10001551.0)}


def with_meddra_coding(t: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """ADAE as delivered from a coded AE domain (SDTMIG AE, ADaM OCCDS): the verbatim term, the lowest level
    term and the preferred-term code beside AEDECOD/AEBODSYS, as the CDISC pilot's ADAE carries them, so that
    the coding cross-checks of ingest apply (a damaged AEDECOD no longer pairs with its AEPTCD/AELLT/AETERM)."""
    adae = t["adae"]
    alt = (adae["AESEQ"].to_numpy() % 2).astype(int)
    verbatim = [CODING[d][0][a] for d, a in zip(adae["AEDECOD"], alt, strict=True)]
    llt = [CODING[d][1][a] for d, a in zip(adae["AEDECOD"], alt, strict=True)]
    at = list(adae.columns).index("AEDECOD")
    for k, (col, vals) in enumerate((("AETERM", verbatim), ("AELLT", llt),
                                     ("AEPTCD", [CODING[d][2] for d in adae["AEDECOD"]]))):
        adae.insert(at + 1 + k, col, vals)
    return t


STUDIES = {"adam": lambda: with_meddra_coding(synthetic.make_tables(n_subjects=12, n_ae=30, seed=7)),
           "mapped": lambda: with_meddra_coding(make_mapped_tables())}


def write_case_study(folder: Path, fmt: str, tables: dict[str, pd.DataFrame], study: str = "adam") -> dict:
    """The study in one format; .csv.gz and .dsjc are the gzip-compressed CSV / Dataset-JSON files."""
    base = {"csv.gz": "csv", "dsjc": "json"}.get(fmt, fmt)
    spec = synthetic.write_study(folder, fmt=base, tables=tables)
    if study == "mapped":
        mapped_spec(spec)
    if fmt in ("csv.gz", "dsjc"):
        for name, ds in spec["datasets"].items():
            src = folder / ds["path"]
            dst = folder / f"{name}.{fmt}"
            dst.write_bytes(gzip.compress(src.read_bytes(), mtime=0))
            src.unlink()
            ds["path"] = dst.name
    return spec


def mutate_bytes(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    n = len(data)
    if kind == "empty":
        return b""
    if kind == "truncate_half":
        return data[: n // 2]
    if kind == "truncate":
        return data[: int(rng.integers(1, max(n, 2)))]
    i = int(rng.integers(0, n))
    if kind == "bitflip":
        b = bytearray(data)
        b[i] ^= 1 << int(rng.integers(0, 8))
        return bytes(b)
    j = min(n, i + int(rng.integers(1, 64)))
    if kind == "delete_range":
        return data[:i] + data[j:]
    if kind == "zero_range":
        return data[:i] + b"\x00" * (j - i) + data[j:]
    if kind == "duplicate_range":
        return data[:j] + data[i:j] + data[j:]
    garbage = rng.integers(0, 256, int(rng.integers(1, 64))).astype(np.uint8).tobytes()
    if kind == "insert_garbage":
        return data[:i] + garbage + data[i:]
    if kind == "append_garbage":
        return data + garbage
    raise ValueError(kind)


REQUIRED = {"adsl": ["USUBJID", "DOSE01A", "TRT01A"], "adex": ["USUBJID", "PARAMCD", "AVAL"],
            "adae": ["USUBJID", "AEDECOD", "AETOXGR"], "adpp": ["USUBJID", "PARAMCD", "AVAL"],
            "adrs": ["USUBJID", "AVALC", "PARAMCD"], "adtte": ["USUBJID", "AVAL", "CNSR"],
            "ex": ["USUBJID", "EXDOSE"], "adqs": ["USUBJID", "PARAMCD", "AVAL"], "adpc": ["USUBJID", "AVAL", "AFRLT"]}
NUMERIC = {"adsl": ["DOSE01A", "AGE", "WEIGHTBL", "WTBL"], "adex": ["AVAL"], "adae": ["ASTDY", "AENDY"],
           "adpp": ["AVAL"], "adtte": ["AVAL", "CNSR"], "ex": ["EXDOSE", "EXSTDY", "EXENDY"],
           "adqs": ["AVAL", "ADY"], "adpc": ["AVAL", "AFRLT"]}
#: the record key of each dataset (a conflicting duplicate repeats it with another value)
KEYS = {"adsl": ["USUBJID"], "adae": ["USUBJID", "AESEQ"], "adex": ["USUBJID", "PARAMCD", "PARCAT1"],
        "adpp": ["USUBJID", "PARAMCD"], "adrs": ["USUBJID", "PARAMCD"], "adtte": ["USUBJID", "PARAMCD"],
        "ex": ["USUBJID", "EXSEQ"], "adqs": ["USUBJID", "PARAMCD", "AVISIT"], "adpc": ["USUBJID", "AVISIT", "ARRLT"]}


#: categorical columns whose value a ``substitute_value`` mutation replaces by another value of the same column
SUBSTITUTABLE = {"adsl": ["TRT01A", "SEX", "RACE"], "adae": ["AEDECOD", "AEBODSYS", "AESER", "AEACN", "AETOXGR"],
                 "adrs": ["AVALC"], "adex": ["PARAMCD"], "adpp": ["PARAMCD"], "adqs": ["PARAMCD"], "adpc": ["AVISIT"]}


def substitute_value(tables: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Replace one cell of a categorical column by another value that the same column holds (its domain as
    delivered): AE term NAUSEA -> RASH, response CR -> PD, grade 2 -> 3. The coding cross-checks see it where
    the record carries a column that pairs with the value (AEPTCD/AELLT/AETERM with AEDECOD, PARAM with
    PARAMCD); otherwise the file is valid data that says something else (``value-substituted``)."""
    ds = str(rng.choice([d for d in SUBSTITUTABLE if d in tables]))
    df = tables[ds]
    col = str(rng.choice([c for c in SUBSTITUTABLE[ds] if c in df.columns]))
    i = int(rng.integers(0, len(df)))
    values = sorted({str(v) for v in df[col].dropna()} - {str(df[col].iloc[i]), ""})
    if values:
        vals = df[col].astype(object)
        vals.iloc[i] = str(rng.choice(values))
        df[col] = vals


def mutate_tables(tables: dict[str, pd.DataFrame], kind: str, rng: np.random.Generator) -> None:
    if kind == "substitute_value":
        return substitute_value(tables, rng)
    pool = NUMERIC if kind in ("text_in_number", "huge_number") else KEYS if "duplicate" in kind else REQUIRED
    names = [d for d in pool if d in tables]
    ds = str(rng.choice(names))
    df = tables[ds]
    present = [c for c in (pool[ds] if pool is not KEYS else REQUIRED[ds]) if c in df.columns]
    i = int(rng.integers(0, len(df)))
    if kind == "drop_column":
        tables[ds] = df.drop(columns=[str(rng.choice(present))])
    elif kind == "rename_column":
        col = str(rng.choice(present))
        tables[ds] = df.rename(columns={col: "Z" + col[:6]})
    elif kind == "text_in_number":
        col = str(rng.choice(present))
        vals = df[col].astype(object)
        vals.iloc[i] = str(rng.choice(["abc", "1,5", "--", "1e", "ten"]))
        df[col] = vals
    elif kind == "huge_number":
        col = str(rng.choice(present))
        df.loc[df.index[i], col] = float(rng.choice([1e300, -1e300, 1e15]))
    elif kind == "blank_required":
        col = str(rng.choice(present))
        vals = df[col].astype(object)
        vals.iloc[i] = None
        df[col] = vals
    elif kind == "negative_dose":
        adsl = tables["adsl"]
        col = "DOSE01A" if "DOSE01A" in adsl else "DOSE01P"
        adsl.loc[adsl.index[int(rng.integers(0, len(adsl)))], col] = -float(rng.integers(1, 100))
    elif kind == "drop_adsl_subject":
        adsl = tables["adsl"]
        tables["adsl"] = adsl.drop(index=adsl.index[int(rng.integers(0, len(adsl)))])
    elif kind == "exact_duplicate_record":
        j = int(rng.integers(0, len(df) + 1))
        tables[ds] = pd.concat([df.iloc[:j], df.iloc[[i]], df.iloc[j:]], ignore_index=True)
    elif kind == "conflicting_duplicate":
        # the same key again with another value in a column that is not part of the key
        other = [c for c in df.columns if c not in KEYS[ds] and df[c].notna().any()]
        col = str(rng.choice(other))
        copy = df.iloc[[i]].copy()
        v = copy[col].iloc[0]
        if pd.api.types.is_numeric_dtype(df[col]):
            copy[col] = (0.0 if pd.isna(v) else float(v)) + 1.0
        elif pd.api.types.is_datetime64_any_dtype(df[col]):
            copy[col] = (pd.Timestamp("2024-06-01") if pd.isna(v) else v) + pd.Timedelta(days=1)
        else:
            copy[col] = f"{'' if pd.isna(v) else v}X"
        tables[ds] = pd.concat([df, copy], ignore_index=True)
    elif kind == "unknown_code":  # a code the spec's code list does not list
        adae = tables["adae"]
        adae.loc[adae.index[int(rng.integers(0, len(adae)))], "AEACN"] = str(rng.choice(["9", "X", "DOSE REDUCED"]))
    elif kind == "out_of_scale":  # a questionnaire response outside its item's scale, or a negative concentration
        if rng.random() < 0.5:
            qs = tables["adqs"]
            qs.loc[qs.index[int(rng.integers(0, len(qs)))], "AVAL"] = float(rng.choice([-1.0, 8.0, 2.5, 99.0]))
        else:
            pc = tables["adpc"]
            pc.loc[pc.index[int(rng.integers(0, len(pc)))], "AVAL"] = -float(rng.integers(1, 10))
    else:
        raise ValueError(kind)


def mutate_spec_text(text: str, kind: str, rng: np.random.Generator) -> str:
    lines = text.splitlines()
    if kind == "spec_truncate":
        return text[: int(rng.integers(0, len(text)))]
    if kind == "spec_duplicate_key":
        top = [i for i, ln in enumerate(lines) if ln and not ln.startswith(" ")]
        i = int(rng.choice(top))
        end = next((k for k in range(i + 1, len(lines)) if lines[k] and not lines[k].startswith(" ")), len(lines))
        return "\n".join(lines + lines[i:end]) + "\n"
    if kind == "spec_alias_bomb":
        bomb = ["lol0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        bomb += [f"lol{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 10) + "]" for k in range(1, 9)]
        return text + "\n" + "\n".join(bomb) + "\n"
    raise ValueError(kind)


def mutate_spec_data(spec: dict, kind: str, rng: np.random.Generator) -> None:
    paths = []

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                paths.append(path + (k,))
                walk(v, path + (k,))

    walk(spec, ())
    target = paths[int(rng.integers(0, len(paths)))]
    parent = spec
    for k in target[:-1]:
        parent = parent[k]
    if kind == "spec_drop_key":
        del parent[target[-1]]
    elif kind == "spec_hostile_value":
        parent[target[-1]] = HOSTILE[int(rng.integers(0, len(HOSTILE)))]
    elif kind == "spec_bad_path":
        name = str(rng.choice(list(spec["datasets"])))
        spec["datasets"][name]["path"] = str(rng.choice(["missing.xpt", ".", "/dev/null", "/etc/shadow", ""]))
    elif kind == "spec_mapping_edit":
        ds = spec["datasets"]
        edit = int(rng.integers(0, 6))
        if edit == 0:  # an arm the data hold is no longer mapped to a dose
            arms = spec["doses"]["arm_map"]
            del arms[str(rng.choice(list(arms)))]
        elif edit == 1:  # a code the data hold is no longer listed
            codes = ds["adae"]["codelists"]["AEACN"]
            del codes[str(rng.choice(list(codes)))]
        elif edit == 2:  # a filter naming a missing column, a value no record has, or bad syntax
            ds["adex"]["filter"] = str(rng.choice(['PARCAT9 == "OVERALL"', 'PARCAT1 == "OVERAL"',
                                                   'PARCAT1 == "OVERALL" and', 'PARCAT1 = "OVERALL"']))
        elif edit == 3:  # a rename of a column the file does not hold
            ds["adsl"]["rename"] = {"WTBLX": "WEIGHTBL"}
        elif edit == 4:  # a code meaning that is not one
            ds["adae"]["codelists"]["AEACN"]["2"] = str(rng.choice(["less", "REDUCTION", ""]))
        else:  # the arm map points at a dose that is not a level
            arms = spec["doses"]["arm_map"]
            arms[str(rng.choice(list(arms)))] = float(rng.choice([1.0, 0.0, -40.0]))
    else:
        raise ValueError(kind)


def ingest(folder: Path, spec_text: str):
    data = parse_yaml(spec_text, str(folder / "study.yaml"), "spec file")
    spec = parse_spec(data, str(folder / "study.yaml"))
    return load_study(spec, folder)


def tables_equal(a, b) -> bool:
    for t in TABLES:
        x, y = getattr(a, t), getattr(b, t)
        if (x is None) != (y is None):
            return False
        if x is None:
            continue
        try:
            pd.testing.assert_frame_equal(x, y)
        except AssertionError:
            return False
    return True


def run_case(case: int, seed: int, fmt: str, mutation: str, baselines: dict, timeout_s: float,
             study: str = "adam") -> tuple[str, str]:
    rng = np.random.default_rng([seed, case])
    label = f"case {case}: {study} {fmt} {mutation}"
    folder = Path(tempfile.mkdtemp(prefix="dossier-campaign-"))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        tables = {k: v.copy() for k, v in STUDIES[study]().items()}
        if mutation in TABLE_MUTATIONS:
            mutate_tables(tables, mutation, rng)
        try:
            spec = write_case_study(folder, fmt, tables, study)
        except Exception:  # the writer cannot hold the mutated value (text in a Parquet double column)
            for name, df in tables.items():
                tables[name] = df.astype({c: str for c in df.columns if df[c].dtype == object})
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            spec = write_case_study(folder, fmt, tables, study)
        name, original = None, None
        if mutation in BYTE_MUTATIONS:
            name = str(rng.choice(list(spec["datasets"])))
            p = folder / spec["datasets"][name]["path"]
            original = p.read_bytes()
            p.write_bytes(mutate_bytes(original, mutation, rng))
        if mutation in ("spec_drop_key", "spec_hostile_value", "spec_bad_path", "spec_mapping_edit"):
            mutate_spec_data(spec, mutation, rng)
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        if mutation in ("spec_truncate", "spec_duplicate_key", "spec_alias_bomb"):
            text = mutate_spec_text(text, mutation, rng)
        try:
            data, report = ingest(folder, text)
        except DossierError:
            return "clean-error", ""
        base_data, base_report = baselines[(study, fmt)]
        if tables_equal(data, base_data):
            return "identical", ""
        if len(report.warnings) > len(base_report.warnings) or _exclusions(report) != _exclusions(base_report):
            return "different-warned", ""  # a new warning, or rows excluded with their reason in the report
        if mutation in BYTE_MUTATIONS:
            kind = _substitution_in_file(folder, spec, name, original)
            if kind:
                return kind, ""
        if mutation == "substitute_value":
            return "value-substituted", ""  # by construction: another value of the column's own domain
        if mutation in SPEC_MUTATIONS:
            # a spec that is still valid after the edit is the user's new study definition (its hash is in
            # the evidence): different results are expected, not a silent change of the data
            return "spec-changed", ""
        return "silent-difference", f"{label}\n{_differences(data, base_data)}"
    except Hang:
        return "hang", f"{label} (> {timeout_s:g} s)"
    except Exception:  # the campaign's purpose: any other exception is a defect
        return "traceback", f"{label}\n{traceback.format_exc(limit=6)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        shutil.rmtree(folder, ignore_errors=True)


def _substitution_in_file(folder: Path, spec: dict, name: str, original: bytes) -> str | None:
    """Which undetectable-by-construction class a byte mutation falls in, if any: the mutated file must read as
    a valid dataset with the original's columns and rows, whose changed cells are each

    - a finite number that became another finite number (a flipped bit of an XPT double or of a digit, 67.6 ->
      67.598): ``number-changed-in-file``; or
    - a non-blank value that became another non-blank value the same column holds in the original file (its
      domain as delivered: another AE term, another response code): ``value-substituted``.

    Anything else (a garbled term no record holds, a value blanked, a row lost or gained) is not a substitution.
    No reader can tell a substitution from real data without a checksum; the evidence records each input's
    SHA-256, so the change is traceable, and plausibility ranges and the coding cross-checks still apply."""
    from dossier.ingest import read_dataset

    path = folder / spec["datasets"][name]["path"]
    mutated = path.read_bytes()
    try:
        after = read_dataset(path, path.name).frame
        path.write_bytes(original)
        before = read_dataset(path, path.name).frame
    except DossierError:
        return None
    finally:
        path.write_bytes(mutated)
    if list(before.columns) != list(after.columns) or before.shape != after.shape:
        return None
    kind = "number-changed-in-file"
    for col in before.columns:
        x, y = before[col], after[col]
        same = (x == y) | (x.isna() & y.isna())
        if same.all():
            continue
        a = pd.to_numeric(x[~same], errors="coerce").astype(float)
        b = pd.to_numeric(y[~same], errors="coerce").astype(float)
        if np.isfinite(a).all() and np.isfinite(b).all():
            continue
        if not _substituted(x, y, same):
            return None
        kind = "value-substituted"
    return kind


def _substituted(before: pd.Series, after: pd.Series, same: pd.Series) -> bool:
    """Whether every changed cell went from a non-blank value to another non-blank value of ``before``'s own
    values (the column's domain as delivered)."""
    def blank(v) -> bool:
        return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())

    domain = {v for v in before.tolist() if not blank(v)}
    return all(not blank(a) and not blank(b) and b in domain
               for a, b in zip(before[~same].tolist(), after[~same].tolist(), strict=True))


def _numbers_changed_in_file(folder: Path, spec: dict, name: str, original: bytes) -> bool:
    return _substitution_in_file(folder, spec, name, original) == "number-changed-in-file"


def _exclusions(report) -> list:
    return [(d.name, [(e.reason, e.rows) for e in d.excluded]) for d in report.datasets]


def _differences(a, b) -> str:
    """Which tables differ, and the first differing values (to diagnose a silent difference)."""
    out = []
    for t in TABLES:
        x, y = getattr(a, t), getattr(b, t)
        if x is None or y is None:
            if (x is None) != (y is None):
                out.append(f"  {t}: {'absent' if x is None else 'present'} (baseline: "
                           f"{'absent' if y is None else 'present'})")
            continue
        try:
            pd.testing.assert_frame_equal(x, y)
        except AssertionError as err:
            out.append(f"  {t}: {str(err)[:600]}")
    return "\n".join(out)


def baseline(fmt: str, study: str = "adam"):
    folder = Path(tempfile.mkdtemp(prefix="dossier-campaign-base-"))
    try:
        spec = write_case_study(folder, fmt, STUDIES[study](), study)
        return ingest(folder, yaml.safe_dump(spec, sort_keys=False))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plan(n_cases: int, seed: int) -> list[tuple[int, str, str, str]]:
    """Which (study, format, mutation) each case gets: every triple in turn, so that any 50 consecutive cases
    span the formats, both studies and most mutations (the seed decides the details of each mutation)."""
    mutations = BYTE_MUTATIONS + TABLE_MUTATIONS + SPEC_MUTATIONS
    rng = np.random.default_rng(seed)
    triples = [(s, f, m) for m in mutations for f in FORMATS for s in STUDIES if s == "mapped" or m not in MAPPED_ONLY]
    order = rng.permutation(len(triples))
    return [(c, *triples[order[c % len(triples)]]) for c in range(n_cases)]


def run_campaign(n_cases: int, seed: int, timeout_s: float, progress: bool = False,
                 only: list[int] | None = None) -> dict:
    cases = plan(max([n_cases] + [c + 1 for c in only or []]), seed)
    if only:
        cases = [c for c in cases if c[0] in set(only)]
    baselines = {(s, f): baseline(f, s) for s, f in sorted({(s, f) for _, s, f, _ in cases})}
    counts: collections.Counter = collections.Counter()
    by_pair: collections.Counter = collections.Counter()
    failures: list[str] = []
    for case, study, fmt, mutation in cases:
        outcome, detail = run_case(case, seed, fmt, mutation, baselines, timeout_s, study)
        counts[outcome] += 1
        by_pair[(f"{study} {fmt}", mutation, outcome)] += 1
        if detail:
            failures.append(detail)
        if progress and (case + 1) % 100 == 0:
            print(f"  {case + 1} cases: {dict(counts)}", flush=True)
    return {"counts": counts, "by_pair": by_pair, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--case", type=int, nargs="*", help="run only these cases of the plan")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = run_campaign(args.cases, args.seed, args.timeout, progress=True, only=args.case)
    counts = res["counts"]
    print(f"corruption campaign: {sum(counts.values())} cases, seed {args.seed}, {time.perf_counter() - t0:.0f} s")
    for outcome in ("clean-error", "identical", "different-warned", "spec-changed"):
        print(f"  {outcome:24s} {counts.get(outcome, 0)}")
    print("  accepted-different, undetectable by construction:")
    for outcome in UNDETECTABLE:
        print(f"    {outcome:22s} {counts.get(outcome, 0)}")
    for outcome in ("silent-difference", "traceback", "hang"):
        print(f"  {outcome:24s} {counts.get(outcome, 0)}")
    bad = [(k, v) for k, v in sorted(res["by_pair"].items()) if k[2] in ("silent-difference", "traceback", "hang")]
    for (fmt, mutation, outcome), v in bad:
        print(f"  FAIL {outcome}: {fmt} x {mutation}: {v}")
    for f in res["failures"][:40]:
        print("----\n" + f)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
