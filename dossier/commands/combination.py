"""``dossier combination decide|simulate``: the drug-combination designs (BOIN combination, waterfall).

Matrices on the command line are rows of agent A levels separated by ``;``, values per agent B level
separated by ``,`` (``--n "3,3,0;3,0,0"``).  Dose pairs are 1-based ``A,B`` (``--current 2,1``).
``decide`` also reads dose-pair data from a CSV (``--data``): one row per subject (columns
``dose_a, dose_b, dlt``) or per dose pair (``dose_a, dose_b, n, dlt``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from dossier.designs.combination import comb_design, combination_design_from_spec
from dossier.designs.combination import parse_numbers as _numbers
from dossier.designs.waterfall import Waterfall
from dossier.errors import DesignError

app = typer.Typer(help="Drug-combination dose finding (two agents): BOIN combination and waterfall designs.",
                  no_args_is_help=True)

DesignOpt = Annotated[str, typer.Option("--design", help="boin-comb (one MTD) or waterfall (MTD contour)")]
TargetOpt = Annotated[float, typer.Option("--target", help="target DLT rate")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON only")]
SeedOpt = Annotated[int, typer.Option("--seed", help="seed of the numpy Generator (ties, simulation)")]


def load_combination(path: Path):
    """The ``combination:`` section of a YAML spec (:class:`dossier.spec.CombinationSpec`)."""
    from pydantic import ValidationError

    from dossier.errors import SpecError, format_validation_error
    from dossier.spec import CombinationSpec
    from dossier.yamlio import read_yaml

    raw = read_yaml(path, "combination spec", "pass a YAML with a `combination:` section, e.g. "
                    "examples/combination/combination.yaml")
    if not isinstance(raw, dict) or "combination" not in raw:
        raise SpecError("the spec has no `combination:` section", str(path), "see examples/combination/combination.yaml")
    try:
        return CombinationSpec.model_validate(raw["combination"])
    except ValidationError as err:
        raise format_validation_error(err, f"{path}: combination") from None


def parse_matrix(text: str, where: str) -> np.ndarray:
    rows = [r for r in text.split(";") if r.strip()]
    vals = [_numbers(r, where) for r in rows]
    if not vals or len({len(r) for r in vals}) != 1 or not vals[0]:
        raise DesignError(f"{where} must be a matrix: rows (agent A levels) separated by ';', values (agent B "
                          "levels) by ','", where, 'e.g. "3,3,0;3,0,0"')
    return np.array(vals, dtype=float)


@app.command("decide")
def decide(
    design: DesignOpt = "boin-comb",
    target: TargetOpt = 0.3,
    n: Annotated[str | None, typer.Option("--n", help="patients per dose pair (matrix)")] = None,
    dlt: Annotated[str | None, typer.Option("--dlt", help="DLTs per dose pair (matrix)")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="CSV of subjects or dose pairs")] = None,
    levels_a: Annotated[str | None, typer.Option("--levels-a", help="with --data: agent A doses, ascending")] = None,
    levels_b: Annotated[str | None, typer.Option("--levels-b", help="with --data: agent B doses, ascending")] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="YAML with a combination: section (design, agents, "
                                                        "data)")] = None,
    current: Annotated[str | None, typer.Option("--current", help="boin-comb: 1-based pair A,B of the last cohort")
                       ] = None,
    cohort_size: Annotated[int, typer.Option("--cohort-size")] = 3,
    cohorts: Annotated[str | None, typer.Option("--cohorts", help="total (boin-comb) or per subtrial (waterfall)")
                       ] = None,
    n_earlystop: Annotated[int | None, typer.Option("--n-earlystop")] = None,
    seed: SeedOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """The selected dose pair (boin-comb) or MTD contour (waterfall) from dose-pair data; with --current
    also the next pair (boin-comb); for waterfall, where the next subtrial starts."""
    la = lb = None
    d = None
    if spec is not None:
        cs = load_combination(spec)
        if cs.data is None:
            raise DesignError("the combination spec has no data", f"{spec}: combination.data")
        data = Path(cs.data.path) if Path(cs.data.path).is_absolute() else spec.parent / cs.data.path
        levels_a = ",".join(f"{v:g}" for v in cs.agents[0].levels)
        levels_b = ",".join(f"{v:g}" for v in cs.agents[1].levels)
        d = combination_design_from_spec(cs)
    if data is not None:
        if n is not None or dlt is not None:
            raise DesignError("give either --data or --n/--dlt", "--data")
        from dossier.ingest.combination import read_pairs  # pandas: only when a file is read

        counts, dlts, la, lb = read_pairs(data, levels_a, levels_b)
    else:
        if n is None or dlt is None:
            raise DesignError("give the patients and DLTs per dose pair", "--n/--dlt", 'e.g. --n "3,3;3,0" --dlt "0,1;0,0"')
        counts, dlts = parse_matrix(n, "--n"), parse_matrix(dlt, "--dlt")
    opts = {} if n_earlystop is None else {"n_earlystop": n_earlystop}
    if d is None:
        d = comb_design(design, target=target, shape=counts.shape, cohort_size=cohort_size, cohorts=cohorts, **opts)
    if isinstance(d, Waterfall):
        if current is not None:
            raise DesignError("--current applies to boin-comb; within a waterfall subtrial decide with the "
                              "single-agent BOIN on the subtrial's path (dossier decide --design boin)", "--current")
        sel = d.select_contour(counts, dlts)
        nxt = d.next_subtrial(counts, dlts)
        waterfall_next = {"selected": None if nxt["selected"] is None else [v + 1 for v in nxt["selected"]],
                          "next_row": None if nxt["next_row"] is None else nxt["next_row"] + 1,
                          "start": None if nxt["start"] is None else [v + 1 for v in nxt["start"]],
                          "note": nxt["note"]}
    else:
        sel = d.select_mtd(counts, dlts)
    payload: dict = {"design": d.name, "target": d.target, "n": counts.astype(int).tolist(),
                     "dlt": dlts.astype(int).tolist(), "levels_a": la, "levels_b": lb,
                     "selected": [[j + 1, k + 1] for j, k in sel.selected], "estimates": sel.estimates,
                     "eliminated": sel.eliminated, "note": sel.note}
    if isinstance(d, Waterfall):
        payload["next_subtrial"] = waterfall_next
    if current is not None:
        pair = _numbers(current, "--current", int)
        if len(pair) != 2:
            raise DesignError("--current is a 1-based pair A,B", "--current", "e.g. --current 2,1")
        dec = d.decide(counts, dlts, (pair[0] - 1, pair[1] - 1), np.random.default_rng(seed))
        payload["next"] = {"action": dec.action,
                           "pair": None if dec.next_pair is None else [v + 1 for v in dec.next_pair],
                           "candidates": [[a + 1, b + 1] for a, b in dec.candidates], "tied": dec.tied,
                           "seed": seed, "note": dec.note}
    if as_json:
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{d.name}: patients / DLTs (isotonic estimate) per dose pair")
    t.add_column("A \\ B")
    for k in range(counts.shape[1]):
        t.add_column(f"B{k + 1}" + ("" if lb is None else f" ({lb[k]:g})"), justify="right")
    chosen = {tuple(p) for p in payload["selected"]}
    for j in range(counts.shape[0] - 1, -1, -1):
        cells = []
        for k in range(counts.shape[1]):
            e = sel.estimates[j][k]
            mark = " *" if (j + 1, k + 1) in chosen else (" x" if sel.eliminated[j][k] else "")
            cells.append(f"{int(counts[j, k])}/{int(dlts[j, k])}" + ("" if e is None else f" ({e:.2f})") + mark)
        t.add_row(f"A{j + 1}" + ("" if la is None else f" ({la[j]:g})"), *cells)
    console.print(t)
    console.print(f"* selected, x eliminated.  {sel.note}")
    if "next" in payload:
        console.print(f"next cohort: {payload['next']}")
    if "next_subtrial" in payload:
        console.print(f"waterfall: {payload['next_subtrial']['note']}")


@app.command("simulate")
def simulate(
    true: Annotated[str | None, typer.Option("--true", help="true DLT probability per dose pair (matrix)")] = None,
    spec: Annotated[Path | None, typer.Option("--spec", help="YAML with a combination: section (its scenarios)")
                    ] = None,
    design: DesignOpt = "boin-comb",
    target: TargetOpt = 0.3,
    cohort_size: Annotated[int, typer.Option("--cohort-size")] = 3,
    cohorts: Annotated[str | None, typer.Option("--cohorts", help="total (boin-comb) or per subtrial (waterfall)")
                       ] = None,
    n_earlystop: Annotated[int | None, typer.Option("--n-earlystop")] = None,
    trials: Annotated[int, typer.Option("--trials", help="simulated trials")] = 10_000,
    seed: SeedOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """Operating characteristics per dose pair (selection %, patients, DLTs, Monte Carlo SE)."""
    if spec is not None:
        cs = load_combination(spec)
        if not cs.scenarios:
            raise DesignError("the combination spec has no scenarios", f"{spec}: combination.scenarios")
        d = combination_design_from_spec(cs)
        for sc in cs.scenarios:
            _report(d, np.array(sc.true_tox), cs.n_trials, cs.seed, as_json, sc.name)
        return
    if true is None:
        raise DesignError("give the true DLT probabilities (--true) or a spec (--spec)", "--true")
    p = parse_matrix(true, "--true")
    opts = {} if n_earlystop is None else {"n_earlystop": n_earlystop}
    d = comb_design(design, target=target, shape=p.shape, cohort_size=cohort_size, cohorts=cohorts, **opts)
    if trials < 1:
        raise DesignError("--trials must be >= 1", "--trials")
    _report(d, p, trials, seed, as_json)


def _report(d, p: np.ndarray, trials: int, seed: int, as_json: bool, scenario: str | None = None) -> None:
    oc = d.simulate(p, trials, np.random.default_rng(seed))
    if as_json:
        typer.echo(json.dumps(oc.model_dump() | {"seed": seed, "scenario": scenario}, indent=2, allow_nan=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{d.name}{'' if scenario is None else ', ' + scenario}: {trials} simulated trials, seed {seed}: "
                    "selection % (SE) / mean patients / DLTs")
    t.add_column("A \\ B")
    for k in range(p.shape[1]):
        t.add_column(f"B{k + 1}", justify="right")
    truth = set(map(tuple, oc.true_mtd))
    for j in range(p.shape[0] - 1, -1, -1):
        t.add_row(f"A{j + 1}", *[f"{p[j, k]:.2f}{' *' if (j, k) in truth else ''}: "
                                 f"{oc.selection_pct[j][k]:.1f} ({oc.mc_se['selection_pct'][j][k]:.1f}) / "
                                 f"{oc.mean_patients[j][k]:.1f} / {oc.mean_dlt[j][k]:.1f}" for k in range(p.shape[1])])
    console.print(t)
    console.print(f"* true MTD.  correct selection: {oc.pct_correct_selection:.1f}%  no selection: "
                  f"{oc.no_selection_pct:.1f}%  mean sample size: {oc.mean_total_patients:.1f}  "
                  f"patients at the MTD: {oc.pct_patients_at_mtd:.1f}%")


def register(main: typer.Typer) -> None:
    """Add ``dossier combination decide|simulate`` to the application's CLI."""
    main.add_typer(app, name="combination")
