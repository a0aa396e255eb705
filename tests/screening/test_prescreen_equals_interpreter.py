"""`run`'s screening — the prescreen's columns, the measure values and onsets it hands over,
the generated checkers it then runs — against the independent interpreter, pupil by pupil,
on random histories with missing marks, facts and case logs (issue 17).

tests/screening/test_prescreen.py holds the prescreen to the generated checkers; this holds
the whole of it to the interpreter, which shares no measure, calendar or onset code with
either. Each history is screened as `run` screens it: a block of pupils with the same as-of
date, prescreened, then the pupils that may need rows evaluated by the checkers.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from cme_policy.driver import check_policy
from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import PupilMarks
from cme_policy.runtime.pupil import CaseEvent, Pupil
from cme_policy.runtime.readers import MarksRead, ReadCounts
from cme_policy.screening.checkers import load_checkers
from cme_policy.screening.prescreen import Prescreen
from cme_policy.screening.rows import rows_for, statutes_of
from cme_policy.screening.workers import ScreenWork, screen

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "backends"))
from pybackend_support import random_history  # noqa: E402

SCALE = float(os.environ.get("CME_EXAMPLES", "1"))
POLICIES = {
    # the bundled policy, as `run` screens it: 1,500 histories
    "bundled": (ROOT / "policy", int(1500 * SCALE)),
    # facts in time, compulsory school age, built-in dates, missing values: 600 histories
    "law": (ROOT / "tests" / "backends" / "law_policy", int(600 * SCALE)),
}

Cells = tuple[str, ...]


def _histories(policy: Policy, calendar: SchoolCalendar, checkers: ModuleType,
               interpreter: Interpreter, count: int, seed: int
               ) -> dict[dt.date, list[tuple[Pupil, PupilMarks, list[CaseEvent], list[Cells]]]]:
    """Random pupils grouped by their as-of date, each with the interpreter's rows; half of
    them with no case log, and half of those screened as of their last marked day, as most
    pupils of a real run are. A pupil the interpreter cannot evaluate (a deadline past the
    calendar's last school day) is left out: tests/backends/test_python_backend.py holds the
    checkers to failing the same way."""
    rng = random.Random(seed)
    statutes = statutes_of(policy)
    by_date: dict[dt.date, list[tuple[Pupil, PupilMarks, list[CaseEvent], list[Cells]]]] = \
        defaultdict(list)
    for i in range(count):
        drawn, marks, events, as_of = random_history(rng, policy, calendar,
                                                     checkers.CODE_TABLE)
        pupil = Pupil(f"P{i:05d}", drawn.facts)
        if i % 2:  # half with no case log: those the prescreen may pass over altogether
            events = []
            last = marks.last_marked_day(as_of)
            if i % 4 == 1 and last is not None:  # as of the register's last day, as `run` is
                as_of = last
        try:
            result = interpreter.evaluate(pupil, marks, events, as_of)
        except CalendarError:
            continue
        by_date[as_of].append((pupil, marks, events,
                               sorted(row.cells() for row in rows_for(result, statutes))))
    return by_date


@pytest.mark.parametrize("which", sorted(POLICIES))
def test_a_prescreened_run_writes_what_the_interpreter_says(which: str) -> None:
    policy_dir, count = POLICIES[which]
    checked = check_policy(policy_dir)
    assert checked.ok and checked.policy is not None, [str(d) for d in checked.errors]
    policy = checked.policy
    calendar = load_calendar(policy_dir / "calendar.yaml")
    checkers = load_checkers(policy, which)
    interpreter = Interpreter(policy, calendar)
    by_date = _histories(policy, calendar, checkers, interpreter, count, seed=17)
    compared = sum(len(items) for items in by_date.values())
    assert compared >= 0.9 * count  # few deadlines run past the calendar
    rows_seen = 0
    for as_of, items in sorted(by_date.items()):
        work = ScreenWork(
            checkers, [(p.upn, p) for p, _, _, _ in items],
            MarksRead(path="marks.csv", errors=[], counts=ReadCounts(),
                      marks={p.upn: marks for p, marks, _, _ in items}),
            {p.upn: events for p, _, events, _ in items if events},
            calendar, as_of, statutes_of(policy), None, Prescreen(policy, calendar, as_of))
        screened, pupils = screen(work, 1, lambda _: None)
        assert pupils == len(items)
        ran: dict[str, list[Cells]] = defaultdict(list)
        for _, _, row, _ in screened:
            assert row is not None
            ran[row.upn].append(row.cells())
        for pupil, _, _, expected in items:
            assert sorted(ran.get(pupil.upn, [])) == expected, (which, as_of, pupil)
            rows_seen += len(expected)
    assert rows_seen > count  # real action lists, not empty ones
