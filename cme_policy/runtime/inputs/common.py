"""Runtime inputs: what every reader shares — problems, counts, the policy's side of the inputs,
and the values (dates, UPNs) every file holds.

Imports only the standard library, `python-stdnum` and `cme_policy.runtime`. The formats and
every error a reader can give are in docs/data-formats.md.

Every problem is a `DataError` with the file, the 1-based line of the row, the 1-based
*field position* (column 3 is the third comma-separated field) and a hint. Readers never stop
at the first bad row: they return the good data together with every error, so the caller can
stop and list them all (the default of `cme-policy run`) or skip the bad rows
(`--skip-invalid`). A problem with a file as a whole (its header, no data at all) is marked
`whole_file`: skipping rows cannot mend it, so `run` always stops on one.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stdnum import exceptions as stdnum_errors
from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.marks import CodeTable

if TYPE_CHECKING:  # the IR is only needed to build an InputSchema, never by generated code
    from cme_policy.ir.model import Policy

__all__ = [
    "DATE_FORMATS",
    "EVENT_COLUMNS",
    "EVENT_REQUIRED",
    "FILE_KINDS",
    "MARK_COLUMNS",
    "PUPIL_COLUMNS",
    "PUPIL_REQUIRED",
    "DataError",
    "ErrorList",
    "FactSpec",
    "FileRead",
    "InputSchema",
    "ReadCounts",
    "check_upn",
    "looks_like_upn",
    "parse_date",
    "suggest",
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
FILE_KINDS: dict[str, tuple[str, ...]] = {
    "pupils": PUPIL_COLUMNS, "marks": MARK_COLUMNS, "events": EVENT_COLUMNS}
"""Each CSV file kind and its standard columns (the pupils file also takes the policy's facts)."""

DATE_HINT = "write dates as YYYY-MM-DD (2025-09-08) or DD/MM/YYYY (08/09/2025)"
QUOTING_HINT = ("check the quoting: a field that contains a comma or a quote is written in"
                " double quotes, with inner quotes doubled")
UTF8_HINT = "save the file as CSV UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"

_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_UK = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\Z")


# -- problems and counts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataError:
    """One problem in an input file: where (line, 1-based field position), what, and how to fix it.

    `severity` is `error` (the default), `warning` or `note`; only errors stop a run.
    `whole_file` marks an error no skipping of rows can mend (a bad header, no data at all).
    """

    path: str
    line: int
    column: int | None
    message: str
    hint: str | None = None
    severity: str = "error"
    whole_file: bool = False

    def __str__(self) -> str:
        col = f":{self.column}" if self.column is not None else ""
        text = f"{self.path}:{self.line}{col}: {self.severity}: {self.message}"
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


class ErrorList:
    """Collects a file's errors (past `limit` only counted, so a wrong file cannot eat memory)
    and its notes and warnings (never limited: there are at most a few per file)."""

    def __init__(self, path: str, limit: int | None) -> None:
        self.path = path
        self.limit = limit
        self.items: list[DataError] = []
        self.notes: list[DataError] = []
        self.omitted = 0

    def add(self, line: int, column: int | None, message: str, hint: str | None = None, *,
            whole_file: bool = False) -> None:
        if self.limit is not None and len(self.items) >= self.limit and not whole_file:
            self.omitted += 1
        else:
            self.items.append(DataError(self.path, line, column, message, hint,
                                        whole_file=whole_file))

    def note(self, line: int, column: int | None, message: str, hint: str | None = None, *,
             severity: str = "note") -> None:
        self.notes.append(DataError(self.path, line, column, message, hint, severity))

    @property
    def count(self) -> int:
        return len(self.items) + self.omitted

    def outcome(self) -> dict[str, Any]:
        """The FileRead fields these problems fill in."""
        return {"path": self.path, "errors": self.items, "errors_omitted": self.omitted,
                "notes": self.notes}


@dataclass(kw_only=True)
class FileRead:
    """What reading one input file gave besides its data: every problem, and the counts."""

    path: str
    errors: list[DataError]
    counts: ReadCounts
    errors_omitted: int = 0
    notes: list[DataError] = field(default_factory=list)
    """Notes and warnings (columns ignored, a column that looks misspelt): never stop a run."""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.errors_omitted

    @property
    def whole_file_errors(self) -> list[DataError]:
        """Errors that skipping rows cannot mend."""
        return [e for e in self.errors if e.whole_file]


# -- the policy's side of the inputs ---------------------------------------------------------


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

    def columns(self, kind: str) -> tuple[str, ...]:
        """Every column a file of this kind may have (the pupils file: its facts too)."""
        known = FILE_KINDS[kind]
        if kind == "pupils":
            known += tuple(name for name in self.facts if name not in known)
        return known


# -- values ----------------------------------------------------------------------------------


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
            "a UPN is a check letter, 3-digit LA number, 4-digit school number and 5 more " \
            "characters"
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


_UPN_SHAPE = re.compile(r"[A-Za-z][0-9]{11}[0-9A-Za-z]\Z")


def looks_like_upn(text: str) -> bool:
    """True for anything shaped like a UPN (valid or not): never to be echoed in a message."""
    return bool(_UPN_SHAPE.match(re.sub(r"\s", "", text)))


def suggest(word: str, choices: Iterable[str], what: str) -> str:
    """`did you mean '…'?`, or the list of choices."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what}: {', '.join(choices)}" if choices else f"the policy declares no {what}"
