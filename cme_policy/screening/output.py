"""The action list as a terminal table, CSV or JSON; files are written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from cme_policy.screening.rows import FIELDS, Row

TABLE_COLUMNS = (("status", 8), ("due", 10), ("upn", 13), ("role", 18), ("id", 26),
                 ("action", 60))
HEADINGS = {"overdue": "OVERDUE", "violated": "VIOLATIONS (what the case log shows was missed)",
            "due": "DUE", "done": "DONE"}


def render(rows: Sequence[Row], fmt: str, lines: Sequence[str] | None = None) -> str:
    """The action list in `fmt`. For CSV, `lines` may hold each row's `line_renderer` text,
    made beforehand (by the screening workers, in parallel)."""
    if fmt == "csv":
        return _csv_line(FIELDS) + "".join(lines if lines is not None else map(csv_line, rows))
    if fmt == "json":
        return json.dumps([r.values() for r in rows], indent=2, ensure_ascii=False) + "\n"
    return _table(rows)


def line_renderer(fmt: str) -> Callable[[Row], str] | None:
    """What a worker can render of one row by itself: its CSV line (other formats: nothing)."""
    return csv_line if fmt == "csv" else None


def csv_line(row: Row) -> str:
    """One row as a CSV line (quoted where needed, ending in a newline)."""
    return _csv_line(row.cells())


_LINE = io.StringIO()
_WRITER = csv.writer(_LINE, lineterminator="\n")


def _csv_line(cells: Sequence[str]) -> str:
    _LINE.seek(0)
    _LINE.truncate()
    _WRITER.writerow(cells)
    return _LINE.getvalue()


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)


def _table(rows: Sequence[Row]) -> str:
    """Grouped by urgency: overdue first, then violations, due and done."""
    out: list[str] = []
    for status, heading in HEADINGS.items():
        group = [r for r in rows if r.status == status]
        if not group:
            continue
        out.append(f"{heading} ({len(group)})")
        out.append("  " + " ".join(_cell(name, width) for name, width in TABLE_COLUMNS).rstrip())
        for row in group:
            values = row.values()
            out.append("  " + " ".join(_cell(values[name], width)
                                       for name, width in TABLE_COLUMNS).rstrip())
        out.append("")
    return "\n".join(out) if out else "No CME actions are due.\n"


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside the target, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
