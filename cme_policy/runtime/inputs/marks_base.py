"""Runtime inputs: what every reader of attendance marks shares (the CSV row reader, the
columnar reader and the CTF reader): the result, and the rules for dates, sessions and codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.inputs.common import DATE_HINT, FileRead, parse_date
from cme_policy.runtime.marks import CodeTable, PupilMarks

__all__ = ["DayIndex", "MarksRead", "OverlaidMarks", "code_bytes", "session_offset"]


@dataclass(kw_only=True)
class MarksRead(FileRead):
    """Marks laid on the calendar: one `PupilMarks` per pupil with any mark."""

    marks: Mapping[str, PupilMarks]
    first_lines: dict[str, int] = field(default_factory=dict)
    """Where a pupil's marks start in the file, when the reader knows (the CTF reader)."""

    def for_pupil(self, upn: str, calendar: SchoolCalendar, table: CodeTable) -> PupilMarks:
        """The pupil's marks, or an all-unmarked string for a pupil the file never mentions."""
        found = self.marks.get(upn)
        return found if found is not None else PupilMarks.empty(calendar, table)


class OverlaidMarks(Mapping[str, PupilMarks]):
    """Marks of one source with another's laid over them for some pupils (`over` wins)."""

    def __init__(self, base: Mapping[str, PupilMarks], over: Mapping[str, PupilMarks]) -> None:
        self.base, self.over = base, over

    def __getitem__(self, upn: str) -> PupilMarks:
        found = self.over.get(upn)
        return found if found is not None else self.base[upn]

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield from (upn for upn in self.over if upn not in self.base)

    def __len__(self) -> int:
        return len(self.base) + sum(1 for upn in self.over if upn not in self.base)


def code_bytes(table: CodeTable) -> dict[str, int]:
    """Attendance code as written (after stripping spaces) -> its byte in a mark string."""
    return {code: ord(table.char(code)) for code in table.codes}


_SESSION_OFFSETS = {"AM": 0, "PM": 1}


def session_offset(text: str) -> int | None:
    """0 for the morning register, 1 for the afternoon, None for anything else; spaces and
    case do not matter (the rule both marks readers apply)."""
    return _SESSION_OFFSETS.get(text.strip().upper())


class DayIndex:
    """Date text -> 2 x school-day index; each distinct text is parsed once, then remembered."""

    def __init__(self, calendar: SchoolCalendar) -> None:
        self.calendar = calendar
        self.seen: dict[str, tuple[int | None, str, str]] = {}

    def lookup(self, text: str) -> tuple[int | None, str, str]:
        """(2 x index or None, message, hint), cached by the text as written."""
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = self.slow(text)
        return found

    def slow(self, text: str) -> tuple[int | None, str, str]:
        """(2 x index or None, message, hint) for a date text not seen before."""
        try:
            d = parse_date(text)
        except ValueError as exc:
            return None, str(exc), DATE_HINT
        try:
            if self.calendar.is_school_day(d):
                return 2 * self.calendar.school_day_index(d), "", ""
            reason = self.calendar.non_school_reason(d)
        except CalendarError as exc:
            return None, exc.message, exc.hint or ""
        return None, f"{d.strftime('%A')} {d.isoformat()} is not a school day ({reason})", \
            "marks are only taken on school days: check the date, or the calendar file"
