"""Runtime inputs: a school's own column headings (`cme-policy run --columns`).

An MIS names its export columns its own way ("Adno", "Mark", "Session Date"). Rather than
editing every export, a school maps them once:

    --columns upn=UPN,marks.date=Date,marks.code=Mark        (inline, repeatable)
    --columns columns.yaml                                   (a mapping file, YAML or CSV)

Each entry is `[KIND.]COLUMN=HEADING`: KIND is `pupils`, `marks` or `events`; COLUMN a standard
column of that file (for pupils, also a fact the policy reads from the pupils file); HEADING
the file's heading, matched like any heading (case, spaces, `_`, `-`, `.` ignored). An entry
without KIND applies to every file that has the column (`upn=UPN` to all three); one with
KIND wins over it. The file forms are in docs/data-formats.md.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cme_policy.runtime.inputs.common import FILE_KINDS

__all__ = ["ColumnMap", "ColumnMapError", "Headings", "parse_columns"]


class Headings(dict[str, str]):
    """Column -> heading for one file kind; `loose` are the columns mapped by an entry
    without KIND, which a file may well not have (its own standard heading is read then)."""

    loose: frozenset[str] = frozenset()


class ColumnMapError(ValueError):
    """A `--columns` value or mapping file that cannot be used: where, what, and a hint."""

    def __init__(self, where: str, message: str, hint: str | None = None) -> None:
        text = f"{where}: {message}" + (f"\n  hint: {hint}" if hint else "")
        super().__init__(text)
        self.where, self.message, self.hint = where, message, hint


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str | None
    column: str
    heading: str
    where: str


def _key(name: str) -> str:
    return "".join(name.split()).replace("-", "_").lower()


@dataclass(frozen=True)
class ColumnMap:
    """Standard column -> the heading a school's files use for it, per file kind."""

    entries: tuple[_Entry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def for_kind(self, kind: str, known: Sequence[str] | None = None) -> Headings:
        """Column -> heading for one file kind (`known`: its columns, default the standard)."""
        columns = {_key(c): c for c in (FILE_KINDS[kind] if known is None else known)}
        out = Headings()
        loose = set()
        for entry in sorted(self.entries, key=lambda e: e.kind is not None):  # KIND. wins
            if entry.kind in (None, kind) and _key(entry.column) in columns:
                column = columns[_key(entry.column)]
                out[column] = entry.heading
                if entry.kind is None:
                    loose.add(column)
                else:
                    loose.discard(column)
        out.loose = frozenset(loose)
        return out

    def problems(self, known: Mapping[str, Sequence[str]]) -> list[str]:
        """Entries naming a column no file has (`known`: each kind's columns), as messages."""
        found = []
        for entry in self.entries:
            kinds = [entry.kind] if entry.kind is not None else list(known)
            if any(_key(entry.column) in {_key(c) for c in known[k]} for k in kinds):
                continue
            choices = sorted({c for k in kinds for c in known[k]})
            close = difflib.get_close_matches(_key(entry.column), choices, n=1)
            what = f"the {entry.kind} file" if entry.kind else "any file"
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"the columns are: {', '.join(choices)}")
            found.append(f"{entry.where}: '{entry.column}' is not a column of {what}\n"
                         f"  hint: {hint}")
        return found


def parse_columns(values: Sequence[str]) -> ColumnMap:
    """The `--columns` values (inline `KIND.COLUMN=HEADING,…` or a mapping file's path)."""
    entries: list[_Entry] = []
    for value in values:
        if "=" in value:
            for piece in value.split(","):
                if piece.strip():
                    key, _, heading = piece.partition("=")
                    entries.append(_entry(key, heading, f"--columns {piece.strip()!r}"))
        elif os.path.isfile(value):
            entries += _read_file(value)
        else:
            raise ColumnMapError(
                f"--columns {value!r}", "is neither COLUMN=HEADING pairs nor a mapping file",
                "write e.g. --columns marks.code=Mark,upn=UPN, or give a YAML or CSV file")
    seen: dict[tuple[str | None, str], _Entry] = {}
    for entry in entries:
        other = seen.setdefault((entry.kind, _key(entry.column)), entry)
        if other is not entry and other.heading != entry.heading:
            raise ColumnMapError(entry.where, f"'{entry.column}' is mapped twice"
                                 f" ({other.heading!r} at {other.where})", "keep one of them")
    return ColumnMap(tuple(entries))


def _entry(key: str, heading: str, where: str) -> _Entry:
    key, heading = key.strip(), heading.strip()
    kind: str | None = None
    column = key
    if "." in key:
        kind, _, column = key.partition(".")
        kind = kind.strip().lower()
        column = column.strip()
        if kind not in FILE_KINDS:
            close = difflib.get_close_matches(kind, list(FILE_KINDS), n=1)
            raise ColumnMapError(where, f"unknown file kind '{kind}'",
                                 f"did you mean '{close[0]}'?" if close
                                 else f"the kinds are: {', '.join(FILE_KINDS)}")
    if not column:
        raise ColumnMapError(where, "no column is named", "write COLUMN=HEADING, e.g. code=Mark")
    if not heading:
        raise ColumnMapError(where, f"no heading is given for '{column}'",
                             f"write {key}=HEADING, the heading as it is in your file")
    return _Entry(kind, column, heading, where)


def _read_file(path: str) -> list[_Entry]:
    """A mapping file: CSV (`column,heading` rows) when named `.csv`, else YAML."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeError) as exc:
        raise ColumnMapError(path, f"cannot be read ({exc})", "save it as UTF-8 text") from None
    if path.lower().endswith(".csv"):
        return _read_csv(path, text)
    return _read_yaml(path, text)


def _read_csv(path: str, text: str) -> list[_Entry]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0]] != ["column", "heading"]:
        raise ColumnMapError(f"{path}:1", "the first row must be 'column,heading'",
                             "then one row per column, e.g. marks.code,Mark")
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise ColumnMapError(f"{path}:{line}", f"this row has {len(row)} fields, not 2",
                                 "write column,heading (quote a heading with a comma)")
        entries.append(_entry(row[0], row[1], f"{path}:{line}"))
    return entries


def _read_yaml(path: str, text: str) -> list[_Entry]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ColumnMapError(f"{path}:{line}", "is not valid YAML",
                             "write one `column: heading` per line, or a section per file"
                             " kind (marks:, pupils:, events:)") from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise ColumnMapError(f"{path}:{root.start_mark.line + 1}", "is not a mapping",
                             "write `column: heading` lines, e.g. `upn: UPN`")
    entries = []
    for key_node, value_node in root.value:
        key = str(key_node.value)
        where = f"{path}:{key_node.start_mark.line + 1}"
        if isinstance(value_node, yaml.MappingNode):
            if key.strip().lower() not in FILE_KINDS:
                _entry(f"{key}.x", "x", where)  # raises: unknown file kind
            for sub_key, sub_value in value_node.value:
                sub_where = f"{path}:{sub_key.start_mark.line + 1}"
                if not isinstance(sub_value, yaml.ScalarNode):
                    raise ColumnMapError(sub_where, "a heading must be text",
                                         "write `column: heading`")
                entries.append(_entry(f"{key}.{sub_key.value}", str(sub_value.value),
                                      sub_where))
        elif isinstance(value_node, yaml.ScalarNode):
            entries.append(_entry(key, str(value_node.value), where))
        else:
            raise ColumnMapError(where, "a heading must be text", "write `column: heading`")
    return entries
