"""Building a drug-combination design (BOIN combination, waterfall) by name or from the spec's
``combination:`` section: one builder for the CLI, the pipeline and the examples."""

from __future__ import annotations

from dossier.designs.boin_comb import BoinComb
from dossier.designs.waterfall import Waterfall
from dossier.errors import DesignError

COMB_DESIGNS: dict[str, type] = {"boin-comb": BoinComb, "waterfall": Waterfall}
COMB_ALIASES = {"boin": "boin-comb", "boincomb": "boin-comb", "boin-combination": "boin-comb"}


def parse_numbers(text: str, where: str, kind=float) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DesignError(f"{where} must be comma-separated numbers, got {text!r}", where) from None


def comb_design(name: str, *, target: float, shape: tuple[int, int], cohort_size: int = 3,
                cohorts: str | None = None, **options):
    """A combination design by name; ``cohorts``: total cohorts (boin-comb) or one per subtrial (waterfall)."""
    key = COMB_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in COMB_DESIGNS:
        raise DesignError(f"unknown combination design {name!r}", "--design", f"choose one of: {', '.join(COMB_DESIGNS)}")
    values = parse_numbers(cohorts, "--cohorts", int) if cohorts else None
    if key == "boin-comb":
        if values is not None and len(values) != 1:
            raise DesignError("boin-comb takes one total number of cohorts", "--cohorts", "e.g. --cohorts 20")
        return BoinComb(target=target, n_rows=shape[0], n_cols=shape[1], cohort_size=cohort_size,
                        n_cohorts=values[0] if values else 10, **options)
    return Waterfall(target=target, n_rows=shape[0], n_cols=shape[1], cohort_size=cohort_size, n_cohorts=values,
                     **options)


def combination_design_from_spec(spec):
    """The design of a spec's ``combination:`` section (:class:`dossier.spec.CombinationSpec`)."""
    J, K = (len(a.levels) for a in spec.agents)
    opts = {} if spec.n_earlystop is None else {"n_earlystop": spec.n_earlystop}
    return comb_design(spec.design, target=spec.target, shape=(J, K), cohort_size=spec.cohort_size,
                       cohorts=",".join(str(v) for v in spec.n_cohorts), **opts)
