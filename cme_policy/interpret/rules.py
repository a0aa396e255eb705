"""Reference semantics, part 4: a rule for one pupil as of a date — fires, onset, obligations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cme_policy.expr import ast
from cme_policy.expr.ast import Expr
from cme_policy.interpret.evaluate import Evaluator
from cme_policy.interpret.school_days import CalendarError
from cme_policy.interpret.values import Dur, shift
from cme_policy.interpret.world import World
from cme_policy.ir import model as m
from cme_policy.runtime.pupil import CaseEvent
from cme_policy.runtime.results import (
    DONE,
    DUE,
    OVERDUE,
    Action,
    RuleOutcome,
    Violation,
    late_violation,
)


def origin(world: World) -> dt.date:
    """Where a condition with no date of its own is taken to have started: the data's start."""
    return world.days.first


def due_date(world: World, ev: Evaluator, start: dt.date, within: Expr | None) -> dt.date | None:
    """A deadline counted from `start` in its own unit (school days follow the calendar)."""
    if within is None:
        return None
    value = ev.eval(within).value
    return shift(world.days, start, value) if isinstance(value, Dur) else None


def status(due: dt.date | None, as_of: dt.date, done: bool) -> str:
    if done:
        return DONE
    return OVERDUE if due is not None and as_of > due else DUE


def in_force(world: World, rule: m.Rule, day: dt.date) -> bool:
    """A rule fires only on days its parameters are in effect (their effective dates)."""
    start, end = world.in_force.get(rule.id, (None, None))
    return (start is None or start <= day) and (end is None or day <= end)


def evaluate_rule(world: World, rule: m.Rule, ev: Evaluator,
                  events: Sequence[CaseEvent]) -> RuleOutcome:
    if not in_force(world, rule, ev.as_of):
        return RuleOutcome(rule.id, False, None)
    held = ev.eval(rule.when)
    if held.value is not True:
        return RuleOutcome(rule.id, False, None)
    onset = held.since or origin(world)
    done = [_obligation(world, rule, o, ev, onset, events) for o in rule.then]
    return RuleOutcome(rule.id, True, onset, tuple(a for a, _ in done),
                       tuple(v for _, late in done for v in late))


def advance_start(world: World, onset: dt.date) -> dt.date:
    """The first day an action counts for a duty arising on `onset`: the policy's
    `done_in_advance` before it, never before the calendar's first school day."""
    if world.early is None or world.early.amount == 0:
        return onset
    try:
        return shift(world.days, onset, world.early, -1)
    except CalendarError:
        return world.days.first


def first_done(events: Sequence[CaseEvent], event: str | None, start: dt.date,
               as_of: dt.date) -> dt.date | None:
    """The first logged `event` from `start` to the as-of date."""
    return next((e.date for e in events if e.event == event and start <= e.date <= as_of), None)


def lateness(world: World, source: str, action: str, due: dt.date | None,
             done_on: dt.date | None, unit: ast.Unit | None, clauses: tuple[str, ...],
             state: str | None = None) -> tuple[Violation, ...]:
    """A statutory action done after its deadline: how late, in the deadline's unit (school
    days counted on the calendar; any other unit in days)."""
    if due is None or done_on is None or done_on <= due:
        return ()
    if unit is ast.Unit.SCHOOL_DAYS:
        n = world.days.between(due, done_on)
        return (late_violation(source, action, due, done_on, max(1, n), "school days", clauses,
                               state),)
    return (late_violation(source, action, due, done_on, (done_on - due).days, "days", clauses,
                           state),)


def _obligation(world: World, rule: m.Rule, o: m.Obligation, ev: Evaluator, onset: dt.date,
                events: Sequence[CaseEvent]) -> tuple[Action, tuple[Violation, ...]]:
    due = due_date(world, ev, onset, o.within)
    start = advance_start(world, onset) if o.in_advance else onset
    done_on = first_done(events, o.done_by, start, ev.as_of) if o.done_by is not None else None
    action = Action("rule", rule.id, o.action, o.role, due,
                    status(due, ev.as_of, done_on is not None), o.clauses or rule.clauses,
                    o.source or rule.source)
    if (rule.id, o.action) not in world.statutory_deadlines:
        return action, ()
    unit = _unit(ev, o.within)
    return action, lateness(world, rule.id, o.action, due, done_on, unit,
                            o.clauses or rule.clauses)


def _unit(ev: Evaluator, within: Expr | None) -> ast.Unit | None:
    value = ev.eval(within).value if within is not None else None
    return value.unit if isinstance(value, Dur) else None
