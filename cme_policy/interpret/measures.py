"""Reference semantics, part 0c: the measures, by walking a pupil's marks one school day at a
time, as docs/measures.md defines each kind.

The runtime computes measures on the mark string with `bytes` tricks and closed-form onsets
(`cme_policy.runtime.measures`); none of that is used here. A pupil's marks are read into a
`Register` — the code of each session of each school day of `SchoolDays`, or None for no
mark — and every kind is a walk forward over the school days that keeps the obvious state (the
run so far, the running count, the last day present …), giving the measure's value as of
each school day. Then:

* the value as of a date is the value as of the last school day on or before it (for
  `days_since_last_present`, the calendar days from the day it counts from to the date);
* the onset of `value op threshold` (docs/measures.md, "Onsets"): None unless it holds as of
  the date; otherwise the first school day of the unbroken stretch of school days, ending at
  the date, on which it held — found by walking back over the values day by day — or, if it
  did not hold on the last school day before the date, the first school day after the date.

Marks after the as-of date are never looked at: the value as of a school day depends only on
that day and the days before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from cme_policy.interpret.school_days import SchoolDays
from cme_policy.ir.values import COMPARE

if TYPE_CHECKING:
    from cme_policy.runtime.marks import PupilMarks

Code = str | None
Codes = frozenset[str]
Series = list[object]



class Register:
    """One pupil's marks on the school days: (AM code, PM code) per school day, None for a
    session with no mark.

    Read from a `PupilMarks` through its plain data only: its `text` holds school day i's
    sessions at 2i and 2i+1 (docs/measures.md), each character decoded by the code table."""

    def __init__(self, days: SchoolDays, marks: PupilMarks) -> None:
        text = marks.text
        if len(text) != 2 * len(days.days):
            raise ValueError(f"the marks hold {len(text)} sessions, but the calendar has "
                             f"{len(days.days)} school days of two sessions")
        code = {char: marks.table.code(char) for char in set(text)}
        self.days = days
        self.sessions: list[tuple[Code, Code]] = [
            (code[text[2 * i]], code[text[2 * i + 1]]) for i in range(len(days.days))]
        self.series: dict[tuple[object, ...], Series] = {}

    def last_marked_day(self, as_of: dt.date) -> dt.date | None:
        """The last school day on or before `as_of` with a mark in either session."""
        last = None
        for day, (am, pm) in zip(self.days.days, self.sessions):
            if day > as_of:
                break
            if am is not None or pm is not None:
                last = day
        return last

    def first_day_with(self, codes: Codes, after: dt.date, upto: dt.date) -> dt.date | None:
        """The first school day after `after`, up to `upto`, with a session in `codes`."""
        for day, (am, pm) in zip(self.days.days, self.sessions):
            if after < day <= upto and (am in codes or pm in codes):
                return day
        return None


# -- each kind, as of every school day ---------------------------------------------------------


def _runs(reg: Register, codes: Codes, possible: Codes, arg: object) -> Series:
    """consecutive_school_days: both sessions in codes extend the run; anything else
    (another code, a missing mark) ends it."""
    out: Series = []
    run = 0
    for am, pm in reg.sessions:
        run = run + 1 if am in codes and pm in codes else 0
        out.append(run)
    return out


def _over_span(reg: Register, per_day: list[int], span: object) -> Series:
    """A count per school day: the sum over the last `span` school days (an int), or over
    the school days from `span` on (a date; 0 on the days before it)."""
    if isinstance(span, dt.date):
        out: Series = []
        total = 0
        for day, count in zip(reg.days.days, per_day):
            if day >= span:
                total += count
            out.append(total)
        return out
    if not isinstance(span, int) or isinstance(span, bool):
        raise TypeError(f"a count needs a window of school days or a date, not {span!r}")
    if span < 0:
        raise ValueError(f"a window of {span} school days is negative")
    return [sum(per_day[max(0, i + 1 - span):i + 1]) for i in range(len(per_day))]


def _sessions(reg: Register, codes: Codes, possible: Codes, span: object) -> Series:
    """count_sessions: sessions with a code in codes."""
    return _over_span(reg, [(am in codes) + (pm in codes) for am, pm in reg.sessions], span)


def _school_days(reg: Register, codes: Codes, possible: Codes, span: object) -> Series:
    """count_school_days: school days with at least one session in codes."""
    return _over_span(reg, [1 if am in codes or pm in codes else 0 for am, pm in reg.sessions],
                      span)


def _shares(reg: Register, codes: Codes, possible: Codes, since: object) -> Series:
    """share_of_possible_sessions: of the possible sessions from `since` on (a missing mark
    is not possible), the percentage with a code in codes; 0 with none possible."""
    if not isinstance(since, dt.date):
        raise TypeError(f"a share is counted from a date, not {since!r}")
    out: Series = []
    num = den = 0
    for day, (am, pm) in zip(reg.days.days, reg.sessions):
        if day >= since:
            for code in (am, pm):
                if code in possible:
                    den += 1
                    if code in codes:
                        num += 1
        out.append(Fraction(100 * num, den) if den else Fraction(0))
    return out


def _anchors(reg: Register, codes: Codes, possible: Codes, arg: object) -> Series:
    """The school day (its position) a days-since counts from: the last day with a session
    in codes, else the first day with any mark; None before the first mark."""
    out: Series = []
    present: int | None = None
    first_marked: int | None = None
    for i, (am, pm) in enumerate(reg.sessions):
        if first_marked is None and (am is not None or pm is not None):
            first_marked = i
        if am in codes or pm in codes:
            present = i
        out.append(present if present is not None else first_marked)
    return out


def _days_since(reg: Register, codes: Codes, possible: Codes, arg: object) -> Series:
    """days_since_last_present: calendar days from the day counted from."""
    days = reg.days.days
    return [(day - days[a]).days if isinstance(a, int) else None
            for day, a in zip(days, _cached(reg, _anchors, codes, possible, None))]


def _school_days_since(reg: Register, codes: Codes, possible: Codes, arg: object) -> Series:
    """school_days_since_last_present: school days after the day counted from."""
    return [i - a if isinstance(a, int) else None
            for i, a in enumerate(_cached(reg, _anchors, codes, possible, None))]


def _oldest(reg: Register, codes: Codes, possible: Codes, arg: object) -> Series:
    """oldest_unresolved: school days since the first day with a session in codes; 0 with none."""
    out: Series = []
    oldest: int | None = None
    for i, (am, pm) in enumerate(reg.sessions):
        if oldest is None and (am in codes or pm in codes):
            oldest = i
        out.append(0 if oldest is None else i - oldest)
    return out


SeriesFn = Callable[[Register, Codes, Codes, object], Series]
KINDS: dict[str, SeriesFn] = {
    "consecutive_school_days": _runs,
    "count_sessions": _sessions,
    "count_school_days": _school_days,
    "share_of_possible_sessions": _shares,
    "days_since_last_present": _days_since,
    "school_days_since_last_present": _school_days_since,
    "oldest_unresolved": _oldest,
}
"""Each measure kind of `cme_policy.ir.measures`: its value as of every school day."""

BEFORE_ANY_SCHOOL_DAY: dict[str, object] = {
    "consecutive_school_days": 0, "count_sessions": 0, "count_school_days": 0,
    "share_of_possible_sessions": Fraction(0), "days_since_last_present": None,
    "school_days_since_last_present": None, "oldest_unresolved": 0,
}
"""The value as of a date before the calendar's first school day: nothing to count."""


def _cached(reg: Register, fn: SeriesFn, codes: Codes, possible: Codes, arg: object) -> Series:
    key = (fn, codes, arg)
    found = reg.series.get(key)
    if found is None:
        found = reg.series[key] = fn(reg, codes, possible, arg)
    return found


# -- as of a date --------------------------------------------------------------------------------


def value(kind: str, reg: Register, codes: Codes, possible: Codes, as_of: dt.date,
          args: Sequence[object] = ()) -> object:
    """The measure as of `as_of` (an int, an exact percentage, or None)."""
    reg.days.year_of(as_of)  # a date no academic year covers cannot be answered for
    seen = reg.days.count_upto(as_of)
    arg = args[0] if args else None
    if kind == "days_since_last_present":
        if seen == 0:
            return None
        anchor = _cached(reg, _anchors, codes, possible, None)[seen - 1]
        return (as_of - reg.days.days[anchor]).days if isinstance(anchor, int) else None
    series = _cached(reg, KINDS[kind], codes, possible, arg)  # checks the argument too
    return series[seen - 1] if seen else BEFORE_ANY_SCHOOL_DAY[kind]


def onset(kind: str, reg: Register, codes: Codes, possible: Codes, as_of: dt.date,
          args: Sequence[object], op: str, threshold: object) -> dt.date | None:
    """The first school day of the unbroken stretch of school days up to `as_of` on which
    `value op threshold` held (docs/measures.md); None when it does not hold as of `as_of`."""
    if op not in COMPARE:
        raise ValueError(f"unknown comparison {op!r}")

    def holds(v: object) -> bool:
        return v is not None and COMPARE[op](v, threshold)

    if not holds(value(kind, reg, codes, possible, as_of, args)):
        return None
    series = _cached(reg, KINDS[kind], codes, possible, args[0] if args else None)
    i = reg.days.count_upto(as_of) - 1
    if i < 0 or not holds(series[i]):  # held as of a holiday, not on the school day before
        return reg.days.add(as_of, 1)
    while i >= 0 and holds(series[i]):
        i -= 1
    return reg.days.days[i + 1]
