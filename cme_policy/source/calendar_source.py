"""Load stage: the school calendars a policy names are source files too.

`calendar:` in policy.yaml (the calendar scenarios run on) and `calendar:` under a
scenario's `given:` name calendar files relative to the policy folder. `check` reads and
validates each one as `run` and `test` will (docs/calendar.md), so a missing or broken
calendar is an error at its file, line and column (L011, L015), not a failure of every
scenario later; a path outside the policy folder (or an overlay's base folder) is L014 and
is not read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from cme_policy.diagnostics import DiagnosticSink, SourceCache
from cme_policy.runtime.calendar import CalendarError
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.source.loader import SourceSet, confined, display_path, outside_error
from cme_policy.source.schema import scalar_text
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import MAX_FILE_BYTES, YMap, YScalar


def check_calendars(sources: SourceSet, sink: DiagnosticSink, cache: SourceCache) -> None:
    """Validate every calendar file the policy names, each once."""
    seen: set[str] = set()
    for node in _calendar_nodes(sources):
        name = scalar_text(node)
        if name is None or not name.strip():
            continue
        path = sources.root / name
        if os.path.isabs(name) or not confined(path, sources.roots):
            outside_error(sink, "calendar", name, node.span, len(sources.roots) > 1)
            continue
        shown = display_path(path)
        if shown in seen:
            continue
        seen.add(shown)
        _check_one(path, shown, name, node, sink, cache)


def _calendar_nodes(sources: SourceSet) -> Iterator[YScalar]:
    """`calendar:` of the manifest, then of each scenario's `given:`, in file order."""
    manifest = sources.manifest.get("calendar")
    if isinstance(manifest, YScalar):
        yield manifest
    for _, node in sources.files:
        scenarios = node.get("scenarios")
        for entry in scenarios.entries if isinstance(scenarios, YMap) else ():
            given = entry.value.get("given") if isinstance(entry.value, YMap) else None
            calendar = given.get("calendar") if isinstance(given, YMap) else None
            if isinstance(calendar, YScalar):
                yield calendar


def _check_one(path: Path, shown: str, name: str, node: YScalar, sink: DiagnosticSink,
               cache: SourceCache) -> None:
    hint = ("`calendar:` names the school calendar file (docs/calendar.md), relative to "
            "policy.yaml")
    try:
        if not path.is_file():  # missing, a folder, or a FIFO that would never end
            raise FileNotFoundError(name)
        if path.stat().st_size > MAX_FILE_BYTES:
            sink.error("L001", f"calendar '{name}' is over the limit of {MAX_FILE_BYTES:,} "
                       "bytes", node.span, "a school calendar is a few kilobytes of term dates")
            return
        data = path.read_bytes()
    except OSError:
        sink.error("L011", f"calendar file '{name}' does not exist", node.span, hint)
        return
    cache.remember(shown, data.decode("utf-8-sig", "replace"))
    try:
        load_calendar(shown if not os.path.isabs(shown) else path)
    except CalendarError as exc:
        _report(exc, shown, node, sink)
    except RecursionError:
        sink.error("L015", "the calendar file is nested too deeply", Span.point(shown, 1, 1),
                   "a calendar is a mapping of years, terms and dates; see docs/calendar.md")


def _report(exc: CalendarError, shown: str, node: YScalar, sink: DiagnosticSink) -> None:
    span = (Span.point(shown, exc.line, exc.column or 1) if exc.line is not None
            else node.span)
    sink.error("L015", f"invalid calendar: {exc.message}", span,
               exc.hint or "see docs/calendar.md for the calendar format")
