"""Runtime: the fast path for a large, clean marks file — pyarrow reads it, numpy lays it out.

A whole LA's year is tens of millions of rows. Going through them one at a time in Python
costs most of a run, so a clean file is read in column batches by pyarrow's C++ CSV reader,
each column dictionary-encoded. Only the *distinct* values of a batch (a few thousand UPNs,
some dates, two sessions, a few codes) are looked at in Python, by the same rules the row
reader applies; the rows themselves become numpy index arithmetic and one scatter into a
pupils x sessions grid.

This path only ever accepts. Anything it would have to explain — a bad value, two different
marks for one session, a row that does not parse, bytes that are not UTF-8, a header with a
problem, a file with no rows — makes it give up (None), and `read_marks` reads the file again
row by row, which names every bad row by line and column. The header is matched by the row
reader's own function (`csvfile.resolve_header`: extra columns ignored, `--columns`
mappings), and skipped by its exact length in bytes, whatever its line end (`\n`, `\r\n`, or
the lone `\r` of Excel for Mac). A clean file therefore gives the same result either way;
tests/runtime/test_marks_columnar.py and tests/run/test_input_corpus.py hold the two readers
to that.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from stdnum.gb import upn as stdnum_upn

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.inputs.common import (
    MARK_COLUMNS,
    DataError,
    ErrorList,
    InputSchema,
    ReadCounts,
)
from cme_policy.runtime.inputs.csvfile import Header, first_line, resolve_header
from cme_policy.runtime.inputs.marks_base import MarksRead, code_bytes, session_offset
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.runtime.pupil import Pupil

BLOCK_BYTES = 4 << 20
"""pyarrow's read block: small enough to bound memory, large enough to amortise per-batch work."""
SLICE_BYTES = 32 << 20
"""The file is parsed in slices about this long, each by pyarrow on every core."""
RUN_DEPTH = 12
"""Slices (32 MB of file, about 20 MB parsed, each) `run` lets pyarrow parse ahead of their
use, while it checks the policy and reads the pupils file."""
MAX_LINE_BYTES = 1 << 20
"""Longer than any marks row: a slice without a line end this near its end gives up."""

_NO_MARK = ord(NO_MARK)
_PLAIN = ("session", "code")
"""Columns parsed as plain bytes; the others are dictionary-encoded."""


class _GiveUp(Exception):
    """Something the row reader must see and explain."""


def read_marks_columnar(path: str | os.PathLike[str], schema: InputSchema,
                        calendar: SchoolCalendar, pupils: Mapping[str, Pupil],
                        day_index: Callable[[str], int | None],
                        progress: Callable[[int], None] | None = None,
                        memory_pool: Any = None,  # noqa: ANN401
                        ahead: ParseAhead | None = None) -> MarksRead | None:
    """The marks of a clean file laid on the calendar, or None if any row needs explaining.

    `day_index` maps a date as written to 2 x its school-day index (None if not a school day).
    `memory_pool` is where pyarrow allocates (tests pass one to measure the peak). `ahead` is
    the file's parsing, if the caller started it earlier (it is closed here either way).
    """

    with ahead or ParseAhead(path, pool=memory_pool) as parsed:
        if parsed.header is None:
            return None
        return _lay_out(parsed, schema, calendar, pupils, day_index, progress)


def _lay_out(parsed: ParseAhead, schema: InputSchema, calendar: SchoolCalendar,
             pupils: Mapping[str, Pupil], day_index: Callable[[str], int | None],
             progress: Callable[[int], None] | None) -> MarksRead | None:
    upns = list(pupils)
    size = 2 * calendar.school_day_count
    grid = np.full((len(upns), size), _NO_MARK, dtype=np.uint8)
    seen = np.zeros(len(upns), dtype=bool)
    maps = _ValueMaps(schema, pupils, upns, day_index)
    rows = 0
    try:
        maps.fast = _FastColumns(maps)
        for table in parsed.tables():
            for batch in table.to_batches():
                rows += _lay_batch(batch, maps, grid, seen, size)
                if progress is not None:
                    progress(rows)
    except (_GiveUp, pa.ArrowException, UnicodeError, OSError, ValueError):
        return None
    if not rows:
        return None  # a file with no marks: the row reader says so (or what it holds instead)
    marks = GridMarks(grid, {upns[i]: i for i in np.flatnonzero(seen).tolist()}, calendar,
                      schema.table)
    counts = ReadCounts(rows_read=rows, pupils_read=len(upns), pupils_with_marks=len(marks),
                        pupils_without_marks=len(upns) - len(marks))
    return MarksRead(path=os.fspath(parsed.path), errors=[], counts=counts, marks=marks,
                     notes=list(parsed.notes))


class GridMarks(Mapping[str, PupilMarks]):
    """UPN -> PupilMarks, each made from its row of the grid only when asked for.

    Made lazily so the read stays columnar, and so that the one grid is shared (not copied)
    by screening workers forked after the read.
    """

    def __init__(self, grid: np.ndarray[Any, np.dtype[np.uint8]], row_of: dict[str, int],
                 calendar: SchoolCalendar, table: CodeTable) -> None:
        self.grid, self.row_of, self.calendar, self.table = grid, row_of, calendar, table

    def __getitem__(self, upn: str) -> PupilMarks:
        text = self.grid[self.row_of[upn]].tobytes().decode("ascii")
        return PupilMarks(self.calendar, self.table, text)

    def __iter__(self) -> Iterator[str]:
        return iter(self.row_of)

    def __len__(self) -> int:
        return len(self.row_of)


def _header(path: str | os.PathLike[str], columns: Mapping[str, str]
            ) -> tuple[Header, int, list[DataError]] | None:
    """The header as the row reader matches it, its length in bytes, and its notes; None if
    it has any problem (the row reader then explains)."""
    try:
        found = first_line(path)
    except OSError:
        return None
    if found is None:
        return None
    row, size = found
    errors = ErrorList(os.fspath(path), None)
    header = resolve_header(row, "marks", MARK_COLUMNS, MARK_COLUMNS, columns, errors)
    if header is None or errors.items:
        return None
    return header, size, errors.notes


class ParseAhead:
    """The marks file parsed slice by slice in a thread of its own, up to `depth` slices ahead
    of their use.

    Bytes, not strings: pyarrow's UTF-8 check of every row costs a third of the read, while
    decoding only the distinct values (`_ValueMaps.table`) finds the same bad bytes. The file
    is cut at line ends into slices of about SLICE_BYTES that pyarrow parses on every core
    (it lets go of the GIL meanwhile), while the caller lays out the slices already parsed —
    or, started before the pupils file is read (`cme-policy run` does), while that goes on.
    A problem in the thread (a bad row pyarrow refuses, broken quoting) is raised to the
    reader, which then gives up on the fast path.
    """

    def __init__(self, path: str | os.PathLike[str], depth: int = 2,
                 pool: Any = None,  # noqa: ANN401
                 columns: Mapping[str, str] | None = None) -> None:
        self.path, self.pool = path, pool
        found = _header(path, columns or {})
        self.header: Header | None = found[0] if found is not None else None
        self.header_bytes = found[1] if found is not None else 0
        self.notes: list[DataError] = found[2] if found is not None else []
        self.queue: queue.Queue[Any] = queue.Queue(max(1, depth))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cme-marks-parse", daemon=True)
        if self.header is not None:
            self.thread.start()

    def names(self) -> list[str]:
        """A name for every field of a row: the standard name of a column read, `_N` for
        one ignored (pyarrow reads only the standard ones)."""
        assert self.header is not None
        by_index = {i: name for name, i in self.header.cols.items()}
        return [by_index.get(i, f"_{i}") for i in range(self.header.width)]

    def __enter__(self) -> ParseAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop parsing (the reader may have given up half way) and wait for the thread."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def tables(self) -> Iterator[Any]:
        """The parsed slices in file order; re-raises what went wrong in the thread."""
        while (item := self.queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item

    def _run(self) -> None:
        names = self.names()
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.header_bytes)  # the header, already checked
                for piece in _slices(fh):
                    if not self._put(_parse(piece, names, self.pool)):
                        return
            self._put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the reader, which gives up
            self._put(exc)

    def _put(self, item: Any) -> bool:  # noqa: ANN401
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False


def _slices(fh: Any) -> Iterator[memoryview]:  # noqa: ANN401
    """The rest of the file in pieces that each end at a line end outside quotes.

    Read straight into one buffer, reused once the caller has parsed the piece before, so no
    slice is copied; only the part after the last line end is carried to the next one.
    """
    buffer = bytearray(SLICE_BYTES + MAX_LINE_BYTES)
    view = memoryview(buffer)
    carry = b""
    while True:
        view[:len(carry)] = carry
        got = fh.readinto(view[len(carry):len(carry) + SLICE_BYTES])
        end = len(carry) + got
        if not got:
            if carry:
                yield view[:end]
            return
        cut = _safe_cut(buffer, end)
        if len(carry := bytes(view[cut:end])) > MAX_LINE_BYTES:
            raise _GiveUp()  # no line end outside quotes for a long way: quoting is broken
        if cut:
            yield view[:cut]


def _safe_cut(data: bytes | bytearray, stop: int | None = None) -> int:
    """Just after the last line end in data[:stop] not inside a quoted field (0 if none).

    A line end is `\n` or a lone `\r` (pyarrow and the row reader take both; a cut between
    the two bytes of `\r\n` only leaves an empty line, which both ignore). It is outside
    quotes when an even number of quote characters precedes it: CSV quotes come in pairs,
    and an escaped quote inside a field is a pair too.
    """
    stop = len(data) if stop is None else stop
    end = _last_line_end(data, stop)
    if data.find(b'"', 0, max(end, 0)) < 0:
        return end + 1  # no quotes before it: the common case, settled by one memchr
    while end >= 0 and data.count(b'"', 0, end) % 2:
        end = _last_line_end(data, end)
    return end + 1


def _last_line_end(data: bytes | bytearray, stop: int) -> int:
    newline = data.rfind(b"\n", 0, stop)
    if newline == stop - 1:
        return newline  # the usual case: the slice ends at a line end
    return max(newline, data.rfind(b"\r", max(newline, 0), stop))


def _parse(piece: memoryview | None, names: list[str], pool: Any) -> Any:
    """One slice as columns of bytes: UPNs and dates dictionary-encoded (their distinct
    values are looked up once each), sessions and codes plain, for `_FastColumns` to map in
    numpy — hashing each row's two or three bytes costs pyarrow more than that."""
    if piece is None:
        return None
    types = {n: pa.binary() if n in _PLAIN else pa.dictionary(pa.int32(), pa.binary())
             for n in MARK_COLUMNS}
    return pacsv.read_csv(
        pa.BufferReader(piece),
        read_options=pacsv.ReadOptions(column_names=names, block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False,
                                             include_columns=list(MARK_COLUMNS)),
        memory_pool=pool)


class _ValueMaps:
    """Each distinct text of a column, mapped once by the row reader's rules (cached)."""

    def __init__(self, schema: InputSchema, pupils: Mapping[str, Pupil], upns: Sequence[str],
                 day_index: Callable[[str], int | None]) -> None:
        self.pupils = pupils
        self.row_of = {upn: i for i, upn in enumerate(upns)}
        self.day_index = day_index
        self.codes = code_bytes(schema.table)
        self.cache: dict[str, dict[bytes, int]] = {"upn": {}, "date": {}, "session": {},
                                                  "code": {}}
        self.fast: _FastColumns

    def table(self, column: str, values: list[bytes]) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Dictionary values → mapped integers; gives up on the first one that is wrong
        (bytes that are not UTF-8 included: UnicodeDecodeError)."""
        cache, mapper = self.cache[column], getattr(self, column)
        out = []
        for value in values:
            found = cache.get(value)
            if found is None:
                found = cache[value] = mapper(value.decode("utf-8"))
            out.append(found)
        return np.array(out, dtype=np.int64)

    def upn(self, text: str) -> int:
        found = self.row_of.get(text)
        if found is None:
            found = self.row_of.get(stdnum_upn.compact(text))
        return _or_give_up(found)

    def date(self, text: str) -> int:
        return _or_give_up(self.day_index(text))

    def session(self, text: str) -> int:
        return _or_give_up(session_offset(text))

    def code(self, text: str) -> int:
        return _or_give_up(self.codes.get(text.strip()))


def _or_give_up(value: int | None) -> int:
    if value is None:
        raise _GiveUp()
    return value


def _lay_batch(batch: Any, maps: _ValueMaps, grid: np.ndarray[Any, np.dtype[np.uint8]],
               seen: np.ndarray[Any, np.dtype[np.bool_]], size: int) -> int:
    """Scatter one batch into the grid; gives up on two different marks for one session.

    Per row only numpy work: four table lookups by dictionary index, two additions, and a
    gather / scatter / gather on the grid (the temporaries are a few bytes per row).
    """
    index = np.int64 if grid.size >= 2**31 else np.int32
    upns = _lookup(batch, "upn", maps)
    seen[upns] = True
    where = (upns.astype(index) * size)[_indices(batch, "upn")]
    where += _lookup(batch, "date", maps).astype(index)[_indices(batch, "date")]
    where += _per_row(batch, "session", maps).astype(index)
    code = _per_row(batch, "code", maps).astype(np.uint8)
    flat = grid.reshape(-1)
    before = flat[where]
    if np.any((before != _NO_MARK) & (before != code)):
        raise _GiveUp()  # differs from a mark of an earlier batch
    flat[where] = code
    if np.any(flat[where] != code):
        raise _GiveUp()  # two rows of this batch gave one session different marks
    return int(batch.num_rows)


def _per_row(batch: Any, column: str, maps: _ValueMaps) -> np.ndarray[Any, Any]:
    """Each row's mapped value of a plain column: by the numpy fast path when every value is
    written the usual way, else through the distinct values, like a dictionary column."""
    found = maps.fast.per_row(column, batch.column(column))
    if found is not None:
        return found
    encoded = pc.dictionary_encode(batch.column(column))
    mapped = maps.table(column, encoded.dictionary.to_pylist())
    rows: np.ndarray[Any, Any] = mapped[encoded.indices.to_numpy(zero_copy_only=False)]
    return rows


class _FastColumns:
    """Sessions and codes written the usual way (`AM`, `N`, `C1`), mapped for a whole batch
    by one table lookup per row.

    The tables hold only what the row reader's own rules (`_ValueMaps`) accept as written:
    anything else (`am`, ` N`) misses, and the batch goes the distinct-values way, which
    accepts or gives up exactly as before.
    """

    def __init__(self, maps: _ValueMaps) -> None:
        self.codes = np.full(1 << 16, -1, dtype=np.int16)
        for code, byte in maps.codes.items():
            raw = code.encode("utf-8")
            if 1 <= len(raw) <= 2 and code == code.strip():
                self.codes[raw[0] << 8 | (raw[1] if len(raw) == 2 else 0)] = byte
        self.single = self.codes[::256].copy()  # one-byte codes, by their byte
        self.sessions = {int.from_bytes(text.encode("ascii"), "little"): offset
                         for text in ("AM", "PM")
                         if (offset := session_offset(text)) is not None}

    def per_row(self, column: str, array: Any) -> np.ndarray[Any, Any] | None:  # noqa: ANN401
        if array.null_count or len(array) == 0:
            return None
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1,
                                offset=4 * array.offset)
        data = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
        if column == "session":
            return self._sessions(offsets, data)
        return self._codes(offsets, data)

    def _sessions(self, offsets: np.ndarray[Any, Any],
                  data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        if len(data) != 2 * (len(offsets) - 1) or not (np.diff(offsets) == 2).all():
            return None
        key = data.view("<u2")
        out = np.full(len(key), -1, dtype=np.int8)
        for value, offset in self.sessions.items():
            out[key == value] = offset
        return None if (out < 0).any() else out

    def _codes(self, offsets: np.ndarray[Any, Any],
               data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        lengths = np.diff(offsets)
        if (lengths == 1).all():  # every code one byte: the usual batch
            found = self.single[data]
        else:
            if not ((lengths == 1) | (lengths == 2)).all():
                return None
            starts = offsets[:-1] - offsets[0]
            first = data[starts].astype(np.int32) << 8
            second = np.where(lengths == 2, data[np.minimum(starts + 1, len(data) - 1)], 0)
            if ((lengths == 2) & (second == 0)).any():
                return None  # `N` and a NUL byte would pass for the one-letter code `N`
            found = self.codes[first | second]
        return None if (found < 0).any() else found


def _lookup(batch: Any, column: str, maps: _ValueMaps) -> np.ndarray[Any, np.dtype[np.int64]]:
    """The batch's distinct values of `column`, mapped (row, 2 x day, session or code byte)."""
    return maps.table(column, batch.column(column).dictionary.to_pylist())


def _indices(batch: Any, column: str) -> np.ndarray[Any, Any]:
    """Each row's position in the batch dictionary of `column` (no copy)."""
    indices: np.ndarray[Any, Any] = batch.column(column).indices.to_numpy(zero_copy_only=False)
    return indices
