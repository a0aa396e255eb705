"""Compulsory school age (Education Act 1996 s.8): worked examples, a naive oracle, properties."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cme_policy.runtime.school_age import (
    compulsory_school_age_end,
    compulsory_school_age_start,
    is_compulsory_school_age,
)

PRESCRIBED = {(3, 31), (8, 31), (12, 31)}
ONE_DAY = timedelta(days=1)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --------------------------------------------------------------------------------------
# Worked examples
# --------------------------------------------------------------------------------------

# Start, s.8(2): the fifth birthday if it is 31 Mar, 31 Aug or 31 Dec, else the next of them.
START_EXAMPLES = [
    # IPSEA (domain.md): fifth birthday 10 Feb 2024 -> 31 Mar 2024.
    ("2019-02-10", "2024-03-31"),
    # Fifth birthday on a prescribed day starts that very day (s.8(2)(a)).
    ("2019-08-31", "2024-08-31"),
    ("2019-03-31", "2024-03-31"),
    ("2018-12-31", "2023-12-31"),
    # The day after a prescribed day waits for the next one: 1 Sep -> 31 Dec, 1 Apr -> 31 Aug,
    # 1 Jan -> 31 Mar of the same year.
    ("2019-09-01", "2024-12-31"),
    ("2019-04-01", "2024-08-31"),
    ("2019-01-01", "2024-03-31"),
    # Born 29 Feb 2020: fifth birthday in common 2025 is taken as 1 Mar (28 Feb would give
    # the same answer) -> 31 Mar 2025.
    ("2020-02-29", "2025-03-31"),
]

# End, s.8(3): the last Friday in June. June 2024: 30 June is a Sunday, so the last Friday
# is 28 June. June 2025: 30 June is a Monday, so the last Friday is 27 June.
END_EXAMPLES = [
    # IPSEA (domain.md): born 23 Sep 2007, 16 on 23 Sep 2023 -> next leaving date 28 Jun 2024.
    ("2007-09-23", "2024-06-28"),
    # Born 1 Sep 2007: 16 on the first day of the 2023-24 school year -> 28 Jun 2024 (c).
    ("2007-09-01", "2024-06-28"),
    # Born 28 Jun 2008: 16 on the leaving date itself -> that day (b).
    ("2008-06-28", "2024-06-28"),
    # Born 27 Jun 2008: 16 the day before the leaving date -> 28 Jun 2024 (c).
    ("2008-06-27", "2024-06-28"),
    # Born 1 Jul 2008: 16 on 1 Jul 2024, after 28 Jun but before the school year begins on
    # 1 Sep 2024 -> 28 Jun 2024 (a), when the child is still 15.
    ("2008-07-01", "2024-06-28"),
    # Born 31 Aug 2008: 16 on the last day before 1 Sep 2024 -> 28 Jun 2024 (a).
    ("2008-08-31", "2024-06-28"),
    # Born 1 Sep 2008: 16 on 1 Sep 2024, the school year has begun -> 27 Jun 2025 (c).
    ("2008-09-01", "2025-06-27"),
    # Born 29 Feb 2008: 16 on 29 Feb 2024 (a leap year) -> 28 Jun 2024 (c).
    ("2008-02-29", "2024-06-28"),
    # Born 29 Feb 2084: 2100 is a common year, so 16 on 1 Mar 2100. 30 June 2100 is a
    # Wednesday, so the last Friday is 25 June 2100 (c).
    ("2084-02-29", "2100-06-25"),
]


@pytest.mark.parametrize(("born", "starts"), START_EXAMPLES)
def test_start_worked_examples(born: str, starts: str) -> None:
    assert compulsory_school_age_start(d(born)) == d(starts)


@pytest.mark.parametrize(("born", "ends"), END_EXAMPLES)
def test_end_worked_examples(born: str, ends: str) -> None:
    assert compulsory_school_age_end(d(born)) == d(ends)


def test_ipsea_child_is_of_age_through_the_last_day_and_not_after() -> None:
    born = d("2007-09-23")
    assert is_compulsory_school_age(born, d("2024-06-28"))
    assert not is_compulsory_school_age(born, d("2024-06-29"))
    assert not is_compulsory_school_age(born, d("2012-12-30"))
    assert is_compulsory_school_age(born, d("2012-12-31"))  # 5 on 23 Sep 2012 -> 31 Dec 2012


def test_a_datetime_is_not_silently_accepted() -> None:
    with pytest.raises(TypeError):
        compulsory_school_age_start(datetime(2019, 2, 10, 12, 0))


def test_out_of_range_answers_raise_value_error() -> None:
    with pytest.raises(ValueError):
        compulsory_school_age_end(date(9983, 9, 1))  # would end in June 10000
    assert compulsory_school_age_start(date.min) == d("0006-03-31")


# --------------------------------------------------------------------------------------
# A deliberately naive oracle: walk days, read s.8 literally
# --------------------------------------------------------------------------------------


def naive_birthday(born: date, years: int) -> date:
    """First day of the year `born.year + years` on or after the month and day of birth."""
    day = date(born.year + years, born.month, 1)
    while (day.month, day.day) < (born.month, born.day):
        day += ONE_DAY
    return day


def naive_last_friday_of_june(year: int) -> date:
    day = date(year, 6, 30)
    while day.strftime("%A") != "Friday":
        day -= ONE_DAY
    return day


def naive_start(born: date) -> date:
    day = naive_birthday(born, 5)
    while (day.month, day.day) not in PRESCRIBED:
        day += ONE_DAY
    return day


def naive_end(born: date) -> date:
    """Try every nearby school leaving date against s.8(3)(a), (b) and (c) as written."""
    sixteen = naive_birthday(born, 16)
    leaving = [naive_last_friday_of_june(y) for y in range(sixteen.year - 1, sixteen.year + 2)]
    next_after = min(day for day in leaving if day > sixteen)
    a = [day for day in leaving if day < sixteen < date(day.year, 9, 1)]
    b = [day for day in leaving if day == sixteen]
    c = [] if a else [day for day in leaving if day == next_after]
    # Read literally, a child who is 16 on a leaving date meets (b) for that day and (c) for
    # the next year's ("next following" is after the birthday). A person ceases to be of
    # compulsory school age only once, at the first day that qualifies.
    assert len(a) <= 1 and a + b + c, (born, a, b, c)
    return min(a + b + c)


def naive_age(born: date, on: date) -> int:
    years = on.year - born.year
    return years if on >= naive_birthday(born, years) else years - 1


births = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
leap_days = st.sampled_from([date(y, 2, 29) for y in range(1904, 2100, 4)])


@given(st.one_of(births, leap_days))
@example(date(2084, 2, 29))
@example(date(2008, 6, 28))
def test_agrees_with_naive_oracle(born: date) -> None:
    assert compulsory_school_age_start(born) == naive_start(born)
    assert compulsory_school_age_end(born) == naive_end(born)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@given(births)
def test_start_is_the_first_prescribed_day_on_or_after_the_fifth_birthday(born: date) -> None:
    start = compulsory_school_age_start(born)
    fifth = naive_birthday(born, 5)
    assert (start.month, start.day) in PRESCRIBED
    # The longest wait is from 1 April to 31 August: 152 days, well within 8 months.
    assert 0 <= (start - fifth).days <= 152
    assert naive_age(born, start) == 5


@given(births)
def test_end_is_a_last_friday_in_june_at_age_15_or_16(born: date) -> None:
    end = compulsory_school_age_end(born)
    assert end.month == 6 and end.day >= 24 and end.weekday() == 4
    assert end + timedelta(days=7) > date(end.year, 6, 30)
    # 15 only when the 16th birthday falls in the summer holidays after the leaving date.
    assert naive_age(born, end) in (15, 16)
    assert (naive_age(born, end) == 15) == (
        naive_birthday(born, 16) > end and naive_birthday(born, 16).month in (6, 7, 8))


@given(births)
def test_span_is_about_eleven_years(born: date) -> None:
    days = (compulsory_school_age_end(born) - compulsory_school_age_start(born)).days
    # Shortest: start 31 Aug, end a 24 Jun eleven years later (10 y 10 m). Longest: start
    # 31 Dec, end a 30 Jun eleven and a half years later (11 y 6 m).
    assert 3940 <= days <= 4205


@given(births)
def test_one_school_year_group_leaves_together(born: date) -> None:
    # Children born 1 Sep to 31 Aug share a year group, and so a leaving date; the next
    # year group leaves a year later.
    cohort = date(born.year if born.month >= 9 else born.year - 1, 9, 1)
    end = compulsory_school_age_end(born)
    assert end == compulsory_school_age_end(cohort)
    assert end == compulsory_school_age_end(date(cohort.year + 1, 8, 31))
    assert compulsory_school_age_end(date(cohort.year + 1, 9, 1)).year == end.year + 1


@given(births, births)
def test_later_births_start_and_end_no_earlier(one: date, two: date) -> None:
    early, late = sorted((one, two))
    assert compulsory_school_age_start(early) <= compulsory_school_age_start(late)
    assert compulsory_school_age_end(early) <= compulsory_school_age_end(late)


@given(births, st.integers(-400, 6000))
def test_is_compulsory_school_age_is_the_inclusive_interval(born: date, offset: int) -> None:
    start, end = compulsory_school_age_start(born), compulsory_school_age_end(born)
    on = naive_birthday(born, 5) + timedelta(days=offset)
    assert is_compulsory_school_age(born, on) == (start <= on <= end)
    assert is_compulsory_school_age(born, start) and is_compulsory_school_age(born, end)
    assert not is_compulsory_school_age(born, start - ONE_DAY)
    assert not is_compulsory_school_age(born, end + ONE_DAY)
