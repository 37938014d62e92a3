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

import json
import os
import sys
from typing import Annotated

import typer

from dossier.errors import DesignError

# numpy and dossier.designs are imported inside the commands: `dossier --help` must not load them

DesignOpt = Annotated[str, typer.Option(
    "--design", help="3+3, i3+3, mtpi2, keyboard, boin or crm; simulate also: boin12, uboin, bf-boin, tite-boin")]
TargetOpt = Annotated[float, typer.Option("--target", help="target DLT rate, e.g. 0.3")]
CohortSizeOpt = Annotated[int, typer.Option("--cohort-size", help="patients per cohort")]
CohortsOpt = Annotated[int, typer.Option("--cohorts", help="maximum number of cohorts")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON only")]
PSafOpt = Annotated[float | None, typer.Option("--p-saf", help="BOIN: highest sub-therapeutic rate")]
PToxOpt = Annotated[float | None, typer.Option("--p-tox", help="BOIN: lowest overly toxic rate")]
EiLowerOpt = Annotated[float | None, typer.Option("--ei-lower", help="i3+3/mTPI-2: EI lower bound")]
EiUpperOpt = Annotated[float | None, typer.Option("--ei-upper", help="i3+3/mTPI-2: EI upper bound")]
SkeletonOpt = Annotated[str | None, typer.Option("--skeleton", help="CRM skeleton, comma-separated")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="CRM model: empiric or logistic")]
PriorSdOpt = Annotated[float | None, typer.Option("--prior-sd", help="CRM prior SD of beta")]
EffLowerOpt = Annotated[float | None, typer.Option("--eff-lower", help="boin12/uboin: lowest acceptable response")]
UtilityOpt = Annotated[str | None, typer.Option(
    "--utility", help="boin12/uboin: utilities by outcome, e.g. eff_no_tox=100,eff_tox=60,neither=40,tox_no_eff=0")]
# options of the reference packages (README "R packages and dossier options"); each applies to the designs
# whose constructor takes it
def _option(kind, decl: str, help: str):
    """An optional CLI option (None when not given: the design's default applies)."""
    return Annotated[kind | None, typer.Option(decl, help=help)]


CutoffEliOpt = _option(float, "--cutoff-eli", "BOIN/Keyboard/i3+3/mTPI-2 cutoff.eli: dose elimination cutoff (0.95)")
BoundMtdOpt = _option(bool, "--bound-mtd/--no-bound-mtd", "BOIN boundMTD: the MTD's estimate must be <= lambda_d")
ExtrasafeOpt = _option(bool, "--extrasafe/--no-extrasafe", "BOIN/Keyboard extrasafe: stricter stop at dose 1")
OffsetOpt = _option(float, "--offset", "BOIN/Keyboard offset of extrasafe (0.05)")
IntcptOpt = _option(float, "--intcpt", "CRM logistic intercept (dfcrm intcpt, 3)")
ExploreOpt = _option(bool, "--explore/--no-explore", "boin12: exploration rule (on)")
NExploreOpt = _option(int, "--n-explore", "boin12: patients at a dose before exploring (9)")
StrictOpt = _option(bool, "--strict-selection/--no-strict-selection",
                    "boin12: no OBD when every dose up to the MTD is eliminated")
ConfLevelOpt = _option(float, "--conf-level", "CRM: level of the probability intervals (dfcrm conf.level, 0.90)")
S1Opt = Annotated[int | None, typer.Option("--s1", help="uboin: patients on a dose that end stage I")]
S2Opt = Annotated[int | None, typer.Option("--s2", help="uboin: patients on a dose that end the trial")]
AllocationOpt = Annotated[str | None, typer.Option(
    "--allocation", help="uboin: stage-II allocation, greedy, proportional or equal")]
AssociationOpt = Annotated[float | None, typer.Option(
    "--association", help="uboin: Gumbel association of toxicity and efficacy (0: independent)")]
ToxUpperOpt = Annotated[float | None, typer.Option(
    "--tox-upper", help="uboin: highest acceptable DLT rate (default target + 0.05)")]


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


def _design_options(design: str, *, skeleton: str | None = None, model: str | None = None,
                    prior_sd: float | None = None, p_saf: float | None = None, p_tox: float | None = None,
                    ei_lower: float | None = None, ei_upper: float | None = None,
                    n_earlystop: int | None = None, start_dose: int | None = None) -> dict:
    """Keyword options for make_design from CLI flags (only the ones given)."""
    key = design.strip().lower()
    opts: dict = {}
    if start_dose is not None:
        if start_dose < 1:
            raise DesignError(f"--start-dose is a 1-based dose level, got {start_dose}", "--start-dose")
        opts["start_dose"] = start_dose - 1
    given = {"--skeleton": skeleton, "--model": model, "--prior-sd": prior_sd}
    if key == "crm":
        if skeleton is not None:
            opts["skeleton"] = _floats(skeleton, "--skeleton")
        if model is not None:
            opts["model"] = model
        if prior_sd is not None:
            opts["prior_sd"] = prior_sd
    elif any(v is not None for v in given.values()):
        flags = ", ".join(k for k, v in given.items() if v is not None)
        raise DesignError(f"{flags} only apply to --design crm", flags)
    if key == "boin":
        if p_saf is not None:
            opts["p_saf"] = p_saf
        if p_tox is not None:
            opts["p_tox"] = p_tox
    elif p_saf is not None or p_tox is not None:
        raise DesignError("--p-saf/--p-tox only apply to --design boin", "--p-saf/--p-tox")
    if key in ("i3+3", "i3plus3", "mtpi2", "keyboard"):
        if ei_lower is not None:
            opts["ei_lower"] = ei_lower
        if ei_upper is not None:
            opts["ei_upper"] = ei_upper
    elif ei_lower is not None or ei_upper is not None:
        raise DesignError("--ei-lower/--ei-upper only apply to i3+3, mtpi2 and keyboard", "--ei-lower")
    if n_earlystop is not None:
        if key in ("crm", "3+3", "3plus3"):
            raise DesignError("--n-earlystop applies to interval designs only", "--n-earlystop")
        opts["n_earlystop"] = n_earlystop
    return opts


#: names accepted by --utility for each outcome (the spec's keys and the short names of the issue)
UTILITY_NAMES = {"eff_no_tox": "eff_no_tox", "eff_tox": "eff_tox", "no_eff_no_tox": "no_eff_no_tox",
                 "neither": "no_eff_no_tox", "no_eff_tox": "no_eff_tox", "tox_no_eff": "no_eff_tox"}
UTILITY_EXAMPLE = "eff_no_tox=100,eff_tox=60,neither=40,tox_no_eff=0"


def _utility(text: str) -> dict[str, float]:
    """Utilities by outcome from ``name=value`` pairs (named, so that no order can be mistaken)."""
    from dossier.designs.boin12 import DEFAULT_UTILITY

    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        key = UTILITY_NAMES.get(name.strip().lower())
        if not eq or key is None:
            raise DesignError(f"cannot read {part!r} in --utility: give each outcome by name", "--utility",
                              f"e.g. {UTILITY_EXAMPLE} (names: {', '.join(UTILITY_NAMES)})")
        if key in out:
            raise DesignError(f"--utility gives {key} twice", "--utility", f"e.g. {UTILITY_EXAMPLE}")
        out[key] = (_floats(value, "--utility") or [float("nan")])[0]
    missing = [k for k in DEFAULT_UTILITY if k not in out]
    if missing:
        raise DesignError(f"--utility is missing {', '.join(missing)}", "--utility", f"e.g. {UTILITY_EXAMPLE}")
    return {k: out[k] for k in DEFAULT_UTILITY}


def _package_options(design: str, **values) -> dict:
    """The options given (not None), each checked to apply to the design (its constructor takes it)."""
    from dossier.designs import design_key, design_parameters

    accepted = set(design_parameters(design))
    opts = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in accepted:
            raise DesignError(f"--{name.replace('_', '-')} does not apply to --design {design_key(design)}",
                              f"--{name.replace('_', '-')}")
        opts[name] = value
    return opts


def _dose1(d: int | None) -> int | None:
    return None if d is None else int(d) + 1


def _emit(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def _interactive(as_json: bool) -> bool:
    return not as_json and sys.stdout.isatty() and not os.environ.get("CI")


# ----------------------------------------------------------------------------------------------


def boundaries(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    doses: Annotated[int, typer.Option("--doses", help="number of doses (CRM pathways)")] = 5,
    p_saf: PSafOpt = None,
    p_tox: PToxOpt = None,
    ei_lower: EiLowerOpt = None,
    ei_upper: EiUpperOpt = None,
    skeleton: SkeletonOpt = None,
    model: ModelOpt = None,
    prior_sd: PriorSdOpt = None,
    cutoff_eli: CutoffEliOpt = None,
    intcpt: IntcptOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decision table of a design: escalate / de-escalate / eliminate boundaries by patients treated."""
    from dossier.designs import make_design

    opts = _design_options(design, skeleton=skeleton, model=model, prior_sd=prior_sd, p_saf=p_saf,
                           p_tox=p_tox, ei_lower=ei_lower, ei_upper=ei_upper)
    opts |= _package_options(design, cutoff_eli=cutoff_eli, intcpt=intcpt)
    if "skeleton" in opts:
        doses = len(opts["skeleton"])
    d = make_design(design, target=target, n_doses=doses, cohort_size=cohort_size, n_cohorts=cohorts, **opts)
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
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{d.name} decision table, target {d.target}"
    if table.lambda_e is not None:
        title += f" (lambda_e = {table.lambda_e:.4f}, lambda_d = {table.lambda_d:.4f})"
    if table.table:
        t = Table(title=title)
        for col in ("patients", "escalate if DLTs <=", "de-escalate if DLTs >=", "eliminate if DLTs >="):
            t.add_column(col, justify="right")
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


def simulate(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    true_tox: Annotated[str, typer.Option("--true-tox", help="true DLT probabilities, comma-separated")] = "",
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    trials: Annotated[int, typer.Option("--trials", help="number of simulated trials")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 1,
    start_dose: Annotated[int | None, typer.Option("--start-dose", help="1-based starting dose")] = None,
    n_earlystop: Annotated[int | None, typer.Option("--n-earlystop", help="interval designs: stop at n on a dose")] = None,
    p_saf: PSafOpt = None,
    p_tox: PToxOpt = None,
    ei_lower: EiLowerOpt = None,
    ei_upper: EiUpperOpt = None,
    skeleton: SkeletonOpt = None,
    model: ModelOpt = None,
    prior_sd: PriorSdOpt = None,
    as_json: JsonOpt = False,
    true_eff: Annotated[str | None, typer.Option(
        "--true-eff", help="OBD designs: true response probabilities, comma-separated")] = None,
    accrual_per_month: Annotated[float | None, typer.Option(
        "--accrual-per-month", help="bf-boin/tite-boin: patients per month")] = None,
    dlt_window_months: Annotated[float | None, typer.Option(
        "--dlt-window-months", help="bf-boin/tite-boin: DLT assessment window")] = None,
    accrual: Annotated[str | None, typer.Option("--accrual", help="bf-boin/tite-boin: uniform or poisson")] = None,
    n_cap: Annotated[int | None, typer.Option("--n-cap", help="bf-boin: close a dose for backfill at n")] = None,
    stay_on_1_of_3: Annotated[bool | None, typer.Option(
        "--stay-on-1-of-3/--no-stay-on-1-of-3", help="bf-boin: 1 DLT of 3 means stay (Zhao et al. Table 4)")] = None,
    eff_lower: EffLowerOpt = None,
    utility: UtilityOpt = None,
    s1: S1Opt = None,
    s2: S2Opt = None,
    allocation: AllocationOpt = None,
    association: AssociationOpt = None,
    tox_upper: ToxUpperOpt = None,
    cutoff_eli: CutoffEliOpt = None,
    bound_mtd: BoundMtdOpt = None,
    extrasafe: ExtrasafeOpt = None,
    offset: OffsetOpt = None,
    intcpt: IntcptOpt = None,
    explore: ExploreOpt = None,
    n_explore: NExploreOpt = None,
    strict_selection: StrictOpt = None,
) -> None:
    """Operating characteristics of a design by simulation, with Monte Carlo standard errors."""
    import numpy as np

    from dossier.designs import OBD_ALIASES, OBD_DESIGNS, make_design
    from dossier.designs.simulate import progress_steps, simulate_trials

    package = _package_options(design, cutoff_eli=cutoff_eli, bound_mtd=bound_mtd, extrasafe=extrasafe,
                               offset=offset, intcpt=intcpt, explore=explore, n_explore=n_explore,
                               strict_selection=strict_selection)
    p_true = _floats(true_tox, "--true-tox")
    if not p_true:
        raise DesignError("give the true DLT probabilities", "--true-tox", "e.g. --true-tox 0.05,0.1,0.2,0.3")
    obd_key = OBD_ALIASES.get(design.strip().lower(), design.strip().lower())
    obd_only = {"--true-eff": true_eff, "--accrual-per-month": accrual_per_month,
                "--dlt-window-months": dlt_window_months, "--accrual": accrual, "--n-cap": n_cap,
                "--stay-on-1-of-3": stay_on_1_of_3, "--eff-lower": eff_lower, "--utility": utility, "--s1": s1,
                "--s2": s2, "--allocation": allocation, "--association": association, "--tox-upper": tox_upper}
    if obd_key in OBD_DESIGNS:
        _simulate_obd(obd_key, target=target, p_true=p_true, true_eff=true_eff, cohort_size=cohort_size,
                      cohorts=cohorts, trials=trials, seed=seed, start_dose=start_dose, n_earlystop=n_earlystop,
                      p_saf=p_saf, p_tox=p_tox, accrual_per_month=accrual_per_month,
                      dlt_window_months=dlt_window_months, accrual=accrual, n_cap=n_cap,
                      stay_on_1_of_3=stay_on_1_of_3, eff_lower=eff_lower, utility=utility, as_json=as_json,
                      uboin={"s1": s1, "s2": s2, "allocation": allocation, "association": association,
                             "tox_upper": tox_upper}, package=package)
        return
    given_obd = [k for k, v in obd_only.items() if v is not None]
    if given_obd:
        raise DesignError(f"{', '.join(given_obd)} only apply to --design boin12, uboin, bf-boin or tite-boin",
                          given_obd[0])
    opts = _design_options(design, skeleton=skeleton, model=model, prior_sd=prior_sd, p_saf=p_saf,
                           p_tox=p_tox, ei_lower=ei_lower, ei_upper=ei_upper, n_earlystop=n_earlystop,
                           start_dose=start_dose) | package
    if trials < 1:
        raise DesignError(f"--trials must be >= 1, got {trials}", "--trials")
    d = make_design(design, target=target, n_doses=len(p_true), cohort_size=cohort_size, n_cohorts=cohorts,
                    **opts)
    rng = np.random.default_rng(seed)
    if _interactive(as_json):
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(f"simulating {trials} {d.name} trials", total=progress_steps(d, trials))
            oc = simulate_trials(d, p_true, trials, rng, progress=lambda k: bar.advance(task, k))
    else:
        oc = simulate_trials(d, p_true, trials, rng)
    se = dict(oc.mc_se)
    se["overdose_pct"] = se["pct_patients_above_mtd"]
    params = dict(oc.design_params)
    params["start_dose"] = _dose1(params.get("start_dose"))
    payload = {
        "design": oc.design, "n_trials": oc.n_trials, "seed": seed, "target": oc.target,
        "p_true": oc.p_true, "true_mtd": _dose1(oc.true_mtd),
        "selection_pct": oc.selection_pct, "no_selection_pct": oc.no_selection_pct,
        "pct_correct_selection": oc.pct_correct_selection,
        "mean_patients": oc.mean_patients, "mean_dlt": oc.mean_dlt,
        "mean_total_patients": oc.mean_total_patients, "mean_total_dlt": oc.mean_total_dlt,
        "early_stop_pct": oc.early_stop_pct, "safety_stop_pct": oc.safety_stop_pct,
        "overdose_pct": oc.pct_patients_above_mtd, "overdose_60_pct": oc.overdose_60_pct,
        "overdose_80_pct": oc.overdose_80_pct,
        "mc_se": {k: se[k] for k in (
            "selection_pct", "no_selection_pct", "pct_correct_selection", "mean_patients", "mean_dlt",
            "mean_total_patients", "mean_total_dlt", "early_stop_pct", "safety_stop_pct", "overdose_pct",
            "overdose_60_pct", "overdose_80_pct")},
        "design_params": params,
    }
    if as_json:
        _emit(payload)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{oc.design}: {oc.n_trials} simulated trials, seed {seed} (MC SE in brackets)")
    t.add_column("dose", justify="right")
    t.add_column("true P(DLT)", justify="right")
    t.add_column("selected %", justify="right")
    t.add_column("patients", justify="right")
    t.add_column("DLTs", justify="right")
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


_OBD_SE_KEYS = (
    "selection_pct", "no_selection_pct", "pct_correct_selection", "mean_patients", "mean_dlt",
    "mean_total_patients", "mean_total_dlt", "early_stop_pct", "safety_stop_pct", "overdose_pct",
    "overdose_60_pct", "overdose_80_pct", "mean_responses", "mean_total_responses", "mean_duration_months",
    "mean_backfill_patients", "patients_below_mtd", "patients_at_mtd", "patients_above_mtd",
    "selection_above_mtd_pct", "pct_patients_at_obd", "mean_utility_selected")


def _simulate_obd(key: str, *, target: float, p_true: list[float], true_eff: str | None, cohort_size: int,
                  cohorts: int, trials: int, seed: int, start_dose: int | None, n_earlystop: int | None,
                  p_saf: float | None, p_tox: float | None, accrual_per_month: float | None,
                  dlt_window_months: float | None, accrual: str | None, n_cap: int | None,
                  stay_on_1_of_3: bool | None, eff_lower: float | None, utility: str | None,
                  as_json: bool, uboin: dict | None = None, package: dict | None = None) -> None:
    """``simulate`` for the OBD / timed designs (same JSON contract plus efficacy and duration keys)."""
    import numpy as np

    from dossier.designs import make_obd_design, simulate_obd

    p_resp = _floats(true_eff, "--true-eff")
    if key in ("boin12", "uboin", "bf-boin") and not p_resp:
        raise DesignError(f"--design {key} needs the true response probabilities", "--true-eff",
                          "e.g. --true-eff 0.1,0.2,0.3,0.45,0.58")
    if p_resp is not None and len(p_resp) != len(p_true):
        raise DesignError(f"--true-eff has {len(p_resp)} values but --true-tox has {len(p_true)}", "--true-eff")
    if trials < 1:
        raise DesignError(f"--trials must be >= 1, got {trials}", "--trials")
    opts: dict = {}
    if start_dose is not None:
        if start_dose < 1:
            raise DesignError(f"--start-dose is a 1-based dose level, got {start_dose}", "--start-dose")
        opts["start_dose"] = start_dose - 1
    allowed = {
        "boin12": {"--n-earlystop", "--p-saf", "--p-tox", "--eff-lower", "--utility"},
        "uboin": {"--p-saf", "--p-tox", "--eff-lower", "--utility", "--s1", "--s2", "--allocation", "--association",
                  "--tox-upper"},
        "bf-boin": {"--n-earlystop", "--p-saf", "--p-tox", "--accrual-per-month", "--dlt-window-months",
                    "--accrual", "--n-cap", "--stay-on-1-of-3"},
        "tite-boin": {"--n-earlystop", "--p-saf", "--p-tox", "--accrual-per-month", "--dlt-window-months",
                      "--accrual"},
    }[key]
    flags = {"--n-earlystop": ("n_earlystop", n_earlystop), "--p-saf": ("p_saf", p_saf),
             "--p-tox": ("p_tox", p_tox), "--eff-lower": ("eff_lower", eff_lower),
             "--accrual-per-month": ("accrual_per_month", accrual_per_month),
             "--dlt-window-months": ("dlt_window_months", dlt_window_months), "--accrual": ("accrual", accrual),
             "--n-cap": ("n_cap", n_cap), "--stay-on-1-of-3": ("stay_on_1_of_3", stay_on_1_of_3)}
    flags |= {f"--{k.replace('_', '-')}": (k, v) for k, v in (uboin or {}).items()}
    for flag, (name, value) in flags.items():
        if value is None:
            continue
        if flag not in allowed:
            raise DesignError(f"{flag} does not apply to --design {key}", flag)
        opts[name] = value
    if utility is not None:
        if "--utility" not in allowed:
            raise DesignError(f"--utility does not apply to --design {key}", "--utility")
        opts["utility"] = _utility(utility)
    d = make_obd_design(key, target=target, n_doses=len(p_true), cohort_size=cohort_size, n_cohorts=cohorts,
                        **opts, **(package or {}))
    oc = simulate_obd(d, p_true, p_resp, trials, np.random.default_rng(seed))
    se = dict(oc.mc_se)
    se["overdose_pct"] = se["pct_patients_above_mtd"]
    params = dict(oc.design_params)
    params["start_dose"] = _dose1(params.get("start_dose"))
    payload = {
        "design": oc.design, "n_trials": oc.n_trials, "seed": seed, "target": oc.target,
        "p_true": oc.p_true, "p_resp": oc.p_resp, "true_mtd": _dose1(oc.true_mtd), "true_obd": _dose1(oc.true_obd),
        "selection_pct": oc.selection_pct, "no_selection_pct": oc.no_selection_pct,
        "pct_correct_selection": oc.pct_correct_selection,
        "mean_patients": oc.mean_patients, "mean_dlt": oc.mean_dlt,
        "mean_total_patients": oc.mean_total_patients, "mean_total_dlt": oc.mean_total_dlt,
        "early_stop_pct": oc.early_stop_pct, "safety_stop_pct": oc.safety_stop_pct,
        "overdose_pct": oc.pct_patients_above_mtd, "overdose_60_pct": oc.overdose_60_pct,
        "overdose_80_pct": oc.overdose_80_pct,
        "mean_responses": oc.mean_responses, "mean_total_responses": oc.mean_total_responses,
        "mean_duration_months": oc.mean_duration_months, "mean_backfill_patients": oc.mean_backfill_patients,
        "patients_below_mtd": oc.patients_below_mtd, "patients_at_mtd": oc.patients_at_mtd,
        "patients_above_mtd": oc.patients_above_mtd, "selection_above_mtd_pct": oc.selection_above_mtd_pct,
        "pct_patients_at_obd": oc.pct_patients_at_obd, "mean_utility_selected": oc.mean_utility_selected,
        "mc_se": {k: se.get(k) for k in _OBD_SE_KEYS},
        "design_params": params,
    }
    if as_json:
        _emit(payload)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{oc.design}: {oc.n_trials} simulated trials, seed {seed} (MC SE in brackets)")
    for col in ("dose", "P(DLT)", "P(resp)", "selected %", "patients", "responses"):
        t.add_column(col, justify="right")
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


def decide(
    design: DesignOpt = "boin",
    target: TargetOpt = 0.3,
    n: Annotated[str | None, typer.Option("--n", help="patients per dose, comma-separated")] = None,
    dlt: Annotated[str | None, typer.Option("--dlt", help="DLTs per dose, comma-separated")] = None,
    current: Annotated[int | None, typer.Option("--current", help="1-based dose of the last cohort")] = None,
    levels: Annotated[str | None, typer.Option("--levels", help="CRM: 1-based dose level of each patient")] = None,
    tox: Annotated[str | None, typer.Option("--tox", help="CRM: 0/1 DLT of each patient")] = None,
    cohort_size: CohortSizeOpt = 3,
    cohorts: CohortsOpt = 10,
    p_saf: PSafOpt = None,
    p_tox: PToxOpt = None,
    ei_lower: EiLowerOpt = None,
    ei_upper: EiUpperOpt = None,
    skeleton: SkeletonOpt = None,
    model: ModelOpt = None,
    prior_sd: PriorSdOpt = None,
    as_json: JsonOpt = False,
    resp: Annotated[str | None, typer.Option("--resp", help="boin12/uboin: responses per dose")] = None,
    both: Annotated[str | None, typer.Option(
        "--both", help="boin12/uboin: patients with a response and a DLT per dose (needed for non-additive "
                       "utilities)")] = None,
    eliminated: Annotated[str | None, typer.Option(
        "--eliminated", help="boin12/uboin: 1-based doses eliminated so far, comma-separated")] = None,
    stage2: Annotated[bool, typer.Option("--stage2", help="uboin: the trial is already in stage II")] = False,
    eff_lower: EffLowerOpt = None,
    utility: UtilityOpt = None,
    s1: S1Opt = None,
    s2: S2Opt = None,
    allocation: AllocationOpt = None,
    tox_upper: ToxUpperOpt = None,
    cutoff_eli: CutoffEliOpt = None,
    bound_mtd: BoundMtdOpt = None,
    extrasafe: ExtrasafeOpt = None,
    offset: OffsetOpt = None,
    intcpt: IntcptOpt = None,
    conf_level: ConfLevelOpt = None,
    strict_selection: StrictOpt = None,
) -> None:
    """The selected dose (MTD, or OBD for boin12/uboin) and estimates from the data observed; with --current
    also the next dose."""
    import numpy as np

    from dossier.designs import OBD_ALIASES, design_key, make_design

    package = _package_options(design, cutoff_eli=cutoff_eli, bound_mtd=bound_mtd, extrasafe=extrasafe,
                               offset=offset, intcpt=intcpt, strict_selection=strict_selection)
    if conf_level is not None and design_key(design) != "crm":
        raise DesignError("--conf-level applies to --design crm only", "--conf-level")
    if conf_level is not None and not 0 < conf_level < 1:
        raise DesignError(f"--conf-level must be in (0, 1), got {conf_level}", "--conf-level", "e.g. 0.9")
    key = OBD_ALIASES.get(design.strip().lower(), design.strip().lower())
    obd = {"--resp": resp, "--both": both, "--eliminated": eliminated, "--eff-lower": eff_lower,
           "--utility": utility, "--s1": s1, "--s2": s2, "--allocation": allocation, "--tox-upper": tox_upper}
    if key in ("boin12", "uboin"):
        _decide_obd(key, target=target, n=n, dlt=dlt, resp=resp, both=both, current=current, eliminated=eliminated,
                    stage2=stage2, cohort_size=cohort_size, cohorts=cohorts, options=obd, as_json=as_json,
                    package=package)
        return
    given = [k for k, v in obd.items() if v is not None] + (["--stage2"] if stage2 else [])
    if given:
        raise DesignError(f"{', '.join(given)} only appl{'y' if len(given) > 1 else 'ies'} to --design boin12 or "
                          "uboin", given[0])
    opts = _design_options(design, skeleton=skeleton, model=model, prior_sd=prior_sd, p_saf=p_saf,
                           p_tox=p_tox, ei_lower=ei_lower, ei_upper=ei_upper) | package
    is_crm = design.strip().lower() == "crm"
    if is_crm:
        if "skeleton" not in opts:
            raise DesignError("CRM needs the skeleton used in the trial", "--skeleton",
                              "e.g. --skeleton 0.05,0.1,0.2,0.3,0.45")
        k = len(opts["skeleton"])
        if levels is not None or tox is not None:
            lv, tx = _ints(levels, "--levels"), _ints(tox, "--tox")
            if lv is None or tx is None or len(lv) != len(tx):
                raise DesignError("--levels and --tox need one entry per patient", "--levels/--tox")
            if any(v < 1 or v > k for v in lv):
                raise DesignError(f"--levels are 1-based dose levels in 1..{k}", "--levels")
            if any(v not in (0, 1) for v in tx):
                raise DesignError("--tox entries must be 0 or 1", "--tox")
            counts = np.bincount(np.array(lv) - 1, minlength=k)
            dlts = np.bincount(np.array(lv) - 1, weights=np.array(tx), minlength=k).astype(int)
        else:
            counts_l, dlts_l = _ints(n, "--n"), _ints(dlt, "--dlt")
            if counts_l is None or dlts_l is None:
                raise DesignError("give --levels and --tox (or --n and --dlt)", "decide")
            counts, dlts = np.array(counts_l), np.array(dlts_l)
        d = make_design("crm", target=target, n_doses=k, cohort_size=cohort_size, n_cohorts=cohorts, **opts)
        fit = d.fit(counts, dlts) if conf_level is None else d.fit(counts, dlts, conf_level=conf_level)
        payload = {"design": "crm", "target": d.target, "model": d.model, "skeleton": d.skeleton,
                   "n": [int(v) for v in counts], "dlt": [int(v) for v in dlts],
                   "recommended": _dose1(fit.mtd), "ptox": fit.ptox, "ptox_lower": fit.ptox_lower,
                   "ptox_upper": fit.ptox_upper, "conf_level": fit.conf_level, "estimate": fit.estimate,
                   "post_var": fit.post_var}
        if current is not None:
            nxt = d.next_dose(counts, dlts, current - 1)
            payload["next"] = {"dose": _dose1(nxt)}
    else:
        counts_l, dlts_l = _ints(n, "--n"), _ints(dlt, "--dlt")
        if counts_l is None or dlts_l is None:
            raise DesignError("give the patients and DLTs per dose", "--n/--dlt", "e.g. --n 3,6,9 --dlt 0,1,4")
        if len(counts_l) != len(dlts_l):
            raise DesignError(f"--n has {len(counts_l)} doses but --dlt has {len(dlts_l)}", "--n/--dlt")
        d = make_design(design, target=target, n_doses=len(counts_l), cohort_size=cohort_size,
                        n_cohorts=cohorts, **opts)
        sel = d.select_mtd(counts_l, dlts_l)
        payload = {"design": d.name, "target": d.target, "n": counts_l, "dlt": dlts_l,
                   "selected": _dose1(sel.selected), "estimates": sel.estimates, "ci_lower": sel.ci_lower,
                   "ci_upper": sel.ci_upper, "eliminated": sel.eliminated, "note": sel.note}
        if current is not None:
            if not 1 <= current <= len(counts_l):
                raise DesignError(f"--current is a 1-based dose level in 1..{len(counts_l)}", "--current")
            dec = d.decide(counts_l, dlts_l, current - 1)
            payload["next"] = {"action": dec.action, "dose": _dose1(dec.next_dose),
                               "eliminated": dec.eliminated}
    if as_json:
        _emit(payload)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{payload['design']}: decision from the data")
    t.add_column("dose", justify="right")
    t.add_column("patients", justify="right")
    t.add_column("DLTs", justify="right")
    t.add_column("estimate", justify="right")
    t.add_column("interval", justify="right")
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


def _decide_obd(key: str, *, target: float, n: str | None, dlt: str | None, resp: str | None, both: str | None,
                current: int | None, eliminated: str | None, stage2: bool, cohort_size: int, cohorts: int,
                options: dict, as_json: bool, package: dict | None = None) -> None:
    """``decide`` for the utility designs: the OBD with per-dose estimates; with --current the next dose."""
    from dossier.designs import make_obd_design
    from dossier.designs.boin12 import additive_utility

    counts, dlts, resps = _ints(n, "--n"), _ints(dlt, "--dlt"), _ints(resp, "--resp")
    if counts is None or dlts is None or resps is None:
        raise DesignError(f"--design {key} needs patients, DLTs and responses per dose", "--n/--dlt/--resp",
                          "e.g. --n 3,6,3 --dlt 0,1,2 --resp 1,3,2")
    k = len(counts)
    if len(dlts) != k or len(resps) != k:
        raise DesignError(f"--n, --dlt and --resp need one value per dose ({k})", "--n/--dlt/--resp")
    opts: dict = {}
    allowed = {"boin12": ("--eff-lower", "--utility"),
               "uboin": ("--eff-lower", "--utility", "--s1", "--s2", "--allocation", "--tox-upper")}[key]
    for flag in ("--eff-lower", "--utility", "--s1", "--s2", "--allocation", "--tox-upper"):
        value = options.get(flag)
        if value is None:
            continue
        if flag not in allowed:
            raise DesignError(f"{flag} does not apply to --design {key}", flag)
        opts[flag[2:].replace("-", "_")] = _utility(value) if flag == "--utility" else value
    if stage2 and key != "uboin":
        raise DesignError("--stage2 applies to --design uboin only", "--stage2")
    el = [False] * k
    for d in _ints(eliminated, "--eliminated") or []:
        if not 1 <= d <= k:
            raise DesignError(f"--eliminated lists 1-based dose levels in 1..{k}", "--eliminated")
        el[d - 1] = True
    d = make_obd_design(key, target=target, n_doses=k, cohort_size=cohort_size, n_cohorts=cohorts, **opts,
                        **(package or {}))
    additive = additive_utility(d.utility)
    y11 = _ints(both, "--both")
    if y11 is None:
        if not additive:
            raise DesignError("these utilities are not additive: give --both (patients with a response and a DLT)",
                              "--both")
        # with additive utilities the mean utility does not depend on the joint cell; any feasible value will do
        y11 = [max(0, a + b - m) for a, b, m in zip(dlts, resps, counts, strict=True)]
    elif len(y11) != k:
        raise DesignError(f"--both needs one value per dose ({k})", "--both")
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
        if key == "uboin":
            nxt, el2, st2 = d.decide_obd(counts, dlts, resps, y11, current - 1, el, stage2=stage2)
            payload["next"] = {"dose": _dose1(nxt), "eliminated": el2, "stage2": st2}
        else:
            nxt, el2 = d.decide_obd(counts, dlts, resps, current - 1, el, n_both=None if additive else y11)
            payload["next"] = {"dose": _dose1(nxt), "eliminated": el2}
    if as_json:
        _emit(payload)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{payload['design']}: decision from the data")
    for col in ("dose", "patients", "DLTs", "responses", "utility", "note"):
        t.add_column(col, justify="right")
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


def register(app: typer.Typer) -> None:
    """Add the ``boundaries``, ``simulate`` and ``decide`` commands to the application's CLI."""
    app.command("boundaries")(boundaries)
    app.command("simulate")(simulate)
    app.command("decide")(decide)
