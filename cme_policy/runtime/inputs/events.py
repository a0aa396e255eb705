"""Runtime inputs: the case log (`upn,date,event[,role]`), what staff did, as policy events."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.inputs.common import (
    DATE_HINT,
    EVENT_COLUMNS,
    EVENT_REQUIRED,
    ErrorList,
    FileRead,
    InputSchema,
    PathLike,
    ReadCounts,
    check_upn,
    parse_date,
    suggest,
)
from cme_policy.runtime.inputs.csvfile import CsvFile, check_bytes, width_error
from cme_policy.runtime.pupil import CaseEvent, Pupil

__all__ = ["EventsRead", "read_events"]


@dataclass(kw_only=True)
class EventsRead(FileRead):
    """The case log: each pupil's events in date order (file order within a day)."""

    events: dict[str, list[CaseEvent]]


def read_events(path: PathLike, schema: InputSchema, pupils: Mapping[str, Pupil], *,
                error_limit: int | None = 10_000,
                columns: Mapping[str, str] | None = None,
                calendar: SchoolCalendar | None = None) -> EventsRead:
    """Read the case log (`upn,date,event[,role]`); events and roles must be the policy's,
    and dates within the `calendar`'s academic years, if given (a procedure is replayed on
    school days, which the calendar alone can count).

    `columns` maps a standard column to the heading the file uses for it; other columns are
    ignored, and listed in a note. A case log with no events is fine (nothing logged yet).
    """
    errors = ErrorList(os.fspath(path), error_limit)
    counts = ReadCounts()
    events: dict[str, list[CaseEvent]] = {}
    known_events, known_roles = frozenset(schema.events), frozenset(schema.roles)
    src = CsvFile(path, errors)
    try:
        header = src.header("events", EVENT_COLUMNS, EVENT_REQUIRED, columns or {})
        if header is None:
            return EventsRead(events=events, counts=counts, **errors.outcome())
        cols, width = header.cols, header.width
        used = list(cols.values())
        ir = cols.get("role")
        for row in src.rows():
            counts.rows_read += 1
            line = src.line
            if row is None or len(row) != width:
                if row is not None:
                    width_error(errors, line, row, width)
                counts.rows_invalid += 1
                continue
            if not check_bytes(errors, line, row, used):
                counts.rows_invalid += 1
                continue
            ok = True
            raw_upn = row[cols["upn"]]
            upn = raw_upn if raw_upn in pupils else stdnum_upn.compact(raw_upn)
            if upn not in pupils:
                _, message, _h = check_upn(raw_upn)
                errors.add(line, cols["upn"] + 1,
                           "an event for a UPN that is not in the pupils file",
                           message or "add the pupil to the pupils file, or fix the UPN")
                ok = False
            when: dt.date | None = None
            try:
                when = parse_date(row[cols["date"]])
            except ValueError as exc:
                errors.add(line, cols["date"] + 1, str(exc), DATE_HINT)
                ok = False
            if when is not None and calendar is not None and not calendar.covers(when):
                years = " … ".join(dict.fromkeys((calendar.years[0].name,
                                                  calendar.years[-1].name)))
                errors.add(line, cols["date"] + 1, f"the date {when} is outside every academic "
                           f"year of the calendar ({years})", "add its academic year to the "
                           "calendar file, or leave the event out (--skip-invalid)")
                ok = False
            event = row[cols["event"]].strip()
            if event not in known_events:
                errors.add(line, cols["event"] + 1, f"unknown event '{event}'",
                           suggest(event, schema.events, "the policy's events are"))
                ok = False
            role = row[ir].strip() if ir is not None else ""
            if role and role not in known_roles:
                errors.add(line, ir + 1 if ir is not None else None, f"unknown role '{role}'",
                           suggest(role, schema.roles, "the policy's roles are"))
                ok = False
            if not ok or when is None:
                counts.rows_invalid += 1
                continue
            events.setdefault(upn, []).append(CaseEvent(when, event, role or None))
    finally:
        src.close()
    for log in events.values():
        log.sort(key=lambda e: e.date)  # stable: same-day events keep file order
    counts.pupils_read = len(events)
    return EventsRead(events=events, counts=counts, **errors.outcome())
