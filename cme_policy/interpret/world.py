"""Reference semantics, part 2: what the interpreter needs from a policy, resolved once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from cme_policy.expr.ast import Expr, Name
from cme_policy.interpret.values import literal_value
from cme_policy.ir import model as m
from cme_policy.runtime import measures as rt
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.marks import CodeSet, CodeTable
from cme_policy.runtime.pupil import CaseEvent, FactValue

MeasureFn = Callable[..., object]
OnsetFn = Callable[..., "dt.date | None"]
MEASURE_FUNCTIONS: dict[str, tuple[MeasureFn, OnsetFn]] = {
    "consecutive_school_days": (rt.consecutive_school_days, rt.consecutive_school_days_onset),
    "count_sessions": (rt.count_sessions, rt.count_sessions_onset),
    "count_school_days": (rt.count_school_days, rt.count_school_days_onset),
    "share_of_possible_sessions": (rt.share_of_possible_sessions,
                                   rt.share_of_possible_sessions_onset),
    "days_since_last_present": (rt.days_since_last_present, rt.days_since_last_present_onset),
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

    @staticmethod
    def build(policy: m.Policy, calendar: SchoolCalendar) -> "World":
        table = code_table(policy)
        params = {p.qualified: literal_value(p.value) for p in policy.parameters}
        measures = {x.id: (x, table.select(x.codes)) for x in policy.measures}
        sets = {e.id: tuple((f, fact_value(v)) for f, v in e.sets) for e in policy.events}
        proc_events = {p.id: frozenset(t.event for s in p.states for t in s.transitions)
                       for p in policy.procedures}
        return World(policy, calendar, table, params, measures, sets, proc_events)

    def facts_as_of(self, static: Mapping[str, FactValue], events: Iterable[CaseEvent],
                    as_of: dt.date) -> dict[str, tuple[object, dt.date | None]]:
        """Each fact's value and the date it was last set (None: known from the pupils file)."""
        facts: dict[str, tuple[object, dt.date | None]] = {k: (v, None) for k, v in static.items()}
        for event in sorted(events, key=lambda e: e.date):  # same-day events keep log order
            if event.date > as_of:
                break
            for name, value in self.event_sets.get(event.event, ()):
                facts[name] = (value, event.date)
        return facts


def fact_value(expr: Expr) -> object:
    """A fact's value as written in YAML: a literal, or an enum member by name."""
    return expr.dotted if isinstance(expr, Name) else literal_value(expr)
