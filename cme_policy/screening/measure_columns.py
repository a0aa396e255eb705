"""The measure kinds of `cme_policy.runtime.measures`, for a block of pupils at once (numpy).

Each kind gives, for every row of a block of the pupils x sessions grid, its value as of a
date and the onset of `value op threshold`: the same numbers and days, by the same rules, as
the runtime's one-pupil functions (see those for why each rule is what it is), which
tests/screening/test_measure_columns.py holds them to. Onsets are school-day indices
(-1: no onset, because the comparison does not hold).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from cme_policy.runtime import measures as runtime
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.marks import NO_MARK, CodeSet, CodeTable
from cme_policy.runtime.measures import least_value, school_days_around, since_day

Grid = np.ndarray[Any, np.dtype[np.uint8]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]
Ints = np.ndarray[Any, np.dtype[np.int64]]

OPS: dict[str, Callable[[Any, Any], Any]] = dict(runtime.OPS)
"""The runtime's comparisons; given arrays, they compare element by element."""

class NotCovered(Exception):
    """A case the block functions do not cover; the pupil-by-pupil functions take it."""


@dataclass(frozen=True)
class Values:
    """A measure's value per row: ints (None where `none`), or a share as exact num/den."""

    ints: Ints
    none: Bools
    share: tuple[Ints, Ints] | None = None

    def holds(self, op: str, threshold: object) -> Bools:
        """`value op threshold` per row, as the runtime compares (None satisfies only !=)."""
        compare = OPS[op]
        if self.share is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, Fraction)):
                raise NotCovered("a share compared with something other than a number")
            t_num, t_den = Fraction(threshold).as_integer_ratio()
            num, den = self.share
            exact = compare(100 * num * t_den, t_num * den)
            return np.where(den > 0, exact, bool(compare(0, threshold)))
        if isinstance(threshold, bool) or not isinstance(threshold, int):
            raise NotCovered("a count compared with something other than an integer")
        return np.where(self.none, op == "!=", compare(self.ints, threshold))

    def at(self, row: int) -> object:
        """One row's value as the generated measure functions memoise it (an int, None, or
        for a share an exact Fraction)."""
        first, second = self._lists
        if self.share is not None:
            return Fraction(100 * first[row], second[row]) if second[row] else Fraction(0)
        return None if second[row] else first[row]

    def python(self) -> list[object]:
        """Every row's value, as `at` gives it."""
        return [self.at(row) for row in range(len(self.ints))]

    @functools.cached_property
    def _lists(self) -> tuple[list[Any], list[Any]]:
        """The columns as Python lists, made once: (num, den) for a share, else (ints, none)."""
        if self.share is not None:
            return self.share[0].tolist(), self.share[1].tolist()
        return self.ints.tolist(), self.none.tolist()


class Block:
    """Rows of the grid up to an as-of date, with what every kind needs of them."""

    def __init__(self, grid: Grid, calendar: SchoolCalendar, table: CodeTable,
                 as_of: dt.date) -> None:
        self.calendar, self.table, self.as_of = calendar, table, as_of
        self.days = school_days_around(calendar, as_of)[1]
        if self.days == 0:
            raise NotCovered("no school day yet")
        self.grid = np.ascontiguousarray(grid[:, :2 * self.days])
        self.rows = grid.shape[0]
        self.index = np.arange(self.days)
        self.memo: dict[object, Any] = {}
        self._after_as_of: int | None = None

    def flags(self, table: bytes) -> Bools:
        """Per session: whether a `bytes.translate` flag table flags its mark."""
        found = self.memo.get(table)
        if found is None:
            lut = np.frombuffer(table, dtype=np.uint8).astype(bool)
            found = self.memo[table] = np.take(lut, self.grid)
        return found

    def day_any(self, table: bytes) -> Bools:
        """Per school day: whether either session is flagged."""
        key = (table, "any")
        found = self.memo.get(key)
        if found is None:
            flags = self.flags(table)
            found = self.memo[key] = flags[:, 0::2] | flags[:, 1::2]
        return found

    def day_sums(self, table: bytes) -> Ints:
        """Per school day: how many of its sessions are flagged (0-2), as small ints."""
        key = (table, "sum")
        found = self.memo.get(key)
        if found is None:
            flags = self.flags(table).view(np.uint8)
            found = self.memo[key] = flags[:, 0::2] + flags[:, 1::2]
        return found  # type: ignore[return-value]

    @functools.cached_property
    def ordinals(self) -> Ints:
        """Each school day up to the as-of date as a day ordinal."""
        return np.array([self.calendar.school_day_at(i).toordinal() for i in range(self.days)],
                        dtype=np.int64)

    def last_false(self, tests: Bools) -> Ints:
        """Per row, the index of the last day whose test failed, or -1."""
        failed = ~tests
        last = tests.shape[1] - 1 - np.argmax(failed[:, ::-1], axis=1)
        return np.where(failed.any(axis=1), last, -1)

    def onset_after(self, failed: Ints) -> Ints:
        """The school day after the last failure (`_onset_after`); -1 where that is past the
        calendar's last school day (`Kind.onset` refuses it in the rows where the comparison
        holds, and the others have no onset anyway)."""
        after = failed + 1
        inside = after < self.days
        if inside.all():
            return after
        if self._after_as_of is None:
            try:
                self._after_as_of = self.calendar.school_day_index(
                    self.calendar.school_day_on_or_after(self.as_of))
            except CalendarError:  # as of a date after the calendar's last school day
                self._after_as_of = -1
        return np.where(inside, after, self._after_as_of)


def _window(window: object) -> int:
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise NotCovered("a window that is not a whole number of school days")
    return window


def _since(block: Block, since: object) -> int | None:
    """For a count since a date, the first school day counted (`runtime.since_day`, never
    past the block's days); None for a window."""
    if isinstance(since, dt.date):
        return min(since_day(block.calendar, since), block.days)
    return None


class Kind:
    """A measure kind: its value and the onset of a comparison, per row of a block."""

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        raise NotImplementedError

    def onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
              threshold: object) -> Ints:
        """Per row, the onset of `value op threshold` as a school-day index (-1: none)."""
        values = self.value(block, codes, *args)
        holds = values.holds(op, threshold) & ~values.none  # None has no onset, even for !=
        onsets = np.where(holds, self._onset(block, codes, args, op, threshold), -1)
        if np.any(holds & (onsets < 0)):
            raise NotCovered("an onset past the end of the calendar")
        return onsets

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        raise NotImplementedError


class Consecutive(Kind):
    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        unflagged = ~block.flags(codes.flags)
        end = unflagged.shape[1]
        run = np.where(unflagged.any(axis=1), np.argmax(unflagged[:, ::-1], axis=1), end)
        return Values(run.astype(np.int64) // 2, np.zeros(block.rows, dtype=bool))

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        least = least_value(op, threshold)
        if least is not None and least >= 1:
            length = self.value(block, codes).ints
            return np.maximum(block.days - length + least - 1, 0)
        flags = block.flags(codes.flags)
        both = flags[:, 0::2] & flags[:, 1::2]
        last_break = np.maximum.accumulate(np.where(both, -1, block.index), axis=1)
        runs = block.index - last_break
        return block.onset_after(block.last_false(OPS[op](runs, threshold)))


class _Windowed(Kind):
    """A count over a window of school days, or since a date (0 before it, the running sum
    from it on)."""

    def per_day(self, block: Block, codes: CodeSet) -> Ints:
        raise NotImplementedError

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        first = _since(block, args[0])
        lo = max(0, block.days - _window(args[0])) if first is None else first
        total = self.per_day(block, codes)[:, lo:].sum(axis=1, dtype=np.int64)
        return Values(total, np.zeros(block.rows, dtype=bool))

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        first = _since(block, args[0])
        if first is not None:
            return self._since_onset(block, codes, first, op, threshold)
        window = _window(args[0])
        cumulative = np.zeros((block.rows, block.days + 1), dtype=np.int32)
        np.cumsum(self.per_day(block, codes), axis=1, dtype=np.int32, out=cumulative[:, 1:])
        lows = np.maximum(block.index + 1 - window, 0)
        sums = cumulative[:, 1:] - cumulative[:, lows]
        return block.onset_after(block.last_false(OPS[op](sums, threshold)))

    def _since_onset(self, block: Block, codes: CodeSet, first: int, op: str,
                     threshold: object) -> Ints:
        """Running sums from `first`; the days before it (value 0) pass or fail together."""
        sums = np.cumsum(self.per_day(block, codes)[:, first:], axis=1, dtype=np.int32)
        failed = block.last_false(OPS[op](sums, threshold)) if sums.shape[1] else (
            np.full(block.rows, -1))
        none_failed = -1 if OPS[op](0, threshold) else first - 1
        return block.onset_after(np.where(failed >= 0, first + failed, none_failed))


class CountSessions(_Windowed):
    def per_day(self, block: Block, codes: CodeSet) -> Ints:
        return block.day_sums(codes.flags)


class CountSchoolDays(_Windowed):
    def per_day(self, block: Block, codes: CodeSet) -> Ints:
        return block.day_any(codes.flags).view(np.uint8)


class Share(Kind):
    def _first(self, block: Block, since: object) -> int:
        if not isinstance(since, dt.date):
            raise NotCovered("a share since something other than a date")
        return runtime.since_day(block.calendar, since)  # clipped, as the counts' is

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        first = self._first(block, args[0])
        zeros = np.zeros(block.rows, dtype=np.int64)
        if first >= block.days:
            return Values(zeros, zeros.astype(bool), (zeros, zeros))
        num = block.day_sums(codes.possible_flags)[:, first:].sum(axis=1, dtype=np.int64)
        den = block.day_sums(block.table.possible_flags)[:, first:].sum(axis=1, dtype=np.int64)
        return Values(zeros, zeros.astype(bool), (num, den))

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        first = self._first(block, args[0])
        assert isinstance(threshold, (int, Fraction))
        compare = OPS[op]
        t_num, t_den = Fraction(threshold).as_integer_ratio()
        zero_passes = bool(compare(0, threshold))
        nums = np.cumsum(block.day_sums(codes.possible_flags)[:, first:], axis=1, dtype=np.int64)
        dens = np.cumsum(block.day_sums(block.table.possible_flags)[:, first:], axis=1,
                         dtype=np.int64)
        zero = (dens == 0).sum(axis=1)  # days before the first possible session
        tests = compare(nums * (100 * t_den), dens * t_num) | (dens == 0)
        failed = block.last_false(tests) if tests.shape[1] else np.full(block.rows, -1)
        none_failed = np.where(zero_passes, -1, first + zero - 1)
        return block.onset_after(np.where(failed >= 0, first + failed, none_failed))


class DaysSincePresent(Kind):
    def _last(self, block: Block, codes: CodeSet) -> Ints:
        """Per row, the day counted from: the last present day, else the first marked day
        (on the register, not present since); -1 with no mark at all. The first marked day
        is looked for only in the rows never present, usually few."""
        key = (codes.flags, "counted from")
        found = block.memo.get(key)
        if found is None:
            present = block.day_any(codes.flags)
            found = np.where(present.any(axis=1),
                             block.days - 1 - np.argmax(present[:, ::-1], axis=1), -1)
            never = np.flatnonzero(found < 0)
            if never.size:
                found[never] = _first_marked(block.grid[never])
            block.memo[key] = found
        return found

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        last = self._last(block, codes)
        ordinals = block.ordinals
        days = block.as_of.toordinal() - ordinals[np.maximum(last, 0)]
        return Values(days, last < 0)

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        least = least_value(op, threshold)
        if least is not None and least >= 1:
            targets = np.asarray([_on_or_after(block.calendar, day, least)
                                  for day in range(block.days)], dtype=np.int64)
            return targets[np.maximum(self._last(block, codes), 0)]  # -1 past the calendar
        # the first marked day counts as a present day: for a pupil never present it is the
        # day counted from, and for the others it changes nothing after their first present
        first = _first_marked(block.grid)
        present = block.day_any(codes.flags) | (block.index == first[:, None])
        ordinals = block.ordinals
        last_seen = np.maximum.accumulate(np.where(present, block.index, -1), axis=1)
        since = ordinals[block.index] - ordinals[np.maximum(last_seen, 0)]
        tests = (last_seen >= 0) & OPS[op](since, threshold)
        return block.onset_after(block.last_false(tests))


class SchoolDaysSincePresent(DaysSincePresent):
    """Counted from the same day as `DaysSincePresent`, in school days: the school days in
    (that day, as of], so weekends and holidays do not count."""

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        last = self._last(block, codes)
        return Values(block.days - 1 - last, last < 0)

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        least = least_value(op, threshold)
        if least is not None and least >= 1:  # the k-th school day after the day counted from
            return np.maximum(self._last(block, codes), 0) + least
        # as for days since: the first marked day counts as a present day
        first = _first_marked(block.grid)
        present = block.day_any(codes.flags) | (block.index == first[:, None])
        last_seen = np.maximum.accumulate(np.where(present, block.index, -1), axis=1)
        tests = (last_seen >= 0) & OPS[op](block.index - last_seen, threshold)
        return block.onset_after(block.last_false(tests))


def _first_marked(grid: Grid) -> Ints:
    """Per row of marks, the first school day with a mark in either session, or -1."""
    marked = grid != ord(NO_MARK)
    return np.where(marked.any(axis=1), np.argmax(marked, axis=1) // 2, -1)


class OldestUnresolved(Kind):
    def _first(self, block: Block, codes: CodeSet) -> Ints:
        flagged = block.day_any(codes.flags)
        return np.where(flagged.any(axis=1), np.argmax(flagged, axis=1), -1)

    def value(self, block: Block, codes: CodeSet, *args: object) -> Values:
        first = self._first(block, codes)
        age = np.where(first >= 0, block.days - 1 - first, 0)
        return Values(age.astype(np.int64), np.zeros(block.rows, dtype=bool))

    def _onset(self, block: Block, codes: CodeSet, args: tuple[object, ...], op: str,
               threshold: object) -> Ints:
        first = self._first(block, codes)
        least = least_value(op, threshold)
        if least is not None and least >= 1:
            return np.maximum(first, 0) + least
        column = first[:, None]
        ages = np.where((column >= 0) & (column <= block.index), block.index - column, 0)
        return block.onset_after(block.last_false(OPS[op](ages, threshold)))


def _on_or_after(calendar: SchoolCalendar, day: int, days: int) -> int:
    """The index of the first school day on or after school day `day` + `days` (-1: none)."""
    try:
        return calendar.school_day_index(calendar.school_day_on_or_after(
            calendar.school_day_at(day) + dt.timedelta(days=days)))
    except CalendarError:
        return -1




KINDS: dict[str, Kind] = {
    "consecutive_school_days": Consecutive(),
    "count_sessions": CountSessions(),
    "count_school_days": CountSchoolDays(),
    "share_of_possible_sessions": Share(),
    "days_since_last_present": DaysSincePresent(),
    "school_days_since_last_present": SchoolDaysSincePresent(),
    "oldest_unresolved": OldestUnresolved(),
}
