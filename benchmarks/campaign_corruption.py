"""Corruption campaign: a seeded generator of mutated inputs across every accepted format and the spec.

Each case writes a small synthetic ADaM study (tests/ingest/adam_synthetic.py) in one format (XPT v5,
Dataset-JSON .json / .ndjson / gzip .dsjc, CSV, gzip .csv.gz, Parquet), applies one mutation to one file or
to the spec, and ingests it as `dossier validate` / `build` would (spec parsed from its YAML text, then
:func:`dossier.ingest.load_study`). Each outcome is classified:

- ``clean-error``: a DossierError (one located message, exit 2);
- ``identical``: accepted, and the tables equal those of the unmutated study;
- ``different-warned``: accepted with different tables, and the ingest report has more warnings or
  reports rows excluded (with their reason) that the unmutated study did not;
- ``spec-changed``: a spec mutation that left a valid spec (e.g. an optional key dropped): the user's new
  study definition, whose hash the evidence records; different results are expected;
- ``silent-difference``: accepted with different tables and no new warning  -> failure;
- ``traceback``: any other exception                                           -> failure;
- ``hang``: over the per-case time limit                                     -> failure.

Usage: ``python benchmarks/campaign_corruption.py [--cases 1000] [--seed 20261203] [--timeout 20]``.
Prints the counts (by outcome, and by format x mutation for failures) and exits 1 on any failure.
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
TABLES = ("subjects", "exposure", "adverse_events", "pk", "response", "time_to_event")
BYTE_MUTATIONS = ("truncate", "truncate_half", "bitflip", "delete_range", "insert_garbage", "zero_range",
                  "empty", "append_garbage", "duplicate_range")
TABLE_MUTATIONS = ("drop_column", "rename_column", "text_in_number", "blank_required", "huge_number",
                   "negative_dose", "drop_adsl_subject")
SPEC_MUTATIONS = ("spec_drop_key", "spec_hostile_value", "spec_duplicate_key", "spec_alias_bomb",
                  "spec_truncate", "spec_bad_path")
HOSTILE = [float("inf"), float("nan"), -1, 0, 10**30, "", "x" * 5000, "$\\frac{a}{b}$", None, [], {},
           "../../../../etc/shadow", "2026-13-45", True]


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def write_case_study(folder: Path, fmt: str, tables: dict[str, pd.DataFrame]) -> dict:
    """The study in one format; .csv.gz and .dsjc are the gzip-compressed CSV / Dataset-JSON files."""
    base = {"csv.gz": "csv", "dsjc": "json"}.get(fmt, fmt)
    spec = synthetic.write_study(folder, fmt=base, tables=tables)
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
            "adrs": ["USUBJID", "AVALC", "PARAMCD"], "adtte": ["USUBJID", "AVAL", "CNSR"]}
NUMERIC = {"adsl": ["DOSE01A", "AGE", "WEIGHTBL"], "adex": ["AVAL"], "adae": ["ASTDY", "AENDY"],
           "adpp": ["AVAL"], "adtte": ["AVAL", "CNSR"]}


def mutate_tables(tables: dict[str, pd.DataFrame], kind: str, rng: np.random.Generator) -> None:
    if kind in ("text_in_number", "huge_number"):
        ds = str(rng.choice(list(NUMERIC)))
    else:
        ds = str(rng.choice(list(REQUIRED)))
    df = tables[ds]
    if kind == "drop_column":
        tables[ds] = df.drop(columns=[str(rng.choice(REQUIRED[ds]))])
    elif kind == "rename_column":
        col = str(rng.choice(REQUIRED[ds]))
        tables[ds] = df.rename(columns={col: "Z" + col[:6]})
    elif kind == "text_in_number":
        col = str(rng.choice(NUMERIC[ds]))
        vals = df[col].astype(object)
        vals.iloc[int(rng.integers(0, len(df)))] = str(rng.choice(["abc", "1,5", "--", "1e", "ten"]))
        df[col] = vals
    elif kind == "huge_number":
        col = str(rng.choice(NUMERIC[ds]))
        df.loc[df.index[int(rng.integers(0, len(df)))], col] = float(rng.choice([1e300, -1e300, 1e15]))
    elif kind == "blank_required":
        col = str(rng.choice(REQUIRED[ds]))
        vals = df[col].astype(object)
        vals.iloc[int(rng.integers(0, len(df)))] = None
        df[col] = vals
    elif kind == "negative_dose":
        adsl = tables["adsl"]
        adsl.loc[adsl.index[int(rng.integers(0, len(adsl)))], "DOSE01A"] = -float(rng.integers(1, 100))
    elif kind == "drop_adsl_subject":
        adsl = tables["adsl"]
        tables["adsl"] = adsl.drop(index=adsl.index[int(rng.integers(0, len(adsl)))])
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


def run_case(case: int, seed: int, fmt: str, mutation: str, baselines: dict, timeout_s: float) -> tuple[str, str]:
    rng = np.random.default_rng([seed, case])
    folder = Path(tempfile.mkdtemp(prefix="dossier-campaign-"))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        tables = {k: v.copy() for k, v in synthetic.make_tables(n_subjects=12, n_ae=30, seed=7).items()}
        if mutation in TABLE_MUTATIONS:
            mutate_tables(tables, mutation, rng)
        try:
            spec = write_case_study(folder, fmt, tables)
        except Exception:  # the writer cannot hold the mutated value (text in a Parquet double column)
            for name, df in tables.items():
                tables[name] = df.astype({c: str for c in df.columns if df[c].dtype == object})
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            spec = write_case_study(folder, fmt, tables)
        if mutation in BYTE_MUTATIONS:
            name = str(rng.choice(list(spec["datasets"])))
            p = folder / spec["datasets"][name]["path"]
            p.write_bytes(mutate_bytes(p.read_bytes(), mutation, rng))
        if mutation in ("spec_drop_key", "spec_hostile_value", "spec_bad_path"):
            mutate_spec_data(spec, mutation, rng)
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        if mutation in ("spec_truncate", "spec_duplicate_key", "spec_alias_bomb"):
            text = mutate_spec_text(text, mutation, rng)
        try:
            data, report = ingest(folder, text)
        except DossierError:
            return "clean-error", ""
        base_data, base_report = baselines[fmt]
        if tables_equal(data, base_data):
            return "identical", ""
        if len(report.warnings) > len(base_report.warnings) or _exclusions(report) != _exclusions(base_report):
            return "different-warned", ""  # a new warning, or rows excluded with their reason in the report
        if mutation in SPEC_MUTATIONS:
            # a spec that is still valid after the edit is the user's new study definition (its hash is in
            # the evidence): different results are expected, not a silent change of the data
            return "spec-changed", ""
        return "silent-difference", f"case {case}: {fmt} {mutation}"
    except Hang:
        return "hang", f"case {case}: {fmt} {mutation} (> {timeout_s:g} s)"
    except Exception:  # the campaign's purpose: any other exception is a defect
        return "traceback", f"case {case}: {fmt} {mutation}\n{traceback.format_exc(limit=6)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        shutil.rmtree(folder, ignore_errors=True)


def _exclusions(report) -> list:
    return [(d.name, [(e.reason, e.rows) for e in d.excluded]) for d in report.datasets]


def baseline(fmt: str):
    folder = Path(tempfile.mkdtemp(prefix="dossier-campaign-base-"))
    try:
        spec = write_case_study(folder, fmt, synthetic.make_tables(n_subjects=12, n_ae=30, seed=7))
        return ingest(folder, yaml.safe_dump(spec, sort_keys=False))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plan(n_cases: int, seed: int) -> list[tuple[int, str, str]]:
    """Which (format, mutation) each case gets: every pair in turn, so that any 50 consecutive cases span
    the formats and most mutations (the seed decides the details of each mutation)."""
    mutations = BYTE_MUTATIONS + TABLE_MUTATIONS + SPEC_MUTATIONS
    rng = np.random.default_rng(seed)
    pairs = [(f, m) for m in mutations for f in FORMATS]
    order = rng.permutation(len(pairs))
    return [(c, *pairs[order[c % len(pairs)]]) for c in range(n_cases)]


def run_campaign(n_cases: int, seed: int, timeout_s: float, progress: bool = False) -> dict:
    baselines = {fmt: baseline(fmt) for fmt in FORMATS}
    counts: collections.Counter = collections.Counter()
    by_pair: collections.Counter = collections.Counter()
    failures: list[str] = []
    for case, fmt, mutation in plan(n_cases, seed):
        outcome, detail = run_case(case, seed, fmt, mutation, baselines, timeout_s)
        counts[outcome] += 1
        by_pair[(fmt, mutation, outcome)] += 1
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
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = run_campaign(args.cases, args.seed, args.timeout, progress=True)
    counts = res["counts"]
    print(f"corruption campaign: {args.cases} cases, seed {args.seed}, {time.perf_counter() - t0:.0f} s")
    for outcome in ("clean-error", "identical", "different-warned", "spec-changed", "silent-difference", "traceback",
                    "hang"):
        print(f"  {outcome:18s} {counts.get(outcome, 0)}")
    bad = [(k, v) for k, v in sorted(res["by_pair"].items()) if k[2] in ("silent-difference", "traceback", "hang")]
    for (fmt, mutation, outcome), v in bad:
        print(f"  FAIL {outcome}: {fmt} x {mutation}: {v}")
    for f in res["failures"][:10]:
        print("----\n" + f)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
