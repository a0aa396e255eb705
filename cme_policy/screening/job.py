"""The `run` job: read and validate every input, screen every pupil, report the actions.

All-or-nothing by default: one bad row anywhere stops the run with every bad row listed and
no output written; `skip_invalid` reports them and goes on without them.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Callable, Mapping, Sequence

import click

from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.inputs.marks_columnar import RUN_DEPTH, ParseAhead
from cme_policy.runtime.pupil import Pupil
from cme_policy.runtime.readers import (
    DataError,
    InputSchema,
    MarksRead,
    read_events,
    read_marks,
    read_pupils,
)
from cme_policy.screening.checkers import load_checkers
from cme_policy.screening.output import line_renderer, render, write_atomically
from cme_policy.screening.prescreen import Prescreen
from cme_policy.screening.rows import Row, Summary, statutes_of
from cme_policy.screening.workers import Screened, ScreenWork, default_jobs, screen

Echo = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    pupils: Path
    marks: Path
    calendar: Path
    as_of: dt.date
    events: Path | None = None
    fmt: str = "table"
    output: Path | None = None
    skip_invalid: bool = False
    progress: bool = False
    jobs: int = 0
    """Worker processes for screening; 0 picks one per core for a large run."""


def run_job(policy: Policy, source: str, options: RunOptions, echo: Echo,
            ahead: ParseAhead | None = None) -> int:
    """Exit code 0 when the screen ran; 1 when inputs were invalid (and nothing was written).

    `ahead` is the marks file's parsing, if the caller started it earlier (`cme-policy run`
    does, before checking the policy); else it starts here, before the pupils file is read.
    """
    ahead = ahead or ParseAhead(options.marks, RUN_DEPTH)
    try:
        calendar = load_calendar(options.calendar)
    except CalendarError as exc:
        ahead.close()
        echo(str(exc))
        return 1
    schema = InputSchema.from_policy(policy)
    checkers = load_checkers(policy, source)  # compiled while pyarrow parses the marks
    pupils = read_pupils(options.pupils, schema)
    events = read_events(options.events, schema, pupils.pupils) if options.events else None
    prescreen = _prescreen(policy, calendar, options.as_of)  # all this while pyarrow parses
    marks = _read_marks(options, schema, calendar, pupils.pupils, ahead)
    reads = [r for r in (pupils, marks, events) if r is not None]
    errors = [e for r in reads for e in r.errors]
    omitted = sum(r.errors_omitted for r in reads)
    if errors or omitted:
        _report_errors(errors, omitted, echo)
        if not options.skip_invalid:
            echo("nothing was written: fix the rows above, or run with --skip-invalid")
            return 1
    summary = Summary(pupils_in=pupils.counts.pupils_read + pupils.counts.pupils_skipped,
                      pupils_skipped=pupils.counts.pupils_skipped)
    work = ScreenWork(checkers, list(pupils.pupils.items()), marks,
                      events.events if events else {}, calendar, options.as_of,
                      statutes_of(policy), line_renderer(options.fmt),
                      prescreen)
    jobs = options.jobs or default_jobs(len(work.pupils))
    screened, summary.pupils_screened = _screen(work, jobs, options.progress)
    screened.sort(key=itemgetter(0))  # by `Row.order()`: string comparisons only
    summary.add(status for _, status, _, _ in screened)
    if work.line:
        _emit([], [line for _, _, _, line in screened], options)
    else:
        _emit([row for _, _, row, _ in screened if row is not None], None, options)
    for line in summary.lines():
        click.echo(line, err=True)
    return 0 if summary.reconciles else 1


def _prescreen(policy: Policy, calendar: SchoolCalendar, as_of: dt.date) -> Prescreen | None:
    """The rules as column conditions; None (every rule run for every pupil) if the as-of
    date is one they cannot be set up for, such as a date outside the calendar."""
    try:
        return Prescreen(policy, calendar, as_of)
    except (CalendarError, ValueError):
        return None


def _read_marks(options: RunOptions, schema: InputSchema, calendar: SchoolCalendar,
                pupils: Mapping[str, Pupil], ahead: ParseAhead) -> MarksRead:
    if not options.progress:
        return read_marks(options.marks, schema, calendar, pupils, ahead=ahead)
    with click.progressbar(length=0, label="reading marks", file=sys.stderr,
                           show_pos=True) as bar:
        return read_marks(options.marks, schema, calendar, pupils, ahead=ahead,
                          progress=lambda rows: bar.update(rows - bar.pos))


def _screen(work: ScreenWork, jobs: int, progress: bool) -> tuple[Screened, int]:
    if not progress:
        return screen(work, jobs, lambda _: None)
    with click.progressbar(length=len(work.pupils), label="screening", file=sys.stderr,
                           show_pos=True) as bar:
        return screen(work, jobs, bar.update)


def _report_errors(errors: Sequence[DataError], omitted: int, echo: Echo) -> None:
    for error in errors:
        echo(str(error))
    more = f" (and {omitted} more not shown)" if omitted else ""
    echo(f"{len(errors)} invalid row(s){more}")


def _emit(rows: Sequence[Row], lines: Sequence[str] | None, options: RunOptions) -> None:
    """The rows in the chosen format, or (CSV) the lines the workers rendered for them."""
    text = render(rows, options.fmt, lines)
    if options.output is not None:
        write_atomically(options.output, text)
        count = len(lines) if lines is not None else len(rows)
        click.echo(f"wrote {count} row(s) to {options.output}", err=True)
    else:
        click.echo(text, nl=False)
