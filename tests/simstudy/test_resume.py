"""Resume: a run killed midway (here: the progress callback raises after k finished tasks, which is
how an interrupt reaches run_study) leaves k tasks in the cache; the next run computes only the rest
and gives exactly the results of an uninterrupted run."""

from __future__ import annotations

import pytest

from dossier.simstudy import parse_study_spec, run_study
from dossier.simstudy.executors import InProcessExecutor


class Killed(Exception):
    pass


def kill_after(k: int):
    def progress(p):
        if p.tasks_done >= k:
            raise Killed(f"killed after {p.tasks_done} tasks")
    return progress


class CountingExecutor(InProcessExecutor):
    """In-process executor that records which tasks it ran."""

    def __init__(self):
        self.ran: list[str] = []

    def map(self, fn, payloads):
        for p in payloads:
            self.ran.append(p["task"])
            yield fn(p)


@pytest.mark.parametrize("executor", ["inprocess", "processes"])
def test_resume_recomputes_only_unfinished_tasks(make_grid, tmp_path, executor):
    spec = parse_study_spec(make_grid())  # 24 units, one per task
    full = run_study(spec)
    cache = tmp_path / "cache"
    with pytest.raises(Killed):
        run_study(spec, executor, cache, kill_after(7), workers=2)
    assert len(list(cache.glob("*.npz"))) == 7

    counting = CountingExecutor()
    resumed = run_study(spec, counting, cache)
    assert resumed.run.units_cached == 7 and resumed.run.units_computed == 17
    assert len(counting.ran) == 17
    assert resumed.model_dump() == full.model_dump()

    again = CountingExecutor()
    third = run_study(spec, again, cache)
    assert again.ran == [] and third.run.units_cached == 24
    assert third.model_dump() == full.model_dump()


def test_cache_is_shared_across_task_groupings(make_grid, tmp_path):
    """Units are keyed by their own hash: a run with bigger tasks reuses units cached by small tasks."""
    cache = tmp_path / "cache"
    with pytest.raises(Killed):
        run_study(parse_study_spec(make_grid()), "inprocess", cache, kill_after(5))
    counting = CountingExecutor()
    result = run_study(parse_study_spec(make_grid(trials_per_task=None)), counting, cache)
    assert result.run.units_cached == 5 and result.run.units_computed == 19
    assert result.model_dump() == run_study(parse_study_spec(make_grid())).model_dump()


def test_torn_or_foreign_cache_files_are_ignored(make_grid, tmp_path):
    cache = tmp_path / "cache"
    spec = parse_study_spec(make_grid())
    run_study(spec, "inprocess", cache)
    files = sorted(cache.glob("*.npz"))
    files[0].write_bytes(files[0].read_bytes()[:100])  # a torn write (cannot happen: writes are atomic)
    (cache / "junk.npz").write_text("not a zip")
    result = run_study(spec, "inprocess", cache)
    assert result.run.units_computed == 1 and result.run.units_cached == 23


def test_changed_settings_are_not_served_from_cache(make_grid, tmp_path):
    cache = tmp_path / "cache"
    run_study(parse_study_spec(make_grid()), "inprocess", cache)
    other = run_study(parse_study_spec(make_grid(seed=12)), "inprocess", cache)
    assert other.run.units_cached == 0
    g = make_grid()
    g["designs"][1]["options"]["skeleton"] = [0.04, 0.12, 0.22, 0.33, 0.45]
    changed = run_study(parse_study_spec(g), "inprocess", cache)
    assert changed.run.units_cached == 16 and changed.run.units_computed == 8  # only the CRM units
