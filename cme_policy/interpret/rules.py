"""Reference semantics, part 4: a rule for one pupil as of a date — fires, onset, obligations."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from cme_policy.expr.ast import Expr
from cme_policy.interpret.evaluate import Evaluator
from cme_policy.interpret.values import Dur, shift
from cme_policy.interpret.world import World
from cme_policy.ir import model as m
from cme_policy.runtime.pupil import CaseEvent
from cme_policy.runtime.results import DONE, DUE, OVERDUE, Action, RuleOutcome


def origin(world: World) -> dt.date:
    """Where a condition with no date of its own is taken to have started: the data's start."""
    return world.calendar.first_school_day


def due_date(world: World, ev: Evaluator, start: dt.date, within: Expr | None) -> dt.date | None:
    """A deadline counted from `start` in its own unit (school days follow the calendar)."""
    if within is None:
        return None
    value = ev.eval(within).value
    return shift(world.calendar, start, value) if isinstance(value, Dur) else None


def status(due: dt.date | None, as_of: dt.date, done: bool) -> str:
    if done:
        return DONE
    return OVERDUE if due is not None and as_of > due else DUE


def evaluate_rule(world: World, rule: m.Rule, ev: Evaluator,
                  events: Sequence[CaseEvent]) -> RuleOutcome:
    held = ev.eval(rule.when)
    if held.value is not True:
        return RuleOutcome(rule.id, False, None)
    onset = held.since or origin(world)
    actions = tuple(_obligation(world, rule, o, ev, onset, events) for o in rule.then)
    return RuleOutcome(rule.id, True, onset, actions)


def _obligation(world: World, rule: m.Rule, o: m.Obligation, ev: Evaluator, onset: dt.date,
                events: Sequence[CaseEvent]) -> Action:
    due = due_date(world, ev, onset, o.within)
    done = o.done_by is not None and any(
        e.event == o.done_by and onset <= e.date <= ev.as_of for e in events)
    return Action("rule", rule.id, o.action, o.role, due, status(due, ev.as_of, done),
                  o.clauses or rule.clauses, o.source or rule.source)
