"""Record filters: a small, safe expression language over a dataset's columns.

A dataset in the spec may carry ``filter: PARCAT1 == "OVERALL" and AVAL is not missing``; only the
records for which the expression is true are mapped (the others are counted in the ingest report).
User text is never given to Python's ``eval``: a tokenizer and a recursive-descent parser build a
small syntax tree whose nodes are evaluated vectorized on a pandas DataFrame.

Grammar (keywords are case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expr ")"
                | operand ( CMP operand
                          | ["not"] "in" "(" literal ("," literal)* [","] ")"
                          | "is" ["not"] "missing" )
    operand    := COLUMN | literal
    literal    := STRING | NUMBER
    CMP        := "==" | "!=" | "<" | "<=" | ">" | ">="
    COLUMN     := [A-Za-z_][A-Za-z0-9_]* | `any text in backquotes`
    STRING     := "..." | '...'        (backslash escapes the quote and the backslash)
    NUMBER     := [-+]? digits [. digits] [e [-+] digits]

Semantics:

- A value is *missing* when it is null/NaN/NaT or text that is blank after stripping.
- A comparison with a missing value is false (``AVAL != 3`` is false where AVAL is missing; write
  ``AVAL != 3 or AVAL is missing`` to keep those records). ``not`` inverts the result.
- Text is compared after stripping surrounding blanks, case-sensitively (CDISC controlled terms are
  upper case). Comparing a text column with a number converts the column's values to numbers (text
  that is not a number is missing). Comparing a numeric column with a string is an error. A date
  column is compared with an ISO 8601 date string.
- Column names are matched exactly, then case-insensitively; an unknown column is an error that
  lists the dataset's columns.

Every error is a :class:`~dossier.errors.SpecError` naming the dataset, the expression and the
1-based character position, with a caret under the offending character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dossier.errors import SpecError

MAX_LENGTH = 4000
MAX_DEPTH = 64
KEYWORDS = {"and", "or", "not", "in", "is", "missing"}
COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")


# -- tokens ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # "col", "str", "num", "op", "kw", "(", ")", ",", "end"
    value: object
    pos: int  # 0-based offset of the token's first character


class FilterSyntaxError(SpecError):
    """A filter expression that cannot be parsed or does not fit the dataset."""


def _fail(text: str, dataset: str, pos: int, message: str, hint: str | None = None) -> FilterSyntaxError:
    pos = max(0, min(pos, len(text)))
    shown = text if len(text) <= 200 else text[:200] + "..."
    caret = " " * min(pos, 200) + "^"
    return FilterSyntaxError(
        f"filter of {dataset.upper()} at character {pos + 1}: {message}\n      {shown}\n      {caret}",
        where=f"datasets.{dataset}.filter",
        hint=hint or 'write e.g. PARCAT1 == "OVERALL" and AVAL is not missing; operators: == != < <= > >= '
                     "in (...), is missing, is not missing, and, or, not, parentheses")


def tokenize(text: str, dataset: str = "dataset") -> list[Token]:
    """Split an expression into tokens; the last one has kind ``end``."""
    if not isinstance(text, str):
        raise _fail("", dataset, 0, "the filter must be text")
    if len(text) > MAX_LENGTH:
        raise _fail(text, dataset, MAX_LENGTH, f"the filter is longer than {MAX_LENGTH} characters")
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),":
            token, i = Token(c, c, i), i + 1
        elif text[i:i + 2] in ("==", "!=", "<=", ">="):
            token, i = Token("op", text[i:i + 2], i), i + 2
        elif c in "<>":
            token, i = Token("op", c, i), i + 1
        elif c == "=":
            raise _fail(text, dataset, i, "single '=' is not an operator", "compare with == (two equals signs)")
        elif c in "\"'":
            token, i = _string_token(text, i, dataset)
        elif c == "`":
            token, i = _quoted_column_token(text, i, dataset)
        elif c.isdigit() or (c in "+-." and i + 1 < n and (text[i + 1].isdigit() or text[i + 1] == ".")):
            token, i = _number_token(text, i, dataset)
        elif c.isascii() and (c.isalpha() or c == "_"):
            token, i = _word_token(text, i)
        else:
            raise _fail(text, dataset, i, f"unexpected character {c!r}")
        out.append(token)
    out.append(Token("end", None, n))
    return out


def _string_token(text: str, i: int, dataset: str) -> tuple[Token, int]:
    """A string in the quotes at ``text[i]`` (a backslash escapes the quote and itself); the token and the
    position after the closing quote."""
    c, n = text[i], len(text)
    j, buf = i + 1, []
    while j < n and text[j] != c:
        if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
            j += 1
        buf.append(text[j])
        j += 1
    if j >= n:
        raise _fail(text, dataset, i, "string is not closed", f"end the string with {c}")
    return Token("str", "".join(buf), i), j + 1


def _quoted_column_token(text: str, i: int, dataset: str) -> tuple[Token, int]:
    """A column name in backquotes starting at ``text[i]``."""
    j = text.find("`", i + 1)
    if j < 0:
        raise _fail(text, dataset, i, "column name in backquotes is not closed")
    if j == i + 1:
        raise _fail(text, dataset, i, "empty column name")
    return Token("col", text[i + 1:j], i), j + 1


def _digits_end(text: str, j: int) -> int:
    """The position after the ASCII digits starting at ``j``."""
    while j < len(text) and text[j].isascii() and text[j].isdigit():
        j += 1
    return j


def _number_token(text: str, i: int, dataset: str) -> tuple[Token, int]:
    """A number starting at ``text[i]``: optional sign, digits, optional fraction and exponent."""
    n = len(text)
    start_digits = i + 1 if text[i] in "+-" else i
    j = _digits_end(text, start_digits)
    if j < n and text[j] == ".":
        j = _digits_end(text, j + 1)
    if j == start_digits or text[start_digits:j] == ".":
        raise _fail(text, dataset, i, "malformed number")
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if not (k < n and text[k].isascii() and text[k].isdigit()):
            raise _fail(text, dataset, j, "malformed exponent of a number")
        j = _digits_end(text, k)
    if j < n and (text[j].isalnum() or text[j] == "_"):
        raise _fail(text, dataset, j, "a number runs into a name", "separate them with a space")
    value = float(text[i:j])
    if not np.isfinite(value):
        raise _fail(text, dataset, i, "number out of range")
    return Token("num", value, i), j


def _word_token(text: str, i: int) -> tuple[Token, int]:
    """A keyword (case-insensitive) or a bare column name starting at ``text[i]``."""
    j = i + 1
    while j < len(text) and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
        j += 1
    word = text[i:j]
    if word.lower() in KEYWORDS:
        return Token("kw", word.lower(), i), j
    return Token("col", word, i), j


# -- syntax tree ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    pos: int


@dataclass(frozen=True)
class Literal:
    value: str | float
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Column | Literal
    right: Column | Literal
    pos: int


@dataclass(frozen=True)
class InList:
    operand: Column | Literal
    values: tuple[Literal, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsMissing:
    operand: Column | Literal
    negated: bool
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    pos: int


Node = Compare | InList | IsMissing | Not | BoolOp


class _Parser:
    def __init__(self, text: str, dataset: str):
        self.text, self.dataset = text, dataset
        self.tokens = tokenize(text, dataset)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def is_kw(self, word: str) -> bool:
        t = self.peek()
        return t.kind == "kw" and t.value == word

    def error(self, tok: Token, message: str, hint: str | None = None) -> FilterSyntaxError:
        return _fail(self.text, self.dataset, tok.pos, message, hint)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error(self.peek(), "the filter is empty")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, f"unexpected {_describe(tok)} after a complete condition",
                             "join conditions with `and` / `or`")
        return node

    def _enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(tok, f"nested more than {MAX_DEPTH} levels deep")

    def or_expr(self) -> Node:
        return self.chain("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.chain("and", self.not_expr)

    def chain(self, keyword: str, operand) -> Node:
        """``operand (keyword operand)*``: one operand as itself, several as one BoolOp."""
        first = self.peek()
        parts = [operand()]
        while self.is_kw(keyword):
            self.take()
            parts.append(operand())
        return parts[0] if len(parts) == 1 else BoolOp(keyword, tuple(parts), first.pos)

    def not_expr(self) -> Node:
        if self.is_kw("not"):
            tok = self.take()
            self._enter(tok)
            node = Not(self.not_expr(), tok.pos)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "(":
            self.take()
            self._enter(tok)
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close.kind != ")":
                raise self.error(close, f"expected ')' to close the '(' at character {tok.pos + 1}, "
                                        f"found {_describe(close)}")
            self.take()
            return node
        left = self.operand()
        nxt = self.peek()
        if nxt.kind == "op":
            self.take()
            right = self.operand()
            return Compare(str(nxt.value), left, right, nxt.pos)
        if nxt.kind == "kw" and nxt.value in ("in", "not"):
            self.take()
            negated = nxt.value == "not"
            if negated:
                if not self.is_kw("in"):
                    raise self.error(self.peek(), "expected `in` after `not` here", "write X not in (\"A\", \"B\")")
                self.take()
            return InList(left, self.literal_list(), negated, nxt.pos)
        if nxt.kind == "kw" and nxt.value == "is":
            self.take()
            negated = False
            if self.is_kw("not"):
                self.take()
                negated = True
            if not self.is_kw("missing"):
                raise self.error(self.peek(), "expected `missing` after `is`", "write X is missing / X is not missing")
            self.take()
            return IsMissing(left, negated, nxt.pos)
        raise self.error(nxt, f"expected a comparison after {_describe(tok)}, found {_describe(nxt)}",
                         "a condition is e.g. AVAL > 0, ARM in (\"A\", \"B\") or AVAL is missing")

    def operand(self) -> Column | Literal:
        tok = self.take()
        if tok.kind == "col":
            return Column(str(tok.value), tok.pos)
        if tok.kind in ("str", "num"):
            return Literal(tok.value, tok.pos)  # type: ignore[arg-type]
        raise self.error(tok, f"expected a column name, a string or a number, found {_describe(tok)}")

    def literal_list(self) -> tuple[Literal, ...]:
        open_ = self.take()
        if open_.kind != "(":
            raise self.error(open_, f"expected '(' after `in`, found {_describe(open_)}",
                             "write X in (\"A\", \"B\")")
        values: list[Literal] = []
        while True:
            tok = self.take()
            if tok.kind in ("str", "num"):
                values.append(Literal(tok.value, tok.pos))  # type: ignore[arg-type]
            elif tok.kind == ")" and values:
                return tuple(values)
            else:
                raise self.error(tok, f"expected a string or a number in the list, found {_describe(tok)}")
            sep = self.take()
            if sep.kind == ")":
                return tuple(values)
            if sep.kind != ",":
                raise self.error(sep, f"expected ',' or ')' in the list, found {_describe(sep)}")


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "the end of the filter"
    if tok.kind == "str":
        text = str(tok.value)
        return f"the string {text if len(text) <= 40 else text[:37] + '...'!r}"
    if tok.kind == "num":
        return f"the number {tok.value:g}"
    if tok.kind == "col":
        name = str(tok.value)
        return f"the name {name if len(name) <= 40 else name[:37] + '...'!r}"
    if tok.kind == "kw":
        return f"the keyword `{tok.value}`"
    return f"{tok.value!r}"


def parse_filter(text: str, dataset: str = "dataset") -> Node:
    """The syntax tree of a filter expression; a located :class:`FilterSyntaxError` if it is malformed."""
    return _Parser(text, dataset).parse()


def filter_columns(node: Node) -> list[Column]:
    """Every column reference of a syntax tree, in order."""
    if isinstance(node, BoolOp):
        return [c for o in node.operands for c in filter_columns(o)]
    if isinstance(node, Not):
        return filter_columns(node.operand)
    if isinstance(node, Compare):
        return [x for x in (node.left, node.right) if isinstance(x, Column)]
    return [node.operand] if isinstance(node.operand, Column) else []


# -- evaluation -----------------------------------------------------------------------------------
class _Evaluator:
    def __init__(self, text: str, dataset: str, frame: pd.DataFrame):
        self.text, self.dataset, self.frame = text, dataset, frame
        self.n = len(frame)
        self.names: dict[str, object] = {}
        exact = {str(c): c for c in frame.columns}
        upper: dict[str, object] = {}
        for c in frame.columns:
            upper.setdefault(str(c).upper(), c)
        self.exact, self.upper = exact, upper

    def resolve(self, col: Column) -> object:
        if col.name in self.exact:
            return self.exact[col.name]
        if col.name.upper() in self.upper:
            return self.upper[col.name.upper()]
        names = [str(c) for c in self.frame.columns]
        listed = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
        raise _fail(self.text, self.dataset, col.pos, f"column {col.name!r} is not in {self.dataset.upper()}",
                    f"columns of the dataset: {listed or '(none)'}")

    def check(self, node: Node) -> None:
        for col in filter_columns(node):
            self.resolve(col)

    # values of an operand: ("num", float array) | ("text", object array) | ("date", datetime64 array)
    def values(self, x: Column | Literal, want: str | None) -> tuple[str, np.ndarray]:
        if isinstance(x, Literal):
            if isinstance(x.value, float):
                return "num", np.full(self.n, x.value, dtype=float)
            return "text", np.full(self.n, x.value, dtype=object)
        s = self.frame[self.resolve(x)]
        if isinstance(s, pd.DataFrame):  # duplicated column name: the reader reports it
            s = s.iloc[:, 0]
        if pd.api.types.is_bool_dtype(s):
            return "text", np.array(["" if pd.isna(v) else ("Y" if v else "N") for v in s], dtype=object)
        if pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            return "date", s.to_numpy(dtype="datetime64[ns]")
        if pd.api.types.is_numeric_dtype(s):
            return "num", pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        text = _text_values(s)
        if want == "num":
            return "num", pd.to_numeric(pd.Series(np.where(text == "", None, text), dtype=object),
                                        errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return "text", text

    def missing(self, x: Column | Literal) -> np.ndarray:
        kind, v = self.values(x, None)
        if kind == "num":
            return np.isnan(v)
        if kind == "date":
            return np.isnat(v)
        return v == ""

    def literal_kind(self, x: Column | Literal) -> str | None:
        if isinstance(x, Literal):
            return "num" if isinstance(x.value, float) else "text"
        return None

    def pair(self, left: Column | Literal, right: Column | Literal, pos: int) -> tuple[str, np.ndarray, np.ndarray]:
        want = self.literal_kind(right) or self.literal_kind(left)
        lk, lv = self.values(left, want if isinstance(left, Column) else None)
        rk, rv = self.values(right, lk if isinstance(right, Column) and lk == "num" else want)
        if lk == rk:
            return lk, lv, rv
        if {lk, rk} == {"date", "text"}:
            date_side, text_side = (lv, right) if lk == "date" else (rv, left)
            stamp = self.date_literal(text_side, pos)
            other = np.full(self.n, stamp, dtype="datetime64[ns]")
            return ("date", date_side, other) if lk == "date" else ("date", other, date_side)
        if lk == "text" and rk == "num" and isinstance(left, Column):
            return "num", self.values(left, "num")[1], rv
        if rk == "text" and lk == "num" and isinstance(right, Column):
            return "num", lv, self.values(right, "num")[1]
        bad = right if isinstance(right, Literal) else left
        raise _fail(self.text, self.dataset, getattr(bad, "pos", pos),
                    f"cannot compare {_kind_name(lk)} with {_kind_name(rk)}",
                    "compare numeric columns with numbers (no quotes) and text columns with quoted strings")

    def date_literal(self, x: Column | Literal, pos: int) -> np.datetime64:
        if not isinstance(x, Literal) or not isinstance(x.value, str):
            raise _fail(self.text, self.dataset, pos, "a date column can be compared with a date string only")
        try:
            stamp = pd.Timestamp(x.value)
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
        if stamp is pd.NaT or pd.isna(stamp):
            raise _fail(self.text, self.dataset, x.pos, f"{x.value!r} is not a date", "write dates as \"YYYY-MM-DD\"")
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return np.datetime64(stamp.to_datetime64(), "ns")

    def eval(self, node: Node) -> np.ndarray:
        if isinstance(node, BoolOp):
            out = self.eval(node.operands[0])
            for o in node.operands[1:]:
                out = (out & self.eval(o)) if node.op == "and" else (out | self.eval(o))
            return out
        if isinstance(node, Not):
            return ~self.eval(node.operand)
        if isinstance(node, IsMissing):
            miss = self.missing(node.operand)
            return ~miss if node.negated else miss
        if isinstance(node, InList):
            hit = np.zeros(self.n, dtype=bool)
            for lit in node.values:
                hit |= self.eval(Compare("==", node.operand, lit, node.pos))
            if node.negated:
                hit = ~hit & ~self.missing(node.operand)
            return hit
        kind, lv, rv = self.pair(node.left, node.right, node.pos)
        if kind == "num":
            present = ~np.isnan(lv) & ~np.isnan(rv)
        elif kind == "date":
            present = ~np.isnat(lv) & ~np.isnat(rv)
        else:
            present = (lv != "") & (rv != "")
            if node.op not in ("==", "!="):
                lv, rv = lv.astype(str), rv.astype(str)
        with np.errstate(invalid="ignore"):
            res = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
                   ">": np.greater, ">=": np.greater_equal}[node.op](lv, rv)
        return np.asarray(res, dtype=bool) & present


def _kind_name(kind: str) -> str:
    return {"num": "a number", "text": "text", "date": "a date"}[kind]


def _text_values(s: pd.Series) -> np.ndarray:
    """Stripped text of each value; missing -> ""."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = []
    for u in np.asarray(uniques, dtype=object):
        if u is None or u is pd.NA or u is pd.NaT or (isinstance(u, float) and np.isnan(u)):
            texts.append("")
        elif isinstance(u, bytes):
            texts.append(u.decode("utf-8", "replace").strip())
        elif isinstance(u, float) and u.is_integer() and abs(u) < 1e15:
            texts.append(f"{u:.0f}")
        else:
            texts.append(str(u).strip())
    texts.append("")
    return np.array(texts, dtype=object)[np.where(codes < 0, len(texts) - 1, codes)]


class RecordFilter:
    """A parsed filter expression, checked against one dataset's columns."""

    def __init__(self, text: str, dataset: str = "dataset"):
        self.text, self.dataset = text, dataset
        self.tree = parse_filter(text, dataset)

    def check(self, frame: pd.DataFrame) -> None:
        """Raise a located error if a column of the expression is not in the frame."""
        _Evaluator(self.text, self.dataset, frame.iloc[:0]).check(self.tree)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the records the filter keeps (False where a compared value is missing)."""
        ev = _Evaluator(self.text, self.dataset, frame.reset_index(drop=True))
        ev.check(self.tree)
        return np.asarray(ev.eval(self.tree), dtype=bool)


def apply_filter(text: str, frame: pd.DataFrame, dataset: str = "dataset") -> np.ndarray:
    """Boolean mask of the records of ``frame`` that ``text`` keeps."""
    return RecordFilter(text, dataset).evaluate(frame)
