"""Runtime: the measure kinds of `cme_policy.ir.measures`, computed from a pupil's mark string.

Imports only the standard library and `cme_policy.runtime`, because generated code imports it.

Every measure takes (marks, calendar, codes, as_of[, arg]) and looks only at marks up to
and including `as_of`. Each kind also has an `<kind>_onset(…, op, threshold)` function:
the first school day of the unbroken stretch of school days, ending at `as_of`, on which
`value op threshold` held — the day a rule's deadlines count from. Onsets are found in one
pass over the school days (most often in closed form), never by re-evaluating the measure
on every past day. Semantics, with the reasons for each choice, are in docs/measures.md.

Work is done on `bytes`: the mark string translated through a `CodeSet`'s flag table is a
0/1 byte per session, so counts are `bytes.count`, runs are `rstrip`, last and first
occurrences are `rfind`/`find`, all in C.
"""

from __future__ import annotations

import bisect
import functools
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from itertools import accumulate, repeat
from typing import Any, TypeVar

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.marks import NO_MARK, CodeSet, PupilMarks

__all__ = [
    "OPS",
    "Run",
    "consecutive_school_days",
    "consecutive_school_days_onset",
    "count_school_days",
    "count_school_days_onset",
    "count_sessions",
    "count_sessions_onset",
    "days_since_last_present",
    "days_since_last_present_onset",
    "first_marked_day",
    "least_value",
    "oldest_unresolved",
    "oldest_unresolved_onset",
    "school_days_around",
    "school_days_since_last_present",
    "school_days_since_last_present_onset",
    "share_of_possible_sessions",
    "share_of_possible_sessions_onset",
    "since_day",
]

Codes = CodeSet | Iterable[str]
"""A precompiled `CodeSet` (fastest) or any collection of code names."""

Span = int | date
"""What the counts count over: a window of school days up to as_of (an int), or the school
days from a date to as_of (a `date`, e.g. the start of the school year)."""

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
"""The comparison operators of the policy language, as functions."""

_ONE = b"\x01"
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Run:
    """A run of consecutive school days: its length and first day (None when empty)."""

    length: int
    start: date | None


# -- shared plumbing -----------------------------------------------------------------------


def _codes(marks: PupilMarks, calendar: SchoolCalendar, codes: Codes) -> CodeSet:
    """Resolve `codes` against the pupil's table, refusing mismatched calendars or tables."""
    if marks.calendar is not calendar and marks.calendar != calendar:
        raise ValueError("the marks were laid on a different school calendar")
    if isinstance(codes, CodeSet):
        if codes.table is not marks.table and codes.table != marks.table:
            raise ValueError("the code set was compiled from a different code table")
        return codes
    return marks.table.select(codes)


def school_days_around(calendar: SchoolCalendar, d: date) -> tuple[int, int]:
    """(school days before d, school days on or before d), as every measure here counts them
    (a date outside every academic year is an error)."""
    return _COUNTS.around(calendar, d)


def _days_upto(calendar: SchoolCalendar, d: date) -> int:
    """How many school days fall on or before d (a date outside the calendar is an error)."""
    return _COUNTS.around(calendar, d)[1]


def since_day(calendar: SchoolCalendar, since: date) -> int:
    """The index of the first school day counted from `since`: the school days before it,
    clipped to the calendar, so a count since a date before the calendar starts at its first
    school day and one since a date after its last counts nothing (and neither is an error)."""
    return _COUNTS.since(calendar, since)


class _DayCounts:
    """School days before and up to a date, memoised: every pupil asks about the same dates.

    The calendar needs ~2 µs for a date that is not a school day (a bisection and coverage
    checks), which would be most of a measure's cost; the memo keeps the last calendar's.
    """

    __slots__ = ("calendar", "counts", "sinces")

    def __init__(self) -> None:
        self.calendar: SchoolCalendar | None = None
        self.counts: dict[date, tuple[int, int]] = {}
        self.sinces: dict[date, int] = {}

    def around(self, calendar: SchoolCalendar, d: date) -> tuple[int, int]:
        """(school days before d, school days on or before d)."""
        if self.calendar is not calendar or len(self.counts) > 4096:
            self.calendar, self.counts, self.sinces = calendar, {}, {}
        found = self.counts.get(d)
        if found is None:
            found = self.counts[d] = _count_around(calendar, d)
        return found

    def since(self, calendar: SchoolCalendar, d: date) -> int:
        """School days before d, clipped to the calendar (`since_day`)."""
        if self.calendar is not calendar or len(self.sinces) > 4096:
            self.calendar, self.counts, self.sinces = calendar, {}, {}
        found = self.sinces.get(d)
        if found is None:
            found = self.sinces[d] = _count_since(calendar, d)
        return found


def _count_around(calendar: SchoolCalendar, d: date) -> tuple[int, int]:
    """Ask the calendar; it raises for a date outside every academic year."""
    if calendar.is_school_day(d):
        i = calendar.school_day_index(d)
        return i, i + 1
    if d > calendar.last_school_day:
        return calendar.school_day_count, calendar.school_day_count
    i = calendar.school_day_index(d)
    return i, i


def _count_since(calendar: SchoolCalendar, d: date) -> int:
    """Clip first: the calendar raises for a date outside every academic year."""
    if d <= calendar.first_school_day:
        return 0
    if d > calendar.last_school_day:
        return calendar.school_day_count
    return _count_around(calendar, d)[0]


_COUNTS = _DayCounts()


def _flags(marks: PupilMarks, table: bytes) -> bytes:
    """The mark string as one 0/1 byte per session, so C-level bytes methods do the work."""
    return marks.text.encode("ascii").translate(table)


def _day_any(flags: bytes, lo: int, hi: int) -> bytes:
    """One 0/1 byte per school day in [lo, hi): 1 when either session is flagged."""
    am = int.from_bytes(flags[2 * lo:2 * hi:2], "big")
    pm = int.from_bytes(flags[2 * lo + 1:2 * hi:2], "big")
    return (am | pm).to_bytes(hi - lo, "big")


def _day_both(flags: bytes, hi: int) -> bytes:
    """One 0/1 byte per school day in [0, hi): 1 when both sessions are flagged."""
    am = int.from_bytes(flags[0:2 * hi:2], "big")
    pm = int.from_bytes(flags[1:2 * hi:2], "big")
    return (am & pm).to_bytes(hi, "big")


def _day_sums(flags: bytes, hi: int) -> bytes:
    """One byte per school day in [0, hi): how many of its sessions are flagged (0-2)."""
    am = int.from_bytes(flags[0:2 * hi:2], "big")
    pm = int.from_bytes(flags[1:2 * hi:2], "big")
    return (am + pm).to_bytes(hi, "big")


def _condition(op: str, threshold: object) -> Callable[[object], bool]:
    """`value op threshold` as a one-argument test; a None value satisfies no comparison."""
    try:
        compare = OPS[op]
    except KeyError:
        raise ValueError(f"unknown comparison {op!r}; use one of {' '.join(OPS)}") from None
    return lambda value: value is not None and compare(value, threshold)


def least_value(op: str, threshold: object) -> int | None:
    """For `>= k` / `> k` on an integer measure, the least value that satisfies it."""
    if isinstance(threshold, int) and not isinstance(threshold, bool):
        if op == ">=":
            return threshold
        if op == ">":
            return threshold + 1
    return None


def _last_failure(holds: Callable[[_V], bool], backwards: Iterable[_V], n: int) -> int:
    """Index of the last school day before n whose value (given latest first) fails, or -1."""
    i = n - 1
    for value in backwards:
        if not holds(value):
            return i
        i -= 1
    return -1


def _onset_after(calendar: SchoolCalendar, as_of: date, n: int, failed: int) -> date:
    """The school day after the last failure; past as_of only for a non-school as_of."""
    if failed + 1 < n:
        return calendar.school_day_at(failed + 1)
    return calendar.school_day_on_or_after(as_of)


# -- consecutive_school_days ----------------------------------------------------------------


def consecutive_school_days(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date
) -> Run:
    """The run, ending on the last school day <= as_of, of days whose two sessions are in codes."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    length = _run_days(_flags(marks, cs.flags), n)
    return Run(length, calendar.school_day_at(n - length) if length else None)


def _run_days(flags: bytes, n: int) -> int:
    """Trailing whole days of flagged sessions before day n: rstrip counts them in C."""
    end = 2 * n
    return (end - len(flags[:end].rstrip(_ONE))) // 2


def consecutive_school_days_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date,
    op: str, threshold: int,
) -> date | None:
    """Onset of `run op threshold`: for `>= k`, the k-th day of the current run."""
    cs = _codes(marks, calendar, codes)
    holds = _condition(op, threshold)
    n = _days_upto(calendar, as_of)
    flags = _flags(marks, cs.flags)
    length = _run_days(flags, n)
    if not holds(length):
        return None
    k = least_value(op, threshold)
    if k is not None and k >= 1:
        return calendar.school_day_at(n - length + k - 1)
    failed = _last_failure(holds, _runs_backwards(_day_both(flags, n)), n)
    return _onset_after(calendar, as_of, n, failed)


def _runs_backwards(both: bytes) -> Iterator[int]:
    """The run length on each school day, latest first: one rfind per break, so O(days)."""
    i = len(both) - 1
    while i >= 0:
        brk = both.rfind(0, 0, i + 1)
        yield from range(i - brk, 0, -1)
        if brk >= 0:
            yield 0
        i = brk - 1


# -- count_sessions and count_school_days ----------------------------------------------------


def _check_window(window: int) -> None:
    """A window is a number of school days, so it cannot be negative."""
    if window < 0:
        raise ValueError(f"a window of {window} school days is negative")


def _first_counted(calendar: SchoolCalendar, n: int, span: Span) -> int:
    """The first of the school days before day n that a count covers: the window's first day,
    or the since date's (n, so nothing is counted, when the date is after as_of)."""
    if isinstance(span, date):
        return min(since_day(calendar, span), n)
    if span < 0:
        _check_window(span)  # raises; checked here so the common case makes no extra call
    return max(0, n - span)


def count_sessions(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, window: Span
) -> int:
    """Sessions in codes within the last `window` school days up to as_of (inclusive), or,
    given a date, from that date to as_of (e.g. this school year's)."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    return _flags(marks, cs.flags).count(_ONE, 2 * _first_counted(calendar, n, window), 2 * n)


def count_school_days(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, window: Span
) -> int:
    """School days with at least one session in codes, counted as `count_sessions` counts."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    return _day_any(_flags(marks, cs.flags), _first_counted(calendar, n, window), n).count(_ONE)


def count_sessions_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, window: Span,
    op: str, threshold: int,
) -> date | None:
    """Onset of `count_sessions op threshold`, from every day's count in one pass."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    per_day = _day_sums(_flags(marks, cs.flags), n)
    return _counted_onset(calendar, as_of, n, per_day, window, op, threshold)


def count_school_days_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, window: Span,
    op: str, threshold: int,
) -> date | None:
    """Onset of `count_school_days op threshold`, from every day's count in one pass."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    per_day = _day_any(_flags(marks, cs.flags), 0, n)
    return _counted_onset(calendar, as_of, n, per_day, window, op, threshold)


def _counted_onset(calendar: SchoolCalendar, as_of: date, n: int, per_day: bytes,
                   span: Span, op: str, threshold: int) -> date | None:
    """Shared by the counts: per_day holds each school day's count (0-2)."""
    if isinstance(span, date):
        return _since_onset(calendar, as_of, n, per_day, since_day(calendar, span), op,
                            threshold)
    return _windowed_onset(calendar, as_of, n, per_day, span, op, threshold)


def _since_onset(calendar: SchoolCalendar, as_of: date, n: int, per_day: bytes, first: int,
                 op: str, threshold: int) -> date | None:
    """A count since a date is 0 on the days before it and the running sum from it on.

    The running sum never falls, so for `>= k` (k >= 1) the onset is the day it reaches k.
    Otherwise, as for shares, the days before the date all pass or all fail together.
    """
    sums = list(accumulate(per_day[first:n]))
    if not _condition(op, threshold)(sums[-1] if sums else 0):
        return None
    k = least_value(op, threshold)
    if k is not None and k >= 1:
        return calendar.school_day_at(first + bisect.bisect_left(sums, k))
    failed = _last_false(list(map(OPS[op], sums, repeat(threshold))))
    if failed < 0:
        failed = -1 if OPS[op](0, threshold) else first - 1
    else:
        failed += first
    return _onset_after(calendar, as_of, n, failed)


def _windowed_onset(calendar: SchoolCalendar, as_of: date, n: int, per_day: bytes,
                    window: int, op: str, threshold: int) -> date | None:
    """Shared by the windowed counts: per_day holds each school day's count (0-2)."""
    _check_window(window)
    if not _condition(op, threshold)(sum(per_day[max(0, n - window):n])):
        return None
    tests = _window_tests(per_day, window, op, threshold)
    return _onset_after(calendar, as_of, n, _last_false(tests))


def _window_tests(per_day: bytes, window: int, op: str, threshold: int) -> bytes | list[bool]:
    """`sum of the window ending on day i  op  threshold` for every day i, all in C.

    Read the per-day counts as the base-256 digits of one integer (day i = digit i);
    multiplying by 1 + 256 + … + 256^(window-1) makes digit i the window's sum, as long
    as no sum overflows a digit; a 256-byte table then applies the comparison to each.
    """
    n = len(per_day)
    if 2 * window <= 255:
        ones = ((1 << 8 * window) - 1) // 255
        sums = (int.from_bytes(per_day, "little") * ones).to_bytes(n + window, "little")
        return sums[:n].translate(_test_table(op, threshold))
    cumulative = list(accumulate(per_day, initial=0))
    lows = [0] * min(window, n) + cumulative[1:max(0, n - window) + 1]
    return list(map(OPS[op], map(operator.sub, cumulative[1:], lows), repeat(threshold)))


@functools.lru_cache(maxsize=256)
def _test_table(op: str, threshold: int) -> bytes:
    """A translate table giving, for each byte value v, 1 if `v op threshold` else 0."""
    compare = OPS[op]
    return bytes(1 if compare(v, threshold) else 0 for v in range(256))


def _last_false(tests: bytes | list[bool]) -> int:
    """Index of the last day on which the condition failed, or -1 if it never did."""
    if isinstance(tests, bytes):
        return tests.rfind(0)
    try:
        return len(tests) - 1 - tests[::-1].index(False)
    except ValueError:
        return -1


# -- share_of_possible_sessions ----------------------------------------------------------------


def share_of_possible_sessions(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, since: date
) -> Fraction:
    """Percent (0-100, exact) of possible sessions from `since` to as_of that are in codes."""
    cs = _codes(marks, calendar, codes)
    num, den = _share_counts(marks, cs, calendar, as_of, since)
    return Fraction(100 * num, den) if den else Fraction(0)


def _share_counts(
    marks: PupilMarks, cs: CodeSet, calendar: SchoolCalendar, as_of: date, since: date
) -> tuple[int, int]:
    """(sessions in codes that are possible, possible sessions) over [since, as_of]."""
    lo, hi = 2 * since_day(calendar, since), 2 * _days_upto(calendar, as_of)
    if lo >= hi:
        return 0, 0
    ascii_text = marks.text.encode("ascii")
    num = ascii_text.translate(cs.possible_flags).count(_ONE, lo, hi)
    den = ascii_text.translate(marks.table.possible_flags).count(_ONE, lo, hi)
    return num, den


def share_of_possible_sessions_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date, since: date,
    op: str, threshold: Fraction | int,
) -> date | None:
    """Onset of `share op threshold`, from every day's cumulative counts in one pass."""
    cs = _codes(marks, calendar, codes)
    holds = _condition(op, threshold)
    first, n = since_day(calendar, since), _days_upto(calendar, as_of)
    num, den = _share_counts(marks, cs, calendar, as_of, since)
    if not holds(Fraction(100 * num, den) if den else 0):
        return None
    ascii_text = marks.text.encode("ascii")
    nums = _day_sums(ascii_text.translate(cs.possible_flags), n)[first:]
    dens = _day_sums(ascii_text.translate(marks.table.possible_flags), n)[first:]
    return _onset_after(calendar, as_of, n, _share_last_false(nums, dens, first, op, threshold))


def _share_last_false(
    nums: bytes, dens: bytes, first: int, op: str, threshold: Fraction | int
) -> int:
    """Last day the share test failed: exact integer cross-multiplication, all in C.

    Until the first possible session from `since` on (and on every day before `since`)
    the share is 0, so those days all pass or all fail together.
    """
    t_num, t_den = Fraction(threshold).as_integer_ratio()
    num_sums = list(accumulate(nums))
    den_sums = list(accumulate(dens))
    zero = bisect.bisect_right(den_sums, 0)
    lhs = map(operator.mul, num_sums[zero:], repeat(100 * t_den))
    rhs = map(operator.mul, den_sums[zero:], repeat(t_num))
    failed = _last_false(list(map(OPS[op], lhs, rhs)))
    if failed >= 0:
        return first + zero + failed
    return -1 if OPS[op](0, threshold) else first + zero - 1


# -- days_since_last_present ------------------------------------------------------------------


def days_since_last_present(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date
) -> int | None:
    """Calendar days from the last session in codes (on or before as_of) to as_of; for a pupil
    never present, from the first marked session (on the register, absent since); None if
    the pupil has no mark at all."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    day = _anchor_day(marks, _flags(marks, cs.flags), n)
    return None if day < 0 else (as_of - calendar.school_day_at(day)).days


def _anchor_day(marks: PupilMarks, flags: bytes, n: int) -> int:
    """The school day (before day n) the days since count from: the last with a flagged
    session, else the first with any mark, else -1."""
    pos = flags.rfind(_ONE, 0, 2 * n)
    return pos // 2 if pos >= 0 else first_marked_day(marks.text, n)


def first_marked_day(text: str, n: int) -> int:
    """The first school day before day n with a mark in either session, or -1: lstrip skips
    the unmarked sessions in C (and copies nothing when the first session is marked)."""
    unmarked = len(text) - len(text.lstrip(NO_MARK))
    return unmarked // 2 if unmarked < 2 * n else -1


def days_since_last_present_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date,
    op: str, threshold: int,
) -> date | None:
    """Onset of `days_since op threshold`: for `>= k`, the first school day on/after the day
    counted from (last present, else first marked) + k calendar days."""
    cs = _codes(marks, calendar, codes)
    holds = _condition(op, threshold)
    n = _days_upto(calendar, as_of)
    flags = _flags(marks, cs.flags)
    anchor = _anchor_day(marks, flags, n)
    last = None if anchor < 0 else calendar.school_day_at(anchor)
    if not holds(None if last is None else (as_of - last).days):
        return None
    k = least_value(op, threshold)
    if last is not None and k is not None and k >= 1:
        return calendar.school_day_on_or_after(last + timedelta(days=k))
    failed = _last_failure(holds, _since_backwards(calendar, _counted_from(marks, flags, n)), n)
    return _onset_after(calendar, as_of, n, failed)


def _since_backwards(calendar: SchoolCalendar, present: bytes) -> Iterator[int | None]:
    """Days since the last present day, on each school day, latest first; O(days) overall."""
    i = len(present) - 1
    last = present.rfind(1, 0, i + 1)
    while i >= 0:
        if last > i:
            last = present.rfind(1, 0, i + 1)
        if last < 0:
            yield None
        else:
            yield (calendar.school_day_at(i) - calendar.school_day_at(last)).days
        i -= 1


def _counted_from(marks: PupilMarks, flags: bytes, n: int) -> bytes:
    """One 0/1 byte per school day before day n: 1 on the days a days-since counts from, the
    present days and, until the pupil is first present, their first marked day."""
    present = _day_any(flags, 0, n)
    first = first_marked_day(marks.text, n)
    if first >= 0 and not present[first]:  # counted from like a present day, until one
        present = present[:first] + _ONE + present[first + 1:]
    return present


# -- school_days_since_last_present -------------------------------------------------------------


def school_days_since_last_present(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date
) -> int | None:
    """School days from the day `days_since_last_present` counts from to as_of:
    `calendar.school_days_between(day, as_of)`, the school days in (day, as_of], so weekends,
    holidays, INSET and closure days do not count; None if the pupil has no mark at all."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    day = _anchor_day(marks, _flags(marks, cs.flags), n)
    return None if day < 0 else n - 1 - day


def school_days_since_last_present_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date,
    op: str, threshold: int,
) -> date | None:
    """Onset of `school_days_since op threshold`: for `>= k`, the k-th school day after the
    day counted from (last present, else first marked). The value is 0 on that day and rises
    by one each school day after it."""
    cs = _codes(marks, calendar, codes)
    holds = _condition(op, threshold)
    n = _days_upto(calendar, as_of)
    flags = _flags(marks, cs.flags)
    anchor = _anchor_day(marks, flags, n)
    if not holds(None if anchor < 0 else n - 1 - anchor):
        return None
    k = least_value(op, threshold)
    if anchor >= 0 and k is not None and k >= 1:
        return calendar.school_day_at(anchor + k)  # add_school_days(anchor's date, k)
    failed = _last_failure(holds, _school_since_backwards(_counted_from(marks, flags, n)), n)
    return _onset_after(calendar, as_of, n, failed)


def _school_since_backwards(present: bytes) -> Iterator[int | None]:
    """School days since the last present day, on each school day, latest first: one rfind
    per present day, so O(days) overall; None before the first."""
    i = len(present) - 1
    while i >= 0:
        last = present.rfind(1, 0, i + 1)
        if last < 0:
            yield from repeat(None, i + 1)
            return
        yield from range(i - last, -1, -1)
        i = last - 1


# -- oldest_unresolved --------------------------------------------------------------------------


def oldest_unresolved(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date
) -> int:
    """School days from the oldest session still in codes (on or before as_of) to as_of;
    0 if none."""
    cs = _codes(marks, calendar, codes)
    n = _days_upto(calendar, as_of)
    first = _first_day(_flags(marks, cs.flags), n)
    return 0 if first < 0 else n - 1 - first


def _first_day(flags: bytes, n: int) -> int:
    """Index of the first school day before day n with a flagged session, or -1."""
    pos = flags.find(_ONE, 0, 2 * n)
    return pos // 2 if pos >= 0 else -1


def oldest_unresolved_onset(
    marks: PupilMarks, calendar: SchoolCalendar, codes: Codes, as_of: date,
    op: str, threshold: int,
) -> date | None:
    """Onset of `oldest op threshold`: for `>= k`, the k-th school day after the oldest mark."""
    cs = _codes(marks, calendar, codes)
    holds = _condition(op, threshold)
    n = _days_upto(calendar, as_of)
    first = _first_day(_flags(marks, cs.flags), n)
    if not holds(0 if first < 0 else n - 1 - first):
        return None
    k = least_value(op, threshold)
    if first >= 0 and k is not None and k >= 1:
        return calendar.school_day_at(first + k)
    ages = (i - first if 0 <= first <= i else 0 for i in range(n - 1, -1, -1))
    return _onset_after(calendar, as_of, n, _last_failure(holds, ages, n))
