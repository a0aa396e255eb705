"""Analyse stage: the names an expression may use, built from the policy's vocabulary."""

from __future__ import annotations

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.typecheck import Env, Symbol, check_duration
from cme_policy.expr.types import BOOL, DATE, INT, PERCENT, DurationT, Type, type_from_name
from cme_policy.ir import model as m
from cme_policy.ir.measures import KINDS

BUILTINS = {
    "today": Symbol("builtin", "today", DATE),
    "academic_year_start": Symbol("builtin", "academic_year_start", DATE),
    "term_start": Symbol("builtin", "term_start", DATE),
    "policy_reviewed": Symbol("builtin", "policy_reviewed", DATE),
}
"""Names every policy may use: the as-of date, the first days of its academic year and term
as the school calendar defines them (so a policy never hard-codes a year), and the date of
the governors' last review from the manifest (an overlay's own, not its base's)."""


def literal_type(expr: ast.Expr) -> Type | None:
    if isinstance(expr, ast.BoolLit):
        return BOOL
    if isinstance(expr, ast.IntLit):
        return INT
    if isinstance(expr, ast.PercentLit):
        return PERCENT
    if isinstance(expr, ast.DateLit):
        return DATE
    if isinstance(expr, ast.DurationLit):
        return DurationT(expr.unit)
    return None


def build_env(policy: m.Policy, sink: DiagnosticSink) -> Env:
    enums = {e.id: tuple(x.id for x in e.members) for e in policy.enums}
    env = Env(dict(BUILTINS), enums)
    for fact in policy.facts:
        found = type_from_name(fact.type_name, set(enums))
        if found is None:
            sink.error("N009", f"fact '{fact.id}' has unknown type '{fact.type_name}'",
                       fact.at("type"),
                       "types: bool, int, percent, date, school days, days, or an enum id: "
                       + ", ".join(sorted(enums)))
            env.invalid.add(fact.id)
            continue
        env.symbols[fact.id] = Symbol("fact", fact.id, found)
    for measure in policy.measures:
        _measure(env, measure, sink)
    for param in policy.parameters:
        found = literal_type(param.value)
        if found is None:
            sink.error("T012", f"parameter '{param.qualified}' must have a literal value",
                       param.value.span, "write the value itself, e.g. `20 school days` or `10%`")
            env.invalid.add(param.qualified)
            continue
        if isinstance(param.value, ast.DurationLit):
            check_duration(param.value, sink)
        env.symbols[param.qualified] = Symbol("param", param.qualified, found)
    return env


def _measure(env: Env, measure: m.Measure, sink: DiagnosticSink) -> None:
    kind = KINDS.get(measure.kind)
    if kind is None:
        sink.error("T011", f"measure '{measure.id}' has unknown kind '{measure.kind}'",
                   measure.at("kind"), "kinds: " + ", ".join(sorted(KINDS)))
        env.invalid.add(measure.id)
        return
    arg_types: list[Type] = []
    for arg in measure.args:
        found = type_from_name(arg.type_name, set(env.enums))
        if found is None or found not in kind.arg_types:
            allowed = ", ".join(str(t) for t in kind.arg_types) or "no arguments"
            sink.error("T007", f"measure '{measure.id}' ({measure.kind}) cannot take an argument "
                       f"of type '{arg.type_name}'", arg.at("type"),
                       f"{measure.kind} takes: {allowed}")
            env.invalid.add(measure.id)
            return
        arg_types.append(found)
    env.symbols[measure.id] = Symbol("measure", measure.id, kind.result, tuple(arg_types) or None)


