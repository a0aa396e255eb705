"""Runtime inputs: the attendance marks file (`upn,date,session,code`), by whichever reader
can answer for it — and never an answer from a file that holds no marks.

A clean file is read by the columnar fast path (`marks_columnar`); a file with anything to
explain, or one whose shape the fast path does not take, is read row by row (`marks_rows`),
which lists every bad row. Both give the same result for every file the fast path accepts
(tests/run/test_input_corpus.py holds them to it over a corpus of real export shapes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.inputs.common import (
    DataError,
    InputSchema,
    PathLike,
    Progress,
    ReadCounts,
)
from cme_policy.runtime.inputs.marks_base import DayIndex, MarksRead, OverlaidMarks
from cme_policy.runtime.inputs.marks_rows import read_marks_rows
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import Pupil

if TYPE_CHECKING:
    from cme_policy.runtime.inputs.marks_columnar import ParseAhead

__all__ = ["combine_marks", "no_marks_error", "read_marks"]

NO_MARKS_HINT = ("export the register marks for the school year so far, one row per pupil and"
                 " session (upn,date,session,code): without them every pupil would look"
                 " present")


def read_marks(path: PathLike, schema: InputSchema, calendar: SchoolCalendar,
               pupils: Mapping[str, Pupil], *, progress: Progress | None = None,
               error_limit: int | None = 10_000, columnar: bool = True,
               ahead: ParseAhead | None = None,
               columns: Mapping[str, str] | None = None) -> MarksRead:
    """Lay the marks file on the calendar, one mark string per pupil; collect every bad row.

    A clean file is read by the columnar fast path (pyarrow + numpy); a file with anything
    to explain, or `columnar=False`, is read row by row, which lists every bad row. Both give
    the same result for a clean file. `ahead` is the fast path's parsing of this file if the
    caller started it early (it is closed here either way; it must have been started with the
    same `columns`). A file with no data rows is a `whole_file` error.
    """
    found: MarksRead | None = None
    if columnar:
        # imported here: pyarrow is only loaded by a caller that reads a marks file
        from cme_policy.runtime.inputs.marks_columnar import (
            ParseAhead,
            read_marks_columnar,
        )

        days = DayIndex(calendar)
        ahead = ahead or ParseAhead(path, columns=columns)
        found = read_marks_columnar(path, schema, calendar, pupils,
                                    lambda text: days.lookup(text)[0], progress, ahead=ahead)
    elif ahead is not None:
        ahead.close()
    if found is None:
        found = read_marks_rows(path, schema, calendar, pupils, progress, error_limit, columns)
    if not found.counts.rows_read and not found.whole_file_errors:
        found.errors.insert(0, DataError(os.fspath(path), 1, None,
                                         "the marks file has a header but no marks",
                                         NO_MARKS_HINT, whole_file=True))
    return found


def combine_marks(reads: list[MarksRead], pupils: Mapping[str, Pupil],
                  calendar: SchoolCalendar, table: CodeTable) -> tuple[MarksRead, list[DataError]]:
    """The marks of several sources (a marks file, CTFs) as one read, for screening.

    Where two sources give one session different marks the first source's mark is kept and
    the later source gets one error for the pupil (on the pupil's line there, if known). The
    errors and notes of each source stay in its own read; the conflicts are returned.
    """
    if len(reads) == 1:
        return reads[0], []
    base = reads[0].marks
    over: dict[str, PupilMarks] = {}
    conflicts: list[DataError] = []
    for read in reads[1:]:
        for upn, theirs in read.marks.items():
            if upn not in pupils:
                continue
            before = over.get(upn) or base.get(upn)
            if before is None:
                over[upn] = theirs
                continue
            text, clash = _lay_over(before.text, theirs.text)
            if clash is not None:
                pos, old, new = clash
                d = calendar.school_day_at(pos // 2)
                earlier = next(r.path for r in reads if upn in r.marks)
                conflicts.append(DataError(
                    read.path, read.first_lines.get(upn, 1), None,
                    f"mark {table.code(new)!r} for {d.strftime('%A')} {d.isoformat()}"
                    f" {('AM', 'PM')[pos % 2]} differs from this pupil's {table.code(old)!r}"
                    f" in {earlier}",
                    f"a session has one mark: the one in {earlier} is kept; correct the"
                    " register in the MIS and export again"))
            over[upn] = PupilMarks(calendar, table, text)
    marks: Mapping[str, PupilMarks] = OverlaidMarks(base, over) if over else base
    with_marks = sum(1 for upn in pupils if upn in marks)
    counts = ReadCounts(rows_read=sum(r.counts.rows_read for r in reads),
                        rows_invalid=sum(r.counts.rows_invalid for r in reads),
                        pupils_read=len(pupils), pupils_with_marks=with_marks,
                        pupils_without_marks=len(pupils) - with_marks)
    combined = MarksRead(path=" + ".join(r.path for r in reads), errors=[], counts=counts,
                         marks=marks)
    return combined, conflicts


def no_marks_error(reads: list[MarksRead], combined: MarksRead,
                   pupils: Mapping[str, Pupil]) -> DataError | None:
    """A `whole_file` error when pupils are on roll but no source gave any of them a mark
    (unless a source has already said it holds none): screening them would find nothing."""
    if not pupils or any(upn in combined.marks for upn in pupils):
        return None
    if any(r.whole_file_errors for r in reads):
        return None
    names = " or ".join(r.path for r in reads)
    return DataError(reads[0].path, 1, None,
                     f"no marks for any pupil of the pupils file could be read from {names}",
                     "check that the marks are for the pupils in the pupils file (the same"
                     " school and year); " + NO_MARKS_HINT, whole_file=True)


def _lay_over(first: str, second: str) -> tuple[str, tuple[int, str, str] | None]:
    """`first` with `second`'s marks where `first` has none; the first clash, if any."""
    out = list(first)
    clash: tuple[int, str, str] | None = None
    for i, (a, b) in enumerate(zip(first, second)):
        if b == NO_MARK or a == b:
            continue
        if a == NO_MARK:
            out[i] = b
        elif clash is None:
            clash = (i, a, b)
    return "".join(out), clash
