"""The policy IR: frozen, slotted dataclasses with tuple children; spans never affect equality."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from cme_policy.expr.ast import DurationLit, Expr
from cme_policy.source.span import Span

NOWHERE = Span("<policy>", 1, 1, 1, 1)


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


class Refs(NamedTuple):
    """Where each field's value (and each item of a list field) was written: names such as
    `role`, `role=headteacher`, `then#0` or `states.due`, and their spans, in parallel.

    Two tuples rather than one pair per name: a 1 MB policy has some sixty thousand names, and
    the cyclic collector walks every pair still alive; a tuple of strings it soon stops walking.
    """

    names: tuple[str, ...] = ()
    spans: tuple[Span, ...] = ()


NO_REFS = Refs()


def _refs() -> Refs:
    return field(default=NO_REFS, compare=False, repr=False)


def ref_span(refs: Refs, fallback: Span, key: str, value: str | None = None) -> Span:
    """Where a field's value (or one item of a list field) was written, for precise carets."""
    wanted = (f"{key}={value}", key) if value is not None else (key,)
    for name in wanted:
        if name in refs.names:
            return refs.spans[refs.names.index(name)]
    return fallback


class Located:
    """Mixin for IR nodes that remember where each of their fields' values was written."""

    __slots__ = ()
    refs: Refs
    span: Span

    def at(self, key: str, value: str | None = None) -> Span:
        return ref_span(self.refs, self.span, key, value)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    title: str
    school: str
    local_authority: str
    text: str
    reviewed: dt.date
    review_cycle: DurationLit
    adopted: dt.date | None = None
    governing_body: str | None = None
    extends: str | None = None
    calendar: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ReviewItem:
    summary: str
    text_says: str | None = None
    law_says: str | None = None
    sources: tuple[str, ...] = ()
    verified: bool = True
    span: Span = _span()
    proposed: str | None = None
    """Replacement wording the school proposes to the governors."""


@dataclass(frozen=True, slots=True)
class Clause:
    """A clause of the policy text, with its stable id and its original words."""

    id: str
    text: str
    heading: str | None = None
    informative: bool = False
    note: str | None = None
    review: tuple[ReviewItem, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    label: str
    holder: str | None = None
    external: bool = False
    description: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EnumMember:
    id: str
    label: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EnumDef:
    id: str
    label: str
    members: tuple[EnumMember, ...]
    description: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AttendanceCode(Located):
    code: str
    meaning: str
    category: str
    possible: bool
    verified: bool = True
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Fact(Located):
    id: str
    type_name: str
    label: str
    negated: str | None = None
    origin: str | None = None
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()
    lasts: str | Expr | None = None
    """How long a value an event sets holds: "until_present" (until the pupil next attends)
    or a duration literal; None: until another event sets it."""


@dataclass(frozen=True, slots=True)
class Event(Located):
    id: str
    label: str
    role: str | None = None
    description: str | None = None
    sets: tuple[tuple[str, Expr], ...] = ()
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class MeasureArg(Located):
    name: str
    type_name: str
    label: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Measure(Located):
    """A value derived from a pupil's attendance marks, declared rather than hand-coded."""

    id: str
    kind: str
    label: str
    codes: tuple[str, ...] = ()
    args: tuple[MeasureArg, ...] = ()
    phrases: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Parameter:
    group: str
    name: str
    value: Expr
    label: str
    source: str | None = None
    verified: bool = True
    statutory: bool = False
    stricter: str | None = None  # "lower" | "higher"
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    description: str | None = None
    span: Span = _span()

    @property
    def qualified(self) -> str:
        return f"params.{self.group}.{self.name}"


@dataclass(frozen=True, slots=True)
class LAEntry:
    id: str
    value: str
    label: str
    source: str | None = None
    verified: bool = True
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LAProfile:
    name: str
    entries: tuple[LAEntry, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Obligation(Located):
    action: str
    role: str
    within: Expr | None = None
    clauses: tuple[str, ...] = ()
    source: str | None = None
    done_by: str | None = None
    span: Span = _span()
    refs: Refs = _refs()
    in_advance: bool = False
    """A `done_by` event before the duty arises (within the policy's `done_in_advance`)
    counts; without it, only one on or after the onset does (first-day calling answers
    that day's absence, not an earlier one)."""


@dataclass(frozen=True, slots=True)
class Rule(Located):
    id: str
    title: str
    clauses: tuple[str, ...]
    when: Expr
    then: tuple[Obligation, ...] = ()
    opens: str | None = None
    source: str | None = None
    statutory: bool = False
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Requirement(Located):
    """One condition of a safeguard, with the statute it comes from."""

    id: str
    title: str
    when: Expr
    source: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Safeguard(Located):
    """What the law requires whenever an event makes `fact` true (a name deleted from the
    admission register), whatever the event is called and whichever procedure recorded it:
    on that day every requirement holds, or the step is unlawful and changes nothing."""

    id: str
    title: str
    fact: str
    requirements: tuple[Requirement, ...]
    clauses: tuple[str, ...] = ()
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Transition(Located):
    event: str
    target: str
    guard: Expr | None = None
    label: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Deadline(Located):
    within: Expr
    escalate_to: str | None = None
    action: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class State(Located):
    id: str
    title: str
    role: str | None = None
    final: bool = False
    clauses: tuple[str, ...] = ()
    deadline: Deadline | None = None
    transitions: tuple[Transition, ...] = ()
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Invariant(Located):
    """`passes`: every path to `state` passes `through`; `before_leaving`: `state` is not left
    until `through` was visited."""

    id: str
    kind: str
    state: str
    through: str
    clauses: tuple[str, ...] = ()
    source: str | None = None
    statutory: bool = False
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Procedure(Located):
    id: str
    title: str
    clauses: tuple[str, ...]
    initial: str
    states: tuple[State, ...]
    opened_by: tuple[str, ...] = ()
    invariants: tuple[Invariant, ...] = ()
    description: str | None = None
    span: Span = _span()
    refs: Refs = _refs()
    in_advance: bool = False
    """Its events logged (within the policy's `done_in_advance`) before a case opens count
    as done when it opens; without it, such an event stays unexplained."""

    def state(self, state_id: str) -> State | None:
        return next((s for s in self.states if s.id == state_id), None)


@dataclass(frozen=True, slots=True)
class MarkRun:
    start: dt.date
    sessions: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ScenarioEvent(Located):
    date: dt.date
    event: str
    role: str | None = None
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Expectation(Located):
    actions: tuple[tuple[tuple[str, str], ...], ...] = ()
    states: tuple[tuple[str, str], ...] = ()
    violations: tuple[tuple[tuple[str, str], ...], ...] = ()
    fires: tuple[str, ...] = ()
    not_fires: tuple[str, ...] = ()
    nothing: bool = False
    written: tuple[str, ...] = ()
    span: Span = _span()
    refs: Refs = _refs()


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    as_of: dt.date
    expect: Expectation
    pupil: tuple[tuple[str, Expr], ...] = ()
    marks: tuple[MarkRun, ...] = ()
    events: tuple[ScenarioEvent, ...] = ()
    calendar: str | None = None
    description: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Policy:
    manifest: Manifest
    clauses: tuple[Clause, ...] = ()
    roles: tuple[Role, ...] = ()
    enums: tuple[EnumDef, ...] = ()
    attendance_codes: tuple[AttendanceCode, ...] = ()
    facts: tuple[Fact, ...] = ()
    events: tuple[Event, ...] = ()
    measures: tuple[Measure, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    la_profile: LAProfile | None = None
    rules: tuple[Rule, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    files: tuple[SourceFile, ...] = ()
    safeguards: tuple[Safeguard, ...] = ()
    law_files: tuple[str, ...] = ()
    """The files of the law layer (`law: true`): what they define no overlay may change."""
