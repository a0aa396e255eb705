"""The block (numpy) measures against the runtime's one-pupil measures: same values, same
onsets, for random marks, dates, windows, comparisons and thresholds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.runtime import measures as rt
from cme_policy.runtime.calendar import CalendarError
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.screening.measure_columns import KINDS, Block, NotCovered

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "leicester-2025-26.yaml")
TWO_YEARS = load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "example-2025-27.yaml")
with open(ROOT / "policy" / "law" / "attendance-codes.yaml", encoding="utf-8") as _handle:
    CODES: dict[str, Any] = yaml.safe_load(_handle)["attendance_codes"]
TABLE = CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in CODES.items())
SESSIONS = 2 * CALENDAR.school_day_count
OPS = ["==", "!=", "<", "<=", ">", ">="]
RUNTIME = {kind: (getattr(rt, kind), getattr(rt, f"{kind}_onset")) for kind in KINDS}
"""The runtime's one-pupil functions, value and onset, per kind."""
ALPHABET = [TABLE.char(c) for c in ("/", "\\", "N", "G", "O", "I", "U", "C", "M", "L", "X", "#")
            if c in TABLE] + [NO_MARK]


def _dates_in_year() -> st.SearchStrategy[date]:
    first, last = CALENDAR.first_school_day, CALENDAR.last_school_day
    return st.integers(0, (last - first).days).map(lambda n: first + timedelta(days=n))


@st.composite
def pupils(draw: st.DrawFn, sessions: int = SESSIONS) -> list[str]:
    """A few mark strings built from runs, so that long stretches of one code occur. A row
    may start unmarked (up to wholly unmarked) and draw from a few codes only, so rows never
    present, and rows with no mark at all, occur."""
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        alphabet = draw(st.one_of(st.just(ALPHABET), st.lists(st.sampled_from(ALPHABET),
                                                              min_size=1, max_size=3, unique=True)))
        text = [NO_MARK] * draw(st.one_of(st.just(0), st.integers(0, sessions)))
        while len(text) < sessions:
            char = draw(st.sampled_from(alphabet))
            text += [char] * draw(st.integers(1, 60))
        rows.append("".join(text[:sessions]))
    return rows


def _threshold(kind: str, draw: Callable[[st.SearchStrategy[Any]], Any]) -> object:
    if kind == "share_of_possible_sessions":
        return draw(st.one_of(st.integers(0, 100), st.fractions(0, 100, max_denominator=7)))
    return draw(st.integers(-1, 60))


@settings(max_examples=400, deadline=None)
@given(texts=pupils(), as_of=_dates_in_year(), data=st.data())
def test_block_measures_match_the_runtime(texts: list[str], as_of: date,
                                          data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(KINDS)))
    codes = TABLE.select(data.draw(st.lists(st.sampled_from(TABLE.codes), min_size=1,
                                            max_size=6, unique=True)))
    args: tuple[object, ...] = ()
    if kind in ("count_sessions", "count_school_days"):  # a window, or since a date
        args = (data.draw(st.one_of(st.integers(0, 200), _dates_in_year(),
                                    st.dates(date(2025, 6, 1), date(2026, 10, 1)))),)
    elif kind == "share_of_possible_sessions":
        args = (data.draw(_dates_in_year()),)
    op = data.draw(st.sampled_from(OPS))
    threshold = _threshold(kind, data.draw)
    grid = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(len(texts), -1)
    try:
        block = Block(grid, CALENDAR, TABLE, as_of)
    except NotCovered:
        assert rt.school_days_around(CALENDAR, as_of)[1] == 0
        return
    value_fn, onset_fn = RUNTIME[kind]
    values = KINDS[kind].value(block, codes, *args).python()
    for text, value in zip(texts, values):
        expected = value_fn(PupilMarks(CALENDAR, TABLE, text), CALENDAR, codes, as_of, *args)
        assert value == (expected.length if isinstance(expected, rt.Run) else expected)
    try:
        onsets = KINDS[kind].onset(block, codes, args, op, threshold).tolist()
    except NotCovered:  # only where the runtime cannot answer either
        with pytest.raises(CalendarError):
            for text in texts:
                onset_fn(PupilMarks(CALENDAR, TABLE, text), CALENDAR, codes, as_of, *args, op,
                         threshold)
        return
    for text, onset in zip(texts, onsets):
        expected_onset = onset_fn(PupilMarks(CALENDAR, TABLE, text), CALENDAR, codes, as_of,
                                  *args, op, threshold)
        assert (None if onset < 0 else CALENDAR.school_day_at(onset)) == expected_onset


@pytest.mark.parametrize("op", OPS)
def test_a_share_with_no_possible_session_yet_is_zero(op: str) -> None:
    texts = [NO_MARK * SESSIONS, TABLE.char("N") * SESSIONS]
    grid = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(2, -1)
    as_of = CALENDAR.add_school_days(CALENDAR.first_school_day, 30)
    block = Block(grid, CALENDAR, TABLE, as_of)
    share = KINDS["share_of_possible_sessions"]
    since = CALENDAR.first_school_day
    values = share.value(block, TABLE.select(["N"]), since)
    assert values.python() == [Fraction(0), Fraction(100)]
    onsets = share.onset(block, TABLE.select(["N"]), (since,), op, Fraction(50)).tolist()
    for text, onset in zip(texts, onsets):
        expected = rt.share_of_possible_sessions_onset(
            PupilMarks(CALENDAR, TABLE, text), CALENDAR, ["N"], as_of, since, op, Fraction(50))
        assert (None if onset < 0 else CALENDAR.school_day_at(onset)) == expected


def _grid(texts: list[str]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    return np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(len(texts), -1)


def _compact(start: date, text: str) -> str:
    return PupilMarks.from_compact(CALENDAR, TABLE, start, text).text


@pytest.mark.parametrize("op", OPS)
def test_days_since_for_pupils_never_present_or_never_marked(op: str) -> None:
    present = TABLE.select(["/", "\\", "L"])
    texts = [
        _compact(date(2025, 9, 3), "/\\ " + " ".join(["NN"] * 30)),  # present on Wed 3 Sep
        _compact(date(2025, 9, 8), " ".join(["NG"] * 30)),  # first marked Mon 8 Sep, never present
        _compact(date(2025, 9, 8), "-N " + " ".join(["NN"] * 30)),  # first marked 8 Sep PM
        NO_MARK * SESSIONS,  # never marked
    ]
    as_of = date(2025, 10, 6)  # Monday: 33 days after 3 Sep, 28 after 8 Sep
    block = Block(_grid(texts), CALENDAR, TABLE, as_of)
    since = KINDS["days_since_last_present"]
    assert since.value(block, present).python() == [33, 28, 28, None]
    # >= 28: 3 Sep + 28 = Wed 1 Oct; 8 Sep + 28 = Mon 6 Oct; never marked: no onset
    expected = since.onset(block, present, (), ">=", 28).tolist()
    assert [CALENDAR.school_day_at(i) if i >= 0 else None for i in expected] == [
        date(2025, 10, 1), date(2025, 10, 6), date(2025, 10, 6), None]
    onsets = since.onset(block, present, (), op, 20).tolist()
    for text, onset in zip(texts, onsets):
        runtime = rt.days_since_last_present_onset(PupilMarks(CALENDAR, TABLE, text), CALENDAR,
                                                   present, as_of, op, 20)
        assert (None if onset < 0 else CALENDAR.school_day_at(onset)) == runtime


@pytest.mark.parametrize("kind", ["count_sessions", "count_school_days"])
def test_counts_since_a_date(kind: str) -> None:
    # school days Wed 3, Thu 4, Fri 5, Mon 8, Tue 9, Wed 10, Thu 11 September
    texts = [_compact(date(2025, 9, 3), "N/ GG /\\ /O /\\ /\\ UU"), NO_MARK * SESSIONS]
    block = Block(_grid(texts), CALENDAR, TABLE, date(2025, 9, 11))
    unauthorised = TABLE.select(["G", "N", "O", "U"])
    count = KINDS[kind]
    sessions = kind == "count_sessions"
    # from Fri 5: O on Mon 8 and UU on Thu 11 (3 sessions, 2 days); the year: 6 sessions, 4 days
    assert count.value(block, unauthorised, date(2025, 9, 5)).python() == [
        3 if sessions else 2, 0]
    assert count.value(block, unauthorised, date(2025, 9, 1)).python() == [
        6 if sessions else 4, 0]
    assert count.value(block, unauthorised, date(2024, 1, 1)).python() == [
        6 if sessions else 4, 0]
    assert count.value(block, unauthorised, date(2025, 9, 12)).python() == [0, 0]
    # the running count from 5 Sep reaches 1 on Mon 8; row 2 is 0 on every day
    onsets = count.onset(block, unauthorised, (date(2025, 9, 5),), ">=", 1).tolist()
    assert onsets == [CALENDAR.school_day_index(date(2025, 9, 8)), -1]
    onsets = count.onset(block, unauthorised, (date(2025, 9, 5),), "<", 1).tolist()
    assert onsets == [-1, 0]
    # from Thu 4 (GG) the count is never 0, but it was 0 on Wed 3, before the date
    onsets = count.onset(block, unauthorised, (date(2025, 9, 4),), "!=", 0).tolist()
    assert onsets == [CALENDAR.school_day_index(date(2025, 9, 4)), -1]
    # sessions 0, 1, 1, 1, 3 and days 0, 1, 1, 1, 2 from Fri 5: equal to today's only on Thu 11
    onsets = count.onset(block, unauthorised, (date(2025, 9, 5),), "==", 3 if sessions else 2)
    assert onsets.tolist() == [CALENDAR.school_day_index(date(2025, 9, 11)), -1]


def _school_days_since_rows_match(calendar: Any, texts: list[str], as_of: date, codes: Any,
                                  op: str, threshold: int) -> None:
    """The block's school days since last present, value and onset, against the runtime's."""
    since = KINDS["school_days_since_last_present"]
    try:
        block = Block(_grid(texts), calendar, TABLE, as_of)
    except NotCovered:
        assert rt.school_days_around(calendar, as_of)[1] == 0
        return
    values = since.value(block, codes).python()
    onsets = since.onset(block, codes, (), op, threshold).tolist()
    for text, value, onset in zip(texts, values, onsets):
        marks = PupilMarks(calendar, TABLE, text)
        assert value == rt.school_days_since_last_present(marks, calendar, codes, as_of)
        expected = rt.school_days_since_last_present_onset(marks, calendar, codes, as_of, op,
                                                           threshold)
        assert (None if onset < 0 else calendar.school_day_at(onset)) == expected


PRESENT_CODES = [["/", "\\", "L"], ["/"], ["N"], ["/", "\\", "L", "N", "G"]]


@settings(max_examples=200, deadline=None)
@given(texts=pupils(), as_of=_dates_in_year(), op=st.sampled_from(OPS),
       threshold=st.one_of(st.integers(-1, 5), st.integers(-1, 60)),
       codes=st.sampled_from(PRESENT_CODES))
def test_school_days_since_matches_the_runtime(texts: list[str], as_of: date, op: str,
                                               threshold: int, codes: list[str]) -> None:
    # never-present rows (a pool without the codes) and unmarked rows come from `pupils`;
    # one of each is added to every block
    texts = [*texts, NO_MARK * SESSIONS, TABLE.char("N") * SESSIONS]
    _school_days_since_rows_match(CALENDAR, texts, as_of, TABLE.select(codes), op, threshold)


TWO_YEAR_SESSIONS = 2 * TWO_YEARS.school_day_count


@settings(max_examples=100, deadline=None)
@given(texts=pupils(TWO_YEAR_SESSIONS),
       as_of=st.one_of(st.dates(date(2025, 9, 1), date(2027, 8, 31)),
                       st.dates(date(2026, 7, 15), date(2026, 10, 15))),
       op=st.sampled_from(OPS), threshold=st.one_of(st.integers(-1, 5), st.integers(-1, 60)),
       codes=st.sampled_from(PRESENT_CODES))
def test_school_days_since_across_two_years_matches_the_runtime(
    texts: list[str], as_of: date, op: str, threshold: int, codes: list[str]
) -> None:
    texts = [*texts, NO_MARK * TWO_YEAR_SESSIONS]
    _school_days_since_rows_match(TWO_YEARS, texts, as_of, TABLE.select(codes), op, threshold)


@pytest.mark.parametrize("op", OPS)
def test_school_days_since_over_the_summer_holiday(op: str) -> None:
    present = TABLE.select(["/", "\\", "L"])

    def compact(start: date, text: str) -> str:
        return PupilMarks.from_compact(TWO_YEARS, TABLE, start, text).text

    texts = [
        # present Mon 13 - Tue 21 Jul 2026 (the last day of the summer term), then absent
        # from Thu 3 Sep, the first school day of 2026-27 (1 and 2 Sep are INSET days)
        compact(date(2026, 7, 13), " ".join(["/\\"] * 7 + ["NN"] * 30)),
        # first marked Thu 3 Sep 2026, never present
        compact(date(2026, 9, 3), " ".join(["NG"] * 30)),
        NO_MARK * TWO_YEAR_SESSIONS,  # never marked
    ]
    since = KINDS["school_days_since_last_present"]
    for as_of, expected in [(date(2026, 8, 31), [0, None, None]),  # 41 calendar days, 0 school
                            (date(2026, 9, 3), [1, 0, None]),
                            (date(2026, 9, 7), [3, 2, None]),  # Thu 3, Fri 4, Mon 7
                            # row 1: 20 on Wed 30 Sep, 22 on Fri 2 Oct; row 2: 20 on 1 Oct
                            (date(2026, 10, 2), [22, 21, None])]:
        block = Block(_grid(texts), TWO_YEARS, TABLE, as_of)
        assert since.value(block, present).python() == expected, as_of
    # >= 20: 20 school days after 21 Jul is Wed 30 Sep; after Thu 3 Sep, Thu 1 Oct
    block = Block(_grid(texts), TWO_YEARS, TABLE, date(2026, 10, 2))
    onsets = since.onset(block, present, (), ">=", 20).tolist()
    assert [TWO_YEARS.school_day_at(i) if i >= 0 else None for i in onsets] == [
        date(2026, 9, 30), date(2026, 10, 1), None]
    _school_days_since_rows_match(TWO_YEARS, texts, date(2026, 10, 2), present, op, 20)
    _school_days_since_rows_match(TWO_YEARS, texts, date(2026, 8, 31), present, op, 0)
