"""Reference semantics, part 2: what the interpreter needs from a policy, resolved once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from cme_policy.expr.ast import DurationLit, Expr, Name
from cme_policy.interpret.values import Dur, literal_value, shift
from cme_policy.ir import model as m
from cme_policy.ir.derived import early_window, rule_in_force, statutory_deadline
from cme_policy.runtime import measures as rt
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.facts import ATTENDING_CATEGORIES
from cme_policy.runtime.marks import CodeSet, CodeTable, PupilMarks
from cme_policy.runtime.pupil import CaseEvent, FactValue
from cme_policy.runtime.school_age import compulsory_school_age_end, compulsory_school_age_start

ONE_DAY = dt.timedelta(days=1)

MeasureFn = Callable[..., object]
OnsetFn = Callable[..., "dt.date | None"]
MEASURE_FUNCTIONS: dict[str, tuple[MeasureFn, OnsetFn]] = {
    "consecutive_school_days": (rt.consecutive_school_days, rt.consecutive_school_days_onset),
    "count_sessions": (rt.count_sessions, rt.count_sessions_onset),
    "count_school_days": (rt.count_school_days, rt.count_school_days_onset),
    "share_of_possible_sessions": (rt.share_of_possible_sessions,
                                   rt.share_of_possible_sessions_onset),
    "days_since_last_present": (rt.days_since_last_present, rt.days_since_last_present_onset),
    "school_days_since_last_present": (rt.school_days_since_last_present,
                                       rt.school_days_since_last_present_onset),
    "oldest_unresolved": (rt.oldest_unresolved, rt.oldest_unresolved_onset),
}


def code_table(policy: m.Policy) -> CodeTable:
    """The attendance codes come from the policy's vocabulary, never from Python."""
    return CodeTable.from_entries((c.code, c.category, c.possible) for c in policy.attendance_codes)


@dataclass(frozen=True)
class World:
    """A checked policy on a school calendar: parameters, measures and events, resolved."""

    policy: m.Policy
    calendar: SchoolCalendar
    table: CodeTable
    params: Mapping[str, object]
    measures: Mapping[str, tuple[m.Measure, CodeSet]]
    event_sets: Mapping[str, tuple[tuple[str, object], ...]]
    procedure_events: Mapping[str, frozenset[str]] = field(default_factory=dict)
    scopes: Mapping[str, m.Fact] = field(default_factory=dict)
    """Facts whose value an event sets lasts only a while (`lasts:`)."""
    in_force: Mapping[str, tuple[dt.date | None, dt.date | None]] = field(default_factory=dict)
    early: Dur | None = None
    statutory_deadlines: frozenset[tuple[str, str]] = frozenset()
    permissioned: frozenset[str] = frozenset()
    """Events every transition of every procedure takes only under a guard."""
    """(procedure, state) and (rule, action) whose deadline is statutory: doing it late is a
    violation."""

    @staticmethod
    def build(policy: m.Policy, calendar: SchoolCalendar) -> "World":
        table = code_table(policy)
        params = {p.qualified: literal_value(p.value) for p in policy.parameters}
        measures = {x.id: (x, table.select(x.codes)) for x in policy.measures}
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
        return World(policy, calendar, table, params, measures, sets, proc_events, scopes,
                     windows, early, statutory, permissioned)

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
        start, end = compulsory_school_age_start(born), compulsory_school_age_end(born)
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
            for day in self.calendar.school_days(set_on + ONE_DAY, as_of) if as_of > set_on else ():
                for session in ("AM", "PM"):
                    code = marks.code_at(day, session)
                    if code is not None and self.table.category(code) in ATTENDING_CATEGORIES:
                        return day
            return None
        assert isinstance(fact.lasts, DurationLit)
        last = shift(self.calendar, set_on, Dur(fact.lasts.amount, fact.lasts.unit))
        return last + ONE_DAY if last < as_of else None


def fact_value(expr: Expr) -> object:
    """A fact's value as written in YAML: a literal, or an enum member by name."""
    return expr.dotted if isinstance(expr, Name) else literal_value(expr)
