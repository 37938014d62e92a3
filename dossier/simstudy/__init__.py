"""Simulation studies at scale: grids of designs x scenarios x parameters, run in-process, in local
processes or on a Dask cluster, with reproducible seeds, common random numbers, resume and a tidy
result table.

* :mod:`~dossier.simstudy.grid`: :class:`SimulationStudySpec` and its expansion into seeded tasks;
* :mod:`~dossier.simstudy.executors`: where tasks run (Dask imported only by the Dask executor);
* :mod:`~dossier.simstudy.runner`: :func:`run_study` (cache, resume, progress);
* :mod:`~dossier.simstudy.results`: :class:`SimulationStudyResult`, the comparison and tidy tables;
* :mod:`~dossier.simstudy.figures`: the design-comparison figure (SVG);
* :mod:`~dossier.simstudy.commands`: the ``dossier study`` command.
"""

from __future__ import annotations

from dossier.simstudy.grid import (
    SimulationStudySpec,
    StudyDesign,
    StudyScenario,
    load_study_spec,
    parse_study_spec,
)
from dossier.simstudy.results import CellResult, ComparisonRow, RunStats, SimulationStudyResult
from dossier.simstudy.runner import StudyProgress, run_study

__all__ = [
    "CellResult", "ComparisonRow", "RunStats", "SimulationStudyResult", "SimulationStudySpec", "StudyDesign",
    "StudyProgress", "StudyScenario", "load_study_spec", "parse_study_spec", "run_study",
]
