"""Reference semantics, part 5: replay a pupil's case log through one procedure.

A case opens when a rule that `opens` the procedure fires (at its onset) or when one of its
`opened_by` events is logged. Events then move it through its states in date order; a state
not left by the end of its deadline escalates the next day. At the as-of date the case
reports its state, what is due or overdue, and what the log shows was done wrongly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cme_policy.interpret.evaluate import Evaluator
from cme_policy.interpret.rules import advance_start, due_date, lateness, status
from cme_policy.interpret.values import Dur
from cme_policy.interpret.world import World
from cme_policy.ir import model as m
from cme_policy.runtime.pupil import CaseEvent
from cme_policy.runtime.results import Action, CaseOutcome, Step, Violation

EvaluatorAt = Callable[[dt.date], Evaluator]
ONE_DAY = dt.timedelta(days=1)


@dataclass
class Replay:
    """What one procedure made of the log: its cases, and which events it used or refused."""

    cases: list[CaseOutcome] = field(default_factory=list)
    accepted: set[int] = field(default_factory=set)
    refused: dict[int, Violation] = field(default_factory=dict)
    unlawful: set[int] = field(default_factory=set)
    """Refused because no transition's guard held: the step was not lawful on its date."""


class _Case:
    """One open case while the log is replayed."""

    def __init__(self, world: World, proc: m.Procedure, at: EvaluatorAt, opened: dt.date) -> None:
        self.world, self.proc, self.at = world, proc, at
        self.opened = opened
        self.state = proc.initial
        self.entered = opened
        self.history: list[Step] = [Step(opened, "opened", proc.initial)]
        self.visited = {proc.initial}
        self.violations: list[Violation] = []

    def current(self) -> m.State:
        state = self.proc.state(self.state)
        assert state is not None
        return state

    def deadline(self) -> dt.date | None:
        d = self.current().deadline
        return due_date(self.world, self.at(self.entered), self.entered, d.within) if d else None

    def enter(self, target: str, when: dt.date, trigger: str) -> None:
        self._check_late(when, trigger)
        self._check_invariants(target, when)
        self.state, self.entered = target, when
        self.history.append(Step(when, trigger, target))
        self.visited.add(target)

    def _check_late(self, when: dt.date, trigger: str) -> None:
        """Leaving a state with a statutory deadline (and nowhere to escalate) after it."""
        state = self.current()
        if trigger == "deadline" or state.deadline is None or state.deadline.escalate_to or \
                (self.proc.id, state.id) not in self.world.statutory_deadlines:
            return
        length = self.at(self.entered).eval(state.deadline.within).value
        unit = length.unit if isinstance(length, Dur) else None
        self.violations += lateness(self.world, self.proc.id, state.deadline.action or state.title,
                                    self.deadline(), when, unit, state.clauses or self.proc.clauses,
                                    state.id)

    def _check_invariants(self, target: str, when: dt.date) -> None:
        for inv in self.proc.invariants:
            broken = (inv.kind == "passes" and target == inv.state) or (
                inv.kind == "before_leaving" and self.state == inv.state and target != inv.state)
            if broken and inv.through not in self.visited:
                self.violations.append(Violation(
                    self.proc.id, "invariant", when, _invariant_message(self.proc, inv),
                    target, None, inv.clauses or self.proc.clauses))

    def escalate_until(self, limit: dt.date) -> None:
        """Apply every deadline that passed before `limit` (escalating the day after it)."""
        for _ in range(len(self.proc.states) * 50):
            state, due = self.current(), self.deadline()
            if state.final or due is None or state.deadline is None or due + ONE_DAY > limit:
                return
            target = state.deadline.escalate_to
            if target is None:
                return
            self.violations.append(Violation(
                self.proc.id, "deadline_missed", due + ONE_DAY,
                f"'{state.title}' was not completed by {due.isoformat()}; escalated",
                state.id, None, state.clauses or self.proc.clauses))
            self.enter(target, due + ONE_DAY, "deadline")

    def outcome(self, as_of: dt.date) -> CaseOutcome:
        state = self.current()
        actions: tuple[Action, ...] = ()
        if not state.final:
            due = self.deadline()
            text = state.deadline.action if state.deadline and state.deadline.action \
                else state.title
            actions = (Action("procedure", self.proc.id, text, state.role, due,
                              status(due, as_of, False), state.clauses or self.proc.clauses,
                              None, state.id),)
        return CaseOutcome(self.proc.id, self.opened, self.state, self.entered, state.final,
                           tuple(self.history), actions, tuple(self.violations))


def _invariant_message(proc: m.Procedure, inv: m.Invariant) -> str:
    state, through = proc.state(inv.state), proc.state(inv.through)
    a = state.title if state else inv.state
    b = through.title if through else inv.through
    if inv.kind == "passes":
        return f"reached '{a}' without first '{b}'"
    return f"left '{a}' without first '{b}'"


def replay(world: World, proc: m.Procedure, openers: Sequence[dt.date],
           events: Sequence[CaseEvent], at: EvaluatorAt, as_of: dt.date) -> Replay:
    """Run the procedure over the log: openers first on a date, then events in log order.
    Its events logged while no case was open wait; when a case opens, those within the
    policy's `done_in_advance` count as done on the day it opens."""
    result = Replay()
    items = sorted([(d, 0, -1) for d in openers] + [
        (e.date, 1, i) for i, e in enumerate(events) if e.date <= as_of])
    moves = world.procedure_events[proc.id]
    case: _Case | None = None
    waiting: list[int] = []
    for when, kind, index in items:
        if case is not None:
            case.escalate_until(when)
        name = events[index].event if kind else ""
        if kind == 0 or name in proc.opened_by:
            if case is None:
                case = _done_in_advance(_Case(world, proc, at, when), events, waiting, result,
                                        as_of)
                waiting = []
            if kind:
                result.accepted.add(index)
            continue
        if case is not None and name in moves:
            _apply(case, events[index], index, result)
            case = _close_if_final(case, result, as_of)
        elif name in moves:
            waiting.append(index)
    if case is not None:
        case.escalate_until(as_of)
        result.cases.append(case.outcome(as_of))
    return result


def _close_if_final(case: _Case, result: Replay, as_of: dt.date) -> _Case | None:
    if not case.current().final:
        return case
    result.cases.append(case.outcome(as_of))
    return None


def _done_in_advance(case: _Case, events: Sequence[CaseEvent], waiting: Sequence[int],
                     result: Replay, as_of: dt.date) -> _Case | None:
    """Apply the waiting events done in advance, as of the day the case opened; one the case
    cannot take is left unexplained (no refusal: it was logged before any case)."""
    if not case.proc.in_advance:
        return case
    start = advance_start(case.world, case.opened)
    for index in waiting:
        event = events[index]
        if event.date < start:
            continue
        for t in case.current().transitions:
            if t.event == event.event and (t.guard is None or case.at(event.date).holds(t.guard)):
                case.enter(t.target, case.opened, event.event)
                result.accepted.add(index)
                break
        if case.current().final:
            return _close_if_final(case, result, as_of)
    return case


def _apply(case: _Case, event: CaseEvent, index: int, result: Replay) -> None:
    """Take the first transition on the event whose guard holds; otherwise record a refusal."""
    state = case.current()
    candidates = [t for t in state.transitions if t.event == event.event]
    for t in candidates:
        if t.guard is None or case.at(event.date).holds(t.guard):
            case.enter(t.target, event.date, event.event)
            result.accepted.add(index)
            return
    why = "no transition applies" if candidates else "not allowed"
    if candidates:
        result.unlawful.add(index)
    result.refused[index] = Violation(
        case.proc.id, "illegal_event", event.date,
        f"'{event.event}' recorded while the case was at '{state.title}' ({why} there)",
        state.id, event.event, state.clauses or case.proc.clauses)
