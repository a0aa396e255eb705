"""Parse stage: the expression AST. Frozen, slotted nodes; spans never take part in equality."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from cme_policy.source.span import Span

NO_SPAN = Span("<expr>", 1, 1, 1, 1)


class Unit(str, Enum):
    """Duration units; each is its own type, and they never mix without `as`."""

    SCHOOL_DAYS = "school days"
    DAYS = "days"
    WEEKS = "weeks"
    SESSIONS = "sessions"
    MONTHS = "months"
    YEARS = "years"

    @property
    def singular(self) -> str:
        return self.value[:-1]

    def spell(self, amount: int) -> str:
        return self.singular if amount == 1 else self.value

    @staticmethod
    def parse(text: str) -> Unit:
        unit = Unit.lookup(text)
        if unit is None:
            raise ValueError(f"unknown unit {text!r}")
        return unit

    @staticmethod
    def lookup(text: str) -> Unit | None:
        """The unit a word names (`school  day`, `weeks`), or None: `parse` without raising."""
        return _UNIT_WORDS.get(" ".join(text.split()))


# Each unit by its plural and singular: a parse looks a word up here rather than walking the
# enum, whose member and property lookups cost more than the rest of a duration literal.
_UNIT_WORDS = {word: unit for unit in Unit for word in (unit.value, unit.singular)}


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PercentLit:
    value: Decimal
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DateLit:
    value: dt.date
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DurationLit:
    amount: int
    unit: Unit
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Name:
    """A reference: a fact, a measure, `params.group.name`, an enum member or `today`."""

    parts: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a declared measure with arguments."""

    func: Name
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SetLit:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class In:
    item: Expr
    collection: Expr
    negated: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # "+" | "-"
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Convert:
    """`4 weeks as days`: the only way to move a duration between units."""

    operand: Expr
    unit: Unit
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr = (BoolLit | IntLit | PercentLit | DateLit | DurationLit | Name | Call | SetLit | Not
        | BoolOp | Compare | In | Arith | Convert)
LITERALS = (BoolLit, IntLit, PercentLit, DateLit, DurationLit)
NODE_KINDS: tuple[type, ...] = (BoolLit, IntLit, PercentLit, DateLit, DurationLit, Name, Call,
                                SetLit, Not, BoolOp, Compare, In, Arith, Convert)


def children(expr: Expr) -> tuple[Expr, ...]:
    """Direct sub-expressions, for walks that do not care about the node kind."""
    if isinstance(expr, Call):
        return (expr.func, *expr.args)
    if isinstance(expr, SetLit):
        return expr.items
    if isinstance(expr, (Not, Convert)):
        return (expr.operand,)
    if isinstance(expr, BoolOp):
        return expr.operands
    if isinstance(expr, (Compare, Arith)):
        return (expr.left, expr.right)
    if isinstance(expr, In):
        return (expr.item, expr.collection)
    return ()


def walk(expr: Expr) -> list[Expr]:
    out = [expr]
    for child in children(expr):
        out.extend(walk(child))
    return out


def referenced_names(expr: Expr | None) -> set[str]:
    """Every dotted name an expression mentions (facts, measures, parameters, members)."""
    if expr is None:
        return set()
    return {e.dotted for e in walk(expr) if isinstance(e, Name)}
