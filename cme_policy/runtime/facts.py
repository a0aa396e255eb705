"""Runtime: a pupil's facts on a day — the pupils file, the case log with each fact's time
scope, and the facts the law defines (compulsory school age from the date of birth).

Imports only the standard library and `cme_policy.runtime`, because generated code imports
it. The interpreter (`cme_policy.interpret.world`) works the same facts out its own naive
way; the differential tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.marks import CodeSet, PupilMarks
from cme_policy.runtime.measures import since_day
from cme_policy.runtime.pupil import CaseEvent
from cme_policy.runtime.school_age import compulsory_school_age_end, compulsory_school_age_start

__all__ = ["ATTENDING_CATEGORIES", "BUILTIN_FACTS", "FactScope", "builtin_facts", "facts_on"]

ONE_DAY = timedelta(days=1)
ShiftFn = Callable[[SchoolCalendar, date, int, str], date]
"""A date moved by an amount in a unit (`engine.shift`): school days follow the calendar."""
ATTENDING_CATEGORIES = ("present", "attending_elsewhere")
"""The national code categories (SI 2024/208 reg 10) in which a pupil attends: present at
school, or at an approved educational activity off site. "Until the pupil next attends"
ends on the first school day after the event with a session in one of them."""

BUILTIN_FACTS = ("compulsory_school_age", "compulsory_school_age_start")
"""Facts the law defines and the runtime computes; a policy uses them without declaring them."""


@dataclass(frozen=True, slots=True)
class FactScope:
    """How long a value an event sets lasts: until the pupil next attends, or a period."""

    until_present: bool = False
    amount: int | None = None
    unit: str | None = None


def builtin_facts(pupil_facts: Mapping[str, object], day: date
                  ) -> tuple[dict[str, object], dict[str, date]]:
    """Compulsory school age on `day` (Education Act 1996 s.8) and since when it has held:
    from its first day while it holds, from the day after its last day once it has ended."""
    born = pupil_facts.get("date_of_birth")
    if not isinstance(born, date):
        return {}, {}
    start = compulsory_school_age_start(born)
    values: dict[str, object] = {"compulsory_school_age_start": start}
    if day < start:
        return {**values, "compulsory_school_age": False}, {}
    end = compulsory_school_age_end(born)
    if day <= end:
        return {**values, "compulsory_school_age": True}, {"compulsory_school_age": start}
    return ({**values, "compulsory_school_age": False},
            {"compulsory_school_age": end + ONE_DAY})


def facts_on(pupil_facts: Mapping[str, object], log: Sequence[CaseEvent],
             event_sets: Mapping[str, tuple[tuple[str, object], ...]],
             scopes: Mapping[str, FactScope], attending: CodeSet | None,
             marks: PupilMarks, calendar: SchoolCalendar, day: date,
             shift: ShiftFn) -> tuple[dict[str, object], dict[str, date]]:
    """A pupil's facts on a day (values, and since when for those that changed): the pupils
    file's, the law's, then each event's up to that day, ended by its scope. `log` is in
    date order, same-day events in the order they were recorded."""
    values: dict[str, object] = dict(pupil_facts)
    law, since = builtin_facts(pupil_facts, day)
    values.update(law)
    for event in log:
        if event.date > day:
            break
        for name, value in event_sets.get(event.event, ()):
            values[name], since[name] = value, event.date
    for name, scope in scopes.items():
        set_on = since.get(name)
        value = values.get(name)
        if set_on is None or value is False or value is None:
            continue
        ends = _scope_end(scope, set_on, day, attending, marks, calendar, shift)
        if ends is not None:
            values[name] = False if isinstance(values[name], bool) else None
            since[name] = ends
    return values, since


def _scope_end(scope: FactScope, set_on: date, day: date, attending: CodeSet | None,
               marks: PupilMarks, calendar: SchoolCalendar, shift: ShiftFn) -> date | None:
    """The first day on which a value set on `set_on` no longer holds, if that is by `day`."""
    if scope.until_present:
        return first_attended_after(marks, calendar, attending, set_on, day)
    assert scope.amount is not None and scope.unit is not None
    last = shift(calendar, set_on, scope.amount, scope.unit)
    return last + ONE_DAY if last < day else None


def first_attended_after(marks: PupilMarks, calendar: SchoolCalendar, attending: CodeSet | None,
                         after: date, day: date) -> date | None:
    """The first school day after `after`, up to `day`, with a session in `attending`."""
    if attending is None:
        return None
    # school days on or before each date, clipped to the calendar, as the measures count them
    lo, hi = since_day(calendar, after + ONE_DAY), since_day(calendar, day + ONE_DAY)
    if hi <= lo:
        return None
    flags = marks.text.encode("ascii")[2 * lo:2 * hi].translate(attending.flags)
    found = flags.find(1)
    return None if found < 0 else calendar.school_day_at(lo + found // 2)

