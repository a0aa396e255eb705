"""The columnar marks reader (pyarrow + numpy) against the row reader it stands in for.

The fast path may only ever accept: for a clean file it must give exactly what the row
reader gives; for anything the row reader would explain it must give up (None), so that
`read_marks` returns the row reader's errors. Hypothesis searches for a file on which the
two disagree.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from test_readers import CALENDAR, DATA, SCHEMA, _pupils

from cme_policy.runtime.inputs import marks_columnar
from cme_policy.runtime.inputs.marks_base import DayIndex as _DayIndex
from cme_policy.runtime.inputs.marks_columnar import read_marks_columnar
from cme_policy.runtime.readers import MarksRead, read_marks, read_pupils

HEADER = "upn,date,session,code\n"
G, W, K = "G856200124001", "W856200124002", "K856200124003"


def _both(path: Path,
          pupils: dict[str, object] | None = None) -> tuple[MarksRead | None, MarksRead]:
    pupils = _pupils() if pupils is None else pupils
    days = _DayIndex(CALENDAR)
    fast = read_marks_columnar(path, SCHEMA, CALENDAR, pupils,  # type: ignore[arg-type]
                               lambda text: days.lookup(text)[0])
    rows = read_marks(path, SCHEMA, CALENDAR, pupils, columnar=False)  # type: ignore[arg-type]
    return fast, rows


def _same(a: MarksRead, b: MarksRead) -> None:
    assert dict(a.marks) == dict(b.marks)
    assert a.counts == b.counts
    assert a.errors == b.errors and a.errors_omitted == b.errors_omitted


def _write(tmp_path: Path, text: str, name: str = "marks.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


# -- clean files: the same marks and counts as the row reader -------------------------------

CLEAN = {
    "fixture": (DATA / "marks-good.csv").read_text(encoding="utf-8"),
    "quoted": HEADER + f'"{G}","2025-09-03","AM","/"\n{G},2025-09-03,"PM",\\\n',
    "uk dates, spaces, lower case": HEADER + f"{G}, 03/09/2025 , am ,  N \n{G},3/9/2025,pm,/\n",
    "crlf and a bom": "\ufeff" + HEADER.replace("\n", "\r\n") + f"{G},2025-09-03,AM,/\r\n",
    "blank lines": HEADER + f"\n{G},2025-09-03,AM,/\n\n{W},2025-09-03,PM,L\n\n",
    "columns reordered": "code,session,upn,date\n/,AM,G856200124001,2025-09-03\n",
    "header in capitals": "UPN, Date ,Session,CODE\n" + f"{G},2025-09-03,AM,/\n",
    "repeated identical mark": HEADER + f"{G},2025-09-03,AM,/\n{G},2025-09-03,AM,/\n",
    "upn in lower case": HEADER + f"{G.lower()},2025-09-03,AM,/\n",
    "extra columns": "upn,surname,date,session,code,room\n" + f"{G},Example,2025-09-03,AM,/,4\n",
    "cr line ends": (HEADER + f"{G},2025-09-03,AM,/\n{W},2025-09-04,PM,L\n").replace("\n", "\r"),
    "no final newline": HEADER + f"{G},2025-09-03,AM,/",
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_files_read_the_same(tmp_path: Path, name: str) -> None:
    fast, rows = _both(_write(tmp_path, CLEAN[name]))
    assert rows.ok, [str(e) for e in rows.errors]
    assert fast is not None, "the fast path gave up on a clean file"
    _same(fast, rows)


def test_fixture_marks_land_where_the_row_reader_puts_them(tmp_path: Path) -> None:
    fast, _ = _both(DATA / "marks-good.csv")
    assert fast is not None
    assert fast.marks[W].code_at(date(2025, 9, 3), "PM") == "O"
    assert fast.marks[G].code_at(date(2025, 9, 4), "PM") == "C1"
    assert set(fast.marks) == {G, W} and K not in fast.marks
    assert (fast.counts.pupils_with_marks, fast.counts.pupils_without_marks) == (2, 1)


# -- files with something to explain: the fast path gives up --------------------------------

NEEDS_EXPLAINING = {
    "unknown code": HEADER + f"{G},2025-09-03,AM,Q9\n",
    "bad session": HEADER + f"{G},2025-09-03,XM,/\n",
    "not a date": HEADER + f"{G},2025-13-01,AM,/\n",
    "weekend": HEADER + f"{G},2025-09-06,AM,/\n",
    "unknown pupil": HEADER + f"{G},2025-09-03,AM,/\nA856200124009,2025-09-03,AM,/\n",
    "two different marks": HEADER + f"{G},2025-09-03,AM,/\n{W},2025-09-03,AM,L\n"
                                    f"{G},2025-09-03,AM,N\n",
    "too few fields": HEADER + f"{G},2025-09-03,AM\n",
    "too many fields": HEADER + f"{G},2025-09-03,AM,/,x\n",
    "unbalanced quote": HEADER + f'{G},"2025-09-03,AM,/\n',
    "empty upn": HEADER + ",2025-09-03,AM,/\n",
    "header only": HEADER,
    "a used column twice": "upn,date,session,code,Code\n" + f"{G},2025-09-03,AM,/,/\n",
    "missing column": "upn,date,session\n" + f"{G},2025-09-03,AM\n",
    "empty file": "",
}


@pytest.mark.parametrize("name", sorted(NEEDS_EXPLAINING))
def test_the_fast_path_leaves_every_error_to_the_row_reader(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, NEEDS_EXPLAINING[name])
    fast, rows = _both(path)
    assert not rows.ok  # the row reader has something to say …
    assert fast is None  # … so the fast path must not have accepted the file
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), rows)  # type: ignore[arg-type]


def test_a_record_over_two_lines_reads_the_same_either_way(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + f'{G},"2025-09-03\n",AM,/\n{W},2025-09-03,AM,L\n')
    fast, rows = _both(path)
    assert rows.ok
    if fast is not None:
        _same(fast, rows)
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), rows)  # type: ignore[arg-type]


def test_latin1_bytes_are_left_to_the_row_reader() -> None:
    fast, rows = _both(DATA / "marks-latin1.csv")
    assert fast is None and any("not UTF-8" in e.message for e in rows.errors)


def test_a_conflict_across_batches_is_found(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """With tiny slices the two conflicting marks arrive in different batches."""
    monkeypatch.setattr(marks_columnar, "BLOCK_BYTES", 64)
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 64)
    filler = "".join(f"{W},2025-09-{d:02d},AM,/\n" for d in (3, 4, 5, 8, 9, 10))
    path = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,/\n" + filler + f"{G},2025-09-03,AM,N\n")
    fast, rows = _both(path)
    assert fast is None and any("two different marks" in e.message for e in rows.errors)
    agree = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,/\n" + filler + f"{G},2025-09-03,AM,/\n",
                   "agree.csv")
    fast, rows = _both(agree)
    assert fast is not None and rows.ok
    _same(fast, rows)


def test_progress_after_each_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marks_columnar, "BLOCK_BYTES", 64)
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 64)
    path = _write(tmp_path, HEADER + "".join(f"{G},2025-09-{d:02d},AM,/\n" for d in (3, 4, 5, 8)))
    seen: list[int] = []
    found = read_marks(path, SCHEMA, CALENDAR, _pupils(), progress=seen.append)  # type: ignore[arg-type]
    assert found.ok and len(seen) > 1 and seen == sorted(seen) and seen[-1] == 4


_POOLS: list[object] = []


def test_pyarrow_memory_stays_a_fraction_of_the_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is read in slices: pyarrow's own peak is bounded by the slice, not the file
    (slices of 256 KB here, so that a file of a few MB shows it)."""
    from cme_policy.sample import make_upn

    monkeypatch.setattr(marks_columnar, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 256 * 1024)

    upns = [make_upn(856, 2001 + i // 1000, 24, i % 1000) for i in range(2000)]
    days = list(CALENDAR.school_days(date(2025, 9, 1), date(2025, 12, 19)))
    path = tmp_path / "marks.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        fh.writelines(f"{u},{d.isoformat()},AM,/\n{u},{d.isoformat()},PM,\\\n"
                      for u in upns for d in days)
    pupils_path = _write(tmp_path, "upn,date_of_birth,admission_date\n" + "".join(
        f"{u},2015-01-01,2020-09-01\n" for u in upns), "pupils.csv")
    pupils = read_pupils(pupils_path, SCHEMA).pupils
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    _POOLS.append(pool)  # pyarrow's worker threads may free a buffer after the test: the
    # pool must outlive them, or that free is a use after free (a rare segfault, later)
    dayx = _DayIndex(CALENDAR)
    found = read_marks_columnar(path, SCHEMA, CALENDAR, pupils, lambda t: dayx.lookup(t)[0],
                                memory_pool=pool)
    assert found is not None and found.counts.pupils_with_marks == 2000
    size = path.stat().st_size
    assert pool.max_memory() < size / 4, (pool.max_memory(), size)


# -- hypothesis: no file on which the two readers disagree ----------------------------------

_UPNS = st.sampled_from([G, W, K, G.lower(), f" {W}", "A856200124009", "G85620012400", ""])
_DATES = st.sampled_from(["2025-09-03", "2025-09-04", "04/09/2025", "2025-09-06", "2025-13-01",
                          " 2025-09-03", "yesterday", "2025-09-03\n", 'say "x"'])
_SESSIONS = st.sampled_from(["AM", "PM", "am", " PM ", "XM", ""])
_CODES = st.sampled_from(["/", "\\", "N", "C1", " O ", "L", "Q9", "", "c1", "N\x00", "\x00"])


def _field(value: str, quote: bool) -> str:
    return '"' + value.replace('"', '""') + '"' if quote else value


_EXTRA = st.sampled_from(["", "Smith", "O'Neil, Jo", 'say "hi"', "Zoë"])
_ROW = st.tuples(_UPNS, _DATES, _SESSIONS, _CODES, st.booleans(), _EXTRA)
LAYOUTS = {
    "plain": (HEADER, lambda u, d, s, c, x: (u, d, s, c)),
    "extra columns": ("UPN,Surname,Date,Session,Code,Note\n",
                      lambda u, d, s, c, x: (u, x, d, s, c, "")),
    "reordered": ("Code, Session ,date,upn\n", lambda u, d, s, c, x: (c, s, d, u)),
}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, max_size=12), blanks=st.booleans(),
       end=st.sampled_from(["\n", "\r\n", "\r"]), layout=st.sampled_from(sorted(LAYOUTS)),
       slice_bytes=st.sampled_from([16, 50, 32 << 20]))
def test_the_two_readers_never_disagree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        rows: list[tuple[str, str, str, str, bool, str]],
                                        blanks: bool, end: str, layout: str,
                                        slice_bytes: int) -> None:
    """Tiny slices put cuts everywhere, inside quoted fields included; line ends of every
    kind (the lone CR of Excel for Mac too), and columns the reader does not use."""
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", slice_bytes)
    header, order = LAYOUTS[layout]
    lines = [",".join(_field(v, r[4] or '"' in v or "," in v) for v in order(*r[:4], r[5]))
             for r in rows]
    body = (end + end if blanks else end).join(lines)
    path = _write(tmp_path, header.replace("\n", end) + body + (end if rows else ""))
    fast, slow = _both(path)
    if fast is not None:
        assert slow.ok, [str(e) for e in slow.errors]
        _same(fast, slow)
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), slow)  # type: ignore[arg-type]


@pytest.mark.parametrize(("data", "cut"), [
    (b"a,b\nc,d\n", 8), (b"a,b\nc,d", 4), (b"no line end", 0),
    (b'a,"x\ny"\nb\n', 10),  # the line end inside quotes is not a cut
    (b'a,"x\ny', 0), (b'a,"say ""hi"""\nb', 15),
])
def test_slices_are_cut_only_at_line_ends_outside_quotes(data: bytes, cut: int) -> None:
    assert marks_columnar._safe_cut(data) == cut


def test_a_quoted_line_end_across_a_slice_boundary(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 20)
    path = _write(tmp_path, HEADER + f'{G},"2025-09-03\n",AM,/\n{W},"2025-09-04",PM,L\n'
                                     f'{G},2025-09-04,AM,N\n')
    fast, rows = _both(path)
    assert rows.ok
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), rows)  # type: ignore[arg-type]
    if fast is not None:
        _same(fast, rows)


def test_parsing_started_early_gives_the_same_marks(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` starts parsing before the pupils are read; the result is the same, and a reader
    that gives up half way stops the parsing thread."""
    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 64)
    rows = "".join(f"{G},2025-09-{d:02d},AM,/\n" for d in (3, 4, 5, 8, 9, 10, 11, 12))
    clean = _write(tmp_path, HEADER + rows)
    ahead = marks_columnar.ParseAhead(clean, depth=1)
    early = read_marks(clean, SCHEMA, CALENDAR, _pupils(), ahead=ahead)  # type: ignore[arg-type]
    _same(early, read_marks(clean, SCHEMA, CALENDAR, _pupils(), columnar=False))  # type: ignore[arg-type]
    assert not ahead.thread.is_alive()
    bad = _write(tmp_path, HEADER + rows + f"{G},2025-09-03,AM,N\n" + rows, "bad.csv")
    ahead = marks_columnar.ParseAhead(bad, depth=1)
    found = read_marks(bad, SCHEMA, CALENDAR, _pupils(), ahead=ahead)  # type: ignore[arg-type]
    assert any("two different marks" in e.message for e in found.errors)
    assert not ahead.thread.is_alive()


def test_a_problem_in_the_parsing_thread_reaches_the_reader(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,/,extra\n")
    with marks_columnar.ParseAhead(path) as ahead:
        with pytest.raises(pa.ArrowInvalid):
            list(ahead.tables())


def test_usual_dates_sessions_and_codes_skip_the_distinct_values_detour(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`2025-09-03`, `AM`, `C1`: numpy maps them row by row; only unusual spellings (`am`)
    go through the distinct values, and read the same either way."""
    detours: list[str] = []
    encode = marks_columnar.pc.dictionary_encode

    def counted(array: object) -> object:
        detours.append(str(array))
        return encode(array)

    monkeypatch.setattr(marks_columnar.pc, "dictionary_encode", counted)
    usual = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,/\n{G},2025-09-03,PM,C1\n"
                   f"{W},2025-09-04,PM,N\n")
    fast, slow = _both(usual)
    assert fast is not None and detours == []
    _same(fast, slow)
    unusual = _write(tmp_path, HEADER + f"{G},2025-09-03,am,/\n{W},2025-09-04,PM,N\n",
                     "unusual.csv")
    fast, slow = _both(unusual)
    assert fast is not None and len(detours) == 1
    _same(fast, slow)


def test_a_nul_byte_after_a_code_is_not_the_code(tmp_path: Path) -> None:
    """`N` and a NUL byte look like the one-letter `N` to a table keyed by two bytes."""
    path = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,N\x00\n{G},2025-09-03,PM,C1\n")
    fast, slow = _both(path)
    assert fast is None and any("unknown attendance code" in e.message for e in slow.errors)
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), slow)  # type: ignore[arg-type]


def test_an_empty_code_beside_a_two_letter_one_is_not_read_as_two_codes(
        tmp_path: Path) -> None:
    """Byte counts that add up (0 + 2 = 1 + 1) must not pass for two one-letter codes."""
    path = _write(tmp_path, HEADER + f"{G},2025-09-03,AM,\n{G},2025-09-03,PM,NN\n")
    fast, slow = _both(path)
    assert fast is None or slow.ok
    _same(read_marks(path, SCHEMA, CALENDAR, _pupils()), slow)  # type: ignore[arg-type]
