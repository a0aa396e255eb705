"""Source positions: every node the compiler builds remembers where in which file it came from."""

from __future__ import annotations

from typing import NamedTuple


class Span(NamedTuple):
    """A region of a source file; lines and columns are 1-based, the end is exclusive.

    A named tuple rather than a frozen dataclass: a policy has one span per YAML node, and a
    tuple is several times cheaper to create while being just as immutable and ordered.
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @staticmethod
    def point(path: str, line: int, column: int) -> Span:
        return Span(path, line, column, line, column + 1)
