"""Runtime inputs: the marks file read row by row — the reader that explains every bad row.

The file is streamed: rows are laid straight into one `bytearray` per pupil (two bytes per
school day, the `PupilMarks` layout), so memory grows with pupils x school days, never with
rows. A typical row costs one `str.partition`, two dict lookups and one byte store; anything
unusual drops to a slow path that parses the row with `csv` and normalises it or says what
is wrong.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections.abc import Mapping
from itertools import islice
from typing import TextIO

from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.inputs.common import (
    MARK_COLUMNS,
    PROGRESS_EVERY,
    QUOTING_HINT,
    ErrorList,
    InputSchema,
    PathLike,
    Progress,
    ReadCounts,
    check_upn,
)
from cme_policy.runtime.inputs.csvfile import CsvFile, check_bytes, width_error
from cme_policy.runtime.inputs.marks_base import (
    DayIndex,
    MarksRead,
    code_bytes,
    session_offset,
)
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import Pupil

__all__ = ["read_marks_rows"]


def read_marks_rows(path: PathLike, schema: InputSchema, calendar: SchoolCalendar,
                    pupils: Mapping[str, Pupil], progress: Progress | None = None,
                    error_limit: int | None = 10_000,
                    columns: Mapping[str, str] | None = None) -> MarksRead:
    """Stream the marks file row by row into one mark string per pupil; collect every bad row.

    A repeated identical mark is accepted; two different marks for one session are an error
    (the first one is kept). Marks for a UPN not in `pupils` give one error per UPN, on its
    first row, saying how many rows it had. Blank lines are ignored.

    Speed: the header is read with `csv`; then, for a file of just `upn,date,session,code`,
    each line is split once at its first comma and the rest (`date,session,code` + line end)
    looked up in a table of the rests already seen; for another layout (more columns, another
    order) a line without quotes is split at every comma and its date, session and code looked
    up together. A line that misses (the first time a date/session/code is seen, a pupil's
    first row, quotes, an error) is parsed by `csv` and handled by `_slow_mark`, which
    normalises or explains it, and a good line teaches the table; so the table holds only what
    occurs.
    """
    errors = ErrorList(os.fspath(path), error_limit)
    counts = ReadCounts()
    table = schema.table
    size = 2 * calendar.school_day_count
    blank = NO_MARK.encode("ascii") * size
    no_mark = blank[0]
    bufs: dict[str, bytearray] = {}
    days = DayIndex(calendar)
    code_byte = code_bytes(table)
    # UPNs as written (and in compact form) -> the pupils' UPN, filled lazily
    aliases: dict[str, str] = {u: u for u in pupils}
    unknown: dict[str, list[int]] = {}  # raw upn -> [first line, rows]
    src = CsvFile(path, errors)
    rows = 0
    bad = 0
    try:
        header = src.header("marks", MARK_COLUMNS, MARK_COLUMNS, columns or {})
        if header is None:
            return MarksRead(marks={}, counts=counts, **errors.outcome())
        width = header.width
        at = header.at(*MARK_COLUMNS)
        plain = at == (0, 1, 2, 3) and width == 4
        iu, idt, isx, icd = at
        fast: dict[str, int] = {}  # "date,session,code\n" seen before -> (position << 8) | byte
        split: dict[tuple[str, str, str], int] = {}  # the same for any other layout
        slow_args = (width, at, errors, table, days, code_byte, bufs, blank, aliases, pupils,
                     unknown)
        fh = src.fh
        line_no = src.reader.line_num  # lines before the current chunk
        while True:
            n = 0  # lines taken from the file by this chunk's loop
            skew = 0  # further lines read by records whose quoted fields span lines
            blanks = 0
            for line in islice(fh, PROGRESS_EVERY):
                n += 1
                if plain:
                    upn, _, rest = line.partition(",")
                    v = fast.get(rest)
                    key = None
                else:
                    v = key = None
                    if '"' not in line:
                        fields = line.rstrip("\r\n").split(",")
                        if len(fields) == width:
                            upn = fields[iu]
                            key = (fields[idt], fields[isx], fields[icd])
                            v = split.get(key)
                if v is not None:
                    buf = bufs.get(upn)
                    if buf is not None:
                        pos = v >> 8
                        old = buf[pos]
                        char = v & 255
                        if old == no_mark or old == char:
                            buf[pos] = char
                            continue
                # slow path: parse the line properly, then diagnose or normalise it
                first = line_no + n + skew
                row, extra = _parse_line(line, fh)
                skew += extra
                if row is None:
                    if line.strip() or extra:
                        errors.add(first, None, "this row cannot be read: unbalanced quotes"
                                   if extra else "this row cannot be read", QUOTING_HINT)
                        bad += 1
                    else:
                        blanks += 1  # a blank line is not a row
                else:
                    value = _slow_mark(row, first, *slow_args)
                    if value is None:
                        bad += 1
                    elif not extra and '"' not in line:
                        # the same date, session and code: fast next time
                        if plain:
                            fast[rest] = value
                        elif key is not None:
                            split[key] = value
            rows += n - blanks
            line_no += n + skew
            if progress is not None:
                progress(rows)
            if n < PROGRESS_EVERY:
                break
        for raw, (first_line, count) in unknown.items():
            more = f" (and {count - 1} more rows for this UPN)" if count > 1 else ""
            _, message, _hint = check_upn(raw)
            errors.add(first_line, iu + 1,
                       f"marks for a UPN that is not in the pupils file{more}",
                       message or "add the pupil to the pupils file, or fix the UPN")
    finally:
        src.close()
    errors.items.sort(key=lambda e: (e.line, e.column or 0))
    counts.rows_read = rows
    counts.rows_invalid = bad
    marks: dict[str, PupilMarks] = {}
    for key_upn in [k for k in bufs if k in pupils]:  # free each buffer as its string is made
        marks[key_upn] = PupilMarks(calendar, table, bufs.pop(key_upn).decode("ascii"))
    bufs.clear()
    counts.pupils_read = len(pupils)
    counts.pupils_with_marks = len(marks)
    counts.pupils_without_marks = len(pupils) - len(marks)
    return MarksRead(marks=marks, counts=counts, **errors.outcome())


def _parse_line(line: str, fh: TextIO) -> tuple[list[str] | None, int]:
    """One CSV record starting with `line` (reading on while a quoted field spans lines).

    Returns (fields, extra lines read); fields None for a blank or unparsable record.
    """
    text, extra = line, 0
    while text.count('"') % 2 and extra < 100:
        more = fh.readline()
        if not more:
            break
        text, extra = text + more, extra + 1
    if not text.strip():
        return None, extra
    try:
        found = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None, extra
    return (found[0] if len(found) == 1 else None), extra


def _slow_mark(row: list[str], line: int, width: int, at: tuple[int, ...],
               errors: ErrorList, table: CodeTable, days: DayIndex, code_byte: dict[str, int],
               bufs: dict[str, bytearray], blank: bytes, aliases: dict[str, str],
               pupils: Mapping[str, Pupil], unknown: dict[str, list[int]]) -> int | None:
    """Diagnose (or, after normalising spaces and case, accept) a row the fast path refused.

    Returns None for a bad row, else the row's (session position << 8) | code byte.
    """
    if len(row) != width:
        width_error(errors, line, row, width)
        return None
    if not check_bytes(errors, line, row, at):
        return None
    iu, idt, isx, icd = at
    raw_upn, date_text, session, code = row[iu], row[idt], row[isx], row[icd]
    ok = True
    key = aliases.get(raw_upn)
    if key is None:
        compact = stdnum_upn.compact(raw_upn)
        key = compact if compact in pupils else None
        if key is not None:
            aliases[raw_upn] = key
    if key is None:
        seen = unknown.get(raw_upn)
        if seen is None:
            unknown[raw_upn] = [line, 1]
        else:
            seen[1] += 1
        ok = False
    pos, message, hint = days.lookup(date_text)
    if pos is None:
        errors.add(line, idt + 1, f"mark {code.strip()!r} {session.strip()}: {message}", hint)
        ok = False
    off = session_offset(session)
    if off is None:
        errors.add(line, isx + 1, f"session {session!r} is neither AM nor PM",
                   "write AM for the morning register and PM for the afternoon")
        ok = False
    char = code_byte.get(code.strip())
    if char is None:
        close = difflib.get_close_matches(code.strip().upper(), table.codes, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        errors.add(line, icd + 1, f"unknown attendance code {code!r}",
                   f"{hint}known codes: {' '.join(table.codes)}")
        ok = False
    if not ok or key is None or pos is None or off is None or char is None:
        return None
    buf = bufs.get(key)
    if buf is None:
        buf = bufs[key] = bytearray(blank)
    if raw_upn != key:
        bufs[raw_upn] = buf  # the UPN as this file writes it takes the fast path next time
    pos += off
    old = buf[pos]
    if old != blank[0] and old != char:
        d = days.calendar.school_day_at(pos // 2)
        errors.add(line, icd + 1,
                   f"two different marks for this pupil on {d.strftime('%A')} {d.isoformat()}"
                   f" {('AM', 'PM')[off]}: {table.code(chr(old))!r} earlier in the file"
                   f" and {code.strip()!r} here",
                   "a session has one mark: correct the register in the MIS and export again")
        return None
    buf[pos] = char
    return (pos << 8) | char
