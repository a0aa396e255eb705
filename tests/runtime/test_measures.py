"""Measures over a pupil's marks: boundary scenarios, naive oracles for values and onsets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.runtime import measures as m
from cme_policy.runtime.calendar import AcademicYear, SchoolCalendar, Term
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import CodeTable, PupilMarks, UnknownCode

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(Path(__file__).parent / "fixtures" / "leicester-2025-26.yaml")
# two academic years (2025-26, 2026-27) with INSET days and closures: docs/calendar.md
TWO_YEARS = load_calendar(Path(__file__).parent / "fixtures" / "example-2025-27.yaml")
with open(ROOT / "policy" / "law" / "attendance-codes.yaml", encoding="utf-8") as _handle:
    CODES: dict[str, Any] = yaml.safe_load(_handle)["attendance_codes"]
TABLE = CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in CODES.items())
SCHOOL_DAYS = list(CALENDAR.school_days(CALENDAR.first_school_day, CALENDAR.last_school_day))

GNO = ["G", "N", "O"]
PRESENT = ["/", "\\", "L"]
ABSENT = [c for c, v in CODES.items() if v["category"].endswith("absence")]
OPS = ["==", "!=", "<", "<=", ">", ">="]


def d(text: str) -> date:
    return date.fromisoformat(text)


def compact(start: str, text: str, calendar: SchoolCalendar = CALENDAR) -> PupilMarks:
    return PupilMarks.from_compact(calendar, TABLE, d(start), text)


def days(pair: str, n: int) -> str:
    return " ".join([pair] * n)


def school_day(n: int, start: str = "2025-09-03") -> date:
    """The n-th school day counting `start` as the first."""
    return CALENDAR.add_school_days(d(start), n - 1)


# --------------------------------------------------------------------------------------
# Ground I: 20 school days of G/N/O
# --------------------------------------------------------------------------------------


def test_19_school_days_of_gno_is_not_yet_20() -> None:
    marks = compact("2025-09-03", days("GN", 10) + " " + days("OO", 9))
    as_of = school_day(19)
    assert m.consecutive_school_days(marks, CALENDAR, GNO, as_of) == m.Run(19, d("2025-09-03"))
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, as_of, ">=", 20) is None
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, as_of, ">", 18) == as_of


def test_20_school_days_of_gno_meets_ground_i_on_the_20th_day() -> None:
    marks = compact("2025-09-03", days("GN", 10) + " " + days("OO", 10) + " " + days("NN", 5))
    twentieth = school_day(20)
    assert twentieth == d("2025-09-30")
    assert m.consecutive_school_days(marks, CALENDAR, GNO, twentieth).length == 20
    for as_of in (twentieth, school_day(21), school_day(25), d("2025-10-04")):
        assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, as_of, ">=", 20) == twentieth
    assert m.consecutive_school_days(marks, CALENDAR, GNO, d("2025-10-04")).length == 23  # Sat
    assert m.consecutive_school_days(marks, CALENDAR, GNO, school_day(25)).length == 25


@pytest.mark.parametrize("breaker", ["NI", "I/", "/\\", "N-", "N\\", "[Y1]N", "LN"])
def test_one_other_session_breaks_the_run(breaker: str) -> None:
    marks = compact("2025-09-03", days("NN", 9) + f" {breaker} " + days("GG", 10))
    as_of = school_day(20)
    assert m.consecutive_school_days(marks, CALENDAR, GNO, as_of) == m.Run(10, school_day(11))
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, as_of, ">=", 20) is None
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, as_of, ">=", 10) == as_of


def test_october_half_term_does_not_break_a_run_and_is_not_counted() -> None:
    marks = compact("2025-10-13", days("NN", 20))
    end = d("2025-11-14")
    assert (end - d("2025-10-13")).days + 1 == 33  # calendar days spanned
    assert m.consecutive_school_days(marks, CALENDAR, GNO, end) == m.Run(20, d("2025-10-13"))
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, end, ">=", 20) == end
    # in the middle of half term the run is the ten days of 13-24 October
    assert m.consecutive_school_days(marks, CALENDAR, GNO, d("2025-10-29")).length == 10
    assert m.consecutive_school_days(marks, CALENDAR, GNO, d("2025-11-15")).length == 20
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, d("2025-11-15"), ">=", 15) == d(
        "2025-11-07"
    )


def test_a_missing_mark_on_the_as_of_day_breaks_the_run() -> None:
    marks = compact("2025-09-03", days("NN", 5) + " N-")
    assert m.consecutive_school_days(marks, CALENDAR, GNO, school_day(6)) == m.Run(0, None)
    assert m.consecutive_school_days(marks, CALENDAR, GNO, school_day(5)).length == 5


def test_no_school_day_yet_gives_an_empty_run() -> None:
    marks = compact("2025-09-03", "NN")
    assert m.consecutive_school_days(marks, CALENDAR, GNO, d("2025-09-01")) == m.Run(0, None)
    assert m.consecutive_school_days_onset(marks, CALENDAR, GNO, d("2025-09-01"), "<", 1) == d(
        "2025-09-03"
    )


# --------------------------------------------------------------------------------------
# Code N replaced within 5 school days
# --------------------------------------------------------------------------------------


def test_n_outstanding_for_4_school_days_is_not_yet_late() -> None:
    marks = compact("2025-09-08", "N/ " + days("/\\", 10))
    as_of = CALENDAR.add_school_days(d("2025-09-08"), 4)
    assert m.oldest_unresolved(marks, CALENDAR, ["N"], as_of) == 4
    assert m.oldest_unresolved_onset(marks, CALENDAR, ["N"], as_of, ">=", 5) is None


def test_n_outstanding_for_5_school_days_is_due_on_the_fifth() -> None:
    marks = compact("2025-09-08", "N/ " + days("/\\", 10) + " N\\")
    fifth = CALENDAR.add_school_days(d("2025-09-08"), 5)
    assert fifth == d("2025-09-15")
    assert m.oldest_unresolved(marks, CALENDAR, ["N"], fifth) == 5
    for as_of in (fifth, d("2025-09-20"), school_day(14)):
        assert m.oldest_unresolved_onset(marks, CALENDAR, ["N"], as_of, ">=", 5) == fifth
    assert m.oldest_unresolved(marks, CALENDAR, ["N"], d("2025-09-20")) == 9


def test_n_replaced_in_time_leaves_nothing_unresolved() -> None:
    marks = compact("2025-09-08", "I/ " + days("/\\", 10))
    assert m.oldest_unresolved(marks, CALENDAR, ["N"], d("2025-09-30")) == 0
    assert m.oldest_unresolved_onset(marks, CALENDAR, ["N"], d("2025-09-30"), ">=", 5) is None


# --------------------------------------------------------------------------------------
# Share of possible sessions: persistent absence at 10%
# --------------------------------------------------------------------------------------


def long_calendar() -> SchoolCalendar:
    """Three years of one long term each: enough school days for 1000 sessions."""
    years = [
        AcademicYear(f"{y}-{y + 1 - 2000}", date(y, 9, 1), date(y + 1, 8, 31),
                     (Term("Year", date(y, 9, 1), date(y + 1, 7, 20)),))
        for y in (2025, 2026, 2027)
    ]
    return SchoolCalendar.build(years)


def test_exactly_10_percent_absence_is_persistent_absence() -> None:
    n = CALENDAR.school_day_count  # 194 days, 388 sessions; 10% is 38.8 sessions
    long = long_calendar()
    marks = compact("2025-09-01", days("/\\", 450) + " " + days("NN", 50), long)
    last = long.add_school_days(d("2025-09-01"), 499)
    share = m.share_of_possible_sessions(marks, long, ABSENT, last, d("2025-09-01"))
    assert share == 10 and isinstance(share, Fraction)
    onset = m.share_of_possible_sessions_onset(marks, long, ABSENT, last, d("2025-09-01"), ">=", 10)
    assert onset == last  # 100 of 1000 only on the last day
    assert n == 194


def test_9_9_percent_absence_is_not_persistent_absence() -> None:
    long = long_calendar()
    marks = compact("2025-09-01", days("/\\", 450) + " " + days("NN", 49) + " N\\", long)
    last = long.add_school_days(d("2025-09-01"), 499)
    share = m.share_of_possible_sessions(marks, long, ABSENT, last, d("2025-09-01"))
    assert share == Fraction(99, 10)
    assert not share >= 10
    assert m.share_of_possible_sessions_onset(
        marks, long, ABSENT, last, d("2025-09-01"), ">=", 10) is None
    assert m.share_of_possible_sessions_onset(
        marks, long, ABSENT, last, d("2025-09-01"), ">=", Fraction(99, 10)) == last


def test_non_possible_sessions_are_left_out_of_the_denominator() -> None:
    marks = compact("2025-09-03", "NN ## [Y1][Y1] [Y7]D " + days("/\\", 6))
    as_of = school_day(10)
    # 2 N of 20 sessions, 6 of which are not possible: 2 / 14
    assert m.share_of_possible_sessions(
        marks, CALENDAR, ["N"], as_of, d("2025-09-01")) == Fraction(200, 14)
    # a non-possible code in the set never counts towards the share either
    assert m.share_of_possible_sessions(
        marks, CALENDAR, ["N", "#"], as_of, d("2025-09-01")) == Fraction(200, 14)
    assert m.share_of_possible_sessions(
        marks, CALENDAR, PRESENT, as_of, d("2025-09-01")) == Fraction(1200, 14)


def test_share_with_no_possible_sessions_is_zero() -> None:
    marks = compact("2025-09-03", "## ##")
    assert m.share_of_possible_sessions(marks, CALENDAR, ["N"], school_day(2), d("2025-09-01")) == 0
    assert m.share_of_possible_sessions(marks, CALENDAR, ["N"], school_day(2), d("2025-10-01")) == 0


def test_share_counts_only_from_since() -> None:
    marks = compact("2025-09-03", days("NN", 5) + " " + days("/\\", 5))
    assert m.share_of_possible_sessions(marks, CALENDAR, ["N"], school_day(10), school_day(6)) == 0
    assert m.share_of_possible_sessions(
        marks, CALENDAR, ["N"], school_day(10), school_day(5)) == Fraction(100, 6)


# --------------------------------------------------------------------------------------
# Windowed counts and days since last present
# --------------------------------------------------------------------------------------


def test_windowed_counts() -> None:
    marks = compact("2025-09-03", "N/ GG /\\ /O /\\ /\\ UU")
    as_of = school_day(7)
    unauthorised = ["G", "N", "O", "U"]
    assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, 7) == 6
    assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, 5) == 3
    assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, 500) == 6
    assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, 0) == 0
    assert m.count_school_days(marks, CALENDAR, unauthorised, as_of, 7) == 4
    assert m.count_school_days(marks, CALENDAR, unauthorised, as_of, 4) == 2
    assert m.count_sessions_onset(marks, CALENDAR, unauthorised, as_of, 7, ">=", 6) == as_of
    assert m.count_school_days_onset(
        marks, CALENDAR, unauthorised, as_of, 7, ">=", 3) == school_day(4)


def test_counts_since_a_date() -> None:
    # school days 1-7: Wed 3, Thu 4, Fri 5, Mon 8, Tue 9, Wed 10, Thu 11 September
    marks = compact("2025-09-03", "N/ GG /\\ /O /\\ /\\ UU")
    as_of = school_day(7)
    unauthorised = ["G", "N", "O", "U"]

    def sessions(since: str) -> int:
        return m.count_sessions(marks, CALENDAR, unauthorised, as_of, d(since))

    def school_days(since: str) -> int:
        return m.count_school_days(marks, CALENDAR, unauthorised, as_of, d(since))

    # the school year: N, GG, O, UU = 6 sessions on 4 days
    assert sessions("2025-09-01") == 6 and school_days("2025-09-01") == 4
    # from Fri 5 Sep: O (Mon 8), UU (Thu 11) = 3 sessions on 2 days
    assert sessions("2025-09-05") == 3 and school_days("2025-09-05") == 2
    # from Sat 6 Sep: counting starts on Mon 8, the same 3 on 2
    assert sessions("2025-09-06") == 3 and school_days("2025-09-06") == 2
    assert sessions("2025-09-11") == 2 and school_days("2025-09-11") == 1  # since == as_of
    assert sessions("2025-09-12") == 0 and school_days("2025-09-12") == 0  # after as_of
    # before the calendar (and past it) is clipped, not an error
    assert sessions("2024-01-01") == 6 and school_days("2024-01-01") == 4
    assert sessions("2027-01-01") == 0 and school_days("2027-01-01") == 0
    # a window of 7 school days and the school year agree here
    assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, 7) == sessions("2025-09-01")


def test_onset_of_a_count_since_a_date() -> None:
    marks = compact("2025-09-03", "N/ GG /\\ /O /\\ /\\ UU")
    unauthorised = ["G", "N", "O", "U"]
    since = d("2025-09-05")

    def onset(as_of: date, op: str, k: int) -> date | None:
        return m.count_sessions_onset(marks, CALENDAR, unauthorised, as_of, since, op, k)

    # running count from Fri 5: 0 (Fri 5), 1 (Mon 8), 1, 1, 3 (Thu 11); 0 before 5 Sep
    assert onset(school_day(7), ">=", 3) == d("2025-09-11")
    assert onset(school_day(7), ">=", 1) == d("2025-09-08")
    assert onset(school_day(7), ">", 3) is None
    assert onset(school_day(5), "<", 2) == d("2025-09-03")  # 0, 0, 0, 1, 1: every day
    assert onset(school_day(6), "==", 1) == d("2025-09-08")  # 0 on 3, 4 and 5 Sep
    # the N on Wed 3 and GG on Thu 4 never count, though the window covering them would
    assert onset(school_day(4), ">=", 1) == d("2025-09-08")
    assert m.count_school_days_onset(
        marks, CALENDAR, unauthorised, school_day(7), since, ">=", 2) == d("2025-09-11")
    # from Thu 4 (GG) the count is never 0, but it was 0 on Wed 3, before the date
    assert m.count_sessions_onset(
        marks, CALENDAR, unauthorised, school_day(7), d("2025-09-04"), "!=", 0) == d("2025-09-04")
    # since after as_of: 0 on every day
    assert m.count_school_days_onset(
        marks, CALENDAR, unauthorised, school_day(7), d("2025-09-12"), "==", 0) == d("2025-09-03")
    assert m.count_school_days_onset(
        marks, CALENDAR, unauthorised, school_day(7), d("2025-09-12"), ">=", 1) is None


def test_days_since_last_present_counts_calendar_days() -> None:
    marks = compact("2025-10-20", "/\\ /\\ /\\ /\\ /N NN NN")  # Fri 24 Oct: AM present
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-10-24")) == 0
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-11-04")) == 11
    # never L: counted from the first mark, Mon 20 Oct; 20 Oct to 4 Nov is 15 days
    assert m.days_since_last_present(marks, CALENDAR, ["L"], d("2025-11-04")) == 15
    assert m.days_since_last_present(marks, CALENDAR, ["L"], d("2025-10-17")) is None  # no mark yet
    # 24 Oct + 3 days is Monday 27 Oct, in half term: the first school day after is 3 Nov
    onset = m.days_since_last_present_onset(marks, CALENDAR, PRESENT, d("2025-11-04"), ">=", 3)
    assert onset == d("2025-11-03")
    # 20 Oct + 3 days is Thursday 23 Oct, a school day
    assert m.days_since_last_present_onset(marks, CALENDAR, ["L"], d("2025-11-04"), ">=", 3) == d(
        "2025-10-23")
    assert m.days_since_last_present_onset(marks, CALENDAR, ["L"], d("2025-10-17"), "<", 3) is None


def test_a_pupil_never_present_is_out_of_education_from_their_first_mark() -> None:
    # on roll from Wed 3 Sep, every session N or G, never present
    marks = compact("2025-09-03", days("NG", 25))
    # 3 Sep to Tue 30 Sep is 27 days, to Wed 1 Oct 28: four weeks on 1 Oct
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-30")) == 27
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-10-01")) == 28
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-03")) == 0
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-02")) is None
    for as_of in ("2025-09-30", "2025-10-01", "2025-10-04", "2025-10-08"):  # 4 Oct: Saturday
        assert m.days_since_last_present_onset(
            marks, CALENDAR, PRESENT, d(as_of), ">=", 28) == (
            None if as_of == "2025-09-30" else d("2025-10-01"))
    # `< 28` held from the first marked day (value 0) to Tue 30 Sep
    assert m.days_since_last_present_onset(marks, CALENDAR, PRESENT, d("2025-09-30"), "<", 28) == d(
        "2025-09-03")


def test_a_pupil_first_marked_in_the_afternoon_is_counted_from_that_day() -> None:
    # no AM mark on Mon 8 Sep, N in the PM, then absent; present on Mon 15 Sep
    marks = compact("2025-09-08", "-N NN NN NN NN /\\ NN")
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-12")) == 4
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-16")) == 1
    # counted from 8 Sep: 8 + 3 = Thu 11 Sep; from 15 Sep on, counted from the present day
    assert m.days_since_last_present_onset(marks, CALENDAR, PRESENT, d("2025-09-12"), ">=", 3) == d(
        "2025-09-11")
    assert m.days_since_last_present_onset(marks, CALENDAR, PRESENT, d("2025-09-16"), ">=", 1) == d(
        "2025-09-16")
    # `!= 2` fails only on Wed 10 Sep (2 days after 8 Sep) before as of Fri 12 Sep
    assert m.days_since_last_present_onset(marks, CALENDAR, PRESENT, d("2025-09-12"), "!=", 2) == d(
        "2025-09-11")


# --------------------------------------------------------------------------------------
# School days since last present: holidays do not count
# --------------------------------------------------------------------------------------


def test_school_days_since_last_present_skips_half_term() -> None:
    # Mon 20 - Fri 24 Oct 2025, present until the AM of Fri 24; half term 27-31 Oct; then
    # absent on Mon 3 and Tue 4 Nov
    marks = compact("2025-10-20", "/\\ /\\ /\\ /\\ /N NN NN")
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d("2025-10-24")) == 0
    # Sat 25 Oct and all of half term: no school day after Fri 24 Oct yet
    for as_of in ("2025-10-25", "2025-10-27", "2025-10-31", "2025-11-02"):
        assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d(as_of)) == 0
    # Mon 3 Nov is the first school day after 24 Oct (10 calendar days), Tue 4 Nov the second
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d("2025-11-03")) == 1
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d("2025-11-04")) == 2
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, d("2025-11-04")) == 11
    # never L: counted from the first mark, Mon 20 Oct: 21, 22, 23, 24 Oct, 3, 4 Nov
    assert m.school_days_since_last_present(marks, CALENDAR, ["L"], d("2025-11-04")) == 6
    assert m.school_days_since_last_present(marks, CALENDAR, ["L"], d("2025-10-17")) is None
    # >= 2: the second school day after 24 Oct, Tue 4 Nov (calendar days: 3 Nov already)
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-11-04"), ">=", 2) == d("2025-11-04")
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-11-03"), ">=", 2) is None
    # > 4 on the never-L count: 5 school days after Mon 20 Oct is Mon 3 Nov
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, ["L"], d("2025-11-04"), ">", 4) == d("2025-11-03")
    # < 1 held from Mon 20 Oct (present every day, value 0) through half term to Sun 2 Nov
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-11-02"), "<", 1) == d("2025-10-20")
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-11-03"), "<", 1) is None


def test_the_summer_holiday_is_not_out_of_education() -> None:
    # present every session Mon 13 - Tue 21 July 2026, the last day of the summer term; the
    # autumn term of 2026-27 starts Tue 1 Sep with two INSET days, so school resumes Thu 3
    # Sep, and the pupil is absent from then on
    marks = compact("2026-07-13", days("/\\", 7) + " " + days("NN", 25), TWO_YEARS)
    assert marks.code_at(d("2026-07-21"), "PM") == "\\"
    assert marks.code_at(d("2026-09-03"), "AM") == "N"

    def school(as_of: str) -> int | None:
        return m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d(as_of))

    def onset(as_of: str, op: str, k: int) -> date | None:
        return m.school_days_since_last_present_onset(marks, TWO_YEARS, PRESENT, d(as_of), op, k)

    assert school("2026-07-21") == 0
    # 31 Aug is 41 calendar days after 21 Jul, in the old academic year: 0 school days
    assert m.days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-08-31")) == 41
    assert school("2026-08-31") == 0
    assert school("2026-09-01") == 0  # the new year, but an INSET day
    assert school("2026-09-02") == 0  # INSET
    assert school("2026-09-03") == 1  # Thu: the first school day since 21 Jul
    assert school("2026-09-04") == 2  # Fri
    assert school("2026-09-06") == 2  # Sun
    assert school("2026-09-07") == 3  # Mon
    # four weeks in calendar days was met when school resumed...
    assert m.days_since_last_present_onset(
        marks, TWO_YEARS, PRESENT, d("2026-09-03"), ">=", 28) == d("2026-09-03")
    # ...20 school days is not: 3, 4 Sep (2), 7-11 (7), 14-18 (12), 21-25 (17), 28, 29, 30 (20)
    assert onset("2026-09-29", ">=", 20) is None
    assert school("2026-09-29") == 19
    for as_of in ("2026-09-30", "2026-10-01", "2026-10-03"):  # 3 Oct: Saturday
        assert onset(as_of, ">=", 20) == d("2026-09-30")
        assert onset(as_of, ">", 19) == d("2026-09-30")
    assert TWO_YEARS.add_school_days(d("2026-07-21"), 20) == d("2026-09-30")
    # `< 20` held from the first mark (13 Jul, value 0; None before it) to Tue 29 Sep
    assert onset("2026-09-29", "<", 20) == d("2026-07-13")
    assert onset("2026-08-31", "<", 1) == d("2026-07-13")
    # `== 0` as of 31 Aug: every school day from the first mark on
    assert onset("2026-08-31", "==", 0) == d("2026-07-13")
    assert onset("2026-09-04", "==", 2) == d("2026-09-04")


def test_a_pupil_never_present_counts_school_days_from_their_first_mark() -> None:
    # on roll from Thu 3 Sep 2026, never present
    marks = compact("2026-09-03", days("NG", 25), TWO_YEARS)
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-09-02")) is None
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-09-03")) == 0
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-09-07")) == 2
    # 20 school days after 3 Sep: 4 (1), 7-11 (6), 14-18 (11), 21-25 (16), 28 Sep-1 Oct (20)
    assert m.school_days_since_last_present_onset(
        marks, TWO_YEARS, PRESENT, d("2026-10-02"), ">=", 20) == d("2026-10-01")
    # None satisfies no comparison, not even `< 20` or `!= 0`
    for op in OPS:
        assert m.school_days_since_last_present_onset(
            marks, TWO_YEARS, PRESENT, d("2026-09-02"), op, 20) is None
    assert m.school_days_since_last_present_onset(
        marks, TWO_YEARS, PRESENT, d("2026-09-30"), "<", 20) == d("2026-09-03")


def test_closures_and_a_first_mark_in_the_afternoon_do_not_count() -> None:
    # present Fri 30 Jan 2026; Mon 2 and Tue 3 Feb closed for snow; absent from Wed 4 Feb
    marks = compact("2026-01-29", "/\\ /\\ NN NN", TWO_YEARS)
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-02-03")) == 0
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-02-04")) == 1
    assert m.days_since_last_present(marks, TWO_YEARS, PRESENT, d("2026-02-04")) == 5
    # no AM mark on Mon 8 Sep 2025, N in the PM, absent to Fri 12, present Mon 15 Sep
    marks = compact("2025-09-08", "-N NN NN NN NN /\\ NN")
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-12")) == 4
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, d("2025-09-16")) == 1
    # values from Mon 8: 0, 1, 2, 3, 4, then 0 (Mon 15), 1 (Tue 16); `!= 2` last failed Wed 10
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-09-16"), "!=", 2) == d("2025-09-11")
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-09-16"), "<=", 1) == d("2025-09-15")
    assert m.school_days_since_last_present_onset(
        marks, CALENDAR, PRESENT, d("2025-09-12"), ">=", 3) == d("2025-09-11")


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def test_measure_errors() -> None:
    marks = compact("2025-09-03", "NN")
    with pytest.raises(UnknownCode, match="'H'"):
        m.consecutive_school_days(marks, CALENDAR, ["N", "H"], school_day(1))
    with pytest.raises(TypeError):
        m.oldest_unresolved(marks, CALENDAR, "N", school_day(1))
    with pytest.raises(ValueError, match="negative"):
        m.count_sessions(marks, CALENDAR, ["N"], school_day(1), -1)
    with pytest.raises(ValueError, match="unknown comparison '=>'"):
        m.oldest_unresolved_onset(marks, CALENDAR, ["N"], school_day(1), "=>", 1)
    with pytest.raises(ValueError, match="different school calendar"):
        m.oldest_unresolved(marks, long_calendar(), ["N"], school_day(1))
    other = CodeTable.from_entries([("N", "unauthorised_absence", True)])
    with pytest.raises(ValueError, match="different code table"):
        m.oldest_unresolved(marks, CALENDAR, other.select(["N"]), school_day(1))


# --------------------------------------------------------------------------------------
# Naive model: values
# --------------------------------------------------------------------------------------

POOL = ["/", "\\", "L", "N", "G", "O", "U", "I", "C1", "#", "Y1", "-"]


Model = dict[tuple[date, str], str]


@st.composite
def pupils(draw: st.DrawFn) -> tuple[PupilMarks, Model, date]:
    """Marks drawn from a small per-pupil pool of codes (so long runs are common), and an
    as-of date near them (so runs and windows reach it)."""
    pool = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True))
    first = draw(st.integers(0, len(SCHOOL_DAYS) - 1))
    count = draw(st.integers(0, min(120, len(SCHOOL_DAYS) - first)))
    pairs = draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(pool)),
                          min_size=count, max_size=count))
    text = " ".join("".join(c if len(c) == 1 else f"[{c}]" for c in pair) for pair in pairs)
    marks = PupilMarks.from_compact(CALENDAR, TABLE, SCHOOL_DAYS[first], text)
    model = {
        (SCHOOL_DAYS[first + i], s): code
        for i, pair in enumerate(pairs) for s, code in zip(("AM", "PM"), pair) if code != "-"
    }
    offset = draw(st.integers(-5, count * 7 // 5 + 10))
    as_of = SCHOOL_DAYS[first] + timedelta(days=offset)
    as_of = min(max(as_of, d("2025-09-01")), CALENDAR.last_school_day)
    return marks, model, as_of


as_of_dates = st.dates(d("2025-09-01"), d("2026-07-21"))


def upto(as_of: date) -> list[date]:
    return [x for x in SCHOOL_DAYS if x <= as_of]


def naive_run(model: Model, codes: list[str], as_of: date) -> int:
    n = 0
    for x in reversed(upto(as_of)):
        if model.get((x, "AM")) not in codes or model.get((x, "PM")) not in codes:
            break
        n += 1
    return n


def naive_count(model: Model, codes: list[str], as_of: date, window: int | date,
                per_day: Callable[[int], int]) -> int:
    """Over the last `window` school days, or the school days from a since date."""
    if isinstance(window, date):
        counted = [x for x in upto(as_of) if x >= window]
    else:
        counted = upto(as_of)[-window:] if window else []
    return sum(per_day(sum(model.get((x, s)) in codes for s in ("AM", "PM"))) for x in counted)


def naive_share(model: Model, codes: list[str], as_of: date,
                since: date) -> Fraction:
    sessions = [model.get((x, s)) for x in upto(as_of) if x >= since for s in ("AM", "PM")]
    possible = [c for c in sessions if c is not None and TABLE.possible(c)]
    if not possible:
        return Fraction(0)
    return Fraction(100 * sum(c in codes for c in possible), len(possible))


def naive_since(model: Model, codes: list[str], as_of: date) -> int | None:
    """From the last present day; never present, from the first marked day; no mark, None."""
    seen = [x for x in upto(as_of) for s in ("AM", "PM") if model.get((x, s)) in codes]
    if seen:
        return (as_of - seen[-1]).days
    marked = [x for x in upto(as_of) for s in ("AM", "PM") if (x, s) in model]
    return (as_of - marked[0]).days if marked else None


def naive_school_since(model: Model, codes: list[str], as_of: date,
                       calendar: SchoolCalendar = CALENDAR) -> int | None:
    """School days in (the day counted from, as_of], counted by the calendar: the day is
    `naive_since`'s (the last present day, else the first marked day)."""
    seen = [x for (x, _), code in model.items() if x <= as_of and code in codes]
    marked = [x for x, _ in model if x <= as_of]
    day = max(seen) if seen else min(marked) if marked else None
    return None if day is None else calendar.school_days_between(day, as_of)


def naive_oldest(model: Model, codes: list[str], as_of: date) -> int:
    seen = [x for x in upto(as_of) for s in ("AM", "PM") if model.get((x, s)) in codes]
    return CALENDAR.school_days_between(seen[0], as_of) if seen else 0


count_since_dates = st.dates(d("2025-06-01"), d("2026-10-01"))  # past both ends: clipped
since_back = st.integers(-10, 200)  # days before as_of: after it, near it, before the calendar


@settings(max_examples=200, deadline=None)
@given(pupils(), st.booleans(), as_of_dates, st.sampled_from([0, 1, 3, 5, 50, 130, 300]),
       as_of_dates, count_since_dates)
def test_measures_agree_with_a_naive_model(
    pupil: tuple[PupilMarks, Model, date], near: bool, anywhere: date, window: int, since: date,
    count_since: date,
) -> None:
    marks, model, as_of = pupil
    as_of = as_of if near else anywhere
    run = m.consecutive_school_days(marks, CALENDAR, GNO, as_of)
    assert run.length == naive_run(model, GNO, as_of)
    assert run.start == (upto(as_of)[-run.length] if run.length else None)
    unauthorised = ["G", "N", "O", "U"]
    for span in (window, count_since):
        assert m.count_sessions(marks, CALENDAR, unauthorised, as_of, span) == naive_count(
            model, unauthorised, as_of, span, lambda k: k)
        assert m.count_school_days(marks, CALENDAR, unauthorised, as_of, span) == naive_count(
            model, unauthorised, as_of, span, lambda k: min(k, 1))
    for codes in (ABSENT, ["N", "#"], PRESENT):
        assert m.share_of_possible_sessions(marks, CALENDAR, codes, as_of, since) == naive_share(
            model, codes, as_of, since)
    assert m.days_since_last_present(marks, CALENDAR, PRESENT, as_of) == naive_since(
        model, PRESENT, as_of)
    assert m.school_days_since_last_present(marks, CALENDAR, PRESENT, as_of) == (
        naive_school_since(model, PRESENT, as_of))
    assert m.oldest_unresolved(marks, CALENDAR, ["N"], as_of) == naive_oldest(model, ["N"], as_of)


# --------------------------------------------------------------------------------------
# Onsets: a naive oracle that evaluates the measure on every school day
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One measure kind with its value and onset functions bound to fixed arguments."""

    name: str
    value: Callable[[PupilMarks, date], object]
    onset: Callable[[PupilMarks, date, str, Any], date | None]


def kinds(window: int, since: date, count_since: date) -> list[Kind]:
    unauthorised = TABLE.select(["G", "N", "O", "U"])
    return [
        Kind("count_sessions since",
             lambda p, a: m.count_sessions(p, CALENDAR, unauthorised, a, count_since),
             lambda p, a, op, t: m.count_sessions_onset(
                 p, CALENDAR, unauthorised, a, count_since, op, t)),
        Kind("count_school_days since",
             lambda p, a: m.count_school_days(p, CALENDAR, unauthorised, a, count_since),
             lambda p, a, op, t: m.count_school_days_onset(
                 p, CALENDAR, unauthorised, a, count_since, op, t)),
        Kind("consecutive_school_days",
             lambda p, a: m.consecutive_school_days(p, CALENDAR, GNO, a).length,
             lambda p, a, op, t: m.consecutive_school_days_onset(p, CALENDAR, GNO, a, op, t)),
        Kind("count_sessions",
             lambda p, a: m.count_sessions(p, CALENDAR, unauthorised, a, window),
             lambda p, a, op, t: m.count_sessions_onset(
                 p, CALENDAR, unauthorised, a, window, op, t)),
        Kind("count_school_days",
             lambda p, a: m.count_school_days(p, CALENDAR, unauthorised, a, window),
             lambda p, a, op, t: m.count_school_days_onset(
                 p, CALENDAR, unauthorised, a, window, op, t)),
        Kind("share_of_possible_sessions",
             lambda p, a: m.share_of_possible_sessions(p, CALENDAR, ABSENT, a, since),
             lambda p, a, op, t: m.share_of_possible_sessions_onset(
                 p, CALENDAR, ABSENT, a, since, op, t)),
        Kind("days_since_last_present",
             lambda p, a: m.days_since_last_present(p, CALENDAR, PRESENT, a),
             lambda p, a, op, t: m.days_since_last_present_onset(p, CALENDAR, PRESENT, a, op, t)),
        Kind("school_days_since_last_present",
             lambda p, a: m.school_days_since_last_present(p, CALENDAR, PRESENT, a),
             lambda p, a, op, t: m.school_days_since_last_present_onset(
                 p, CALENDAR, PRESENT, a, op, t)),
        Kind("oldest_unresolved",
             lambda p, a: m.oldest_unresolved(p, CALENDAR, ["N"], a),
             lambda p, a, op, t: m.oldest_unresolved_onset(p, CALENDAR, ["N"], a, op, t)),
    ]


def holds(value: object, op: str, threshold: Any) -> bool:
    return value is not None and bool(m.OPS[op](value, threshold))


def naive_onset(kind: Kind, marks: PupilMarks, as_of: date, op: str, threshold: Any) -> date | None:
    """Evaluate on every school day up to as_of; the first day of the last unbroken stretch."""
    if not holds(kind.value(marks, as_of), op, threshold):
        return None
    onset = CALENDAR.school_day_on_or_after(as_of)
    for x in reversed(upto(as_of)):
        if not holds(kind.value(marks, x), op, threshold):
            break
        onset = x
    return onset


thresholds = st.one_of(st.integers(-1, 3), st.integers(-1, 25), st.sampled_from([40, 100]))
share_thresholds = st.sampled_from(
    [Fraction(0), Fraction(5), Fraction(10), Fraction(99, 10), Fraction(100, 3), Fraction(50),
     100, 0]
)
windows = st.sampled_from([0, 1, 5, 10, 50, 130, 190, 400])  # 130 on: 16-bit digits


@settings(max_examples=200, deadline=None)
@given(pupils(), windows, as_of_dates, st.sampled_from(OPS), thresholds, share_thresholds,
       since_back)
def test_onset_agrees_with_the_naive_oracle(
    pupil: tuple[PupilMarks, Model, date], window: int,
    since: date, op: str, threshold: int, share_threshold: Fraction, back: int,
) -> None:
    marks, _, as_of = pupil
    count_since = as_of - timedelta(days=back)  # near as_of, after it, or before the calendar
    for kind in kinds(window, since, count_since):
        t: Any = share_threshold if kind.name == "share_of_possible_sessions" else threshold
        assert kind.onset(marks, as_of, op, t) == naive_onset(kind, marks, as_of, op, t), kind.name


@settings(max_examples=100, deadline=None)
@given(pupils(), windows, as_of_dates, st.sampled_from(OPS), thresholds, share_thresholds,
       since_back)
def test_onset_is_stable_while_the_condition_holds(
    pupil: tuple[PupilMarks, Model, date], window: int,
    since: date, op: str, threshold: int, share_threshold: Fraction, back: int,
) -> None:
    marks, _, as_of = pupil
    count_since = as_of - timedelta(days=back)  # near as_of, after it, or before the calendar
    start = min(as_of, d("2026-06-01"))
    for kind in kinds(window, since, count_since):
        t: Any = share_threshold if kind.name == "share_of_possible_sessions" else threshold
        previous: date | None = None
        for offset in range(40):
            as_of = start + timedelta(days=offset)
            onset = kind.onset(marks, as_of, op, t)
            if onset is not None:
                assert CALENDAR.is_school_day(onset), kind.name
                assert onset <= CALENDAR.school_day_on_or_after(as_of), kind.name
                if previous is not None:
                    assert onset == previous, (kind.name, as_of)
            previous = onset


# --------------------------------------------------------------------------------------
# School days since last present across two academic years (the summer holiday)
# --------------------------------------------------------------------------------------

TWO_YEARS_DAYS = list(TWO_YEARS.school_days(TWO_YEARS.first_school_day, TWO_YEARS.last_school_day))
SUMMER_END = TWO_YEARS_DAYS.index(d("2026-07-21"))  # the last school day of 2025-26


@st.composite
def two_year_pupils(draw: st.DrawFn) -> tuple[PupilMarks, Model, date]:
    """Marks on the two-year calendar, often around the summer holiday, sometimes never
    present (no present code in the pool) or unmarked until late, and an as-of date that is
    often in the holiday or just after it."""
    pool = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True))
    first = draw(st.one_of(st.integers(0, len(TWO_YEARS_DAYS) - 1),
                           st.integers(SUMMER_END - 15, SUMMER_END + 3)))
    count = draw(st.integers(0, min(60, len(TWO_YEARS_DAYS) - first)))
    pairs = draw(st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(pool)),
                          min_size=count, max_size=count))
    text = " ".join("".join(c if len(c) == 1 else f"[{c}]" for c in pair) for pair in pairs)
    marks = PupilMarks.from_compact(TWO_YEARS, TABLE, TWO_YEARS_DAYS[first], text)
    model = {
        (TWO_YEARS_DAYS[first + i], s): code
        for i, pair in enumerate(pairs) for s, code in zip(("AM", "PM"), pair) if code != "-"
    }
    near = TWO_YEARS_DAYS[first] + timedelta(days=draw(st.integers(-3, 90)))
    as_of = draw(st.one_of(st.dates(d("2025-09-01"), d("2027-08-31")),
                           st.dates(d("2026-07-15"), d("2026-10-15")), st.just(near)))
    return marks, model, min(max(as_of, d("2025-09-01")), d("2027-08-31"))


def naive_school_since_onset(model: Model, as_of: date, op: str, threshold: int) -> date | None:
    """Evaluate `naive_school_since` on every school day up to as_of."""
    if not holds(naive_school_since(model, PRESENT, as_of, TWO_YEARS), op, threshold):
        return None
    onset = TWO_YEARS.school_day_on_or_after(as_of) if as_of < TWO_YEARS.last_school_day else None
    for x in reversed([x for x in TWO_YEARS_DAYS if x <= as_of]):
        if not holds(naive_school_since(model, PRESENT, x, TWO_YEARS), op, threshold):
            break
        onset = x
    return onset


@settings(max_examples=150, deadline=None)
@given(two_year_pupils(), st.sampled_from(OPS), st.one_of(st.integers(-1, 5), st.integers(-1, 60)))
def test_school_days_since_across_the_summer_agrees_with_the_naive_oracle(
    pupil: tuple[PupilMarks, Model, date], op: str, threshold: int,
) -> None:
    marks, model, as_of = pupil
    assert m.school_days_since_last_present(marks, TWO_YEARS, PRESENT, as_of) == (
        naive_school_since(model, PRESENT, as_of, TWO_YEARS))
    assert m.school_days_since_last_present_onset(
        marks, TWO_YEARS, PRESENT, as_of, op, threshold) == naive_school_since_onset(
        model, as_of, op, threshold)
