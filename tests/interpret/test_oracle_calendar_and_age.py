"""The interpreter's own school days (`interpret.school_days`) and compulsory school age
(`interpret.school_age`), written from the docs, against the runtime's table-and-bisection
calendar and its closed-form s.8 dates: the same answers on every calendar we ship and on
random dates, including the errors for dates no academic year covers — and the worked
examples of docs/semantics.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.interpret import school_age
from cme_policy.interpret.school_days import SchoolDays
from cme_policy.runtime import engine
from cme_policy.runtime.calendar import AcademicYear, CalendarError, Closure, SchoolCalendar, Term
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.school_age import compulsory_school_age_end, compulsory_school_age_start

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


def _gapped() -> SchoolCalendar:
    """Two academic years with a month between them that no year covers."""
    return SchoolCalendar.build([
        AcademicYear("2025-26", D(2025, 9, 1), D(2026, 7, 31), (
            Term("Autumn", D(2025, 9, 3), D(2025, 12, 19)),
            Term("Spring", D(2026, 1, 5), D(2026, 3, 27)),
            Term("Summer", D(2026, 4, 13), D(2026, 7, 22))),
            inset_days=(D(2026, 1, 5),),
            closures=(Closure(D(2025, 11, 20), D(2025, 11, 21), "boiler"),)),
        AcademicYear("2026-27", D(2026, 9, 1), D(2027, 8, 31), (
            Term("Autumn", D(2026, 9, 2), D(2026, 12, 18)),
            Term("Spring", D(2027, 1, 4), D(2027, 3, 26)))),
    ])


CALENDARS = {
    "policy": load_calendar(ROOT / "policy" / "calendar.yaml"),
    "leicester": load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "leicester-2025-26.yaml"),
    "two_years": load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "example-2025-27.yaml"),
    "law": load_calendar(ROOT / "tests" / "backends" / "law_policy" / "calendar.yaml"),
    "gapped": _gapped(),
}
ORACLES = {name: SchoolDays(calendar) for name, calendar in CALENDARS.items()}


def _outcome(fn):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except CalendarError:
        return CalendarError


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_same_school_days(name: str) -> None:
    calendar, oracle = CALENDARS[name], ORACLES[name]
    assert oracle.days == [calendar.school_day_at(i) for i in range(calendar.school_day_count)]
    first = min(y.start for y in calendar.years)
    last = max(y.end for y in calendar.years)
    day = first
    while day <= last:
        assert oracle.covers(day) == calendar.covers(day), day
        if calendar.covers(day):
            assert oracle.is_school_day(day) == calendar.is_school_day(day), day
            # also a holiday just before a gap between academic years: counted backwards
            assert oracle.count_upto(day) == engine.school_days_upto(calendar, day), day
            assert oracle.term_start(day) == engine.term_start(calendar, day), day
            assert oracle.academic_year_start(day) == engine.academic_year_start(calendar, day)
        day += dt.timedelta(days=1)


def _dates(name: str) -> st.SearchStrategy[dt.date]:
    calendar = CALENDARS[name]
    first = min(y.start for y in calendar.years)
    last = max(y.end for y in calendar.years)
    return st.dates(first - dt.timedelta(days=20), last + dt.timedelta(days=20))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(data=st.data())
def test_moving_and_counting_school_days(data: st.DataObject) -> None:
    """`add_school_days` and `school_days_between`, with the same errors where a walk leaves
    the calendar (before its start, after its end, into a gap between years)."""
    name = data.draw(st.sampled_from(sorted(CALENDARS)))
    calendar, oracle = CALENDARS[name], ORACLES[name]
    day = data.draw(_dates(name))
    n = data.draw(st.one_of(st.integers(-3, 3), st.integers(-60, 60), st.integers(-400, 400)))
    assert _outcome(lambda: oracle.add(day, n)) == \
        _outcome(lambda: calendar.add_school_days(day, n)), (name, day, n)
    other = data.draw(_dates(name))
    a, b = min(day, other), max(day, other)
    if a < b and calendar.covers(a) and calendar.covers(b):
        assert _outcome(lambda: oracle.between(a, b)) == \
            _outcome(lambda: calendar.school_days_between(a, b)), (name, a, b)


def test_the_worked_examples_of_section_8() -> None:
    """docs/semantics.md: fifth birthday 10 February 2024 -> from 31 March 2024; born
    23 September 2007 -> ends 28 June 2024."""
    assert school_age.first_day(D(2019, 2, 10)) == D(2024, 3, 31)
    assert school_age.last_day(D(2007, 9, 23)) == D(2024, 6, 28)
    assert school_age.first_day(D(2019, 3, 31)) == D(2024, 3, 31)  # a prescribed day itself
    assert school_age.first_day(D(2019, 4, 1)) == D(2024, 8, 31)
    assert school_age.first_day(D(2019, 9, 1)) == D(2024, 12, 31)
    assert school_age.last_day(D(2008, 8, 31)) == D(2024, 6, 28)  # 16 before 1 September
    assert school_age.last_day(D(2008, 9, 1)) == D(2025, 6, 27)  # 16 on 1 September


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(st.dates(D(1990, 1, 1), D(2030, 12, 31)))
def test_school_age_agrees_with_the_runtime(born: dt.date) -> None:
    assert school_age.first_day(born) == compulsory_school_age_start(born)
    assert school_age.last_day(born) == compulsory_school_age_end(born)


def test_leap_day_births() -> None:
    for born in (D(2004, 2, 29), D(2008, 2, 29), D(2012, 2, 29), D(2020, 2, 29)):
        assert school_age.first_day(born) == compulsory_school_age_start(born)
        assert school_age.last_day(born) == compulsory_school_age_end(born)
