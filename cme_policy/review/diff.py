"""Review stage: a semantic diff of two checked policy versions for the governors' annual review.

Elements are paired by their stable ids (parameters by `params.group.name`, states by
`procedure.state`, transitions by `procedure.state --event--> target`, obligations by their
`done_by` event or their position in the rule), in the manner of `buf breaking`: each change has
a kind from `kinds.py`, both locations, and whether it weakens a duty. The scenarios that the
two versions share (by id) are run under both, and each change lists those whose outcome
(rules fired, actions, states, violations) differs in something the change touches.
"""

from __future__ import annotations

import difflib
import io
import json
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cme_policy.analysis.strictness import directions, parameter_uses
from cme_policy.driver import CheckResult, check_policy
from cme_policy.expr import ast
from cme_policy.expr.printer import to_source
from cme_policy.ir import model as m
from cme_policy.ir.derived import law_terms
from cme_policy.ir.english import Vocabulary, render
from cme_policy.review.kinds import KINDS
from cme_policy.source.span import Span

if TYPE_CHECKING:
    from cme_policy.backends.docs import ChangesSince

T = TypeVar("T")
_NORMAL = {ast.Unit.WEEKS: (ast.Unit.DAYS, 7), ast.Unit.YEARS: (ast.Unit.MONTHS, 12)}


class DiffError(Exception):
    """A side that cannot be compared: it does not check clean, or cannot be checked out."""


@dataclass(frozen=True)
class Side:
    """One version of the policy: its checked IR, its directory and how to name it."""

    policy: m.Policy
    root: Path
    label: str
    vocab: Vocabulary = field(init=False, repr=False)
    params: dict[str, m.Parameter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab", Vocabulary.from_policy(self.policy))
        object.__setattr__(self, "params", {p.qualified: p for p in self.policy.parameters})

    def at(self, span: Span) -> str:
        """`label/relative/path:line`, whatever directory the version was checked out into."""
        path = Path(span.path)
        for base in (self.root, self.root.resolve()):
            try:
                rel = (path if path.is_absolute() else Path.cwd() / path).resolve().relative_to(
                    base.resolve())
                return f"{self.label.rstrip('/')}/{rel.as_posix()}:{span.line}"
            except ValueError:
                continue
        return f"{span.path}:{span.line}"

    def english(self, expr: ast.Expr | None) -> str:
        return "none" if expr is None else render(expr, self.vocab)


@dataclass(frozen=True)
class Change:
    kind: str
    subject: str
    message: str
    old_at: str | None = None
    new_at: str | None = None
    weakens: bool = False
    details: tuple[str, ...] = ()
    touches: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message,
                "weakens": self.weakens, "old_at": self.old_at, "new_at": self.new_at,
                "details": list(self.details), "scenarios": list(self.scenarios)}


@dataclass(frozen=True)
class ScenarioDelta:
    """A scenario present in both versions whose outcome differs."""

    id: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    touches: frozenset[str]

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "only_old": list(self.removed), "only_new": list(self.added)}


@dataclass(frozen=True)
class DiffReport:
    old: str
    new: str
    changes: tuple[Change, ...]
    scenarios: tuple[ScenarioDelta, ...] = ()
    scenarios_compared: int = 0

    @property
    def weakening(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.weakens)

    def as_json(self) -> dict[str, object]:
        return {"old": self.old, "new": self.new, "changes": [c.as_json() for c in self.changes],
                "weakening": len(self.weakening), "scenarios_compared": self.scenarios_compared,
                "scenarios_changed": [s.as_json() for s in self.scenarios]}


# -- loading ---------------------------------------------------------------------------------

def load_side(root: Path, label: str) -> Side:
    result: CheckResult = check_policy(root)
    if not result.ok or result.policy is None:
        first = "; ".join(f"{d.span}: {d.message}" for d in result.errors[:3])
        raise DiffError(f"{label} does not check clean ({len(result.errors)} error(s)): {first}")
    return Side(result.policy, root, label)


def checkout(rev: str, directory: Path, dest: Path) -> Path:
    """Extract `directory` as it was at git revision `rev` into `dest`, touching no git state;
    returns the policy directory inside `dest`."""
    top = _git(["rev-parse", "--show-toplevel"], directory).decode().strip()
    rel = directory.resolve().relative_to(Path(top).resolve()).as_posix() or "."
    data = _git(["archive", "--format=tar", rev, "--", rel], Path(top))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter="data")
    out = dest / rel
    if not out.is_dir():
        raise DiffError(f"{rev} has no directory {rel}")
    return out


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        err = getattr(exc, "stderr", b"") or b""
        reason = err.decode(errors="replace").strip() or exc
        raise DiffError(f"git {' '.join(args)}: {reason}") from exc
    return done.stdout


# -- the diff --------------------------------------------------------------------------------

def diff_policies(old: Side, new: Side, run_scenarios: bool = True) -> DiffReport:
    changes = [*_manifest(old, new), *_parameters(old, new), *_measures(old, new),
               *_events(old, new), *_safeguards(old, new), *_rules(old, new),
               *_procedures(old, new),
               *_clauses(old, new), *_roles(old, new), *_la_profile(old, new)]
    deltas: list[ScenarioDelta] = []
    compared = 0
    if run_scenarios:
        compared, deltas = _scenario_deltas(old, new)
    changes = [_with_scenarios(c, deltas) for c in changes]
    return DiffReport(old.label, new.label, tuple(changes), tuple(deltas), compared)


def _change(kind: str, subject: str, message: str, old: Side, new: Side,
            old_span: Span | None, new_span: Span | None, weakens: bool | None = None,
            details: Iterable[str] = (), touches: Iterable[str] = ()) -> Change:
    weak = KINDS[kind].weakens if weakens is None else weakens
    return Change(kind, subject, message, old.at(old_span) if old_span else None,
                  new.at(new_span) if new_span else None, weak, tuple(details),
                  tuple(sorted(set(touches))))


def _pair(old: Iterable[T], new: Iterable[T], key: Callable[[T], str]) -> Iterator[
        tuple[str, T | None, T | None]]:
    olds, news = {key(x): x for x in old}, {key(x): x for x in new}
    for k in sorted(set(olds) | set(news)):
        yield k, olds.get(k), news.get(k)


def _manifest(old: Side, new: Side) -> Iterator[Change]:
    a, b = old.policy.manifest, new.policy.manifest
    for name in ("title", "school", "local_authority", "governing_body", "reviewed",
                 "review_cycle", "adopted", "extends"):
        before, after = _plain(getattr(a, name)), _plain(getattr(b, name))
        if before != after:
            yield _change("MANIFEST_CHANGED", f"manifest.{name}",
                          f"{name.replace('_', ' ')}: {before} → {after}", old, new,
                          a.span, b.span)


def _plain(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, ast.DurationLit):
        return f"{value.amount} {value.unit.spell(value.amount)}"
    return str(value)


# parameters

def _parameters(old: Side, new: Side) -> Iterator[Change]:
    for key, a, b in _pair(old.policy.parameters, new.policy.parameters,
                           lambda p: p.qualified):
        touches = _param_users(key, old) | _param_users(key, new)
        if a is None and b is not None:
            yield _change("PARAM_ADDED", key, f"{b.label}: {new.english(b.value)}", old, new,
                          None, b.span, touches=touches)
        elif b is None and a is not None:
            yield _change("PARAM_REMOVED", key, f"{a.label}: was {old.english(a.value)}"
                          + (" (statutory)" if a.statutory else ""), old, new, a.span, None,
                          weakens=a.statutory, touches=touches)
        elif a is not None and b is not None:
            yield from _parameter(key, a, b, old, new, touches)


def _parameter(key: str, a: m.Parameter, b: m.Parameter, old: Side, new: Side,
               touches: set[str]) -> Iterator[Change]:
    if a.value != b.value:
        order = _order(a.value, b.value)
        ways = directions(parameter_uses(old.policy).get(key, []))
        direction = (next(iter(ways)) if len(ways) == 1 else "neither way" if ways
                     else b.stricter or a.stricter)
        statutory = a.statutory or b.statutory
        lax = statutory and direction is not None and order is not None and (
            (direction == "lower" and order > 0) or (direction == "higher" and order < 0)
            or (direction == "neither way" and order != 0))
        is_deadline = key in _deadline_params(new) | _deadline_params(old)
        lax = lax or (is_deadline and order is not None and order > 0)
        notes = [n for n in (("statutory, stricter: " + direction) if statutory and direction
                             else "", "used as a deadline" if is_deadline else "") if n]
        yield _change("PARAM_VALUE_CHANGED", key,
                      f"{b.label}: {old.english(a.value)} → {new.english(b.value)}"
                      + (f" ({'; '.join(notes)})" if notes else ""), old, new, a.span, b.span,
                      weakens=lax, touches=touches)
    parts = []
    for name in ("source", "verified", "statutory", "stricter"):
        before, after = getattr(a, name), getattr(b, name)
        if before != after:
            parts.append(f"{name}: {_plain(before)} → {_plain(after)}")
    if parts:
        yield _change("PARAM_SOURCE_CHANGED", key, "; ".join(parts), old, new, a.span, b.span,
                      weakens=a.statutory and not b.statutory, touches=touches)


# measures, facts and events: what the words of the rules are made of

def _measure_text(x: m.Measure) -> str:
    args = ", ".join(f"{a.name}: {a.type_name}" for a in x.args)
    return f"{x.kind} of {', '.join(x.codes) or 'no codes'}" + (f" ({args})" if args else "")


def _measures(old: Side, new: Side) -> Iterator[Change]:
    law = law_terms(old.policy)  # where the law is stated: changing those weakens it
    for key, a, b in _pair(old.policy.measures, new.policy.measures, lambda x: x.id):
        touches = {f"measure:{key}"}
        if a is None and b is not None:
            yield _change("MEASURE_ADDED", key, f"{b.label}: {_measure_text(b)}", old, new,
                          None, b.span, touches=touches)
        elif b is None and a is not None:
            yield _change("MEASURE_REMOVED", key, f"{a.label}: was {_measure_text(a)}", old, new,
                          a.span, None, weakens=key in law, touches=touches)
        elif a is not None and b is not None and _measure_text(a) != _measure_text(b):
            note = " (the law is stated in it)" if key in law else ""
            yield _change("MEASURE_CHANGED", key, f"{b.label}: {_measure_text(a)} → "
                          f"{_measure_text(b)}{note}", old, new, a.span, b.span,
                          weakens=key in law, touches=touches)


def _safeguards(old: Side, new: Side) -> Iterator[Change]:
    """The law's safeguards: one removed, or a requirement removed or reworded, may let an
    unlawful step through; a requirement added only makes steps harder to take."""
    for key, a, b in _pair(old.policy.safeguards, new.policy.safeguards, lambda g: g.id):
        if a is None and b is not None:
            yield _change("SAFEGUARD_ADDED", key, b.title, old, new, None, b.span)
        elif b is None and a is not None:
            yield _change("SAFEGUARD_REMOVED", key, a.title, old, new, a.span, None)
        elif a is not None and b is not None:
            before = {r.id: (a.fact, to_source(r.when)) for r in a.requirements}
            after = {r.id: (b.fact, to_source(r.when)) for r in b.requirements}
            if before == after:
                continue
            lost = [r for r in before if before[r] != after.get(r)]
            details = [f"{r}: {before[r][1]} → {after[r][1] if r in after else '(removed)'}"
                       for r in lost] + [f"{r}: (new) {after[r][1]}" for r in after
                                          if r not in before]
            yield _change("SAFEGUARD_CHANGED", key, b.title, old, new, a.span, b.span,
                          weakens=bool(lost), details=details)


def _events(old: Side, new: Side) -> Iterator[Change]:
    """What an event makes true, and for how long a fact holds, change what every rule and
    guard that reads the fact means."""
    for key, a, b in _pair(old.policy.events, new.policy.events, lambda e: e.id):
        if a is None or b is None:
            continue
        before = ", ".join(f"{f} = {to_source(v)}" for f, v in a.sets) or "nothing"
        after = ", ".join(f"{f} = {to_source(v)}" for f, v in b.sets) or "nothing"
        if before != after:
            yield _change("EVENT_EFFECT_CHANGED", key, f"{b.label}: sets {before} → {after}",
                          old, new, a.span, b.span, touches={f"event:{key}"})
    for key, fa, fb in _pair(old.policy.facts, new.policy.facts, lambda f: f.id):
        if fa is None or fb is None:
            continue
        before, after = _lasts(fa.lasts), _lasts(fb.lasts)
        if before != after:
            yield _change("FACT_SCOPE_CHANGED", key, f"{fb.label}: lasts {before} → {after}",
                          old, new, fa.span, fb.span, touches={f"fact:{key}"})


def _lasts(lasts: str | ast.Expr | None) -> str:
    if lasts is None:
        return "until another event sets it"
    if isinstance(lasts, str):
        return "until the pupil next attends" if lasts == "until_present" else lasts
    return to_source(lasts)


def _param_users(key: str, side: Side) -> set[str]:
    users = {f"rule:{r.id}" for r in side.policy.rules
             if key in (ast.referenced_names(r.when)
                        | {n for o in r.then for n in ast.referenced_names(o.within)})}
    for proc in side.policy.procedures:
        for state in proc.states:
            used = ast.referenced_names(state.deadline.within if state.deadline else None)
            used |= {n for t in state.transitions for n in ast.referenced_names(t.guard)}
            if key in used:
                users.add(f"procedure:{proc.id}")
    return users


def _deadline_params(side: Side) -> set[str]:
    found = {n for r in side.policy.rules for o in r.then for n in ast.referenced_names(o.within)}
    found |= {n for p in side.policy.procedures for s in p.states if s.deadline
              for n in ast.referenced_names(s.deadline.within)}
    return {n for n in found if n.startswith("params.")}


# ordering of values and deadlines

def _key(expr: ast.Expr, side: Side | None = None, depth: int = 0) -> tuple[str, Decimal] | None:
    """A comparable (kind, number) for a literal or a parameter holding one; None otherwise."""
    if isinstance(expr, ast.Name) and side is not None and depth < 8:
        param = side.params.get(expr.dotted)
        return None if param is None else _key(param.value, side, depth + 1)
    if isinstance(expr, ast.Convert):
        inner = _key(expr.operand, side, depth + 1)
        return None if inner is None else (f"duration:{expr.unit.value}", inner[1])
    if isinstance(expr, ast.DurationLit):
        unit, factor = _NORMAL.get(expr.unit, (expr.unit, 1))
        return f"duration:{unit.value}", Decimal(expr.amount * factor)
    if isinstance(expr, ast.IntLit):
        return "int", Decimal(expr.value)
    if isinstance(expr, ast.PercentLit):
        return "percent", expr.value
    if isinstance(expr, ast.DateLit):
        return "date", Decimal(expr.value.toordinal())
    return None


def _order(a: ast.Expr, b: ast.Expr, old: Side | None = None,
           new: Side | None = None) -> int | None:
    """-1, 0 or 1 as `b` is below, equal to or above `a`; None when they cannot be ordered."""
    ka, kb = _key(a, old), _key(b, new)
    if ka is None or kb is None or ka[0] != kb[0]:
        return None
    return (kb[1] > ka[1]) - (kb[1] < ka[1])


def _deadline(kind: str, subject: str, a: ast.Expr | None, b: ast.Expr | None, old: Side,
              new: Side, spans: tuple[Span | None, Span | None], touches: set[str],
              what: str) -> Iterator[Change]:
    if a == b:  # the same words; a parameter it names is reported as its own change
        return
    text = f"{what}: {_deadline_words(a, old)} → {_deadline_words(b, new)}"
    order = None if a is None or b is None else _order(a, b, old, new)
    if order == 0:
        yield _change(f"{kind}_CHANGED", subject, text, old, new, *spans, weakens=False,
                      touches=touches)
    elif order is None:
        yield _change(f"{kind}_CHANGED", subject, text, old, new, *spans,
                      weakens=a is not None and b is None, touches=touches)
    else:
        yield _change(f"{kind}_{'LONGER' if order > 0 else 'SHORTER'}", subject, text, old, new,
                      *spans, touches=touches)


def _deadline_words(expr: ast.Expr | None, side: Side) -> str:
    if expr is None:
        return "no deadline"
    words = side.english(expr)
    return words if isinstance(expr, ast.DurationLit) else f"{words} ({to_source(expr)})"


# rules and obligations

def _rules(old: Side, new: Side) -> Iterator[Change]:
    for key, a, b in _pair(old.policy.rules, new.policy.rules, lambda r: r.id):
        touches = {f"rule:{key}"}
        if a is None and b is not None:
            yield _change("RULE_ADDED", key, f"{b.title} — when {new.english(b.when)}", old,
                          new, None, b.span, touches=touches)
        elif b is None and a is not None:
            yield _change("RULE_REMOVED", key, f"{a.title} — was: when {old.english(a.when)}",
                          old, new, a.span, None, touches=touches)
        elif a is not None and b is not None:
            yield from _rule(key, a, b, old, new, touches)


def _rule(key: str, a: m.Rule, b: m.Rule, old: Side, new: Side,
          touches: set[str]) -> Iterator[Change]:
    if a.when != b.when:
        trend = _threshold(a.when, b.when)
        kind = {"laxer": "RULE_THRESHOLD_LAXER", "stricter": "RULE_THRESHOLD_STRICTER"}.get(
            trend or "", "RULE_CONDITION_CHANGED")
        was, now = old.english(a.when), new.english(b.when)
        if was == now:  # e.g. a parameter replaced by its value: show the expressions
            was, now = f"{was} ({to_source(a.when)})", f"{now} ({to_source(b.when)})"
        yield _change(kind, key, f"{b.title}: the condition changed", old, new,
                      a.at("when"), b.at("when"), details=(f"was: {was}", f"now: {now}"),
                      touches=touches)
    if a.opens != b.opens:
        yield _change("RULE_OPENS_CHANGED", key, f"opens: {_plain(a.opens)} → {_plain(b.opens)}",
                      old, new, a.span, b.span, weakens=a.opens is not None and b.opens is None,
                      touches=touches | {f"procedure:{p}" for p in (a.opens, b.opens) if p})
    if a.clauses != b.clauses:
        yield _change("RULE_CLAUSES_CHANGED", key, f"cites: {', '.join(a.clauses)} → "
                      f"{', '.join(b.clauses)}", old, new, a.span, b.span, touches=touches)
    for okey, oa, ob in _pair(_keyed(a.then), _keyed(b.then), lambda kv: kv[0]):
        yield from _obligation(f"{key}.then[{okey}]", oa[1] if oa else None,
                               ob[1] if ob else None, old, new, touches)


def _keyed(obligations: tuple[m.Obligation, ...]) -> list[tuple[str, m.Obligation]]:
    keys = [o.done_by for o in obligations]
    if None in keys or len(set(keys)) != len(keys):
        return [(str(i), o) for i, o in enumerate(obligations, start=1)]
    return [(str(o.done_by), o) for o in obligations]


def _obligation(subject: str, a: m.Obligation | None, b: m.Obligation | None, old: Side,
                new: Side, touches: set[str]) -> Iterator[Change]:
    if a is None and b is not None:
        yield _change("OBLIGATION_ADDED", subject, f"{b.action} — {_role(b.role, new)}"
                      f", within {_deadline_words(b.within, new)}", old, new, None, b.span,
                      touches=touches | {f"role:{b.role}"})
        return
    if b is None and a is not None:
        yield _change("OBLIGATION_REMOVED", subject, f"{a.action} — {_role(a.role, old)}"
                      f", within {_deadline_words(a.within, old)}", old, new, a.span, None,
                      touches=touches | {f"role:{a.role}"})
        return
    assert a is not None and b is not None
    if a.action != b.action:
        yield _change("OBLIGATION_ACTION_CHANGED", subject, f"action: {a.action} → {b.action}",
                      old, new, a.at("action"), b.at("action"), touches=touches)
    if a.role != b.role:
        yield _change("OBLIGATION_ROLE_CHANGED", subject,
                      f"{b.action}: {_role(a.role, old)} → {_role(b.role, new)}", old, new,
                      a.at("role"), b.at("role"),
                      touches=touches | {f"role:{a.role}", f"role:{b.role}"})
    yield from _deadline("OBLIGATION_DEADLINE", subject, a.within, b.within, old, new,
                         (a.at("within"), b.at("within")), touches, b.action)


def _role(role_id: str | None, side: Side) -> str:
    role = next((r for r in side.policy.roles if r.id == role_id), None)
    return role.label if role is not None else _plain(role_id)


def _threshold(a: ast.Expr, b: ast.Expr) -> str | None:
    """'laxer' or 'stricter' when the two conditions differ only in comparison thresholds that
    all moved the same way; None otherwise."""
    trends: list[str] = []
    if not _same_shape(a, b, trends) or not trends or len(set(trends)) != 1:
        return None
    return trends[0]


def _same_shape(a: ast.Expr, b: ast.Expr, trends: list[str]) -> bool:
    if a == b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare):
        if a.op != b.op:
            return False
        for mine, theirs, flipped in ((a.right, b.right, False), (a.left, b.left, True)):
            if mine == theirs:
                continue
            order = _order(mine, theirs)
            if order is None:
                if not _same_shape(mine, theirs, trends):
                    return False
                continue
            op = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}.get(a.op) if flipped else a.op
            if op in (">=", ">"):
                trends.append("laxer" if order > 0 else "stricter")
            elif op in ("<=", "<"):
                trends.append("laxer" if order < 0 else "stricter")
            else:
                return False
        return True
    if isinstance(a, (ast.BoolOp, ast.Not, ast.In, ast.Call, ast.SetLit, ast.Arith, ast.Convert)):
        same_node = all(getattr(a, f) == getattr(b, f) for f in ("op", "negated", "unit", "func")
                        if hasattr(a, f))
        ca, cb = ast.children(a), ast.children(b)
        return same_node and len(ca) == len(cb) and all(
            _same_shape(x, y, trends) for x, y in zip(ca, cb))
    return False


# procedures, states, transitions, invariants

def _procedures(old: Side, new: Side) -> Iterator[Change]:
    for key, a, b in _pair(old.policy.procedures, new.policy.procedures, lambda p: p.id):
        touches = {f"procedure:{key}"}
        if a is None and b is not None:
            yield _change("PROCEDURE_ADDED", key, f"{b.title} ({len(b.states)} states)", old,
                          new, None, b.span, touches=touches)
        elif b is None and a is not None:
            yield _change("PROCEDURE_REMOVED", key, f"{a.title} ({len(a.states)} states)", old,
                          new, a.span, None, touches=touches)
        elif a is not None and b is not None:
            yield from _states(key, a, b, old, new, touches)
            yield from _transitions(key, a, b, old, new, touches)
            yield from _invariants(key, a, b, old, new, touches)


def _states(proc: str, a: m.Procedure, b: m.Procedure, old: Side, new: Side,
            touches: set[str]) -> Iterator[Change]:
    for key, sa, sb in _pair(a.states, b.states, lambda s: s.id):
        subject = f"{proc}.{key}"
        if sa is None and sb is not None:
            yield _change("STATE_ADDED", subject, sb.title, old, new, None, sb.span,
                          touches=touches)
        elif sb is None and sa is not None:
            yield _change("STATE_REMOVED", subject, sa.title, old, new, sa.span, None,
                          touches=touches)
        elif sa is not None and sb is not None:
            if sa.role != sb.role:
                yield _change("STATE_ROLE_CHANGED", subject, f"{sb.title}: "
                              f"{_role(sa.role, old)} → {_role(sb.role, new)}", old, new,
                              sa.span, sb.span, touches=touches)
            yield from _state_deadline(subject, sa, sb, old, new, touches)


def _state_deadline(subject: str, sa: m.State, sb: m.State, old: Side, new: Side,
                    touches: set[str]) -> Iterator[Change]:
    da, db = sa.deadline, sb.deadline
    spans = (da.span if da else sa.span, db.span if db else sb.span)
    yield from _deadline("STATE_DEADLINE", subject, da.within if da else None,
                         db.within if db else None, old, new, spans, touches, sb.title)
    ea, eb = (da.escalate_to if da else None), (db.escalate_to if db else None)
    if da and db and ea != eb:
        yield _change("STATE_DEADLINE_CHANGED", subject, f"{sb.title}: escalates to "
                      f"{_plain(ea)} → {_plain(eb)}", old, new, *spans, weakens=eb is None,
                      touches=touches)


def _transitions(proc: str, a: m.Procedure, b: m.Procedure, old: Side, new: Side,
                 touches: set[str]) -> Iterator[Change]:
    def edges(p: m.Procedure) -> list[tuple[str, m.Transition]]:
        return [(f"{proc}.{s.id} --{t.event}--> {t.target}", t)
                for s in p.states for t in s.transitions]

    for key, ta, tb in _pair(edges(a), edges(b), lambda kv: kv[0]):
        if ta is None and tb is not None:
            yield _change("TRANSITION_ADDED", key, _guarded(tb[1], new), old, new, None,
                          tb[1].span, touches=touches)
        elif tb is None and ta is not None:
            yield _change("TRANSITION_REMOVED", key, _guarded(ta[1], old), old, new,
                          ta[1].span, None, touches=touches)
        elif ta is not None and tb is not None and ta[1].guard != tb[1].guard:
            yield _change("TRANSITION_GUARD_CHANGED", key, "the guard changed", old, new,
                          ta[1].span, tb[1].span, touches=touches,
                          details=(f"was: {_guard(ta[1], old)}", f"now: {_guard(tb[1], new)}"))


def _guarded(t: m.Transition, side: Side) -> str:
    event = next((e.label for e in side.policy.events if e.id == t.event), t.event)
    return f"when {event}" + (f", if {side.english(t.guard)}" if t.guard else "")


def _guard(t: m.Transition, side: Side) -> str:
    return side.english(t.guard) if t.guard is not None else "always"


def _invariants(proc: str, a: m.Procedure, b: m.Procedure, old: Side, new: Side,
                touches: set[str]) -> Iterator[Change]:
    for key, ia, ib in _pair(a.invariants, b.invariants, lambda i: i.id):
        subject = f"{proc}.{key}"
        if ia is None and ib is not None:
            yield _change("INVARIANT_ADDED", subject, _invariant(ib), old, new, None, ib.span,
                          touches=touches)
        elif ib is None and ia is not None:
            yield _change("INVARIANT_REMOVED", subject, _invariant(ia), old, new, ia.span, None,
                          touches=touches)
        elif ia is not None and ib is not None and _invariant(ia) != _invariant(ib):
            yield _change("INVARIANT_CHANGED", subject,
                          f"{_invariant(ia)} → {_invariant(ib)}", old, new, ia.span, ib.span,
                          touches=touches)


def _invariant(inv: m.Invariant) -> str:
    if inv.kind == "passes":
        return f"every path to {inv.state} passes {inv.through}"
    return f"{inv.state} is not left before {inv.through}"


# clauses, roles, the local authority

def _clauses(old: Side, new: Side) -> Iterator[Change]:
    for key, a, b in _pair(old.policy.clauses, new.policy.clauses, lambda c: c.id):
        if a is None and b is not None:
            yield _change("CLAUSE_ADDED", key, _short(b.text), old, new, None, b.span)
        elif b is None and a is not None:
            yield _change("CLAUSE_REMOVED", key, _short(a.text), old, new, a.span, None)
        elif a is not None and b is not None and " ".join(a.text.split()) != " ".join(
                b.text.split()):
            yield _change("CLAUSE_TEXT_CHANGED", key, word_diff(a.text, b.text), old, new,
                          a.span, b.span)


def _short(text: str, words: int = 16) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def word_diff(a: str, b: str, context: int = 3) -> str:
    """The changed words as `[-old-]{+new+}`, with a few words of context around each change."""
    wa, wb = a.split(), b.split()
    pieces: list[str] = []
    last = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lead = wa[max(last, i1 - context):i1]
        if pieces and i1 - context > last or not pieces and i1 - context > 0:
            pieces.append("…")
        pieces += lead
        if i2 > i1:
            pieces.append("[-" + " ".join(wa[i1:i2]) + "-]")
        if j2 > j1:
            pieces.append("{+" + " ".join(wb[j1:j2]) + "+}")
        pieces += wa[i2:i2 + context]
        last = i2 + context
    if last < len(wa):
        pieces.append("…")
    return " ".join(pieces)


def _roles(old: Side, new: Side) -> Iterator[Change]:
    for key, a, b in _pair(old.policy.roles, new.policy.roles, lambda r: r.id):
        touches = {f"role:{key}"}
        if a is None and b is not None:
            yield _change("ROLE_ADDED", key, f"{b.label}, held by {_plain(b.holder)}", old, new,
                          None, b.span, touches=touches)
        elif b is None and a is not None:
            yield _change("ROLE_REMOVED", key, f"{a.label}, held by {_plain(a.holder)}", old,
                          new, a.span, None, touches=touches)
        elif a is not None and b is not None:
            parts = [f"{n}: {_plain(getattr(a, n))} → {_plain(getattr(b, n))}"
                     for n in ("holder", "label", "external") if getattr(a, n) != getattr(b, n)]
            if parts:
                yield _change("ROLE_CHANGED", key, "; ".join(parts), old, new, a.span, b.span,
                              touches=touches)


def _la_profile(old: Side, new: Side) -> Iterator[Change]:
    ea = old.policy.la_profile.entries if old.policy.la_profile else ()
    eb = new.policy.la_profile.entries if new.policy.la_profile else ()
    for key, a, b in _pair(ea, eb, lambda e: e.id):
        subject = f"la_profile.{key}"
        if a is None and b is not None:
            yield _change("LA_ENTRY_ADDED", subject, f"{b.label}: {b.value}", old, new, None,
                          b.span)
        elif b is None and a is not None:
            yield _change("LA_ENTRY_REMOVED", subject, f"{a.label}: {a.value}", old, new,
                          a.span, None)
        elif a is not None and b is not None:
            parts = [f"{n}: {_plain(getattr(a, n))} → {_plain(getattr(b, n))}"
                     for n in ("value", "label", "source", "verified")
                     if getattr(a, n) != getattr(b, n)]
            if parts:
                yield _change("LA_ENTRY_CHANGED", subject, "; ".join(parts), old, new, a.span,
                              b.span)


# scenarios

def _scenario_deltas(old: Side, new: Side) -> tuple[int, list[ScenarioDelta]]:
    from cme_policy.scenarios import run_scenarios

    shared = {s.id for s in old.policy.scenarios} & {s.id for s in new.policy.scenarios}
    if not shared:
        return 0, []
    before = {r.scenario.id: _outcome(r) for r in run_scenarios(old.policy, old.root).results}
    after = {r.scenario.id: _outcome(r) for r in run_scenarios(new.policy, new.root).results}
    deltas = []
    for sid in sorted(shared):
        a, b = before[sid], after[sid]
        removed = sorted(set(a) - set(b))
        added = sorted(set(b) - set(a))
        if removed or added:
            touches = frozenset(k for line in removed + added for k in (a.get(line)
                                or b.get(line) or ()))
            deltas.append(ScenarioDelta(sid, tuple(removed), tuple(added), touches))
    return len(shared), deltas


def _outcome(result: object) -> dict[str, tuple[str, ...]]:
    """What a scenario's run showed, one line per fact, each with the ids it concerns."""
    from cme_policy.scenarios import ScenarioResult

    assert isinstance(result, ScenarioResult)
    if result.result is None:
        message = result.error.message if result.error else "did not run"
        return {f"error: {message}": ("*",)}
    out: dict[str, tuple[str, ...]] = {}
    pupil = result.result
    for rule in pupil.rules:
        if rule.fires:
            out[f"fires {rule.rule}"] = (f"rule:{rule.rule}",)
    for a in pupil.actions:
        where = f"{a.source} {a.source_id}" + (f".{a.state}" if a.state else "")
        out[f"action {where}: {a.action} — {a.role}, due {a.due or 'none'}, {a.status}"] = (
            f"{a.source}:{a.source_id}", f"role:{a.role}")
    for case in pupil.cases:
        out[f"case {case.procedure} opened {case.opened}: {case.state}"] = (
            f"procedure:{case.procedure}",)
    for v in pupil.all_violations:
        out[f"violation {v.procedure} {v.kind}: {v.event or '-'} in {v.state or '-'} "
            f"on {v.date}"] = (f"procedure:{v.procedure}",)
    return out


def _with_scenarios(change: Change, deltas: list[ScenarioDelta]) -> Change:
    touches = set(change.touches)
    ids = tuple(d.id for d in deltas if touches & d.touches or ("*" in d.touches and touches))
    if not ids:
        return change
    return Change(change.kind, change.subject, change.message, change.old_at, change.new_at,
                  change.weakens, change.details, change.touches, ids)


# -- output ----------------------------------------------------------------------------------

def render_text(report: DiffReport) -> str:
    lines = [f"cme-policy diff: {report.old} → {report.new}"]
    for change in report.changes:
        flag = "  WEAKENS A DUTY" if change.weakens else ""
        lines += ["", f"{change.kind} {change.subject}{flag}", f"  {change.message}"]
        lines += [f"    {d}" for d in change.details]
        lines.append(f"  at: {change.old_at or '(none)'} → {change.new_at or '(none)'}")
        if change.scenarios:
            lines.append(f"  scenarios whose outcome changes: {', '.join(change.scenarios)}")
    if report.scenarios:
        lines += ["", f"Scenarios whose outcome changes ({len(report.scenarios)} of "
                      f"{report.scenarios_compared} in both versions):"]
        for delta in report.scenarios:
            lines.append(f"  {delta.id}")
            lines += [f"    - {line}" for line in delta.removed]
            lines += [f"    + {line}" for line in delta.added]
    weak = len(report.weakening)
    lines += ["", f"{len(report.changes)} change(s), {weak} weaken a duty; "
                  f"{len(report.scenarios)} of {report.scenarios_compared} shared scenario(s) "
                  "change outcome"]
    return "\n".join(lines)


def render_json(report: DiffReport) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False)


def touched_kinds(report: DiffReport) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for change in report.changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return counts


def handbook_changes(report: DiffReport) -> ChangesSince:
    """The handbook's "Changes since the last review" from a diff (no file locations: the old
    version's paths mean nothing to a reader of the handbook)."""
    from cme_policy.backends.docs import ChangesSince, ChangeView

    return ChangesSince(report.old, tuple(
        ChangeView(c.kind, c.subject, c.message, c.details, c.weakens) for c in report.changes))
