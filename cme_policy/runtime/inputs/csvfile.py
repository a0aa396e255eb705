"""Runtime inputs: CSV plumbing every CSV reader shares — the header, rows, bytes, widths.

The header is matched the same way for every file kind, and by both marks readers (the row
reader and the columnar one call `resolve_header` on the same first row):

- names are compared without regard to case, spaces, `_`, `-` and `.` (` UPN `, `Date Of
  Birth` and `date_of_birth` are one name);
- a school may map its MIS's own headings (`--columns marks.code=Mark`, see `columns.py`);
- columns the file kind does not use are ignored and listed once, as a note; one that looks
  like a misspelt column the file lacks gets a warning with "did you mean";
- a problem with the header (a required column missing, one twice, a first row that holds
  data, a file that is not comma-separated UTF-8) is a `whole_file` error.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from cme_policy.runtime.inputs.common import (
    QUOTING_HINT,
    UTF8_HINT,
    ErrorList,
    PathLike,
    looks_like_upn,
    parse_date,
)

__all__ = ["CsvFile", "Header", "check_bytes", "first_line", "normalise", "resolve_header",
           "width_error"]

MAX_HEADER_BYTES = 1 << 20
"""The columnar reader looks for the end of the header within this many bytes."""
_LISTED = 12
"""Ignored columns named in the note; the rest are counted."""


def normalise(name: str) -> str:
    """A column name as compared: lower case, without spaces, `_`, `-` or `.`."""
    return re.sub(r"[\s_.\-]+", "", name).lower()


def _shown(name: str, position: int) -> str:
    """A header cell as it may be printed: never a UPN, never an undecodable byte."""
    if looks_like_upn(name):
        return f"(column {position}, a UPN)"
    if not name.strip():
        return f"(unnamed column {position})"
    text = _SURROGATE.sub("?", name)
    return repr(text if len(text) <= 40 else text[:37] + "...")


@dataclass(frozen=True, slots=True)
class Header:
    """Where each standard column is: name -> 0-based field index; `width` fields a row."""

    cols: dict[str, int]
    width: int

    def at(self, *names: str) -> tuple[int, ...]:
        return tuple(self.cols[n] for n in names)


def resolve_header(row: Sequence[str], kind: str, known: Sequence[str],
                   required: Sequence[str], mapping: Mapping[str, str],
                   errors: ErrorList) -> Header | None:
    """Match the first row against the kind's columns (and the school's `mapping`: standard
    name -> heading in the file); errors, notes and warnings go to `errors`."""
    before = errors.count
    bad = _not_a_header(row)
    if bad:
        message, hint = bad
        errors.add(1, None, message, hint or _header_hint(kind, known, required),
                   whole_file=True)
        return None
    where: dict[str, list[int]] = {}
    for i, name in enumerate(row):
        if _SURROGATE.search(name) is None:
            where.setdefault(normalise(name), []).append(i)
    cols: dict[str, int] = {}
    claimed: dict[int, str] = {}
    if len(required) > 1 and not any(
            normalise(mapping.get(n, n)) in where or normalise(n) in where for n in required):
        errors.add(1, None, f"the header names none of the columns {', '.join(required)}",
                   f"{_header_hint(kind, known, required)}; {_columns_of(row)} — map yours"
                   f" with --columns {kind}.COLUMN=HEADING", whole_file=True)
        return None
    for name in known:
        heading = mapping.get(name, name)
        found = where.get(normalise(heading), [])
        if not found and name in mapping:
            found = where.get(normalise(name), [])
            if found:
                if name not in getattr(mapping, "loose", ()):
                    # `--columns marks.upn=Pupil UPN` where the file says `upn` after all
                    errors.note(1, found[0] + 1, f"no column {heading!r} (--columns"
                                f" {kind}.{name}={heading}): the {row[found[0]].strip()!r}"
                                f" column is read as '{name}'")
            else:
                errors.add(1, None, f"--columns maps '{name}' to {heading!r}, but the header has"
                           " no such column", _columns_of(row), whole_file=True)
                continue
        if not found:
            if name in required:
                errors.add(1, None, f"the header has no '{name}' column",
                           _missing_hint(row, kind, name, known, required), whole_file=True)
            continue
        if len(found) > 1:
            errors.add(1, found[1] + 1, f"column {row[found[1]].strip()!r} appears twice",
                       f"remove one of them, or say which to read with --columns {kind}.{name}=",
                       whole_file=True)
            continue
        if found[0] in claimed:
            errors.add(1, found[0] + 1, f"column {row[found[0]].strip()!r} is mapped to both"
                       f" '{claimed[found[0]]}' and '{name}'", "check the --columns mapping",
                       whole_file=True)
            continue
        claimed[found[0]] = name
        cols[name] = found[0]
    if errors.count > before:
        return None
    _note_ignored(row, kind, known, cols, errors)
    return Header(cols, len(row))


def _not_a_header(row: Sequence[str]) -> tuple[str, str] | None:
    """(message, hint) when the first row cannot be a header: data, tabs, semicolons."""
    if len(row) == 1 and ("\t" in row[0] or ";" in row[0]):
        sep = "tabs" if "\t" in row[0] else "semicolons"
        return (f"the first row is separated by {sep}, not commas",
                "save the file as CSV (comma delimited)")
    upns = dates = 0
    for name in row:
        if _SURROGATE.search(name) is not None:
            continue
        if looks_like_upn(name):
            upns += 1
            continue
        try:
            parse_date(name)
            dates += 1
        except ValueError:
            pass
    if dates > 1 and not upns:
        return (("the columns are named by dates: this looks like a register with one"
                 " column per date"),
                ("export one row per pupil and session instead (e.g. upn,date,session,code);"
                 " the marks file is described in docs/data-formats.md"))
    if upns or dates:
        return ("the first row holds data (a UPN or a date), not column names", "")
    return None


def _header_hint(kind: str, known: Sequence[str], required: Sequence[str]) -> str:
    return (f"the first row must name the columns: {','.join(required)}"
            f" (the {kind} file may also have {','.join(c for c in known if c not in required)})"
            if len(known) > len(required) else
            f"the first row must name the columns: {','.join(required)}")


def _columns_of(row: Sequence[str]) -> str:
    shown = ", ".join(_shown(name, i + 1) for i, name in enumerate(row[:_LISTED]))
    more = f" and {len(row) - _LISTED} more" if len(row) > _LISTED else ""
    return f"the header's columns are: {shown}{more}"


def _missing_hint(row: Sequence[str], kind: str, name: str, known: Sequence[str],
                  required: Sequence[str]) -> str:
    names = {normalise(n): n for n in row if _SURROGATE.search(n) is None}
    close = difflib.get_close_matches(normalise(name), [n for n in names if n not in known],
                                      n=1, cutoff=0.75)
    if close:
        return (f"did you mean {names[close[0]].strip()!r}? rename the column, or map it with"
                f" --columns {kind}.{name}={names[close[0]].strip()}")
    return (f"{_header_hint(kind, known, required)}; {_columns_of(row)} — map one of yours"
            f" with --columns {kind}.{name}=HEADING")


def _note_ignored(row: Sequence[str], kind: str, known: Sequence[str], cols: Mapping[str, int],
                  errors: ErrorList) -> None:
    """One note listing the columns not used; a warning for one that looks misspelt."""
    used = set(cols.values())
    ignored = [i for i in range(len(row)) if i not in used]
    if not ignored:
        return
    absent = [normalise(n) for n in known if n not in cols]
    by_key = {normalise(n): n for n in known}
    for i in ignored:
        name = row[i]
        if _SURROGATE.search(name) is not None or looks_like_upn(name) or not name.strip():
            continue
        close = difflib.get_close_matches(normalise(name), absent, n=1, cutoff=0.75)
        if close:
            column = by_key[close[0]]
            errors.note(1, i + 1, f"column {name.strip()!r} is not used: did you mean"
                        f" '{column}'?", f"rename the column, or map it with --columns"
                        f" {kind}.{column}={name.strip()}", severity="warning")
    shown = ", ".join(_shown(row[i], i + 1) + ("" if _shown(row[i], i + 1).startswith("(")
                                                 else f" ({i + 1})") for i in ignored[:_LISTED])
    more = f" and {len(ignored) - _LISTED} more" if len(ignored) > _LISTED else ""
    errors.note(1, None, f"{len(ignored)} column(s) not used by cme-policy, ignored: "
                f"{shown}{more}")


_SURROGATE = re.compile("[\udc80-\udcff]")


def check_bytes(errors: ErrorList, line: int, row: Sequence[str],
                positions: Sequence[int]) -> bool:
    """False (with an error) when a used field holds bytes that were not UTF-8 (the fields
    of ignored columns may hold anything, e.g. names in an old Mac or Windows encoding)."""
    if not _SURROGATE.search("".join(row)):
        return True  # the common case, settled by one search over the whole row
    for i in sorted(positions):
        found = _SURROGATE.search(row[i])
        if found:
            byte = ord(found.group()) - 0xDC00
            errors.add(line, i + 1, f"this field is not UTF-8 text (byte 0x{byte:02x})",
                       UTF8_HINT)
            return False
    return True


def width_error(errors: ErrorList, line: int, row: list[str], width: int) -> None:
    errors.add(line, None, f"this row has {len(row)} fields, the header has {width}",
               "each row needs one value per column (leave optional values empty, keep the commas)")


class CsvFile:
    """A CSV file read row by row, knowing each row's first line; decoding errors become rows.

    Line ends may be `\\n`, `\\r\\n` or a lone `\\r` (Excel for Mac's "CSV (Macintosh)").
    """

    def __init__(self, path: PathLike, errors: ErrorList) -> None:
        self.path = os.fspath(path)
        self.errors = errors
        self.unreadable: str | None = None
        try:
            with open(self.path, "rb") as raw:
                self.start = raw.read(4)
            # undecodable bytes become lone surrogates, reported on their own row and field;
            # closed by close(), which every reader calls in a finally block
            self.fh: TextIO = open(  # noqa: SIM115
                self.path, encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as exc:  # gone, not permitted, a directory …
            self.unreadable = exc.strerror or str(exc)
            self.start, self.fh = b"", io.StringIO("")
        self.reader = csv.reader(self.fh, strict=True)
        self.line = 0  # first line of the current row

    def close(self) -> None:
        self.fh.close()

    def header(self, kind: str, known: Sequence[str], required: Sequence[str],
               mapping: Mapping[str, str]) -> Header | None:
        """The header matched against the kind's columns; None (with errors) if it cannot be."""
        if self.unreadable is not None:
            self.errors.add(1, None, f"the file cannot be read ({self.unreadable})",
                            "check the path, and that the file may be read", whole_file=True)
            return None
        if self.start[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.errors.add(1, None, "the file is UTF-16 text (Excel's 'Unicode Text'), not CSV",
                            UTF8_HINT, whole_file=True)
            return None
        if self.start in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
            self.errors.add(1, None, "the file is an Excel workbook, not CSV", UTF8_HINT,
                            whole_file=True)
            return None
        try:
            row = next(self.reader, None)
        except csv.Error as exc:
            self.errors.add(1, None, f"the header row cannot be read: {exc}", UTF8_HINT,
                            whole_file=True)
            return None
        if row is None:
            self.errors.add(1, None, "the file is empty",
                            _header_hint(kind, known, required), whole_file=True)
            return None
        found = resolve_header(row, kind, known, required, mapping, self.errors)
        self.line = self.reader.line_num
        return found

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
                self.errors.add(start, None, f"this row cannot be read: {exc}", QUOTING_HINT)
                yield None
                continue
            self.line = start
            if row:  # a blank line is not a row
                yield row


def first_line(path: PathLike) -> tuple[list[str], int] | None:
    """The header as `CsvFile` reads it, and the number of bytes it takes in the file
    (its line end included), for a reader that skips it by bytes; None for a header that is
    not one plain line (a quoted line end, no line end within MAX_HEADER_BYTES, UTF-16)."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    end = re.search(rb"\r\n|\r|\n", head)
    if end is None and len(head) == MAX_HEADER_BYTES:
        return None
    size = end.end() if end is not None else len(head)
    raw = head[:size]
    if raw.count(b'"') % 2:
        return None
    try:
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig", "surrogateescape"),
                                           newline=""), strict=True))
    except csv.Error:
        return None
    return (rows[0], size) if len(rows) == 1 else None
