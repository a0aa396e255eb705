"""Reference semantics, part 1: the values of the expression language and their arithmetic."""

from __future__ import annotations

import calendar as _months
import datetime as dt
from dataclasses import dataclass

from cme_policy.expr import ast
from cme_policy.interpret.school_days import SchoolDays
from cme_policy.ir.values import (
    CONVERSION_FACTORS,
    FLIPPED,
    NEGATED,
    Dur,
    compare,
    convert,
    literal_value,
)

__all__ = ["CONVERSION_FACTORS", "FLIPPED", "NEGATED", "Dur", "Held", "add_months",
           "compare", "convert", "earlier", "later", "literal_value", "shift"]


@dataclass(frozen=True, slots=True)
class Held:
    """A value and the date since which it has held without a break (None: since the data began)."""

    value: object
    since: dt.date | None = None






def later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def earlier(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None or b is None:
        return None
    return min(a, b)


def add_months(d: dt.date, n: int) -> dt.date:
    """The same day n calendar months later (the month's last day when it is shorter)."""
    month = d.month - 1 + n
    year, month = d.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(d.day, _months.monthrange(year, month)[1]))


def shift(days: SchoolDays, d: dt.date, duration: Dur, sign: int = 1) -> dt.date:
    """A date moved by a duration in its own unit: school days are walked on the calendar."""
    n = sign * duration.amount
    unit = duration.unit
    if unit is ast.Unit.SCHOOL_DAYS:
        return days.add(d, n)
    if unit is ast.Unit.DAYS:
        return d + dt.timedelta(days=n)
    if unit is ast.Unit.WEEKS:
        return d + dt.timedelta(weeks=n)
    if unit is ast.Unit.MONTHS:
        return add_months(d, n)
    if unit is ast.Unit.YEARS:
        return add_months(d, 12 * n)
    raise ValueError(f"a date cannot move by {unit.value}")
