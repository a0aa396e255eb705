"""Analyse stage: the guards on one event from one state, evaluated in every situation of the
true/false and enum facts they read, for overlaps (G006), gaps (G007) and shadowing (G008)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.typecheck import Env
from cme_policy.expr.types import BOOL, EnumT
from cme_policy.ir import model as m
from cme_policy.source.span import Span

Value = bool | str
Situation = Mapping[str, Value]

# Past this many situations the group is skipped, not guessed at: a real procedure's guards
# read a handful of facts, so a bigger product means something other than a decision table.
MAX_SITUATIONS = 4096

_FINITE_NODES = (ast.BoolLit, ast.Name, ast.SetLit, ast.Not, ast.BoolOp, ast.Compare, ast.In)


class _NotFinite(Exception):
    """A guard reads something without a finite domain: a measure, a parameter, a date."""


# -- the evaluator -------------------------------------------------------------------------
def finite_facts(expr: ast.Expr, env: Env) -> frozenset[str] | None:
    """The true/false and enum facts a guard reads, or None if it reads anything else."""
    try:
        return frozenset(_facts(expr, env))
    except _NotFinite:
        return None


def _facts(expr: ast.Expr, env: Env) -> Iterator[str]:
    if not isinstance(expr, _FINITE_NODES) or isinstance(expr, ast.SetLit):
        raise _NotFinite  # a set is only read as the right-hand side of `in`
    if isinstance(expr, ast.Compare) and expr.op not in ("==", "!="):
        raise _NotFinite
    if isinstance(expr, ast.Name):
        yield from _fact(expr, env)
    elif isinstance(expr, ast.In):
        if not isinstance(expr.collection, ast.SetLit):
            raise _NotFinite
        for child in (expr.item, *expr.collection.items):
            yield from _facts(child, env)
    else:
        for child in ast.children(expr):
            yield from _facts(child, env)


def _fact(name: ast.Name, env: Env) -> Iterator[str]:
    symbol = env.symbols.get(name.dotted)
    if symbol is None and len(name.parts) == 1:
        return  # a bare enum member; the type checker has already placed it in its enum
    if symbol is None or symbol.kind != "fact" or not _finite_type(symbol.type):
        raise _NotFinite
    yield name.dotted


def _finite_type(t: object) -> bool:
    return t == BOOL or isinstance(t, EnumT)


def domain(fact: str, env: Env) -> tuple[Value, ...]:
    t = env.symbols[fact].type
    return env.enums.get(t.name, ()) if isinstance(t, EnumT) else (True, False)


def situations(facts: Sequence[str], env: Env) -> list[dict[str, Value]] | None:
    """Every assignment of the facts (sorted by name), or None past MAX_SITUATIONS."""
    names = sorted(facts)
    domains = [domain(f, env) for f in names]
    count = 1
    for values in domains:
        count *= len(values)
    if count > MAX_SITUATIONS:
        return None
    return [dict(zip(names, combo)) for combo in itertools.product(*domains)]


def evaluate(expr: ast.Expr, situation: Situation) -> Value:
    """The value of a finite guard in one situation; a bare enum member is its own name."""
    if isinstance(expr, ast.BoolLit):
        return expr.value
    if isinstance(expr, ast.Name):
        return situation.get(expr.dotted, expr.dotted)
    if isinstance(expr, ast.Not):
        return not evaluate(expr.operand, situation)
    if isinstance(expr, ast.BoolOp):
        values = (evaluate(o, situation) is True for o in expr.operands)
        return all(values) if expr.op == "and" else any(values)
    if isinstance(expr, ast.Compare):
        same = evaluate(expr.left, situation) == evaluate(expr.right, situation)
        return same if expr.op == "==" else not same
    if isinstance(expr, ast.In) and isinstance(expr.collection, ast.SetLit):
        item = evaluate(expr.item, situation)
        found = any(item == evaluate(i, situation) for i in expr.collection.items)
        return found != expr.negated
    raise _NotFinite(type(expr).__name__)


def describe(situation: Situation, facts: frozenset[str] | None = None) -> str:
    """`destination is home_education and safeguarding_concern is true`, in name order."""
    shown = [(k, v) for k, v in sorted(situation.items()) if facts is None or k in facts]
    words = [f"{k} is {str(v).lower() if isinstance(v, bool) else v}" for k, v in shown]
    return " and ".join(words) or "always"


# -- the check -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Table:
    """Each guarded transition's guard, evaluated in every situation of the group's facts."""

    facts: tuple[frozenset[str], ...]  # per transition
    rows: tuple[tuple[dict[str, Value], tuple[bool, ...]], ...]

    @classmethod
    def of(cls, group: Sequence[m.Transition], env: Env) -> _Table | None:
        facts = [finite_facts(t.guard, env) if t.guard is not None else None for t in group]
        if any(f is None for f in facts):
            return None  # a guard reads a measure, parameter or date: do not guess
        known = tuple(f for f in facts if f is not None)
        cases = situations(sorted(frozenset[str]().union(*known)), env)
        if cases is None:
            return None
        try:
            rows = tuple((s, tuple(evaluate(t.guard, s) is True for t in group if t.guard))
                         for s in cases)
        except _NotFinite:
            return None
        return cls(known, rows)

    def covered(self, j: int) -> bool:
        """Whenever guard j holds, an earlier guard does too."""
        return all(any(row[:j]) for _, row in self.rows if row[j])

    def overlap(self, i: int, j: int) -> dict[str, Value] | None:
        return next((s for s, row in self.rows if row[i] and row[j]), None)

    def gap(self) -> dict[str, Value] | None:
        return next((s for s, row in self.rows if not any(row)), None)


def check_guards(procedure: m.Procedure, env: Env, sink: DiagnosticSink) -> None:
    for state in procedure.states:
        for event, group in _by_event(state.transitions):
            _check_group(state, event, group, env, sink)


def _by_event(transitions: Sequence[m.Transition]) -> list[tuple[str, list[m.Transition]]]:
    groups: dict[str, list[m.Transition]] = {}
    for t in transitions:
        groups.setdefault(t.event, []).append(t)
    return list(groups.items())


def _check_group(state: m.State, event: str, group: list[m.Transition], env: Env,
                 sink: DiagnosticSink) -> None:
    otherwise = next((i for i, t in enumerate(group) if t.guard is None), None)
    if otherwise is not None:
        for t in group[otherwise + 1:]:
            _shadowed(sink, state, t, f"the unguarded transition to '{group[otherwise].target}' "
                      "before it always applies")
        group = group[:otherwise]  # the unguarded one is the "otherwise" branch: fine
    table = _Table.of(group, env) if len(group) >= 2 else None  # one alone cannot clash
    if table is None:
        return
    shadowed = _check_shadowing(state, group, table, sink)
    _check_overlaps(state, event, group, table, shadowed, sink)
    if otherwise is None:
        _check_gap(state, event, group, table, sink)


def _check_shadowing(state: m.State, group: list[m.Transition], table: _Table,
                     sink: DiagnosticSink) -> set[int]:
    shadowed: set[int] = set()
    for j in range(1, len(group)):
        if not table.covered(j):
            continue
        shadowed.add(j)
        earlier = [f"'{group[i].target}'" for i in range(j)
                   if table.overlap(i, j) is not None]
        why = (f"the earlier transition(s) to {', '.join(earlier)} apply whenever it would"
               if earlier else "its guard never holds")
        _shadowed(sink, state, group[j], why)
    return shadowed


def _shadowed(sink: DiagnosticSink, state: m.State, t: m.Transition, why: str) -> None:
    sink.error("G008", f"the transition on '{t.event}' from state '{state.id}' to '{t.target}' "
               f"can never be taken: {why}", _where(t),
               "remove it, or make the transitions before it more specific; an unguarded "
               "transition belongs last, as the 'otherwise' branch")


def _check_overlaps(state: m.State, event: str, group: list[m.Transition], table: _Table,
                    shadowed: set[int], sink: DiagnosticSink) -> None:
    for j in range(1, len(group)):
        if j in shadowed:
            continue
        for i in (i for i in range(j) if i not in shadowed):
            situation = table.overlap(i, j)
            if situation is None:
                continue
            when = describe(situation, table.facts[i] | table.facts[j])
            sink.error("G006", f"the transitions on '{event}' from state '{state.id}' to "
                       f"'{group[i].target}' and to '{group[j].target}' overlap: both apply when "
                       f"{when}", _where(group[j]),
                       "make the guards exclusive, so that at most one transition applies in "
                       "every situation")
            break


def _check_gap(state: m.State, event: str, group: list[m.Transition], table: _Table,
               sink: DiagnosticSink) -> None:
    situation = table.gap()
    if situation is None:
        return
    sink.warning("G007", f"no transition on '{event}' from state '{state.id}' applies when "
                 f"{describe(situation)}", group[-1].at("event"),
                 f"add a transition on '{event}' without a guard after the others, to say what "
                 "happens otherwise")


def _where(t: m.Transition) -> Span:
    return t.at("guard") if t.guard is not None else t.at("event")
