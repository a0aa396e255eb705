"""Runtime: session marks from a Common Transfer File (CTF, SI 2005/1437) XML.

Only the attendance part of a CTF is read. A CTF carries, per pupil and year, attendance
*summaries* (sessions possible, authorised and unauthorised absence, attended) and, when the
sending MIS includes them, the *session marks* as a string with its start date. cme-policy
needs the marks; a file with summaries only gets one precise error naming what is missing.

Element names (`CTF_ELEMENTS`, one name per key). The DfE CTF specification has the attendance
block in section 3.1.12 "Attendance" and its XML in section 4.3.2 "Pupil data" (contents of
CTF 18 and 21; 3.1.11 in CTF 15), but the text of those sections could not be read: the stored
copies searched (CTF 21 v1.1 July 2021 on readkong.com; CTF 20, 18, 17 on pdfslide.us;
CTF 15 on vdocuments.mx) gave only their contents pages. The names and nesting are instead
those of a real MIS's CTF import and export: Follett Aspen's UK DfE procedures
(`com.x2dev.procedures.statereporting.uk`, classes `DfEHeader`, `DfEPupil`, `DfEAttendance`,
`DfEExportManager`, public on GitHub), which write and read
`CTfile/CTFpupilData/Pupil/{UPN, Attendance/YearData}` with `YearData` holding `Year`, `LEA`,
`Estab`, `SchoolName`, `SessionsPossible`, `SessionsAuthorised`, `SessionsAttended`,
`SessionsUnauthorised` and an `AttendSessions` element that holds `AttendanceStartDate` and
`AttendanceMarks`. Until checked against the spec text they remain UNVERIFIED against the
spec itself (docs/data-formats.md).

`read_ctf_marks` turns a CTF into the marks `cme-policy run --ctf` screens: every problem a
`DataError` (path, line, hint), a CTF that cannot be read at all a `whole_file` one.

Security: the file is parsed with expat directly; a DOCTYPE or ENTITY declaration is refused
(before parsing, and again by the parser's handlers), so no entity expansion can happen.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.parsers import expat

from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.inputs.common import (
    ErrorList,
    InputSchema,
    PathLike,
    ReadCounts,
)
from cme_policy.runtime.inputs.marks_base import MarksRead
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import Pupil

__all__ = ["CTF_ELEMENTS", "CtfError", "CtfPupil", "CtfRead", "CtfYear", "read_ctf_attendance",
           "read_ctf_marks"]

CTF_ELEMENTS: dict[str, tuple[str, ...]] = {
    "root": ("CTfile",),
    "pupil_data": ("CTFpupilData",),
    "pupil": ("Pupil",),
    "upn": ("UPN",),
    "attendance": ("Attendance",),
    "year_data": ("YearData",),
    "year": ("Year",),
    "possible": ("SessionsPossible",),
    "authorised": ("SessionsAuthorised",),
    "attended": ("SessionsAttended",),
    "unauthorised": ("SessionsUnauthorised",),
    "attend_sessions": ("AttendSessions",),
    "start_date": ("AttendanceStartDate",),
    "marks": ("AttendanceMarks",),
}
"""Logical name -> element names accepted for it (the first is the one written in messages).

`start_date` and `marks` are children of `attend_sessions`, itself a child of `year_data`;
every other key is a child of the one above it. Names as Follett Aspen's CTF import/export
writes them; not yet checked against the spec's own text (see the module docstring)."""


def _tag(key: str) -> str:
    return f"<{CTF_ELEMENTS[key][0]}>"


SUMMARY_KEYS = ("possible", "authorised", "attended", "unauthorised")
FILLERS = frozenset("- *")
"""Characters of a marks string taken to mean "no session" (weekend, holiday, not on roll).

UNVERIFIED: not from the spec. Follett Aspen writes `#` for both sessions of a day that is not
in session; `#` is an attendance code here (planned closure) and is ignored on a day that is
not a school day (`CtfRead.lay`)."""

_BLANK = ord(NO_MARK)
_REFUSED = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DATE_HINT = "write the start date as YYYY-MM-DD"


class CtfError(ValueError):
    """A CTF that cannot be read at all: where and why."""

    def __init__(self, path: str, line: int, message: str, hint: str | None = None) -> None:
        super().__init__(f"{path}:{line}: error: {message}")
        self.path, self.line, self.message, self.hint = path, line, message, hint


@dataclass
class _Node:
    tag: str
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def find(self, key: str) -> _Node | None:
        names = CTF_ELEMENTS[key]
        return next((c for c in self.children if c.tag in names), None)

    def find_all(self, key: str) -> list[_Node]:
        names = CTF_ELEMENTS[key]
        return [c for c in self.children if c.tag in names]


@dataclass(frozen=True)
class CtfYear:
    """One `<YearData>`: summaries and, when present, the marks string and its start date."""

    line: int
    year: str | None
    start_date: dt.date | None
    marks: str | None
    summaries: dict[str, int]


@dataclass(frozen=True)
class CtfPupil:
    upn: str
    line: int
    years: tuple[CtfYear, ...]


@dataclass
class CtfRead:
    """Every pupil's attendance in the file, and every problem found (path:line: message)."""

    path: str
    pupils: list[CtfPupil]
    errors: list[tuple[int, str, str]]
    summaries_only: set[int] = field(default_factory=set)
    """Lines of the `<YearData>` elements with summaries but no session marks (their errors
    are among `errors`)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def lay(self, table: CodeTable, calendar: SchoolCalendar
            ) -> tuple[dict[str, PupilMarks], list[tuple[int, str, str]]]:
        """Each pupil's marks on `calendar`: two chars per calendar day from the start date."""
        out: dict[str, PupilMarks] = {}
        errors: list[tuple[int, str, str]] = []
        for pupil in self.pupils:
            slots = bytearray(NO_MARK.encode("ascii") * (2 * calendar.school_day_count))
            for year in pupil.years:
                if year.marks is None or year.start_date is None:
                    continue
                _lay_year(year, table, calendar, slots, errors)
            out[pupil.upn] = PupilMarks(calendar, table, slots.decode("ascii"))
        return out, errors


def _lay_year(year: CtfYear, table: CodeTable, calendar: SchoolCalendar, slots: bytearray,
              errors: list[tuple[int, str, str]]) -> None:
    assert year.marks is not None and year.start_date is not None
    text = year.marks
    if len(text) % 2:
        errors.append((year.line, f"the marks string has {len(text)} characters, an odd number",
                       "a CTF marks string has two characters (AM, PM) per day"))
        return
    for k in range(0, len(text), 2):
        d = year.start_date + dt.timedelta(days=k // 2)
        for off in (0, 1):
            c = text[k + off]
            if c in FILLERS:
                continue
            if c not in table:
                where = f"{d} {('AM', 'PM')[off]}"
                errors.append((year.line, f"unknown attendance code {c!r} for {where}",
                               f"known codes: {' '.join(table.codes)}"))
                continue
            try:
                school = calendar.is_school_day(d)
                reason = None if school else calendar.non_school_reason(d)
            except CalendarError as exc:
                errors.append((year.line, f"mark {c!r} for {d}: {exc.message}", exc.hint or ""))
                return
            if not school:
                if c != "#":
                    where = f"{d.strftime('%A')} {d} {('AM', 'PM')[off]}"
                    message = f"mark {c!r} for {where}: not a school day ({reason})"
                    errors.append((year.line, message,
                                   "check the calendar file against the sending school's"))
                continue
            slots[2 * calendar.school_day_index(d) + off] = ord(table.char(c))


def _parse(path: str, data: bytes) -> _Node:
    """Parse with expat into a small tree that remembers line numbers."""
    found = _REFUSED.search(data)
    if found:
        line = data.count(b"\n", 0, found.start()) + 1
        raise CtfError(path, line, "the CTF declares a DOCTYPE or ENTITY, which is refused",
                       "a CTF needs neither; remove the declaration")
    parser = expat.ParserCreate()
    stack: list[_Node] = []
    roots: list[_Node] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        node = _Node(name.rsplit(":", 1)[-1].rsplit("}", 1)[-1], parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_name: str) -> None:
        node = stack.pop()
        node.text = node.text.strip()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    def refuse(*_args: object) -> None:
        raise CtfError(path, parser.CurrentLineNumber, "DTDs and entities are refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CtfError(path, exc.lineno, f"the CTF is not well-formed XML: "
                       f"{expat.ErrorString(exc.code)}") from None
    if not roots:
        raise CtfError(path, 1, "the file has no XML element")
    return roots[0]


def read_ctf_attendance(path: str | os.PathLike[str]) -> CtfRead:
    """Read every pupil's attendance from a CTF; summaries without marks are an error."""
    p = os.fspath(path)
    with open(p, "rb") as fh:
        data = fh.read()
    root = _parse(p, data)
    errors: list[tuple[int, str, str]] = []
    summaries_only: set[int] = set()
    if root.tag not in CTF_ELEMENTS["root"]:
        raise CtfError(p, root.line, f"the root element is <{root.tag}>, not {_tag('root')}",
                       "is this a Common Transfer File?")
    data_node = root.find("pupil_data")
    if data_node is None:
        raise CtfError(p, root.line, f"the CTF has no {_tag('pupil_data')}")
    pupils: list[CtfPupil] = []
    for node in data_node.find_all("pupil"):
        upn_node = node.find("upn")
        if upn_node is None or not upn_node.text:
            errors.append((node.line, f"a {_tag('pupil')} has no {_tag('upn')}",
                           "every pupil needs a UPN"))
            continue
        upn = stdnum_upn.compact(upn_node.text)
        if not stdnum_upn.is_valid(upn):
            errors.append((upn_node.line, "the UPN is not valid",
                           "check the UPN (see docs/data-formats.md)"))
            continue
        years = _years(node, errors, summaries_only)
        pupils.append(CtfPupil(upn, node.line, tuple(years)))
    return CtfRead(p, pupils, errors, summaries_only)


def _years(node: _Node, errors: list[tuple[int, str, str]],
           summaries_only: set[int]) -> list[CtfYear]:
    """The pupil's years of attendance; errors name the line, never the UPN (personal data)."""
    attendance = node.find("attendance")
    if attendance is None:
        errors.append((node.line, f"this pupil has no {_tag('attendance')} element",
                       "the sending school's CTF must include attendance"))
        return []
    years: list[CtfYear] = []
    for yd in attendance.find_all("year_data") or [attendance]:
        summaries: dict[str, int] = {}
        for key in SUMMARY_KEYS:
            s = yd.find(key)
            if s is not None and s.text.isdigit():
                summaries[key] = int(s.text)
        sessions = yd.find("attend_sessions")
        marks_node = sessions.find("marks") if sessions is not None else None
        start_node = sessions.find("start_date") if sessions is not None else None
        year_node = yd.find("year")
        start: dt.date | None = None
        if start_node is not None:
            try:
                start = dt.date.fromisoformat(start_node.text)
            except ValueError:
                errors.append((start_node.line, f"start date {start_node.text!r} is not a date",
                               _DATE_HINT))
        if marks_node is None or not marks_node.text:
            have = ", ".join(CTF_ELEMENTS[k][0] for k in SUMMARY_KEYS if k in summaries)
            what = f"attendance summaries ({have})" if have else "no attendance summaries"
            message = (f"the CTF has {what} for this pupil but no session marks"
                       f" ({_tag('attend_sessions')} with {_tag('start_date')} and"
                       f" {_tag('marks')}): cme-policy needs per-session marks")
            hint = ("export the CTF with session attendance marks, or export the marks"
                    " as marks.csv (upn,date,session,code)")
            errors.append((yd.line, message, hint))
            summaries_only.add(yd.line)
        elif start_node is None:
            message = f"the pupil's {_tag('marks')} have no {_tag('start_date')}"
            errors.append((marks_node.line, message, "the marks cannot be dated without it"))
        years.append(CtfYear(yd.line, year_node.text if year_node is not None else None, start,
                             marks_node.text if marks_node is not None else None, summaries))
    return years


def read_ctf_marks(path: PathLike, schema: InputSchema, calendar: SchoolCalendar,
                   pupils: Mapping[str, Pupil], *, marks_file: bool = False,
                   only_source: bool = True) -> MarksRead:
    """The session marks of a CTF laid on the calendar, for the pupils of the pupils file.

    A year with summaries but no marks is a warning when a marks file is read too
    (`marks_file`: its marks are screened), else an error. A CTF that cannot be read at all is
    a `whole_file` error, as is one without a single session mark when it is the only source
    of marks (`only_source`; else a warning). `rows_read` counts `<YearData>` elements.
    """
    p = os.fspath(path)
    errors = ErrorList(p, 10_000)
    counts = ReadCounts(pupils_read=len(pupils), pupils_without_marks=len(pupils))
    try:
        found = read_ctf_attendance(p)
    except CtfError as exc:
        errors.add(exc.line, None, exc.message,
                   exc.hint or "export the Common Transfer File (XML) again from the MIS",
                   whole_file=True)
        return MarksRead(marks={}, counts=counts, **errors.outcome())
    except OSError as exc:
        errors.add(1, None, f"the file cannot be read ({exc.strerror or exc})",
                   "check the path and that the file can be read", whole_file=True)
        return MarksRead(marks={}, counts=counts, **errors.outcome())
    any_marks = any(y.marks and y.start_date for pupil in found.pupils for y in pupil.years)
    if not any_marks and found.summaries_only:  # one message for the file, not one a year
        years = len(found.summaries_only)
        have = ", ".join(CTF_ELEMENTS[k][0] for k in SUMMARY_KEYS)
        message = (f"the CTF has attendance summaries ({have}; {years} pupil-year(s)) but not"
                   f" one session mark ({_tag('attend_sessions')} with {_tag('start_date')} and"
                   f" {_tag('marks')}): cme-policy needs per-session marks, so no marks can be"
                   " read from it")
        hint = ("export the CTF with session attendance marks, or export the marks as"
                " marks.csv (upn,date,session,code) and give it as --marks")
        line = min(found.summaries_only)
        if marks_file:
            errors.note(line, None, message + "; the marks file's marks are screened", hint,
                        severity="warning")
        else:
            errors.add(line, None, message, hint, whole_file=only_source)
    for line, message, hint in found.errors:
        if line in found.summaries_only and not any_marks:
            continue  # said once above
        if line in found.summaries_only and marks_file:
            errors.note(line, None, message + "; the marks file's marks are screened",
                        hint, severity="warning")
        else:
            errors.add(line, None, message, hint)
    table = schema.table
    size = 2 * calendar.school_day_count
    slots: dict[str, bytearray] = {}
    first_lines: dict[str, int] = {}
    for pupil in found.pupils:
        counts.rows_read += len(pupil.years)
        marked = [y for y in pupil.years if y.marks is not None and y.start_date is not None]
        if not marked:
            continue
        if pupil.upn not in pupils:
            errors.add(pupil.line, None, "the CTF has marks for a pupil who is not in the"
                       " pupils file", "add the pupil to the pupils file, or leave this CTF out")
            counts.rows_invalid += len(marked)
            continue
        first_lines.setdefault(pupil.upn, pupil.line)
        into = slots.setdefault(pupil.upn, bytearray(NO_MARK.encode("ascii") * size))
        for year in marked:
            laid = bytearray(NO_MARK.encode("ascii") * size)
            problems: list[tuple[int, str, str]] = []
            _lay_year(year, table, calendar, laid, problems)
            for line, message, hint in problems:
                errors.add(line, None, message, hint)
            if problems:
                counts.rows_invalid += 1
            for i, char in enumerate(laid):
                if char == _BLANK:
                    continue
                if into[i] not in (_BLANK, char):
                    d = calendar.school_day_at(i // 2)
                    errors.add(year.line, None, f"two different marks for this pupil on"
                               f" {d.strftime('%A')} {d.isoformat()} {('AM', 'PM')[i % 2]}"
                               " in this CTF", "a session has one mark: the first is kept")
                    counts.rows_invalid += 1
                    break
                into[i] = char
    marks = {upn: PupilMarks(calendar, table, buf.decode("ascii"))
             for upn, buf in slots.items() if buf.count(_BLANK) != len(buf)}
    counts.pupils_with_marks = len(marks)
    counts.pupils_without_marks = len(pupils) - len(marks)
    if not marks and pupils and any_marks:
        message = "the CTF holds no session marks for any pupil of the pupils file"
        hint = "check that the CTF is for pupils of the pupils file (the same school and year)"
        if only_source:
            errors.add(1, None, message, hint, whole_file=True)
        else:
            errors.note(1, None, message + "; the other files' marks are screened", hint,
                        severity="warning")
    return MarksRead(marks=marks, counts=counts, first_lines=first_lines, **errors.outcome())
