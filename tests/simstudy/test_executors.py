"""The same grid and master seed give identical results in-process, in local processes and on a Dask
LocalCluster (2 workers started here); executors fail with DossierErrors, never tracebacks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from dossier.errors import DossierError
from dossier.simstudy import parse_study_spec, run_study
from dossier.simstudy.executors import DaskExecutor, InProcessExecutor, ProcessExecutor, make_executor

HAS_DASK = importlib.util.find_spec("distributed") is not None


def _grid(make_grid):
    # 2 units per task: 12 tasks, enough for both workers to take several
    return parse_study_spec(make_grid(trials_per_task=500))


@pytest.fixture
def inprocess_result(make_grid):
    return run_study(_grid(make_grid), "inprocess")


def _same(a, b):
    assert a.model_dump() == b.model_dump()  # every OC, MC SE and difference, bit for bit
    assert a.to_frame().equals(b.to_frame())


def test_processes_match_inprocess(make_grid, inprocess_result):
    result = run_study(_grid(make_grid), "processes", workers=2)
    assert result.run.executor == "processes" and result.run.workers == 2
    assert result.run.n_tasks == 12
    _same(result, inprocess_result)


@pytest.mark.skipif(not HAS_DASK, reason="dask.distributed is not installed (pip install 'dossier[dask]')")
def test_dask_local_cluster_matches_inprocess(make_grid, inprocess_result):
    result = run_study(_grid(make_grid), "dask", workers=2)
    assert result.run.executor == "dask" and result.run.workers == 2
    _same(result, inprocess_result)


def test_make_executor():
    assert isinstance(make_executor("inprocess"), InProcessExecutor)
    assert make_executor("processes", workers=3).workers == 3
    ex = make_executor("dask", scheduler="tcp://10.0.0.1:8786")
    assert isinstance(ex, DaskExecutor) and ex.scheduler == "tcp://10.0.0.1:8786"
    assert isinstance(make_executor("Processes"), ProcessExecutor)
    for kind, kw, words in [("threads", {}, "unknown executor"), ("processes", {"workers": 0}, "--workers"),
                            ("processes", {"scheduler": "tcp://x:1"}, "dask only")]:
        with pytest.raises(DossierError, match=words):
            make_executor(kind, **kw)


@pytest.mark.skipif(HAS_DASK, reason="checks the message shown when dask is missing")
def test_dask_missing_is_a_dossier_error(make_grid):
    with pytest.raises(DossierError, match="pip install"):
        run_study(_grid(make_grid), "dask")


def test_core_never_imports_dask():
    code = ("import sys\n"
            "import dossier.simstudy, dossier.commands.study, dossier.render.study_figures\n"
            "from dossier.simstudy import parse_study_spec, run_study\n"
            "spec = parse_study_spec({'n_trials': 20, 'designs': [{'name': 'boin'}],"
            " 'scenarios': [{'name': 'a', 'true_tox': [0.1, 0.3]}]})\n"
            "run_study(spec)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not HAS_DASK, reason="dask.distributed is not installed (pip install 'dossier[dask]')")
def test_dask_scheduler_address_matches_inprocess(make_grid, inprocess_result):
    """--scheduler tcp://...: the executor connects to a running scheduler (here a LocalCluster's)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        result = run_study(_grid(make_grid), "dask", scheduler=cluster.scheduler_address)
    assert result.run.executor == "dask"
    _same(result, inprocess_result)
