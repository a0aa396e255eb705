"""Benchmark `cme-policy run` end to end against merely reading the same marks file.

    .venv/bin/python benchmarks/run.py [--pupils 100000] [--keep DIR]

Generates a synthetic LA year with `cme-policy sample`, then times, side by side in one run:
1. the baseline: reading the marks file into memory with the fastest reader available here
   (pyarrow.csv.read_csv on every core; the csv module if pyarrow is missing), and
2. `cme-policy run` end to end (validate every row, screen and audit every pupil, write CSV),
each in a child process of its own, and prints their ratio and the peak memory of each
(target: run < 3x the read, < 60 s, < 2 GB with its workers, on this 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CME = [sys.executable, "-m", "cme_policy.cli"]


BASELINE = """
import sys, time
start = time.perf_counter()
try:
    import pyarrow.csv as pacsv
    table = pacsv.read_csv(sys.argv[1])
    name = "pyarrow.csv.read_csv, all cores"
except ImportError:
    import csv
    with open(sys.argv[1], newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    name = "csv.reader into a list"
print(name, time.perf_counter() - start)
"""


def read_baseline(marks: Path) -> tuple[str, float, int]:
    """The fastest plain read of the marks into memory that this machine offers, in a child
    process of its own (so its memory does not count against the run's)."""
    out, _, peak = timed([sys.executable, "-c", BASELINE, str(marks)], capture=True)
    name, _, seconds = out.strip().rpartition(" ")
    return name, float(seconds), peak


def _tree_memory_kb(pid: int) -> int:
    """Memory of a process and all its descendants (workers included), in kB: the sum of
    their proportional set sizes, so pages a forked worker shares with its parent count once."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup", encoding="ascii") as rollup:
                total += next((int(line.split()[1]) for line in rollup
                               if line.startswith("Pss:")), 0)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    todo += [int(k) for k in kids.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def timed(args: list[str], capture: bool = False,
          sample_memory: bool = False) -> tuple[str, float, int]:
    """(stdout, wall time, peak memory in kB) of one command.

    Without `sample_memory` the peak is the child's own (os.wait4), and nothing disturbs the
    timing. With it, the peak is sampled from /proc every 100 ms over the child and its
    workers (their summed proportional set size; a peak shorter than that can be missed),
    which costs the kernel time: so the run is timed and measured in separate runs.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(args, cwd=REPO, stdout=out if capture else subprocess.DEVNULL,
                                stderr=err)
        peak = 0
        if sample_memory:
            while proc.poll() is None:
                peak = max(peak, _tree_memory_kb(proc.pid))
                time.sleep(0.1)
            code = proc.returncode
        else:
            _, status, usage = os.wait4(proc.pid, 0)
            code, peak = os.waitstatus_to_exitcode(status), usage.ru_maxrss
        elapsed = time.perf_counter() - start
        if code != 0:
            err.seek(0)
            sys.exit(f"failed: {' '.join(args)}\n{err.read()[-2000:].decode(errors='replace')}")
        out.seek(0)
        return out.read().decode(), elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--repeat", type=int, default=2,
                        help="time the read and the run this many times each, alternately; "
                             "the best of each is reported")
    options = parser.parse_args()
    data = options.keep or Path(tempfile.mkdtemp(prefix="cme-bench-"))
    if not (data / "marks.csv").exists():
        _, gen, _ = timed(CME + ["sample", "--pupils", str(options.pupils), "--out", str(data)])
        print(f"sample of {options.pupils:,} pupils generated in {gen:.1f} s")
    size = (data / "marks.csv").stat().st_size
    run_args = CME + ["run", "policy", "--pupils", str(data / "pupils.csv"),
                      "--marks", str(data / "marks.csv"), "--events", str(data / "events.csv"),
                      "--calendar", str(data / "calendar.yaml"), "--as-of", "2026-07-21",
                      "--format", "csv", "--output", str(data / "actions.csv")]
    reads, runs = [], []
    for _ in range(options.repeat):
        reads.append(read_baseline(data / "marks.csv"))
        runs.append(timed(run_args)[1])
    name, read, read_kb = min(reads, key=lambda r: r[1])
    run = min(runs)
    _, _, peak_kb = timed(run_args, sample_memory=True)
    print(f"marks file: {size / 1e6:,.0f} MB; best of {options.repeat}, taken alternately")
    print(f"{'baseline read (' + name + ')':<60} {read:8.1f} s {read_kb / 1024:8,.0f} MB")
    print(f"{'cme-policy run end to end':<60} {run:8.1f} s {peak_kb / 1024:8,.0f} MB")
    print(f"all reads: {', '.join(f'{r[1]:.1f}' for r in reads)} s; "
          f"all runs: {', '.join(f'{r:.1f}' for r in runs)} s")
    print(f"ratio run / read: {run / read:.2f}x (target < 3x); run < 60 s: {run < 60}")
    print(f"peak memory of the run, workers included: {peak_kb / 1024:,.0f} MB "
          f"(target < 2048 MB; sampled in a separate run)")


if __name__ == "__main__":
    main()
