"""Runtime: reading a school's exports (pupils, attendance marks, case log) into runtime values.

Imports only the standard library, `python-stdnum` (UPN check letters) and
`cme_policy.runtime`. The formats and every error they can give are in docs/data-formats.md.

Every problem is a `DataError` with the file, the 1-based line of the row, the 1-based
*field position* (column 3 is the third comma-separated field, `session` in the marks file)
and a hint. Readers never stop at the first bad row: they return the good data together with
every error, so the caller can stop and list them all (the default of `cme-policy run`) or
skip the bad rows (`--skip-invalid`). Counts are returned so pupils in and out reconcile.

The marks file is streamed: rows are read one at a time and laid straight into one
`bytearray` per pupil (two bytes per school day, the `PupilMarks` layout), so memory grows
with pupils x school days, never with rows. A typical row costs one `str.partition`, two dict
lookups and one byte store (see `read_marks`); anything unusual drops to a slow path that
parses the row with `csv` and normalises it or says what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any, TYPE_CHECKING, TextIO

from stdnum import exceptions as stdnum_errors
from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import CaseEvent, FactValue, Pupil

if TYPE_CHECKING:  # the IR is only needed to build an InputSchema, never by generated code
    from cme_policy.ir.model import Policy
    from cme_policy.runtime.inputs.marks_columnar import ParseAhead

__all__ = [
    "DATE_FORMATS",
    "DataError",
    "EventsRead",
    "FactSpec",
    "InputSchema",
    "MarksRead",
    "PupilsRead",
    "ReadCounts",
    "check_upn",
    "parse_date",
    "read_events",
    "read_marks",
    "read_pupils",
]

PathLike = str | os.PathLike[str]
Progress = Callable[[int], None]
"""Called with the number of rows processed so far (every `PROGRESS_EVERY` rows, and at the end)."""

PROGRESS_EVERY = 100_000
DATE_FORMATS = ("YYYY-MM-DD", "DD/MM/YYYY")
"""The date spellings every reader accepts: ISO 8601, and the UK form MIS exports use."""

PUPIL_COLUMNS = ("upn", "date_of_birth", "admission_date", "leaving_date", "destination",
                 "receiving_school_urn")
PUPIL_REQUIRED = ("upn", "date_of_birth", "admission_date")
MARK_COLUMNS = ("upn", "date", "session", "code")
EVENT_COLUMNS = ("upn", "date", "event", "role")
EVENT_REQUIRED = ("upn", "date", "event")

_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_UK = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\Z")
_URN = re.compile(r"[0-9]{6}\Z")
_DATE_HINT = "write dates as YYYY-MM-DD (2025-09-08) or DD/MM/YYYY (08/09/2025)"
_QUOTING = ("check the quoting: a field that contains a comma or a quote is written in double"
            " quotes, with inner quotes doubled")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


# -- errors ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataError:
    """One problem in an input file: where (line, 1-based field position), what, and how to fix it."""

    path: str
    line: int
    column: int | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        col = f":{self.column}" if self.column is not None else ""
        text = f"{self.path}:{self.line}{col}: error: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


@dataclass(slots=True)
class ReadCounts:
    """What a reader saw, so that pupils in and out can be reconciled in the report."""

    rows_read: int = 0
    """Data rows (the header not counted), good or bad."""
    rows_invalid: int = 0
    """Rows with at least one error (skipped when the caller skips invalid rows)."""
    pupils_read: int = 0
    """Pupils file: valid pupils. Marks/events files: pupils of the pupils file seen in them."""
    pupils_skipped: int = 0
    """Pupils file: rows of pupils left out (invalid or duplicate UPN)."""
    pupils_with_marks: int = 0
    pupils_without_marks: int = 0


class _Errors:
    """Collects errors; past `limit` they are only counted, so a wrong file cannot eat memory."""

    def __init__(self, path: str, limit: int | None) -> None:
        self.path = path
        self.limit = limit
        self.items: list[DataError] = []
        self.omitted = 0

    def add(self, line: int, column: int | None, message: str, hint: str | None = None) -> None:
        if self.limit is not None and len(self.items) >= self.limit:
            self.omitted += 1
        else:
            self.items.append(DataError(self.path, line, column, message, hint))

    def outcome(self) -> dict[str, Any]:
        """The FileRead fields these errors fill in."""
        return {"path": self.path, "errors": self.items, "errors_omitted": self.omitted}


# -- the policy's side of the inputs ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactSpec:
    """A fact the pupils file may give: its type (`bool|int|percent|date`) or enum members."""

    name: str
    type_name: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputSchema:
    """What the readers need from a policy: codes, pupil facts, events and roles."""

    table: CodeTable
    facts: Mapping[str, FactSpec] = field(default_factory=dict)
    """Facts declared `from: pupils`, by name; each may be a column of the pupils file."""
    events: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    """Members of the policy's `destination` enum (empty: any text is accepted)."""

    @staticmethod
    def from_policy(policy: Policy, table: CodeTable | None = None) -> InputSchema:
        """Read codes, pupil facts, events, roles and destinations from the policy IR."""
        if table is None:
            table = CodeTable.from_entries(
                (c.code, c.category, c.possible) for c in policy.attendance_codes)
        enums = {e.id: tuple(m.id for m in e.members) for e in policy.enums}
        facts = {f.id: FactSpec(f.id, f.type_name, enums.get(f.type_name, ()))
                 for f in policy.facts if f.origin == "pupils"}
        dest_fact = next((f for f in policy.facts if f.id == "destination"), None)
        dest_enum = dest_fact.type_name if dest_fact is not None else "destination"
        return InputSchema(table, facts, tuple(e.id for e in policy.events),
                           tuple(r.id for r in policy.roles), enums.get(dest_enum, ()))


# -- values --------------------------------------------------------------------------------


def parse_date(text: str) -> dt.date:
    """`YYYY-MM-DD` or `DD/MM/YYYY` (surrounding spaces allowed); ValueError says why not."""
    s = text.strip()
    m = _ISO.match(s)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _UK.match(s)
        if not m:
            raise ValueError(f"{text!r} is not a date")
        d, mo, y = int(m[1]), int(m[2]), int(m[3])
    try:
        return dt.date(y, mo, d)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None


def check_upn(text: str) -> tuple[str | None, str, str]:
    """Validate a UPN with `stdnum.gb.upn`: (compact UPN or None, message, hint)."""
    try:
        return stdnum_upn.validate(text), "", ""
    except stdnum_errors.InvalidLength:
        n = len(stdnum_upn.compact(text))
        return None, f"the UPN has {n} characters, not 13", \
            "a UPN is a check letter, 3-digit LA number, 4-digit school number and 5 more characters"
    except stdnum_errors.InvalidFormat:
        return None, "the UPN is not in UPN format", \
            "after the check letter come 11 digits and a final digit or letter (e.g. B801200005001)"
    except stdnum_errors.InvalidComponent:
        la = stdnum_upn.compact(text)[1:4]
        return None, f"the UPN has local authority number {la}, which is not a known LA", \
            "characters 2-4 of a UPN are the issuing LA's number (Leicester is 856)"
    except stdnum_errors.InvalidChecksum:
        compact = stdnum_upn.compact(text)
        right = stdnum_upn.calc_check_digit(compact[1:])
        hint = f"the check letter for these digits is {right}: the UPN was probably mistyped"
        return None, "the UPN has the wrong check letter", hint
    except stdnum_errors.ValidationError:  # pragma: no cover - future stdnum kinds
        return None, "the UPN is not valid", "check the UPN against the MIS"


def _suggest(word: str, choices: Iterable[str], what: str) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what}: {', '.join(choices)}" if choices else f"the policy declares no {what}"


# -- CSV plumbing --------------------------------------------------------------------------


class _Csv:
    """A CSV file read row by row, knowing each row's first line; decoding errors become rows."""

    def __init__(self, path: PathLike, errors: _Errors) -> None:
        self.path = os.fspath(path)
        self.errors = errors
        # undecodable bytes become lone surrogates, reported on their own row and field
        # closed by close(), which every reader calls in a finally block
        self.fh: TextIO = open(  # noqa: SIM115
            self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self.reader = csv.reader(self.fh, strict=True)
        self.line = 0  # first line of the current row

    def close(self) -> None:
        self.fh.close()

    def header(self, known: Sequence[str], required: Sequence[str],
               extra: Callable[[str], bool] = lambda _: False) -> dict[str, int] | None:
        """Column name -> 0-based index; errors for missing, unknown or repeated columns."""
        try:
            row = next(self.reader, None)
        except csv.Error as exc:
            self.errors.add(1, None, f"the header row cannot be read: {exc}",
                            "save the file as CSV, UTF-8")
            return None
        if row is None:
            self.errors.add(1, None, "the file is empty",
                            f"the first row must name the columns: {','.join(known)}")
            return None
        cols: dict[str, int] = {}
        ok = _check_bytes(self.errors, 1, row)
        for i, raw in enumerate(row):
            name = raw.strip().lower()
            if name in cols:
                self.errors.add(1, i + 1, f"column '{name}' appears twice", "remove one of them")
                ok = False
            elif name in known or extra(name):
                cols[name] = i
            else:
                self.errors.add(1, i + 1, f"unknown column '{raw}'",
                                _suggest(name, known, "expected columns"))
                ok = False
        for name in required:
            if name not in cols:
                self.errors.add(1, None, f"the header has no '{name}' column",
                                f"the first row must name the columns: {','.join(known)}")
                ok = False
        self.line = self.reader.line_num
        return cols if ok else None

    def rows(self) -> Iterator[list[str] | None]:
        """Each data row; None for a row that could not be parsed (the error is recorded)."""
        reader = self.reader
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.line = start
                self.errors.add(start, None, f"this row cannot be read: {exc}", _QUOTING)
                yield None
                continue
            self.line = start
            if row:  # a blank line is not a row
                yield row


_SURROGATE = re.compile("[\udc80-\udcff]")


def _check_bytes(errors: _Errors, line: int, row: Sequence[str]) -> bool:
    """False (with an error) when a field holds bytes that were not UTF-8."""
    if not _SURROGATE.search("".join(row)):
        return True  # the common case, settled by one search over the whole row
    for i, value in enumerate(row):
        found = _SURROGATE.search(value)
        if found:
            byte = ord(found.group()) - 0xDC00
            errors.add(line, i + 1, f"this field is not UTF-8 text (byte 0x{byte:02x})",
                       "save the file as CSV UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')")
            return False
    return True


def _width_error(errors: _Errors, line: int, row: list[str], width: int) -> None:
    errors.add(line, None, f"this row has {len(row)} fields, the header has {width}",
               "each row needs one value per column (leave optional values empty, keep the commas)")


# -- pupils --------------------------------------------------------------------------------


@dataclass(kw_only=True)
class FileRead:
    """What reading one input file gave besides its data: every problem, and the counts."""

    path: str
    errors: list[DataError]
    counts: ReadCounts
    errors_omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.errors_omitted


@dataclass(kw_only=True)
class PupilsRead(FileRead):
    """The pupils file: valid pupils by UPN, every error, and the counts."""

    pupils: dict[str, Pupil]


def _fact(spec: FactSpec, raw: str) -> tuple[FactValue, str, str]:
    """A pupils-file value as the fact's type: (value, error message, hint)."""
    s = raw.strip()
    t = spec.type_name
    try:
        if spec.members:
            if s in spec.members:
                return s, "", ""
            return None, f"{spec.name} {s!r} is not one of the policy's values", \
                _suggest(s, spec.members, "use one of")
        if t == "date":
            return parse_date(s), "", ""
        if t == "bool":
            if s.lower() in _TRUE or s.lower() in _FALSE:
                return s.lower() in _TRUE, "", ""
            return None, f"{spec.name} {s!r} is not true or false", "write true or false"
        if t == "int":
            return int(s), "", ""
        if t == "percent":
            return Decimal(s.rstrip("%").strip()), "", ""
    except (ValueError, InvalidOperation) as exc:
        hint = _DATE_HINT if t == "date" else f"write a value of type {t}"
        return None, f"{spec.name}: {exc}" if t == "date" else \
            f"{spec.name} {s!r} is not a valid {t}", hint
    return s, "", ""


def _standard_specs(schema: InputSchema) -> dict[str, FactSpec]:
    """The standard columns, typed by the policy's fact when it declares one of that name."""
    specs = {
        "date_of_birth": FactSpec("date_of_birth", "date"),
        "admission_date": FactSpec("admission_date", "date"),
        "leaving_date": FactSpec("leaving_date", "date"),
        "destination": FactSpec("destination", "destination", schema.destinations),
        "receiving_school_urn": FactSpec("receiving_school_urn", "urn"),
    }
    specs.update(schema.facts)
    return specs


def read_pupils(path: PathLike, schema: InputSchema, *,
                error_limit: int | None = 10_000) -> PupilsRead:
    """Read the pupils file. Facts: every non-empty standard column and declared pupil fact."""
    errors = _Errors(os.fspath(path), error_limit)
    counts = ReadCounts()
    pupils: dict[str, Pupil] = {}
    first_line: dict[str, int] = {}
    specs = _standard_specs(schema)
    src = _Csv(path, errors)
    try:
        cols = src.header(PUPIL_COLUMNS, PUPIL_REQUIRED, lambda n: n in schema.facts)
        if cols is None:
            return PupilsRead(pupils=pupils, counts=counts, **errors.outcome())
        width = max(cols.values()) + 1
        upn_at = cols["upn"]
        fact_cols = [(specs[n], i) for n, i in cols.items() if n != "upn"]
        seen: dict[tuple[str, str], tuple[FactValue, str, str]] = {}
        """(fact, text) -> what `_fact` made of it: dates and flags repeat down a file."""
        for row in src.rows():
            counts.rows_read += 1
            line = src.line
            if row is None or len(row) != width:
                if row is not None:
                    _width_error(errors, line, row, width)
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            before = len(errors.items) + errors.omitted
            if not _check_bytes(errors, line, row):
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            raw_upn = row[upn_at]
            upn, message, hint = check_upn(raw_upn)
            if upn is None:
                errors.add(line, upn_at + 1, message, hint)
            elif upn in first_line:
                errors.add(line, upn_at + 1,
                           f"the same UPN is on line {first_line[upn]} as well",
                           "a pupil must have one row; remove or merge the duplicate")
            facts: dict[str, FactValue] = {}
            for spec, i in fact_cols:
                raw = row[i]
                if not raw.strip():
                    if spec.name in PUPIL_REQUIRED:
                        errors.add(line, i + 1, f"{spec.name} is empty", _DATE_HINT)
                    continue
                if spec.type_name == "urn":
                    if _URN.match(raw.strip()):
                        facts[spec.name] = raw.strip()
                    else:
                        errors.add(line, i + 1, f"receiving_school_urn {raw!r} is not a URN",
                                   "a URN is the school's 6-digit unique reference number")
                    continue
                parsed = seen.get((spec.name, raw))
                if parsed is None:
                    parsed = seen[spec.name, raw] = _fact(spec, raw)
                value, message, hint = parsed
                if message:
                    errors.add(line, i + 1, message, hint)
                else:
                    facts[spec.name] = value
            _cross_checks(errors, line, facts, cols)
            if len(errors.items) + errors.omitted > before or upn is None:
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            first_line[upn] = line
            pupils[upn] = Pupil(upn, facts)
        counts.pupils_read = len(pupils)
    finally:
        src.close()
    return PupilsRead(pupils=pupils, counts=counts, **errors.outcome())


def _cross_checks(errors: _Errors, line: int, facts: Mapping[str, FactValue],
                  cols: Mapping[str, int]) -> None:
    """Dates in order; a destination only for a pupil who left."""
    admitted, left = facts.get("admission_date"), facts.get("leaving_date")
    born = facts.get("date_of_birth")
    if isinstance(admitted, dt.date) and isinstance(left, dt.date) and left < admitted:
        errors.add(line, cols["leaving_date"] + 1,
                   f"leaving_date {left} is before admission_date {admitted}",
                   "check both dates in the MIS")
    if isinstance(born, dt.date) and isinstance(admitted, dt.date) and admitted <= born:
        errors.add(line, cols["admission_date"] + 1,
                   f"admission_date {admitted} is not after date_of_birth {born}",
                   "check both dates in the MIS")
    if facts.get("destination") is not None and left is None and "destination" in cols:
        errors.add(line, cols["destination"] + 1,
                   "a destination is given but no leaving_date",
                   "a destination belongs to a pupil who left: give the leaving date too")


# -- attendance marks ----------------------------------------------------------------------


@dataclass(kw_only=True)
class MarksRead(FileRead):
    """The marks file laid on the calendar: one `PupilMarks` per pupil with any mark."""

    marks: Mapping[str, PupilMarks]

    def for_pupil(self, upn: str, calendar: SchoolCalendar, table: CodeTable) -> PupilMarks:
        """The pupil's marks, or an all-unmarked string for a pupil the file never mentions."""
        found = self.marks.get(upn)
        return found if found is not None else PupilMarks.empty(calendar, table)


class _DayIndex:
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
        """(2 x index or None, message, hint) for a date text that missed the fast table."""
        try:
            d = parse_date(text)
        except ValueError as exc:
            return None, str(exc), _DATE_HINT
        try:
            if self.calendar.is_school_day(d):
                return 2 * self.calendar.school_day_index(d), "", ""
            reason = self.calendar.non_school_reason(d)
        except CalendarError as exc:
            return None, exc.message, exc.hint or ""
        return None, f"{d.strftime('%A')} {d.isoformat()} is not a school day ({reason})", \
            "marks are only taken on school days: check the date, or the calendar file"


def read_marks(path: PathLike, schema: InputSchema, calendar: SchoolCalendar,
               pupils: Mapping[str, Pupil], *, progress: Progress | None = None,
               error_limit: int | None = 10_000, columnar: bool = True,
               ahead: ParseAhead | None = None) -> MarksRead:
    """Lay the marks file on the calendar, one mark string per pupil; collect every bad row.

    A clean file is read by the columnar fast path (pyarrow + numpy,
    `cme_policy.runtime.inputs.marks_columnar`); a file with anything to explain, or
    `columnar=False`, is read row by row, which lists every bad row. Both give the same
    result for a clean file. `ahead` is the fast path's parsing of this file if the caller
    started it early (it is closed here either way).
    """
    if columnar:
        # a local import: marks_columnar imports this module
        from cme_policy.runtime.inputs.marks_columnar import read_marks_columnar

        days = _DayIndex(calendar)
        found = read_marks_columnar(path, schema, calendar, pupils,
                                    lambda text: days.lookup(text)[0], progress, ahead=ahead)
        if found is not None:
            return found
    elif ahead is not None:
        ahead.close()
    return _read_marks_rows(path, schema, calendar, pupils, progress, error_limit)


def _read_marks_rows(path: PathLike, schema: InputSchema, calendar: SchoolCalendar,
                     pupils: Mapping[str, Pupil], progress: Progress | None,
                     error_limit: int | None) -> MarksRead:
    """Stream the marks file row by row into one mark string per pupil; collect every bad row.

    A repeated identical mark is accepted; two different marks for one session are an error
    (the first one is kept). Marks for a UPN not in `pupils` give one error per UPN, on its
    first row, saying how many rows it had. Blank lines are ignored.

    Speed: the header is read with `csv`; then each line is split once at its first comma
    and the rest (`date,session,code` + line end) looked up in a table of the rests already
    seen. A line that misses (the first time a date/session/code is seen, a pupil's first row,
    quotes, an error) is parsed by `csv` and handled by `_slow_mark`, which normalises or
    explains it, and a good plain line teaches the table its rest; so a typical row costs one
    `partition`, two dict lookups and one byte store, and the table holds only what occurs.
    """
    errors = _Errors(os.fspath(path), error_limit)
    counts = ReadCounts()
    table = schema.table
    size = 2 * calendar.school_day_count
    blank = NO_MARK.encode("ascii") * size
    no_mark = blank[0]
    bufs: dict[str, bytearray] = {}
    days = _DayIndex(calendar)
    code_byte = code_bytes(table)
    # UPNs as written (and in compact form) -> the pupils' UPN, filled lazily
    aliases: dict[str, str] = {u: u for u in pupils}
    unknown: dict[str, list[int]] = {}  # raw upn -> [first line, rows]
    src = _Csv(path, errors)
    rows = 0
    bad = 0
    try:
        cols = src.header(MARK_COLUMNS, MARK_COLUMNS)
        if cols is None:
            return MarksRead(marks={}, counts=counts, **errors.outcome())
        width = max(cols.values()) + 1
        at = (cols["upn"], cols["date"], cols["session"], cols["code"])
        plain = at == (0, 1, 2, 3)
        fast: dict[str, int] = {}  # "date,session,code\n" seen before -> (position << 8) | byte
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
                upn, _, rest = line.partition(",")
                v = fast.get(rest)
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
                                   if extra else "this row cannot be read", _QUOTING)
                        bad += 1
                    else:
                        blanks += 1  # a blank line is not a row
                else:
                    value = _slow_mark(row, first, *slow_args)
                    if value is None:
                        bad += 1
                    elif plain and not extra and '"' not in line:
                        fast[rest] = value  # the same date, session and code: fast next time
            rows += n - blanks
            line_no += n + skew
            if progress is not None:
                progress(rows)
            if n < PROGRESS_EVERY:
                break
        for raw, (first_line, count) in unknown.items():
            more = f" (and {count - 1} more rows for this UPN)" if count > 1 else ""
            _, message, _hint = check_upn(raw)
            errors.add(first_line, at[0] + 1,
                       f"marks for a UPN that is not in the pupils file{more}",
                       message or "add the pupil to the pupils file, or fix the UPN")
    finally:
        src.close()
    errors.items.sort(key=lambda e: (e.line, e.column or 0))
    counts.rows_read = rows
    counts.rows_invalid = bad
    marks: dict[str, PupilMarks] = {}
    for key in [k for k in bufs if k in pupils]:  # free each buffer as its string is made
        marks[key] = PupilMarks(calendar, table, bufs.pop(key).decode("ascii"))
    bufs.clear()
    counts.pupils_read = len(pupils)
    counts.pupils_with_marks = len(marks)
    counts.pupils_without_marks = len(pupils) - len(marks)
    return MarksRead(marks=marks, counts=counts, **errors.outcome())


def code_bytes(table: CodeTable) -> dict[str, int]:
    """Attendance code as written (after stripping spaces) -> its byte in a mark string."""
    return {code: ord(table.char(code)) for code in table.codes}


def session_offset(text: str) -> int | None:
    """0 for the morning register, 1 for the afternoon, None for anything else; spaces and
    case do not matter (the rule both marks readers apply)."""
    return _SESSION_OFFSETS.get(text.strip().upper())


_SESSION_OFFSETS = {"AM": 0, "PM": 1}


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


def _slow_mark(row: list[str], line: int, width: int, at: tuple[int, int, int, int],
               errors: _Errors, table: CodeTable, days: _DayIndex, code_byte: dict[str, int],
               bufs: dict[str, bytearray], blank: bytes, aliases: dict[str, str],
               pupils: Mapping[str, Pupil], unknown: dict[str, list[int]]) -> int | None:
    """Diagnose (or, after normalising spaces and case, accept) a row the fast path refused.

    Returns None for a bad row, else the row's (session position << 8) | code byte.
    """
    if len(row) != width:
        _width_error(errors, line, row, width)
        return None
    if not _check_bytes(errors, line, row):
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


# -- case log ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class EventsRead(FileRead):
    """The case log: each pupil's events in date order (file order within a day)."""

    events: dict[str, list[CaseEvent]]


def read_events(path: PathLike, schema: InputSchema, pupils: Mapping[str, Pupil], *,
                error_limit: int | None = 10_000) -> EventsRead:
    """Read the case log (`upn,date,event[,role]`); events and roles must be the policy's."""
    errors = _Errors(os.fspath(path), error_limit)
    counts = ReadCounts()
    events: dict[str, list[CaseEvent]] = {}
    known_events, known_roles = frozenset(schema.events), frozenset(schema.roles)
    src = _Csv(path, errors)
    try:
        cols = src.header(EVENT_COLUMNS, EVENT_REQUIRED)
        if cols is None:
            return EventsRead(events=events, counts=counts, **errors.outcome())
        width = max(cols.values()) + 1
        ir = cols.get("role")
        for row in src.rows():
            counts.rows_read += 1
            line = src.line
            if row is None or len(row) != width:
                if row is not None:
                    _width_error(errors, line, row, width)
                counts.rows_invalid += 1
                continue
            if not _check_bytes(errors, line, row):
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
                errors.add(line, cols["date"] + 1, str(exc), _DATE_HINT)
                ok = False
            event = row[cols["event"]].strip()
            if event not in known_events:
                errors.add(line, cols["event"] + 1, f"unknown event '{event}'",
                           _suggest(event, schema.events, "the policy's events are"))
                ok = False
            role = row[ir].strip() if ir is not None else ""
            if role and role not in known_roles:
                errors.add(line, ir + 1 if ir is not None else None, f"unknown role '{role}'",
                           _suggest(role, schema.roles, "the policy's roles are"))
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
