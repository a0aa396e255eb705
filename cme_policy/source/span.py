"""Source positions: every node the compiler builds remembers where in which file it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, the end is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @staticmethod
    def point(path: str, line: int, column: int) -> "Span":
        return Span(path, line, column, line, column + 1)

    def shifted(self, line_offset: int, column_offset: int, length: int) -> "Span":
        """A sub-span of a one-line scalar, e.g. a token inside an expression string."""
        line = self.line + line_offset
        column = (self.column + column_offset) if line_offset == 0 else column_offset + 1
        return Span(self.path, line, column, line, column + max(1, length))
