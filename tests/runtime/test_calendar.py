"""School-day arithmetic: properties over generated calendars and a golden Leicester year."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cme_policy.runtime.calendar import (
    AcademicYear,
    CalendarError,
    Closure,
    SchoolCalendar,
    Term,
    add_days,
    add_weeks,
)
from cme_policy.runtime.calendar_file import load_calendar

FIXTURES = Path(__file__).parent / "fixtures"


def d(text: str) -> date:
    return date.fromisoformat(text)


def span(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def england(first: int, last: int) -> set[date]:
    return set(holidays.country_holidays("GB", subdiv="ENG", years=range(first, last + 1)))


# --------------------------------------------------------------------------------------
# Generated calendars and a naive oracle
# --------------------------------------------------------------------------------------


@st.composite
def academic_year(draw: st.DrawFn, year: int, bank: set[date]) -> AcademicYear:
    start, end = date(year, 9, 1), date(year + 1, 8, 31)
    terms: list[Term] = []
    cursor = start + timedelta(days=draw(st.integers(0, 10)))
    for number in range(draw(st.integers(1, 6))):
        term_end = cursor + timedelta(days=draw(st.integers(0, 70)))
        if term_end > end:
            break
        terms.append(Term(f"Term {number + 1}", cursor, term_end))
        cursor = term_end + timedelta(days=draw(st.integers(1, 21)))
    assume(terms)
    in_term = [x for t in terms for x in span(t.start, t.end)]
    inset_ok = [x for x in in_term if x.weekday() < 5 and x not in bank]
    insets = draw(st.lists(st.sampled_from(inset_ok), unique=True, max_size=6)) if inset_ok else []
    closures = [draw(closure(in_term, n)) for n in range(draw(st.integers(0, 4)))]
    return AcademicYear(
        name=f"{year}-{(year + 1) % 100:02d}",
        start=start,
        end=end,
        terms=tuple(draw(st.permutations(terms))),
        inset_days=tuple(insets),
        closures=tuple(closures),
    )


@st.composite
def closure(draw: st.DrawFn, in_term: list[date], number: int) -> Closure:
    first = draw(st.sampled_from(in_term))
    last = first + timedelta(days=draw(st.integers(0, 6)))
    if last not in in_term:
        last = first
    return Closure(first, last, f"closure {number}", draw(st.booleans()))


@st.composite
def calendars(draw: st.DrawFn) -> SchoolCalendar:
    first = draw(st.integers(2019, 2034))
    count = draw(st.integers(1, 3))
    bank = england(first, first + count)
    years = [draw(academic_year(first + k, bank)) for k in range(count)]
    cal = SchoolCalendar.build(draw(st.permutations(years)))
    assume(cal.school_day_count > 0)
    return cal


def naive_school_day(cal: SchoolCalendar, x: date) -> bool:
    """The definition, spelled out with no precomputation."""
    year = next(y for y in cal.years if y.start <= x <= y.end)
    closed = {c for cl in year.closures for c in span(cl.start, cl.end)}
    return (
        any(t.start <= x <= t.end for t in year.terms)
        and x.weekday() < 5
        and x not in england(x.year, x.year)
        and x not in year.inset_days
        and x not in closed
    )


def covered_dates(cal: SchoolCalendar) -> list[date]:
    return [x for y in cal.years for x in span(y.start, y.end)]


def school_days_list(cal: SchoolCalendar) -> list[date]:
    return list(cal.school_days(cal.years[0].start, cal.years[-1].end))


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), data=st.data())
def test_counting_inverts_adding(cal: SchoolCalendar, data: st.DataObject) -> None:
    days = school_days_list(cal)
    start = data.draw(st.sampled_from(days))
    room = len(days) - 1 - days.index(start)
    n = data.draw(st.integers(0, min(300, room)))
    later = cal.add_school_days(start, n)
    assert cal.school_days_between(start, later) == n
    assert cal.add_school_days(later, -n) == start
    assert cal.school_days_between(later, start) == -n
    assert cal.school_day_index(later) - cal.school_day_index(start) == n


@settings(max_examples=40, deadline=None)
@given(cal=calendars())
def test_school_days_follow_the_definition(cal: SchoolCalendar) -> None:
    bank = cal.bank_holidays
    for x in covered_dates(cal):
        year = cal.academic_year_containing(x)
        closed = {c for cl in year.closures for c in cl.days()}
        if x.weekday() >= 5 or x in bank or x in year.inset_days or x in closed:
            assert not cal.is_school_day(x)
            assert cal.non_school_reason(x) is not None
        assert cal.is_school_day(x) == naive_school_day(cal, x)


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), data=st.data())
def test_between_counts_the_half_open_interval(
    cal: SchoolCalendar, data: st.DataObject
) -> None:
    dates = covered_dates(cal)
    a = data.draw(st.sampled_from(dates))
    b = data.draw(st.sampled_from(dates))
    expected = sum(1 for x in dates if a < x <= b and naive_school_day(cal, x))
    assert cal.school_days_between(a, b) == (expected if a <= b else -cal.school_days_between(b, a))
    assert list(cal.school_days(a, b)) == [x for x in dates
                                           if a <= x <= b and naive_school_day(cal, x)]


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), data=st.data())
def test_adding_from_any_date(cal: SchoolCalendar, data: st.DataObject) -> None:
    days = school_days_list(cal)
    x = data.draw(st.sampled_from(covered_dates(cal)))
    after = [s for s in days if s > x]
    n = data.draw(st.integers(1, 300))
    if n <= len(after):
        assert cal.add_school_days(x, n) == after[n - 1]
    else:
        with pytest.raises(CalendarError, match="has no school day"):
            cal.add_school_days(x, n)
    on_or_after = [s for s in days if s >= x]
    if on_or_after:
        assert cal.add_school_days(x, 0) == on_or_after[0] == cal.school_day_on_or_after(x)
        assert cal.school_day_at(cal.school_day_index(x)) == on_or_after[0]
    before = [s for s in days if s < x]
    if before:
        assert cal.previous_school_day(x) == before[-1] == cal.add_school_days(x, -1)


# --------------------------------------------------------------------------------------
# Golden: a Leicester City school, 2025-26
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leicester() -> SchoolCalendar:
    return load_calendar(FIXTURES / "leicester-2025-26.yaml")


def test_leicester_counts(leicester: SchoolCalendar) -> None:
    counts = {t.name: len(list(leicester.school_days(t.start, t.end)))
              for t in leicester.years[0].terms}
    # Autumn 1 loses two INSET days, Summer 1 the early May bank holiday.
    assert counts == {
        "Autumn 1": 38, "Autumn 2": 35, "Spring 1": 30,
        "Spring 2": 25, "Summer 1": 29, "Summer 2": 37,
    }
    assert leicester.school_day_count == 194
    assert leicester.school_days_between(d("2025-08-31"), d("2025-09-30")) == 20
    assert leicester.first_school_day == d("2025-09-03")
    assert leicester.last_school_day == d("2026-07-21")


def test_leicester_bank_holidays_come_from_the_holidays_package(leicester: SchoolCalendar) -> None:
    may_day = d("2026-05-04")
    assert may_day in holidays.country_holidays("GB", subdiv="ENG", years=2026)
    assert leicester.term_containing(may_day) == Term("Summer 1", d("2026-04-13"), d("2026-05-22"))
    assert may_day.weekday() == 0
    assert not leicester.is_school_day(may_day)
    assert (leicester.non_school_reason(may_day) or "").startswith("bank holiday (")
    # The summer bank holiday is a bank holiday, but outside term anyway.
    assert leicester.is_bank_holiday(d("2026-08-31"))
    assert not leicester.is_school_day(d("2026-08-31"))
    assert leicester.non_school_reason(d("2026-08-31")) == "school holiday (outside every term)"
    for good_friday_and_easter_monday in (d("2026-04-03"), d("2026-04-06")):
        assert leicester.is_bank_holiday(good_friday_and_easter_monday)
        assert leicester.term_containing(good_friday_and_easter_monday) is None


@pytest.mark.parametrize(
    ("start", "n", "expected", "why"),
    [
        ("2025-09-03", 0, "2025-09-03", "a school day plus nothing is itself"),
        ("2025-09-01", 0, "2025-09-03", "INSET day: the next school day"),
        ("2025-09-01", 1, "2025-09-03", "INSET days are not counted"),
        ("2025-09-03", 20, "2025-10-01", "twenty school days in September"),
        ("2025-10-24", 1, "2025-11-03", "across October half term"),
        ("2025-10-20", 10, "2025-11-10", "five before half term, five after"),
        ("2025-12-19", 1, "2026-01-05", "across Christmas"),
        ("2026-02-09", 19, "2026-03-13", "the 20th school day of a run from 9 Feb"),
        ("2026-03-27", 1, "2026-04-13", "across Easter (Good Friday, Easter Monday)"),
        ("2026-05-01", 1, "2026-05-05", "over the early May bank holiday"),
        ("2026-05-22", 1, "2026-06-01", "across May half term and the spring bank holiday"),
        ("2026-04-13", -1, "2026-03-27", "backwards across Easter"),
        ("2026-05-05", -5, "2026-04-27", "backwards over the May bank holiday"),
        ("2026-05-04", -1, "2026-05-01", "backwards from a bank holiday"),
        ("2025-11-01", 5, "2025-11-07", "from a half-term Saturday"),
    ],
)
def test_leicester_add_school_days(
    leicester: SchoolCalendar, start: str, n: int, expected: str, why: str
) -> None:
    assert leicester.add_school_days(d(start), n) == d(expected), why


def test_leicester_stepping_and_indices(leicester: SchoolCalendar) -> None:
    assert leicester.next_school_day(d("2026-05-01")) == d("2026-05-05")
    assert leicester.next_school_day(d("2026-05-04")) == d("2026-05-05")
    assert leicester.school_day_on_or_after(d("2026-05-04")) == d("2026-05-05")
    assert leicester.school_day_on_or_after(d("2026-05-05")) == d("2026-05-05")
    assert leicester.previous_school_day(d("2026-04-13")) == d("2026-03-27")
    assert leicester.school_day_index(d("2025-09-03")) == 0
    assert leicester.school_day_index(d("2025-09-01")) == 0
    assert leicester.school_day_index(d("2026-07-21")) == 193
    assert (leicester.school_day_index(d("2025-10-25"))
            == leicester.school_day_index(d("2025-11-03")))
    assert leicester.school_day_at(38) == d("2025-11-03")
    assert leicester.school_days_between(d("2026-05-01"), d("2026-05-05")) == 1
    assert leicester.school_days_between(d("2025-10-24"), d("2025-11-03")) == 1


def test_leicester_terms(leicester: SchoolCalendar) -> None:
    assert leicester.term_containing(d("2025-10-30")) is None
    spring_1 = leicester.term_on_or_after(d("2025-12-20"))
    assert spring_1.name == "Spring 1"
    assert leicester.term_start_on_or_after(d("2025-12-20")) == d("2026-01-05")
    assert leicester.term_start_on_or_after(d("2026-01-05")) == d("2026-01-05")
    # "within the first 5 days of the start of a new term"
    assert leicester.first_school_days_of_term(spring_1, 5) == d("2026-01-09")
    autumn_1 = leicester.term_containing(d("2025-09-01"))
    assert autumn_1 is not None and autumn_1.name == "Autumn 1"
    assert leicester.first_school_days_of_term(autumn_1, 1) == d("2025-09-03")
    summer_1 = leicester.term_on_or_after(d("2026-04-01"))
    assert leicester.first_school_days_of_term(summer_1, 16) == d("2026-05-05")
    assert leicester.academic_year_containing(d("2026-08-31")).name == "2025-26"


def test_leicester_edges_are_errors(leicester: SchoolCalendar) -> None:
    with pytest.raises(CalendarError) as outside:
        leicester.is_school_day(d("2030-01-05"))
    assert outside.value.message == (
        "date 2030-01-05 is outside every academic year in the calendar (2025-26)"
    )
    assert outside.value.hint == "add the academic year containing 2030-01-05 to the calendar file"
    with pytest.raises(CalendarError, match="no school day 15 school days after 2026-07-15"):
        leicester.add_school_days(d("2026-07-15"), 15)
    with pytest.raises(CalendarError, match="no school day after 2026-07-21"):
        leicester.next_school_day(d("2026-07-21"))
    with pytest.raises(CalendarError, match="no school day before 2025-09-03"):
        leicester.previous_school_day(d("2025-09-03"))
    with pytest.raises(CalendarError, match="no term starting on or after 2026-07-22"):
        leicester.term_on_or_after(d("2026-07-22"))
    with pytest.raises(CalendarError, match="fewer than 38 school days"):
        leicester.first_school_days_of_term(leicester.years[0].terms[3], 38)
    with pytest.raises(CalendarError, match="outside every academic year"):
        leicester.school_days_between(d("2025-09-03"), d("2026-09-01"))


# --------------------------------------------------------------------------------------
# Two years, closures, and the model API directly
# --------------------------------------------------------------------------------------


def test_two_years_and_closures() -> None:
    cal = load_calendar(FIXTURES / "example-2025-27.yaml")
    assert cal.school == "Example Primary School"
    assert [y.name for y in cal.years] == ["2025-26", "2026-27"]
    assert cal.school_days_between(d("2025-08-31"), d("2026-08-31")) == 190
    assert cal.school_days_between(d("2026-08-31"), d("2027-08-31")) == 193
    assert cal.add_school_days(d("2026-07-21"), 1) == d("2026-09-03")
    assert cal.add_school_days(d("2026-01-30"), 1) == d("2026-02-04")  # snow closure
    assert cal.non_school_reason(d("2026-02-03")) == "closure (snow)"
    assert cal.non_school_reason(d("2026-05-07")) == "closure (polling station)"
    assert cal.non_school_reason(d("2026-01-05")) == "INSET day"
    assert cal.non_school_reason(d("2026-01-10")) == "weekend"
    assert cal.years[0].closures[1] == Closure(d("2026-02-02"), d("2026-02-03"), "snow", False)
    with pytest.raises(CalendarError) as outside:
        cal.term_containing(d("2030-01-05"))
    assert outside.value.message == (
        "date 2030-01-05 is outside every academic year in the calendar (2025-26 … 2026-27)"
    )


def year(name: str, first: int, terms: list[tuple[str, str]], **extra: object) -> AcademicYear:
    return AcademicYear(
        name, date(first, 9, 1), date(first + 1, 8, 31),
        tuple(Term(f"T{i}", d(a), d(b)) for i, (a, b) in enumerate(terms)),
        **extra,  # type: ignore[arg-type]
    )


def test_gap_between_years_is_not_covered() -> None:
    cal = SchoolCalendar.build([
        year("2025-26", 2025, [("2025-09-01", "2025-12-19")]),
        year("2027-28", 2027, [("2027-09-01", "2027-12-17")]),
    ])
    assert cal.covers(d("2026-01-01")) and not cal.covers(d("2026-12-01"))
    with pytest.raises(CalendarError,
                       match=r"2026-12-01 is outside every academic year .*2025-26 … 2027-28"):
        cal.is_school_day(d("2026-12-01"))
    # Counting or stepping across the gap would be a guess: the gap is named instead.
    with pytest.raises(CalendarError, match="date 2026-09-01 is outside every academic year"):
        cal.add_school_days(d("2025-12-19"), 1)
    with pytest.raises(CalendarError, match="date 2026-09-01 is outside every academic year"):
        cal.school_days_between(d("2025-12-19"), d("2027-12-17"))
    with pytest.raises(CalendarError, match="date 2027-08-31 is outside every academic year"):
        cal.previous_school_day(d("2027-09-01"))
    assert cal.school_days_between(d("2025-08-31"), d("2025-09-05")) == 5
    assert cal.next_school_day(d("2025-08-31")) == d("2025-09-01")


def test_build_errors_name_where_in_the_document() -> None:
    with pytest.raises(CalendarError) as caught:
        SchoolCalendar.build([year("2025-26", 2025, [("2025-09-01", "2025-12-19"),
                                                      ("2025-12-01", "2026-03-27")])])
    assert caught.value.where == ("academic_years", 0, "terms", 1, "start")
    assert str(caught.value).startswith("error: term 'T1' (2025-12-01 to 2026-03-27) overlaps")
    with pytest.raises(CalendarError, match="no academic years"):
        SchoolCalendar.build([])


def test_calendar_units_are_separate() -> None:
    assert add_days(d("2026-05-01"), 3) == d("2026-05-04")
    assert add_weeks(d("2026-05-01"), 4) == d("2026-05-29")
    assert SchoolCalendar.add_days(d("2026-05-01"), -1) == d("2026-04-30")
