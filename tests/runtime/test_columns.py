"""Headers: matched without regard to case, spaces and `_`; extra columns ignored with a note;
a school's own headings mapped with `--columns` (inline or a YAML/CSV file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cme_policy.runtime.inputs.columns import ColumnMapError, parse_columns
from cme_policy.runtime.inputs.common import (
    FILE_KINDS,
    MARK_COLUMNS,
    PUPIL_COLUMNS,
    ErrorList,
)
from cme_policy.runtime.inputs.csvfile import normalise, resolve_header


def _header(row: list[str], mapping: dict[str, str] | None = None,
            known: tuple[str, ...] = MARK_COLUMNS, required: tuple[str, ...] = MARK_COLUMNS,
            kind: str = "marks") -> tuple[dict[str, int] | None, ErrorList]:
    errors = ErrorList("f.csv", None)
    found = resolve_header(row, kind, known, required, mapping or {}, errors)
    return (found.cols if found else None), errors


@pytest.mark.parametrize("name", [" UPN ", "Upn", "u_p_n", "Date Of Birth", "DATE-OF-BIRTH",
                                  "date.of.birth", "\u00a0date_of_birth"])
def test_names_ignore_case_spaces_and_separators(name: str) -> None:
    assert normalise(name) in ("upn", "dateofbirth")


def test_extra_columns_are_ignored_and_listed_once() -> None:
    cols, errors = _header(["UPN", "Surname", "Date", "Session", "Code", "", "Surname"])
    assert cols == {"upn": 0, "date": 2, "session": 3, "code": 4}
    assert not errors.items
    [note] = errors.notes
    assert note.message == ("3 column(s) not used by cme-policy, ignored: 'Surname' (2),"
                            " (unnamed column 6), 'Surname' (7)")


def test_a_misspelt_optional_column_gets_a_warning() -> None:
    known = PUPIL_COLUMNS + ("has_cp_file",)
    cols, errors = _header(["upn", "date_of_birth", "admission_date", "has_cp_flie"],
                           known=known, required=("upn", "date_of_birth", "admission_date"),
                           kind="pupils")
    assert cols is not None and "has_cp_file" not in cols
    warning = next(n for n in errors.notes if n.severity == "warning")
    assert (warning.line, warning.column) == (1, 4)
    assert "did you mean 'has_cp_file'?" in warning.message
    assert warning.hint is not None and "--columns pupils.has_cp_file=has_cp_flie" in warning.hint


def test_a_used_column_twice_is_a_whole_file_error() -> None:
    cols, errors = _header(["upn", "date", "session", "code", "CODE"])
    assert cols is None
    [error] = errors.items
    assert error.whole_file and error.column == 5 and "'CODE' appears twice" in error.message


def test_a_mapping_picks_the_heading_and_the_standard_name_is_then_ignored() -> None:
    cols, errors = _header(["UPN", "Date", "Session", "Code", "Mark"], {"code": "Mark"})
    assert cols == {"upn": 0, "date": 1, "session": 2, "code": 4}
    assert "'Code' (4)" in errors.notes[-1].message


def test_a_mapped_heading_that_is_absent() -> None:
    cols, errors = _header(["UPN", "Date", "Session", "Mark"], {"code": "Mrak"})
    assert cols is None
    [error] = errors.items
    assert error.whole_file
    assert error.message == "--columns maps 'code' to 'Mrak', but the header has no such column"
    assert error.hint == "the header's columns are: 'UPN', 'Date', 'Session', 'Mark'"


def test_two_columns_mapped_onto_one_heading() -> None:
    cols, errors = _header(["UPN", "Date", "Session", "Mark"], {"code": "Session"})
    assert cols is None and "mapped to both 'session' and 'code'" in errors.items[0].message


@pytest.mark.parametrize(("row", "message"), [
    (["K856200000001", "2025-09-03", "AM", "N"], "the first row holds data"),
    (["upn\tdate\tsession\tcode"], "separated by tabs"),
    (["upn;date;session;code"], "separated by semicolons"),
    (["UPN", "2025-09-03", "2025-09-04"], "one column per date"),
])
def test_a_first_row_that_is_no_header(row: list[str], message: str) -> None:
    cols, errors = _header(row)
    assert cols is None
    [error] = errors.items
    assert message in error.message and error.whole_file
    assert "K856200000001" not in str(error)


# -- --columns ---------------------------------------------------------------------------


def test_inline_entries_with_and_without_a_kind() -> None:
    found = parse_columns(["upn=Pupil UPN,marks.code=Mark", "events.date = Date Done "])
    assert found.for_kind("marks") == {"upn": "Pupil UPN", "code": "Mark"}
    assert found.for_kind("events") == {"upn": "Pupil UPN", "date": "Date Done"}
    assert found.for_kind("marks").loose == {"upn"}
    assert found.for_kind("pupils", PUPIL_COLUMNS) == {"upn": "Pupil UPN"}
    kinded = parse_columns(["upn=UPN,marks.upn=Adno"]).for_kind("marks")
    assert kinded == {"upn": "Adno"} and not kinded.loose  # KIND. wins


def test_a_yaml_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text("upn: UPN\nmarks:\n  code: Mark\n  session: AM/PM\npupils:\n"
                    "  date_of_birth: DOB\n", encoding="utf-8")
    found = parse_columns([str(path)])
    assert found.for_kind("marks") == {"upn": "UPN", "session": "AM/PM", "code": "Mark"}
    assert found.for_kind("pupils", PUPIL_COLUMNS) == {"upn": "UPN", "date_of_birth": "DOB"}


def test_a_csv_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    path.write_text('column,heading\nmarks.code,Mark\nupn,"UPN, as issued"\n', encoding="utf-8")
    found = parse_columns([str(path)])
    assert found.for_kind("marks") == {"upn": "UPN, as issued", "code": "Mark"}


@pytest.mark.parametrize(("value", "where", "message"), [
    ("mark.code=Mark", "--columns 'mark.code=Mark'", "unknown file kind 'mark'"),
    ("code=", "--columns 'code='", "no heading is given for 'code'"),
    ("=Mark", "--columns '=Mark'", "no column is named"),
    ("nothing-like-a-file", "--columns 'nothing-like-a-file'", "neither COLUMN=HEADING"),
    ("code=Mark,code=Code", "--columns 'code=Code'", "'code' is mapped twice"),
])
def test_bad_inline_values(value: str, where: str, message: str) -> None:
    with pytest.raises(ColumnMapError) as info:
        parse_columns([value])
    assert info.value.where == where and message in info.value.message


@pytest.mark.parametrize(("text", "line", "message"), [
    ("marks:\n  code: [a, b]\n", 2, "a heading must be text"),
    ("mraks:\n  code: Mark\n", 1, "unknown file kind 'mraks'"),
    ("marks: {code: Mark\n", 2, "is not valid YAML"),
])
def test_bad_yaml_files(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ColumnMapError) as info:
        parse_columns([str(path)])
    assert info.value.where == f"{path}:{line}" and message in info.value.message


def test_problems_name_columns_no_file_has() -> None:
    known = {k: FILE_KINDS[k] for k in FILE_KINDS}
    found = parse_columns(["marks.cod=Mark,colour=Red,upn=UPN"])
    problems = found.problems(known)
    assert problems == [
        ("--columns 'marks.cod=Mark': 'cod' is not a column of the marks file\n"
         "  hint: did you mean 'code'?"),
        ("--columns 'colour=Red': 'colour' is not a column of any file\n"
         "  hint: the columns are: admission_date, code, date, date_of_birth, destination,"
         " event, leaving_date, receiving_school_urn, role, session, upn")]
