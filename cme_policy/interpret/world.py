"""Reference semantics, part 2: what the interpreter needs from a policy, resolved once.

The interpreter takes the runtime's input values — a `SchoolCalendar`, a pupil's
`PupilMarks`, `Pupil` and `CaseEvent` — but none of the runtime's logic: school days are
walked on the calendar's plain data (`school_days`), marks are read into a `Register` and
measured day by day (`measures`), compulsory school age is worked out from the Act
(`school_age`). tests/interpret/test_independence.py holds it to that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cme_policy.expr.ast import DurationLit
from cme_policy.interpret import school_age
from cme_policy.interpret.measures import Register
from cme_policy.interpret.school_days import SchoolDays
from cme_policy.interpret.values import Dur, shift
from cme_policy.ir import model as m
from cme_policy.ir.derived import early_window, rule_in_force, statutory_deadline
from cme_policy.ir.values import fact_value, literal_value
from cme_policy.runtime.pupil import CaseEvent, FactValue

if TYPE_CHECKING:
    from cme_policy.runtime.calendar import SchoolCalendar
    from cme_policy.runtime.marks import PupilMarks

__all__ = ["ATTENDING_CATEGORIES", "World", "fact_value"]

ONE_DAY = dt.timedelta(days=1)
ATTENDING_CATEGORIES = frozenset({"present", "attending_elsewhere"})
"""The national code categories in which a pupil attends (docs/semantics.md, `lasts:
until_present`): present at school, or at an approved activity off site."""


@dataclass(frozen=True)
class World:
    """A checked policy on a school calendar: parameters, measures and events, resolved."""

    policy: m.Policy
    calendar: SchoolCalendar
    """The calendar as given (its plain data is read once, into `days`)."""
    days: SchoolDays
    possible: frozenset[str]
    """Codes whose sessions are possible sessions."""
    attending: frozenset[str]
    """Codes in which the pupil attends (`lasts: until_present` ends on one)."""
    params: Mapping[str, object]
    measures: Mapping[str, tuple[m.Measure, frozenset[str]]]
    event_sets: Mapping[str, tuple[tuple[str, object], ...]]
    procedure_events: Mapping[str, frozenset[str]] = field(default_factory=dict)
    scopes: Mapping[str, m.Fact] = field(default_factory=dict)
    """Facts whose value an event sets lasts only a while (`lasts:`)."""
    in_force: Mapping[str, tuple[dt.date | None, dt.date | None]] = field(default_factory=dict)
    early: Dur | None = None
    statutory_deadlines: frozenset[tuple[str, str]] = frozenset()
    """(procedure, state) and (rule, action) whose deadline is statutory: doing it late is a
    violation."""
    permissioned: frozenset[str] = frozenset()
    """Events every transition of every procedure takes only under a guard."""
    _registers: list[tuple[PupilMarks, Register]] = field(default_factory=list, repr=False,
                                                          compare=False)

    @staticmethod
    def build(policy: m.Policy, calendar: SchoolCalendar) -> World:
        codes = policy.attendance_codes
        params = {p.qualified: literal_value(p.value) for p in policy.parameters}
        measures = {x.id: (x, frozenset(x.codes)) for x in policy.measures}
        sets = {e.id: tuple((f, fact_value(v)) for f, v in e.sets) for e in policy.events}
        proc_events = {p.id: frozenset(t.event for s in p.states for t in s.transitions)
                       for p in policy.procedures}
        scopes = {f.id: f for f in policy.facts if f.lasts is not None}
        windows = {r.id: rule_in_force(policy, r) for r in policy.rules}
        found = early_window(policy)
        early = Dur(found[0], found[1]) if found else None
        statutory = frozenset((p.id, st.id) for p in policy.procedures for st in p.states
                              if st.deadline and statutory_deadline(policy, st.deadline.within))
        statutory |= frozenset((r.id, o.action) for r in policy.rules for o in r.then
                               if statutory_deadline(policy, o.within))
        guarded: dict[str, bool] = {}
        for proc in policy.procedures:
            for state in proc.states:
                for t in state.transitions:
                    guarded[t.event] = guarded.get(t.event, True) and t.guard is not None
        permissioned = frozenset(e for e, always in guarded.items() if always)
        return World(
            policy, calendar, SchoolDays(calendar),
            possible=frozenset(c.code for c in codes if c.possible),
            attending=frozenset(c.code for c in codes if c.category in ATTENDING_CATEGORIES),
            params=params, measures=measures, event_sets=sets, procedure_events=proc_events,
            scopes=scopes, in_force=windows, early=early, statutory_deadlines=statutory,
            permissioned=permissioned)

    def register(self, marks: PupilMarks) -> Register:
        """The pupil's marks read onto the school days (the last pupil's are kept: one
        evaluation asks for the same marks many times)."""
        for seen, reg in self._registers:
            if seen is marks:
                return reg
        reg = Register(self.days, marks)
        self._registers[:] = [(marks, reg)]
        return reg

    def facts_as_of(self, static: Mapping[str, FactValue], events: Iterable[CaseEvent],
                    as_of: dt.date, marks: PupilMarks | None = None
                    ) -> dict[str, tuple[object, dt.date | None]]:
        """Each fact's value and the date since which it has held (None: known from the
        pupils file): the file's, the law's (compulsory school age), then the case log's,
        each event's value ending where its fact's `lasts:` says."""
        facts: dict[str, tuple[object, dt.date | None]] = {k: (v, None) for k, v in static.items()}
        facts.update(self._school_age(static.get("date_of_birth"), as_of))
        for event in sorted(events, key=lambda e: e.date):  # same-day events keep log order
            if event.date > as_of:
                break
            for name, value in self.event_sets.get(event.event, ()):
                facts[name] = (value, event.date)
        for name, fact in self.scopes.items():
            value, since = facts.get(name, (None, None))
            if since is None or value is False or value is None:
                continue
            ends = self._scope_end(fact, since, as_of, marks)
            if ends is not None:
                facts[name] = (False if isinstance(value, bool) else None, ends)
        return facts

    @staticmethod
    def _school_age(born: object, day: dt.date) -> dict[str, tuple[object, dt.date | None]]:
        """Education Act 1996 s.8, from the date of birth: true from its first day to its last."""
        if not isinstance(born, dt.date):
            return {}
        start, end = school_age.first_day(born), school_age.last_day(born)
        first: dict[str, tuple[object, dt.date | None]] = {
            "compulsory_school_age_start": (start, None)}
        if day < start:
            return {**first, "compulsory_school_age": (False, None)}
        if day <= end:
            return {**first, "compulsory_school_age": (True, start)}
        return {**first, "compulsory_school_age": (False, end + ONE_DAY)}

    def _scope_end(self, fact: m.Fact, set_on: dt.date, as_of: dt.date,
                   marks: PupilMarks | None) -> dt.date | None:
        """The first day the value no longer holds, if that is on or before `as_of`: walk
        the school days after `set_on` for one the pupil attended, or count the period."""
        if fact.lasts == "until_present":
            if marks is None:
                return None
            return self.register(marks).first_day_with(self.attending, set_on, as_of)
        assert isinstance(fact.lasts, DurationLit)
        last = shift(self.days, set_on, Dur(fact.lasts.amount, fact.lasts.unit))
        return last + ONE_DAY if last < as_of else None
