"""Shared by the Python-backend tests: build a policy into a directory and import the package
under a unique name, and hypothesis strategies for random pupil histories."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from cme_policy import build
from cme_policy.driver import check_policy
from cme_policy.ir import model as m
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import CaseEvent, Pupil

ROOT = Path(__file__).resolve().parents[2]
_COUNTER = itertools.count()


def build_policy(policy_dir: Path, out: Path, source: str | None = None) -> m.Policy:
    result = check_policy(policy_dir)
    assert result.ok and result.policy is not None, [str(d) for d in result.errors]
    build.write(out, build.render(result.policy, source or str(policy_dir)))
    return result.policy


def import_package(out: Path) -> ModuleType:
    """Import `<out>/python/policy_checks` as a fresh package with a name of its own."""
    name = f"policy_checks_{next(_COUNTER)}"
    path = out / "python" / "policy_checks"
    spec = importlib.util.spec_from_file_location(name, path / "__init__.py",
                                                  submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- random pupil histories ---------------------------------------------------------------------

# A realistic mix: mostly present, some authorised and unauthorised absence, a little of the rest.
CODE_WEIGHTS = {"/": 30, "\\": 30, "L": 3, "N": 14, "G": 6, "O": 8, "I": 8, "M": 2, "C": 2,
                "U": 2, "D": 1, "X": 1, "Y1": 1, "B": 1, "V": 1}


def weighted_codes(table: CodeTable) -> list[str]:
    return [c for c, w in CODE_WEIGHTS.items() if c in table for _ in range(w)]


@st.composite
def mark_texts(draw: Any, calendar: SchoolCalendar, table: CodeTable) -> tuple[str, int]:
    """A year of marks as runs: stretches of attendance broken by absences of random length."""
    days = calendar.school_day_count
    codes = weighted_codes(table)
    absent = [c for c in ("N", "G", "O") if c in table]
    slots = [NO_MARK] * (2 * days)
    start = draw(st.integers(0, days - 1))
    end = draw(st.integers(start, days))
    day = start
    while day < end:
        length = draw(st.integers(1, 30))
        kind = draw(st.integers(0, 3))
        if kind == 0:  # a long unauthorised run
            pair = (draw(st.sampled_from(absent)),) * 2
        else:
            pair = (draw(st.sampled_from(codes)), draw(st.sampled_from(codes)))
        for d in range(day, min(end, day + length)):
            if kind == 3:
                pair = (draw(st.sampled_from(codes)), draw(st.sampled_from(codes)))
            slots[2 * d], slots[2 * d + 1] = table.char(pair[0]), table.char(pair[1])
        day += length
    return "".join(slots), end


def dates_between(lo: dt.date, hi: dt.date) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=lo, max_value=hi)


@st.composite
def histories(draw: Any, policy: m.Policy, calendar: SchoolCalendar,
              table: CodeTable) -> tuple[Pupil, PupilMarks, list[CaseEvent], dt.date]:
    """One pupil: facts, marks, a case log of the policy's events, and an as-of date."""
    first, last = calendar.first_school_day, calendar.last_school_day
    enums = {e.id: [x.id for x in e.members] for e in policy.enums}
    facts: dict[str, Any] = {}
    for fact in policy.facts:
        if fact.origin == "law" or not draw(st.booleans()):
            continue  # the law's facts are worked out, never given
        if fact.id == "date_of_birth":  # ages around 5 and 16 on the calendar's dates too
            facts[fact.id] = draw(dates_between(first - dt.timedelta(days=17 * 366),
                                                first - dt.timedelta(days=3 * 365)))
        elif fact.type_name == "bool":
            facts[fact.id] = draw(st.booleans())
        elif fact.type_name == "date":
            facts[fact.id] = draw(dates_between(first, last))
        elif fact.type_name in enums:
            facts[fact.id] = draw(st.sampled_from(enums[fact.type_name]))
    text, end = draw(mark_texts(calendar, table))
    marks = PupilMarks(calendar, table, text)
    if draw(st.integers(0, 3)):  # mostly just after the marks end, where runs are live
        near = calendar.school_day_at(min(max(end - 1, 0), calendar.school_day_count - 1))
        as_of = min(last, near + dt.timedelta(days=draw(st.integers(-3, 12))))
    else:
        as_of = draw(dates_between(first, last))
    names = sorted(e.id for e in policy.events)
    lo = max(first, as_of - dt.timedelta(days=120))
    events = draw(st.lists(st.builds(CaseEvent, dates_between(lo, as_of + dt.timedelta(days=5)),
                                     st.sampled_from(names)), max_size=8))
    return Pupil(f"P{draw(st.integers(0, 999))}", facts), marks, events, as_of


def random_history(rng: random.Random, policy: m.Policy, calendar: SchoolCalendar,
                   table: CodeTable) -> tuple[Pupil, PupilMarks, list[CaseEvent], dt.date]:
    """The same shape of history as `histories`, drawn from a seeded RNG: cheap enough to
    check thousands of pupils per test run."""
    days = calendar.school_day_count
    first, last = calendar.first_school_day, calendar.last_school_day
    span = (last - first).days
    codes = weighted_codes(table)
    absent = [c for c in ("N", "G", "O") if c in table]
    enums = {e.id: [x.id for x in e.members] for e in policy.enums}
    facts: dict[str, Any] = {}
    for fact in policy.facts:
        if fact.origin == "law" or rng.random() < 0.5:
            continue  # the law's facts are worked out, never given
        if fact.id == "date_of_birth":  # ages around 5 and 16 on the calendar's dates too
            facts[fact.id] = first - dt.timedelta(days=rng.randint(3 * 365, 17 * 366))
        elif fact.type_name == "bool":
            facts[fact.id] = rng.random() < 0.5
        elif fact.type_name == "date":
            facts[fact.id] = first + dt.timedelta(days=rng.randint(0, span))
        elif fact.type_name in enums:
            facts[fact.id] = rng.choice(enums[fact.type_name])
    slots = [NO_MARK] * (2 * days)
    start = rng.randrange(days)
    end = rng.randint(start, days)
    day = start
    while day < end:
        length, kind = rng.randint(1, 30), rng.randrange(4)
        pair = (rng.choice(absent),) * 2 if kind == 0 else (rng.choice(codes), rng.choice(codes))
        for d in range(day, min(end, day + length)):
            if kind == 3:
                pair = (rng.choice(codes), rng.choice(codes))
            slots[2 * d], slots[2 * d + 1] = table.char(pair[0]), table.char(pair[1])
        day += length
    marks = PupilMarks(calendar, table, "".join(slots))
    if rng.randrange(4):
        near = calendar.school_day_at(min(max(end - 1, 0), days - 1))
        as_of = min(last, near + dt.timedelta(days=rng.randint(-3, 12)))
    else:
        as_of = first + dt.timedelta(days=rng.randint(0, span))
    names = sorted(e.id for e in policy.events)
    lo = max(first, as_of - dt.timedelta(days=120))
    width = (as_of + dt.timedelta(days=5) - lo).days
    events = [CaseEvent(lo + dt.timedelta(days=rng.randint(0, width)), rng.choice(names))
              for _ in range(rng.randint(0, 8))]
    return Pupil(f"P{rng.randrange(1000)}", facts), marks, events, as_of
