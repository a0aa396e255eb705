"""Python backend, part 2: an expression → straight-line, typed Python source.

Two modes, both with exactly the interpreter's meaning (docs/semantics.md):
- `value` / `cond`: one Python expression computing only the value — what a rule needs to
  decide whether it fires, and what a guard needs;
- `held`: statements computing the value *and* the date since which it has held, run only
  when a rule fires, to find its onset.
Durations are plain ints (the unit is static); percentages are exact Fractions. Every
constant reaches the code through `repr()`; names from the policy are never pasted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

from cme_policy.expr import ast
from cme_policy.expr.types import CONVERSIONS, DurationT, EnumT, Prim, SetT, Type, type_from_name
from cme_policy.ir import model as m
from cme_policy.ir.measures import KINDS

NEGATED = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
FLIPPED = {">=": "<=", ">": "<", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
NULLABLE_KINDS = frozenset({"days_since_last_present", "school_days_since_last_present"})
CALENDAR_DATES = ("academic_year_start", "term_start")
"""Built-in dates from the calendar as of the date (`engine.academic_year_start`, …)."""


@dataclass(frozen=True, slots=True)
class Code:
    """Generated Python for a value: its text, its Python type and whether it may be None."""

    text: str
    ty: str
    nullable: bool = False
    unit: ast.Unit | None = None


def py_type(t: Type | None) -> tuple[str, ast.Unit | None]:
    if isinstance(t, DurationT):
        return "int", t.unit
    if isinstance(t, EnumT):
        return "str", None
    if isinstance(t, SetT):
        return f"frozenset[{py_type(t.elem)[0]}]", None
    if isinstance(t, Prim):
        names = {"bool": "bool", "int": "int", "percent": "Fraction", "date": "dt.date"}
        return names[t.name], None
    return "object", None


def date_code(d: dt.date) -> str:
    return f"dt.date({d.year!r}, {d.month!r}, {d.day!r})"


def fraction_code(f: Fraction) -> str:
    return f"Fraction({f.numerator!r}, {f.denominator!r})"


@dataclass
class Symbols:
    """What names in expressions refer to, resolved once per policy."""

    params: dict[str, ast.Expr]
    measures: dict[str, m.Measure]
    measure_funcs: dict[str, str]  # measure id → generated function name
    facts: dict[str, m.Fact]
    enums: set[str]
    reviewed: dt.date = dt.date.min
    """The manifest's `reviewed`: the built-in `policy_reviewed`."""

    @staticmethod
    def of(policy: m.Policy, measure_funcs: dict[str, str]) -> Symbols:
        return Symbols({p.qualified: p.value for p in policy.parameters},
                       {x.id: x for x in policy.measures}, measure_funcs,
                       {f.id: f for f in policy.facts}, {e.id for e in policy.enums},
                       policy.manifest.reviewed)


@dataclass
class ExprCompiler:
    """Compiles expressions of one generated function; `uses` names the imports it needs."""

    sym: Symbols
    uses: set[str] = field(default_factory=set)
    counter: int = 0

    def fresh(self, stem: str = "_t") -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    # -- value mode -----------------------------------------------------------------------------
    def cond(self, e: ast.Expr, negate: bool = False) -> str:
        """A real bool: `value is True` (or `is not True`), as a `when` and a guard are read."""
        test = "is not True" if negate else "is True"
        if (isinstance(e, ast.Name) and e.dotted in self.sym.facts
                and e.dotted not in self.sym.params and e.dotted not in self.sym.measures
                and e.dotted != "today"):
            return f"(ctx.values.get({e.dotted!r}, {self._fact_default(e.dotted)}) {test})"
        return _truth(self.value(e), negate)

    def value(self, e: ast.Expr) -> Code:
        method = getattr(self, f"v_{type(e).__name__}")
        result: Code = method(e)
        return result

    def v_BoolLit(self, e: ast.BoolLit) -> Code:
        return Code(repr(e.value), "bool")

    def v_IntLit(self, e: ast.IntLit) -> Code:
        return Code(repr(e.value), "int")

    def v_PercentLit(self, e: ast.PercentLit) -> Code:
        self.uses.add("Fraction")
        return Code(fraction_code(Fraction(e.value)), "Fraction")

    def v_DateLit(self, e: ast.DateLit) -> Code:
        self.uses.add("dt")
        return Code(date_code(e.value), "dt.date")

    def v_DurationLit(self, e: ast.DurationLit) -> Code:
        return Code(repr(e.amount), "int", unit=e.unit)

    def v_Name(self, e: ast.Name) -> Code:
        name = e.dotted
        if name == "today":
            self.uses.add("dt")
            return Code("ctx.as_of", "dt.date")
        if name in CALENDAR_DATES:
            self.uses.update(("dt", name))
            return Code(f"{name}(ctx.calendar, ctx.as_of)", "dt.date")
        if name == "policy_reviewed":
            self.uses.add("dt")
            return Code(date_code(self.sym.reviewed), "dt.date")
        if name in self.sym.params:
            return self.value(self.sym.params[name])
        if name in self.sym.measures:
            return self._measure_call(name, ())
        if name in self.sym.facts:
            fact = self.sym.facts[name]
            ty, unit = py_type(self._fact_type(fact))
            self.uses.add("cast")
            default = f", {self._fact_default(name)}" if fact.type_name == "bool" else ""
            return Code(f"cast({f'{ty} | None'!r}, ctx.values.get({name!r}{default}))", ty,
                        True, unit)
        return Code(repr(name), "str")  # an enum member, resolved by the type checker

    def v_Call(self, e: ast.Call) -> Code:
        args = tuple(self.value(a) for a in e.args)
        missing = [a for a in args if a.nullable]
        if not missing:
            return self._measure_call(e.func.dotted, tuple(a.text for a in args))
        names = {id(a): self.fresh() for a in missing}  # a missing argument: no value
        tests = " or ".join(f"({names[id(a)]} := {a.text}) is None" for a in missing)
        call = self._measure_call(e.func.dotted, tuple(names.get(id(a), a.text) for a in args))
        return Code(f"(None if {tests} else {call.text})", call.ty, True, call.unit)

    def v_SetLit(self, e: ast.SetLit) -> Code:
        items = [self.value(i) for i in e.items]
        elem = items[0].ty if items else "object"
        inner = "".join(f"{i.text}, " for i in items)
        return Code(f"frozenset(({inner}))", f"frozenset[{elem}]")

    def v_Not(self, e: ast.Not) -> Code:
        """Plain negation: `not (a op b)` is true where a side is missing (semantics.md)."""
        if isinstance(e.operand, ast.Compare):
            c = e.operand
            left, right = self.value(c.left), self.value(c.right)
            if not (left.nullable or right.nullable):
                return self.value(ast.Compare(NEGATED[c.op], c.left, c.right))
            if c.op == "==" and not (left.nullable and right.nullable):
                return Code(f"({left.text} != {right.text})", "bool")  # None != x: True
        return Code(self.cond(e.operand, negate=True), "bool")

    def v_BoolOp(self, e: ast.BoolOp) -> Code:
        """Constant parts (a bool parameter) folded: `False and x` is `False`, `True and x`
        is `x`, and the same the other way for `or`."""
        decisive, neutral = ("True", "False") if e.op == "or" else ("False", "True")
        parts = [c for c in (self.cond(o) for o in e.operands) if c != neutral]
        if decisive in parts:
            return Code(decisive, "bool")
        if not parts:
            return Code(neutral, "bool")
        if len(parts) == 1:
            return Code(parts[0], "bool")
        return Code("(" + f" {e.op} ".join(parts) + ")", "bool")

    def v_Compare(self, e: ast.Compare) -> Code:
        op, left, right = e.op, e.left, e.right
        if self.is_measure(right) and not self.is_measure(left):
            op, left, right = FLIPPED[op], right, left
        elif not self.is_measure(left) and _is_today(right) and not _is_today(left):
            op, left, right = FLIPPED[op], right, left
        if _is_today(left) and not self.is_measure(left):
            d = self.value(right)
            if not d.nullable:
                return Code(f"(ctx.as_of {op} {d.text})", "bool")
            t = self.fresh()
            return Code(f"(({t} := {d.text}) is not None and ctx.as_of {op} {t})", "bool")
        return Code(self.compare(op, self.value(left), self.value(right)), "bool")

    def v_In(self, e: ast.In) -> Code:
        """`x in S` and `x not in S` are both false where x is missing."""
        item, coll = self.value(e.item), self.value(e.collection)
        op = "not in" if e.negated else "in"
        if not item.nullable:
            return Code(f"({item.text} {op} {coll.text})", "bool")
        t = self.fresh()
        return Code(f"(({t} := {item.text}) is not None and {t} {op} {coll.text})", "bool")

    def v_Arith(self, e: ast.Arith) -> Code:
        return self.arith(e.op, self.value(e.left), self.value(e.right))

    def v_Convert(self, e: ast.Convert) -> Code:
        return self.convert(self.value(e.operand), e.unit)

    # -- shared pieces ----------------------------------------------------------------------------
    def compare(self, op: str, a: Code, b: Code) -> str:
        """`a op b`, false where either side is missing, `!=` included (semantics.md)."""
        if not (a.nullable or b.nullable) or (op == "==" and not (a.nullable and b.nullable)):
            return f"({a.text} {op} {b.text})"
        parts, left, right = [], a.text, b.text
        if a.nullable:
            left = self.fresh()
            parts.append(f"({left} := {a.text}) is not None")
        if b.nullable:
            right = self.fresh()
            parts.append(f"({right} := {b.text}) is not None")
        return "(" + " and ".join(parts + [f"{left} {op} {right}"]) + ")"

    def arith(self, op: str, a: Code, b: Code) -> Code:
        sign = 1 if op == "+" else -1
        nullable = a.nullable or b.nullable
        if a.ty == "dt.date" and b.unit is not None:
            fn = "shift_opt" if nullable else "shift"
            self.uses.add(fn)
            return Code(f"{fn}(ctx.calendar, {a.text}, {b.text}, {b.unit.value!r}, {sign!r})",
                        "dt.date", nullable)
        if not nullable:
            return Code(f"({a.text} {op} {b.text})", a.ty, False, a.unit)
        x, y = self.fresh(), self.fresh()
        return Code(f"(None if ({x} := {a.text}) is None or ({y} := {b.text}) is None "
                    f"else {x} {op} {y})", a.ty, True, a.unit)

    def convert(self, c: Code, unit: ast.Unit) -> Code:
        if c.unit is None or c.unit == unit:
            return Code(c.text, c.ty, c.nullable, unit)
        k = CONVERSIONS[(c.unit, unit)]
        if not c.nullable:
            return Code(f"({c.text} * {k!r})", c.ty, False, unit)
        t = self.fresh()
        return Code(f"(None if ({t} := {c.text}) is None else {t} * {k!r})", c.ty, True, unit)

    def is_measure(self, e: ast.Expr) -> bool:
        return ((isinstance(e, ast.Name) and e.dotted in self.sym.measures)
                or isinstance(e, ast.Call))

    def _plain(self, e: ast.Expr) -> str:
        return self.value(e).text

    def _measure_call(self, name: str, args: tuple[str, ...]) -> Code:
        measure = self.sym.measures[name]
        ty, unit = py_type(KINDS[measure.kind].result)
        self.uses.add("_m")
        call = f"_m.{self.sym.measure_funcs[name]}({', '.join(('ctx',) + args)})"
        return Code(call, ty, measure.kind in NULLABLE_KINDS, unit)

    def _measure_parts(self, e: ast.Expr) -> tuple[str, tuple[str, ...]]:
        if isinstance(e, ast.Call):
            return e.func.dotted, tuple(self._plain(a) for a in e.args)
        assert isinstance(e, ast.Name)
        return e.dotted, ()

    def _fact_type(self, fact: m.Fact) -> Type | None:
        return type_from_name(fact.type_name, self.sym.enums)

    def _fact_default(self, name: str) -> str:
        return "False" if self.sym.facts[name].type_name == "bool" else "None"

    # -- held mode: value and since, as statements ------------------------------------------------
    def held(self, e: ast.Expr, out: list[str]) -> tuple[Code, str]:
        """Append statements computing `e`; return its value (a name or literal) and its since."""
        if isinstance(e, (ast.BoolLit, ast.IntLit, ast.PercentLit, ast.DateLit, ast.DurationLit)):
            return self.value(e), "None"
        if isinstance(e, ast.Name):
            return self._held_name(e, out)
        if isinstance(e, ast.Call):
            return self._bind(self.value(e), out), "None"
        if isinstance(e, ast.SetLit):
            items = [self.held(i, out) for i in e.items]
            elem = items[0][0].ty if items else "object"
            inner = "".join(f"{c.text}, " for c, _ in items)
            return (self._bind(Code(f"frozenset(({inner}))", f"frozenset[{elem}]"), out),
                    self._latest([s for _, s in items], out))
        if isinstance(e, ast.Not):
            if isinstance(e.operand, ast.Compare):
                return self._held_not_compare(e.operand, out)
            operand, since = self.held(e.operand, out)
            return self._bind(Code(_truth(operand, negate=True), "bool"), out), since
        if isinstance(e, ast.BoolOp):
            parts = [self.held(o, out) for o in e.operands]
            v, s = self.fresh("_v"), self.fresh("_s")
            self.uses.add("bool_op")
            pairs = "".join(f"({_truth(c)}, {since}), " for c, since in parts)
            out.append(f"{v}, {s} = bool_op({e.op == 'or'!r}, ({pairs}))")
            return Code(v, "bool"), s
        if isinstance(e, ast.Compare):
            return self._held_compare(e, out)
        if isinstance(e, ast.In):
            (item, s1), (coll, s2) = self.held(e.item, out), self.held(e.collection, out)
            found = f"({item.text} is not None and {item.text} in {coll.text})"
            code = Code(f"(not {found})" if e.negated else found, "bool")
            return self._bind(code, out), self._latest([s1, s2], out)
        if isinstance(e, ast.Arith):
            (a, s1), (b, s2) = self.held(e.left, out), self.held(e.right, out)
            return self._bind(self.arith(e.op, a, b), out), self._latest([s1, s2], out)
        assert isinstance(e, ast.Convert)
        operand, since = self.held(e.operand, out)
        return self._bind(self.convert(operand, e.unit), out), since

    def _held_name(self, e: ast.Name, out: list[str]) -> tuple[Code, str]:
        name = e.dotted
        if name in self.sym.facts and name != "today" and name not in self.sym.params \
                and name not in self.sym.measures:
            return self._bind(self.value(e), out), f"ctx.since.get({name!r})"
        if name in self.sym.measures:
            return self._bind(self.value(e), out), "None"
        if name in CALENDAR_DATES:
            value = self._bind(self.value(e), out)
            return value, value.text
        return self.value(e), "None"

    def _held_not_compare(self, c: ast.Compare, out: list[str]) -> tuple[Code, str]:
        """`not (a op b)`: the opposite comparison, or true since the missing side's date
        where a side is missing."""
        if not (self.value(c.left).nullable or self.value(c.right).nullable):
            return self.held(ast.Compare(NEGATED[c.op], c.left, c.right), out)
        (a, s1), (b, s2) = self.held(c.left, out), self.held(c.right, out)
        tests = " or ".join(f"{x.text} is None" for x in (a, b) if x.nullable)
        missing = self._bind(Code(f"({tests})", "bool"), out)
        sides = self._latest([s1, s2], out)
        v, s = self.fresh("_v"), self.fresh("_s")
        self.uses.add("dt")
        out.append(f"{v}: bool")
        out.append(f"{s}: dt.date | None")
        out.append(f"if {missing.text}:")
        out.append(f"    {v}, {s} = True, {sides}")
        out.append("else:")
        inner: list[str] = []
        holds, since = self.held(ast.Compare(NEGATED[c.op], c.left, c.right), inner)
        out += [f"    {line}" for line in inner]
        out.append(f"    {v}, {s} = {holds.text}, {since}")
        return Code(v, "bool"), s

    def _measure_onset(self, name: str, args: tuple[str, ...], op: str, right: ast.Expr,
                       out: list[str]) -> tuple[Code, str]:
        """Append the statements for `measure op right`; return whether it holds and the
        expression of its onset (of the comparison that holds, as the interpreter has it)."""
        value = self._bind(self._measure_call(name, args), out)
        threshold, t_since = self.held(right, out)
        holds = self._bind(Code(self.compare(op, value, threshold), "bool"), out)
        call_args = ", ".join(("ctx",) + args + (
            f"{op!r} if {holds.text} else {NEGATED[op]!r}", threshold.text))
        since = f"_m.{self.sym.measure_funcs[name]}_onset({call_args})"
        if t_since != "None":
            self.uses.add("later")
            since = f"later({since}, {t_since})"
        return holds, since

    def _held_measure_missing(self, name: str, args: tuple[str, ...], missing: str, op: str,
                              right: ast.Expr, out: list[str]) -> tuple[Code, str]:
        """A measure called with a missing argument has no value: the comparison is false,
        since the data began; otherwise as any measure comparison."""
        v, s = self.fresh("_v"), self.fresh("_s")
        self.uses.add("dt")
        out += [f"{v}: bool", f"{s}: dt.date | None", f"if {missing}:",
                f"    {v}, {s} = False, None", "else:"]
        inner: list[str] = []
        holds, since = self._measure_onset(name, args, op, right, inner)
        out += [f"    {line}" for line in inner]
        out.append(f"    {v}, {s} = {holds.text}, {since}")
        return Code(v, "bool"), s

    def _held_compare(self, e: ast.Compare, out: list[str]) -> tuple[Code, str]:
        op, left, right = e.op, e.left, e.right
        if self.is_measure(right) and not self.is_measure(left):
            op, left, right = FLIPPED[op], right, left
        if self.is_measure(left):
            name, args = self._measure_parts(left)
            if isinstance(left, ast.Call):  # bound once; a missing one gives no value
                codes = [self._bind(self.value(a), out) for a in left.args]
                args = tuple(c.text for c in codes)
                missing = " or ".join(f"{c.text} is None" for c in codes if c.nullable)
                if missing:
                    return self._held_measure_missing(name, args, missing, op, right, out)
            holds, onset = self._measure_onset(name, args, op, right, out)
            since = self.fresh("_s")
            out.append(f"{since} = {onset}")
            return holds, since
        if _is_today(right) and not _is_today(left):
            op, left, right = FLIPPED[op], right, left
        if _is_today(left):
            d, d_since = self.held(right, out)
            v, s = self.fresh("_v"), self.fresh("_s")
            self.uses.add("today_compare")
            out.append(f"{v}, {s} = today_compare({op!r}, ctx.as_of, {d.text}, {d_since})")
            return Code(v, "bool"), s
        (a, s1), (b, s2) = self.held(left, out), self.held(right, out)
        return self._bind(Code(self.compare(op, a, b), "bool"), out), self._latest([s1, s2], out)

    def _bind(self, code: Code, out: list[str]) -> Code:
        name = self.fresh("_v")
        out.append(f"{name} = {code.text}")
        return Code(name, code.ty, code.nullable, code.unit)

    def _latest(self, sinces: list[str], out: list[str]) -> str:
        real = [s for s in sinces if s != "None"]
        if not real:
            return "None"
        if len(real) == 1:
            return real[0]
        self.uses.add("latest")
        name = self.fresh("_s")
        out.append(f"{name} = latest({', '.join(real)})")
        return name


def _truth(code: Code, negate: bool = False) -> str:
    """`value is True` (or its negation); a plain bool needs no test, a literal is folded."""
    if code.text in ("True", "False"):
        return repr((code.text == "True") != negate)
    if code.ty == "bool" and not code.nullable:
        return f"(not {code.text})" if negate else code.text
    return f"({code.text} {'is not True' if negate else 'is True'})"


def _is_today(e: ast.Expr) -> bool:
    return isinstance(e, ast.Name) and e.dotted == "today"


__all__ = ["Code", "ExprCompiler", "Symbols", "date_code", "fraction_code", "py_type"]
