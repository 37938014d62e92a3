"""The options of the noncompartmental analysis (spec key ``pk.nca``; used by :mod:`dossier.analyses.nca`).

They are plain data, below the spec in the layers, so that the spec validates them with the one definition
the analysis uses (defaults: PKNCA's, Denney et al., PKNCA R package, ``PKNCA.options()``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

AUCMethod = Literal["lin-up/log-down", "linear"]
BLQAction = Literal["keep", "drop"] | float


class Result(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid")


class LambdaZOverride(Result):
    """A manual terminal-phase selection: listed ``times`` or the window [``start``, ``end``]."""

    usubjid: str
    profile: str | None = None  # None: every profile of the subject
    times: list[float] | None = None
    start: float | None = None
    end: float | None = None


class PointExclusion(Result):
    """A sample excluded from the analysis by the analyst, with the reason."""

    usubjid: str
    profile: str | None = None
    time: float
    reason: str = "excluded by the analyst"


class BLQRule(Result):
    """PKNCA ``conc.blq``: what to do with BLQ values before, between and after measurable ones."""

    first: BLQAction = "keep"
    middle: BLQAction = "drop"
    last: BLQAction = "drop"


class NCASettings(Result):
    """Every setting of the NCA (the defaults are PKNCA's, except ``blq.last``: see :class:`BLQRule`)."""

    auc_method: AUCMethod = "lin-up/log-down"
    blq: BLQRule = BLQRule()
    lloq: float | None = None  # used where the data carry no LLOQ
    adj_r2_tolerance: float = 1e-4
    min_lambda_z_points: int = 3
    allow_tmax_in_lambda_z: bool = False
    lambda_z_overrides: list[LambdaZOverride] = []
    exclusions: list[PointExclusion] = []
    partial_aucs: list[tuple[float, float]] = []
    conc_unit: str = ""
    time_unit: str = "h"
    dose_unit: str = "mg"
