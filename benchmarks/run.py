"""Benchmark `cme-policy run` end to end against merely reading the same marks file.

    .venv/bin/python benchmarks/run.py [--pupils 100000] [--keep DIR]

Generates a synthetic LA year with `cme-policy sample`, then times, side by side in one run:
1. the baseline: reading the marks file into memory with the fastest reader available here
   (the csv module; pyarrow/polars are used when installed), and
2. `cme-policy run` end to end (validate every row, screen and audit every pupil, write CSV),
and prints their ratio and the peak memory of the run (target: < 3× the read, < 60 s,
< 2 GB on this 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CME = [sys.executable, "-m", "cme_policy.cli"]


def read_baseline(marks: Path) -> tuple[str, float]:
    """The fastest plain read of the marks into memory that this machine offers."""
    start = time.perf_counter()
    try:
        import pyarrow.csv as pacsv  # type: ignore[import-not-found]
        pacsv.read_csv(marks)
        name = "pyarrow.csv.read_csv"
    except ImportError:
        with open(marks, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        name = f"csv.reader into a list ({len(rows):,} rows)"
    return name, time.perf_counter() - start


def timed(args: list[str]) -> tuple[float, int]:
    """Wall time and peak resident memory (kB) of this one child process (os.wait4)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(args)}\n{err.read()[-2000:].decode(errors='replace')}")
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    options = parser.parse_args()
    data = options.keep or Path(tempfile.mkdtemp(prefix="cme-bench-"))
    if not (data / "marks.csv").exists():
        gen, _ = timed(CME + ["sample", "--pupils", str(options.pupils), "--out", str(data)])
        print(f"sample of {options.pupils:,} pupils generated in {gen:.1f} s")
    size = (data / "marks.csv").stat().st_size
    name, read = read_baseline(data / "marks.csv")
    run, peak_kb = timed(CME + ["run", "policy", "--pupils", str(data / "pupils.csv"),
                                "--marks", str(data / "marks.csv"),
                                "--events", str(data / "events.csv"),
                                "--calendar", str(data / "calendar.yaml"),
                                "--as-of", "2026-07-21", "--format", "csv",
                                "--output", str(data / "actions.csv")])
    print(f"marks file: {size / 1e6:,.0f} MB")
    print(f"{'baseline read (' + name + ')':<60} {read:8.1f} s")
    print(f"{'cme-policy run end to end':<60} {run:8.1f} s")
    print(f"ratio run / read: {run / read:.2f}x (target < 3x); run < 60 s: {run < 60}")
    print(f"peak memory of the run: {peak_kb / 1024:,.0f} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
