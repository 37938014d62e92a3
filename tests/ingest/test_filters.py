"""Record filters (dossier.filters): grammar, semantics, located errors, and fuzzing.

The semantic oracle is an independent row-by-row interpreter written here from the documented rules
(missing values make comparisons false; text compared stripped; numbers compared as numbers), applied
to random syntax trees rendered as text; the vectorized evaluator must agree with it on every row.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dossier.errors import DossierError
from dossier.filters import FilterSyntaxError, apply_filter, parse_filter

FRAME = pd.DataFrame({
    "PARCAT1": ["OVERALL", "INDIVIDUAL", " OVERALL ", None, "", "OVERALL"],
    "AVAL": [1.0, np.nan, 3.0, 4.0, -2.5, 0.0],
    "AVALC": ["1", "x", "3", "", "-2.5", "0"],
    "ADT": pd.to_datetime(["2020-01-01", "2021-01-01", None, "2019-05-05", "2020-06-01", "2022-02-02"]),
})


@pytest.mark.parametrize(("expr", "expected"), [
    ('PARCAT1 == "OVERALL"', [1, 0, 1, 0, 0, 1]),
    ('parcat1 == "OVERALL"', [1, 0, 1, 0, 0, 1]),  # column names case-insensitive
    ('PARCAT1 != "OVERALL"', [0, 1, 0, 0, 0, 0]),  # missing compares false
    ("PARCAT1 is missing", [0, 0, 0, 1, 1, 0]),
    ("PARCAT1 is not missing", [1, 1, 1, 0, 0, 1]),
    ("AVAL > 0", [1, 0, 1, 1, 0, 0]),
    ("AVAL <= 0 or AVAL is missing", [0, 1, 0, 0, 1, 1]),
    ("not AVAL > 0", [0, 1, 0, 0, 1, 1]),
    ("AVALC >= 1", [1, 0, 1, 0, 0, 0]),  # text column vs number: converted, "x" is missing
    ('AVAL in (1, 3, 99)', [1, 0, 1, 0, 0, 0]),
    ('PARCAT1 not in ("INDIVIDUAL",)', [1, 0, 1, 0, 0, 1]),
    ('ADT < "2020-06-01"', [1, 0, 0, 1, 0, 0]),
    ('(PARCAT1 == "OVERALL" or AVAL < 0) and not AVAL == 0', [1, 0, 1, 0, 1, 0]),
    ('`AVAL` == -2.5', [0, 0, 0, 0, 1, 0]),
    ("AVAL == AVALC", [1, 0, 1, 0, 1, 1]),  # column vs column, text side converted
    ("'OVERALL' == PARCAT1", [1, 0, 1, 0, 0, 1]),
    ("AVAL > 1e0 AND aval < 3.5E0", [0, 0, 1, 0, 0, 0]),  # keywords case-insensitive
])
def test_semantics(expr, expected):
    assert apply_filter(expr, FRAME, "adex").astype(int).tolist() == expected


@pytest.mark.parametrize(("expr", "position", "words"), [
    ('__import__("os")', 11, "expected a comparison"),
    ("AVAL = 3", 6, "single '='"),
    ('AVAL == "x"', 9, "cannot compare a number with text"),
    ("FOO == 1", 1, "column 'FOO' is not in ADEX"),
    ("(AVAL > 1", 10, "expected ')'"),
    ("AVAL >", 7, "expected a column name"),
    ("", 1, "empty"),
    ('ADT > "soon"', 7, "not a date"),
    ('PARCAT1 == "OVERALL', 12, "not closed"),
    ("AVAL > 1 AVAL", 10, "after a complete condition"),
    ("AVAL in ()", 10, "expected a string or a number"),
    ("AVAL is present", 9, "expected `missing`"),
    ("AVAL; import os", 5, "unexpected character"),
    ("1abc == AVAL", 2, "number runs into a name"),
])
def test_errors_name_dataset_expression_and_position(expr, position, words):
    with pytest.raises(FilterSyntaxError) as exc:
        apply_filter(expr, FRAME, "adex")
    err = exc.value
    assert f"filter of ADEX at character {position}:" in err.what
    assert words in err.what
    assert expr in err.what and err.where == "datasets.adex.filter"
    # the caret sits under the reported character
    lines = err.what.split("\n")
    assert lines[-1].index("^") - lines[-1].index(" " * 6) - 6 == position - 1


def test_deep_nesting_is_a_clean_error():
    for expr in ("(" * 1000 + "AVAL > 1" + ")" * 1000, "not " * 900 + "AVAL > 1"):
        with pytest.raises(FilterSyntaxError, match="nested more than"):
            parse_filter(expr, "adex")
    with pytest.raises(FilterSyntaxError, match="longer than"):
        parse_filter("AVAL > 1 and " * 1000 + "AVAL > 1", "adex")


PAYLOADS = ['__import__("os").system("touch PWNED")', "open('x','w')", "exec('1')", "lambda: 1",
            "AVAL.__class__", "[x for x in AVAL]", "AVAL if 1 else 2", "AVAL > 1; import os",
            "globals()", "AVAL + 1 > 2", "getattr(AVAL, 'x') == 1", "{}", "f'{1}' == AVAL"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_expression_executes_code(payload, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FilterSyntaxError):
        apply_filter(payload, FRAME, "adex")
    assert os.listdir(tmp_path) == []


TOKENS = ["AVAL", "AVALC", "PARCAT1", "ADT", "FOO", "`AVAL`", "`x", "and", "or", "not", "in", "is", "missing",
          "(", ")", ",", "==", "!=", "<", "<=", ">", ">=", "=", '"OVERALL"', "'a'", '"', "1", "-2.5", "1e3", "1e",
          ".", "+", "-", "__import__", ";", "[", "]", "\\", "\x00", "é", "\n", "😀", "2020-01-01", '"2020-01-01"']


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=14), st.sampled_from([" ", ""]))
def test_fuzz_token_soup_gives_a_mask_or_a_clean_error(tokens, sep):
    _result_or_clean_error(sep.join(tokens))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_random_text_gives_a_mask_or_a_clean_error(text):
    _result_or_clean_error(text)


def _result_or_clean_error(text: str) -> None:
    try:
        mask = apply_filter(text, FRAME, "adex")
    except DossierError as err:
        assert "filter of ADEX at character" in err.what
        return
    assert mask.dtype == bool and mask.shape == (len(FRAME),)


# -- differential test against an independent row-by-row oracle -----------------------------------
NUM_COLS = {"AVAL": FRAME["AVAL"].tolist()}
TEXT_COLS = {"PARCAT1": FRAME["PARCAT1"].tolist()}


def _oracle_value(col, i):
    v = (NUM_COLS.get(col) or TEXT_COLS.get(col))[i]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _leaf():
    num = st.tuples(st.just("cmp"), st.just("AVAL"), st.sampled_from(list(OPS)),
                    st.sampled_from([-2.5, 0.0, 1.0, 3.0, 4.0, 10.0]))
    txt = st.tuples(st.just("cmp"), st.just("PARCAT1"), st.sampled_from(["==", "!="]),
                    st.sampled_from(["OVERALL", "INDIVIDUAL", "X"]))
    miss = st.tuples(st.just("miss"), st.sampled_from(["AVAL", "PARCAT1"]), st.booleans())
    inl = st.tuples(st.just("in"), st.just("AVAL"), st.booleans(),
                    st.lists(st.sampled_from([0.0, 1.0, 3.0, 5.0]), min_size=1, max_size=3))
    return st.one_of(num, txt, miss, inl)


trees = st.recursive(_leaf(), lambda kids: st.one_of(
    st.tuples(st.just("not"), kids),
    st.tuples(st.sampled_from(["and", "or"]), kids, kids)), max_leaves=8)


def _render(t) -> str:
    if t[0] == "cmp":
        lit = f'"{t[3]}"' if isinstance(t[3], str) else repr(t[3])
        return f"{t[1]} {t[2]} {lit}"
    if t[0] == "miss":
        return f"{t[1]} is {'not ' if t[2] else ''}missing"
    if t[0] == "in":
        return f"{t[1]} {'not ' if t[2] else ''}in ({', '.join(repr(v) for v in t[3])})"
    if t[0] == "not":
        return f"not ({_render(t[1])})"
    return f"({_render(t[1])}) {t[0]} ({_render(t[2])})"


def _oracle(t, i) -> bool:
    if t[0] == "cmp":
        v = _oracle_value(t[1], i)
        return v is not None and OPS[t[2]](v, t[3])
    if t[0] == "miss":
        return (_oracle_value(t[1], i) is not None) == t[2]
    if t[0] == "in":
        v = _oracle_value(t[1], i)
        return v is not None and ((v in t[3]) != t[2])
    if t[0] == "not":
        return not _oracle(t[1], i)
    a, b = _oracle(t[1], i), _oracle(t[2], i)
    return (a and b) if t[0] == "and" else (a or b)


@settings(max_examples=200, deadline=None)
@given(trees)
def test_vectorized_evaluation_agrees_with_row_by_row_oracle(tree):
    text = _render(tree)
    got = apply_filter(text, FRAME, "adex").tolist()
    assert got == [_oracle(tree, i) for i in range(len(FRAME))], text
