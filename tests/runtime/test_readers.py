"""Readers of a school's exports: every bad row reported with file, line and field; streaming."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import pytest
import yaml

from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.inputs.ctf import CtfError, read_ctf_attendance
from cme_policy.runtime.marks import CodeTable
from cme_policy.runtime.pupil import CaseEvent
from cme_policy.runtime.readers import (
    DataError,
    FactSpec,
    InputSchema,
    parse_date,
    read_events,
    read_marks,
    read_pupils,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "fixtures" / "data"
CALENDAR = load_calendar(ROOT / "policy" / "calendar.yaml")


def _table() -> CodeTable:
    """The policy's own attendance codes: the tests never hard-code the national list."""
    with open(ROOT / "policy" / "law" / "attendance-codes.yaml", encoding="utf-8") as handle:
        codes = yaml.safe_load(handle)["attendance_codes"]
    return CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in codes.items())


DESTINATIONS = ("another_school", "home_education", "unknown")
SCHEMA = InputSchema(
    _table(),
    {"destination": FactSpec("destination", "destination", DESTINATIONS),
     "leaving_date": FactSpec("leaving_date", "date"),
     "has_cp_file": FactSpec("has_cp_file", "bool")},
    events=("la_notified", "joint_enquiries_started", "removed_from_roll", "pupil_located"),
    roles=("attendance_officer", "admissions", "headteacher"),
    destinations=DESTINATIONS,
)


def _pupils() -> dict[str, object]:
    found = read_pupils(DATA / "pupils-good.csv", SCHEMA)
    assert found.ok, [str(e) for e in found.errors]
    return dict(found.pupils)


def _at(errors: list[DataError], line: int) -> list[DataError]:
    return [e for e in errors if e.line == line]


def _one(errors: list[DataError], line: int, column: int | None, *words: str) -> DataError:
    here = _at(errors, line)
    assert len(here) == 1, [str(e) for e in errors]
    error = here[0]
    assert error.column == column, str(error)
    for word in words:
        assert word in error.message + " " + (error.hint or ""), str(error)
    return error


# -- values ------------------------------------------------------------------------------


def test_dates_are_iso_or_uk() -> None:
    assert parse_date("2025-09-08") == date(2025, 9, 8)
    assert parse_date("08/09/2025") == date(2025, 9, 8)
    assert parse_date(" 8/9/2025 ") == date(2025, 9, 8)
    for bad in ("2025-9-8", "09-08-2025", "2025-02-30", "yesterday", ""):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_error_renders_like_a_compiler_diagnostic() -> None:
    error = DataError("marks.csv", 12, 3, "session 'XM' is neither AM nor PM", "write AM or PM")
    assert str(error) == ("marks.csv:12:3: error: session 'XM' is neither AM nor PM\n"
                          "  hint: write AM or PM")
    assert str(DataError("m.csv", 4, None, "bad row")) == "m.csv:4: error: bad row"


# -- pupils ------------------------------------------------------------------------------


def test_good_pupils_round_trip() -> None:
    found = read_pupils(DATA / "pupils-good.csv", SCHEMA)
    assert found.ok
    assert list(found.pupils) == ["G856200124001", "W856200124002", "K856200124003"]
    left = found.pupils["W856200124002"].facts
    assert left["date_of_birth"] == date(2016, 3, 14)  # DD/MM/YYYY accepted
    assert left["leaving_date"] == date(2026, 1, 16)
    assert left["destination"] == "another_school"
    assert left["receiving_school_urn"] == "120345"
    assert "destination" not in found.pupils["G856200124001"].facts  # empty: not given
    c = found.counts
    assert (c.rows_read, c.pupils_read, c.pupils_skipped, c.rows_invalid) == (3, 3, 0, 0)


def test_bad_pupils_each_reported_with_line_and_field() -> None:
    found = read_pupils(DATA / "pupils-bad.csv", SCHEMA)
    errors = found.errors
    _one(errors, 2, 1, "wrong check letter", "check letter for these digits is G")
    _one(errors, 3, 1, "local authority number 999")
    _one(errors, 4, 1, "not in UPN format")
    _one(errors, 5, 2, "2015-02-30", "not a real date")
    _one(errors, 6, 5, "'elsewhere'", "another_school")
    _one(errors, 8, 1, "on line 7 as well")
    _one(errors, 9, None, "3 fields", "header has 6")
    _one(errors, 10, 1, "has 9 characters, not 13")
    assert not _at(errors, 7)
    # only line 7 is good; every other row is counted as skipped, so counts reconcile
    assert list(found.pupils) == ["G856200124001"]
    c = found.counts
    assert c.rows_read == 9 and c.pupils_read == 1 and c.pupils_skipped == 8
    assert c.rows_read == c.pupils_read + c.pupils_skipped


def test_declared_pupil_fact_columns_are_typed(tmp_path: Path) -> None:
    path = tmp_path / "pupils.csv"
    path.write_text("upn,date_of_birth,admission_date,has_cp_file,shoe_size\n"
                    "G856200124001,2015-03-14,2022-09-01,yes,4\n", encoding="utf-8")
    found = read_pupils(path, SCHEMA)
    assert found.ok, [str(e) for e in found.errors]  # an extra column is ignored, with a note
    [note] = found.notes
    assert (note.severity, note.line, note.column) == ("note", 1, None)
    assert "'shoe_size' (5)" in note.message and "ignored" in note.message
    assert found.pupils["G856200124001"].facts["has_cp_file"] is True
    path.write_text("upn,date_of_birth,admission_date,has_cp_file\n"
                    "G856200124001,2015-03-14,2022-09-01,yes\n"
                    "W856200124002,2015-03-14,2022-09-01,maybe\n", encoding="utf-8")
    found = read_pupils(path, SCHEMA)
    assert found.pupils["G856200124001"].facts["has_cp_file"] is True
    _one(found.errors, 3, 4, "'maybe' is not true or false")


def test_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "pupils.csv"
    path.write_text("upn,date_of_birth\nG856200124001,2015-03-14\n", encoding="utf-8")
    found = read_pupils(path, SCHEMA)
    _one(found.errors, 1, None, "no 'admission_date' column")
    assert not found.pupils


# -- marks -------------------------------------------------------------------------------


def test_good_marks_round_trip() -> None:
    pupils = _pupils()
    found = read_marks(DATA / "marks-good.csv", SCHEMA, CALENDAR, pupils)  # type: ignore[arg-type]
    assert found.ok, [str(e) for e in found.errors]
    g = found.marks["G856200124001"]
    assert list(g.sessions()) == [
        (date(2025, 9, 3), "AM", "/"), (date(2025, 9, 3), "PM", "\\"),
        (date(2025, 9, 4), "AM", "N"), (date(2025, 9, 4), "PM", "C1")]
    w = found.marks["W856200124002"]
    assert w.code_at(date(2025, 9, 3), "AM") == "L"
    assert w.code_at(date(2025, 9, 3), "PM") == "O"  # " O " with spaces is accepted
    c = found.counts
    assert (c.rows_read, c.rows_invalid) == (7, 0)
    assert (c.pupils_read, c.pupils_with_marks, c.pupils_without_marks) == (3, 2, 1)
    empty = found.for_pupil("K856200124003", CALENDAR, SCHEMA.table)
    assert list(empty.sessions()) == []


def test_bad_marks_every_row_reported() -> None:
    pupils = _pupils()
    found = read_marks(DATA / "marks-bad.csv", SCHEMA, CALENDAR, pupils)  # type: ignore[arg-type]
    errors = found.errors
    _one(errors, 2, 3, "session 'XM' is neither AM nor PM")
    e = _one(errors, 3, 4, "unknown attendance code 'Q9'")
    assert e.hint is not None and "C1" in e.hint and "Y7" in e.hint  # lists the known codes
    _one(errors, 5, 4, "two different marks", "Thursday 2025-09-04 AM", "'/'", "'N'")
    _one(errors, 6, 2, "Saturday 2025-09-06 is not a school day (weekend)")
    _one(errors, 7, 2, "Monday 2026-05-04 is not a school day (bank holiday")
    _one(errors, 8, 1, "not in the pupils file", "1 more rows",
         "wrong check letter")
    assert not _at(errors, 9)  # the same unknown UPN is reported once
    _one(errors, 10, 2, "'2025-13-01' is not a real date")
    _one(errors, 11, None, "3 fields")
    _one(errors, 12, None, "cannot be read")
    assert not _at(errors, 13)  # reading goes on after a broken row
    _one(errors, 14, 2, "INSET day")
    _one(errors, 15, 2, "outside every academic year")
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    # the good rows are kept, the first of two conflicting marks wins
    g = found.marks["G856200124001"]
    assert g.code_at(date(2025, 9, 4), "AM") == "/"
    assert g.code_at(date(2025, 9, 5), "PM") == "/"
    assert found.counts.rows_read == 14
    assert found.counts.rows_invalid == 12


def test_marks_not_utf8(tmp_path: Path) -> None:
    found = read_marks(DATA / "marks-latin1.csv", SCHEMA, CALENDAR, _pupils())  # type: ignore[arg-type]
    _one(found.errors, 3, 4, "not UTF-8", "0xe9")
    assert found.marks["G856200124001"].code_at(date(2025, 9, 4), "AM") == "/"


def test_marks_extra_column_is_ignored_with_a_note() -> None:
    found = read_marks(DATA / "marks-extra-column.csv", SCHEMA, CALENDAR, _pupils())  # type: ignore[arg-type]
    assert found.ok, [str(e) for e in found.errors]
    assert [str(n) for n in found.notes] == [
        f"{DATA / 'marks-extra-column.csv'}:1: note: 1 column(s) not used by cme-policy,"
        " ignored: 'room' (5)"]


def test_marks_columns_in_another_order(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text("date,upn,code,session\n2025-09-03,G856200124001,I,PM\n", encoding="utf-8")
    found = read_marks(path, SCHEMA, CALENDAR, _pupils())  # type: ignore[arg-type]
    assert found.ok
    assert found.marks["G856200124001"].code_at(date(2025, 9, 3), "PM") == "I"


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[int] = []
    read_marks(DATA / "marks-good.csv", SCHEMA, CALENDAR, _pupils(),  # type: ignore[arg-type]
               progress=seen.append)
    assert seen == [7]


def test_error_limit_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    rows = "".join(f"G856200124001,2025-09-03,AM,Z{i}\n" for i in range(50))
    path.write_text("upn,date,session,code\n" + rows, encoding="utf-8")
    found = read_marks(path, SCHEMA, CALENDAR, _pupils(), error_limit=10)  # type: ignore[arg-type]
    assert len(found.errors) == 10 and found.errors_omitted == 40 and not found.ok


@pytest.mark.parametrize("columnar", [False, True], ids=["row reader", "columnar"])
def test_marks_are_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            columnar: bool) -> None:
    """Peak memory stays far below the file: rows are never all held at once (the columnar
    path reads slices of 256 KB here, so that a file of 22 MB shows it)."""
    from cme_policy.runtime.inputs import marks_columnar

    monkeypatch.setattr(marks_columnar, "SLICE_BYTES", 256 << 10)
    monkeypatch.setattr(marks_columnar, "BLOCK_BYTES", 64 << 10)
    calendar = load_calendar(ROOT / "tests" / "runtime" / "fixtures" / "leicester-2025-26.yaml")
    days = list(calendar.school_days(date(2025, 9, 1), date(2025, 12, 19)))  # the autumn term
    from cme_policy.sample import make_upn

    upns = [make_upn(856, 2001 + i // 1000, 24, i % 1000) for i in range(5000)]
    path = tmp_path / "marks.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("upn,date,session,code\n")
        fh.writelines("".join(f"{upn},{d.isoformat()},AM,/\n{upn},{d.isoformat()},PM,\\\n"
                             for d in days) for upn in upns)
    pupils_path = tmp_path / "pupils.csv"
    pupils_path.write_text("upn,date_of_birth,admission_date\n" + "".join(
        f"{u},2015-01-01,2020-09-01\n" for u in upns), encoding="utf-8")
    pupils = read_pupils(pupils_path, SCHEMA)
    assert pupils.ok
    size = path.stat().st_size
    tracemalloc.start()
    try:
        found = read_marks(path, SCHEMA, calendar, pupils.pupils, columnar=columnar)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found.ok and found.counts.pupils_with_marks == 5000
    assert found.counts.rows_read == 5000 * 2 * len(days)
    # what is kept is one mark string per pupil (2 bytes per school day of the calendar),
    # not the rows: ~30 bytes per row in the file
    strings = 5000 * 2 * calendar.school_day_count
    assert peak < size / 4, (peak, size)
    assert peak < 2 * strings + 2_000_000, (peak, strings)


# -- case log ----------------------------------------------------------------------------


def test_good_events_sorted_by_date() -> None:
    found = read_events(DATA / "events-good.csv", SCHEMA, _pupils())  # type: ignore[arg-type]
    assert found.ok, [str(e) for e in found.errors]
    assert found.events["G856200124001"] == [
        CaseEvent(date(2025, 9, 30), "la_notified", None),
        CaseEvent(date(2025, 10, 1), "joint_enquiries_started", "attendance_officer")]
    assert found.events["W856200124002"] == [
        CaseEvent(date(2026, 1, 16), "removed_from_roll", "admissions")]


def test_bad_events() -> None:
    found = read_events(DATA / "events-bad.csv", SCHEMA, _pupils())  # type: ignore[arg-type]
    errors = found.errors
    _one(errors, 2, 3, "unknown event 'la_notifed'", "did you mean 'la_notified'?")
    _one(errors, 3, 4, "unknown role 'attendance_oficer'", "did you mean 'attendance_officer'?")
    _one(errors, 4, 1, "not in the pupils file")
    _one(errors, 5, 2, "'yesterday' is not a date")
    assert not found.events and found.counts.rows_invalid == 4


# -- schema from the policy --------------------------------------------------------------


def test_schema_from_bundled_policy() -> None:
    from cme_policy.driver import check_policy

    result = check_policy(ROOT / "policy")
    if result.policy is None:
        pytest.skip("the bundled policy does not check clean right now")
    schema = InputSchema.from_policy(result.policy)
    assert "removed_from_roll" in schema.events
    assert "attendance_officer" in schema.roles
    assert set(DESTINATIONS) <= set(schema.destinations)
    assert schema.facts["leaving_date"].type_name == "date"
    assert schema.table.codes == SCHEMA.table.codes


# -- common transfer file ----------------------------------------------------------------


def test_ctf_with_marks() -> None:
    found = read_ctf_attendance(DATA / "ctf-with-marks.xml")
    assert found.ok, found.errors
    [pupil] = found.pupils
    assert pupil.upn == "G856200124001"
    assert pupil.years[0].summaries == {
        "possible": 8, "authorised": 0, "attended": 4, "unauthorised": 4}
    marks, errors = found.lay(SCHEMA.table, CALENDAR)
    assert not errors
    assert list(marks["G856200124001"].sessions()) == [
        (date(2025, 9, 3), "AM", "/"), (date(2025, 9, 3), "PM", "\\"),
        (date(2025, 9, 4), "AM", "N"), (date(2025, 9, 4), "PM", "N"),
        (date(2025, 9, 5), "AM", "/"), (date(2025, 9, 5), "PM", "\\"),
        (date(2025, 9, 8), "AM", "O"), (date(2025, 9, 8), "PM", "O")]


def test_ctf_with_summaries_only_says_what_is_missing() -> None:
    found = read_ctf_attendance(DATA / "ctf-summaries-only.xml")
    [(line, message, hint)] = found.errors
    assert line == 12  # the <YearData> element
    assert ("attendance summaries (SessionsPossible, SessionsAuthorised, SessionsAttended,"
            " SessionsUnauthorised) for this pupil") in message
    assert "W856200124002" not in message + hint  # a UPN is personal data: the line says where
    assert ("no session marks (<AttendSessions> with <AttendanceStartDate> and"
            " <AttendanceMarks>)") in message
    assert "per-session marks" in message and "marks.csv" in hint


def test_ctf_marks_are_read_only_inside_attend_sessions(tmp_path: Path) -> None:
    text = (DATA / "ctf-with-marks.xml").read_text(encoding="utf-8")
    path = tmp_path / "ctf.xml"
    path.write_text(text.replace("<AttendSessions>", "").replace("</AttendSessions>", ""),
                    encoding="utf-8")
    [(line, message, _)] = read_ctf_attendance(path).errors
    assert line == 19  # the <YearData> element
    assert "but no session marks (<AttendSessions>" in message


def test_ctf_marks_without_a_start_date(tmp_path: Path) -> None:
    text = (DATA / "ctf-with-marks.xml").read_text(encoding="utf-8")
    path = tmp_path / "ctf.xml"
    path.write_text(text.replace("<AttendanceStartDate>2025-09-03</AttendanceStartDate>", ""),
                    encoding="utf-8")
    found = read_ctf_attendance(path)
    assert [(line, m) for line, m, _ in found.errors] == [
        (30, "the pupil's <AttendanceMarks> have no <AttendanceStartDate>")]  # the marks
    marks, errors = found.lay(SCHEMA.table, CALENDAR)
    assert not errors and not list(marks["G856200124001"].sessions())


def test_ctf_refuses_dtd_and_entities(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY x "xxxxxxxx">]>\n'
                    "<CTfile>&x;</CTfile>\n", encoding="utf-8")
    with pytest.raises(CtfError, match="DOCTYPE or ENTITY") as info:
        read_ctf_attendance(path)
    assert info.value.line == 2


def test_ctf_not_xml(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<CTfile><CTFpupilData></CTfile>\n", encoding="utf-8")
    with pytest.raises(CtfError, match="not well-formed"):
        read_ctf_attendance(path)


def test_marks_crlf_quotes_and_lower_case_upns(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_bytes(b"\xef\xbb\xbfUPN,Date,Session,Code\r\n"
                     b"g856200124001,2025-09-03,AM,/\r\n"
                     b"g856200124001,2025-09-03,PM,\\\r\n"
                     b"G856200124001,2025-09-04,AM,/\r\n"
                     b'"G856200124001","2025-09-04","PM","I"\r\n'
                     b"\r\n"
                     b"g856200124001,2025-09-05,am,/\r\n")
    found = read_marks(path, SCHEMA, CALENDAR, _pupils())  # type: ignore[arg-type]
    assert found.ok, [str(e) for e in found.errors]
    assert found.counts.rows_read == 5  # the blank line is not a row
    assert [c for _, _, c in found.marks["G856200124001"].sessions()] == ["/", "\\", "/", "I", "/"]


def test_marks_quoted_field_over_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text('upn,date,session,code\nG856200124001,2025-09-03,AM,"/\nx"\n'
                    "G856200124001,2025-09-03,PM,/\n", encoding="utf-8")
    found = read_marks(path, SCHEMA, CALENDAR, _pupils())  # type: ignore[arg-type]
    _one(found.errors, 2, 4, "unknown attendance code")
    assert not _at(found.errors, 4)
    assert found.counts.rows_read == 2


def test_events_without_a_role_column(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("upn,date,event\nG856200124001,2025-10-01,pupil_located\n", encoding="utf-8")
    found = read_events(path, SCHEMA, _pupils())  # type: ignore[arg-type]
    assert found.ok
    assert found.events["G856200124001"] == [CaseEvent(date(2025, 10, 1), "pupil_located")]


def test_ctf_mark_on_a_weekend(tmp_path: Path) -> None:
    text = (DATA / "ctf-with-marks.xml").read_text(encoding="utf-8")
    path = tmp_path / "ctf.xml"
    path.write_text(text.replace("/\\NN/\\####OO", "/\\NN/\\OO--OO"), encoding="utf-8")
    found = read_ctf_attendance(path)
    _, errors = found.lay(SCHEMA.table, CALENDAR)
    assert [m for _, m, _ in errors] == [
        "mark 'O' for Saturday 2025-09-06 AM: not a school day (weekend)",
        "mark 'O' for Saturday 2025-09-06 PM: not a school day (weekend)"]
