"""Benchmark: screen a local authority's year with the generated checkers and the interpreter.

    .venv/bin/python benchmarks/screen.py [--pupils 100000] [--sample 3000] [--patterns 5000]

Builds the bundled policy's Python package into a temporary directory, makes a synthetic
year — N pupils × 380 sessions (the first academic year of policy/calendar.yaml) with
realistic absence patterns — and times, in one run on the same data, the generated `screen`
over every pupil and the interpreter's `screen` over a sample (the interpreter takes
milliseconds per pupil, so its time for all N is extrapolated from the sample and says so).
The two are checked to agree on the sample.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cme_policy import build
from cme_policy.driver import check_policy
from cme_policy.interpret.evaluate import Evaluator
from cme_policy.interpret.interpreter import Interpreter
from cme_policy.interpret.rules import evaluate_rule
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import Pupil

PRESENT = ["/", "\\", "/", "\\", "/", "\\", "L"]
AUTHORISED = ["I", "I", "I", "M", "C", "R"]
UNAUTHORISED = ["N", "O", "G", "U"]


def load_package(out: Path) -> ModuleType:
    path = out / "python" / "policy_checks"
    spec = importlib.util.spec_from_file_location("bench_policy_checks", path / "__init__.py",
                                                  submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_policy_checks"] = module
    spec.loader.exec_module(module)
    return module


def pattern(rng: random.Random, table: CodeTable, days: int, year_days: int) -> str:
    """One pupil's year: a kind of attender, then days drawn for that kind."""
    kind = rng.random()
    rate, unauth_share = (0.03, 0.2) if kind < 0.80 else (0.12, 0.5) if kind < 0.97 else (0.25, 0.8)
    chars: list[str] = []
    day = 0
    while day < year_days:
        if kind >= 0.99 and rng.random() < 0.01:  # a child going missing: a long run of N/O/G
            run = rng.randint(5, 40)
            code = rng.choice(["N", "O", "G"])
            chars += [table.char(code)] * (2 * min(run, year_days - day))
            day += run
            continue
        if rng.random() < rate:
            pool = UNAUTHORISED if rng.random() < unauth_share else AUTHORISED
            am = pm = rng.choice(pool)
            if rng.random() < 0.3:
                pm = rng.choice(PRESENT)
        else:
            am, pm = "/", "\\"
        chars += [table.char(am), table.char(pm)]
        day += 1
    text = "".join(chars)[:2 * year_days]
    return text + NO_MARK * (2 * days - len(text))


def first_year_days(calendar: SchoolCalendar) -> int:
    year = calendar.years[0]
    return sum(1 for i in range(calendar.school_day_count)
               if calendar.school_day_at(i) <= year.end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=3_000,
                        help="pupils the interpreter screens (its time is extrapolated)")
    parser.add_argument("--patterns", type=int, default=5_000,
                        help="distinct mark strings, shared round-robin by the pupils")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    t0 = time.perf_counter()
    result = check_policy(ROOT / "policy")
    assert result.ok and result.policy is not None
    policy = result.policy
    with tempfile.TemporaryDirectory() as tmp:
        build.write(Path(tmp), build.render(policy, "policy/"))
        package = load_package(Path(tmp))
    build_s = time.perf_counter() - t0

    calendar = load_calendar(ROOT / "policy" / "calendar.yaml")
    table = package.CODE_TABLE
    year_days = first_year_days(calendar)
    as_of = calendar.school_day_at(year_days - 1)
    rng = random.Random(args.seed)
    destinations = ["another_school", "home_education", "unknown"]
    texts = [pattern(rng, table, calendar.school_day_count, year_days)
             for _ in range(min(args.patterns, args.pupils))]
    pupils = []
    for i in range(args.pupils):
        facts: dict[str, object] = {}
        if rng.random() < 0.02:
            facts["destination"] = rng.choice(destinations)
            facts["leaving_date"] = calendar.school_day_at(rng.randrange(year_days))
        pupils.append((Pupil(f"P{i:06d}", facts),  # type: ignore[arg-type]
                       PupilMarks(calendar, table, texts[i % len(texts)])))
    print(f"policy/: {len(policy.rules)} rules, {len(policy.procedures)} procedures; "
          f"built and imported in {build_s:.2f} s")
    print(f"data: {args.pupils:,} pupils x {2 * year_days} sessions ({year_days} school days, "
          f"{calendar.years[0].name}), {len(texts):,} distinct mark strings, as of {as_of}")

    screen = package.screen
    t0 = time.perf_counter()
    fired = 0
    for pupil, marks in pupils:
        fired += sum(1 for r in screen(pupil, marks, calendar, as_of) if r.fires)
    generated_s = time.perf_counter() - t0

    interpreter = Interpreter(policy, calendar)
    sample = pupils[:min(args.sample, len(pupils))]
    t0 = time.perf_counter()
    reference = [interpreter.screen(p, m, as_of) for p, m in sample]
    interp_sample_s = time.perf_counter() - t0
    interp_s = interp_sample_s * len(pupils) / len(sample)
    agree = all(screen(p, m, calendar, as_of) == r for (p, m), r in zip(sample, reference))

    # Interpreter.screen is a full evaluation (procedures too); the rules alone, for fairness:
    world = interpreter.world
    t0 = time.perf_counter()
    rules_only = [tuple(evaluate_rule(world, r, Evaluator(world, world.facts_as_of(
        p.facts, (), as_of), m, as_of), ()) for r in policy.rules) for p, m in sample]
    rules_sample_s = time.perf_counter() - t0
    rules_s = rules_sample_s * len(pupils) / len(sample)
    agree = agree and rules_only == reference

    print()
    print(f"{'':34}{'pupils':>10}{'seconds':>10}{'per pupil':>12}")
    print(f"{'generated screen':34}{len(pupils):>10,}{generated_s:>10.2f}"
          f"{1e6 * generated_s / len(pupils):>10.1f}us")
    print(f"{'interpreter screen (measured)':34}{len(sample):>10,}{interp_sample_s:>10.2f}"
          f"{1e6 * interp_sample_s / len(sample):>10.1f}us")
    print(f"{'interpreter screen (extrapolated)':34}{len(pupils):>10,}{interp_s:>10.2f}")
    print(f"{'interpreter, rules only (measured)':34}{len(sample):>10,}{rules_sample_s:>10.2f}"
          f"{1e6 * rules_sample_s / len(sample):>10.1f}us")
    print(f"{'interpreter, rules only (extrap.)':34}{len(pupils):>10,}{rules_s:>10.2f}")
    print()
    print(f"speed-up: {interp_s / generated_s:.1f}x over Interpreter.screen, "
          f"{rules_s / generated_s:.1f}x over the interpreter's rules alone (target >= 10x); "
          f"generated year: {generated_s:.2f} s (target < 10 s); "
          f"rules fired: {fired:,}; results agree on the sample: {agree}")


if __name__ == "__main__":
    main()
