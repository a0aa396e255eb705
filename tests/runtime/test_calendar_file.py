"""Reading calendar YAML: every bad input is a CalendarError at file:line:column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cme_policy.runtime.calendar import CalendarError, Closure, Term
from cme_policy.runtime.calendar_file import calendar_from_text, load_calendar

FIXTURES = Path(__file__).parent / "fixtures"

# Line numbers below refer to this layout; the flow mappings of the terms start at
# column 11, their `start` values at column 33 and their `end` values at column 50.
HEAD = """\
calendar:
  academic_years:
    - name: 2025-26
      start: 2025-09-01
      end: 2026-08-31
      terms:
"""
TERMS = """\
        - {name: Autumn, start: 2025-09-01, end: 2025-12-19}
        - {name: Spring, start: 2026-01-05, end: 2026-03-27}
        - {name: Summer, start: 2026-04-13, end: 2026-07-21}
"""
GOOD = HEAD + TERMS  # lines 7, 8, 9 are the terms


def error_of(text: str) -> CalendarError:
    with pytest.raises(CalendarError) as caught:
        calendar_from_text(text, "cal.yaml")
    return caught.value


def where(err: CalendarError) -> tuple[str | None, int | None, int | None]:
    return err.path, err.line, err.column


def test_minimal_calendar_reads() -> None:
    cal = calendar_from_text(GOOD)
    assert cal.bank_holidays_region == "england"
    assert cal.school is None
    assert cal.years[0].terms[1] == Term("Spring", date(2026, 1, 5), date(2026, 3, 27))
    assert cal.years[0].inset_days == () and cal.years[0].closures == ()


def test_fixture_reads_with_closures() -> None:
    cal = load_calendar(FIXTURES / "example-2025-27.yaml")
    first = cal.years[0]
    assert first.inset_days == (date(2025, 9, 1), date(2025, 9, 2), date(2026, 1, 5))
    assert first.closures == (
        Closure(date(2026, 5, 7), date(2026, 5, 7), "polling station", True),
        Closure(date(2026, 2, 2), date(2026, 2, 3), "snow", False),
    )
    assert cal.years[1].inset_days == (date(2026, 9, 1), date(2026, 9, 2))


def test_error_renders_like_a_compiler_diagnostic() -> None:
    err = error_of(GOOD.replace("end: 2025-12-19", "end: 2025-08-19"))
    assert str(err) == (
        "cal.yaml:7:50: error: term 'Autumn' ends (2025-08-19) before it starts (2025-09-01)\n"
        "hint: check the term's start and end dates"
    )
    assert str(CalendarError("no path")) == "error: no path"


# -- meaning of the dates -------------------------------------------------------------


def test_overlapping_terms_in_one_year() -> None:
    err = error_of(GOOD.replace("start: 2026-01-05", "start: 2025-12-15"))
    assert err.message == (
        "term 'Spring' (2025-12-15 to 2026-03-27) overlaps term 'Autumn' (2025-09-01 to 2025-12-19)"
    )
    assert where(err) == ("cal.yaml", 8, 33)
    assert err.hint and "at most one term" in err.hint


def test_overlapping_terms_across_years() -> None:
    text = GOOD + """\
    - name: 2026-27
      start: 2026-07-01
      end: 2027-08-31
      terms:
        - {name: Autumn 26, start: 2026-07-15, end: 2026-12-18}
"""
    err = error_of(text)
    assert err.message == (
        "term 'Autumn 26' (2026-07-15 to 2026-12-18) overlaps "
        "term 'Summer' (2026-04-13 to 2026-07-21)"
    )
    assert where(err) == ("cal.yaml", 14, 36)


def test_overlapping_academic_years() -> None:
    text = GOOD + """\
    - name: 2026-27
      start: 2026-08-01
      end: 2027-08-31
      terms:
        - {name: Autumn 26, start: 2026-09-01, end: 2026-12-18}
"""
    err = error_of(text)
    assert err.message == (
        "academic year 2026-27 (2026-08-01 to 2027-08-31) overlaps"
        " academic year 2025-26 (2025-09-01 to 2026-08-31)"
    )
    assert where(err) == ("cal.yaml", 11, 14)


def test_term_outside_its_academic_year() -> None:
    err = error_of(GOOD.replace("end: 2026-07-21", "end: 2026-09-04"))
    assert err.message == (
        "term 'Summer' ends on 2026-09-04, outside academic year 2025-26 (2025-09-01 to 2026-08-31)"
    )
    assert where(err) == ("cal.yaml", 9, 50)


def test_term_ends_before_it_starts() -> None:
    err = error_of(GOOD.replace("end: 2026-03-27", "end: 2026-01-02"))
    assert err.message == "term 'Spring' ends (2026-01-02) before it starts (2026-01-05)"
    assert where(err) == ("cal.yaml", 8, 50)


def test_academic_year_ends_before_it_starts() -> None:
    err = error_of(GOOD.replace("end: 2026-08-31", "end: 2025-08-31"))
    assert err.message == "academic year 2025-26 ends (2025-08-31) before it starts (2025-09-01)"
    assert where(err) == ("cal.yaml", 5, 12)


def test_inset_day_outside_every_term() -> None:
    err = error_of(GOOD + "      inset_days: [2025-09-01, 2025-12-22]\n")
    assert err.message == "INSET day 2025-12-22 is outside every term of 2025-26"
    assert where(err) == ("cal.yaml", 10, 32)
    assert err.hint and "extend the term" in err.hint


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        ("2025-09-06", "is a Saturday"),
        ("2026-05-04", "is a bank holiday (May Day)"),
        ("2025-09-01", "is listed twice"),
    ],
)
def test_inset_day_that_cannot_be_one(day: str, problem: str) -> None:
    err = error_of(GOOD + f"      inset_days:\n        - 2025-09-01\n        - {day}\n")
    assert err.message == f"INSET day {day} {problem}"
    assert where(err) == ("cal.yaml", 12, 11)


def test_closure_outside_every_term() -> None:
    text = GOOD + """\
      closures:
        - {date: 2026-02-02, reason: snow, planned: false}
        - {start: 2026-03-26, end: 2026-04-02, reason: burst pipe}
"""
    err = error_of(text)
    assert err.message == "closure 'burst pipe' on 2026-04-02 is outside every term of 2025-26"
    assert where(err) == ("cal.yaml", 12, 11)


def test_closure_range_may_span_a_holiday() -> None:
    text = GOOD + "      closures:\n        - {start: 2026-03-26, end: 2026-04-14, reason: works}\n"
    cal = calendar_from_text(text)
    assert cal.next_school_day(date(2026, 3, 25)) == date(2026, 4, 15)


def test_closure_ends_before_it_starts() -> None:
    text = GOOD + "      closures:\n        - {start: 2026-03-26, end: 2026-03-20, reason: works}\n"
    err = error_of(text)
    assert err.message == "closure 'works' ends (2026-03-20) before it starts (2026-03-26)"
    assert where(err) == ("cal.yaml", 11, 36)


def test_duplicate_term_names() -> None:
    err = error_of(GOOD.replace("name: Summer", "name: Spring"))
    assert err.message == "term name 'Spring' is used twice"
    assert where(err) == ("cal.yaml", 9, 18)


def test_unknown_bank_holiday_region() -> None:
    err = error_of(GOOD.replace("calendar:\n", "calendar:\n  bank_holidays: englnd\n"))
    assert err.message == "unknown bank holiday region 'englnd'"
    assert err.hint == "did you mean 'england'?"
    assert where(err) == ("cal.yaml", 2, 18)


# -- shape of the file ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("2025-02-30", "malformed date '2025-02-30' for term start: day is out of range for month"),
        ("03/09/2025", "malformed date '03/09/2025' for term start"),
        ("2025-9-3", "malformed date '2025-9-3' for term start"),
        ("2025-09-03 08:50", "malformed date '2025-09-03 08:50' for term start"),
    ],
)
def test_malformed_date(bad: str, message: str) -> None:
    err = error_of(GOOD.replace("start: 2026-01-05", f"start: {bad}"))
    assert err.message == message
    assert err.hint == "write dates as YYYY-MM-DD, for example 2025-09-03"
    assert where(err) == ("cal.yaml", 8, 33)


def test_quoted_date_is_fine() -> None:
    cal = calendar_from_text(GOOD.replace("start: 2026-01-05", "start: '2026-01-05'"))
    assert cal.years[0].terms[1].start == date(2026, 1, 5)


def test_unknown_key_suggests_the_right_one() -> None:
    err = error_of(GOOD + "      inset_dyas: [2025-09-01]\n")
    assert err.message == "unknown key 'inset_dyas' in academic year"
    assert err.hint is not None and err.hint.startswith("did you mean 'inset_days'?")
    assert where(err) == ("cal.yaml", 10, 7)


def test_unknown_key_far_from_any() -> None:
    err = error_of(GOOD.replace("{name: Autumn,", "{name: Autumn, colour: red,"))
    assert err.message == "unknown key 'colour' in term"
    assert err.hint == "term allows: name, start, end"
    assert where(err) == ("cal.yaml", 7, 26)


def test_duplicate_key() -> None:
    err = error_of(GOOD.replace("      end: 2026-08-31\n",
                                "      end: 2026-08-31\n      start: 2025-09-02\n"))
    assert err.message == "duplicate key 'start' in academic year"
    assert err.hint == "'start' is first given on line 4; keep one"
    assert where(err) == ("cal.yaml", 6, 7)


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        (GOOD.replace(", end: 2026-03-27}", "}"), "term is missing required key 'end'", 8, 11),
        (GOOD.replace("      end: 2026-08-31\n", ""),
         "academic year is missing required key 'end'", 3, 7),
        ("calendar:\n  school: X\n", "calendar is missing required key 'academic_years'", 2, 3),
        ("school: X\n", "unknown key 'school' in calendar file", 1, 1),
        (GOOD + "      closures:\n        - {reason: snow}\n",
         "closure is missing required key 'date'", 11, 11),
        (GOOD + "      closures:\n        - {start: 2026-02-02, reason: snow}\n",
         "closure is missing required key 'end'", 11, 11),
        (GOOD + "      closures:\n        - {date: 2026-02-02}\n",
         "closure is missing required key 'reason'", 11, 11),
    ],
)
def test_missing_required_key(text: str, message: str, line: int, column: int) -> None:
    err = error_of(text)
    assert err.message == message
    assert where(err) == ("cal.yaml", line, column)


def test_closure_with_date_and_range() -> None:
    err = error_of(GOOD + "      closures:\n"
                   "        - {date: 2026-02-02, end: 2026-02-03, reason: snow}\n")
    assert err.message == "closure gives both 'date' and 'end'"
    assert where(err) == ("cal.yaml", 11, 35)


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        (GOOD.replace("      terms:\n", "      terms: Autumn\n").replace(TERMS, ""),
         "expected terms (a list), found 'Autumn'", 6, 14),
        (GOOD.replace("name: 2025-26", "name: [2025, 26]"),
         "expected academic year name (text), found a list", 3, 13),
        (GOOD.replace("start: 2025-09-01\n", "start:\n"),
         "expected academic year start (a date), found nothing", 4, 13),
        (GOOD + "      closures:\n        - {date: 2026-02-02, reason: snow, planned: yes}\n",
         "expected true or false for planned, found 'yes'", 11, 53),
        ("- calendar\n", "expected calendar file (a mapping), found a list", 1, 1),
        ("calendar:\n  academic_years:\n    - 2025-26\n",
         "expected academic year (a mapping), found '2025-26'", 3, 7),
        (GOOD + "      inset_days: {2025-09-01: x}\n",
         "expected inset_days (a list), found a mapping", 10, 19),
        (GOOD.replace("calendar:\n", "calendar:\n  ? [a, b]\n  : 1\n"),
         "expected a key in calendar, found a list", 2, 5),
    ],
)
def test_wrong_types(text: str, message: str, line: int, column: int) -> None:
    err = error_of(text)
    assert err.message == message
    assert where(err) == ("cal.yaml", line, column)


def test_empty_lists_may_be_left_blank() -> None:
    cal = calendar_from_text(GOOD + "      inset_days:\n      closures: []\n")
    assert cal.years[0].inset_days == ()


def test_no_academic_years() -> None:
    err = error_of("calendar:\n  academic_years: []\n")
    assert err.message == "the calendar has no academic years"
    assert where(err) == ("cal.yaml", 2, 19)


def test_year_without_terms() -> None:
    err = error_of(HEAD.replace("      terms:\n", "      terms: []\n"))
    assert err.message == "academic year 2025-26 has no terms"
    assert where(err) == ("cal.yaml", 6, 14)


# -- YAML itself ------------------------------------------------------------------------


def test_anchors_and_aliases_are_refused() -> None:
    text = GOOD.replace("start: 2025-09-01\n", "start: &first 2025-09-01\n", 1)
    err = error_of(text)
    assert err.message == "anchors and aliases (&name, *name) are not allowed in a calendar file"
    assert where(err) == ("cal.yaml", 4, 14)
    text = GOOD.replace("{name: Autumn, start: 2025-09-01", "{name: Autumn, start: *first", 1)
    err = error_of(text.replace("start: 2025-09-01\n", "start: &first 2025-09-01\n", 1))
    assert where(err) == ("cal.yaml", 4, 14)  # the anchor is reported first


def test_alias_alone_is_refused() -> None:
    err = error_of("calendar: *x\n")
    assert where(err) == ("cal.yaml", 1, 11)
    assert "aliases" in err.message


def test_yaml_syntax_error() -> None:
    err = error_of(GOOD.replace("end: 2025-12-19}", "end: 2025-12-19"))
    assert err.message.startswith("invalid YAML: ")
    assert (err.path, err.line) == ("cal.yaml", 8)
    assert err.hint == "check indentation and quoting near here (use spaces, not tabs)"


def test_tab_indentation() -> None:
    err = error_of("calendar:\n\tacademic_years: []\n")
    assert err.message == (
        "invalid YAML: while scanning for the next token,"
        " found character '\\t' that cannot start any token"
    )
    assert where(err) == ("cal.yaml", 2, 1)


def test_two_documents() -> None:
    err = error_of(GOOD + "---\n" + GOOD)
    assert err.message == (
        "invalid YAML: expected a single document in the stream, but found another document"
    )
    assert where(err) == ("cal.yaml", 10, 1)


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    err = error_of(text)
    assert err.message == "the calendar file is empty"
    assert where(err) == ("cal.yaml", 1, 1)


def test_control_character() -> None:
    err = error_of("calendar:\n  school: a\x07b\n")
    assert err.message == "invalid character U+0007 in the calendar file"
    assert where(err) == ("cal.yaml", 2, 12)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    text = GOOD.replace("calendar:\n", "calendar:\n  school: Caf\xe9 School\n")
    path.write_bytes(text.encode("latin-1"))
    err = error_of_file(path)
    assert err.message == "the calendar file is not valid UTF-8 (byte 0xe9)"
    assert where(err) == (str(path), 2, 14)


def test_utf8_with_bom_and_accents(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    text = GOOD.replace("calendar:\n", "calendar:\n  school: École Saint-Étienne\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_calendar(path).school == "École Saint-Étienne"


def test_missing_file(tmp_path: Path) -> None:
    err = error_of_file(tmp_path / "nope.yaml")
    assert err.message == "cannot read calendar file: No such file or directory"
    assert where(err) == (str(tmp_path / "nope.yaml"), None, None)
    assert str(err).startswith(f"{tmp_path / 'nope.yaml'}: error: ")


def error_of_file(path: Path) -> CalendarError:
    with pytest.raises(CalendarError) as caught:
        load_calendar(path)
    return caught.value


def test_docs_example_is_the_fixture() -> None:
    docs = Path(__file__).parents[2] / "docs" / "calendar.md"
    block = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    assert calendar_from_text(block) == load_calendar(FIXTURES / "example-2025-27.yaml")


def test_docs_error_example() -> None:
    docs = Path(__file__).parents[2] / "docs" / "calendar.md"
    block = docs.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    bad = block.replace("{name: Spring 1, start: 2026-01-05", "{name: Spring 1, start: 2025-12-15")
    with pytest.raises(CalendarError) as caught:
        calendar_from_text(bad, "calendar.yaml")
    rendered = str(caught.value)
    assert rendered.split("\n")[0] in docs.read_text(encoding="utf-8")
    assert rendered.startswith(
        "calendar.yaml:11:35: error: term 'Spring 1' (2025-12-15 to 2026-02-13)")
