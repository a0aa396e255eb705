"""Diagnostics as data: every stage reports problems as `Diagnostic` values, rendered in one
place."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from cme_policy.source.span import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a policy: a stable code, where it is, and how to fix it."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    hint: str | None = None
    related: tuple[tuple[str, Span], ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        if self.span is None:
            return ("", 0, 0, self.code, self.message)
        return (self.span.path, self.span.line, self.span.column, self.code, self.message)


def error(code: str, message: str, span: Span | None = None, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint)


def warning(code: str, message: str, span: Span | None = None,
            hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, hint)


class DiagnosticSink:
    """Collects a pass's diagnostics so that all of them are reported together."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def add(self, diagnostic: Diagnostic) -> None:
        self._items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self._items.extend(diagnostics)

    def error(self, code: str, message: str, span: Span | None = None,
              hint: str | None = None) -> None:
        self.add(error(code, message, span, hint))

    def warning(self, code: str, message: str, span: Span | None = None,
                hint: str | None = None) -> None:
        self.add(warning(code, message, span, hint))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self._items)

    def sorted(self) -> list[Diagnostic]:
        return sort_unique(self._items)


def sort_unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position and de-duplicated, so output is stable and never repeats itself."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


class SourceCache:
    """Source lines by path, for drawing the caret under a diagnostic."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def remember(self, path: str, text: str) -> None:
        self._lines[path] = text.splitlines()

    def contains(self, path: str, needle: str) -> bool:
        """Whether any line of the file holds `needle` (True when the file is not known)."""
        lines = self._lines.get(path)
        return lines is None or any(needle in line for line in lines)

    def line(self, path: str, line: int) -> str | None:
        lines = self._lines.get(path)
        if lines is None or not 1 <= line <= len(lines):
            return None
        return lines[line - 1]


def render_text(d: Diagnostic, sources: SourceCache | None = None) -> str:
    """`path:line:col: error[CODE]: message`, the source line with a caret, then the hint."""
    where = f"{d.span.path}:{d.span.line}:{d.span.column}: " if d.span else ""
    out = [f"{where}{d.severity.value}[{d.code}]: {d.message}"]
    if d.span and sources is not None:
        text = sources.line(d.span.path, d.span.line)
        if text is not None:
            out.append(_caret_block(text, d.span))
    if d.hint:
        out.append(f"  = hint: {d.hint}")
    return "\n".join(out)


def _caret_block(text: str, span: Span) -> str:
    shown = text.replace("\t", " ")
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    width = max(1, min(width, len(shown) - span.column + 1))
    gutter = f"{span.line:>4} | "
    return f"{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * (span.column - 1)}{'^' * width}"


def to_json_obj(d: Diagnostic) -> dict[str, object]:
    obj: dict[str, object] = {"code": d.code, "severity": d.severity.value, "message": d.message}
    if d.span:
        obj.update(path=d.span.path, line=d.span.line, column=d.span.column,
                   end_line=d.span.end_line, end_column=d.span.end_column)
    if d.hint:
        obj["hint"] = d.hint
    return obj


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([to_json_obj(d) for d in diagnostics], indent=2, ensure_ascii=False)


def render_github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command, so problems show up on the pull request's lines."""
    level = {"error": "error", "warning": "warning", "note": "notice"}[d.severity.value]
    props = [f"title={_gh_escape_prop(d.code)}"]
    if d.span:
        props = [f"file={_gh_escape_prop(d.span.path)}", f"line={d.span.line}",
                 f"col={d.span.column}"] + props
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return f"::{level} {','.join(props)}::{_gh_escape_data(message)}"


def _gh_escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_prop(s: str) -> str:
    return _gh_escape_data(s).replace(":", "%3A").replace(",", "%2C")
