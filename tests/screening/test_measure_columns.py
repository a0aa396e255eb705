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

from cme_policy.interpret.world import MEASURE_FUNCTIONS
from cme_policy.runtime import measures as rt
from cme_policy.runtime.calendar import CalendarError
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.screening.measure_columns import KINDS, Block, NotCovered

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "leicester-2025-26.yaml")
with open(ROOT / "policy" / "attendance-codes.yaml", encoding="utf-8") as _handle:
    CODES: dict[str, Any] = yaml.safe_load(_handle)["attendance_codes"]
TABLE = CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in CODES.items())
SESSIONS = 2 * CALENDAR.school_day_count
OPS = ["==", "!=", "<", "<=", ">", ">="]
RUNTIME = MEASURE_FUNCTIONS
ALPHABET = [TABLE.char(c) for c in ("/", "\\", "N", "G", "O", "I", "U", "C", "M", "L", "X", "#")
            if c in TABLE] + [NO_MARK]


def _dates_in_year() -> st.SearchStrategy[date]:
    first, last = CALENDAR.first_school_day, CALENDAR.last_school_day
    return st.integers(0, (last - first).days).map(lambda n: first + timedelta(days=n))


@st.composite
def pupils(draw: st.DrawFn) -> list[str]:
    """A few mark strings built from runs, so that long stretches of one code occur."""
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        text: list[str] = []
        while len(text) < SESSIONS:
            char = draw(st.sampled_from(ALPHABET))
            text += [char] * draw(st.integers(1, 60))
        rows.append("".join(text[:SESSIONS]))
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
    if kind in ("count_sessions", "count_school_days"):
        args = (data.draw(st.integers(0, 200)),)
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
