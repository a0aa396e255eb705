"""The `run` job: read and validate every input, screen every pupil, report the actions.

All-or-nothing by default: one bad row anywhere stops the run with every bad row listed and
no output written; `skip_invalid` reports them and goes on without them.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import click

from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.inputs.columns import ColumnMap
from cme_policy.runtime.inputs.common import FILE_KINDS, FileRead
from cme_policy.runtime.inputs.ctf import read_ctf_marks
from cme_policy.runtime.inputs.marks import combine_marks, no_marks_error
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
    marks: Path | None
    """The marks CSV; None when the marks come from `ctf` alone."""
    calendar: Path
    as_of: dt.date
    events: Path | None = None
    fmt: str = "table"
    output: Path | None = None
    skip_invalid: bool = False
    progress: bool = False
    jobs: int = 0
    """Worker processes for screening; 0 picks one per core for a large run."""
    ctf: tuple[Path, ...] = ()
    """Common Transfer Files whose session marks are screened too (after the marks CSV's)."""
    columns: ColumnMap = field(default_factory=ColumnMap)
    """The school's own column headings (`--columns`)."""


class _NoMarksFile:
    """Stands in for the marks file's parsing when the marks come from CTFs alone."""

    def close(self) -> None:
        pass


def run_job(policy: Policy, source: str, options: RunOptions, echo: Echo,
            ahead: ParseAhead | None = None) -> int:
    """Exit code 0 when the screen ran; 1 when inputs were invalid (and nothing was written).

    `ahead` is the marks file's parsing, if the caller started it earlier (`cme-policy run`
    does, before checking the policy); else it starts here, before the pupils file is read.
    """
    parsing: ParseAhead | _NoMarksFile = ahead or (
        ParseAhead(options.marks, RUN_DEPTH, columns=options.columns.for_kind("marks"))
        if options.marks is not None else _NoMarksFile())
    return _run(policy, source, options, echo, parsing)


def _run(policy: Policy, source: str, options: RunOptions, echo: Echo,
         ahead: ParseAhead | _NoMarksFile) -> int:
    try:
        calendar = load_calendar(options.calendar)
    except CalendarError as exc:
        ahead.close()
        echo(str(exc))
        return 1
    except RecursionError:  # PyYAML composes nested collections recursively
        ahead.close()
        echo(f"{options.calendar}: error: the calendar file is nested too deeply\n"
             "  hint: a calendar is a mapping of years, terms and dates (docs/calendar.md)")
        return 1
    if not calendar.covers(options.as_of):
        ahead.close()
        echo(f"{options.calendar}: error: --as-of {options.as_of} is outside every academic "
             f"year of the calendar ({_years(calendar)})\n  hint: add its academic year to "
             "the calendar file, or choose a date the calendar covers")
        return 1
    schema = InputSchema.from_policy(policy)
    mapping_problems = options.columns.problems({k: schema.columns(k) for k in FILE_KINDS})
    if mapping_problems:
        ahead.close()
        for problem in mapping_problems:
            echo(f"error: {problem}")
        return 2
    try:
        checkers = load_checkers(policy, source)  # compiled while pyarrow parses the marks
    except OSError as exc:  # a full or read-only temporary folder
        ahead.close()
        echo(f"error: cannot write the checkers to a temporary folder: {_os_reason(exc)}\n"
             "  hint: free some space there, or point TMPDIR at a writable folder")
        return 1
    pupils = read_pupils(options.pupils, schema,
                         columns=options.columns.for_kind("pupils", schema.columns("pupils")))
    if pupils.whole_file_errors:  # every mark and event would be for "a pupil not in the file"
        ahead.close()
        _report_notes([pupils], None, echo)
        _report_errors(pupils.errors, pupils.errors_omitted, echo)
        echo("nothing was written: fix the pupils file (--skip-invalid leaves out bad rows,"
             " never a whole file)")
        return 1
    events = (read_events(options.events, schema, pupils.pupils, calendar=calendar,
                          columns=options.columns.for_kind("events"))
              if options.events else None)
    prescreen = _prescreen(policy, calendar, options.as_of)  # all this while pyarrow parses
    mark_reads = _read_marks(options, schema, calendar, pupils.pupils, ahead)
    marks, conflicts = combine_marks(mark_reads, pupils.pupils, calendar, schema.table)
    missing = no_marks_error(mark_reads, marks, pupils.pupils)
    reads: list[FileRead] = [r for r in (pupils, *mark_reads, events) if r is not None]
    _report_notes(reads, marks, echo)
    errors = [e for r in reads for e in r.errors] + conflicts + ([missing] if missing else [])
    omitted = sum(r.errors_omitted for r in reads)
    if errors or omitted:
        _report_errors(errors, omitted, echo)
        if any(e.whole_file for e in errors):
            echo("nothing was written: fix the file(s) above (--skip-invalid leaves out bad"
                 " rows, never a whole file)")
            return 1
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
    try:
        screened, summary.pupils_screened = _screen(work, jobs, options.progress)
    except CalendarError as exc:  # a date the inputs checked above did not catch
        echo(f"{options.calendar}: error: the calendar cannot answer for a pupil: "
             f"{exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
        echo("nothing was written")
        return 1
    except OverflowError as exc:  # a date in the inputs near 9999-12-31, plus a deadline
        echo(f"error: a date to screen is past the last date there is (9999-12-31): {exc}\n"
             "  hint: look for a date such as 9999-12-31 in the pupils file")
        echo("nothing was written")
        return 1
    screened.sort(key=itemgetter(0))  # by `Row.order()`: string comparisons only
    summary.add(status for _, status, _, _ in screened)
    if work.line:
        written = _emit([], [line for _, _, _, line in screened], options, echo)
    else:
        written = _emit([row for _, _, row, _ in screened if row is not None], None, options,
                        echo)
    if not written:
        return 1
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
                pupils: Mapping[str, Pupil], ahead: ParseAhead | _NoMarksFile
                ) -> list[MarksRead]:
    """The marks file (if given), then each CTF (docs/data-formats.md: "--ctf")."""
    reads: list[MarksRead] = []
    if options.marks is not None:
        parsed = ahead if isinstance(ahead, ParseAhead) else None
        columns = options.columns.for_kind("marks")
        if not options.progress:
            reads.append(read_marks(options.marks, schema, calendar, pupils, ahead=parsed,
                                    columns=columns))
        else:
            with click.progressbar(length=0, label="reading marks", file=sys.stderr,
                                   show_pos=True) as bar:
                reads.append(read_marks(options.marks, schema, calendar, pupils, ahead=parsed,
                                        columns=columns,
                                        progress=lambda rows: bar.update(rows - bar.pos)))
    else:
        ahead.close()
    only = options.marks is None and len(options.ctf) == 1
    reads += [read_ctf_marks(path, schema, calendar, pupils, marks_file=options.marks is not None,
                             only_source=only) for path in options.ctf]
    return reads


def _screen(work: ScreenWork, jobs: int, progress: bool) -> tuple[Screened, int]:
    if not progress:
        return screen(work, jobs, lambda _: None)
    with click.progressbar(length=len(work.pupils), label="screening", file=sys.stderr,
                           show_pos=True) as bar:
        return screen(work, jobs, bar.update)


def _report_notes(reads: Sequence[FileRead], marks: MarksRead | None, echo: Echo) -> None:
    """Each file's notes and warnings (columns ignored …), and pupils left without marks."""
    for read in reads:
        for note in read.notes:
            echo(str(note))
    if marks is None:
        return
    counts = marks.counts
    if counts.pupils_with_marks and counts.pupils_without_marks:
        echo(f"{marks.path}: note: {counts.pupils_without_marks} of {counts.pupils_read}"
             " pupils of the pupils file have no marks: they are screened as never marked")


def _report_errors(errors: Sequence[DataError], omitted: int, echo: Echo) -> None:
    for error in errors:
        echo(str(error))
    rows = sum(1 for e in errors if not e.whole_file)
    more = f" (and {omitted} more not shown)" if omitted else ""
    if rows or omitted:
        echo(f"{rows} invalid row(s){more}")


def _emit(rows: Sequence[Row], lines: Sequence[str] | None, options: RunOptions,
          echo: Echo) -> bool:
    """The rows in the chosen format, or (CSV) the lines the workers rendered for them;
    False (with the reason said) when the output cannot be written."""
    text = render(rows, options.fmt, lines)
    if options.output is not None:
        try:
            write_atomically(options.output, text)
        except OSError as exc:  # a full disk, a read-only folder, a FIFO nobody reads …
            echo(f"{options.output}: error: cannot write the output: {_os_reason(exc)}")
            return False
        count = len(lines) if lines is not None else len(rows)
        click.echo(f"wrote {count} row(s) to {options.output}", err=True)
        return True
    try:
        click.echo(text, nl=False)
    except BrokenPipeError:
        raise  # the reader went away (`| head`): not an error to report
    except OSError as exc:
        echo(f"error: cannot write the output to standard output: {_os_reason(exc)}")
        _discard_stdout()
        return False
    return True


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the text still buffered for it is not
    written again, and fails again, when Python exits."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _os_reason(exc: OSError) -> str:
    """`path: reason` of an OSError, or the reason alone."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _years(calendar: SchoolCalendar) -> str:
    first, last = calendar.years[0].name, calendar.years[-1].name
    return first if first == last else f"{first} … {last}"
