"""CLI commands of the designs stage: ``boundaries``, ``simulate`` and ``decide``.

The JSON printed with ``--json`` is a stable contract (CI and other tools parse it): percentages
are 0-100, dose levels are **1-based**, ``null`` marks a rule that does not apply or no selection.

* ``boundaries`` -> ``{"design", "target", "cohort_size", "lambda_e", "lambda_d",
  "table": [{"n", "escalate_max", "deescalate_min", "eliminate_min"}, ...]}``; for CRM the table
  is empty and ``pathways`` lists the dose-transition pathways of the first 2 cohorts.
* ``simulate`` -> ``{"design", "n_trials", "seed", "target", "p_true", "true_mtd", "selection_pct",
  "no_selection_pct", "pct_correct_selection", "mean_patients", "mean_dlt",
  "mean_total_patients", "mean_total_dlt", "early_stop_pct", "safety_stop_pct", "overdose_pct",
  "overdose_60_pct", "overdose_80_pct", "mc_se": {same keys}, "design_params"}`` where
  ``overdose_pct`` is the mean percentage of patients treated above the true MTD (see
  :mod:`dossier.designs.simulate` for every definition).  With ``--design boin12|uboin|bf-boin|tite-boin``
  the same keys (``selection_pct``: the OBD for BOIN12, the MTD for BF-BOIN / TITE-BOIN;
  ``pct_correct_selection`` against ``true_obd`` for BOIN12) plus ``p_resp``, ``true_obd``,
  ``mean_responses``, ``mean_total_responses``, ``mean_duration_months`` (null without calendar time),
  ``mean_backfill_patients`` (BF-BOIN, else null), ``patients_below_mtd``, ``patients_at_mtd``,
  ``patients_above_mtd``, ``selection_above_mtd_pct``, ``pct_patients_at_obd``,
  ``mean_utility_selected`` and their MC SEs in ``mc_se`` (see :mod:`dossier.designs.obd`).
* ``decide`` -> interval designs and 3+3: ``{"design", "target", "n", "dlt", "selected",
  "estimates", "ci_lower", "ci_upper", "eliminated", "note"}`` (+ ``"next"`` with ``--current``);
  CRM: ``{"design", "model", "skeleton", "recommended", "ptox", "ptox_lower", "ptox_upper",
  "conf_level", "estimate", "post_var", "n", "dlt"}``; BOIN12 / U-BOIN (``--resp`` per dose):
  ``{"design", "target", "n", "dlt", "resp", "selected" (the OBD), "note", "doses": [per-dose estimates:
  BOIN12 p_tox, p_eff, utility; U-BOIN mean_utility, pr_overly_toxic, pr_futile, admissible], "next":
  {"dose", "eliminated"[, "stage2"]}}`` (BOIN12 also ``"mtd"``).

Bad input raises :class:`~dossier.errors.DesignError`; the application's CLI prints it and exits 2.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import typing
from typing import Annotated, Any, Literal

import numpy as np
import typer

from dossier.designs import REGISTRY, TrialData, design_class, design_from_spec, design_key
from dossier.designs.params import all_parameters, field_source, from_one_based, is_dose_index
from dossier.errors import DesignError

DesignOpt = Annotated[str, typer.Option("--design", help=f"one of: {', '.join(REGISTRY)}")]
TargetOpt = Annotated[float, typer.Option("--target", help="target DLT rate, e.g. 0.3")]
CohortSizeOpt = Annotated[int, typer.Option("--cohort-size", help="patients per cohort")]
CohortsOpt = Annotated[int, typer.Option("--cohorts", help="maximum number of cohorts")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON only")]


def _floats(text: str | None, where: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise DesignError(f"cannot read {text!r} as comma-separated numbers", where,
                          "e.g. 0.05,0.1,0.2") from None


def _ints(text: str | None, where: str) -> list[int] | None:
    vals = _floats(text, where)
    if vals is None:
        return None
    if any(v != int(v) for v in vals):
        raise DesignError(f"{where} needs whole numbers, got {text!r}", where)
    return [int(v) for v in vals]


#: names accepted by --utility for each outcome (the spec's keys and the short names of the issue)
UTILITY_NAMES = {"eff_no_tox": "eff_no_tox", "eff_tox": "eff_tox", "no_eff_no_tox": "no_eff_no_tox",
                 "neither": "no_eff_no_tox", "no_eff_tox": "no_eff_tox", "tox_no_eff": "no_eff_tox"}
UTILITY_EXAMPLE = "eff_no_tox=100,eff_tox=60,neither=40,tox_no_eff=0"


def _named_values(text: str, flag: str) -> dict[str, float]:
    """Values of the four outcomes from ``name=value`` pairs (named, so that no order can be mistaken)."""
    from dossier.designs.boin12 import DEFAULT_UTILITY

    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        key = UTILITY_NAMES.get(name.strip().lower())
        if not eq or key is None:
            raise DesignError(f"cannot read {part!r} in {flag}: give each outcome by name", flag,
                              f"e.g. {UTILITY_EXAMPLE} (names: {', '.join(UTILITY_NAMES)})")
        if key in out:
            raise DesignError(f"{flag} gives {key} twice", flag, f"e.g. {UTILITY_EXAMPLE}")
        out[key] = (_floats(value, flag) or [float("nan")])[0]
    missing = [k for k in DEFAULT_UTILITY if k not in out]
    if missing:
        raise DesignError(f"{flag} is missing {', '.join(missing)}", flag, f"e.g. {UTILITY_EXAMPLE}")
    return {k: out[k] for k in DEFAULT_UTILITY}


# ----------------------------------------------------------------------------------------------
# CLI options generated from the designs' parameter models
# ----------------------------------------------------------------------------------------------

def __getattr__(name: str):
    """``PARAMETERS``: every parameter of every design (name -> {"field", "model", "designs"}), computed on
    first use: it imports every design, which ``decide --design boin`` does not need (issue 16)."""
    if name == "PARAMETERS":
        value = globals()["PARAMETERS"] = all_parameters(REGISTRY)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parameters_of(design: str | None = None) -> dict[str, dict[str, Any]]:
    """The parameters of one design (a registry name), or of every design (None): the CLI options."""
    if design is None:
        return __getattr__("PARAMETERS")
    return all_parameters({design: REGISTRY[design]})


def design_in_args(args: list[str]) -> str | None:
    """The registry name given by ``--design`` in a command line (``boin`` when absent, the default), or None
    when it is not a plain registry name (an alias) or the help is asked for: then the command is built with
    the options of every design.  The command built for one design parses exactly the command lines that use
    its options only, as the full command does; any other fails to parse and the caller falls back to the
    full command (see :func:`dossier.cli.quick_command`)."""
    if "--help" in args:
        return None
    value = "boin"
    for i, arg in enumerate(args):
        if arg == "--design" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--design="):
            value = arg.partition("=")[2]
    key = value.strip().lower()
    return key if key in REGISTRY else None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _base_type(annotation: Any) -> Any:
    """The annotation without ``None`` (``float | None`` -> float)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, type(int | None)) and len(args) == 1:
        return args[0]
    return annotation


def _field(name: str, cls=None):
    """The declaration of parameter ``name``: the design's own if it takes it (a name means the same thing in
    every design), else the first of any design."""
    if cls is not None and name in cls.Params.model_fields:
        return cls.Params.model_fields[name]
    return parameters_of()[name]["field"]


def _cli_kind(name: str, field=None) -> str:
    """How a parameter is typed on the command line: bool, int, float, or text parsed by :func:`_parse`."""
    base = _base_type((field or _field(name)).annotation)
    if base in (bool, int, float):
        return base.__name__
    return "text"


def _option_annotation(name: str, params: dict[str, dict[str, Any]]) -> Any:
    entry = params[name]
    info, model = entry["field"], entry["model"]
    source = field_source(model, name)
    base = _base_type(info.annotation)
    choices = f" ({' | '.join(typing.get_args(base))})" if typing.get_origin(base) is Literal else ""
    one_based = " (1-based)" if is_dose_index(model, name) else ""
    help_text = (f"{', '.join(entry['designs'])}: {info.description}{one_based}{choices}"
                 + (f"; source: {source}" if source else ""))
    kind = _cli_kind(name, info)
    decl = f"{_flag(name)}/--no-{name.replace('_', '-')}" if kind == "bool" else _flag(name)
    py = {"bool": bool, "int": int, "float": float, "text": str}[kind]
    return Annotated[py | None, typer.Option(decl, help=help_text)]


def _parse(name: str, value: Any, cls=None) -> Any:
    """A CLI value as the design's Python keyword (lists comma-separated, utilities by name); ``cls``: the
    design class, whose declaration of ``name`` is used when it has one."""
    field = _field(name, cls)
    if _cli_kind(name, field) != "text":
        return value
    base = _base_type(field.annotation)
    origin = typing.get_origin(base)
    if origin is dict:
        return _named_values(value, _flag(name))
    if origin is list:
        inner = typing.get_args(base)[0]
        return _ints(value, _flag(name)) if inner is int else _floats(value, _flag(name))
    return value


def with_design_options(command, design: str | None = None):
    """``command`` with one CLI option per design parameter (generated from the ``Params`` models of the
    registry; with ``design``, of that design only); the options given reach ``command`` as ``options``
    (name -> CLI value)."""
    params = parameters_of(design)
    sig = inspect.signature(command)
    hints = typing.get_type_hints(command, include_extras=True)
    fixed = [p.replace(annotation=hints[p.name]) for p in sig.parameters.values() if p.name != "options"]
    taken = {p.name for p in fixed}
    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=_option_annotation(n, params))
             for n in params if n not in taken]

    def run(**kwargs):
        options = {n.name: kwargs.pop(n.name) for n in extra}
        return command(**kwargs, options={k: v for k, v in options.items() if v is not None})

    run.__name__, run.__doc__ = command.__name__, command.__doc__
    run.__signature__ = sig.replace(parameters=fixed + extra)
    run.__annotations__ = {p.name: p.annotation for p in fixed + extra}
    return run


def build_from_cli(design: str, *, target: float, n_doses: int, cohort_size: int, cohorts: int,
                   options: dict[str, Any]):
    """The design of the CLI flags, built by :func:`dossier.designs.design_from_spec` (the one place a design
    is built from settings); a flag for a parameter the design does not take is an error."""
    cls = design_class(design)
    key = design_key(design)
    for name in options:
        if name not in cls.Params.model_fields:
            raise DesignError(f"{_flag(name)} does not apply to --design {key}", _flag(name),
                              f"{key} takes: {', '.join(_flag(n) for n in cls.Params.model_fields)}")
    typed = from_one_based(cls.Params, {k: _parse(k, v, cls) for k, v in options.items()}, "command line")
    return design_from_spec({"name": key, "target": target, "cohort_size": cohort_size, "n_cohorts": cohorts,
                             "options": typed}, n_doses, where="command line")


def _is_mtd(cls) -> bool:
    return cls.selects == "MTD" and not cls.needs_efficacy and not cls.uses_calendar_time


def _table(title: str, *columns: str):
    """A rich table with right-aligned columns."""
    from rich.table import Table

    t = Table(title=title)
    for col in columns:
        t.add_column(col, justify="right")
    return t


def _dose1(d: int | None) -> int | None:
    return None if d is None else int(d) + 1


def _emit(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdout.isatty() and not os.environ.get("CI")


# ----------------------------------------------------------------------------------------------
# boundaries
# ----------------------------------------------------------------------------------------------


def boundaries(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    doses: Annotated[int, typer.Option("--doses", help="number of doses (CRM pathways)")] = 5,
    as_json: JsonOpt = False,
    options: dict | None = None,
) -> None:
    """Decision table of a design: escalate / de-escalate / eliminate boundaries by patients treated."""
    options = options or {}
    if "skeleton" in options:
        doses = len(_parse("skeleton", options["skeleton"], design_class(design)) or [])
    d = build_from_cli(design, target=target, n_doses=doses, cohort_size=cohort_size, cohorts=cohorts,
                       options=options)
    table = d.decision_table()
    payload = {
        "design": d.name, "target": d.target, "cohort_size": d.cohort_size,
        "lambda_e": table.lambda_e, "lambda_d": table.lambda_d,
        "table": [row.model_dump() for row in table.table],
    }
    if table.pathways:
        payload["pathways"] = [{"dlts": p.dlts, "doses": [_dose1(x) for x in p.doses]} for p in table.pathways]
        payload["start_dose"] = _dose1(table.start_dose)
    if table.note:
        payload["note"] = table.note
    if as_json:
        _emit(payload)
        return
    _print_boundaries(d, table, payload)


def _print_boundaries(d, table, payload: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{d.name} decision table, target {d.target}"
    if table.lambda_e is not None:
        title += f" (lambda_e = {table.lambda_e:.4f}, lambda_d = {table.lambda_d:.4f})"
    if table.table:
        t = _table(title, "patients", "escalate if DLTs <=", "de-escalate if DLTs >=", "eliminate if DLTs >=")
        for row in table.table:
            t.add_row(*(("-" if v is None else str(v)) for v in
                        (row.n, row.escalate_max, row.deescalate_min, row.eliminate_min)))
        console.print(t)
    if table.pathways:
        t = Table(title=f"{d.name}: dose-transition pathways (start at dose {_dose1(table.start_dose)})")
        t.add_column("DLTs per cohort")
        t.add_column("next doses")
        for p in payload["pathways"]:
            t.add_row(" / ".join(map(str, p["dlts"])), " -> ".join("stop" if x is None else str(x)
                                                                  for x in p["doses"]))
        console.print(t)
    if table.note:
        console.print(table.note)


# ----------------------------------------------------------------------------------------------
# simulate
# ----------------------------------------------------------------------------------------------

_MTD_SE_KEYS = ("selection_pct", "no_selection_pct", "pct_correct_selection", "mean_patients", "mean_dlt",
                "mean_total_patients", "mean_total_dlt", "early_stop_pct", "safety_stop_pct", "overdose_pct",
                "overdose_60_pct", "overdose_80_pct")
_OBD_SE_KEYS = _MTD_SE_KEYS + (
    "mean_responses", "mean_total_responses", "mean_duration_months", "mean_backfill_patients",
    "patients_below_mtd", "patients_at_mtd", "patients_above_mtd", "selection_above_mtd_pct",
    "pct_patients_at_obd", "mean_utility_selected")


def simulate(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    true_tox: Annotated[str, typer.Option("--true-tox", help="true DLT probabilities, comma-separated")] = "",
    true_eff: Annotated[str | None, typer.Option(
        "--true-eff", help="designs that use efficacy: true response probabilities, comma-separated")] = None,
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    trials: Annotated[int, typer.Option("--trials", help="number of simulated trials")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 1,
    as_json: JsonOpt = False,
    options: dict | None = None,
) -> None:
    """Operating characteristics of a design by simulation, with Monte Carlo standard errors."""
    p_true = _floats(true_tox, "--true-tox")
    if not p_true:
        raise DesignError("give the true DLT probabilities", "--true-tox", "e.g. --true-tox 0.05,0.1,0.2,0.3")
    p_resp = _floats(true_eff, "--true-eff")
    cls = design_class(design)
    if p_resp is not None and not (cls.needs_efficacy or cls.uses_calendar_time):
        raise DesignError(f"--true-eff does not apply to --design {design_key(design)} (an MTD design)",
                          "--true-eff")
    if p_resp is not None and len(p_resp) != len(p_true):
        raise DesignError(f"--true-eff has {len(p_resp)} values but --true-tox has {len(p_true)}", "--true-eff")
    if trials < 1:
        raise DesignError(f"--trials must be >= 1, got {trials}", "--trials")
    d = build_from_cli(design, target=target, n_doses=len(p_true), cohort_size=cohort_size, cohorts=cohorts,
                       options=options or {})
    if cls.needs_efficacy and not p_resp:
        raise DesignError(f"--design {d.name} needs the true response probabilities", "--true-eff",
                          "e.g. --true-eff 0.1,0.2,0.3,0.45,0.58")
    from dossier.designs.base import Scenario
    from dossier.designs.obd import ObdOperatingCharacteristics
    from dossier.designs.simulate import progress_steps

    scenario = Scenario(p_tox=p_true, p_eff=p_resp)
    rng = np.random.default_rng(seed)
    if _interactive(as_json) and _is_mtd(cls):  # the vectorised engine reports progress
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(f"simulating {trials} {d.name} trials", total=progress_steps(d, trials))
            oc = d.simulate(scenario, trials, rng, progress=lambda k: bar.advance(task, k))
    else:
        oc = d.simulate(scenario, trials, rng)
    obd = isinstance(oc, ObdOperatingCharacteristics)
    payload = _oc_payload(oc, seed, obd)
    if as_json:
        _emit(payload)
        return
    se = dict(oc.mc_se)
    (_print_obd_oc if obd else _print_mtd_oc)(oc, se, seed)


def _oc_payload(oc, seed: int, obd: bool) -> dict:
    """The JSON contract of ``simulate`` (1-based doses; OBD / timed designs add their keys)."""
    se = dict(oc.mc_se)
    se["overdose_pct"] = se["pct_patients_above_mtd"]
    params = dict(oc.design_params)
    params["start_dose"] = _dose1(params.get("start_dose"))
    payload = {"design": oc.design, "n_trials": oc.n_trials, "seed": seed, "target": oc.target, "p_true": oc.p_true}
    if obd:
        payload |= {"p_resp": oc.p_resp, "true_mtd": _dose1(oc.true_mtd), "true_obd": _dose1(oc.true_obd)}
    else:
        payload["true_mtd"] = _dose1(oc.true_mtd)
    payload |= {
        "selection_pct": oc.selection_pct, "no_selection_pct": oc.no_selection_pct,
        "pct_correct_selection": oc.pct_correct_selection,
        "mean_patients": oc.mean_patients, "mean_dlt": oc.mean_dlt,
        "mean_total_patients": oc.mean_total_patients, "mean_total_dlt": oc.mean_total_dlt,
        "early_stop_pct": oc.early_stop_pct, "safety_stop_pct": oc.safety_stop_pct,
        "overdose_pct": oc.pct_patients_above_mtd, "overdose_60_pct": oc.overdose_60_pct,
        "overdose_80_pct": oc.overdose_80_pct,
    }
    if obd:
        payload |= {
            "mean_responses": oc.mean_responses, "mean_total_responses": oc.mean_total_responses,
            "mean_duration_months": oc.mean_duration_months, "mean_backfill_patients": oc.mean_backfill_patients,
            "patients_below_mtd": oc.patients_below_mtd, "patients_at_mtd": oc.patients_at_mtd,
            "patients_above_mtd": oc.patients_above_mtd, "selection_above_mtd_pct": oc.selection_above_mtd_pct,
            "pct_patients_at_obd": oc.pct_patients_at_obd, "mean_utility_selected": oc.mean_utility_selected,
        }
    payload["mc_se"] = {k: se.get(k) for k in (_OBD_SE_KEYS if obd else _MTD_SE_KEYS)}
    payload["design_params"] = params
    return payload


def _print_mtd_oc(oc, se: dict, seed: int) -> None:
    from rich.console import Console

    t = _table(f"{oc.design}: {oc.n_trials} simulated trials, seed {seed} (MC SE in brackets)",
               "dose", "true P(DLT)", "selected %", "patients", "DLTs")
    for i, p in enumerate(oc.p_true):
        mark = " *" if i == oc.true_mtd else ""
        t.add_row(f"{i + 1}{mark}", f"{p:.3f}", f"{oc.selection_pct[i]:.1f} ({se['selection_pct'][i]:.1f})",
                  f"{oc.mean_patients[i]:.2f} ({se['mean_patients'][i]:.2f})",
                  f"{oc.mean_dlt[i]:.2f} ({se['mean_dlt'][i]:.2f})")
    console = Console()
    console.print(t)
    console.print(f"* true MTD (closest to target {oc.target}).  No selection: {oc.no_selection_pct:.1f}%  "
                  f"early stop: {oc.early_stop_pct:.1f}%  mean sample size: {oc.mean_total_patients:.1f}  "
                  f"patients above MTD: {oc.pct_patients_above_mtd:.1f}%  "
                  f"overdosing >=60%/>=80%: {oc.overdose_60_pct:.1f}%/{oc.overdose_80_pct:.1f}%")


def _print_obd_oc(oc, se: dict, seed: int) -> None:
    from rich.console import Console

    t = _table(f"{oc.design}: {oc.n_trials} simulated trials, seed {seed} (MC SE in brackets)",
               "dose", "P(DLT)", "P(resp)", "selected %", "patients", "responses")
    for i, p in enumerate(oc.p_true):
        mark = (" *" if i == oc.true_mtd else "") + (" o" if oc.true_obd == i else "")
        t.add_row(f"{i + 1}{mark}", f"{p:.3f}", "-" if oc.p_resp is None else f"{oc.p_resp[i]:.3f}",
                  f"{oc.selection_pct[i]:.1f} ({se['selection_pct'][i]:.1f})",
                  f"{oc.mean_patients[i]:.2f} ({se['mean_patients'][i]:.2f})", f"{oc.mean_responses[i]:.2f}")
    console = Console()
    console.print(t)
    dur = "" if oc.mean_duration_months is None else f"  duration: {oc.mean_duration_months:.1f} months"
    console.print(f"* true MTD, o true OBD.  No selection: {oc.no_selection_pct:.1f}%  mean sample size: "
                  f"{oc.mean_total_patients:.1f}  patients below/at/above MTD: {oc.patients_below_mtd:.1f}/"
                  f"{oc.patients_at_mtd:.1f}/{oc.patients_above_mtd:.1f}{dur}")


# ----------------------------------------------------------------------------------------------
# decide
# ----------------------------------------------------------------------------------------------


def decide(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    n: Annotated[str | None, typer.Option("--n", help="patients per dose, comma-separated")] = None,
    dlt: Annotated[str | None, typer.Option("--dlt", help="DLTs per dose, comma-separated")] = None,
    current: Annotated[int | None, typer.Option("--current", help="1-based dose of the last cohort")] = None,
    levels: Annotated[str | None, typer.Option("--levels", help="CRM: 1-based dose level of each patient")] = None,
    tox: Annotated[str | None, typer.Option("--tox", help="CRM: 0/1 DLT of each patient")] = None,
    resp: Annotated[str | None, typer.Option("--resp", help="boin12/uboin: responses per dose")] = None,
    both: Annotated[str | None, typer.Option(
        "--both", help="boin12/uboin: patients with a response and a DLT per dose (needed for non-additive "
                       "utilities)")] = None,
    eliminated: Annotated[str | None, typer.Option(
        "--eliminated", help="boin12/uboin: 1-based doses eliminated so far, comma-separated")] = None,
    stage2: Annotated[bool, typer.Option("--stage2", help="uboin: the trial is already in stage II")] = False,
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    as_json: JsonOpt = False,
    options: dict | None = None,
) -> None:
    """The selected dose (MTD, or OBD for boin12/uboin) and estimates from the data observed; with --current
    also the next dose."""
    options = options or {}
    cls = design_class(design)
    if cls.selects == "OBD":
        _decide_obd(design, target=target, n=n, dlt=dlt, resp=resp, both=both, current=current,
                    eliminated=eliminated, stage2=stage2, cohort_size=cohort_size, cohorts=cohorts,
                    options=options, as_json=as_json)
        return
    given = [f for f, v in (("--resp", resp), ("--both", both), ("--eliminated", eliminated)) if v is not None]
    given += ["--stage2"] if stage2 else []
    if given:
        raise DesignError(f"{', '.join(given)} only appl{'y' if len(given) > 1 else 'ies'} to --design boin12 or "
                          "uboin", given[0])
    if design_key(design) == "crm":
        payload = _decide_crm(target=target, n=n, dlt=dlt, current=current, levels=levels, tox=tox,
                              cohort_size=cohort_size, cohorts=cohorts, options=options)
    else:
        payload = _decide_mtd(design, target=target, n=n, dlt=dlt, current=current, cohort_size=cohort_size,
                              cohorts=cohorts, options=options)
    if as_json:
        _emit(payload)
        return
    _print_decision(payload)


def _decide_crm(*, target, n, dlt, current, levels, tox, cohort_size, cohorts, options) -> dict:
    skeleton = _parse("skeleton", options["skeleton"], design_class("crm")) if "skeleton" in options else None
    if skeleton is None:
        raise DesignError("CRM needs the skeleton used in the trial", "--skeleton",
                          "e.g. --skeleton 0.05,0.1,0.2,0.3,0.45")
    k = len(skeleton)
    counts, dlts = _crm_counts(n, dlt, levels, tox, k)
    d = build_from_cli("crm", target=target, n_doses=k, cohort_size=cohort_size, cohorts=cohorts, options=options)
    fit = d.fit(counts, dlts)
    payload = {"design": "crm", "target": d.target, "model": d.model, "skeleton": d.skeleton,
               "n": [int(v) for v in counts], "dlt": [int(v) for v in dlts],
               "recommended": _dose1(fit.mtd), "ptox": fit.ptox, "ptox_lower": fit.ptox_lower,
               "ptox_upper": fit.ptox_upper, "conf_level": fit.conf_level, "estimate": fit.estimate,
               "post_var": fit.post_var}
    if current is not None:
        nxt = d.decide(TrialData(n=list(counts), dlt=list(dlts), current=current - 1)).next_dose
        payload["next"] = {"dose": _dose1(nxt)}
    return payload


def _crm_counts(n, dlt, levels, tox, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Patients and DLTs per dose from per-patient --levels/--tox or per-dose --n/--dlt."""
    if levels is not None or tox is not None:
        lv, tx = _ints(levels, "--levels"), _ints(tox, "--tox")
        if lv is None or tx is None or len(lv) != len(tx):
            raise DesignError("--levels and --tox need one entry per patient", "--levels/--tox")
        if any(v < 1 or v > k for v in lv):
            raise DesignError(f"--levels are 1-based dose levels in 1..{k}", "--levels")
        if any(v not in (0, 1) for v in tx):
            raise DesignError("--tox entries must be 0 or 1", "--tox")
        counts = np.bincount(np.array(lv) - 1, minlength=k)
        return counts, np.bincount(np.array(lv) - 1, weights=np.array(tx), minlength=k).astype(int)
    counts_l, dlts_l = _ints(n, "--n"), _ints(dlt, "--dlt")
    if counts_l is None or dlts_l is None:
        raise DesignError("give --levels and --tox (or --n and --dlt)", "decide")
    return np.array(counts_l), np.array(dlts_l)


def _decide_mtd(design, *, target, n, dlt, current, cohort_size, cohorts, options) -> dict:
    counts_l, dlts_l = _ints(n, "--n"), _ints(dlt, "--dlt")
    if counts_l is None or dlts_l is None:
        raise DesignError("give the patients and DLTs per dose", "--n/--dlt", "e.g. --n 3,6,9 --dlt 0,1,4")
    if len(counts_l) != len(dlts_l):
        raise DesignError(f"--n has {len(counts_l)} doses but --dlt has {len(dlts_l)}", "--n/--dlt")
    d = build_from_cli(design, target=target, n_doses=len(counts_l), cohort_size=cohort_size, cohorts=cohorts,
                       options=options)
    sel = d.select_mtd(counts_l, dlts_l)
    payload = {"design": d.name, "target": d.target, "n": counts_l, "dlt": dlts_l,
               "selected": _dose1(sel.selected), "estimates": sel.estimates, "ci_lower": sel.ci_lower,
               "ci_upper": sel.ci_upper, "eliminated": sel.eliminated, "note": sel.note}
    if current is not None:
        if not 1 <= current <= len(counts_l):
            raise DesignError(f"--current is a 1-based dose level in 1..{len(counts_l)}", "--current")
        dec = d.decide(TrialData(n=counts_l, dlt=dlts_l, current=current - 1))
        payload["next"] = {"action": dec.action, "dose": _dose1(dec.next_dose), "eliminated": dec.eliminated}
    return payload


def _print_decision(payload: dict) -> None:
    from rich.console import Console

    console = Console()
    t = _table(f"{payload['design']}: decision from the data", "dose", "patients", "DLTs", "estimate", "interval")
    est = payload.get("estimates", payload.get("ptox"))
    lo = payload.get("ci_lower", payload.get("ptox_lower"))
    hi = payload.get("ci_upper", payload.get("ptox_upper"))
    for i in range(len(payload["n"])):
        t.add_row(str(i + 1), str(payload["n"][i]), str(payload["dlt"][i]),
                  "-" if est[i] is None else f"{est[i]:.3f}",
                  "-" if lo[i] is None else f"({lo[i]:.3f}, {hi[i]:.3f})")
    console.print(t)
    chosen = payload.get("selected", payload.get("recommended"))
    console.print(f"selected / recommended dose: {'none' if chosen is None else chosen}")
    if "next" in payload:
        console.print(f"next cohort: {payload['next']}")


def _obd_counts(key, n, dlt, resp, both, eliminated):
    counts, dlts, resps = _ints(n, "--n"), _ints(dlt, "--dlt"), _ints(resp, "--resp")
    if counts is None or dlts is None or resps is None:
        raise DesignError(f"--design {key} needs patients, DLTs and responses per dose", "--n/--dlt/--resp",
                          "e.g. --n 3,6,3 --dlt 0,1,2 --resp 1,3,2")
    k = len(counts)
    if len(dlts) != k or len(resps) != k:
        raise DesignError(f"--n, --dlt and --resp need one value per dose ({k})", "--n/--dlt/--resp")
    el = [False] * k
    for d in _ints(eliminated, "--eliminated") or []:
        if not 1 <= d <= k:
            raise DesignError(f"--eliminated lists 1-based dose levels in 1..{k}", "--eliminated")
        el[d - 1] = True
    y11 = _ints(both, "--both")
    if y11 is not None and len(y11) != k:
        raise DesignError(f"--both needs one value per dose ({k})", "--both")
    return counts, dlts, resps, y11, el


def _decide_obd(design: str, *, target: float, n: str | None, dlt: str | None, resp: str | None, both: str | None,
                current: int | None, eliminated: str | None, stage2: bool, cohort_size: int, cohorts: int,
                options: dict, as_json: bool) -> None:
    """``decide`` for the utility designs: the OBD with per-dose estimates; with --current the next dose."""
    key = design_key(design)
    counts, dlts, resps, y11, el = _obd_counts(key, n, dlt, resp, both, eliminated)
    k = len(counts)
    if stage2 and key != "uboin":
        raise DesignError("--stage2 applies to --design uboin only", "--stage2")
    d = build_from_cli(design, target=target, n_doses=k, cohort_size=cohort_size, cohorts=cohorts, options=options)
    from dossier.designs.boin12 import additive_utility

    additive = additive_utility(d.utility)
    if y11 is None:
        if not additive:
            raise DesignError("these utilities are not additive: give --both (patients with a response and a DLT)",
                              "--both")
        # with additive utilities the mean utility does not depend on the joint cell; any feasible value will do
        y11 = [max(0, a + b - m) for a, b, m in zip(dlts, resps, counts, strict=True)]
    payload: dict = {"design": d.name, "target": d.target, "n": counts, "dlt": dlts, "resp": resps}
    if key == "uboin":
        sel = d.select_obd(counts, dlts, resps, y11, el)
        payload.update(selected=_dose1(sel.selected), note=sel.note,
                       doses=[p.model_dump() | {"dose": p.dose + 1} for p in sel.doses])
    else:
        sel = d.select_obd(counts, dlts, resps, el)
        payload.update(selected=_dose1(sel.selected), note=sel.note, mtd=_dose1(sel.mtd),
                       doses=[{"dose": i + 1, "n": counts[i], "p_tox": sel.p_tox[i], "p_eff": sel.p_eff[i],
                               "utility": sel.utility[i], "eliminated": sel.eliminated[i]} for i in range(k)])
    if current is not None:
        if not 1 <= current <= k or counts[current - 1] == 0:
            raise DesignError(f"--current is the 1-based dose of the last cohort (a treated dose in 1..{k})",
                              "--current")
        data = TrialData(n=counts, dlt=dlts, resp=resps, both=y11 if (key == "uboin" or not additive) else None,
                         current=current - 1, eliminated=el, stage2=stage2)
        dec = d.decide(data)
        payload["next"] = {"dose": _dose1(dec.next_dose), "eliminated": dec.eliminated}
        if key == "uboin":
            payload["next"]["stage2"] = dec.stage2
    if as_json:
        _emit(payload)
        return
    _print_obd_decision(payload, counts, dlts, resps)


def _print_obd_decision(payload: dict, counts, dlts, resps) -> None:
    from rich.console import Console

    console = Console()
    t = _table(f"{payload['design']}: decision from the data", "dose", "patients", "DLTs", "responses", "utility",
               "note")
    for row in payload["doses"]:
        i = row["dose"] - 1
        util = row.get("mean_utility", row.get("utility"))
        flag = ("eliminated" if row["eliminated"] else
                ("not admissible" if row.get("admissible") is False and counts[i] > 0 else ""))
        t.add_row(str(row["dose"]), str(counts[i]), str(dlts[i]), str(resps[i]),
                  "-" if util is None else f"{util:.1f}", flag)
    console.print(t)
    console.print(f"OBD: {'none' if payload['selected'] is None else payload['selected']}  ({payload['note']})")
    if "next" in payload:
        console.print(f"next cohort: {payload['next']}")


def register(app: typer.Typer, design: str | None = None, names: tuple[str, ...] | None = None) -> None:
    """Add the ``boundaries``, ``simulate`` and ``decide`` commands (or those in ``names``) to the application's
    CLI, with one option per design parameter (generated from the designs' parameter models; with ``design``,
    those of that design only: :func:`design_in_args`)."""
    for name, command in (("boundaries", boundaries), ("simulate", simulate), ("decide", decide)):
        if names is None or name in names:
            app.command(name)(with_design_options(command, design))
