"""Reference semantics, part 3: evaluate an expression for one pupil as of a date.

Every value comes with the date since which it has held (`Held.since`). For a comparison of
a measure with a threshold that date is the measure's onset, found by walking back over the
measure's value on each school day (`measures.onset`); `and` holds since the latest of its
parts, `or` since the earliest part that holds; a fact set by an event holds since the
event; `today >= d` holds since d. A value with no date has held since the data began. This
is how a rule's onset — the day its deadlines count from — is found without re-evaluating
the policy on every past day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING

from cme_policy.expr import ast
from cme_policy.interpret import measures
from cme_policy.interpret.school_days import SchoolDays
from cme_policy.interpret.values import NEGATED, Dur, Held, compare, convert, later, shift
from cme_policy.interpret.world import World
from cme_policy.ir.values import compare_shape

if TYPE_CHECKING:
    from cme_policy.runtime.marks import PupilMarks

__all__ = ["CALENDAR_DATES", "Evaluator", "compare_shape"]

CALENDAR_DATES: dict[str, Callable[[SchoolDays, dt.date], dt.date]] = {
    "academic_year_start": SchoolDays.academic_year_start,
    "term_start": SchoolDays.term_start,
}
"""Built-in dates: the first day of the academic year and of the term, from the calendar."""


class Evaluator:
    """Evaluates expressions for one pupil on one date."""

    def __init__(self, world: World, facts: Mapping[str, tuple[object, dt.date | None]],
                 marks: PupilMarks, as_of: dt.date) -> None:
        self.world, self.facts, self.marks, self.as_of = world, facts, marks, as_of
        self._register: measures.Register | None = None

    @property
    def register(self) -> measures.Register:
        """The pupil's marks on the school days, read once per pupil (`World.register`)."""
        if self._register is None:
            self._register = self.world.register(self.marks)
        return self._register

    def eval(self, expr: ast.Expr) -> Held:
        method: Callable[[ast.Expr], Held] = getattr(self, f"visit_{type(expr).__name__}")
        return method(expr)

    def holds(self, expr: ast.Expr) -> bool:
        return self.eval(expr).value is True

    # -- leaves -----------------------------------------------------------------------------
    def visit_BoolLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.BoolLit)
        return Held(e.value)

    def visit_IntLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.IntLit)
        return Held(e.value)

    def visit_PercentLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.PercentLit)
        return Held(Fraction(e.value))

    def visit_DateLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.DateLit)
        return Held(e.value)

    def visit_DurationLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.DurationLit)
        return Held(Dur(e.amount, e.unit))

    def visit_Name(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.Name)
        name = e.dotted
        if name == "today":
            return Held(self.as_of)
        if name == "policy_reviewed":
            return Held(self.world.policy.manifest.reviewed)
        if name in CALENDAR_DATES:
            start = CALENDAR_DATES[name](self.world.days, self.as_of)
            return Held(start, start)
        if name in self.world.params:
            return Held(self.world.params[name])
        if name in self.world.measures:
            return Held(self._measure(name, ()))
        if name in self.facts:
            value, since = self.facts[name]
            return Held(value, since)
        if self._is_fact(name):
            return Held(False if self._fact_type(name) == "bool" else None)
        return Held(name)  # an enum member, resolved by the type checker

    def visit_Call(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.Call)
        args = tuple(self._plain(a) for a in e.args)
        return Held(self._measure(e.func.dotted, args))

    def visit_SetLit(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.SetLit)
        items = [self.eval(i) for i in e.items]
        return Held(frozenset(i.value for i in items), _latest(i.since for i in items))

    # -- logic ------------------------------------------------------------------------------
    def visit_Not(self, e: ast.Expr) -> Held:
        """Plain negation. `not (a op b)` is `a op' b` (op' the opposite comparison, whose
        onset the measures know) unless a side is missing: then the comparison is false and
        its negation true, since the missing side's date."""
        assert isinstance(e, ast.Not)
        if isinstance(e.operand, ast.Compare):
            inner = e.operand
            left, right = self.eval(inner.left), self.eval(inner.right)
            if left.value is None or right.value is None:
                return Held(True, later(left.since, right.since))
            return self.visit_Compare(ast.Compare(NEGATED[inner.op], inner.left, inner.right))
        held = self.eval(e.operand)
        return Held(held.value is not True, held.since)

    def visit_BoolOp(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.BoolOp)
        parts = [self.eval(o) for o in e.operands]
        decisive = [p for p in parts if (p.value is True) == (e.op == "or")]
        if decisive:  # `or` with a true part / `and` with a false part: earliest decisive part
            return Held(e.op == "or", _earliest(p.since for p in decisive))
        return Held(e.op == "and", _latest(p.since for p in parts))

    def visit_Compare(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.Compare)
        shape, op, subject, other = compare_shape(e, self._is_measure)
        if shape == "measure":
            return self._measure_compare(op, subject, other)
        if shape == "today":
            return self._today_compare(op, other)
        left, right = self.eval(e.left), self.eval(e.right)
        return Held(compare(e.op, left.value, right.value), later(left.since, right.since))

    def visit_In(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.In)
        item, collection = self.eval(e.item), self.eval(e.collection)
        if item.value is None:  # a missing value is in no set, and not-in none either
            return Held(False, later(item.since, collection.since))
        found = item.value in collection.value  # type: ignore[operator]
        return Held(found != e.negated, later(item.since, collection.since))

    def visit_Arith(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.Arith)
        left, right = self.eval(e.left), self.eval(e.right)
        since = later(left.since, right.since)
        a, b = left.value, right.value
        if a is None or b is None:
            return Held(None, since)
        sign = 1 if e.op == "+" else -1
        if isinstance(a, dt.date) and isinstance(b, Dur):
            return Held(shift(self.world.days, a, b, sign), since)
        if isinstance(a, Dur) and isinstance(b, Dur):
            return Held(Dur(a.amount + sign * b.amount, a.unit), since)
        return Held(a + sign * b, since)  # type: ignore[operator]

    def visit_Convert(self, e: ast.Expr) -> Held:
        assert isinstance(e, ast.Convert)
        held = self.eval(e.operand)
        value = convert(held.value, e.unit) if isinstance(held.value, Dur) else held.value
        return Held(value, held.since)

    # -- measures and dates -----------------------------------------------------------------
    def _is_measure(self, e: ast.Expr) -> bool:
        return (isinstance(e, ast.Name) and e.dotted in self.world.measures) or \
            isinstance(e, ast.Call)

    def _is_fact(self, name: str) -> bool:
        return any(f.id == name for f in self.world.policy.facts)

    def _fact_type(self, name: str) -> str:
        return next(f.type_name for f in self.world.policy.facts if f.id == name)

    def _plain(self, e: ast.Expr) -> object:
        value = self.eval(e).value
        return value.amount if isinstance(value, Dur) else value

    def _measure_parts(self, e: ast.Expr) -> tuple[str, tuple[object, ...]]:
        if isinstance(e, ast.Call):
            return e.func.dotted, tuple(self._plain(a) for a in e.args)
        assert isinstance(e, ast.Name)
        return e.dotted, ()

    def _measure(self, name: str, args: tuple[object, ...]) -> object:
        """A measure's value; called with a missing argument it has none."""
        if any(a is None for a in args):
            return None
        measure, codes = self.world.measures[name]
        raw = measures.value(measure.kind, self.register, codes, self.world.possible,
                             self.as_of, args)
        return _typed(measure.kind, raw)

    def _measure_compare(self, op: str, measure_expr: ast.Expr, other: ast.Expr) -> Held:
        name, args = self._measure_parts(measure_expr)
        if any(a is None for a in args):  # no value, so no comparison holds
            return Held(False, None)
        threshold = self.eval(other)
        value = self._measure(name, args)
        holds = compare(op, value, threshold.value)
        measure, codes = self.world.measures[name]
        raw = threshold.value.amount if isinstance(threshold.value, Dur) else threshold.value
        since = measures.onset(measure.kind, self.register, codes, self.world.possible,
                               self.as_of, args, op if holds else NEGATED[op], raw)
        return Held(holds, later(since, threshold.since))

    def _today_compare(self, op: str, other: ast.Expr) -> Held:
        """`today op d`: true from a fixed date on (>=, >) or up to one (<=, <)."""
        held = self.eval(other)
        d = held.value
        if not isinstance(d, dt.date):
            return Held(False, held.since)
        holds = compare(op, self.as_of, d)
        one = dt.timedelta(days=1)
        starts = {">=": d, ">": d + one, "==": d}
        ends = {"<=": d + one, "<": d, "==": d + one}
        since = starts.get(op) if holds else ends.get(op)
        if op == "!=":
            since = d + one if holds and self.as_of > d else (d if not holds else None)
        return Held(holds, later(since, held.since))


def _typed(kind: str, raw: object) -> object:
    """Measure values as language values: durations in the measure's unit."""
    if raw is None or isinstance(raw, Fraction):
        return raw
    assert isinstance(raw, int)
    unit = {"count_sessions": ast.Unit.SESSIONS, "days_since_last_present": ast.Unit.DAYS}.get(
        kind, ast.Unit.SCHOOL_DAYS)
    return Dur(raw, unit)


def _latest(dates: Iterable[dt.date | None]) -> dt.date | None:
    out: dt.date | None = None
    for d in dates:
        out = later(out, d)
    return out


def _earliest(dates: Iterable[dt.date | None]) -> dt.date | None:
    """The earliest date; None (held since the data began) beats every date."""
    items = list(dates)
    if not items or any(d is None for d in items):
        return None
    return min(d for d in items if d is not None)
