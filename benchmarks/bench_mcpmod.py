"""Benchmark: MCP-Mod on DoseFinding's ``biom`` example against R DoseFinding.

What is timed: ``analyse_mcpmod`` (contrast test with p-values and critical value, fits of the significant
models, AIC selection, target dose for Delta = 0.5; no bootstrap, as R's ``MCPMod``) on data with biom's
dose means, group sizes and within-group SS (the sufficient statistics; biom itself is not shipped), for
three candidate sets, median of 19 warm calls:

- ``example``: DoseFinding's own MCPMod example, Mods(linear = NULL, emax = c(0.05, 0.2), linInt = c(1, 1, 1, 1))
- ``mods6``: linear, emax, sigEmax, exponential, quadratic, logistic (tests/analyses/test_mcpmod.py)
- ``mods9``: mods6 plus linlog, betaMod, linInt

"cold" clears the cached max-t distribution before every call (what a call on new data costs; the
data-independent QMC directions and radial-cdf tables are built once per process); "warm" keeps it
(repeated analyses of one design). The R figures are the medians of 19 warm calls of
``MCPMod(dose, resp, biom, models, Delta = 0.5)`` with DoseFinding 1.0.3 measured on this machine when the
fixtures were frozen (tests/analyses/fixtures/make_dosefinding_fixtures.R, key ``timing``); the target
quoted in issue 16 is 0.10 s per call.

Usage:  python benchmarks/bench_mcpmod.py [--calls 19]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from dossier.analyses import mcpmod

FIX = json.loads((Path(__file__).resolve().parents[1] / "tests" / "analyses" / "fixtures"
                  / "dosefinding_reference.json").read_text())
TARGET_S = 0.10  # issue 16: R DoseFinding 1.0.x, median of 19 warm calls
SETS = {
    "example": [("linear", []), ("emax", [0.05]), ("emax", [0.2]), ("linInt", [1, 1, 1, 1])],
    "mods6": [("linear", []), ("emax", [0.2]), ("sigEmax", [0.4, 3]), ("exponential", [0.5]),
              ("quadratic", [-0.85]), ("logistic", [0.5, 0.1])],
    "mods9": [("linear", []), ("linlog", []), ("emax", [0.2]), ("exponential", [0.5]), ("quadratic", [-0.85]),
              ("logistic", [0.5, 0.1]), ("sigEmax", [0.4, 3]), ("betaMod", [0.3, 1.2]),
              ("linInt", [0.5, 0.75, 1, 1])],
}


def biom_like() -> tuple[np.ndarray, np.ndarray]:
    """Subject-level data with exactly biom's dose means, group sizes and within-group SS."""
    b = FIX["biom_data"]
    rng = np.random.default_rng(0)
    d_all, y_all = [], []
    for d, m, k in zip(b["doses"], b["means"], b["n"], strict=True):
        z = rng.standard_normal(int(k))
        z = (z - z.mean()) / np.sqrt(((z - z.mean()) ** 2).sum()) * np.sqrt(b["within_ss"] / len(b["doses"]))
        d_all += [d] * int(k)
        y_all += list(m + z)
    return np.array(d_all), np.array(y_all)


def clear_caches() -> None:
    """Forget the max-t distributions of earlier data (the per-dimension QMC directions and radial
    tables are data-independent constants and stay)."""
    mcpmod._max_t_cached.cache_clear()


def median_time(fn, calls: int, cold: bool) -> tuple[float, float]:
    """Median wall-clock and CPU seconds per call (CPU time is less disturbed by other load)."""
    for _ in range(3):
        fn()
    wall, cpu = [], []
    for _ in range(calls):
        if cold:
            clear_caches()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=19)
    args = ap.parse_args()
    d, y = biom_like()
    r_times = FIX["timing"]
    print(f"MCP-Mod on biom (median of {args.calls} calls); R DoseFinding {FIX['meta']['DoseFinding']} "
          f"measured {r_times['date']}; target {TARGET_S:.2f} s (issue 16)")
    print(f"{'candidates':<10} {'cold (s)':>9} {'cold CPU':>9} {'warm (s)':>9} {'R (s)':>7} {'R / cold':>9} {'target':>7}")
    for name, cands in SETS.items():
        res = mcpmod.analyse_mcpmod(d, y, "biom", candidates=cands, delta=0.5)
        assert res is not None and res.dose_response_detected

        def call(c=cands):
            return mcpmod.analyse_mcpmod(d, y, "biom", candidates=c, delta=0.5)

        cold, cold_cpu = median_time(call, args.calls, cold=True)
        warm, _ = median_time(call, args.calls, cold=False)
        r = r_times[f"mcpmod_{name}"]
        ok = "met" if cold <= TARGET_S else "MISSED"
        print(f"{name:<10} {cold:9.4f} {cold_cpu:9.4f} {warm:9.4f} {r:7.3f} {r / cold:8.1f}x {ok:>7}")


if __name__ == "__main__":
    main()
