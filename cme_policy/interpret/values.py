"""Reference semantics, part 1: the values of the expression language and their arithmetic."""

from __future__ import annotations

import calendar as _months
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from cme_policy.expr import ast
from cme_policy.runtime.calendar import SchoolCalendar


@dataclass(frozen=True, slots=True, order=True)
class Dur:
    """A duration value; the type checker guarantees only equal units meet."""

    amount: int
    unit: ast.Unit


@dataclass(frozen=True, slots=True)
class Held:
    """A value and the date since which it has held without a break (None: since the data began)."""

    value: object
    since: dt.date | None = None


CONVERSION_FACTORS = {(ast.Unit.WEEKS, ast.Unit.DAYS): 7, (ast.Unit.YEARS, ast.Unit.MONTHS): 12,
                      (ast.Unit.SCHOOL_DAYS, ast.Unit.SESSIONS): 2}
NEGATED = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
FLIPPED = {">=": "<=", ">": "<", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
COMPARE: dict[str, Callable[[object, object], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}


def literal_value(expr: ast.Expr) -> object:
    """The Python value of a literal; percentages are exact Fractions."""
    if isinstance(expr, ast.PercentLit):
        return Fraction(expr.value)
    if isinstance(expr, ast.DurationLit):
        return Dur(expr.amount, expr.unit)
    if isinstance(expr, (ast.BoolLit, ast.IntLit, ast.DateLit)):
        return expr.value
    raise TypeError(f"not a literal: {type(expr).__name__}")


def compare(op: str, left: object, right: object) -> bool:
    """`left op right`; a comparison with a missing value (None) is false, `!=` included."""
    if left is None or right is None:
        return False
    return COMPARE[op](left, right)


def later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def earlier(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None or b is None:
        return None
    return min(a, b)


def add_months(d: dt.date, n: int) -> dt.date:
    month = d.month - 1 + n
    year, month = d.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(d.day, _months.monthrange(year, month)[1]))


def shift(calendar: SchoolCalendar, d: dt.date, duration: Dur, sign: int = 1) -> dt.date:
    """A date moved by a duration in its own unit: school days follow the school calendar."""
    n = sign * duration.amount
    unit = duration.unit
    if unit is ast.Unit.SCHOOL_DAYS:
        return calendar.add_school_days(d, n)
    if unit is ast.Unit.DAYS:
        return d + dt.timedelta(days=n)
    if unit is ast.Unit.WEEKS:
        return d + dt.timedelta(weeks=n)
    if unit is ast.Unit.MONTHS:
        return add_months(d, n)
    if unit is ast.Unit.YEARS:
        return add_months(d, 12 * n)
    raise ValueError(f"a date cannot move by {unit.value}")


def convert(value: Dur, unit: ast.Unit) -> Dur:
    if value.unit == unit:
        return value
    return Dur(value.amount * CONVERSION_FACTORS[(value.unit, unit)], unit)
