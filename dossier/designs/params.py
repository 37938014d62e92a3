"""The parameters of a design, declared once as a typed model.

Every design class carries ``Params``, a pydantic model of the keyword options its constructor takes
beyond the four settings common to all designs (``target``, ``n_doses``, ``cohort_size``, ``n_cohorts``):
each field has its type, default, bounds, help text and published source (``source``).  From these
models the registry validates options (:func:`validate_options`), the CLI generates its flags
(:mod:`dossier.commands.designs`) and the study spec its ``design`` keys (:mod:`dossier.spec`), so a
parameter is declared in one place.

Dose indices (``dose_index=True``) are 0-based in Python and 1-based on the CLI and in the spec;
:func:`from_one_based` converts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dossier.errors import DesignError


def param(default: Any = None, *, help: str, source: str = "", dose_index: bool = False, **bounds) -> Any:
    """A design parameter: default, bounds (``ge``, ``gt``, ``le``, ``lt``), help text and published source."""
    extra: dict[str, Any] = {"source": source}
    if dose_index:
        extra["dose_index"] = True
    return Field(default, description=help, json_schema_extra=extra, **bounds)


class DesignParams(BaseModel):
    """Options shared by every design (beyond target, n_doses, cohort_size and n_cohorts)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    start_dose: int = param(0, ge=0, dose_index=True, help="first dose",
                            source="BOIN get.oc startdose; dfcrm crmsim x0")


def field_source(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra or {}
    return str(extra.get("source", "")) if isinstance(extra, dict) else ""


def is_dose_index(model: type[BaseModel], name: str) -> bool:
    extra = model.model_fields[name].json_schema_extra or {}
    return isinstance(extra, dict) and bool(extra.get("dose_index"))


def from_one_based(model: type[BaseModel], options: dict[str, Any], where: str = "design options") -> dict[str, Any]:
    """Options with their dose indices converted from 1-based (CLI, spec) to 0-based (Python)."""
    out = dict(options)
    for name, value in options.items():
        if name not in model.model_fields or not is_dose_index(model, name) or value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        if any(int(v) < 1 for v in values):
            raise DesignError(f"{name} takes 1-based dose levels, got {value}", f"{where}: {name}",
                              "dose 1 is the lowest dose")
        out[name] = [int(v) - 1 for v in values] if isinstance(value, list | tuple) else int(value) - 1
    return out


def validate_options(cls, options: dict[str, Any], where: str = "design options") -> dict[str, Any]:
    """The options of ``cls`` (a design class) checked against its ``Params`` model: unknown names, types and
    bounds raise :class:`DesignError`.  Returns the options given, typed (defaults are left to the design)."""
    model: type[DesignParams] = cls.Params
    unknown = [k for k in options if k not in model.model_fields]
    if unknown:
        raise DesignError(f"invalid option for design {cls.name!r}: {', '.join(unknown)} "
                          f"do{'es' if len(unknown) == 1 else ''} not apply", where,
                          f"{cls.name} takes: {', '.join(model.model_fields)}")
    try:
        typed = model(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise DesignError(f"invalid option for design {cls.name!r}: {loc}: {err['msg']}", f"{where}: {loc}",
                          model.model_fields[str(err["loc"][0])].description) from None
    return {k: getattr(typed, k) for k in options}


def all_parameters(registry: dict[str, type]) -> dict[str, dict[str, Any]]:
    """Every parameter of the registered designs: name -> {"field": the first declaration, "designs": [...]}.

    A name means the same thing (and has the same type) in every design that takes it."""
    out: dict[str, dict[str, Any]] = {}
    for key, cls in registry.items():
        for name, info in cls.Params.model_fields.items():
            entry = out.setdefault(name, {"field": info, "model": cls.Params, "designs": []})
            entry["designs"].append(key)
    return out
