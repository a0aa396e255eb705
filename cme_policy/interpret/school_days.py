"""Reference semantics, part 0a: the school days of a school calendar, found the slow way.

The runtime answers school-day questions from a precomputed table with bisections
(`cme_policy.runtime.calendar`); the interpreter does not use that arithmetic, so that the
differential tests compare two independent answers. It reads only the calendar's plain data
— its academic years, their terms, INSET days and closures, and the region's bank holidays —
and decides every date by the definition (docs/calendar.md, docs/semantics.md):

    a school day is a date inside a term, Monday to Friday, that is not a bank holiday, not
    an INSET day and not a closure day.

Moving by school days walks the dates one at a time and counts the school days it meets.
A date that no academic year covers cannot be answered for: walking onto one is an error
(`CalendarError`, the one name this module takes from the runtime: the type of the error
that callers such as the scenario runner catch).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cme_policy.runtime.calendar import CalendarError

if TYPE_CHECKING:
    from cme_policy.runtime.calendar import AcademicYear, SchoolCalendar

__all__ = ["CalendarError", "SchoolDays", "dates"]

ONE_DAY = dt.timedelta(days=1)


def dates(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    """Every date from `first` to `last`, both included."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


class SchoolDays:
    """A school calendar's dates, each decided by the definition of a school day."""

    def __init__(self, calendar: SchoolCalendar) -> None:
        self.years: list[AcademicYear] = sorted(calendar.years, key=lambda y: y.start)
        bank_holidays = set(calendar.bank_holidays)
        closed: set[dt.date] = set()
        for year in self.years:
            closed.update(year.inset_days)
            for closure in year.closures:
                closed.update(dates(closure.start, closure.end))
        self.days: list[dt.date] = []
        """Every school day of the calendar, in order."""
        for year in self.years:
            for day in dates(year.start, year.end):
                in_term = any(term.start <= day <= term.end for term in year.terms)
                if in_term and day.weekday() < 5 and day not in bank_holidays \
                        and day not in closed:
                    self.days.append(day)
        self.position = {day: i for i, day in enumerate(self.days)}
        """Where each school day is in `days` (the same order as a mark string's days)."""
        self._upto: dict[dt.date, int] = {}
        self._moved: dict[tuple[dt.date, int], dt.date] = {}

    # -- single dates -----------------------------------------------------------------------

    def year_of(self, day: dt.date) -> AcademicYear:
        """The academic year containing `day`; a date none covers is an error."""
        for year in self.years:
            if year.start <= day <= year.end:
                return year
        raise CalendarError(f"date {day} is outside every academic year in the calendar",
                            hint=f"add the academic year containing {day} to the calendar file")

    def covers(self, day: dt.date) -> bool:
        return any(year.start <= day <= year.end for year in self.years)

    def is_school_day(self, day: dt.date) -> bool:
        return day in self.position

    @property
    def first(self) -> dt.date:
        """The calendar's first school day."""
        if not self.days:
            raise CalendarError("the calendar has no school days at all")
        return self.days[0]

    def academic_year_start(self, day: dt.date) -> dt.date:
        """The first day of the academic year containing `day`."""
        return self.year_of(day).start

    def term_start(self, day: dt.date) -> dt.date:
        """The first day of the term containing `day`, or of the last term begun before it
        (in a holiday); the year's start before its first term."""
        year = self.year_of(day)
        begun = [term.start for term in year.terms if term.start <= day]
        return max(begun) if begun else year.start

    # -- counting and moving ------------------------------------------------------------------

    def count_upto(self, day: dt.date) -> int:
        """How many school days fall on or before `day`."""
        found = self._upto.get(day)
        if found is None:
            found = self._upto[day] = sum(1 for d in self.days if d <= day)
        return found

    def add(self, day: dt.date, n: int) -> dt.date:
        """The n-th school day after `day` (before it when n < 0), walking one date at a time
        and not counting `day` itself; n == 0 gives `day` if it is a school day, else the next
        one. Every date walked over must be in an academic year of the calendar."""
        key = (day, n)
        found = self._moved.get(key)
        if found is None:
            found = self._moved[key] = self._walk(day, n)
        return found

    def _walk(self, day: dt.date, n: int) -> dt.date:
        step = ONE_DAY if n >= 0 else -ONE_DAY
        wanted = abs(n)
        seen = 0
        current = day if n == 0 else day + step
        while True:
            if not self.covers(current):
                raise CalendarError(
                    f"the calendar has no school day {abs(n)} school days "
                    f"{'before' if n < 0 else 'after'} {day} (it runs out on {current})",
                    hint="add the academic year the computation reaches into")
            if self.is_school_day(current):
                if n == 0:
                    return current
                seen += 1
                if seen == wanted:
                    return current
            current += step

    def between(self, a: dt.date, b: dt.date) -> int:
        """The school days after `a` up to and including `b` (a <= b)."""
        count = 0
        for day in dates(a + ONE_DAY, b):
            if not self.covers(day):
                raise CalendarError(f"date {day} is outside every academic year in the calendar")
            if self.is_school_day(day):
                count += 1
        return count
