"""The vectorised engine (dossier/designs/simulate.py) and properties shared by all designs."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.designs import make_design, simulate_trials
from dossier.designs.base import TrialState
from dossier.designs.simulate import run_trials, run_trials_loop, simulate_outcomes, true_mtd_index
from dossier.errors import DesignError

P6 = [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]
DESIGNS = {
    "3+3": {},
    "i3+3": {},
    "mtpi2": {},
    "keyboard": {},
    "boin": {},
    "boin-earlystop": {"n_earlystop": 12},
    "crm": {"skeleton": [0.05, 0.10, 0.20, 0.30, 0.45, 0.60]},
    "crm-logistic-stop": {"skeleton": [0.05, 0.10, 0.20, 0.30, 0.45, 0.60], "model": "logistic",
                          "stop_cutoff": 0.9},
}


@functools.cache
def _cached(key: str):
    return build(key)


def build(key: str, n_doses: int = 6, **kw):
    name = key.split("-")[0]
    return make_design(name, target=0.3, n_doses=n_doses, cohort_size=3, n_cohorts=10, **(DESIGNS[key] | kw))


@pytest.mark.parametrize("key", list(DESIGNS))
def test_vectorised_engine_equals_per_trial_loop(key):
    """Same uniforms -> identical patients, DLTs and selections, trial by trial."""
    d = build(key)
    n_trials = 60 if key.startswith("crm") else 150
    scen = P6 if "stop" not in key else [0.3, 0.45, 0.6, 0.7, 0.8, 0.9]
    u = np.random.default_rng(7).random((n_trials, d.max_patients))
    fast = run_trials(d, np.array(scen), u)
    slow = run_trials_loop(d, scen, u)
    np.testing.assert_array_equal(fast.n, slow.n)
    np.testing.assert_array_equal(fast.y, slow.y)
    np.testing.assert_array_equal(fast.selected, slow.selected)
    np.testing.assert_array_equal(fast.no_mtd, slow.no_mtd)


def test_reproducible_and_common_random_numbers():
    d = build("boin")
    a = simulate_trials(d, P6, 500, np.random.default_rng(1))
    b = simulate_trials(d, P6, 500, np.random.default_rng(1))
    assert a == b
    u = np.random.default_rng(5).random((500, 40))  # wider than needed: extra columns ignored
    boin = simulate_outcomes(d, P6, 500, np.random.default_rng(0), uniforms=u)
    i3 = simulate_outcomes(build("i3+3"), P6, 500, np.random.default_rng(99), uniforms=u)
    # the first cohort is treated at dose 1 in both designs: same patients, same DLTs
    first = u[:, :3] < P6[0]
    assert np.all((boin.y[:, 0] >= first.sum(1)) & (i3.y[:, 0] >= first.sum(1)))
    with pytest.raises(DesignError):
        simulate_trials(d, P6, 500, np.random.default_rng(0), uniforms=u[:, :10])


def test_chunked_simulation_equals_single_pass():
    d = build("boin")
    u = np.random.default_rng(3).random((1000, d.max_patients))
    whole = simulate_outcomes(d, P6, 1000, np.random.default_rng(0), uniforms=u)
    parts = simulate_outcomes(d, P6, 1000, np.random.default_rng(0), uniforms=u, chunk_size=300)
    np.testing.assert_array_equal(whole.n, parts.n)
    np.testing.assert_array_equal(whole.selected, parts.selected)


@pytest.mark.parametrize("key", ["3+3", "boin", "crm"])
def test_oc_consistency_and_json(key):
    d = build(key)
    oc = simulate_trials(d, P6, 400, np.random.default_rng(11))
    assert sum(oc.selection_pct) + oc.no_selection_pct == pytest.approx(100)
    assert sum(oc.mean_patients) == pytest.approx(oc.mean_total_patients)
    assert sum(oc.mean_dlt) == pytest.approx(oc.mean_total_dlt)
    assert oc.true_mtd == 3 and oc.pct_correct_selection == oc.selection_pct[3]
    assert set(oc.mc_se) >= {"selection_pct", "no_selection_pct", "mean_patients", "mean_dlt",
                             "mean_total_patients", "early_stop_pct", "pct_patients_above_mtd",
                             "overdose_60_pct", "overdose_80_pct"}
    p = oc.selection_pct[3]
    assert oc.mc_se["selection_pct"][3] == pytest.approx(np.sqrt(p * (100 - p) / 400))
    text = json.dumps(oc.model_dump(mode="json"))
    assert json.loads(text)["n_trials"] == 400


def test_true_mtd_rule():
    assert true_mtd_index([0.1, 0.25, 0.35], 0.3) == 1   # tie 0.05/0.05 -> lower dose
    assert true_mtd_index([0.5, 0.6], 0.3) == 0


def test_bad_inputs():
    d = build("boin")
    with pytest.raises(DesignError):
        simulate_trials(d, P6[:5], 10, np.random.default_rng(0))
    with pytest.raises(DesignError):
        simulate_trials(d, [0.1, 0.2, 0.3, 0.4, 0.5, 1.2], 10, np.random.default_rng(0))
    with pytest.raises(DesignError):
        make_design("crm2", target=0.3, n_doses=3)
    with pytest.raises(DesignError):
        make_design("boin", target=0.3, n_doses=3, skeleton=[0.1, 0.2, 0.3])


# --- properties (hypothesis) -------------------------------------------------------------------

probs = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6).map(sorted)


@settings(max_examples=25, deadline=None)
@given(p=probs, key=st.sampled_from(list(DESIGNS)), seed=st.integers(0, 2**16))
def test_patients_conserved(p, key, seed):
    """Sum over doses = patients enrolled; a trial runs to the maximum size unless it stops early."""
    d = build(key, n_doses=len(p), **({"skeleton": list(np.linspace(0.05, 0.6, len(p)))}
                                      if key.startswith("crm") else {}))
    out = simulate_outcomes(d, p, 50, np.random.default_rng(seed))
    total = out.n.sum(axis=1)
    assert np.all(total % d.cohort_size == 0) and np.all(total <= d.max_patients)
    assert np.all(out.y <= out.n)
    if key in ("boin", "i3+3", "mtpi2", "keyboard", "crm"):
        assert np.all((total == d.max_patients) | out.no_mtd)


def _random_state(design, draw_n, draw_y, current, elim_from):
    D = design.n_doses
    n = np.array(draw_n[:D] + [0] * (D - len(draw_n[:D])))
    y = np.minimum(np.array(draw_y[:D] + [0] * (D - len(draw_y[:D]))), n)
    n[current] = max(n[current], design.cohort_size)
    y = np.minimum(y, n)
    elim = np.arange(D) >= elim_from
    elim[current] = False if current < elim_from else elim[current]
    return n, y, elim


state_strategy = dict(
    key=st.sampled_from(list(DESIGNS)),
    draw_n=st.lists(st.integers(0, 12), min_size=6, max_size=6),
    draw_y=st.lists(st.integers(0, 12), min_size=6, max_size=6),
    current=st.integers(0, 5),
    elim_from=st.integers(1, 6),
)


@settings(max_examples=150, deadline=None)
@given(**state_strategy)
def test_never_skip_never_enter_eliminated(key, draw_n, draw_y, current, elim_from):
    """No design escalates by more than one level or into an eliminated dose."""
    d = _cached(key)
    current = min(current, elim_from - 1)
    n, y, elim = _random_state(d, draw_n, draw_y, current, elim_from)
    dec = d.decide(n, y, current, eliminated=elim)
    if dec.next_dose is not None:
        assert dec.next_dose <= current + 1
        assert dec.next_dose < elim_from
        if dec.next_dose > current:
            assert not dec.eliminated[dec.next_dose]


@settings(max_examples=150, deadline=None)
@given(**state_strategy)
def test_decisions_monotone_in_dlts(key, draw_n, draw_y, current, elim_from):
    """More DLTs at the current dose never lead to a higher next dose (nor undo a safety stop)."""
    d = _cached(key)
    current = min(current, elim_from - 1)
    n, y, elim = _random_state(d, draw_n, draw_y, current, elim_from)
    last = min(d.cohort_size, int(n[current]))
    decisions = []
    for k in range(n[current] + 1):
        yk = y.copy()
        yk[current] = k
        decisions.append(d.decide(n, yk, current, eliminated=elim, last_cohort_dlt=min(k, last),
                                  last_cohort_size=last))
    for a, b in zip(decisions, decisions[1:], strict=False):
        if a.action == "stop_no_mtd":
            assert b.action == "stop_no_mtd"
        if a.next_dose is not None and b.next_dose is not None:
            assert b.next_dose <= a.next_dose


@settings(max_examples=30, deadline=None)
@given(p=probs, seed=st.integers(0, 2**16))
def test_boin_never_skips_in_simulation(p, seed):
    """Along simulated BOIN trials (lock-step), every escalation is by exactly one level."""
    d = make_design("boin", target=0.3, n_doses=len(p))
    rng = np.random.default_rng(seed)
    T = 40
    state = TrialState.empty(T, d.n_doses)
    active = np.ones(T, dtype=bool)
    for _ in range(d.max_cohorts - 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        dose = state.current[idx]
        tox = (rng.random((idx.size, 3)) < np.array(p)[dose][:, None]).sum(1)
        state.n[idx, dose] += 3
        state.y[idx, dose] += tox
        sub = state.subset(idx)
        res = d.step(sub)
        state.eliminated[idx] = sub.eliminated
        go = ~res.stop
        assert np.all(res.next_dose[go] <= dose[go] + 1)
        assert not np.any(sub.eliminated[np.arange(idx.size)[go], res.next_dose[go]])
        active[idx[res.stop]] = False
        state.current[idx[go]] = res.next_dose[go]


def test_trial_by_trial_identical_to_r_reference_loops():
    """Same patients (fixed uniforms) -> the same trials as BOIN::get.oc and dfcrm::mtrials loops in R.

    See tests/designs/data/r_reference_trials.json for how the reference was produced.
    """
    data = Path(__file__).parent / "data"
    ref = json.loads((data / "r_reference_trials.json").read_text())
    u = np.load(data / "crn_uniforms.npz")["u"]
    p = np.array(ref["p_true"])
    designs = {
        "boin": make_design("boin", target=0.3, n_doses=6),
        "boin_es12": make_design("boin", target=0.3, n_doses=6, n_earlystop=12),
        "crm": make_design("crm", target=0.3, n_doses=6, skeleton=list(p)),
    }
    for key, design in designs.items():
        r = np.array(ref[key])
        out = run_trials(design, p, u[: len(r)])
        selected = np.where(out.selected < 0, 99, out.selected + 1)
        np.testing.assert_array_equal(selected, r[:, 0], err_msg=key)
        np.testing.assert_array_equal(out.n, r[:, 1:7], err_msg=key)
        np.testing.assert_array_equal(out.y, r[:, 7:13], err_msg=key)
