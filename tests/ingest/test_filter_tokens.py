"""dossier/filters.py tokenize and its token readers (strings, backquoted names, numbers, words): the tokens of
the filter grammar (README "Filters") and the position of each error."""

from __future__ import annotations

import pytest

from dossier.filters import FilterSyntaxError, tokenize


def kinds(text: str) -> list[tuple[str, object, int]]:
    return [(t.kind, t.value, t.pos) for t in tokenize(text, "adsl")]


def test_every_kind_of_token_with_its_position():
    assert kinds('AVAL>=-1.5e+2 AND `my col` in ("a\\"b", \'c\\\\d\', .5)') == [
        ("col", "AVAL", 0), ("op", ">=", 4), ("num", -150.0, 6), ("kw", "and", 14), ("col", "my col", 18),
        ("kw", "in", 27), ("(", "(", 30), ("str", 'a"b', 31), (",", ",", 37), ("str", "c\\d", 39),
        (",", ",", 45), ("num", 0.5, 47), (")", ")", 49), ("end", None, 50)]


def test_numbers():
    assert [t.value for t in tokenize("1 +2 -3. 4.25 1E3 2e-1 +.5", "adsl")][:-1] == [1.0, 2.0, -3.0, 4.25, 1000.0,
                                                                                   0.2, 0.5]


@pytest.mark.parametrize(("text", "pos", "words"), [
    ("1e", 1, "malformed exponent"),
    ("2.5e+x", 3, "malformed exponent"),
    ("1e999", 0, "out of range"),
    ("..", 0, "malformed number"),
    ("3abc", 1, "runs into a name"),
    ("`A", 0, "backquotes is not closed"),
    ("``", 0, "empty column name"),
    ("'abc", 0, "string is not closed"),
    ("A = 1", 2, "single '='"),
    ("A ~ 1", 2, "unexpected character"),
])
def test_errors_point_at_the_character(text, pos, words):
    with pytest.raises(FilterSyntaxError) as exc:
        tokenize(text, "adsl")
    assert f"at character {pos + 1}:" in exc.value.what and words in exc.value.what
