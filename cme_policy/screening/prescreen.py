"""Which rules may fire, for a block of pupils at once: each rule's condition over columns.

Evaluating 25 rules one pupil at a time was most of a large run's cost, though most pupils
have no rule firing. As of one date, a rule's `when` is a function of columns: each fact's
value that day (from the pupils file, then the case log's events up to the day) as a column,
each measure computed by numpy over the block's rows of the pupils x sessions grid of marks
(`measure_columns`). A pupil with no case log, no rule that may fire and nothing to look at
on an earlier day needs no evaluation at all; the others are evaluated with the rules that
cannot fire skipped, and with the measure values and onsets already worked out here.

A rule this module cannot turn into columns (an expression shape it does not cover) gets no
column: `may_fire` says True for it and the engine runs it as before, so a gap here costs
speed, never correctness. The semantics are docs/semantics.md's, with the runtime's measures
and calendar; nothing here comes from the interpreter, which is its oracle:
tests/screening/test_prescreen.py holds this module to the generated checkers pupil by
pupil, and tests/screening/test_prescreen_equals_interpreter.py holds a run with it to the
interpreter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cme_policy.expr import ast
from cme_policy.ir.model import Policy
from cme_policy.ir.values import NEGATED, Dur, compare, compare_shape
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.engine import shift
from cme_policy.runtime.inputs.marks_columnar import GridMarks
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.measures import school_days_around
from cme_policy.runtime.memo import MemoKey, onset_key, value_key
from cme_policy.runtime.readers import PUPIL_COLUMNS
from cme_policy.screening.constants import Constants
from cme_policy.screening.measure_columns import (
    KINDS,
    OPS,
    Bools,
    Grid,
    Ints,
    NotCovered,
    Values,
)
from cme_policy.screening.measure_columns import Block as MarksBlock

Objects = np.ndarray[Any, np.dtype[np.object_]]
_NO_MARK = ord(NO_MARK)


class _Unsupported(Exception):
    """An expression shape this module does not turn into columns (the rule runs per pupil)."""


@dataclass(frozen=True)
class _Const:
    """A value the same for every pupil (a literal, a parameter, today, an enum member)."""

    value: object


_Value = _Const | Bools | Objects


@dataclass(frozen=True)
class Prescreened:
    """A block of pupils, prescreened."""

    may_fire: Bools
    """(pupils x rules): False where the rule certainly does not fire as of the date; True
    where it does, or where this module could not tell."""
    settled: Bools
    """Pupils whose last marked day up to the as-of date is that date, or who have no mark
    yet: the engine then looks for cases opening on no other day (see `_checkpoints`)."""
    known: Callable[[int], dict[MemoKey, object]]
    """Pupil k's measure values and onsets as of the date, for `engine.evaluate(known=…)`."""
    exact: tuple[bool, ...] = ()
    """Per rule: every part of its condition had a column, so `may_fire` is exactly whether
    it fires (else True where a part without a column might make it fire)."""


class Prescreen:
    """A policy's rules as column conditions, on one calendar and as-of date."""

    def __init__(self, policy: Policy, calendar: SchoolCalendar, as_of: dt.date) -> None:
        self.world = Constants(policy, calendar, as_of)
        self.rules = policy.rules
        self.as_of = as_of
        self.days = school_days_around(calendar, as_of)[1]
        self.fact_types: dict[str, str | None] = {name: None for name in PUPIL_COLUMNS}
        self.fact_types.update({f.id: f.type_name for f in policy.facts})
        """Names a pupil's facts may hold: declared facts (typed) and the standard columns."""
        self.as_of_index = calendar.school_day_index(as_of) if calendar.is_school_day(
            as_of) else -1
        self.school_days = [calendar.school_day_at(i) for i in range(calendar.school_day_count)]

    def block(self, facts: Sequence[Mapping[str, object]], grid: Grid) -> Prescreened:
        """Prescreen pupils with these facts (their values as of the date, case log applied)
        and these rows of marks."""
        block = _Block(self, facts, grid)
        may_fire = np.ones((len(facts), len(self.rules)), dtype=bool)
        exact = [True] * len(self.rules)
        for i, rule in enumerate(self.rules):
            block.compares.clear()
            fires, exact[i] = block.upper(rule.when)
            if fires is None:
                continue  # no column: this rule is run pupil by pupil
            may_fire[:, i] = fires
            block.add_onsets(fires)
        return Prescreened(may_fire, self._settled(grid), block.known, tuple(exact))

    def _settled(self, grid: Grid) -> Bools:
        marked = grid[:, :2 * self.days] != _NO_MARK
        any_mark: Bools = marked.any(axis=1)
        if self.days == 0:
            return ~any_mark
        last = 2 * self.days - 1 - np.argmax(marked[:, ::-1], axis=1)
        settled: Bools = ~any_mark | (last // 2 == self.as_of_index)
        return settled


class _Block:
    """One block of pupils: the columns of their facts and measures, made as asked for."""

    def __init__(self, screen: Prescreen, facts: Sequence[Mapping[str, object]],
                 grid: Grid) -> None:
        self.screen, self.facts, self.grid = screen, facts, grid
        self.n = len(facts)
        self.memo: dict[str, Objects] = {}
        self.values: dict[MemoKey, Values] = {}
        self.compares: list[tuple[str, tuple[object, ...], str, object, Bools]] = []
        """The measure comparisons of the rule being turned into a column."""
        self.onsets: list[dict[int, tuple[MemoKey, dt.date | None]]] = []
        """Per comparison of a rule: pupil -> (memo key, onset) where the rule fires."""
        self._marks: MarksBlock | None = None
        self.ordinals: dict[int, tuple[object, Ints]] = {}
        """Date columns as day ordinals (0: not a date), by the column's identity."""

    def holds(self, expr: ast.Expr) -> Bools:
        return self._truth(self.eval(expr))

    def upper(self, expr: ast.Expr) -> tuple[Bools | None, bool]:
        """(a column True wherever `expr` may hold — None: anywhere —, whether it is exact).

        A part without a column (e.g. a count since a date that differs between pupils) is
        taken to hold: `a and b` may hold where `a` does, `a or b` where either may. So a
        pupil for whom a part with a column rules the condition out is still skipped."""
        if isinstance(expr, ast.BoolOp):
            parts = [self.upper(o) for o in expr.operands]
            exact = all(x for _, x in parts)
            columns = [c for c, _ in parts if c is not None]
            if expr.op == "or" and len(columns) < len(parts):
                return None, False
            if not columns:
                return None, False
            joined = np.logical_or if expr.op == "or" else np.logical_and
            out = columns[0]
            for column in columns[1:]:
                out = joined(out, column)
            return out, exact
        try:
            return self.holds(expr), True
        except (_Unsupported, ArithmeticError, ValueError, TypeError, KeyError, CalendarError):
            return None, False

    def _truth(self, value: _Value) -> Bools:
        """`value is True`, per pupil."""
        if isinstance(value, _Const):
            return np.full(self.n, value.value is True, dtype=bool)
        if value.dtype == np.bool_:
            return value  # type: ignore[return-value]
        return np.fromiter((v is True for v in value), dtype=bool, count=self.n)

    # -- expressions -----------------------------------------------------------------------
    def eval(self, expr: ast.Expr) -> _Value:
        if self._is_constant(expr):
            return _Const(self.screen.world.value(expr))
        if isinstance(expr, ast.Name):
            return self._fact(expr.dotted)
        if isinstance(expr, ast.BoolOp):
            parts = [self.holds(o) for o in expr.operands]
            joined = np.logical_or if expr.op == "or" else np.logical_and
            out = parts[0]
            for part in parts[1:]:
                out = joined(out, part)
            return out
        if isinstance(expr, ast.Not):  # plain negation (true where a compared side is missing)
            return ~self.holds(expr.operand)
        if isinstance(expr, ast.Compare):
            return self._compare(expr)
        if isinstance(expr, ast.In):
            return self._in(expr)
        if isinstance(expr, ast.Arith):
            return self._arith(expr)
        raise _Unsupported(type(expr).__name__)

    def _is_constant(self, expr: ast.Expr) -> bool:
        """No fact and no measure anywhere in it: the same for every pupil."""
        if isinstance(expr, ast.Name):
            name = expr.dotted
            return name not in self.screen.world.measures and name not in self.screen.fact_types
        if isinstance(expr, ast.Call):
            return False
        children: tuple[ast.Expr, ...] = ()
        if isinstance(expr, ast.SetLit):
            children = expr.items
        elif isinstance(expr, ast.Not):
            children = (expr.operand,)
        elif isinstance(expr, ast.BoolOp):
            children = expr.operands
        elif isinstance(expr, (ast.Compare, ast.Arith)):
            children = (expr.left, expr.right)
        elif isinstance(expr, ast.In):
            children = (expr.item, expr.collection)
        elif isinstance(expr, ast.Convert):
            children = (expr.operand,)
        return all(self._is_constant(c) for c in children)

    def _fact(self, name: str) -> Objects:
        """Each pupil's value of a fact; a missing one is False (a bool fact), None (another
        fact), or else the name itself (an enum member), as the interpreter reads a name."""
        found = self.memo.get(name)
        if found is None:
            kind = self.screen.fact_types[name]
            default: object = False if kind == "bool" else None if kind else name
            found = np.empty(self.n, dtype=object)
            found[:] = [f.get(name, default) for f in self.facts]
            self.memo[name] = found
        assert isinstance(found, np.ndarray)
        return found

    def _compare(self, e: ast.Compare) -> Bools:
        shape, op, subject, other = compare_shape(e, self._is_measure)
        if shape == "measure":
            return self._measure_compare(op, subject, other)
        if shape == "today":
            return self._today_compare(op, other)
        left, right = self.eval(e.left), self.eval(e.right)
        if e.op in ("==", "!=") and isinstance(right, _Const) and right.value is not None \
                and not isinstance(left, _Const) and left.dtype == object:
            # elementwise in C; a comparison with a missing value is False, `!=` included
            same: Bools = np.asarray(left == right.value, dtype=bool)
            if e.op == "==":
                return same
            known: Bools = np.asarray(left != None, dtype=bool)  # noqa: E711 (elementwise)
            return ~same & known
        return np.fromiter((compare(e.op, a, b) for a, b in zip(self._column(e.left),
                                                                 self._column(e.right))),
                           dtype=bool, count=self.n)

    def _today_compare(self, op: str, other: ast.Expr) -> Bools:
        """`today op d`, False where d is not a date (as the interpreter has it)."""
        value = self.eval(other)
        if isinstance(value, _Const) or value.dtype != object:
            raise _Unsupported("today compared with something other than a fact")
        key = id(value)
        found = self.ordinals.get(key)
        if found is None:  # one pass over the column, shared by every comparison with it
            found = self.ordinals[key] = (value, np.fromiter(
                (d.toordinal() if isinstance(d, dt.date) else 0 for d in value),
                dtype=np.int64, count=self.n))
        ordinals = found[1]
        holds: Bools = OPS[op](self.screen.as_of.toordinal(), ordinals) & (ordinals > 0)
        return holds

    def _in(self, e: ast.In) -> Bools:
        collection = self.eval(e.collection)
        if not isinstance(collection, _Const):
            raise _Unsupported("a collection that differs between pupils")
        items = collection.value
        assert isinstance(items, frozenset)
        if e.negated:  # a missing value is in no set, and not-in none either
            return np.fromiter((v is not None and v not in items for v in self._column(e.item)),
                               dtype=bool, count=self.n)
        return np.fromiter((v is not None and v in items for v in self._column(e.item)),
                           dtype=bool, count=self.n)

    def _arith(self, e: ast.Arith) -> Objects:
        """A date moved by a duration, per pupil (None stays None)."""
        left, right = self._column(e.left), self._column(e.right)
        sign = 1 if e.op == "+" else -1
        calendar = self.screen.world.calendar
        out = np.empty(self.n, dtype=object)
        for i, (a, b) in enumerate(zip(left, right)):
            if a is None or b is None:
                out[i] = None
            elif isinstance(a, dt.date) and isinstance(b, Dur):
                out[i] = shift(calendar, a, b.amount, b.unit.value, sign)
            else:
                raise _Unsupported("arithmetic other than a date moved by a duration")
        return out

    def _column(self, expr: ast.Expr) -> Sequence[object]:
        """Per-pupil plain values of a fact-like expression (a constant repeated)."""
        value = self.eval(expr)
        if isinstance(value, _Const):
            return [value.value] * self.n
        return value  # type: ignore[return-value]

    # -- measures ---------------------------------------------------------------------------
    def _is_measure(self, e: ast.Expr) -> bool:
        return (isinstance(e, ast.Name) and e.dotted in self.screen.world.measures) or \
            isinstance(e, ast.Call)

    def _measure_compare(self, op: str, measure_expr: ast.Expr, other: ast.Expr) -> Bools:
        threshold = self.eval(other)
        if not isinstance(threshold, _Const) or threshold.value is None:
            raise _Unsupported("a threshold that differs between pupils")
        t = threshold.value
        t = t.amount if isinstance(t, Dur) else t
        name, args = self._measure_parts(measure_expr)
        values = self._values(name, args)
        holds: Bools = values.holds(op, t)
        self.compares.append((name, args, op, t, holds))
        return holds

    def _measure_parts(self, e: ast.Expr) -> tuple[str, tuple[object, ...]]:
        if isinstance(e, ast.Call):
            return e.func.dotted, tuple(self._plain_constant(a) for a in e.args)
        assert isinstance(e, ast.Name)
        return e.dotted, ()

    def _plain_constant(self, e: ast.Expr) -> object:
        value = self.eval(e)
        if not isinstance(value, _Const):
            raise _Unsupported("a measure argument that differs between pupils")
        plain = value.value
        return plain.amount if isinstance(plain, Dur) else plain

    def _values(self, name: str, args: tuple[object, ...]) -> Values:
        """A measure's values for the block, remembered under the generated code's memo key."""
        key = value_key(name, *args)
        found = self.values.get(key)
        if found is None:
            measure, codes = self.screen.world.measures[name]
            found = self.values[key] = KINDS[measure.kind].value(self.marks(), codes, *args)
        return found

    def add_onsets(self, fires: Bools) -> None:
        """Where the rule fires, each pupil's onset of whichever of `value op threshold` and
        its negation holds, for each comparison in it: what the generated rule asks for.
        A comparison not covered is skipped (the rule then works its onset out itself)."""
        rows = np.flatnonzero(fires)
        if not rows.size or not self.compares:
            return
        sub = MarksBlock(self.grid[rows], self.screen.world.calendar, self.screen.world.table,
                         self.screen.as_of)
        days = self.screen.school_days
        for name, args, op, threshold, holds in self.compares:
            kind = KINDS[self.screen.world.measures[name][0].kind]
            codes = self.screen.world.measures[name][1]
            hit = holds[rows]
            try:
                onsets = np.where(hit, kind.onset(sub, codes, args, op, threshold),
                                  kind.onset(sub, codes, args, NEGATED[op], threshold))
            except (NotCovered, CalendarError, ValueError, ArithmeticError):
                continue
            keys = (onset_key(name, args, op, threshold),
                    onset_key(name, args, NEGATED[op], threshold))
            self.onsets.append({
                row: (keys[0] if h else keys[1], days[onset] if onset >= 0 else None)
                for row, h, onset in zip(rows.tolist(), hit.tolist(), onsets.tolist())})

    def known(self, k: int) -> dict[MemoKey, object]:
        """Pupil k's measure values and onsets worked out here, keyed as the generated
        measure functions memoise them."""
        out: dict[MemoKey, object] = {key: values.at(k) for key, values in self.values.items()}
        for by_pupil in self.onsets:
            found = by_pupil.get(k)
            if found is not None:
                out[found[0]] = found[1]
        return out

    def marks(self) -> MarksBlock:
        if self._marks is None:
            try:
                self._marks = MarksBlock(self.grid, self.screen.world.calendar,
                                         self.screen.world.table, self.screen.as_of)
            except NotCovered as exc:
                raise _Unsupported(str(exc)) from None
        return self._marks


def marks_grid(marks: Mapping[str, PupilMarks], upns: Sequence[str], calendar: SchoolCalendar,
               table: CodeTable) -> Grid:
    """The pupils' rows of marks, one per UPN in order (unmarked for a pupil with none)."""
    if isinstance(marks, GridMarks):
        rows = np.array([marks.row_of.get(upn, -1) for upn in upns], dtype=np.int64)
        grid: Grid = marks.grid[np.maximum(rows, 0)]
        grid[rows < 0] = _NO_MARK
        return grid
    empty = PupilMarks.empty(calendar, table)
    text = "".join((marks.get(upn) or empty).text for upn in upns).encode("ascii")
    return np.frombuffer(text, dtype=np.uint8).reshape(len(upns), 2 * calendar.school_day_count)
