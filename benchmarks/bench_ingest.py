"""Benchmark: ingest + checks of an ADAE of 200,000 rows and an ADSL of 5,000 subjects (SAS XPT v5).

Target (issue 4): <= 3 s wall time on the project machine. Prints wall time per repetition (best and
median), rows/s, and peak memory of the ingest (tracemalloc peak of Python/numpy allocations, and the
resident-set growth of a fresh process that only runs the ingest).

    .venv/bin/python benchmarks/bench_ingest.py [--subjects 5000] [--aes 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ingest"))

import adam_synthetic as synthetic  # noqa: E402  (the seeded ADaM generator shared with tests/ingest)

from dossier.ingest import load_study  # noqa: E402
from dossier.spec import parse_spec  # noqa: E402

TARGET_S = 3.0


def write(folder: Path, n_subjects: int, n_aes: int) -> dict:
    tables = synthetic.make_tables(n_subjects=n_subjects, n_ae=n_aes, seed=2024)
    tables = {"adsl": tables["adsl"], "adae": tables["adae"]}
    return synthetic.write_study(folder, fmt="xpt", tables=tables)


def _peak_rss_kib() -> int:
    """Peak resident set of this process (VmHWM; ru_maxrss survives fork/exec, so it is a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(spec_dict: dict, folder: str, queue) -> None:
    """Run one ingest in a fresh process; report its peak RSS before and after the ingest (KiB)."""
    spec = parse_spec(spec_dict)
    before = _peak_rss_kib()
    load_study(spec, Path(folder))
    queue.put((before, _peak_rss_kib()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=5000)
    ap.add_argument("--aes", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        spec_dict = write(folder, args.subjects, args.aes)
        gen_s = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
        spec = parse_spec(spec_dict)
        load_study(spec, folder)  # warm-up: imports, page cache
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            data, report = load_study(spec, folder)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        load_study(spec, folder)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(spec_dict, str(folder), queue))
        proc.start()
        rss_before, rss_after = queue.get(timeout=300)
        proc.join()
    rows = args.subjects + args.aes
    best, median = min(times), statistics.median(times)
    print(f"ingest benchmark: ADSL {args.subjects:,} subjects + ADAE {args.aes:,} rows (SAS XPT v5)")
    print("  files: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(sizes.items()))
          + f" (generated in {gen_s:.1f} s)")
    print(f"  wall time (ingest + checks): best {best:.2f} s, median {median:.2f} s over {args.repeat} runs"
          f"  [target <= {TARGET_S:.0f} s: {'met' if median <= TARGET_S else 'NOT met'}]")
    print(f"  throughput: {rows / median:,.0f} rows/s (median); {sum(sizes.values()) / 1e6 / median:.0f} MB/s")
    print(f"  peak memory: tracemalloc {peak / 2**20:.0f} MiB (Python/numpy heap); fresh process peak RSS "
          f"{rss_after / 1024:.0f} MiB, of which {(rss_after - rss_before) / 1024:.0f} MiB for the ingest "
          f"(the rest is the interpreter and libraries)")
    print(f"  report: {len(report.errors)} errors, {len(report.warnings)} warnings; "
          f"tables: subjects {len(data.subjects):,}, adverse_events {len(data.adverse_events):,}")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
