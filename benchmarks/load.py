"""Benchmark the front end on a 1 MB policy: load + analyse, best of N, beside the YAML parse.

    .venv/bin/python benchmarks/load.py [--runs 5]

Prints, side by side in one run: libyaml's event stream alone (the floor any YAML loader
pays), our YAML → nodes stage, and the whole `check` (load, parse, analyse), on the same
generated 1 MB policy (tests/test_load_performance.py builds it). Target: well under 1 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_load_performance import generate  # noqa: E402

from cme_policy.driver import check_policy  # noqa: E402
from cme_policy.source.yaml_nodes import parse_yaml  # noqa: E402


def best(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def events(text: str) -> None:
    parser = yaml.CSafeLoader(text)
    while parser.check_event():
        parser.get_event()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    check_policy(REPO / "policy")  # warm up imports and grammar tables
    root = Path(tempfile.mkdtemp(prefix="cme-load-")) / "policy"
    generate(root)
    data = (root / "generated.yaml").read_bytes()
    text = data.decode()
    print(f"policy: {len(data):,} bytes generated + the bundled policy")
    print(f"{'libyaml events only':<40} {best(lambda: events(text), runs):6.3f} s")
    print(f"{'YAML → nodes (cme_policy.source)':<40} "
          f"{best(lambda: parse_yaml('generated.yaml', data), runs):6.3f} s")
    print(f"{'check: load + parse + analyse':<40} {best(lambda: check_policy(root), runs):6.3f} s")


if __name__ == "__main__":
    main()
