"""ADaM -> typed tables (:data:`~dossier.ingest.tables.TABLE_COLUMNS`), with the content checks.

Each ``map_<dataset>`` function takes a :class:`~dossier.ingest.readers.RawDataset`, finds its
variables (standard ADaM names, or the names given in the spec's ``columns:``), types every value
and adds every problem to the report with file, column, row and USUBJID. Nothing stops at the first
problem. Rows that are read but not carried into a table are counted with their reason.

Variables looked for (first one present wins):

- ADSL: USUBJID; arm TRT01A > ACTARM > ARM; dose DOSE01A > TRT01AN; planned dose DOSE01P > TRT01PN;
  PART; RANDFL > ITTFL; SAFFL; EFFFL; DLTEVLFL; WEIGHTBL; AGE; SEX; RACE; COUNTRY; REGION1;
  TRTSDT > TRTSDTM.
- ADEX (BDS): PARAMCD DURD, RDI, NDOSRED, NDOSINT -> one row per subject.
- ADAE: AEDECOD, AEBODSYS, ATOXGR > AETOXGR, AESER, TRTEMFL, DLTFL, AEACN, ASTDY, AENDY, ASEV > AESEV.
- ADPP: PARAMCD, AVAL, AVALU > PPSTRESU.  ADPC: AFRLT > ARELTM > NFRLT (hours), AVAL, AVALU.
- ADRS: PARAMCD (filters.response_paramcd), AVALC.  ADTTE: PARAMCD (filters.pfs_paramcd), AVAL, CNSR, AVALU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dossier.ingest.readers import RawDataset
from dossier.ingest.report import DatasetCount, Exclusion, IssueCollector

if TYPE_CHECKING:
    from dossier.spec import DatasetSpec

MISSING_TEXT = {"", ".", "NA", "N/A", "NAN", "NULL", "NONE"}
PARTIAL_DATE = re.compile(r"\d{4}(-\d{2})?")
FLAG_TRUE = {"Y", "YES", "TRUE", "1", "1.0"}
FLAG_FALSE = {"N", "NO", "FALSE", "0", "0.0", ""}
SAS_EPOCH = pd.Timestamp("1960-01-01")
KNOWN_RESPONSES = {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", "NA", "MR", "UNK"}


@dataclass(frozen=True)
class Var:
    """A table field and the ADaM variables that can carry it (first present wins)."""

    field: str
    candidates: tuple[str, ...]
    required: bool = False
    what: str = ""


DATASET_VARS: dict[str, list[Var]] = {
    "adsl": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("arm", ("TRT01A", "ACTARM", "ARM"), True, "actual treatment / arm"),
        Var("dose", ("DOSE01A", "TRT01AN"), True, "actual dose (numeric)"),
        Var("planned_dose", ("DOSE01P", "TRT01PN"), False, "planned dose (numeric)"),
        Var("part", ("PART",), False, "study part"),
        Var("randomized", ("RANDFL", "ITTFL"), False, "randomized flag"),
        Var("safety", ("SAFFL",), False, "safety population flag"),
        Var("efficacy", ("EFFFL",), False, "efficacy population flag"),
        Var("dlt_evaluable", ("DLTEVLFL",), False, "DLT-evaluable flag"),
        Var("weight_kg", ("WEIGHTBL",), False, "baseline weight (kg)"),
        Var("age", ("AGE",), False, "age"),
        Var("sex", ("SEX",), False, "sex"),
        Var("race", ("RACE",), False, "race"),
        Var("country", ("COUNTRY",), False, "country"),
        Var("region", ("REGION1",), False, "region"),
        Var("first_dose_date", ("TRTSDT", "TRTSDTM"), False, "date of first dose"),
        Var("discontinuation_reason", ("DCDECOD", "DCSREAS"), False, "reason for discontinuation"),
    ],
    "adex": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("paramcd", ("PARAMCD",), True, "parameter code"),
        Var("value", ("AVAL",), True, "analysis value"),
        Var("unit", ("AVALU",), False, "unit of the value"),
        Var("start_day", ("ASTDY",), False, "start relative day of the record"),
        Var("end_day", ("AENDY",), False, "end relative day of the record"),
        Var("start_date", ("ASTDTM", "ASTDT"), False, "start date of the record"),
        Var("end_date", ("AENDTM", "AENDT"), False, "end date of the record"),
        Var("visit", ("AVISIT",), False, "analysis visit"),
        Var("frequency", ("EXDOSFRQ", "DOSFRQ"), False, "dosing frequency"),
    ],
    "ex": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("dose", ("EXDOSE",), True, "dose per administration"),
        Var("unit", ("EXDOSU",), False, "dose unit"),
        Var("start_day", ("EXSTDY",), False, "start study day"),
        Var("end_day", ("EXENDY",), False, "end study day"),
        Var("start_date", ("EXSTDTC",), False, "start date"),
        Var("end_date", ("EXENDTC",), False, "end date"),
        Var("frequency", ("EXDOSFRQ",), False, "dosing frequency"),
        Var("visit", ("VISIT",), False, "visit"),
    ],
    "adae": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("term", ("AEDECOD",), True, "dictionary-derived term"),
        Var("soc", ("AEBODSYS",), False, "body system or organ class"),
        Var("grade", ("ATOXGR", "AETOXGR"), False, "CTCAE toxicity grade"),
        Var("serious", ("AESER",), False, "serious event flag"),
        Var("teae", ("TRTEMFL",), False, "treatment-emergent flag"),
        Var("dlt", ("DLTFL",), False, "dose-limiting toxicity flag"),
        Var("action", ("AEACN",), False, "action taken with study treatment"),
        Var("start_day", ("ASTDY",), False, "analysis start relative day"),
        Var("end_day", ("AENDY",), False, "analysis end relative day"),
        Var("severity", ("ASEV", "AESEV"), False, "severity"),
    ],
    "adpp": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("paramcd", ("PARAMCD",), True, "parameter code"),
        Var("value", ("AVAL",), True, "analysis value"),
        Var("unit", ("AVALU", "PPSTRESU"), False, "unit of the value"),
    ],
    "adpc": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("time_h", ("AFRLT", "ARELTM", "NFRLT"), True, "time since first dose (h)"),
        Var("value", ("AVAL",), True, "concentration"),
        Var("unit", ("AVALU",), False, "concentration unit"),
        Var("paramcd", ("PARAMCD",), False, "analyte parameter code"),
    ],
    "adrs": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("paramcd", ("PARAMCD",), True, "parameter code"),
        Var("bor", ("AVALC",), True, "response (character)"),
    ],
    "adtte": [
        Var("usubjid", ("USUBJID",), True, "unique subject identifier"),
        Var("paramcd", ("PARAMCD",), True, "parameter code"),
        Var("time", ("AVAL",), True, "time to event"),
        Var("cnsr", ("CNSR",), True, "censoring (0 event, 1 censored)"),
        Var("unit", ("AVALU",), False, "time unit"),
    ],
}

TABLE_OF = {"adsl": "subjects", "adex": "exposure", "ex": "dosing", "adae": "adverse_events", "adpp": "pk",
            "adpc": "concentrations", "adrs": "response", "adtte": "time_to_event"}
EXPOSURE_PARAMS = {"DURD": "duration_days", "RDI": "rdi_pct", "NDOSRED": "n_reductions",
                   "NDOSINT": "n_interruptions"}


class Mapper:
    """Maps one raw dataset: resolves its variables and types its values, reporting problems."""

    def __init__(self, name: str, raw: RawDataset, overrides: dict[str, str], issues: IssueCollector,
                 count: DatasetCount, ds: DatasetSpec | None = None, optional: frozenset[str] = frozenset()):
        self.name, self.raw, self.issues, self.count = name, raw, issues, count
        self.optional = optional  # fields not required here (e.g. the dose when doses.arm_map gives it)
        self.file = raw.path
        self.df = raw.frame
        self.n = len(self.df)
        self.rows = np.arange(1, self.n + 1)
        self.keep = np.ones(self.n, dtype=bool)
        self.codelists: dict[str, dict[str, str]] = {}
        self.filter_ok = True
        self.extra: dict[str, pd.DataFrame | None] = {}
        if ds is not None:
            self._as_delivered(ds)
        self.cols = self._resolve(overrides)
        self._factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.usubjid: np.ndarray | None = None
        if self.cols.get("usubjid"):
            self.usubjid = self.text("usubjid")
        if ds is not None:
            self._recode()
        self._duplicates(ds.key if ds is not None else None)
        if self.cols.get("paramcd"):  # ADaM BDS: PARAMCD and PARAM are one-to-one (ADaM IG 3.3.4)
            why = "ADaM pairs each PARAMCD with one PARAM"
            check_one_to_one(self, self.cols["paramcd"], "PARAM", why)
            check_one_to_one(self, "PARAM", self.cols["paramcd"], why)

    # -- the data as delivered: renames, log scale, record filter, code lists, duplicates ----------
    def _as_delivered(self, ds: DatasetSpec) -> None:
        where = f"datasets.{self.name}"
        if ds.rename:
            present = {str(c) for c in self.df.columns}
            for old, new in ds.rename.items():
                if old not in present:
                    self.issues.error(f"column '{old}' to rename is not in the file", file=self.file, column=old,
                                      hint=f"fix {where}.rename; columns in the file: {self._list_columns()}")
                elif new in present and new != old and new not in ds.rename:
                    self.issues.error(f"renaming '{old}' to '{new}' would hide the file's own column '{new}'",
                                      file=self.file, column=old,
                                      hint=f"rename '{new}' too, or choose another name in {where}.rename")
            self.df = self.df.rename(columns={o: n for o, n in ds.rename.items() if o in present})
        for col, scale in ds.log_scale.items():
            name = self._find(col)
            if name is None:
                self.issues.error(f"column '{col}' (log_scale) is not in the file", file=self.file, column=col,
                                  hint=f"fix {where}.log_scale; columns in the file: {self._list_columns()}")
                continue
            vals = pd.to_numeric(self.df[name], errors="coerce").astype("float64")
            with np.errstate(over="ignore"):
                back = np.exp(vals) if scale == "ln" else np.power(10.0, vals)
            self.df = self.df.assign(**{name: back})
        if ds.filter:
            from dossier.filters import FilterSyntaxError, RecordFilter

            try:
                mask = RecordFilter(ds.filter, self.name).evaluate(self.df)
            except FilterSyntaxError as err:
                self.issues.error(err.what, file=self.file, hint=err.hint)
                self.filter_ok = False
                return
            self.exclude(~mask, f"not selected by the filter: {ds.filter}")
        self.codelists = {k: {str(c).strip().upper(): str(v).strip() for c, v in cl.items()}
                          for k, cl in ds.codelists.items()}
        for col in self.codelists:
            if self._find(col) is None:
                self.issues.error(f"column '{col}' (codelists) is not in the file", file=self.file, column=col,
                                  hint=f"fix {where}.codelists; columns in the file: {self._list_columns()}")

    def _find(self, col: str) -> str | None:
        names = [str(c) for c in self.df.columns]
        if col in names:
            return col
        upper = {n.upper(): n for n in names}
        return upper.get(col.upper())

    def codelist(self, field: str) -> dict[str, str] | None:
        """The spec's code list of the column carrying ``field`` (codes upper case), if any."""
        col = self.cols.get(field)
        if col is None:
            return None
        for k, cl in self.codelists.items():
            if k.upper() == str(col).upper():
                return cl
        return None

    def _recode(self) -> None:
        """Code lists of variables without a special meaning replace each listed code by its meaning."""
        semantic = {("adae", "action"), ("adrs", "bor")}
        special = {str(self.cols.get(f)).upper() for d, f in semantic if d == self.name and self.cols.get(f)}
        for k, cl in self.codelists.items():
            name = self._find(k)
            if name is None or name.upper() in special:
                continue
            s = self.df[name]
            txt = pd.Series(_text_array(s), index=s.index)
            mapped = txt.str.upper().map(cl)
            self.df = self.df.assign(**{name: mapped.where(mapped.notna(), s.astype(object))})
            self._factors.pop(name, None)

    def _duplicates(self, key: list[str] | None) -> None:
        """Exact duplicate records are dropped (warning); records sharing the key but differing otherwise
        are errors naming both rows."""
        if self.n < 2:
            return
        kept = np.flatnonzero(self.keep)
        frame = self.df.iloc[kept].reset_index(drop=True)
        if frame.columns.duplicated().any():
            return  # the reader reports duplicated column names
        hashed = pd.util.hash_pandas_object(frame.astype(object).where(frame.notna(), None), index=False)
        exact = hashed.duplicated(keep="first").to_numpy()
        if exact.any():
            # confirm the hash matches by comparing the rows themselves
            first_of = pd.Series(np.arange(len(frame))).groupby(hashed.to_numpy()).transform("first").to_numpy()
            cand = np.flatnonzero(exact)
            same = np.ones(len(cand), dtype=bool)
            for c in range(frame.shape[1]):
                col = frame.iloc[:, c]
                same &= _equal_or_both_missing(col.iloc[cand].to_numpy(), col.iloc[first_of[cand]].to_numpy())
            rows = cand[same]
            idx = kept[rows]
            if len(idx):
                mask = np.zeros(self.n, dtype=bool)
                mask[idx] = True
                self.exclude(mask, "exact duplicate of an earlier record (dropped)")
                firsts = kept[first_of[rows]]
                for i, j in list(zip(idx, firsts, strict=True))[:10]:
                    self.issues.add("warning", f"record is an exact duplicate of row {j + 1}; dropped",
                                    file=self.file, row=int(i + 1), usubjid=self._subj(np.array([i]))[0],
                                    kind="exact duplicate", hint="remove the repeated record; it is counted once")
                if len(idx) > 10:
                    self.issues.bump("warning", self.file, None, "exact duplicate", len(idx) - 10)
        cols = key if key is not None else _default_key(self.name, [str(c) for c in self.df.columns])
        if not cols:
            return
        names = [self._find(c) for c in cols]
        if any(n is None for n in names):
            if key is not None:
                miss = [c for c, n in zip(cols, names, strict=True) if n is None]
                self.issues.error(f"key variable(s) {miss} not in the file", file=self.file, column=miss[0],
                                  hint=f"fix datasets.{self.name}.key; columns in the file: {self._list_columns()}")
            return
        kept = np.flatnonzero(self.keep)
        keys = pd.DataFrame({n: _text_array(self.df[n].iloc[kept]) for n in names})
        dup = keys.duplicated(keep=False).to_numpy()
        if not dup.any():
            return
        first = keys[dup].groupby(list(keys.columns), sort=False).ngroup()
        seen: dict[int, int] = {}
        n_listed = 0
        for pos, g in zip(np.flatnonzero(dup), first.to_numpy(), strict=True):
            if g not in seen:
                seen[g] = pos
                continue
            a, b = kept[seen[g]], kept[pos]
            differ = [str(c) for c in self.df.columns
                      if not _same_value(self.df[c].iloc[a], self.df[c].iloc[b])][:5]
            what = ", ".join(f"{n}={keys.iloc[pos][n]!r}" for n in names)
            n_listed += 1
            title = "duplicate subject in ADSL" if self.name == "adsl" else "conflicting duplicate"
            self.issues.add("error", f"{title}: rows {a + 1} and {b + 1} of {self.file} have the same "
                                     f"{' + '.join(names)} ({what}) but differ in {', '.join(differ) or '?'}",
                            file=self.file, column=names[0], row=int(b + 1),
                            usubjid=self._subj(np.array([b]))[0] if self.usubjid is not None else None,
                            kind="conflicting duplicate",
                            hint="keep one record per key (a record filter in the spec can select it), or set "
                                 f"datasets.{self.name}.key if these records are distinct")

    # -- columns ---------------------------------------------------------------------------
    def _resolve(self, overrides: dict[str, str]) -> dict[str, str | None]:
        vars_ = DATASET_VARS[self.name]
        present = {str(c).upper(): str(c) for c in self.df.columns}
        by_field = {v.field: list(v.candidates) for v in vars_}
        candidates = {c for v in vars_ for c in v.candidates}
        allowed = {v.field for v in vars_} | candidates
        forced: dict[str, str] = {}
        for key, target in overrides.items():
            if key.lower() in by_field and (key in by_field or key.upper() not in candidates):
                key = key.lower()
                forced[key] = target
                continue
            hit = [v for v in vars_ if key.upper() in v.candidates]
            if not hit:
                self.issues.error(f"`columns:` key '{key}' is not a variable of {self.name.upper()}",
                                  file=self.file, column=key,
                                  hint=f"allowed keys: {', '.join(sorted(allowed, key=str.lower))}")
                continue
            for v in hit:
                by_field[v.field] = [target if c == key.upper() else c for c in by_field[v.field]]
        out: dict[str, str | None] = {}
        for v in vars_:
            if v.field in forced:
                actual = self.df.columns[self.df.columns == forced[v.field]]
                name = actual[0] if len(actual) else present.get(forced[v.field].upper())
                if name is None:
                    self.issues.error(f"column '{forced[v.field]}' (mapped to {v.field} in the spec) is not in the file",
                                      file=self.file, column=forced[v.field],
                                      hint=f"fix datasets.{self.name}.columns.{v.field}; columns in the file: "
                                           f"{self._list_columns()}")
                out[v.field] = name
                continue
            name = None
            for cand in by_field[v.field]:
                if cand in self.df.columns:
                    name = cand
                    break
                if cand.upper() in present:
                    name = present[cand.upper()]
                    break
            if name is None and v.required and v.field not in self.optional:
                self.issues.error(f"required column missing: {' or '.join(by_field[v.field])} ({v.what})",
                                  file=self.file, column=by_field[v.field][0],
                                  hint=f"add the variable, or map your column in the spec: "
                                       f"`datasets.{self.name}.columns: {{{v.field}: YOUR_COLUMN}}`; "
                                       f"columns in the file: {self._list_columns()}")
            out[v.field] = name
        return out

    def _list_columns(self, limit: int = 25) -> str:
        names = [str(c) for c in self.df.columns]
        return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "") or "(none)"

    def has(self, field: str) -> bool:
        return self.cols.get(field) is not None

    def ok(self) -> bool:
        """All required columns were found."""
        return all(self.cols.get(v.field) for v in DATASET_VARS[self.name]
                   if v.required and v.field not in self.optional)

    def _subj(self, idx: np.ndarray) -> list[str | None]:
        if self.usubjid is None:
            return [None] * len(idx)
        return [str(self.usubjid[i]) or None for i in idx]

    def report_rows(self, level: str, field: str | None, idx: np.ndarray, message: str,
                    hint: str | None = None, values: pd.Series | np.ndarray | None = None) -> None:
        column = self.cols.get(field) if field else None
        for i, u in zip(idx[:50], self._subj(idx[:50]), strict=True):
            msg = message if values is None else f"{message} (value {_show(values[i])})"
            self.issues.add(level, msg, file=self.file, column=column, row=int(self.rows[i]), usubjid=u,
                            hint=hint, kind=message)
        # count the remainder so the collector summarizes it
        if len(idx) > 50:
            self.issues.bump(level, self.file, column, message, len(idx) - 50)

    # -- typed values ----------------------------------------------------------------------
    # Text work happens on the distinct values of a column (factorized once), then is spread back to
    # the rows by their codes: ADaM text columns are low-cardinality, so 200,000 rows cost little.
    def _factor(self, field: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(codes, stripped distinct values as text); missing values are ""."""
        col = self.cols.get(field)
        if col is None:
            return None
        cached = self._factors.get(col)
        if cached is not None:
            return cached
        s = self.df[col]
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        texts = [_as_text(u) for u in np.asarray(uniques, dtype=object)] + [""]
        codes = np.where(codes < 0, len(texts) - 1, codes)
        out = (codes, np.array(texts, dtype=object))
        self._factors[col] = out
        return out

    def text(self, field: str, upper: bool = False, default: str = "") -> np.ndarray:
        """Stripped text values (object array); missing -> ""; absent column -> default."""
        f = self._factor(field)
        if f is None:
            return np.full(self.n, default, dtype=object)
        codes, uniq = f
        if upper:
            uniq = np.array([u.upper() for u in uniq], dtype=object)
        return uniq[codes]

    def matches(self, field: str, test) -> np.ndarray:
        """Boolean per row: test(distinct text value) evaluated once per distinct value."""
        f = self._factor(field)
        if f is None:
            return np.zeros(self.n, dtype=bool)
        codes, uniq = f
        return np.array([bool(test(u)) for u in uniq], dtype=bool)[codes]

    def number(self, field: str, *, required_values: bool = False, hint: str | None = None) -> pd.Series:
        """Float64 values; text that is not a number is an error (with row)."""
        col = self.cols.get(field)
        if col is None:
            return pd.Series(np.full(self.n, np.nan))
        s = self.df[col]
        if pd.api.types.is_bool_dtype(s):
            self.report_rows("error", field, np.arange(self.n), "expected numbers, found true/false", hint)
            return pd.Series(np.full(self.n, np.nan))
        if pd.api.types.is_numeric_dtype(s):
            out = pd.to_numeric(s, errors="coerce").astype("float64").reset_index(drop=True)
        elif pd.api.types.is_datetime64_any_dtype(s):
            self.report_rows("error", field, np.arange(min(self.n, 1)), "expected numbers, found dates", hint)
            return pd.Series(np.full(self.n, np.nan))
        else:
            codes, uniq = self._factor(field)
            missing_u = np.array([u.upper() in MISSING_TEXT for u in uniq], dtype=bool)
            num_u = pd.to_numeric(pd.Series(np.where(missing_u, None, uniq), dtype=object), errors="coerce")
            num_u = num_u.astype("float64").to_numpy()
            out = pd.Series(num_u[codes])
            bad = np.flatnonzero((np.isnan(num_u) & ~missing_u)[codes])
            if len(bad):
                self.report_rows("error", field, bad, "not a number", hint or "fix the value; numbers only in this column",
                                 values=uniq[codes])
        arr = out.to_numpy()
        inf = np.flatnonzero(np.isinf(arr))
        if len(inf):
            self.report_rows("error", field, inf, "value is infinite", "fix the value")
            out[np.isinf(arr)] = np.nan
        if required_values:
            miss = np.flatnonzero(out.isna().to_numpy() & self.keep)
            if len(miss):
                self.report_rows("error", field, miss, "value is missing", hint)
        return out

    def flag(self, field: str, default: bool = False) -> np.ndarray:
        """ADaM flags: "Y" -> True; "N" or blank -> False; anything else is an error."""
        col = self.cols.get(field)
        if col is None:
            return np.full(self.n, default)
        s = self.df[col]
        if pd.api.types.is_bool_dtype(s):
            return s.fillna(False).to_numpy(dtype=bool)
        true = self.matches(field, lambda u: u.upper() in FLAG_TRUE)
        bad = np.flatnonzero(~true & ~self.matches(field, lambda u: u.upper() in FLAG_FALSE))
        if len(bad):
            self.report_rows("error", field, bad, "flag is not Y, N or blank",
                             "ADaM flags hold Y (yes) or N/blank (no)", values=self.text(field))
        return true

    def date(self, field: str) -> pd.Series:
        """Dates: datetimes as read, SAS dates (days since 1960-01-01) or ISO 8601 text."""
        col = self.cols.get(field)
        if col is None:
            return pd.Series(pd.NaT, index=range(self.n), dtype="datetime64[ns]")
        s = self.df[col].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            return s.astype("datetime64[ns]")
        if pd.api.types.is_numeric_dtype(s):
            vals = s.astype("float64")
            unit = "s" if col.upper().endswith("DTM") else "D"
            bad = np.flatnonzero(vals.notna().to_numpy() & (vals.abs().to_numpy() > (1e11 if unit == "s" else 1e6)))
            if len(bad):
                self.report_rows("error", field, bad, "SAS date out of range", "fix the value",
                                 values=vals.to_numpy())
                vals[bad] = np.nan
            return (SAS_EPOCH + pd.to_timedelta(vals, unit=unit)).astype("datetime64[ns]")
        if s.dtype == object and len(s) and all(hasattr(v, "year") or v is None or v is pd.NaT for v in s):
            return pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
        txt = self.text(field)
        missing = self.matches(field, lambda u: u.upper() in MISSING_TEXT)
        as_num = pd.to_numeric(pd.Series(np.where(missing, None, txt), dtype=object), errors="coerce")
        if (~missing).any() and as_num[~missing].notna().all():
            # numbers in a text file (CSV): SAS dates (days) or datetimes (seconds) since 1960-01-01
            unit = "s" if col.upper().endswith("DTM") else "D"
            return (SAS_EPOCH + pd.to_timedelta(as_num.astype("float64"), unit=unit)).astype("datetime64[ns]")
        # an ISO 8601 partial date (2024, 2024-03) is not a day: never imputed silently (to the 1st)
        partial = self.matches(field, lambda u: PARTIAL_DATE.fullmatch(u.strip()) is not None) & ~missing
        if partial.any():
            self.report_rows("warning", field, np.flatnonzero(partial & self.keep),
                             "partial date (year or year-month only) kept as not collected",
                             "impute it in the ADaM dataset by a documented rule (with its imputation flag)",
                             values=txt)
            missing = missing | partial
        parsed = pd.to_datetime(pd.Series(np.where(missing, None, txt), dtype=object), errors="coerce",
                                format="ISO8601")
        bad = np.flatnonzero(parsed.isna().to_numpy() & ~missing)
        if len(bad):
            self.report_rows("error", field, bad, "unparseable date", "write dates as ISO 8601 (YYYY-MM-DD)",
                             values=txt)
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed.astype("datetime64[ns]")

    def exclude(self, mask: np.ndarray, reason: str) -> None:
        """Drop rows (still kept) matching mask, recording the reason."""
        hit = mask & self.keep
        n = int(hit.sum())
        if n:
            self.count.excluded.append(Exclusion(reason=reason, rows=n))
            self.keep &= ~mask

    def check_usubjid(self) -> None:
        if self.usubjid is None:
            return
        blank = np.flatnonzero(self.usubjid == "")
        if len(blank):
            self.report_rows("error", "usubjid", blank, "USUBJID is blank", "every record needs its subject's USUBJID")

    def check_not_empty(self) -> bool:
        if self.n == 0:
            self.issues.error(f"{self.name.upper()} has no rows", file=self.file,
                              hint="the dataset is empty; export it with its records or remove it from the spec")
            return False
        return True


#: variables identifying one record, by dataset (groups: the first present of each; all must be found)
DEFAULT_KEYS: dict[str, list[tuple[str, ...]]] = {
    "adsl": [("USUBJID",)],
    "adae": [("USUBJID",), ("AESEQ",)],
    "adex": [("USUBJID",), ("PARAMCD",), ("PARCAT1",), ("PARCAT2",), ("AVISIT", "AVISITN"),
             ("ASTDTM", "ASTDT", "ASTDY"), ("EXSEQ",)],
    "adrs": [("USUBJID",), ("PARAMCD",), ("AVISIT", "AVISITN"), ("ADT", "ADY")],
    "adtte": [("USUBJID",), ("PARAMCD",)],
    "adpp": [("USUBJID",), ("PARAMCD",), ("PPCAT", "PARCAT1"), ("AVISIT", "AVISITN"), ("PPSPEC",)],
    "ex": [("USUBJID",), ("EXSEQ",)],
}
#: groups without which there is no key check (the others are added when present)
KEY_REQUIRED = {"adsl": 1, "adae": 2, "adex": 2, "adrs": 2, "adtte": 2, "adpp": 2, "ex": 2}


def _default_key(name: str, columns: list[str]) -> list[str]:
    upper = {c.upper(): c for c in columns}
    groups = DEFAULT_KEYS.get(name, [])
    out: list[str] = []
    for i, group in enumerate(groups):
        hit = next((upper[g] for g in group if g in upper), None)
        if hit is None and i < KEY_REQUIRED.get(name, 0):
            return []
        if hit is not None:
            out.append(hit)
    return out


def _text_array(s: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = [_as_text(u) for u in np.asarray(uniques, dtype=object)] + [""]
    return np.array(texts, dtype=object)[np.where(codes < 0, len(texts) - 1, codes)]


def _same_value(a: object, b: object) -> bool:
    if pd.isna(a) and pd.isna(b):  # type: ignore[arg-type]
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _equal_or_both_missing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = pd.isna(a), pd.isna(b)
    try:
        eq = np.asarray(a == b, dtype=bool)
    except (TypeError, ValueError):
        eq = np.array([_same_value(x, y) for x, y in zip(a, b, strict=True)], dtype=bool)
    return (eq & ~na & ~nb) | (na & nb)


def _as_text(v: object) -> str:
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, float):
        return "" if np.isnan(v) else (f"{v:.0f}" if v.is_integer() and abs(v) < 1e15 else repr(v))
    return str(v).strip()


def _string_array(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """A pandas "string" array, built through pyarrow directly when that is pandas' storage (fast)."""
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow" and dtype.na_value is pd.NA:
        import pyarrow as pa

        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string(), from_pandas=True))
    return pd.array(values, dtype="string")


def _show(v: object) -> str:
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _finish(table: str, data: dict[str, object], keep: np.ndarray) -> pd.DataFrame:
    from dossier.ingest.tables import TABLE_COLUMNS

    cols = TABLE_COLUMNS[table]
    frame = {}
    for name, dtype in cols.items():
        v = data[name]
        v = v.to_numpy() if isinstance(v, pd.Series) else np.asarray(v)
        v = v[keep]
        if dtype == "string":
            frame[name] = _string_array(v.astype(object))
        elif dtype in ("Int64", "boolean"):
            frame[name] = pd.array(v, dtype=dtype)
        else:
            frame[name] = v.astype(dtype)
    return pd.DataFrame(frame, columns=list(cols))


# -- ADSL ----------------------------------------------------------------------------------------
def map_adsl(m: Mapper, levels: list[float], control_arms: list[str],
             arm_map: dict[str, float] | None = None) -> pd.DataFrame | None:
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    arm = m.text("arm")
    safety = m.flag("safety", default=True)
    for field, default in (("safety", "all subjects are taken as the safety population"),
                           ("efficacy", "no subject is flagged efficacy-evaluable"),
                           ("dlt_evaluable", "no subject is flagged DLT-evaluable"),
                           ("randomized", "no subject is flagged randomized")):
        if not m.has(field):
            cands = next(v.candidates for v in DATASET_VARS["adsl"] if v.field == field)
            m.issues.warning(f"no {'/'.join(cands)} column: {default}", file=m.file, column=cands[0],
                             hint=f"add the flag or map it with `datasets.adsl.columns: {{{field}: ...}}`")
    dose_hint = "DOSE01A (or TRT01AN) must hold the subject's actual dose in the spec's dose unit"
    control_set = {a.strip().upper() for a in control_arms}
    is_control = m.matches("arm", lambda u: u.upper() in control_set)
    if arm_map:
        dose, planned = _doses_from_arms(m, arm_map, is_control, safety)
    else:
        dose = m.number("dose", hint=dose_hint).to_numpy().copy()
        planned = m.number("planned_dose").to_numpy().copy()
    # subjects never treated (no dose and not in the safety population) are excluded, not errors
    m.exclude(np.isnan(dose) & ~safety & ~is_control, "not treated: no actual dose and not in the safety population")
    keep = m.keep
    if is_control.any():
        bad = np.flatnonzero(is_control & keep & ~np.isnan(dose) & (dose != 0))
        if len(bad):
            m.report_rows("error", "dose", bad, "subject of a control arm has a non-zero dose",
                          "control (placebo) arms have dose 0; check the arm or doses.control_arms",
                          values=dose)
        dose[is_control] = 0.0
        planned[is_control] = 0.0
    active = keep & ~is_control
    missing = np.flatnonzero(active & np.isnan(dose))
    if len(missing):
        m.report_rows("error", "dose", missing, "actual dose is missing", dose_hint)
    nonpos = np.flatnonzero(active & ~np.isnan(dose) & (dose <= 0))
    if len(nonpos):
        m.report_rows("error", "dose", nonpos, "dose must be greater than 0", (
            "if this is a placebo/control arm declare it in the spec: `doses: {control_arms: [<arm name>]}`; "
            "otherwise fix the dose"), values=dose)
    lv = np.asarray(sorted(levels), dtype=float)
    snapped = _snap(dose, lv)
    off = np.flatnonzero(active & ~np.isnan(dose) & (dose > 0) & np.isnan(snapped))
    if len(off):
        m.report_rows("error", "dose", off, f"dose is not one of the spec's dose levels {[f'{x:g}' for x in lv]}",
                      "fix the dose or add the level to doses.levels in the spec (same unit)", values=dose)
    dose = np.where(active & ~np.isnan(snapped), snapped, dose)
    planned = np.where(np.isnan(planned), dose, planned)
    psnap = _snap(planned, lv)
    poff = np.flatnonzero(active & ~np.isnan(planned) & np.isnan(psnap))
    if len(poff):
        m.report_rows("warning", "planned_dose", poff, "planned dose is not one of the spec's dose levels",
                      "check DOSE01P/TRT01PN against doses.levels", values=planned)
    planned = np.where(~np.isnan(psnap), psnap, planned)
    age = m.number("age").to_numpy()
    weight = m.number("weight_kg").to_numpy()
    odd_age = np.flatnonzero(keep & ((age < 0) | (age > 120)))
    if len(odd_age):
        m.report_rows("error", "age", odd_age, "age outside 0-120 years", "fix the value", values=age)
    odd_w = np.flatnonzero(keep & ((weight <= 0) | (weight > 500)))
    if len(odd_w):
        m.report_rows("error", "weight_kg", odd_w, "baseline weight outside 0-500 kg",
                      "WEIGHTBL must be in kg", values=weight)
    for field, (terms, codelist) in DEMOGRAPHIC_TERMS.items():
        check_terms(m, field, terms, codelist, keep)
    data = {
        "usubjid": m.usubjid, "arm": arm, "dose": dose, "planned_dose": planned,
        "part": m.text("part", upper=True), "randomized": m.flag("randomized"), "safety": safety,
        "efficacy": m.flag("efficacy"), "dlt_evaluable": m.flag("dlt_evaluable"), "weight_kg": weight,
        "age": age, "sex": m.text("sex"), "race": m.text("race"), "country": m.text("country"),
        "region": m.text("region"), "first_dose_date": m.date("first_dose_date"), "control": is_control,
        "discontinuation_reason": m.text("discontinuation_reason", upper=True),
    }
    return _finish("subjects", data, m.keep)


def _doses_from_arms(m: Mapper, arm_map: dict[str, float], is_control: np.ndarray,
                     safety: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dose of each subject from its arm label (doses.arm_map; labels compared stripped, case-insensitive).

    A numeric dose column, when present, must agree with the map (a warning names the rows that do not)."""
    by_label = {a.strip().upper(): float(d) for a, d in arm_map.items()}
    arm = m.text("arm", upper=True)
    dose = np.array([by_label.get(a, np.nan) for a in arm], dtype=float)
    unmapped = np.flatnonzero(np.isnan(dose) & ~is_control & m.keep & (arm != ""))
    m.exclude(np.isnan(dose) & ~is_control & ~safety, "not treated: arm not in doses.arm_map and not in the safety "
                                                      "population")
    unmapped = unmapped[m.keep[unmapped]]
    if len(unmapped):
        known = sorted(arm_map)
        m.report_rows("error", "arm", unmapped, "arm is not in doses.arm_map nor in doses.control_arms",
                      f"add the arm to doses.arm_map (arm label: dose level) or to doses.control_arms; "
                      f"mapped arms: {known}", values=m.text("arm"))
    if m.has("dose"):
        given = m.number("dose").to_numpy()
        off = np.flatnonzero(m.keep & ~is_control & ~np.isnan(given) & ~np.isnan(dose)
                             & ~np.isclose(given, dose, rtol=1e-9, atol=1e-9))
        if len(off):
            m.report_rows("warning", "dose", off, "numeric dose differs from the dose of the arm in doses.arm_map "
                                                  "(the arm map is used)", "check doses.arm_map", values=given)
    planned = dose.copy()
    return dose, planned


def _snap(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Each value replaced by the dose level it equals (within rounding), NaN when none."""
    out = np.full(values.shape, np.nan)
    for lvl in levels:
        out[np.isclose(values, lvl, rtol=1e-9, atol=1e-9)] = lvl
    return out


# -- BDS helpers -----------------------------------------------------------------------------------
def _select_param(m: Mapper, wanted: set[str] | None, what: str) -> pd.Series:
    paramcd = m.text("paramcd", upper=True)
    if wanted is not None:
        for code in sorted(set(paramcd[m.keep]) - wanted):
            mask = paramcd == code
            m.exclude(mask, f"PARAMCD {code or '(blank)'} is not {what}")
    return paramcd


def _duplicates(m: Mapper, keys: list[pd.Series | np.ndarray], what: str, hint: str) -> None:
    frame = pd.DataFrame({f"k{i}": np.asarray(k, dtype=object) for i, k in enumerate(keys)})
    dup = frame.duplicated(keep="first").to_numpy() & m.keep
    if dup.any():
        # duplicates among kept rows only
        kept = frame[m.keep]
        dmask = np.zeros(m.n, dtype=bool)
        dmask[np.flatnonzero(m.keep)[kept.duplicated(keep="first").to_numpy()]] = True
        idx = np.flatnonzero(dmask)
        if len(idx):
            m.report_rows("error", "usubjid", idx, what, hint)


def _dosing_records(m: Mapper, sel: np.ndarray, dose: np.ndarray, schedule: str, unit: str,
                    n_admin: np.ndarray | None = None) -> pd.DataFrame:
    """The ``dosing`` table rows of the records ``sel``: days, dose, administrations, frequency."""
    from dossier.ingest.dosing import administrations

    start, end = m.number("start_day").to_numpy(), m.number("end_day").to_numpy()
    freq = m.text("frequency", upper=True, default=schedule.upper())
    freq = np.where(freq == "", schedule.upper(), freq)
    if m.has("unit"):
        units = m.text("unit")
        off = np.flatnonzero(sel & (units != "") & (np.char.lower(units.astype(str)) != unit.lower()))
        if len(off):
            m.report_rows("error", "unit", off, f"dose unit differs from the spec's unit {unit!r}",
                          "convert the doses to the spec's unit (doses.unit)", values=units)
    admin = administrations(start, end, freq)
    if n_admin is not None:
        admin = np.where(np.isnan(n_admin), admin, n_admin)
    data = {"usubjid": m.usubjid, "start_day": start, "end_day": end,
            "start_date": m.date("start_date"), "end_date": m.date("end_date"), "dose": dose,
            "n_admin": admin, "frequency": freq, "visit": m.text("visit"), "row": m.rows.astype(float),
            "source": np.full(m.n, m.name.upper(), dtype=object)}
    return _finish("dosing", data, sel)


def map_ex(m: Mapper, schedule: str = "QD", unit: str = "mg") -> pd.DataFrame | None:
    """SDTM EX: one dosing record per row (EXDOSE per administration, EXSTDY..EXENDY)."""
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    dose = m.number("dose", hint="EXDOSE holds the dose per administration").to_numpy()
    neg = np.flatnonzero(m.keep & (dose < 0))
    if len(neg):
        m.report_rows("error", "dose", neg, "dose is negative", "fix EXDOSE", values=dose)
    m.exclude(np.isnan(dose), "EXDOSE missing")
    return _dosing_records(m, m.keep.copy(), dose, schedule, unit)


def map_adex(m: Mapper, dose_params: list[str] | None = None, schedule: str = "QD",
             unit: str = "mg") -> pd.DataFrame | None:
    """ADEX: the overall parameters (DURD, RDI, NDOSRED, NDOSINT) pivoted to one row per subject; records
    of the per-record dose parameters (``filters.dose_paramcd``, e.g. DOSE per AVISIT) go to
    ``m.extra["dosing"]``, with the number of administrations from an NDOSE record of the same visit."""
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    value = m.number("value").to_numpy()
    dose_codes = {c.upper() for c in (dose_params or [])}
    paramcd = m.text("paramcd", upper=True)
    per_record = np.isin(paramcd, list(dose_codes)) & m.keep
    count = (paramcd == "NDOSE") & m.keep
    if per_record.any():
        n_admin = np.full(m.n, np.nan)
        if count.any():
            parts = zip(m.usubjid.astype(str).tolist(), m.text("visit").tolist(),
                        _text_array(pd.Series(m.number("start_day").to_numpy())).tolist(),
                        _text_array(m.date("start_date")).tolist(), strict=True)
            visit_key = pd.Series(["\x1f".join(p) for p in parts], dtype=object)
            counts = pd.Series(value[count], index=visit_key[count].to_numpy())
            counts = counts[~counts.index.duplicated()]
            n_admin = visit_key.map(counts).to_numpy(dtype=float)
        neg = np.flatnonzero(per_record & (value < 0))
        if len(neg):
            m.report_rows("error", "value", neg, "dose is negative", "fix AVAL", values=value)
        m.extra["dosing"] = _dosing_records(m, per_record & ~np.isnan(value), value, schedule, unit, n_admin)
        m.exclude(per_record, "per-record dose (to the dosing table)")
        m.exclude(count, "number of administrations per record (to the dosing table)")
        m.exclude(np.isin(paramcd, ["TDOSE", "TNDOSE", "TDURD"]),
                  "overall total (derived again from the dosing records)")
    paramcd = _select_param(m, set(EXPOSURE_PARAMS), f"one of {sorted(EXPOSURE_PARAMS)}")
    _duplicates(m, [m.usubjid, paramcd], "more than one ADEX record for this subject and PARAMCD",
                "keep one overall record per subject and PARAMCD (e.g. filter PARCAT1 = OVERALL)")
    neg = np.flatnonzero(m.keep & (value < 0))
    if len(neg):
        m.report_rows("error", "value", neg, "exposure value is negative", "fix AVAL", values=value)
    blank = np.flatnonzero(m.keep & np.isnan(value) & np.isin(paramcd, list(EXPOSURE_PARAMS)))
    if len(blank):
        m.report_rows("warning", "value", blank, "exposure value is blank (kept as not collected for the subject)",
                      "fill AVAL from the source, or remove the record if the parameter was not derived")
    keep = m.keep
    subjects = pd.unique(pd.Series(m.usubjid[keep], dtype=object))
    out = pd.DataFrame({"usubjid": subjects})
    for code, col in EXPOSURE_PARAMS.items():
        sel = keep & (paramcd == code)
        vals = pd.Series(value[sel], index=m.usubjid[sel]).groupby(level=0).first()
        out[col] = out["usubjid"].map(vals).astype("float64")
    data = {c: out[c].to_numpy() for c in out.columns}
    return _finish("exposure", data, np.ones(len(out), dtype=bool))


def map_adae(m: Mapper) -> pd.DataFrame | None:
    from dossier.labels import safety_label  # the one source of the measures' labels

    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    grade = np.full(m.n, np.nan)
    if m.has("grade"):
        grade = m.number("grade", hint="AETOXGR/ATOXGR hold the CTCAE grade 1-5").to_numpy().copy()
        out = np.flatnonzero(~np.isnan(grade) & ((grade < 1) | (grade > 5) | (grade != np.round(grade))))
        if len(out):
            m.report_rows("error", "grade", out, "grade outside 1-5", "CTCAE grades are the integers 1 to 5",
                          values=grade)
            grade[out] = np.nan
        miss = np.flatnonzero(np.isnan(grade) & m.keep)
        if len(miss):
            m.report_rows("warning", "grade", miss, "AE has no toxicity grade",
                          f"grade missing: the AE counts in all-grade tables but not as a {safety_label('grade3')}")
    else:
        basis = "severity" if m.has("severity") else "none"
        m.issues.warning(f"no AETOXGR/ATOXGR column: toxicity grade is missing in all {int(m.keep.sum())} AE "
                         f"records; {safety_label('grade3')} is not collected (reported as such, never as 0); "
                         + (f"severe AEs are counted by severity: {safety_label('severe', basis)}" if basis == "severity"
                            else "no severity (AESEV) either, so severe AEs are not collected"),
                         file=m.file, column="AETOXGR",
                         hint="oncology studies need the CTCAE grade; map it with `datasets.adae.columns: {grade: ...}`")
    if not m.has("teae"):
        m.issues.warning("no TRTEMFL column: every AE is taken as treatment-emergent", file=m.file, column="TRTEMFL")
    if not m.has("serious"):
        m.issues.warning("no AESER column: serious AEs are not collected (reported as such, never as 0)",
                         file=m.file, column="AESER", hint="map the serious-event flag with "
                         "`datasets.adae.columns: {serious: ...}`")
    action = m.text("action", upper=True)
    reduced, interrupted, withdrawn = _actions(m)
    _warn_blank_action(m, action)
    term = m.text("term")
    blank = np.flatnonzero(term == "")
    if len(blank):
        m.report_rows("warning", "term", blank, "AE has no coded term (AEDECOD blank)", "code the AE with MedDRA")
    check_meddra_coding(m)
    start, end = m.number("start_day").to_numpy(), m.number("end_day").to_numpy()
    data = {
        "usubjid": m.usubjid, "term": term, "soc": m.text("soc"),
        "grade": pd.array(np.where(np.isnan(grade), np.nan, grade), dtype="Float64").astype("Int64"),
        "serious": m.flag("serious"), "teae": m.flag("teae"), "dlt": m.flag("dlt"), "action": action,
        "dose_reduced": reduced, "dose_interrupted": interrupted, "drug_withdrawn": withdrawn,
        "start_day": start, "end_day": end, "severity": m.text("severity", upper=True),
        "dose_at_onset": np.full(m.n, np.nan),
    }
    return _finish("adverse_events", data, m.keep)


def _warn_blank_action(m: Mapper, action: np.ndarray) -> None:
    """AEACN absent, or blank in some or all records: dose modifications are not collected / partly unknown."""
    what = "dose reductions, interruptions and discontinuations for AEs"
    hint = "map the action taken with study treatment with `datasets.adae.columns: {action: ...}`"
    if not m.has("action"):
        m.issues.warning(f"no AEACN column: {what} are not collected (reported as such, never as 0)",
                         file=m.file, column="AEACN", hint=hint)
        return
    col = m.cols.get("action") or "AEACN"
    n = int(m.keep.sum())
    blank = int(((action == "") & m.keep).sum())
    if n and blank == n:
        m.issues.warning(f"{col} is blank in all {n} AE records: {what} are not collected "
                         "(reported as such, never as 0)", file=m.file, column=col, hint=hint)
    elif blank:
        m.issues.warning(f"{col} is blank in {blank} of {n} AE records: {what} are unknown for subjects whose "
                         "only such records are blank (rates use the subjects with known values)",
                         file=m.file, column=col, hint=hint)


ACTION_MEANINGS = ("reduction", "interruption", "withdrawal", "increase", "none", "unknown")
#: AEACN terms (CDISC C66767) whose answer is "not known": the modification flags are missing
ACTION_UNKNOWN = {"", "UNKNOWN", "NOT EVALUABLE", "U", "UNK"}
#: the terms of the CDISC codelist C66767 (Action Taken with Study Treatment), and the unknown spellings
ACTION_TERMS = ACTION_UNKNOWN | {"DOSE INCREASED", "DOSE NOT CHANGED", "DOSE RATE REDUCED", "DOSE REDUCED",
                                 "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE"}


#: the MedDRA coding of an ADAE/AE record (SDTMIG 3.3 AE domain, ADaM OCCDS): (key, value, why) pairs where
#: each key determines one value in MedDRA itself (a lowest level term belongs to one preferred term; a term
#: and its code name each other) or within one study's coding (a verbatim term coded one way). A record that
#: breaks one was damaged or mistyped: the check reports it at its row; what it cannot see is a term replaced
#: by another term together with every column that codes it.
MEDDRA_PAIRS = (
    ("AEDECOD", "AEBODSYS", "MedDRA gives each preferred term one primary system organ class"),
    ("AELLT", "AEDECOD", "MedDRA places each lowest level term under one preferred term"),
    ("AEDECOD", "AEPTCD", "a preferred term and its MedDRA code name each other"),
    ("AEPTCD", "AEDECOD", "a preferred term and its MedDRA code name each other"),
    ("AELLT", "AELLTCD", "a lowest level term and its MedDRA code name each other"),
    ("AELLTCD", "AELLT", "a lowest level term and its MedDRA code name each other"),
    ("AETERM", "AEDECOD", "a study codes each verbatim term to one preferred term"),
)


#: the CDISC controlled terminology of ADSL's demographic variables (both codelists are non-extensible):
#: SEX C66731, RACE C74457 (SDTM CT); "" is blank, reported elsewhere
DEMOGRAPHIC_TERMS = {
    "sex": ({"F", "M", "U", "UNDIFFERENTIATED"}, "C66731"),
    "race": ({"AMERICAN INDIAN OR ALASKA NATIVE", "ASIAN", "BLACK OR AFRICAN AMERICAN",
              "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER", "WHITE", "MULTIPLE", "OTHER", "UNKNOWN",
              "NOT REPORTED"}, "C74457"),
}


def check_terms(m: Mapper, field: str, terms: set[str], codelist: str, keep: np.ndarray) -> None:
    """Warn at rows whose value of a CDISC-coded variable is not a term of its codelist (a damaged value, e.g.
    'ASIAN' whose XPT blank padding took a flipped bit, or a sponsor spelling): the value is used as given."""
    if not m.has(field):
        return
    odd = np.flatnonzero(keep & m.matches(field, lambda u: u != "" and u.upper() not in terms))
    if len(odd):
        m.report_rows("warning", field, odd, f"{m.cols[field]} value is not a CDISC term ({codelist}); used as given",
                      "correct the value to the codelist's term", values=m.text(field))


def check_meddra_coding(m: Mapper) -> None:
    """Cross-check the MedDRA coding columns an AE dataset carries (:data:`MEDDRA_PAIRS`); the mapped term
    column stands for AEDECOD and the mapped system organ class for AEBODSYS."""
    alias = {"AEDECOD": m.cols.get("term"), "AEBODSYS": m.cols.get("soc")}
    for key, value, why in MEDDRA_PAIRS:
        check_one_to_one(m, alias.get(key, key), alias.get(value, value), why)


def check_one_to_one(m: Mapper, key_col: str | None, value_col: str | None, why: str) -> None:
    """Warn at rows whose ``value_col`` differs from the value most records of the same ``key_col`` carry (an AE
    term with another system organ class, a PARAMCD with another PARAM): a damaged or mistyped record."""
    key_col = m._find(key_col) if key_col else None
    value_col = m._find(value_col) if value_col else None
    if key_col is None or value_col is None:
        return
    frame = pd.DataFrame({"k": _text_array(m.df[key_col]), "v": _text_array(m.df[value_col])})[m.keep]
    frame = frame[(frame["k"] != "") & (frame["v"] != "")]
    if frame.empty:
        return
    counts = frame.groupby(["k", "v"], sort=False).size().reset_index(name="n")
    counts = counts.sort_values(["k", "n", "v"], ascending=[True, False, True], kind="mergesort")
    first = counts.drop_duplicates("k").set_index("k")
    rest = counts[~counts.index.isin(counts.drop_duplicates("k").index)].drop_duplicates("k").set_index("k")
    usual, second = first["v"], rest["v"]
    # where the two most common values of a key are equally common, no record can be told right: all are warned
    tied = set(rest.index[(first["n"].reindex(rest.index) == rest["n"]).to_numpy()])
    odd_mask = (frame["v"].to_numpy() != frame["k"].map(usual).to_numpy()) | frame["k"].isin(tied).to_numpy()
    odd = frame.index[odd_mask].to_numpy()
    message = f"{value_col} differs from the other records of the same {key_col} ({why})"
    for i, u in zip(odd[:50], m._subj(odd[:50]), strict=True):
        other = usual[frame.loc[i, "k"]] if frame.loc[i, "v"] != usual[frame.loc[i, "k"]] else second[frame.loc[i, "k"]]
        m.issues.add("warning", f"{message} (value {_show(frame.loc[i, 'v'])}; the others have "
                                f"{_show(other)})", file=m.file, column=value_col,
                     row=int(m.rows[i]), usubjid=u, kind=message,
                     hint="check the record against the source; a damaged or mistyped value is used as given")
    if len(odd) > 50:
        m.issues.bump("warning", m.file, value_col, message, len(odd) - 50)


def default_action_meaning(code: str) -> str:
    """Meaning of an AEACN code without a spec code list (CDISC controlled terms, C66767)."""
    u = code.strip().upper()
    if u in ACTION_UNKNOWN:
        return "unknown"
    if "REDUCED" in u:
        return "reduction"
    if "INTERRUPTED" in u:
        return "interruption"
    if "WITHDRAWN" in u:
        return "withdrawal"
    if "INCREASED" in u:
        return "increase"
    return "none"


def _actions(m: Mapper) -> tuple[pd.array, pd.array, pd.array]:
    """Reduction / interruption / withdrawal per AE (nullable booleans): missing where the action is not
    known (AEACN blank, UNKNOWN, NOT EVALUABLE, or no AEACN column: "not collected", never "no")."""
    n = m.n
    if not m.has("action"):
        na = pd.array([pd.NA] * n, dtype="boolean")
        return na, na.copy(), na.copy()
    codelist = m.codelist("action")
    if codelist is not None:
        bad = sorted({v for v in codelist.values() if v.lower() not in ACTION_MEANINGS})
        if bad:
            m.issues.error(f"code list of {m.cols['action']} has meanings {bad}", file=m.file,
                           column=m.cols["action"], hint=f"AEACN meanings are {', '.join(ACTION_MEANINGS)}")
        unlisted = np.flatnonzero(m.keep & m.matches("action", lambda u: u.upper() not in codelist
                                                     and u.upper() not in ACTION_UNKNOWN))
        if len(unlisted):
            m.report_rows("warning", "action", unlisted, "AEACN value is not in the spec's code list (taken as "
                          "unknown)", f"add it to datasets.adae.codelists.{m.cols['action']}",
                          values=m.text("action"))

        def meaning(u: str) -> str:
            return codelist.get(u.upper(), "unknown").lower()
    else:
        meaning = default_action_meaning
        odd = np.flatnonzero(m.keep & m.matches("action", lambda u: u.upper() not in ACTION_TERMS))
        if len(odd):
            m.report_rows("warning", "action", odd, "AEACN value is not a CDISC term (C66767); read by its words",
                          "correct the value, or declare the sponsor's codes in datasets.adae.codelists.AEACN",
                          values=m.text("action"))
    codes, uniq = m._factor("action")
    mean = np.array([meaning(u) for u in uniq], dtype=object)[codes]
    unknown = mean == "unknown"

    def flag(word: str):
        arr = pd.array(mean == word, dtype="boolean")
        arr[unknown] = pd.NA
        return arr

    return flag("reduction"), flag("interruption"), flag("withdrawal")


def _check_units(m: Mapper, groups: np.ndarray, unit: np.ndarray, what: str) -> None:
    frame = pd.DataFrame({"g": pd.Series(groups, dtype=object), "u": pd.Series(unit, dtype=object)})[m.keep]
    for g, units in frame.groupby("g")["u"]:
        distinct = sorted(set(units))
        if len(distinct) > 1:
            counts = units.value_counts()
            minority = counts.index[-1]
            idx = np.flatnonzero(m.keep & (groups == g) & (unit == minority))
            m.report_rows("error", "unit", idx[:10],
                          f"mixed units within {what} {g}: {', '.join(repr(u) for u in distinct)}",
                          "convert all values of one parameter to a single unit before ingest")


def map_adpp(m: Mapper) -> pd.DataFrame | None:
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    paramcd = m.text("paramcd", upper=True)
    value = m.number("value").to_numpy()
    m.exclude(np.isnan(value), "AVAL missing (parameter not calculable)")
    neg = np.flatnonzero(m.keep & (value < 0))
    if len(neg):
        m.report_rows("error", "value", neg, "PK parameter is negative", "fix AVAL", values=value)
    unit = m.text("unit")
    if m.has("unit"):
        _check_units(m, paramcd, unit, "PARAMCD")
    _duplicates(m, [m.usubjid, paramcd], "more than one ADPP record for this subject and PARAMCD",
                "keep one record per subject and PK parameter (e.g. the steady-state profile)")
    data = {"usubjid": m.usubjid, "paramcd": paramcd, "value": value, "unit": unit}
    return _finish("pk", data, m.keep)


def map_adpc(m: Mapper) -> pd.DataFrame | None:
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    time = m.number("time_h").to_numpy()
    value = m.number("value").to_numpy()
    m.exclude(np.isnan(value), "AVAL missing (e.g. sample not analysed)")
    m.exclude(np.isnan(time), "time missing")
    neg = np.flatnonzero(m.keep & (value < 0))
    if len(neg):
        m.report_rows("error", "value", neg, "concentration is negative", "fix AVAL", values=value)
    unit = m.text("unit")
    if m.has("unit"):
        _check_units(m, m.text("paramcd", upper=True), unit, "analyte")
    data = {"usubjid": m.usubjid, "time_h": time, "value": value, "unit": unit}
    return _finish("concentrations", data, m.keep)


def map_adrs(m: Mapper, response_paramcd: str, responders: list[str]) -> pd.DataFrame | None:
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    code = response_paramcd.upper()
    paramcd = _select_param(m, {code}, f"the response parameter {code} (filters.response_paramcd)")
    if not (paramcd == code).any():
        m.issues.error(f"no ADRS record has PARAMCD {code}", file=m.file, column=m.cols["paramcd"],
                       hint=f"set filters.response_paramcd to one of {sorted(set(paramcd))[:10]}")
        return None
    bor = m.text("bor", upper=True)
    _duplicates(m, [m.usubjid], f"more than one {code} record for this subject",
                "ADRS must hold one best-overall-response record per subject for this PARAMCD")
    known = KNOWN_RESPONSES | {r.upper() for r in responders} | set(m.codelist("bor") or {})
    odd = np.flatnonzero(m.keep & ~m.matches("bor", lambda u: u.upper() in known))
    if len(odd):
        m.report_rows("warning", "bor", odd, "unexpected response value (not CR, PR, SD, PD, NE)",
                      "check AVALC; it counts as a non-responder", values=bor)
    wanted = {r.upper() for r in responders}
    responder = m.matches("bor", lambda u: u.upper() in wanted)
    codelist = m.codelist("bor")
    if codelist is not None:
        means = {"responder", "non-responder", "unknown"}
        bad = sorted({v for v in codelist.values() if v.lower() not in means})
        if bad:
            m.issues.error(f"code list of {m.cols['bor']} has meanings {bad}", file=m.file, column=m.cols["bor"],
                           hint="response meanings are responder, non-responder, unknown")
        responder = m.matches("bor", lambda u: codelist.get(u.upper(), "").lower() == "responder")
        unknown = m.matches("bor", lambda u: codelist.get(u.upper(), "unknown").lower() == "unknown")
        m.exclude(unknown, "response not evaluable per the spec's code list")
    data = {"usubjid": m.usubjid, "bor": bor, "responder": responder}
    return _finish("response", data, m.keep)


def map_adtte(m: Mapper, pfs_paramcd: str) -> pd.DataFrame | None:
    if not m.check_not_empty() or not m.ok():
        return None
    m.check_usubjid()
    code = pfs_paramcd.upper()
    paramcd = _select_param(m, {code}, f"the time-to-event parameter {code} (filters.pfs_paramcd)")
    if not (paramcd == code).any():
        m.issues.error(f"no ADTTE record has PARAMCD {code}", file=m.file, column=m.cols["paramcd"],
                       hint=f"set filters.pfs_paramcd to one of {sorted(set(paramcd))[:10]}")
        return None
    time = m.number("time", required_values=True, hint="AVAL holds the time to event or censoring").to_numpy()
    cnsr = m.number("cnsr", required_values=True, hint="CNSR is 0 (event) or 1 (censored)").to_numpy()
    bad = np.flatnonzero(m.keep & ~np.isnan(cnsr) & ~np.isin(cnsr, (0.0, 1.0)))
    if len(bad):
        m.report_rows("error", "cnsr", bad, "CNSR is not 0 or 1",
                      "ADaM CNSR: 0 = event, 1 (or a positive code) = censored; recode to 0/1", values=cnsr)
    neg = np.flatnonzero(m.keep & (time < 0))
    if len(neg):
        m.report_rows("error", "time", neg, "time to event is negative", "fix AVAL", values=time)
    _duplicates(m, [m.usubjid], f"more than one {code} record for this subject",
                "ADTTE must hold one record per subject for this PARAMCD")
    unit = m.text("unit", upper=True)
    data = {"usubjid": m.usubjid, "paramcd": paramcd, "time": time, "event": cnsr == 0, "unit": unit}
    return _finish("time_to_event", data, m.keep)
