"""Runtime: reading a school calendar YAML file into a `SchoolCalendar`.

Every problem, whether in the YAML itself or in what the dates mean, is raised as a
`CalendarError` carrying the file, 1-based line and column, and a hint. The file is read
as a node graph (`yaml.compose`) rather than loaded into Python values so that every value
keeps its position; anchors, aliases and duplicate keys are refused because a calendar
is checked by people, who should see each date written where it applies.

The format is documented in docs/calendar.md.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from datetime import date

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cme_policy.runtime.calendar import (
    AcademicYear,
    CalendarError,
    Closure,
    KeyPath,
    SchoolCalendar,
    Term,
)

__all__ = ["calendar_from_text", "load_calendar"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NULL_TAG = "tag:yaml.org,2002:null"
_DATE_HINT = "write dates as YYYY-MM-DD, for example 2025-09-03"

_CALENDAR_KEYS = ("school", "bank_holidays", "academic_years")
_YEAR_KEYS = ("name", "start", "end", "terms", "inset_days", "closures")
_TERM_KEYS = ("name", "start", "end")
_CLOSURE_KEYS = ("date", "start", "end", "reason", "planned")


class _Refused(Exception):
    """A YAML feature the calendar format does not allow, found while composing."""

    def __init__(self, message: str, hint: str, mark: Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases where they occur."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Stop at the first anchor or alias, before PyYAML resolves it away."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "anchors and aliases (&name, *name) are not allowed in a calendar file",
                "write each value out in full where it applies",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def load_calendar(path: str | os.PathLike[str]) -> SchoolCalendar:
    """Read and validate a calendar file; any problem is a CalendarError with a position."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CalendarError(
            f"cannot read calendar file: {exc.strerror or exc}",
            hint="check the path given for the calendar",
            path=name,
        ) from None
    return calendar_from_text(_decode(data, name), name)


def calendar_from_text(text: str, path: str = "<string>") -> SchoolCalendar:
    """Parse and validate calendar YAML held in memory; `path` is used in errors."""
    reader = _Reader(path)
    root = reader.compose(text)
    try:
        return reader.calendar(root)
    except CalendarError as exc:
        if exc.path is not None:
            raise
        raise reader.locate(exc) from None


def _decode(data: bytes, path: str) -> str:
    """UTF-8 (a byte-order mark is allowed), or an error at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        raise CalendarError(
            f"the calendar file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
            path=path,
            line=line,
            column=column,
        ) from None


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def _describe(node: Node) -> str:
    """What a node is, in the words an error message needs."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "nothing"
    return f"'{node.value}'"


class _Reader:
    """Walks the node graph of one file, remembering where each value was written."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.marks: dict[KeyPath, Mark] = {}

    # -- errors ---------------------------------------------------------------------

    def error(self, message: str, mark: Mark | None, hint: str | None = None) -> CalendarError:
        """An error at a position in this file."""
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        return CalendarError(message, hint=hint, path=self.path, line=line, column=column)

    def locate(self, exc: CalendarError) -> CalendarError:
        """Place a model error at the most specific value it names that the file wrote."""
        for size in range(len(exc.where), -1, -1):
            mark = self.marks.get(exc.where[:size])
            if mark is not None:
                return exc.located(self.path, mark.line + 1, mark.column + 1)
        return exc.located(self.path, None, None)

    # -- YAML -----------------------------------------------------------------------

    def compose(self, text: str) -> Node:
        """The document's root node; YAML errors become CalendarErrors."""
        try:
            root = yaml.compose(text, Loader=_Loader)
        except _Refused as exc:
            raise self.error(exc.message, exc.mark, exc.hint) from None
        except yaml.MarkedYAMLError as exc:
            raise self._yaml_error(exc) from None
        except yaml.reader.ReaderError as exc:
            raise self._reader_error(text, exc) from None
        if root is None:
            raise CalendarError(
                "the calendar file is empty",
                hint="start the file with 'calendar:'; see docs/calendar.md",
                path=self.path, line=1, column=1,
            )
        return root

    def _yaml_error(self, exc: yaml.MarkedYAMLError) -> CalendarError:
        """PyYAML's own syntax error, reworded and placed."""
        parts = [part for part in (exc.context, exc.problem) if part]
        mark = exc.problem_mark or exc.context_mark
        return self.error(
            f"invalid YAML: {', '.join(parts) or 'malformed document'}",
            mark,
            "check indentation and quoting near here (use spaces, not tabs)",
        )

    def _reader_error(self, text: str, exc: yaml.reader.ReaderError) -> CalendarError:
        """A character YAML does not accept, such as a control character."""
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        return CalendarError(
            f"invalid character U+{ord(char[:1] or chr(0)):04X} in the calendar file",
            hint="remove the character; the file must be plain UTF-8 text",
            path=self.path, line=line, column=column,
        )

    # -- shapes ---------------------------------------------------------------------

    def mapping(
        self, node: Node, where: KeyPath, what: str, required: Sequence[str],
        allowed: Sequence[str],
    ) -> dict[str, Node]:
        """A mapping's values by key; unknown, duplicate and missing keys are errors."""
        if not isinstance(node, MappingNode):
            raise self.error(f"expected {what} (a mapping), found {_describe(node)}",
                             node.start_mark, f"{what} has keys: {', '.join(allowed)}")
        self.marks[where] = node.start_mark
        values: dict[str, Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value in node.value:
            key = self._key(key_node, what, allowed)
            if key in values:
                raise self.error(
                    f"duplicate key '{key}' in {what}", key_node.start_mark,
                    f"'{key}' is first given on line {first_line[key]}; keep one",
                )
            values[key] = value
            first_line[key] = key_node.start_mark.line + 1
        for key in required:
            if key not in values:
                raise self.error(f"{what} is missing required key '{key}'", node.start_mark,
                                 f"add '{key}:' to the {what}")
        return values

    def _key(self, node: Node, what: str, allowed: Sequence[str]) -> str:
        """A mapping key, which must be one the format defines."""
        if not isinstance(node, ScalarNode):
            raise self.error(f"expected a key in {what}, found {_describe(node)}",
                             node.start_mark, f"{what} allows: {', '.join(allowed)}")
        key = str(node.value)
        if key in allowed:
            return key
        close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
        listed = f"{what} allows: {', '.join(allowed)}"
        hint = f"did you mean '{close[0]}'? ({listed})" if close else listed
        raise self.error(f"unknown key '{key}' in {what}", node.start_mark, hint)

    def sequence(self, node: Node, where: KeyPath, what: str, optional: bool) -> list[Node]:
        """A list's items; an empty optional list may be left blank."""
        self.marks[where] = node.start_mark
        if optional and isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
            return []
        if not isinstance(node, SequenceNode):
            raise self.error(f"expected {what} (a list), found {_describe(node)}",
                             node.start_mark, "write a list with one '- ' item per line")
        return list(node.value)

    def text(self, node: Node, where: KeyPath, what: str) -> str:
        """A piece of text such as a name; numbers are taken as written."""
        self.marks[where] = node.start_mark
        if not isinstance(node, ScalarNode) or node.tag == _NULL_TAG:
            raise self.error(f"expected {what} (text), found {_describe(node)}",
                             node.start_mark, f"write the {what} after the colon")
        return str(node.value)

    def day(self, node: Node, where: KeyPath, what: str) -> date:
        """An ISO date; anything else, including impossible dates, is malformed."""
        self.marks[where] = node.start_mark
        if not isinstance(node, ScalarNode) or node.tag == _NULL_TAG:
            raise self.error(f"expected {what} (a date), found {_describe(node)}",
                             node.start_mark, _DATE_HINT)
        value = str(node.value)
        if not _DATE.fullmatch(value):
            raise self.error(f"malformed date '{value}' for {what}", node.start_mark, _DATE_HINT)
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise self.error(f"malformed date '{value}' for {what}: {exc}",
                             node.start_mark, _DATE_HINT) from None

    def boolean(self, node: Node, where: KeyPath, what: str) -> bool:
        """true or false, spelled out; yes/no/on/off are too easy to misread."""
        self.marks[where] = node.start_mark
        value = str(node.value).lower() if isinstance(node, ScalarNode) else None
        if value not in ("true", "false"):
            raise self.error(f"expected true or false for {what}, found {_describe(node)}",
                             node.start_mark, "write true or false")
        return value == "true"

    # -- the calendar ---------------------------------------------------------------

    def calendar(self, root: Node) -> SchoolCalendar:
        """The whole file: a top-level 'calendar' mapping."""
        # The file's own mapping is recorded under a path no model error uses.
        top = self.mapping(root, ("<file>",), "calendar file", ("calendar",), ("calendar",))
        fields = self.mapping(top["calendar"], (), "calendar", ("academic_years",),
                              _CALENDAR_KEYS)
        school = self.text(fields["school"], ("school",), "school") if "school" in fields else None
        region = "england"
        if "bank_holidays" in fields:
            region = self.text(fields["bank_holidays"], ("bank_holidays",), "bank_holidays")
        items = self.sequence(fields["academic_years"], ("academic_years",), "academic_years",
                              optional=False)
        years = [self.year(item, ("academic_years", i)) for i, item in enumerate(items)]
        return SchoolCalendar.build(years, region, school)

    def year(self, node: Node, where: KeyPath) -> AcademicYear:
        """One academic year with its terms, INSET days and closures."""
        f = self.mapping(node, where, "academic year", ("name", "start", "end", "terms"),
                         _YEAR_KEYS)
        name = self.text(f["name"], (*where, "name"), "academic year name")
        start = self.day(f["start"], (*where, "start"), "academic year start")
        end = self.day(f["end"], (*where, "end"), "academic year end")
        terms = self.sequence(f["terms"], (*where, "terms"), "terms", optional=False)
        insets = self._optional_list(f, "inset_days", where)
        closures = self._optional_list(f, "closures", where)
        return AcademicYear(
            name=name,
            start=start,
            end=end,
            terms=tuple(self.term(t, (*where, "terms", i)) for i, t in enumerate(terms)),
            inset_days=tuple(self.day(d, (*where, "inset_days", i), "INSET day")
                             for i, d in enumerate(insets)),
            closures=tuple(self.closure(c, (*where, "closures", i))
                           for i, c in enumerate(closures)),
        )

    def _optional_list(self, fields: dict[str, Node], key: str, where: KeyPath) -> list[Node]:
        """An optional list of a year, empty when absent."""
        if key not in fields:
            return []
        return self.sequence(fields[key], (*where, key), key, optional=True)

    def term(self, node: Node, where: KeyPath) -> Term:
        """One term: name, first and last day (both inclusive)."""
        f = self.mapping(node, where, "term", _TERM_KEYS, _TERM_KEYS)
        return Term(
            name=self.text(f["name"], (*where, "name"), "term name"),
            start=self.day(f["start"], (*where, "start"), "term start"),
            end=self.day(f["end"], (*where, "end"), "term end"),
        )

    def closure(self, node: Node, where: KeyPath) -> Closure:
        """One closure: a single 'date' or a 'start'/'end' range, with a reason."""
        f = self.mapping(node, where, "closure", ("reason",), _CLOSURE_KEYS)
        start, end = self._closure_dates(node, f, where)
        planned = self.boolean(f["planned"], (*where, "planned"), "planned") \
            if "planned" in f else True
        reason = self.text(f["reason"], (*where, "reason"), "closure reason")
        return Closure(start=start, end=end, reason=reason, planned=planned)

    def _closure_dates(self, node: Node, f: dict[str, Node], where: KeyPath) -> tuple[date, date]:
        """Either one date or a range, never both, never neither."""
        if "date" in f:
            extra = [k for k in ("start", "end") if k in f]
            if extra:
                raise self.error(
                    f"closure gives both 'date' and '{extra[0]}'", f[extra[0]].start_mark,
                    "use 'date' for a single day, or 'start' and 'end' for several days",
                )
            day = self.day(f["date"], (*where, "start"), "closure date")
            return day, day
        missing = [k for k in ("start", "end") if k not in f]
        if missing:
            key = "date" if len(missing) == 2 else missing[0]
            raise self.error(
                f"closure is missing required key '{key}'", node.start_mark,
                "use 'date' for a single day, or 'start' and 'end' for several days",
            )
        start = self.day(f["start"], (*where, "start"), "closure start")
        return start, self.day(f["end"], (*where, "end"), "closure end")
