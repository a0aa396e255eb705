"""Attendance marks: the code table, laying marks on the calendar, the compact notation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import (
    NO_MARK,
    CodeTable,
    CodeTableError,
    MarkError,
    PupilMarks,
    UnknownCode,
)

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = load_calendar(Path(__file__).parent / "fixtures" / "leicester-2025-26.yaml")


def policy_codes() -> dict[str, Any]:
    """The policy's own vocabulary of codes: the tests never hard-code the national list."""
    with open(ROOT / "policy" / "law" / "attendance-codes.yaml", encoding="utf-8") as handle:
        codes: dict[str, Any] = yaml.safe_load(handle)["attendance_codes"]
    return codes


CODES = policy_codes()
TABLE = CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in CODES.items())
SCHOOL_DAYS = list(CALENDAR.school_days(CALENDAR.first_school_day, CALENDAR.last_school_day))


def d(text: str) -> date:
    return date.fromisoformat(text)


# --------------------------------------------------------------------------------------
# CodeTable
# --------------------------------------------------------------------------------------


def test_table_gives_every_policy_code_its_own_char() -> None:
    chars = [TABLE.char(code) for code in CODES]
    assert len(set(chars)) == len(CODES)
    assert all(len(c) == 1 and c.isascii() and c != NO_MARK for c in chars)
    assert {TABLE.code(c) for c in chars} == set(CODES)
    assert TABLE.code(NO_MARK) is None


def test_single_char_codes_keep_their_char_so_strings_read_like_the_register() -> None:
    for code in ("/", "\\", "N", "G", "#"):
        assert TABLE.char(code) == code


def test_possible_and_category_come_from_the_vocabulary() -> None:
    for code, info in CODES.items():
        assert TABLE.possible(code) is info["possible"]
        assert TABLE.category(code) == info["category"]
    assert TABLE.possible("/") and TABLE.possible("C1") and TABLE.possible("N")
    assert not TABLE.possible("#") and not TABLE.possible("Y1") and not TABLE.possible("D")
    assert "C1" in TABLE and "H" not in TABLE


def test_unknown_code_names_the_code_and_the_known_codes() -> None:
    with pytest.raises(UnknownCode) as info:
        TABLE.char("H")
    assert info.value.code == "H"
    assert info.value.known == tuple(CODES)
    message = str(info.value)
    assert "unknown attendance code 'H'" in message
    assert "C1" in message and "Y7" in message and "#" in message
    with pytest.raises(UnknownCode):
        TABLE.possible("F")
    with pytest.raises(UnknownCode):
        TABLE.select(["G", "H"])


def test_select_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError, match="collection of attendance codes"):
        TABLE.select("GNO")


def test_select_is_cached_and_knows_which_codes_are_possible() -> None:
    chosen = TABLE.select(["N", "#"])
    assert TABLE.select(["N", "#"]) is chosen
    assert chosen.flags[ord(TABLE.char("N"))] == 1 and chosen.flags[ord("#")] == 1
    assert chosen.possible_flags[ord(TABLE.char("N"))] == 1
    assert chosen.possible_flags[ord("#")] == 0


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("N", "u", True), ("N", "u", True)], "declared twice"),
        ([("ABC", "u", True)], "1 or 2 characters"),
        ([("", "u", True)], "1 or 2 characters"),
        ([("[", "u", True)], "reserved"),
        ([("-", "u", True)], "reserved"),
        ([("A ", "u", True)], "reserved"),
        ([("N", "", True)], "category"),
        ([("N", "u", "yes")], "true or false"),
    ],
)
def test_bad_vocabularies_are_refused(entries: list[tuple[Any, Any, Any]], message: str) -> None:
    with pytest.raises(CodeTableError, match=message):
        CodeTable.from_entries(entries)


def test_a_table_with_too_many_codes_is_refused() -> None:
    entries = [(f"{a}{b}", "x", True) for a in "ABCDEFGHIJ" for b in "0123456789"]
    with pytest.raises(CodeTableError, match="more than"):
        CodeTable.from_entries(entries)


# --------------------------------------------------------------------------------------
# PupilMarks.from_sessions
# --------------------------------------------------------------------------------------


def test_sessions_land_at_2i_and_2i_plus_1() -> None:
    marks = PupilMarks.from_sessions(
        CALENDAR, TABLE,
        [(d("2025-09-03"), "AM", "/"), (d("2025-09-03"), "PM", "N"), (d("2025-09-04"), "PM", "C1")],
    )
    assert len(marks.text) == 2 * CALENDAR.school_day_count
    assert marks.text[:4] == "/N" + NO_MARK + TABLE.char("C1")
    assert marks.code_at(d("2025-09-03"), "PM") == "N"
    assert marks.code_at(d("2025-09-04"), "AM") is None
    assert marks.code_at(d("2025-09-06"), "AM") is None  # a Saturday


def test_the_same_mark_twice_is_harmless() -> None:
    row = (d("2025-09-03"), "AM", "N")
    marks = PupilMarks.from_sessions(CALENDAR, TABLE, [row, row])
    assert marks.code_at(d("2025-09-03"), "AM") == "N"


def test_a_mark_on_a_saturday_names_the_date_session_and_reason() -> None:
    with pytest.raises(MarkError) as info:
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2025-10-04"), "AM", "N")])
    message = str(info.value)
    assert "2025-10-04" in message and "AM" in message and "Saturday" in message
    assert "not a school day (weekend)" in message


def test_a_mark_in_the_half_term_or_on_an_inset_day_is_refused() -> None:
    with pytest.raises(MarkError, match=r"2025-10-29 PM: not a school day \(school holiday"):
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2025-10-29"), "PM", "/")])
    with pytest.raises(MarkError, match=r"INSET day"):
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2025-09-01"), "AM", "/")])


def test_a_mark_outside_the_calendar_is_refused() -> None:
    with pytest.raises(MarkError, match=r"2030-01-07 AM: date 2030-01-07 is outside every"):
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2030-01-07"), "AM", "/")])


def test_two_different_marks_for_one_session_are_refused() -> None:
    rows = [(d("2025-09-03"), "PM", "N"), (d("2025-09-03"), "PM", "I")]
    with pytest.raises(MarkError) as info:
        PupilMarks.from_sessions(CALENDAR, TABLE, rows)
    assert str(info.value) == "two different marks for Wednesday 2025-09-03 PM: 'N' and 'I'"


def test_an_unknown_code_or_session_in_a_row_is_refused() -> None:
    with pytest.raises(UnknownCode, match=r"'H' for 2025-09-03 AM"):
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2025-09-03"), "AM", "H")])
    with pytest.raises(MarkError, match=r"session 'EV'; use 'AM' or 'PM'"):
        PupilMarks.from_sessions(CALENDAR, TABLE, [(d("2025-09-03"), "EV", "/")])


def test_a_mark_string_must_fit_the_calendar_and_the_table() -> None:
    sessions = 2 * CALENDAR.school_day_count
    assert sessions == 388  # 194 school days in the Leicester year
    with pytest.raises(MarkError, match="has 388 sessions, not 4"):
        PupilMarks(CALENDAR, TABLE, "/\\/\\")
    with pytest.raises(MarkError, match="private characters"):
        PupilMarks(CALENDAR, TABLE, "~" * sessions)
    for foreign in ("é", "~", "\x00"):  # non-ASCII, a free ASCII char, a control char
        with pytest.raises(MarkError, match="private characters"):
            PupilMarks(CALENDAR, TABLE, "/" * (sessions - 1) + foreign)
    assert PupilMarks.empty(CALENDAR, TABLE).text == NO_MARK * sessions


rows = st.lists(
    st.tuples(st.sampled_from(SCHOOL_DAYS), st.sampled_from(["AM", "PM"]),
              st.sampled_from(list(CODES))),
    max_size=60,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=100, deadline=None)
@given(rows)
def test_sessions_round_trip(given_rows: list[tuple[date, str, str]]) -> None:
    marks = PupilMarks.from_sessions(CALENDAR, TABLE, given_rows)
    assert sorted(marks.sessions()) == sorted(given_rows)
    for day, session, code in given_rows:
        assert marks.code_at(day, session) == code


# --------------------------------------------------------------------------------------
# The compact notation
# --------------------------------------------------------------------------------------


def test_compact_skips_weekends_and_holidays() -> None:
    marks = PupilMarks.from_compact(CALENDAR, TABLE, d("2025-10-24"), "/\\ /\\ NN NN GG")
    got = sorted(marks.sessions())
    days = [d("2025-10-24"), d("2025-11-03"), d("2025-11-04"), d("2025-11-05"), d("2025-11-06")]
    codes = ["/", "\\", "/", "\\", "N", "N", "N", "N", "G", "G"]
    assert got == sorted(zip([x for x in days for _ in (0, 1)], ["AM", "PM"] * 5, codes))


def test_compact_start_on_a_non_school_day_begins_at_the_next_one() -> None:
    marks = PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-01"), "NG")  # INSET day
    assert list(marks.sessions()) == [(d("2025-09-03"), "AM", "N"), (d("2025-09-03"), "PM", "G")]


def test_compact_brackets_and_no_mark() -> None:
    marks = PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-03"), "[C1][C1] -N [Y1]- [N]/")
    assert list(marks.sessions()) == [
        (d("2025-09-03"), "AM", "C1"), (d("2025-09-03"), "PM", "C1"),
        (d("2025-09-04"), "PM", "N"),
        (d("2025-09-05"), "AM", "Y1"),
        (d("2025-09-08"), "AM", "N"), (d("2025-09-08"), "PM", "/"),
    ]


def test_compact_is_whitespace_tolerant() -> None:
    one = PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-03"), "  NN\n\t/\\   GG ")
    two = PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-03"), "NN /\\ GG")
    assert one == two


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NN NNN", r"day 2 \('NNN', 2025-09-04\): 3 session\(s\), expected 2 \(AM then PM\)"),
        ("N", r"day 1 \('N', 2025-09-03\): 1 session\(s\), expected 2"),
        ("/\\ [C1/", r"day 2 \('\[C1/', 2025-09-04\): unclosed '\[' at character 1"),
        ("N]N", r"day 1 \('N\]N', 2025-09-03\): '\]' at character 2 has no '\['"),
        ("[]N", r"write one code of 1 or 2 characters inside brackets, found '\[\]'"),
        ("[[N]N", r"inside brackets, found '\[\[N\]'"),
    ],
)
def test_bad_compact_notation_is_explained(text: str, message: str) -> None:
    with pytest.raises(MarkError, match=message):
        PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-03"), text)


def test_compact_unknown_code_names_the_day() -> None:
    with pytest.raises(UnknownCode) as info:
        PupilMarks.from_compact(CALENDAR, TABLE, d("2025-09-03"), "NN N[H1]")
    assert info.value.code == "H1"
    assert "in compact marks day 2 ('N[H1]', 2025-09-04)" in str(info.value)


def test_compact_past_the_end_of_the_calendar_is_refused() -> None:
    with pytest.raises(MarkError, match=r"past the calendar's last school day \(2026-07-21\)"):
        PupilMarks.from_compact(CALENDAR, TABLE, d("2026-07-20"), "NN NN NN")


day_codes = st.sampled_from(["/", "\\", "N", "G", "O", "I", "C1", "Y1", "#", "-"])


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 150), st.lists(st.tuples(day_codes, day_codes), max_size=39))
def test_compact_agrees_with_sessions(first: int, days: list[tuple[str, str]]) -> None:
    text = " ".join("".join(c if len(c) == 1 else f"[{c}]" for c in pair) for pair in days)
    compact = PupilMarks.from_compact(CALENDAR, TABLE, SCHOOL_DAYS[first], text)
    as_rows = [
        (SCHOOL_DAYS[first + n], session, code)
        for n, pair in enumerate(days)
        for session, code in zip(("AM", "PM"), pair)
        if code != "-"
    ]
    assert compact == PupilMarks.from_sessions(CALENDAR, TABLE, as_rows)
