"""Runtime: the school calendar and school-day arithmetic that generated checkers call.

Imports only the standard library and `holidays`, because generated code imports it.

A *school day* is a date inside a term, Monday to Friday, that is not an England bank
holiday, not an INSET day and not a closure day. Every query is answered from a sorted
tuple of all school days built once, so each call is a dict lookup or a bisection.
"""

from __future__ import annotations

import bisect
import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType

__all__ = [
    "AcademicYear",
    "CalendarError",
    "Closure",
    "KeyPath",
    "SchoolCalendar",
    "Term",
    "add_days",
    "add_weeks",
]

KeyPath = tuple[str | int, ...]
"""Where in the calendar document a problem is, e.g. ("academic_years", 0, "terms", 2)."""

# Region name in the calendar file -> `holidays` subdivision of GB. England and Wales
# share their bank holidays; schools in Wales are out of scope for this project.
_REGIONS: dict[str, str] = {"england": "ENG"}


class CalendarError(Exception):
    """A calendar that cannot be built or a date it cannot answer for, with where and why."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        where: KeyPath = (),
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where
        self.path = path
        self.line = line
        self.column = column

    def located(self, path: str, line: int | None, column: int | None) -> CalendarError:
        """The same error placed in a file, so the loader can report model errors."""
        return CalendarError(
            self.message, hint=self.hint, where=self.where, path=path, line=line, column=column
        )

    def __str__(self) -> str:
        place = ":".join(str(p) for p in (self.path, self.line, self.column) if p is not None)
        text = f"{place}: error: {self.message}" if place else f"error: {self.message}"
        return f"{text}\nhint: {self.hint}" if self.hint else text


_ONE_DAY = timedelta(days=1)


def add_days(d: date, n: int) -> date:
    """Calendar days, kept apart from school days because the law uses both."""
    return d + timedelta(days=n)


def add_weeks(d: date, n: int) -> date:
    """Calendar weeks ("four weeks"), a unit of their own in the policy language."""
    return d + timedelta(weeks=n)


def _days(start: date, end: date) -> Iterator[date]:
    """Every date in [start, end], because ranges in the file are inclusive."""
    for offset in range((end - start).days + 1):
        yield start + offset * _ONE_DAY


@dataclass(frozen=True, slots=True)
class Term:
    """A term as published by the school: its dates include any INSET days in it."""

    name: str
    start: date
    end: date

    def contains(self, d: date) -> bool:
        """Whether d falls in this term (ends inclusive)."""
        return self.start <= d <= self.end


@dataclass(frozen=True, slots=True)
class Closure:
    """Days the school was closed to pupils: planned (code #) or not (Y codes)."""

    start: date
    end: date
    reason: str
    planned: bool = True

    def days(self) -> Iterator[date]:
        """Each closed date, so closures and single days are handled alike."""
        return _days(self.start, self.end)


@dataclass(frozen=True, slots=True)
class AcademicYear:
    """One school year (normally 1 September to 31 August) and its terms."""

    name: str
    start: date
    end: date
    terms: tuple[Term, ...]
    inset_days: tuple[date, ...] = ()
    closures: tuple[Closure, ...] = ()

    def contains(self, d: date) -> bool:
        """Whether d falls in this academic year (ends inclusive)."""
        return self.start <= d <= self.end


def _fmt_range(start: date, end: date) -> str:
    """One date or an inclusive range, as people write them."""
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"


def _check_region(region: str) -> None:
    """Only regions whose bank holidays we can take from the `holidays` package."""
    if region in _REGIONS:
        return
    close = difflib.get_close_matches(region.lower(), list(_REGIONS), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(_REGIONS)}"
    raise CalendarError(
        f"unknown bank holiday region '{region}'", hint=hint, where=("bank_holidays",)
    )


def _load_bank_holidays(region: str, years: Sequence[AcademicYear]) -> dict[date, str]:
    """England's bank holidays from the maintained `holidays` package, never a local list."""
    first = min(y.start.year for y in years)
    last = max(y.end.year for y in years)
    return dict(_bank_holidays(region, first, last))


@functools.lru_cache(maxsize=16)
def _bank_holidays(region: str, first: int, last: int) -> tuple[tuple[date, str], ...]:
    """Cached: `check` and the search for unlawful steps (and `run`'s readers) each build
    the same calendar, and the package takes ~50 ms to work a region's years out."""
    # Imported here: it costs ~0.2 s, which only programs that build a calendar should pay.
    import holidays

    found = holidays.country_holidays("GB", subdiv=_REGIONS[region], years=range(first, last + 1))
    return tuple((d, str(name)) for d, name in sorted(found.items()))


def _check_year_shape(year: AcademicYear, where: KeyPath) -> None:
    """Each year needs a name, ordered dates and at least one term."""
    if year.end < year.start:
        raise CalendarError(
            f"academic year {year.name} ends ({year.end}) before it starts ({year.start})",
            hint="swap start and end, or correct the year",
            where=(*where, "end"),
        )
    if not year.terms:
        raise CalendarError(
            f"academic year {year.name} has no terms",
            hint="list the terms under 'terms', each with name, start and end",
            where=(*where, "terms"),
        )


def _check_term(year: AcademicYear, term: Term, where: KeyPath) -> None:
    """A term runs forwards and lies inside its academic year."""
    if term.end < term.start:
        raise CalendarError(
            f"term '{term.name}' ends ({term.end}) before it starts ({term.start})",
            hint="check the term's start and end dates",
            where=(*where, "end"),
        )
    for key, d in (("start", term.start), ("end", term.end)):
        if not year.contains(d):
            raise CalendarError(
                f"term '{term.name}' {key}s on {d}, outside academic year {year.name}"
                f" ({_fmt_range(year.start, year.end)})",
                hint="move the term into the academic year it is listed under",
                where=(*where, key),
            )


def _check_overlaps(terms: Sequence[tuple[KeyPath, Term]]) -> None:
    """Terms may not overlap, within a year or across years."""
    ordered = sorted(terms, key=lambda item: (item[1].start, item[1].end))
    for (_, before), (where, after) in zip(ordered, ordered[1:]):
        if after.start <= before.end:
            raise CalendarError(
                f"term '{after.name}' ({_fmt_range(after.start, after.end)}) overlaps term"
                f" '{before.name}' ({_fmt_range(before.start, before.end)})",
                hint="each date may belong to at most one term; check both terms' dates",
                where=(*where, "start"),
            )


def _check_year_overlaps(years: Sequence[AcademicYear]) -> None:
    """Academic years may not overlap, so every date has at most one year."""
    ordered = sorted(enumerate(years), key=lambda item: item[1].start)
    for (_, before), (index, after) in zip(ordered, ordered[1:]):
        if after.start <= before.end:
            raise CalendarError(
                f"academic year {after.name} ({_fmt_range(after.start, after.end)}) overlaps"
                f" academic year {before.name} ({_fmt_range(before.start, before.end)})",
                hint="an academic year normally runs from 1 September to 31 August",
                where=("academic_years", index, "start"),
            )


def _in_some_term(year: AcademicYear, d: date) -> bool:
    """Whether d falls in one of the year's terms."""
    return any(term.contains(d) for term in year.terms)


def _check_inset_days(year: AcademicYear, where: KeyPath, bank: dict[date, str]) -> None:
    """An INSET day must be a weekday in a term; anything else is a typo in the file."""
    seen: set[date] = set()
    for index, d in enumerate(year.inset_days):
        at = (*where, "inset_days", index)
        if not _in_some_term(year, d):
            raise CalendarError(
                f"INSET day {d} is outside every term of {year.name}",
                hint="INSET days are taken in term time: extend the term to include it"
                " or correct the date",
                where=at,
            )
        problem = _inset_problem(d, bank, seen)
        if problem:
            raise CalendarError(f"INSET day {d} {problem}", hint="check the date", where=at)
        seen.add(d)


def _inset_problem(d: date, bank: dict[date, str], seen: set[date]) -> str | None:
    """Why a date inside a term still cannot be an INSET day, if it cannot."""
    if d in seen:
        return "is listed twice"
    if d.weekday() >= 5:
        return f"is a {d.strftime('%A')}"
    if d in bank:
        return f"is a bank holiday ({bank[d]})"
    return None


def _check_closures(year: AcademicYear, where: KeyPath) -> None:
    """A closure runs forwards and starts and ends in term time of its own year."""
    for index, closure in enumerate(year.closures):
        at = (*where, "closures", index)
        if closure.end < closure.start:
            raise CalendarError(
                f"closure '{closure.reason}' ends ({closure.end}) before it starts"
                f" ({closure.start})",
                hint="check the closure's start and end dates",
                where=(*at, "end"),
            )
        outside = [d for d in (closure.start, closure.end) if not _in_some_term(year, d)]
        if outside:
            raise CalendarError(
                f"closure '{closure.reason}' on {outside[0]} is outside every term of {year.name}",
                hint="list only days the school would otherwise have been open;"
                " holidays need no closure",
                where=at,
            )


def _check_names(names: Sequence[str], what: str, where: KeyPath) -> None:
    """Names identify years and terms in reports, so they must be unique."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise CalendarError(
                f"{what} name '{name}' is used twice",
                hint=f"give each {what} its own name",
                where=(*where, index, "name"),
            )
        seen.add(name)


def _validate(years: Sequence[AcademicYear], bank: dict[date, str]) -> None:
    """Every rule a calendar must satisfy; raises the first problem found."""
    _check_names([y.name for y in years], "academic year", ("academic_years",))
    all_terms: list[tuple[KeyPath, Term]] = []
    for yi, year in enumerate(years):
        where: KeyPath = ("academic_years", yi)
        _check_year_shape(year, where)
        _check_names([t.name for t in year.terms], "term", (*where, "terms"))
        for ti, term in enumerate(year.terms):
            _check_term(year, term, (*where, "terms", ti))
            all_terms.append(((*where, "terms", ti), term))
    _check_overlaps(all_terms)
    _check_year_overlaps(years)
    for yi, year in enumerate(years):
        _check_inset_days(year, ("academic_years", yi), bank)
        _check_closures(year, ("academic_years", yi))


def _year_school_days(year: AcademicYear, bank: dict[date, str]) -> Iterator[date]:
    """The school days of one year, in order: the definition of a school day."""
    off = set(year.inset_days)
    off.update(d for closure in year.closures for d in closure.days())
    for term in sorted(year.terms, key=lambda t: t.start):
        for d in _days(term.start, term.end):
            if d.weekday() < 5 and d not in bank and d not in off:
                yield d


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    """A validated school calendar answering school-day questions in O(1) or O(log n)."""

    years: tuple[AcademicYear, ...]
    bank_holidays_region: str = "england"
    school: str | None = None
    bank_holidays: Mapping[date, str] = field(init=False, repr=False, compare=False)
    _days: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _index: dict[date, int] = field(init=False, repr=False, compare=False)
    _year_starts: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _terms: tuple[Term, ...] = field(init=False, repr=False, compare=False)
    _term_starts: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate, then precompute the school-day table every query uses."""
        if not self.years:
            raise CalendarError(
                "the calendar has no academic years",
                hint="add at least one academic year under 'academic_years'",
                where=("academic_years",),
            )
        _check_region(self.bank_holidays_region)
        bank = _load_bank_holidays(self.bank_holidays_region, self.years)
        _validate(self.years, bank)
        years = tuple(sorted(self.years, key=lambda y: y.start))
        days = tuple(d for year in years for d in _year_school_days(year, bank))
        terms = tuple(sorted((t for y in years for t in y.terms), key=lambda t: t.start))
        object.__setattr__(self, "years", years)
        object.__setattr__(self, "bank_holidays", MappingProxyType(bank))
        object.__setattr__(self, "_days", days)
        object.__setattr__(self, "_index", {d: i for i, d in enumerate(days)})
        object.__setattr__(self, "_year_starts", tuple(y.start for y in years))
        object.__setattr__(self, "_terms", terms)
        object.__setattr__(self, "_term_starts", tuple(t.start for t in terms))

    @classmethod
    def build(
        cls,
        years: Iterable[AcademicYear],
        bank_holidays_region: str = "england",
        school: str | None = None,
    ) -> SchoolCalendar:
        """Build and validate from any iterable of years; raises CalendarError."""
        return cls(tuple(years), bank_holidays_region, school)

    # -- coverage ---------------------------------------------------------------------

    def academic_year_containing(self, d: date) -> AcademicYear:
        """The year d falls in; a date the calendar does not cover is an error, not a guess."""
        return self.years[self._year_index(d)]

    def covers(self, d: date) -> bool:
        """Whether the calendar can answer for d (it lies in one of its academic years)."""
        i = bisect.bisect_right(self._year_starts, d) - 1
        return i >= 0 and self.years[i].contains(d)

    def _year_index(self, d: date) -> int:
        """Position of the year containing d, or the error every query gives for d."""
        i = bisect.bisect_right(self._year_starts, d) - 1
        if i >= 0 and self.years[i].contains(d):
            return i
        raise self._outside(d)

    def _outside(self, d: date) -> CalendarError:
        """The error for a date no academic year in the calendar covers."""
        names = self.years[0].name
        if len(self.years) > 1:
            names += f" … {self.years[-1].name}"
        return CalendarError(
            f"date {d} is outside every academic year in the calendar ({names})",
            hint=f"add the academic year containing {d} to the calendar file",
        )

    def _require_span(self, lo: date, hi: date) -> None:
        """Every date in [lo, hi] must be covered, else a count across a gap is a guess."""
        first, last = self._year_index(lo), self._year_index(hi)
        for k in range(first, last):
            if self.years[k + 1].start != self.years[k].end + _ONE_DAY:
                raise self._outside(self.years[k].end + _ONE_DAY)

    # -- single days ------------------------------------------------------------------

    def is_school_day(self, d: date) -> bool:
        """Whether pupils are expected in school on d."""
        if d in self._index:
            return True
        self._year_index(d)
        return False

    def is_bank_holiday(self, d: date) -> bool:
        """Whether d is a bank holiday in the calendar's region."""
        return d in self.bank_holidays

    def non_school_reason(self, d: date) -> str | None:
        """Why d is not a school day (None if it is), for explanations to staff."""
        year = self.academic_year_containing(d)
        if d in self._index:
            return None
        if not _in_some_term(year, d):
            return "school holiday (outside every term)"
        if d.weekday() >= 5:
            return "weekend"
        if d in self.bank_holidays:
            return f"bank holiday ({self.bank_holidays[d]})"
        if d in year.inset_days:
            return "INSET day"
        reasons = [c.reason for c in year.closures if c.start <= d <= c.end]
        return f"closure ({reasons[0]})"

    # -- school-day index ---------------------------------------------------------------

    def school_day_index(self, d: date) -> int:
        """Ordinal of d (or of the next school day) so callers can do arithmetic on ints."""
        i = self._index.get(d)
        if i is None:
            self._year_index(d)
            i = self._at(bisect.bisect_left(self._days, d), d, "on or after")
            self._require_span(d, self._days[i])
        return i

    def school_days_on_or_before(self, d: date) -> int:
        """How many school days fall on or before d, a date the calendar covers: a count
        backwards, so a gap between academic years after d does not matter."""
        self._year_index(d)
        return bisect.bisect_right(self._days, d)

    def school_day_at(self, index: int) -> date:
        """The school day with a given ordinal, the inverse of `school_day_index`."""
        if not 0 <= index < len(self._days):
            raise CalendarError(
                f"school day number {index} is outside the calendar"
                f" (it has {len(self._days)} school days)",
                hint="add the academic year the computation reaches into",
            )
        return self._days[index]

    def _at(self, i: int, d: date, relation: str) -> int:
        """Check an index found from d is in range, naming the missing school day if not."""
        if 0 <= i < len(self._days):
            return i
        span = (
            f"its school days run from {self._days[0]} to {self._days[-1]}"
            if self._days
            else "it has no school days at all"
        )
        raise CalendarError(
            f"the calendar has no school day {relation} {d}",
            hint=f"{span}; add the academic year the computation reaches into",
        )

    # -- stepping -----------------------------------------------------------------------

    def next_school_day(self, d: date) -> date:
        """The first school day strictly after d."""
        return self.add_school_days(d, 1)

    def school_day_on_or_after(self, d: date) -> date:
        """d itself if it is a school day, else the next one."""
        return self._days[self.school_day_index(d)]

    def previous_school_day(self, d: date) -> date:
        """The last school day strictly before d."""
        return self.add_school_days(d, -1)

    def add_school_days(self, d: date, n: int) -> date:
        """The n-th school day after d (before d if n < 0); n == 0 gives d or the next one.

        With n != 0 day d itself is never counted, so a deadline of "n school days" from a
        weekend or holiday falls on the n-th school day after it. Only the dates stepped
        over must be covered by the calendar, so d may be the day before it starts.
        """
        if n == 0:
            return self.school_day_on_or_after(d)
        if n > 0:
            i = bisect.bisect_right(self._days, d) + n - 1
        else:
            i = bisect.bisect_left(self._days, d) + n
        relation = "after" if n == 1 else "before" if n == -1 else \
            f"{abs(n)} school days {'before' if n < 0 else 'after'}"
        found = self._days[self._at(i, d, relation)]
        if n > 0:
            self._require_span(d + _ONE_DAY, found)
        else:
            self._require_span(found, d - _ONE_DAY)
        return found

    # -- counting -----------------------------------------------------------------------

    def school_days_between(self, a: date, b: date) -> int:
        """School days in (a, b]; negative when b < a, so it inverts `add_school_days`."""
        if a == b:
            self._year_index(a)
            return 0
        self._require_span(min(a, b) + _ONE_DAY, max(a, b))
        return bisect.bisect_right(self._days, b) - bisect.bisect_right(self._days, a)

    def school_days(self, a: date, b: date) -> Iterator[date]:
        """The school days in [a, b], in order."""
        self._require_span(min(a, b), max(a, b))
        lo = bisect.bisect_left(self._days, a)
        hi = bisect.bisect_right(self._days, b)
        return iter(self._days[lo:hi])

    @property
    def first_school_day(self) -> date:
        """The earliest date the calendar has pupils in school."""
        return self._days[self._at(0, self.years[0].start, "on or after")]

    @property
    def last_school_day(self) -> date:
        """The latest date the calendar has pupils in school."""
        return self._days[self._at(len(self._days) - 1, self.years[-1].end, "on or before")]

    # -- calendar units -------------------------------------------------------------------

    add_days = staticmethod(add_days)
    add_weeks = staticmethod(add_weeks)

    # -- terms ----------------------------------------------------------------------------

    def term_containing(self, d: date) -> Term | None:
        """The term d falls in, or None in the holidays between terms."""
        self._year_index(d)
        i = bisect.bisect_right(self._term_starts, d) - 1
        if i >= 0 and self._terms[i].contains(d):
            return self._terms[i]
        return None

    def term_on_or_after(self, d: date) -> Term:
        """The first term starting on or after d ("the start of a new term")."""
        self._year_index(d)
        i = bisect.bisect_left(self._term_starts, d)
        if i < len(self._terms):
            return self._terms[i]
        raise CalendarError(
            f"the calendar has no term starting on or after {d}",
            hint="add the next academic year to the calendar file",
        )

    def term_start_on_or_after(self, d: date) -> date:
        """The date the next term starts, d itself if a term starts on d."""
        return self.term_on_or_after(d).start

    def first_school_days_of_term(self, term: Term, n: int) -> date:
        """The n-th school day of a term (n >= 1): "within the first n days of a new term"."""
        if term not in self._terms:
            raise CalendarError(f"term '{term.name}' is not in this calendar")
        if n < 1:
            raise CalendarError(
                f"cannot take school day {n} of a term", hint="count a term's school days from 1"
            )
        i = bisect.bisect_left(self._days, term.start) + n - 1
        if i >= len(self._days) or self._days[i] > term.end:
            raise CalendarError(
                f"term '{term.name}' has fewer than {n} school days",
                hint="the deadline runs past the end of the term",
            )
        return self._days[i]

    @property
    def school_day_count(self) -> int:
        """The number of school days in the whole calendar."""
        return len(self._days)
