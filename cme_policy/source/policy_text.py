"""Load stage: the policy text (Markdown) → clauses with stable ids.

A clause starts at a `{#clause-id}` marker — at the start of a line, of a list item, or at the
end of a heading — and runs to the next marker or heading. The markers are removed from the text; a
marker anywhere else (say, quoted in prose) is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.source.span import Span

MARKER = re.compile(r"\{#([^}\s]*)\}")
LEADING = re.compile(r"^\s*(?:(?:\d+\.|[-*+]|[ivx]+\.)\s+)?(\{#([^}\s]*)\})")
HEADING_END = re.compile(r"^#+ .*?(\{#([^}\s]*)\})\s*$")
VALID_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class TextClause:
    id: str
    text: str
    heading: str | None
    span: Span


def parse_policy_text(path: str, text: str, sink: DiagnosticSink) -> list[TextClause]:
    """Split the Markdown into clauses, reporting duplicate and malformed ids."""
    clauses: list[TextClause] = []
    current: tuple[str, Span, str | None, list[str]] | None = None
    heading: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = MARKER.sub("", stripped.lstrip("#")).strip()
            if current is not None:  # a heading ends the clause before it
                clauses.append(_close(current))
                current = None
        match = LEADING.match(line) or HEADING_END.match(line)
        if match is not None:
            if current is not None:
                clauses.append(_close(current))
            span = Span(path, number, match.start(1) + 1, number, match.end(1) + 1)
            current = (match.group(2), span, heading, [])
            line = (line[: match.start(1)] + line[match.end(1):] if line.lstrip().startswith("#")
                    else line[match.end(1):].lstrip())
        if current is not None:
            current[3].append(line.rstrip())
    if current is not None:
        clauses.append(_close(current))
    _check_ids(clauses, sink)
    return clauses


def _close(current: tuple[str, Span, str | None, list[str]]) -> TextClause:
    clause_id, span, heading, lines = current
    body = "\n".join(lines).strip()
    body = re.sub(r"^#+\s*", "", body)
    return TextClause(clause_id, re.sub(r"\n{3,}", "\n\n", body), heading, span)


def _check_ids(clauses: list[TextClause], sink: DiagnosticSink) -> None:
    seen: dict[str, Span] = {}
    for clause in clauses:
        if not VALID_ID.match(clause.id):
            sink.error("C005", f"'{clause.id}' is not a valid clause id", clause.span,
                       "clause ids are lower-case words and numbers joined by '-', "
                       "e.g. {#strategy-9-ii}")
        elif clause.id in seen:
            sink.error("C001", f"clause id '{clause.id}' is used twice (first at line "
                       f"{seen[clause.id].line})", clause.span, "give each clause its own id")
        else:
            seen[clause.id] = clause.span
