"""The seeded combination-escalation example (examples/combination): reproducible data, a valid spec,
and a trial path that follows the BOIN combination rules."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from dossier.cli import app
from dossier.commands.combination import load_combination

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "combination"


def _generator():
    spec = importlib.util.spec_from_file_location("combination_generate", EXAMPLE / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_committed_files(tmp_path):
    for p in _generator().generate(tmp_path):
        assert p.read_bytes() == (EXAMPLE / "data" / p.name).read_bytes(), f"{p.name} differs"


def test_spec_truth_is_the_generator_truth():
    spec = load_combination(EXAMPLE / "combination.yaml")
    np.testing.assert_allclose(spec.scenarios[0].true_tox, _generator().true_tox(), atol=5e-5)
    assert [a.levels for a in spec.agents] == [_generator().DOSES_A, _generator().DOSES_B]


def test_trial_path_moves_to_neighbours_only():
    d = pd.read_csv(EXAMPLE / "data" / "dose_pairs.csv")
    gen = _generator()
    pairs = [(gen.DOSES_A.index(a), gen.DOSES_B.index(b))
             for a, b in d.groupby("cohort")[["dose_a", "dose_b"]].first().itertuples(index=False)]
    assert pairs[0] == (0, 0)
    for (a0, b0), (a1, b1) in zip(pairs, pairs[1:], strict=False):
        assert abs(a1 - a0) + abs(b1 - b0) <= 1          # one agent, one level at a time
    assert (d.groupby("cohort").size() == 3).all()


def test_decide_from_the_spec():
    res = CliRunner().invoke(app, ["combination", "decide", "--spec", str(EXAMPLE / "combination.yaml"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert sum(map(sum, out["n"])) == len(pd.read_csv(EXAMPLE / "data" / "dose_pairs.csv"))
    assert len(out["selected"]) == 1
