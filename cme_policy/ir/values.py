"""Values written in a policy, read off its IR: literals as Python values, durations in their
own unit, and how a comparison is read. Pure helpers with no semantics of marks or calendars,
shared by the interpreter, the Python backend and the run's prescreen so that none of them
imports another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from cme_policy.expr import ast

__all__ = ["CONVERSION_FACTORS", "FLIPPED", "NEGATED", "Dur", "compare", "compare_shape",
           "convert", "fact_value", "is_today", "literal_value"]


@dataclass(frozen=True, slots=True, order=True)
class Dur:
    """A duration value; the type checker guarantees only equal units meet."""

    amount: int
    unit: ast.Unit


CONVERSION_FACTORS = {(ast.Unit.WEEKS, ast.Unit.DAYS): 7, (ast.Unit.YEARS, ast.Unit.MONTHS): 12,
                      (ast.Unit.SCHOOL_DAYS, ast.Unit.SESSIONS): 2}
"""`as` converts only where the factor is fixed."""
NEGATED = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
"""The comparison that holds exactly when one does not (both sides present)."""
FLIPPED = {">=": "<=", ">": "<", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
"""The same comparison with its sides swapped."""
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


def fact_value(expr: ast.Expr) -> object:
    """A fact's value as written in YAML: a literal, or an enum member by name."""
    return expr.dotted if isinstance(expr, ast.Name) else literal_value(expr)


def compare(op: str, left: object, right: object) -> bool:
    """`left op right`; a comparison with a missing value (None) is false, `!=` included."""
    if left is None or right is None:
        return False
    return COMPARE[op](left, right)


def convert(value: Dur, unit: ast.Unit) -> Dur:
    """A duration in another unit (`as`), by its fixed factor."""
    if value.unit == unit:
        return value
    return Dur(value.amount * CONVERSION_FACTORS[(value.unit, unit)], unit)


def is_today(e: ast.Expr) -> bool:
    return isinstance(e, ast.Name) and e.dotted == "today"


def compare_shape(e: ast.Compare, is_measure: Callable[[ast.Expr], bool]
                  ) -> tuple[str, str, ast.Expr, ast.Expr]:
    """(shape, op, subject, other) of a comparison, the measure or `today` turned to the left:
    "measure" (`subject op other`, subject a measure), "today" (`today op other`) or
    "plain" (`e` as written). Every evaluator of conditions reads comparisons this way."""
    if is_measure(e.right) and not is_measure(e.left):
        return "measure", FLIPPED[e.op], e.right, e.left
    if is_measure(e.left):
        return "measure", e.op, e.left, e.right
    if is_today(e.right) and not is_today(e.left):
        return "today", FLIPPED[e.op], e.right, e.left
    if is_today(e.left):
        return "today", e.op, e.left, e.right
    return "plain", e.op, e.left, e.right
