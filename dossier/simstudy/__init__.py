"""Simulation studies at scale: grids of designs x scenarios x parameters, run in-process, in local
processes or on a Dask cluster, with reproducible seeds, common random numbers, resume and a tidy
result table.

* :mod:`~dossier.simstudy.grid`: :class:`SimulationStudySpec` and its expansion into seeded tasks;
* :mod:`~dossier.simstudy.executors`: where tasks run (Dask imported only by the Dask executor);
* :mod:`~dossier.simstudy.runner`: :func:`run_study` (cache, resume, progress);
* :mod:`~dossier.simstudy.results`: :class:`SimulationStudyResult`, the comparison and tidy tables;
* the design-comparison figure (SVG) is :mod:`dossier.render.study_figures`;
* the ``dossier study`` command is :mod:`dossier.commands.study`.
"""

from __future__ import annotations

import importlib

# lazy (PEP 562): ``from dossier.simstudy.grid import SimulationStudySpec`` (as spec.py does) imports only
# the grid module, not the simulation engine, pandas or matplotlib
_EXPORTS = {
    "SimulationStudySpec": "grid", "StudyDesign": "grid", "StudyScenario": "grid", "load_study_spec": "grid",
    "parse_study_spec": "grid", "CellResult": "results", "ComparisonRow": "results", "RunStats": "results",
    "SimulationStudyResult": "results", "StudyProgress": "runner", "run_study": "runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"dossier.simstudy.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'dossier.simstudy' has no attribute {name!r}")
