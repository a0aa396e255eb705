"""The measure kinds the runtime knows how to compute, and the type of each one's value."""

from __future__ import annotations

from dataclasses import dataclass

from cme_policy.expr.ast import Unit
from cme_policy.expr.types import DATE, PERCENT, DurationT, Type


@dataclass(frozen=True)
class MeasureKind:
    name: str
    result: Type
    arg_types: tuple[Type, ...]  # the types its argument may have (none: it takes none)
    needs_codes: bool
    purpose: str


SCHOOL_DAYS = DurationT(Unit.SCHOOL_DAYS)
KINDS: dict[str, MeasureKind] = {k.name: k for k in (
    MeasureKind("consecutive_school_days", SCHOOL_DAYS, (), True,
                "the current run of consecutive school days in which every session has one of "
                "the codes"),
    MeasureKind("count_sessions", DurationT(Unit.SESSIONS), (SCHOOL_DAYS, DATE), True,
                "sessions with one of the codes within a window of school days up to the date, "
                "or since a date"),
    MeasureKind("count_school_days", SCHOOL_DAYS, (SCHOOL_DAYS, DATE), True,
                "school days with a session with one of the codes, within a window or since a "
                "date"),
    MeasureKind("share_of_possible_sessions", PERCENT, (DATE,), True,
                "sessions with one of the codes as a share of possible sessions since a date"),
    MeasureKind("days_since_last_present", DurationT(Unit.DAYS), (), True,
                "calendar days since the last session with one of the (present) codes"),
    MeasureKind("school_days_since_last_present", SCHOOL_DAYS, (), True,
                "school days since the last session with one of the (present) codes; "
                "weekends and holidays do not count"),
    MeasureKind("oldest_unresolved", SCHOOL_DAYS, (), True,
                "school days since the oldest session still carrying one of the codes (e.g. N)"),
)}
