"""Runtime results: what a pupil needs, from whom, by when, and what was missed.

Both the interpreter and the generated checkers return these, so the two can be compared
value for value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DUE, OVERDUE, DONE, VIOLATED = "due", "overdue", "done", "violated"


@dataclass(frozen=True, slots=True)
class Action:
    """One required action: from a rule's obligation or a procedure's current state."""

    source: str  # "rule" | "procedure"
    source_id: str
    action: str
    role: str | None
    due: dt.date | None
    status: str
    clauses: tuple[str, ...] = ()
    statute: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """Something the case log shows was done wrongly or not at all."""

    procedure: str
    kind: str  # illegal_event | no_open_case | deadline_missed | invariant | late | unlawful
    date: dt.date
    message: str
    state: str | None = None
    event: str | None = None
    clauses: tuple[str, ...] = ()
    source: str = "procedure"
    """Where it comes from: a procedure case, a rule (its statutory action done late), or
    the law (a safeguard: `procedure` is then the safeguard's id, `state` the requirement
    that failed)."""


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: str
    fires: bool
    onset: dt.date | None
    actions: tuple[Action, ...] = ()
    violations: tuple[Violation, ...] = ()
    """A statutory action done after its deadline (kind `late`)."""


@dataclass(frozen=True, slots=True)
class Step:
    date: dt.date
    trigger: str  # an event name, "opened" or "deadline"
    state: str


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    procedure: str
    opened: dt.date
    state: str
    entered: dt.date
    closed: bool
    history: tuple[Step, ...] = ()
    actions: tuple[Action, ...] = ()
    violations: tuple[Violation, ...] = ()


@dataclass(frozen=True, slots=True)
class PupilResult:
    upn: str
    as_of: dt.date
    rules: tuple[RuleOutcome, ...] = ()
    cases: tuple[CaseOutcome, ...] = ()
    violations: tuple[Violation, ...] = ()

    @property
    def actions(self) -> tuple[Action, ...]:
        out = [a for r in self.rules for a in r.actions]
        return tuple(out + [a for c in self.cases for a in c.actions])

    @property
    def all_violations(self) -> tuple[Violation, ...]:
        late = tuple(v for r in self.rules for v in r.violations)
        return late + self.violations + tuple(v for c in self.cases for v in c.violations)

    def state_of(self, procedure: str) -> str | None:
        states = [c.state for c in self.cases if c.procedure == procedure]
        return states[-1] if states else None


def late_violation(source: str, action: str, due: dt.date, done_on: dt.date, late_by: int,
                   unit: str, clauses: tuple[str, ...], state: str | None = None) -> Violation:
    """A statutory action done after its deadline: a violation that says by how much, in the
    deadline's own unit (both the interpreter and the generated checkers word it here)."""
    unit = unit if late_by != 1 else unit.removesuffix("s")
    return Violation(source, "late", done_on,
                     f"'{action}' was done on {done_on.isoformat()}, {late_by} {unit} after "
                     f"its deadline of {due.isoformat()}", state, None, clauses,
                     "procedure" if state else "rule")


def unlawful_violation(safeguard: str, requirement: str, title: str, source: str,
                       event: str, day: dt.date, clauses: tuple[str, ...]) -> Violation:
    """A step a safeguard of the law layer forbids (a deletion with no ground): the
    requirement that did not hold, worded here for the interpreter and the checkers alike."""
    return Violation(safeguard, "unlawful", day,
                     f"'{event}' recorded on {day.isoformat()} was not lawful: the law requires "
                     f"that {title} ({source}), and that did not hold",
                     requirement, event, clauses, "law")
