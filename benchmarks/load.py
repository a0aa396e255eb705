"""Benchmark the front end on a 1 MB policy: load + analyse, best of N, beside the YAML parse.

    .venv/bin/python benchmarks/load.py [--runs 5]

Prints, side by side in one run: libyaml's event stream alone (the floor any YAML loader
pays), our YAML → nodes stage, every expression parse of the policy, and the whole `check`
(load, parse, analyse), on the same generated 1 MB policy (tests/test_load_performance.py
builds it). Target: well under 1 s.

The stage lines run as check_policy runs them, with the cyclic collector paused (check pays
for its one walk over what the front end built, at the end); YAML → nodes is also timed with
the collector running, as a caller outside check meets it. Parse trees are cached by expression
text, and best of N re-reads the same policy, so the
expression parses and the check are each timed twice: with the cache warm from the previous
run, and with it emptied first, as in a fresh `cme-policy check` that meets every text anew.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_load_performance import generate  # noqa: E402

from cme_policy.driver import check_policy  # noqa: E402
from cme_policy.expr import parser as expr_parser  # noqa: E402
from cme_policy.gc_pause import gc_paused  # noqa: E402
from cme_policy.ir import build  # noqa: E402
from cme_policy.source.span import Span  # noqa: E402
from cme_policy.source.yaml_nodes import parse_yaml  # noqa: E402

Parse = tuple[str, "Span | None", bool]


def best(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def as_in_check(fn: Callable[[], object]) -> Callable[[], None]:
    """A stage with the collector paused, its result dropped before the collector resumes."""
    def run() -> None:
        with gc_paused():
            fn()
    return run


def events(text: str) -> None:
    parser = yaml.CSafeLoader(text)
    while parser.check_event():
        parser.get_event()


def expression_parses(root: Path) -> list[Parse]:
    """The arguments of every expression parse one check of the policy makes, in order."""
    calls: list[Parse] = []
    real = expr_parser.parse_expr

    def spy(text: str, origin: Span | None = None, quoted: bool = False) -> object:
        calls.append((text, origin, quoted))
        return real(text, origin, quoted)

    setattr(build, "parse_expr", spy)  # noqa: B010 - the IR builder's own name for it
    try:
        check_policy(root)
    finally:
        setattr(build, "parse_expr", real)  # noqa: B010
    return calls


def parse_all(calls: list[Parse], cold: bool) -> None:
    if cold:
        expr_parser._tree.cache_clear()
    for text, origin, quoted in calls:
        try:
            expr_parser.parse_expr(text, origin, quoted)
        except expr_parser.ExprSyntaxError:
            pass


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
    nodes = lambda: parse_yaml("generated.yaml", data)  # noqa: E731
    print(f"{'YAML → nodes (cme_policy.source)':<40} {best(as_in_check(nodes), runs):6.3f} s")
    print(f"{'… with the collector running':<40} {best(nodes, runs):6.3f} s")
    calls = expression_parses(root)
    texts = len({text for text, _, _ in calls})
    print(f"{f'{len(calls):,} expression parses, cached':<40} "
          f"{best(as_in_check(lambda: parse_all(calls, cold=False)), runs):6.3f} s")
    print(f"{f'… {texts:,} texts new to the cache':<40} "
          f"{best(as_in_check(lambda: parse_all(calls, cold=True)), runs):6.3f} s")
    print(f"{'check: load + parse + analyse':<40} {best(lambda: check_policy(root), runs):6.3f} s")
    print(f"{'… expressions new to the cache':<40} "
          f"{best(lambda: cold_check(root), runs):6.3f} s")


def cold_check(root: Path) -> None:
    expr_parser._tree.cache_clear()
    check_policy(root)


if __name__ == "__main__":
    main()
