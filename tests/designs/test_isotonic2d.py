"""Bivariate isotonic regression (dossier.designs.isotonic2d): closed forms, the Dykstra-Robertson
reference algorithm and Iso::biviso (R) values frozen in data/combination_biviso.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from dossier.designs.base import pava
from dossier.designs.isotonic2d import biviso, biviso_batch, biviso_dykstra, lower_sets
from dossier.errors import DesignError

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("shape", [(1, 4), (2, 2), (3, 5), (4, 4)])
def test_lower_sets_are_the_staircases(shape):
    member, lens = lower_sets(*shape)
    J, K = shape
    assert len(member) == math.comb(J + K, J)
    assert (np.diff(lens, axis=1) <= 0).all()          # row lengths non-increasing
    grid = member.reshape(-1, J, K)
    # closed downwards along rows and columns
    assert (grid[:, :, 1:] <= grid[:, :, :-1]).all() and (grid[:, 1:, :] <= grid[:, :-1, :]).all()
    assert len({m.tobytes() for m in member}) == len(member)


def test_hand_worked_2x2():
    # x11 = 0.4 violates both of its successors; the minimum lower set average is
    # Av{11, 12, 21} = (0.4 + 0.1 + 0.2) / 3 = 7/30, and the last cell keeps 0.3
    fit = biviso([[0.4, 0.1], [0.2, 0.3]])
    np.testing.assert_allclose(fit, [[7 / 30, 7 / 30], [7 / 30, 0.3]], rtol=0, atol=1e-15)


def test_hand_worked_weighted():
    # weights 3 and 1 on a violating pair in a row: pooled value (3 * 0.6 + 1 * 0.2) / 4 = 0.5
    fit = biviso([[0.6, 0.2], [0.7, 0.9]], [[3, 1], [1, 1]])
    np.testing.assert_allclose(fit[0], [0.5, 0.5], atol=1e-15)
    # the second row must stay >= the first column-wise: 0.7 >= 0.5 and 0.9 >= 0.5: unchanged
    np.testing.assert_allclose(fit[1], [0.7, 0.9], atol=1e-15)


def test_isotonic_input_is_unchanged():
    x = np.array([[0.1, 0.2, 0.4], [0.15, 0.3, 0.5]])
    np.testing.assert_allclose(biviso(x, np.full(x.shape, 2.0)), x, rtol=0, atol=1e-14)  # floating-point sums


def test_one_row_is_pava():
    rng = np.random.default_rng(3)
    x, w = rng.random(6), rng.random(6) + 0.2
    np.testing.assert_allclose(biviso(x[None, :], w[None, :])[0], pava(x, w), atol=1e-12)
    np.testing.assert_allclose(biviso(x[:, None], w[:, None])[:, 0], pava(x, w), atol=1e-12)


def test_agrees_with_dykstra_robertson_and_is_a_projection():
    rng = np.random.default_rng(11)
    for _ in range(60):
        J, K = (int(v) for v in rng.integers(1, 5, 2))
        x, w = rng.random((J, K)), rng.random((J, K)) + 0.1
        fit = biviso(x, w)
        np.testing.assert_allclose(fit, biviso_dykstra(x, w), atol=1e-8)
        assert (np.diff(fit, axis=0) >= -1e-12).all() and (np.diff(fit, axis=1) >= -1e-12).all()
        # characterisation of the projection onto a cone: <x - f, f>_w = 0 and <x - f, g>_w <= 0
        # for every isotonic g, in particular the indicators of upper sets
        r = w * (x - fit)
        assert abs(np.sum(r * fit)) < 1e-10
        member, _ = lower_sets(J, K)
        assert (np.array([r.reshape(-1)[~m].sum() for m in member]) <= 1e-10).all()


def test_batch_equals_one_at_a_time():
    rng = np.random.default_rng(5)
    x, w = rng.random((40, 3, 4)), rng.integers(0, 9, (40, 3, 4)) + 0.1
    batch = biviso_batch(x, w)
    for t in range(40):
        np.testing.assert_allclose(batch[t], biviso(x[t], w[t]), atol=1e-12)


def test_matches_iso_biviso():
    """Iso::biviso (R, AS 206) on random BOIN-style inputs; Iso iterates to about 1e-9."""
    for case in json.loads((DATA / "combination_biviso.json").read_text()):
        fit = biviso(np.array(case["x"]), np.array(case["w"]))
        np.testing.assert_allclose(fit, np.array(case["fit"]), atol=1e-7, err_msg=case["call"])


def test_rejects_non_positive_weights():
    with pytest.raises(DesignError):
        biviso([[0.1, 0.2]], [[1.0, 0.0]])
