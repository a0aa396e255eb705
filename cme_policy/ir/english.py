"""Explain stage: an expression AST → plain English, from the labels a policy (its IR) gives
its names. It sits with the IR because it reads the IR's vocabulary."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cme_policy.expr import ast
from cme_policy.expr.types import CONVERSIONS
from cme_policy.ir import model as m

BUILTIN_LABELS: Mapping[str, str] = {
    "today": "the date of the check",
    "academic_year_start": "the first day of this academic year",
    "term_start": "the first day of this term",
    "policy_reviewed": "the date of the governors' last review of this policy",
}

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

COMPARE_WORDS = {">=": "is at least", ">": "is more than", "<=": "is at most",
                 "<": "is less than", "==": "is", "!=": "is not"}
DATE_WORDS = {">=": "is on or after", ">": "is after", "<=": "is on or before",
              "<": "is before", "==": "is", "!=": "is not"}
# `20 school days <= run` says the same as `run >= 20 school days`, so it can use run's phrase.
FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}

# Templates are filled by substitution, never str.format: policy text must not reach attributes.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Vocabulary:
    """The words a policy gives its names: labels of facts, measures, parameters, enum members."""

    facts: Mapping[str, m.Fact] = field(default_factory=dict)
    measures: Mapping[str, m.Measure] = field(default_factory=dict)
    params: Mapping[str, m.Parameter] = field(default_factory=dict)  # by `params.group.name`
    enums: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # enum→member→label
    members: Mapping[str, str] = field(default_factory=dict)  # member → label, first enum wins
    builtins: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_LABELS))

    @classmethod
    def from_policy(cls, policy: m.Policy) -> Vocabulary:
        enums = {e.id: {x.id: x.label for x in e.members} for e in policy.enums}
        members: dict[str, str] = {}
        for labels in enums.values():
            for member, label in labels.items():
                members.setdefault(member, label)
        return cls({f.id: f for f in policy.facts}, {x.id: x for x in policy.measures},
                   {p.qualified: p for p in policy.parameters}, enums, members)


def render(expr: ast.Expr, vocab: Vocabulary) -> str:
    """Plain English for an expression; total over every AST, unknown names included."""
    return _Renderer(vocab).render(expr)


class _Renderer:
    def __init__(self, vocab: Vocabulary, expanding: frozenset[str] = frozenset()) -> None:
        # `expanding` holds the parameters being rendered, so a cyclic value cannot recurse.
        self.vocab, self.expanding = vocab, expanding

    def render(self, expr: ast.Expr) -> str:
        method: Callable[[ast.Expr], str] = getattr(self, f"visit_{type(expr).__name__}")
        return method(expr)

    # Literals

    def visit_BoolLit(self, e: ast.BoolLit) -> str:
        return "true" if e.value else "false"

    def visit_IntLit(self, e: ast.IntLit) -> str:
        return str(e.value)

    def visit_PercentLit(self, e: ast.PercentLit) -> str:
        return f"{_decimal(e.value)}%"

    def visit_DateLit(self, e: ast.DateLit) -> str:
        return f"{e.value.day} {MONTHS[e.value.month - 1]} {e.value.year}"

    def visit_DurationLit(self, e: ast.DurationLit) -> str:
        return f"{e.amount} {e.unit.spell(e.amount)}"

    # Names and calls

    def visit_Name(self, e: ast.Name) -> str:
        key, vocab = e.dotted, self.vocab
        if key in vocab.facts:
            return vocab.facts[key].label
        if key in vocab.measures:
            return self._measure_label(vocab.measures[key], ())
        if key in vocab.params:
            return self._param(vocab.params[key])
        if key in vocab.builtins:
            return vocab.builtins[key]
        if len(e.parts) == 1 and key in vocab.members:
            return vocab.members[key]
        return _humanise(e.parts)

    def _param(self, param: m.Parameter) -> str:
        if param.qualified in self.expanding or isinstance(param.value, ast.BoolLit):
            return param.label  # a yes/no setting reads as the sentence it stands for
        return _Renderer(self.vocab, self.expanding | {param.qualified}).render(param.value)

    def visit_Call(self, e: ast.Call) -> str:
        args = [self._operand(a) for a in e.args]
        measure = self.vocab.measures.get(e.func.dotted)
        if measure is None:
            return _with_args(self.render(e.func), args)
        return self._measure_label(measure, args)

    def _measure_label(self, measure: m.Measure, args: Sequence[str]) -> str:
        """Fill `{argname}` in the label; arguments the label does not mention go in brackets."""
        names = [a.name for a in measure.args]
        values = {a.name: a.label or _humanise((a.name,)) for a in measure.args}
        values.update(zip(names, args))
        text, used = _fill(measure.label, values)
        leftover = [arg for i, arg in enumerate(args) if i >= len(names) or names[i] not in used]
        return _with_args(text, leftover)

    def visit_SetLit(self, e: ast.SetLit) -> str:
        return _listing([self._operand(i) for i in e.items], "and") or "nothing"

    # Logic

    def visit_Not(self, e: ast.Not) -> str:
        operand = e.operand
        if isinstance(operand, ast.Name):
            fact = self.vocab.facts.get(operand.dotted)
            if fact is not None and fact.negated:
                return fact.negated
        return f"it is not the case that {self._operand(operand)}"

    def visit_BoolOp(self, e: ast.BoolOp) -> str:
        parts = [self._operand(o) for o in e.operands]
        if not parts:  # only a hand-built AST can be empty; give its identity element
            return "true" if e.op == "and" else "false"
        if len(parts) > 1 and any(_is_boolop(o) for o in e.operands):
            # A comma before the last connective keeps "both A and B, or C" unambiguous.
            return ", ".join(parts[:-1]) + f", {e.op} {parts[-1]}"
        return _listing(parts, e.op)

    def _operand(self, expr: ast.Expr) -> str:
        """A sub-expression; a nested and/or is wrapped: "both …", "all of …", "either …"."""
        text = self.render(expr)
        if not _is_boolop(expr):
            return text
        assert isinstance(expr, ast.BoolOp)
        if expr.op == "or":
            return f"either {text}"
        return f"{'both' if len(expr.operands) == 2 else 'all of'} {text}"

    # Comparisons

    def visit_Compare(self, e: ast.Compare) -> str:
        phrased = self._phrase(e.op, e.left, e.right)
        if phrased is None and e.op in FLIPPED:
            phrased = self._phrase(FLIPPED[e.op], e.right, e.left)
        if phrased is not None:
            return phrased
        enum = self._enum_of(e.left) or self._enum_of(e.right)
        words = DATE_WORDS if self._is_date(e.left) or self._is_date(e.right) else COMPARE_WORDS
        verb = words.get(e.op, f"is {e.op}")
        return f"{self._member(e.left, enum)} {verb} {self._member(e.right, enum)}"

    def _phrase(self, op: str, side: ast.Expr, other: ast.Expr) -> str | None:
        """The measure's own sentence for `side op other`, if it has one that fits the call."""
        func = side.func if isinstance(side, ast.Call) else side
        measure = self.vocab.measures.get(func.dotted) if isinstance(func, ast.Name) else None
        template = dict(measure.phrases).get(op) if measure is not None else None
        if measure is None or template is None:
            return None
        args = side.args if isinstance(side, ast.Call) else ()
        names = [a.name for a in measure.args]
        mentioned = set(_PLACEHOLDER.findall(template))
        if len(args) != len(names) or not set(names) <= mentioned:
            return None  # the phrase would drop an argument; the generic wording keeps it
        values = dict(zip(names, (self._operand(a) for a in args)))
        values["value"], values["amount"] = self._value_and_amount(other, template)
        return _fill(template, values)[0]

    def _value_and_amount(self, expr: ast.Expr, template: str) -> tuple[str, str]:
        """`{value}`: the value, less a unit the phrase already says; `{amount}`: the number."""
        value, target = self._operand(expr), self._folded(expr)
        if isinstance(target, ast.DurationLit):
            amount = str(target.amount)
            return (amount if _mentions_unit(template, target.unit) else value), amount
        if isinstance(target, ast.IntLit):
            return value, str(target.value)
        if isinstance(target, ast.PercentLit):
            return value, _decimal(target.value)
        return value, value

    def visit_In(self, e: ast.In) -> str:
        enum = self._enum_of(e.item)
        item = self._operand(e.item)
        collection = self._resolve(e.collection)
        if isinstance(collection, ast.SetLit) and len(collection.items) == 1:
            verb = "is not" if e.negated else "is"
            return f"{item} {verb} {self._member(collection.items[0], enum)}"
        verb = "is not one of" if e.negated else "is one of"
        if isinstance(collection, ast.SetLit):
            members = _listing([self._member(i, enum) for i in collection.items], "or")
            return f"{item} {verb} {members or '(no values)'}"
        return f"{item} {verb} {self._operand(e.collection)}"

    def _member(self, expr: ast.Expr, enum: str | None) -> str:
        """A bare name read as a member of `enum` when it is one; otherwise rendered as usual."""
        labels = self.vocab.enums.get(enum, {}) if enum is not None else {}
        if isinstance(expr, ast.Name) and expr.dotted in labels and not self._declared(expr):
            return labels[expr.dotted]
        return self._operand(expr)

    def _declared(self, name: ast.Name) -> bool:
        vocab, key = self.vocab, name.dotted
        return any(key in names for names in (vocab.facts, vocab.measures, vocab.params,
                                              vocab.builtins))

    def _enum_of(self, expr: ast.Expr) -> str | None:
        if not isinstance(expr, ast.Name) or expr.dotted not in self.vocab.facts:
            return None
        type_name = self.vocab.facts[expr.dotted].type_name
        return type_name if type_name in self.vocab.enums else None

    def _is_date(self, expr: ast.Expr) -> bool:
        target = self._resolve(expr)
        if isinstance(target, ast.DateLit):
            return True
        if isinstance(target, ast.Arith):
            return self._is_date(target.left) and not self._is_date(target.right)
        if not isinstance(target, ast.Name):
            return False
        fact = self.vocab.facts.get(target.dotted)
        if fact is not None:
            return fact.type_name == "date"
        return target.dotted == "today" and target.dotted not in self.vocab.measures

    def _folded(self, expr: ast.Expr) -> ast.Expr:
        """`_resolve`, then fixed conversions of literals done: `4 weeks as days` → 28 days."""
        target = self._resolve(expr)
        if not isinstance(target, ast.Convert):
            return target
        inner = self._folded(target.operand)
        if not isinstance(inner, ast.DurationLit):
            return target
        factor = 1 if inner.unit == target.unit else CONVERSIONS.get((inner.unit, target.unit))
        if factor is None:
            return target
        return ast.DurationLit(inner.amount * factor, target.unit, target.span)

    def _resolve(self, expr: ast.Expr) -> ast.Expr:
        """Follow parameter names to their values (at most once each, so cycles end)."""
        seen = set(self.expanding)
        while isinstance(expr, ast.Name) and expr.dotted in self.vocab.params:
            if expr.dotted in seen:
                break
            seen.add(expr.dotted)
            expr = self.vocab.params[expr.dotted].value
        return expr

    # Arithmetic and units

    def visit_Arith(self, e: ast.Arith) -> str:
        left = self._operand(e.left)
        right = self._operand(e.right)
        if isinstance(e.right, ast.Arith):
            right = f"({right})"  # `a - (b - c)` must not read as `a - b - c`
        if e.op in ("+", "-") and self._is_date(e.left) and not self._is_date(e.right):
            return f"{right} {'after' if e.op == '+' else 'before'} {left}"
        word = {"+": "plus", "-": "minus"}.get(e.op, e.op)
        return f"{left} {word} {right}"

    def visit_Convert(self, e: ast.Convert) -> str:
        text, folded = self._operand(e.operand), self._folded(e)
        if not isinstance(folded, ast.DurationLit):
            return f"{text} in {e.unit.value}"
        if folded == self._folded(e.operand):
            return text  # already in that unit: nothing to add
        return f"{text} ({self.visit_DurationLit(folded)})"


def _is_boolop(expr: ast.Expr) -> bool:
    return isinstance(expr, ast.BoolOp) and len(expr.operands) > 1


def _decimal(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _listing(items: Sequence[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _with_args(text: str, args: Sequence[str]) -> str:
    return f"{text} ({', '.join(args)})" if args else text


def _humanise(parts: tuple[str, ...]) -> str:
    """An undeclared name in words: `params.x.long_name` → "x long name"."""
    if len(parts) > 1 and parts[0] == "params":
        parts = parts[1:]
    return " ".join(p.replace("_", " ").strip() for p in parts).strip() or "an unnamed value"


def _fill(template: str, values: Mapping[str, str]) -> tuple[str, set[str]]:
    """Substitute known `{name}`s; unknown ones stay visible so the author can see the typo."""
    used: set[str] = set()

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        used.add(name)
        return values[name]

    return _PLACEHOLDER.sub(one, template), used


def _mentions_unit(template: str, unit: ast.Unit) -> bool:
    """Does the phrase itself say the unit (e.g. "… {value} consecutive school days")?"""
    text = _PLACEHOLDER.sub(" ", template)
    if unit is ast.Unit.DAYS:
        text = re.sub(r"\bschool\s+days?\b", " ", text)
    words = r"\s+".join(re.escape(w) for w in unit.singular.split())
    return re.search(rf"\b{words}s?\b", text) is not None
