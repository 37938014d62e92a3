"""Start-up time of the quick commands: ``dossier --help``, ``decide`` and ``boundaries`` (issue 16).

Each command runs in a fresh process (``python -m dossier ...``, as the console script does) ``--runs``
times; printed: the median wall time and the median CPU time of the child (user + system; steadier than
wall time on a shared machine), each against the target of 0.4 s, with the load average of the machine
and three floors for scale: the interpreter alone, ``import numpy``, and a typer command with one option
that imports numpy (typer parses options with pydantic, so that floor loads pydantic too; ``decide`` needs
all three).  Bytecode is cached (in a temporary folder, ``PYTHONPYCACHEPREFIX``) and one untimed run warms
it, as after ``pip install``, which compiles the package: without it every run would compile dossier's
modules again (~0.3 s).  Then ``python -X importtime`` of ``decide``: the top-level packages by the time
their own modules took, and the slowest single modules.

Usage:  python benchmarks/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

TARGET_S = 0.4
COMMANDS = {
    "--help": ["--help"],
    "decide (BOIN)": ["decide", "--design", "boin", "--n", "3,6,3", "--dlt", "0,1,2", "--json"],
    "decide (3+3, table)": ["decide", "--design", "3+3", "--n", "3,6", "--dlt", "0,1"],
    "boundaries (BOIN)": ["boundaries", "--design", "boin", "--json"],
}
#: a typer command with one option that imports numpy: what every quick command needs at least (typer parses
#: options with pydantic TypeAdapters, so this also loads pydantic)
TYPER_NUMPY = """
from typing import Annotated
import numpy, typer
app = typer.Typer(add_completion=False, rich_markup_mode=None)
@app.command()
def cmd(x: Annotated[float, typer.Option("--x")] = 0.0):
    print(numpy.float64(x))
app.callback()(lambda: None)
app(args=["cmd", "--x", "1"])
"""
FLOORS = {"python -c pass": ["-c", "pass"], "python -c 'import numpy'": ["-c", "import numpy"],
          "typer command + numpy": ["-c", TYPER_NUMPY]}


ENV = dict(os.environ)


def time_process(args: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU (user + system of the child) seconds of ``python args`` over ``runs`` runs
    (after one untimed run that fills the bytecode cache)."""
    subprocess.run([sys.executable, *args], capture_output=True, env=ENV)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return statistics.median(walls), statistics.median(cpus)


def import_profile(args: list[str]) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) of each import of ``python -X importtime args``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=ENV)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        rows.append((name.rstrip(), int(self_us), int(cum_us)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory() as cache:
        ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        ENV["PYTHONPYCACHEPREFIX"] = cache
        report(runs)


def report(runs: int) -> None:
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} cores; "
          f"median of {runs} runs per line")
    for label, args in FLOORS.items():
        wall, cpu = time_process(args, runs)
        print(f"  {label:30s} wall {wall:5.2f} s  cpu {cpu:5.2f} s   (floor, for scale)")
    worst = 0.0
    for label, args in COMMANDS.items():
        wall, cpu = time_process(["-m", "dossier", *args], runs)
        worst = max(worst, wall)
        print(f"  dossier {label:22s} wall {wall:5.2f} s  cpu {cpu:5.2f} s   target <= {TARGET_S} s  "
              f"ratio {wall / TARGET_S:.2f} (cpu {cpu / TARGET_S:.2f})")
    print(f"slowest command: {worst:.2f} s, ratio to the target {worst / TARGET_S:.2f}")

    rows = import_profile(["-m", "dossier", *COMMANDS["decide (BOIN)"]])
    by_package: dict[str, int] = defaultdict(int)
    for name, self_us, _ in rows:
        by_package[name.strip().split(".")[0]] += self_us
    total = sum(by_package.values())
    print(f"\nimports of `dossier decide` (python -X importtime, one run): {total / 1e6:.2f} s in all")
    print("  by top-level package (own time of its modules):")
    for pkg, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {pkg:28s} {us / 1e6:6.3f} s  {100 * us / total:5.1f} %")
    print("  slowest modules (own time):")
    for name, self_us, cum_us in sorted(rows, key=lambda r: -r[1])[:10]:
        print(f"    {name.strip():52s} {self_us / 1e6:6.3f} s  (with its imports {cum_us / 1e6:.3f} s)")


if __name__ == "__main__":
    main()
