"""What the run's prescreen needs of a policy that is the same for every pupil: the code
table, each measure's code set, and the value of an expression with no fact and no measure
in it (a literal, a parameter, `today`, the built-in dates, an enum member, and what is built
from them), with the runtime's calendar arithmetic (`cme_policy.runtime.engine`), as the
generated checkers have it.

It is written apart from the interpreter on purpose: the prescreen is held to the
interpreter by the differential tests, so it must not borrow the interpreter's semantics.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from cme_policy.expr import ast
from cme_policy.ir import model as m
from cme_policy.ir.tables import code_table, measure_code_sets
from cme_policy.ir.values import Dur, compare, compare_shape, convert, literal_value
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.engine import academic_year_start, shift, term_start

__all__ = ["Constants"]


class Constants:
    """A policy on a calendar, as of one date: the parts every pupil shares."""

    def __init__(self, policy: m.Policy, calendar: SchoolCalendar, as_of: dt.date) -> None:
        self.policy, self.calendar, self.as_of = policy, calendar, as_of
        self.table = code_table(policy)
        self.measures = measure_code_sets(policy, self.table)
        self.params = {p.qualified: literal_value(p.value) for p in policy.parameters}
        self._facts = {f.id: f.type_name for f in policy.facts}

    def value(self, e: ast.Expr) -> object:
        """The value of an expression that names no fact and no measure."""
        if isinstance(e, (ast.BoolLit, ast.IntLit, ast.DateLit, ast.PercentLit,
                          ast.DurationLit)):
            return literal_value(e)
        if isinstance(e, ast.Name):
            return self._name(e.dotted)
        if isinstance(e, ast.SetLit):
            return frozenset(self.value(i) for i in e.items)
        if isinstance(e, ast.Not):  # plain negation; a comparison with a missing side is false
            return self.value(e.operand) is not True
        if isinstance(e, ast.BoolOp):
            parts = [self.value(o) is True for o in e.operands]
            return any(parts) if e.op == "or" else all(parts)
        if isinstance(e, ast.Compare):
            shape, op, _, other = compare_shape(e, lambda _: False)  # no measure here
            if shape == "today":
                d = self.value(other)
                return isinstance(d, dt.date) and compare(op, self.as_of, d)
            return compare(e.op, self.value(e.left), self.value(e.right))
        if isinstance(e, ast.In):
            item, collection = self.value(e.item), self.value(e.collection)
            if item is None:  # a missing value is in no set, and not-in none either
                return False
            return (item in collection) != e.negated  # type: ignore[operator]
        if isinstance(e, ast.Arith):
            return self._arith(e)
        if isinstance(e, ast.Convert):
            held = self.value(e.operand)
            return convert(held, e.unit) if isinstance(held, Dur) else held
        raise TypeError(f"not a constant expression: {type(e).__name__}")

    def _name(self, name: str) -> object:
        if name == "today":
            return self.as_of
        if name == "policy_reviewed":
            return self.policy.manifest.reviewed
        if name == "academic_year_start":
            return academic_year_start(self.calendar, self.as_of)
        if name == "term_start":
            return term_start(self.calendar, self.as_of)
        if name in self.params:
            return self.params[name]
        if name in self.measures:
            raise TypeError(f"measure {name!r} differs between pupils")
        if name in self._facts:  # a fact no pupil has: false, or missing
            return False if self._facts[name] == "bool" else None
        return name  # an enum member, resolved by the type checker

    def _arith(self, e: ast.Arith) -> object:
        a, b = self.value(e.left), self.value(e.right)
        if a is None or b is None:
            return None
        sign = 1 if e.op == "+" else -1
        if isinstance(a, dt.date) and isinstance(b, Dur):
            return shift(self.calendar, a, b.amount, b.unit.value, sign)
        if isinstance(a, Dur) and isinstance(b, Dur):
            return Dur(a.amount + sign * b.amount, a.unit)
        if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
            return a + sign * b
        raise TypeError(f"cannot compute {a!r} {e.op} {b!r}")
