"""Scale of one build (issue 16): 2,000 subjects, 200,000 AE records and 40,000 PK samples, all agencies,
in <= 60 s and <= 2 GB peak memory.

The study is the examplinib example grown (seeded, written into a temporary folder): the generator of
``examples/examplinib/generate.py`` with its escalation and backfill parts as they are and the randomized
part enlarged to 2,000 subjects; its subject-level outcomes (exposure, response, PFS, tolerability) are the
generator's own.  Added for scale: 100 AE records per subject on average (the generator's terms and
weights, grades and actions; exactly 200,000 records) and an ADPC with one 20-sample profile per subject
(one-compartment oral absorption at the subject's clearance: 40,000 samples).  The spec is the example's,
with the ADPC added.

The build runs as a user runs it (``python -m dossier build --force`` in a fresh process, every agency,
HTML + PDF).  Printed: wall time, CPU time and the peak memory: the largest resident set of any one process
(getrusage of the children) and the peak sum over the build's process tree (proportional set sizes sampled
from /proc every 0.2 s, on Linux), each against its target.

Usage:  python benchmarks/bench_scale.py [--subjects 2000] [--ae 200000] [--pk 40000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "examplinib"
TARGET_S, TARGET_GB = 60.0, 2.0
SEED = 20261203
PK_TIMES_H = (0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 30, 36, 48, 72)


def _generator():
    spec = importlib.util.spec_from_file_location("examplinib_generate", EXAMPLE / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _adverse_events(gen, df: pd.DataFrame, n_records: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n_records`` AE records over the subjects, vectorised, with the generator's terms, weights and actions:
    more AEs at higher doses, grade >= 3 and dose modifications by the subject's own probabilities."""
    weights = np.array([w for *_, w in gen.AE_TERMS])
    rate = 2.0 + 1.5 * df["dose"].to_numpy() / 480.0
    per_subject = rng.multinomial(n_records - len(df), rate / rate.sum()) + 1  # at least one AE each
    subj = np.repeat(np.arange(len(df)), per_subject)
    n = len(subj)
    term = rng.choice(len(gen.AE_TERMS), size=n, p=weights / weights.sum())
    dur = np.maximum(df["pfs"].to_numpy()[subj], 2).astype(int)
    start = 1 + (rng.random(n) * (dur - 1)).astype(int)
    length = np.where(rng.random(n) < 0.7, rng.integers(3, 20, n), rng.integers(20, 120, n))
    severe = rng.random(n) < df["p_g3"].to_numpy()[subj] / per_subject[subj] * 2
    grade = np.where(severe, 3 + (rng.random(n) < 0.1), 1 + (rng.random(n) < 0.45))
    u = rng.random(n) * per_subject[subj]
    action = np.select([u < df["p_wd"].to_numpy()[subj], u < df["p_red"].to_numpy()[subj],
                        u < df["p_int"].to_numpy()[subj]],
                       ["DRUG WITHDRAWN", "DOSE REDUCED", "DRUG INTERRUPTED"], "DOSE NOT CHANGED")
    # each escalation patient with a DLT (the generator's fixed escalation path) has one grade 3 DLT record in
    # the 21-day window, as the generator writes it: the escalation (and its MTD) is the example's
    first = np.cumsum(per_subject) - per_subject
    has_dlt = (df["part"].to_numpy() == "ESCALATION") & (df["dlt"].fillna(0).to_numpy() == 1)
    dlt = np.zeros(n, dtype=bool)
    dlt[first[has_dlt]] = True
    grade[dlt], start[dlt], action[dlt] = 3, rng.integers(5, 21, int(has_dlt.sum())), "DRUG INTERRUPTED"
    early_severe = ~dlt & (grade >= 3) & (start <= 21) & (df["part"].to_numpy()[subj] == "ESCALATION")
    start[early_severe] = 22 + start[early_severe]  # no other grade >= 3 AE inside the DLT window
    order = np.lexsort((start, subj))
    subj, term, grade, start, length, action, dlt = (a[order] for a in (subj, term, grade, start, length, action, dlt))
    seq = np.arange(n) - np.repeat(first, per_subject) + 1
    terms = np.array([t for t, _, _ in gen.AE_TERMS], dtype=object)
    socs = np.array([s for _, s, _ in gen.AE_TERMS], dtype=object)
    return pd.DataFrame({
        "STUDYID": gen.STUDYID, "USUBJID": df["USUBJID"].to_numpy()[subj], "AESEQ": seq.astype(float),
        "AEDECOD": terms[term], "AEBODSYS": socs[term], "AETOXGR": grade.astype(str), "ATOXGR": grade.astype(str),
        "AESER": np.where((grade >= 3) & (rng.random(n) < 0.35), "Y", "N"), "TRTEMFL": "Y", "AEACN": action,
        "DLTFL": np.where(dlt, "Y", "N"), "ASTDY": start.astype(float), "AENDY": (start + length).astype(float),
    })


def _adpc(gen, df: pd.DataFrame, n_samples: int, rng: np.random.Generator) -> pd.DataFrame:
    """One profile per subject after the first dose: one-compartment oral absorption (ka 1.2/h, V 60 L at
    70 kg) at the subject's own clearance, 15% proportional error, BLQ below 0.01 ug/mL."""
    per = n_samples // len(df)
    times = np.array(PK_TIMES_H[:per], dtype=float)
    dose = df["dose"].to_numpy()
    cl = dose / df["auc"].to_numpy()  # the generator's AUC = dose / CL
    v = 60.0 * df["weight"].to_numpy() / 70.0
    ka, ke = 1.2, cl / v
    t = times[None, :]
    conc = dose[:, None] * ka / (v[:, None] * (ka - ke[:, None])) * (np.exp(-ke[:, None] * t) - np.exp(-ka * t))
    conc = conc * np.exp(rng.normal(0, 0.15, conc.shape))
    lloq = 0.01
    blq = conc < lloq
    n = conc.size
    return pd.DataFrame({
        "STUDYID": gen.STUDYID, "USUBJID": np.repeat(df["USUBJID"].to_numpy(), per), "PARAMCD": "EXAMPLNB",
        "AVISIT": "DAY 1", "ARRLT": np.tile(times, len(df)), "AFRLT": np.tile(times, len(df)),
        "AVAL": np.where(blq, np.nan, np.round(conc, 4)).ravel(), "AVALC": np.where(blq, "BLQ", "").ravel(),
        "AVALU": "ug/mL", "DOSEA": np.repeat(dose, per), "ALLOQ": np.full(n, lloq),
    })


def generate(folder: Path, subjects: int, ae_records: int, pk_samples: int) -> Path:
    """Write the scaled study (datasets + spec) into ``folder``; returns the spec path."""
    gen = _generator()
    fixed = len(gen.ESCALATION) * 3 + sum(gen.BACKFILL.values())
    extra = subjects - fixed
    gen.RANDOMIZED = {240.0: extra - extra // 2, 480.0: extra // 2}
    rng = np.random.default_rng(SEED)
    df = gen._outcomes(gen._pk(gen._subjects(rng), rng), rng)
    adae = _adverse_events(gen, df, ae_records, rng)
    gen._adverse_events = lambda _df, _rng: adae  # the rest of the generator (ADSL, ADEX, ...) as it is
    gen.SEED = SEED
    datasets = gen.build_datasets(SEED)
    datasets["adpc"] = _adpc(gen, df, pk_samples, rng)
    data = folder / "data"
    data.mkdir(parents=True)
    gen.LABELS.update({"PARAMCD": "Parameter Code", "AVISIT": "Analysis Visit", "ARRLT": "Actual Relative Time",
                       "AFRLT": "Actual Rel Time from First Dose", "DOSEA": "Actual Treatment Dose",
                       "ALLOQ": "Lower Limit of Quantitation"})
    for name, frame in datasets.items():
        gen.write_xpt(frame, data / f"{name}.xpt", name)
    spec = (EXAMPLE / "study.yaml").read_text(encoding="utf-8")
    spec = spec.replace("  adtte: {path: data/adtte.xpt}\n",
                        "  adtte: {path: data/adtte.xpt}\n  adpc:  {path: data/adpc.xpt}\n", 1)
    path = folder / "study.yaml"
    path.write_text(spec, encoding="utf-8")
    counts = {k: len(v) for k, v in datasets.items()}
    print(f"generated (seed {SEED}): {counts['adsl']} subjects, {counts['adae']} AE records, "
          f"{counts['adpc']} PK samples  -> {folder}")
    return path


class TreeMemory(threading.Thread):
    """Peak of the summed memory of a process and its descendants (Linux /proc), sampled: proportional set
    sizes (PSS), so that pages a forked worker shares with its parent count once, not once per process."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.done = pid, every, 0, False

    @staticmethod
    def _rss_and_children(pid: int) -> tuple[int, list[int]]:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
            kids = []
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    kids += [int(c) for c in f.read().split()]
            return rss, kids
        except (OSError, ValueError, StopIteration):
            return 0, []

    def run(self) -> None:
        while not self.done:
            total, todo = 0, [self.pid]
            while todo:
                rss, kids = self._rss_and_children(todo.pop())
                total += rss
                todo += kids
            self.peak = max(self.peak, total)
            time.sleep(self.every)


def build(spec: Path, out: Path) -> tuple[float, float, float, float]:
    """Wall s, CPU s, largest single-process RSS GB and peak process-tree RSS GB of a cold build."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dossier", "build", str(spec), "--out", str(out), "--force",
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    tree = TreeMemory(proc.pid)
    if sys.platform.startswith("linux"):
        tree.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    tree.done = True
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"the build failed ({proc.returncode}):\n{stderr}")
    if stderr.strip():
        print(stderr.strip())
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    scale = 1024 if sys.platform.startswith("linux") else 1  # ru_maxrss: KiB on Linux, bytes on macOS
    return wall, cpu, after.ru_maxrss * scale / 1e9, tree.peak / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--ae", type=int, default=200_000)
    ap.add_argument("--pk", type=int, default=40_000)
    ap.add_argument("--keep", type=Path, help="write the study and the outputs here (kept) instead of a temp folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        t0 = time.perf_counter()
        spec = generate(folder / "study", args.subjects, args.ae, args.pk)
        print(f"  generation {time.perf_counter() - t0:.1f} s (not part of the build)")
        wall, cpu, rss_one, rss_tree = build(spec, folder / "output")
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(f"build of all agencies (HTML + PDF), load average {load} on {os.cpu_count()} cores:")
        print(f"  wall {wall:6.1f} s  cpu {cpu:6.1f} s   target <= {TARGET_S:.0f} s  ratio {wall / TARGET_S:.2f}")
        print(f"  peak memory, largest process {rss_one:5.2f} GB   target <= {TARGET_GB:.0f} GB  "
              f"ratio {rss_one / TARGET_GB:.2f}")
        if rss_tree:
            print(f"  peak memory, whole process tree {rss_tree:5.2f} GB   target <= {TARGET_GB:.0f} GB  "
                  f"ratio {rss_tree / TARGET_GB:.2f}")


if __name__ == "__main__":
    main()
