"""Runtime: a pupil's attendance marks as one string laid on the school calendar.

Imports only the standard library and `cme_policy.runtime`, because generated code imports it.

The codes come from the policy's vocabulary (`CodeTable`), never from a list written here.
Each code is given one private ASCII character, so a pupil's year of marks is a plain
string in which school day *i* has its morning session at position 2i and its afternoon
session at 2i+1 (`PupilMarks`). Measures then work on that string with `str`/`bytes`
operations instead of building a Python object per day. The notation is in docs/measures.md.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from cme_policy.runtime.calendar import CalendarError, SchoolCalendar

__all__ = [
    "NO_MARK",
    "SESSIONS",
    "CodeSet",
    "CodeTable",
    "CodeTableError",
    "MarkError",
    "PupilMarks",
    "UnknownCode",
]

NO_MARK = "."
"""The private character for a session with no mark (not yet taken, or not on roll)."""

SESSIONS = ("AM", "PM")
"""Session names in register order; AM is at 2i and PM at 2i+1 of a mark string."""

# Printable ASCII without the no-mark filler: 1-byte characters keep strings compact and
# let measures use `bytes.translate`. Single-character codes keep their own character
# where they can, so a mark string reads almost like the register.
_ALPHABET = "".join(
    c for c in string.ascii_letters + string.digits + string.punctuation if c != NO_MARK
)
_RESERVED = frozenset("[]-")  # the compact notation's own characters


class MarkError(ValueError):
    """Marks that cannot be laid on the calendar, with a message that names where."""


class UnknownCode(MarkError):
    """An attendance code the policy's vocabulary does not declare."""

    def __init__(self, code: str, known: Sequence[str], where: str = "") -> None:
        self.code = code
        self.known = tuple(known)
        self.where = where
        place = f" {where}" if where else ""
        super().__init__(
            f"unknown attendance code {code!r}{place}; known codes: {' '.join(self.known)}"
        )


class CodeTableError(ValueError):
    """A code vocabulary that cannot be turned into a table (duplicate or malformed code)."""


@dataclass(frozen=True, slots=True)
class CodeSet:
    """Codes a measure looks for, precompiled once so per-pupil work is table lookups."""

    codes: tuple[str, ...]
    chars: str
    flags: bytes = field(repr=False)
    """256-byte `bytes.translate` table: 1 for a session in the set, else 0."""
    possible_flags: bytes = field(repr=False)
    """Like `flags`, but only for the set's codes that count as possible sessions."""
    table: CodeTable = field(repr=False, compare=False)


def _flag_table(chars: Iterable[str]) -> bytes:
    """A translate table mapping each private char in `chars` to 1 and every byte else to 0."""
    table = bytearray(256)
    for c in chars:
        table[ord(c)] = 1
    return bytes(table)


def _check_entry(code: object, category: object, possible: object) -> None:
    """Codes must fit the mark string and the compact notation; say which rule one breaks."""
    if not isinstance(code, str) or not 1 <= len(code) <= 2:
        raise CodeTableError(f"attendance code {code!r} must be a string of 1 or 2 characters")
    if any(c.isspace() or c in _RESERVED for c in code) or code == NO_MARK:
        raise CodeTableError(
            f"attendance code {code!r} uses a character reserved by the mark notation"
            " (space, '[', ']', '-' or '.')"
        )
    if not isinstance(category, str) or not category:
        raise CodeTableError(f"attendance code {code!r} needs a category name")
    if not isinstance(possible, bool):
        raise CodeTableError(f"attendance code {code!r}: possible must be true or false")


def _assign_chars(codes: Sequence[str]) -> dict[str, str]:
    """Give each code a private char: its own if it is a free one-char code, else the next free."""
    if len(codes) > len(_ALPHABET):
        raise CodeTableError(
            f"{len(codes)} attendance codes is more than the {len(_ALPHABET)} a table can hold"
        )
    chars = {c: c for c in codes if len(c) == 1 and c in _ALPHABET}
    spare = iter(c for c in _ALPHABET if c not in chars)
    for code in codes:
        if code not in chars:
            chars[code] = next(spare)
    return chars


@dataclass(frozen=True, slots=True)
class CodeTable:
    """The policy's attendance codes, each mapped to one private character of a mark string."""

    entries: tuple[tuple[str, str, bool], ...]
    """(code, category, possible) in vocabulary order."""
    _char: dict[str, str] = field(init=False, repr=False, compare=False)
    _code: dict[str, str] = field(init=False, repr=False, compare=False)
    _info: dict[str, tuple[str, bool]] = field(init=False, repr=False, compare=False)
    _sets: dict[tuple[str, ...], CodeSet] = field(init=False, repr=False, compare=False)
    _possible: bytes = field(init=False, repr=False, compare=False)
    _alphabet_bytes: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the vocabulary and build the lookup tables every pupil shares."""
        entries = tuple(self.entries)
        seen: set[str] = set()
        for code, category, possible in entries:
            _check_entry(code, category, possible)
            if code in seen:
                raise CodeTableError(f"attendance code {code!r} is declared twice")
            seen.add(code)
        chars = _assign_chars([e[0] for e in entries])
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_char", chars)
        object.__setattr__(self, "_code", {c: code for code, c in chars.items()})
        object.__setattr__(self, "_info", {e[0]: (e[1], e[2]) for e in entries})
        object.__setattr__(self, "_sets", {})
        object.__setattr__(self, "_possible", _flag_table(chars[e[0]] for e in entries if e[2]))
        object.__setattr__(self, "_alphabet_bytes",
                           "".join(sorted({*chars.values(), NO_MARK})).encode("ascii"))

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str, bool]]) -> CodeTable:
        """Build from (code, category, possible) triples, as the vocabulary supplies them."""
        return cls(tuple(entries))

    @property
    def codes(self) -> tuple[str, ...]:
        """Every declared code, in vocabulary order (used in error messages)."""
        return tuple(e[0] for e in self.entries)

    def __contains__(self, code: object) -> bool:
        """Whether `code` is declared, so callers can check before asking for its char."""
        return code in self._char

    def char(self, code: str, where: str = "") -> str:
        """The private character standing for `code`; an undeclared code is an error."""
        try:
            return self._char[code]
        except KeyError:
            raise UnknownCode(code, self.codes, where) from None

    def code(self, char: str) -> str | None:
        """The code a private character stands for; None for the no-mark filler."""
        if char == NO_MARK:
            return None
        return self._code[char]

    def category(self, code: str) -> str:
        """The code's category (present, unauthorised_absence, …) from the vocabulary."""
        self.char(code)
        return self._info[code][0]

    def possible(self, code: str) -> bool:
        """Whether a session with this code counts as a possible session (attendance share)."""
        self.char(code)
        return self._info[code][1]

    @property
    def possible_flags(self) -> bytes:
        """Translate table marking the chars of possible codes, for share denominators."""
        return self._possible

    def is_mark_text(self, text: str) -> bool:
        """Whether every character of `text` is a private code char or the filler."""
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            return False
        return not raw.translate(None, self._alphabet_bytes)  # deleting every known char

    def select(self, codes: Iterable[str]) -> CodeSet:
        """The precompiled set for `codes`, cached so repeated measures pay nothing."""
        if isinstance(codes, str):
            raise TypeError(f"pass a collection of attendance codes, not the string {codes!r}")
        key = tuple(codes)
        found = self._sets.get(key)
        if found is None:
            found = self._build_set(key)
            self._sets[key] = found
        return found

    def _build_set(self, key: tuple[str, ...]) -> CodeSet:
        """Compile a set of codes into its char string and translate tables."""
        chars = "".join(dict.fromkeys(self.char(c) for c in key))
        possible = (self._char[c] for c in key if self._info[c][1])
        return CodeSet(key, chars, _flag_table(chars), _flag_table(possible), self)


def _session_offset(session: str, d: date) -> int:
    """0 for AM and 1 for PM; anything else is an error naming the mark."""
    try:
        return SESSIONS.index(session)
    except ValueError:
        raise MarkError(
            f"mark for {d.isoformat()} has session {session!r}; use 'AM' or 'PM'"
        ) from None


def _day_name(d: date) -> str:
    """'Saturday 2025-10-04', so errors read without a calendar at hand."""
    return f"{d.strftime('%A')} {d.isoformat()}"


def _school_day_number(calendar: SchoolCalendar, d: date, session: str, code: str) -> int:
    """Index of the school day a mark is for; marks on other days are errors, not ignored."""
    try:
        if calendar.is_school_day(d):
            return calendar.school_day_index(d)
        reason = calendar.non_school_reason(d)
    except CalendarError as exc:
        raise MarkError(f"mark {code!r} for {d.isoformat()} {session}: {exc.message}") from None
    raise MarkError(
        f"mark {code!r} for {_day_name(d)} {session}: not a school day ({reason})"
    )


@dataclass(frozen=True, slots=True)
class PupilMarks:
    """One pupil's marks: school day i is `text[2*i]` (AM) and `text[2*i+1]` (PM)."""

    calendar: SchoolCalendar = field(repr=False)
    table: CodeTable = field(repr=False)
    text: str

    def __post_init__(self) -> None:
        """A string of the wrong length or with foreign chars would misplace every mark."""
        expected = 2 * self.calendar.school_day_count
        if len(self.text) != expected:
            raise MarkError(
                f"a mark string for this calendar has {expected} sessions, not {len(self.text)}"
            )
        if not self.table.is_mark_text(self.text):
            raise MarkError("a mark string may hold only the code table's private characters")

    @classmethod
    def empty(cls, calendar: SchoolCalendar, table: CodeTable) -> PupilMarks:
        """A pupil with no marks at all (every session unmarked)."""
        return cls(calendar, table, NO_MARK * (2 * calendar.school_day_count))

    @classmethod
    def from_sessions(
        cls,
        calendar: SchoolCalendar,
        table: CodeTable,
        sessions: Iterable[tuple[date, str, str]],
    ) -> PupilMarks:
        """Lay (date, "AM"|"PM", code) marks on the calendar; conflicts are errors, not guesses."""
        slots = [NO_MARK] * (2 * calendar.school_day_count)
        for d, session, code in sessions:
            offset = _session_offset(session, d)
            char = table.char(code, f"for {d.isoformat()} {session}")
            pos = 2 * _school_day_number(calendar, d, session, code) + offset
            old = slots[pos]
            if old != NO_MARK and old != char:
                raise MarkError(
                    f"two different marks for {_day_name(d)} {session}:"
                    f" {table.code(old)!r} and {code!r}"
                )
            slots[pos] = char
        return cls(calendar, table, "".join(slots))

    @classmethod
    def from_compact(
        cls, calendar: SchoolCalendar, table: CodeTable, start: date, text: str
    ) -> PupilMarks:
        """Read the scenario notation (`"/\\ NN [C1][C1] -G"`) from the first school
        day >= start."""
        days = text.split()
        first = _first_day_on_or_after(calendar, start)
        if first + len(days) > calendar.school_day_count:
            last = calendar.school_day_at(calendar.school_day_count - 1)
            raise MarkError(
                f"compact marks from {start.isoformat()} give {len(days)} school days,"
                f" past the calendar's last school day ({last.isoformat()})"
            )
        slots = [NO_MARK] * (2 * calendar.school_day_count)
        for n, token in enumerate(days):
            day = calendar.school_day_at(first + n)
            where = f"day {n + 1} ({token!r}, {day.isoformat()})"
            am, pm = _parse_day(token, where)
            slots[2 * (first + n)] = _compact_char(table, am, where)
            slots[2 * (first + n) + 1] = _compact_char(table, pm, where)
        return cls(calendar, table, "".join(slots))

    # -- reading back ------------------------------------------------------------------

    def code_at(self, d: date, session: str) -> str | None:
        """The code of one session (None when unmarked or not a school day)."""
        offset = _session_offset(session, d)
        if not self.calendar.is_school_day(d):
            return None
        return self.table.code(self.text[2 * self.calendar.school_day_index(d) + offset])

    def last_marked_day(self, as_of: date) -> date | None:
        """The last school day on or before as_of with any mark (None when there is none)."""
        if as_of < self.calendar.first_school_day:
            return None
        return self.last_marked_of(
            self.calendar.school_days_between(self.calendar.first_school_day, as_of) + 1)

    def last_marked_of(self, days: int) -> date | None:
        """The last of the first `days` school days with any mark (for a caller that already
        knows how many school days fall on or before its date)."""
        end = len(self.text[: 2 * days].rstrip(NO_MARK))
        return self.calendar.school_day_at((end - 1) // 2) if end else None

    def sessions(self) -> Iterator[tuple[date, str, str]]:
        """Every marked session as (date, session, code), the inverse of `from_sessions`."""
        for pos, char in enumerate(self.text):
            if char != NO_MARK:
                code = self.table.code(char)
                assert code is not None
                yield self.calendar.school_day_at(pos // 2), SESSIONS[pos % 2], code


def _first_day_on_or_after(calendar: SchoolCalendar, d: date) -> int:
    """Index of the first school day on or after d, or the count when there is none."""
    if d > calendar.last_school_day:
        calendar.academic_year_containing(d)
        return calendar.school_day_count
    if d < calendar.first_school_day:
        calendar.academic_year_containing(d)
        return 0
    return calendar.school_day_index(d)


def _parse_day(token: str, where: str) -> tuple[str, str]:
    """Split one day of the compact notation into its AM and PM codes ("-" = no mark)."""
    codes: list[str] = []
    i = 0
    while i < len(token):
        c = token[i]
        if c == "[":
            close = token.find("]", i + 1)
            if close < 0:
                raise MarkError(f"compact marks {where}: unclosed '[' at character {i + 1}")
            inner = token[i + 1:close]
            if not inner or "[" in inner:
                raise MarkError(
                    f"compact marks {where}: write one code of 1 or 2 characters inside"
                    f" brackets, found {token[i:close + 1]!r}"
                )
            codes.append(inner)
            i = close + 1
        elif c == "]":
            raise MarkError(f"compact marks {where}: ']' at character {i + 1} has no '['")
        else:
            codes.append(c)
            i += 1
    if len(codes) != 2:
        raise MarkError(
            f"compact marks {where}: {len(codes)} session(s), expected 2 (AM then PM);"
            " write codes of 2 characters in brackets, e.g. [C1]"
        )
    return codes[0], codes[1]


def _compact_char(table: CodeTable, code: str, where: str) -> str:
    """The private char for one compact-notation session ("-" means no mark)."""
    return NO_MARK if code == "-" else table.char(code, f"in compact marks {where}")
