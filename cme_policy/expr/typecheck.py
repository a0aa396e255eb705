"""Analyse stage: resolve names and check the types and units of one expression."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.types import (
    BOOL,
    CONVERSIONS,
    DATE,
    INT,
    ORDERED,
    PERCENT,
    DurationT,
    EnumT,
    Prim,
    SetT,
    Type,
)


@dataclass(frozen=True)
class Symbol:
    """A name an expression may use: a fact, a measure, a parameter or a built-in."""

    kind: str  # fact | measure | param | builtin
    name: str
    type: Type
    params: tuple[Type, ...] | None = None  # measures with arguments


@dataclass
class Env:
    symbols: dict[str, Symbol] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    # Declared, but their declaration was already reported as broken: uses stay quiet.
    invalid: set[str] = field(default_factory=set)


MAX_DURATION: dict[ast.Unit, int] = {
    ast.Unit.DAYS: 36_525, ast.Unit.WEEKS: 5_218, ast.Unit.MONTHS: 1_200, ast.Unit.YEARS: 100,
    ast.Unit.SCHOOL_DAYS: 19_500, ast.Unit.SESSIONS: 39_000,
}
"""A century in each unit (190-195 school days a year): longer is a typo, and date arithmetic
with it could run past the last date Python knows (T014)."""


def check_duration(e: ast.DurationLit, sink: DiagnosticSink) -> None:
    """T014: a duration longer than a century."""
    limit = MAX_DURATION[e.unit]
    if e.amount > limit:
        sink.error("T014", f"{e.amount} {e.unit.spell(e.amount)} is more than a century "
                   f"({limit:,} {e.unit.value})", e.span,
                   "a deadline or period in a CME policy is days, weeks or months; check for a "
                   "typo")


class TypeChecker:
    """Checks expressions against an environment, reporting every error with a hint."""

    def __init__(self, env: Env, sink: DiagnosticSink) -> None:
        self.env, self.sink = env, sink

    def expect(self, expr: ast.Expr, wanted: Callable[[Type], bool], what: str) -> Type | None:
        found = self.check(expr)
        if found is not None and not wanted(found):
            self.sink.error("T001", f"expected {what} here, found {found}", expr.span,
                            _expectation_hint(what, found))
        return found

    def check(self, expr: ast.Expr, context: Type | None = None) -> Type | None:
        method: Callable[[ast.Expr, Type | None], Type | None] = getattr(
            self, f"visit_{type(expr).__name__}")
        return method(expr, context)

    def visit_BoolLit(self, e: ast.Expr, _: Type | None) -> Type | None:
        return BOOL

    def visit_IntLit(self, e: ast.Expr, _: Type | None) -> Type | None:
        return INT

    def visit_PercentLit(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.PercentLit)
        if e.value > 100:
            self.sink.error("T010", f"{e.value}% is more than 100%", e.span,
                            "a share of sessions lies between 0% and 100%")
        return PERCENT

    def visit_DateLit(self, e: ast.Expr, _: Type | None) -> Type | None:
        return DATE

    def visit_DurationLit(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.DurationLit)
        check_duration(e, self.sink)
        return DurationT(e.unit)

    def visit_Name(self, e: ast.Expr, context: Type | None) -> Type | None:
        assert isinstance(e, ast.Name)
        if isinstance(context, EnumT) and len(e.parts) == 1 and e.dotted not in self.env.symbols:
            return self._member(e, context)
        symbol = self.env.symbols.get(e.dotted)
        if symbol is None:
            self._unknown(e)
            return None
        self.env.used.add(symbol.name)
        if symbol.params:
            self.sink.error("T008", f"measure '{e.dotted}' takes {len(symbol.params)} "
                            "argument(s)", e.span,
                            f"call it: `{e.dotted}({', '.join('…' for _ in symbol.params)})`")
            return symbol.type
        return symbol.type

    def _member(self, e: ast.Name, enum: EnumT) -> Type | None:
        members = self.env.enums.get(enum.name, ())
        if e.dotted in members:
            return enum
        close = difflib.get_close_matches(e.dotted, members, n=1)
        hint = (f"did you mean '{close[0]}'?" if close
                else f"members of {enum.name}: {', '.join(members)}")
        self.sink.error("T003", f"'{e.dotted}' is not a member of {enum.name}", e.span, hint)
        return None

    def _unknown(self, e: ast.Name) -> None:
        if e.dotted in self.env.invalid:
            return
        candidates = list(self.env.symbols) + [m for ms in self.env.enums.values() for m in ms]
        close = difflib.get_close_matches(e.dotted, candidates, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif any(e.dotted in ms for ms in self.env.enums.values()):
            hint = "an enum member can only be used where its enum is expected (e.g. `x == member`)"
        else:
            hint = "declare it under facts, measures or parameters"
        self.sink.error("N001", f"unknown name '{e.dotted}'", e.span, hint)

    def visit_Call(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.Call)
        symbol = self.env.symbols.get(e.func.dotted)
        if symbol is None:
            self._unknown(e.func)
            return None
        self.env.used.add(symbol.name)
        if symbol.kind != "measure":
            self.sink.error("T009", f"'{e.func.dotted}' is a {symbol.kind}, not a measure; "
                            "it cannot be called", e.span,
                            f"write `{e.func.dotted}` without brackets")
            return symbol.type
        params = symbol.params or ()
        if len(params) != len(e.args):
            self.sink.error("T007", f"measure '{e.func.dotted}' takes {len(params)} argument(s), "
                            f"given {len(e.args)}", e.span, "check the measure's `args:`")
        for arg, param in zip(e.args, params):
            found = self.check(arg, param)
            if found is not None and found != param:
                self.sink.error("T001", f"argument of '{e.func.dotted}' must be {param}, "
                                f"found {found}", arg.span, _expectation_hint(str(param), found))
        return symbol.type

    def visit_SetLit(self, e: ast.Expr, context: Type | None) -> Type | None:
        assert isinstance(e, ast.SetLit)
        elem = context.elem if isinstance(context, SetT) else None
        types = [self.check(item, elem) for item in e.items]
        known = [t for t in types if t is not None]
        if not known:
            return SetT(elem) if elem else None
        first = known[0]
        for item, found in zip(e.items, types):
            if found is not None and found != first:
                self.sink.error("T002", f"a set mixes {first} and {found}", item.span,
                                "every member of a set has the same type")
        return SetT(first)

    def visit_Not(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.Not)
        self._want_bool(e.operand, "not")
        return BOOL

    def visit_BoolOp(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.BoolOp)
        for operand in e.operands:
            self._want_bool(operand, e.op)
        return BOOL

    def _want_bool(self, operand: ast.Expr, word: str) -> None:
        found = self.check(operand)
        if found is not None and found != BOOL:
            self.sink.error("T001", f"'{word}' needs true/false, found {found}", operand.span,
                            "compare the value to something, e.g. `x >= 20 school days`")

    def visit_Compare(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.Compare)
        left, right = self._pair(e.left, e.right)
        if left is None or right is None:
            return BOOL
        if left != right:
            self._mismatch(e, left, right)
        elif e.op not in ("==", "!=") and not (left in ORDERED or isinstance(left, DurationT)):
            self.sink.error("T002", f"'{e.op}' cannot order {left}", e.span,
                            "only numbers, percentages, dates and durations have an order")
        return BOOL

    def _pair(self, a: ast.Expr, b: ast.Expr) -> tuple[Type | None, Type | None]:
        """Check two operands; a bare enum member takes its type from the other side."""
        if _bare(a) and a.dotted not in self.env.symbols:  # type: ignore[union-attr]
            right = self.check(b)
            return self.check(a, right), right
        left = self.check(a)
        return left, self.check(b, left)

    def _mismatch(self, e: ast.Compare, left: Type, right: Type) -> None:
        if {left, right} == {PERCENT, INT}:
            self.sink.error("T004", "cannot compare a percentage with a whole number", e.span,
                            "write the number as a percentage, e.g. `10%`")
        elif isinstance(left, DurationT) and isinstance(right, DurationT):
            self.sink.error("T005", f"cannot compare {left.unit.value} with {right.unit.value}",
                            e.span, self._operand_hint(e, left, right) or _unit_hint(left, right))
        elif isinstance(left, DurationT) != isinstance(right, DurationT) and INT in (left, right):
            unit = left if isinstance(left, DurationT) else right
            assert isinstance(unit, DurationT)
            self.sink.error("T005", f"cannot compare {unit} with a bare number", e.span,
                            f"give the number its unit, e.g. `20 {unit.unit.value}`")
        else:
            self.sink.error("T002", f"cannot compare {left} with {right}", e.span,
                            "both sides of a comparison must have the same type")

    def _operand_hint(self, e: ast.Compare, left: DurationT, right: DurationT) -> str | None:
        """Point at the side that is easiest to change: a literal, or a parameter's value."""
        if {(left.unit, right.unit), (right.unit, left.unit)} & set(CONVERSIONS):
            return None  # `as` is the better fix
        for side, other in ((e.right, left), (e.left, right)):
            if isinstance(side, ast.DurationLit):
                unit = other.unit.spell(side.amount)
                return f"write the amount in {other.unit.value}: `{side.amount} {unit}`"
        for side, own, other in ((e.right, right, left), (e.left, left, right)):
            symbol = self.env.symbols.get(side.dotted) if isinstance(side, ast.Name) else None
            if symbol is not None and symbol.kind == "param":
                return (f"parameter '{symbol.name}' is in {own.unit.value}; give it a value in "
                        f"{other.unit.value}, or compare it with something in {own.unit.value}")
        return None

    def visit_In(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.In)
        item = self.check(e.item)
        collection = self.check(e.collection, SetT(item) if item is not None else None)
        if item is None or collection is None:
            return BOOL
        if not isinstance(collection, SetT):
            self.sink.error("T002", f"'in' needs a set on its right, found {collection}",
                            e.collection.span, "write the members in braces, e.g. `{a, b}`")
        elif collection.elem is not None and collection.elem != item:
            self.sink.error("T002", f"cannot look for {item} in {collection}", e.span,
                            "the value and the set's members must have the same type")
        return BOOL

    def visit_Arith(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.Arith)
        left, right = self.check(e.left), self.check(e.right)
        if left is None or right is None:
            return None
        if left == DATE and isinstance(right, DurationT) and right.unit != ast.Unit.SESSIONS:
            return DATE
        if left == right and (left in (INT, PERCENT) or isinstance(left, DurationT)):
            return left
        if left == right == DATE and e.op == "-":
            self.sink.error("T006", "subtracting dates gives no unit", e.span,
                            "use a measure such as `days_since_last_present`")
            return None
        if isinstance(left, DurationT) and isinstance(right, DurationT):
            self.sink.error("T005", f"cannot add {left.unit.value} and {right.unit.value}",
                            e.span, _unit_hint(left, right))
            return None
        self.sink.error("T002", f"cannot apply '{e.op}' to {left} and {right}", e.span,
                        "add durations to dates, or values of the same type together")
        return None

    def visit_Convert(self, e: ast.Expr, _: Type | None) -> Type | None:
        assert isinstance(e, ast.Convert)
        found = self.check(e.operand)
        if found is None:
            return DurationT(e.unit)
        if not isinstance(found, DurationT):
            self.sink.error("T006", f"only durations can be converted, found {found}", e.span,
                            "`as` converts between units, e.g. `4 weeks as days`")
        elif found.unit != e.unit and (found.unit, e.unit) not in CONVERSIONS:
            self.sink.error("T006", f"there is no fixed conversion from {found.unit.value} to "
                            f"{e.unit.value}", e.span, _conversion_hint(found.unit.value))
        return DurationT(e.unit)




def _bare(e: ast.Expr) -> bool:
    return isinstance(e, ast.Name) and len(e.parts) == 1


def _unit_hint(left: DurationT, right: DurationT) -> str:
    if (left.unit, right.unit) in CONVERSIONS:
        return f"convert explicitly: `… as {right.unit.value}`"
    if (right.unit, left.unit) in CONVERSIONS:
        return f"convert explicitly: `… as {left.unit.value}`"
    return (f"{left.unit.value} and {right.unit.value} are different measures of time; "
            "use a parameter or measure in the same unit")


def _conversion_hint(unit: str) -> str:
    allowed = [f"{a.value} → {b.value}" for (a, b) in CONVERSIONS]
    return f"school days depend on the calendar; fixed conversions are: {', '.join(allowed)}" \
        if unit == "school days" else f"fixed conversions are: {', '.join(allowed)}"


def _expectation_hint(what: str, found: Type) -> str:
    if isinstance(found, Prim) and found.name == "int" and "duration" in what:
        return "give the number a unit, e.g. `5 school days`"
    return f"this needs {what}"
