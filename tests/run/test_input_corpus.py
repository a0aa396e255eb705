"""Real export shapes, each with its expected outcome: `tests/run/inputs/<case>/`.

Each case holds the files that differ from the hand-written school of tests/run/data (the
same synthetic pupils, calendar and case log) and `expected.yaml`:

    args: [--marks, marks.csv, …]     # `run` arguments; paths relative to the case
    exit: 0 | 1
    stderr: [text, …]                 # each must appear in what `run` says
    same_actions_as_baseline: true    # the action list is exactly that of tests/run/data
    marks: {rows_read, pupils_with_marks, errors}   # what reading the marks file gives
    ctf: {pupils_with_marks, errors}                 # what reading the CTF gives

For every marks file the columnar reader and the row reader must give the same marks,
counts, errors and notes (or the columnar one give up), and `run` must never write an
answer when it exits 1, never print a traceback and never print a UPN.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cme_policy.cli import cli
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.inputs.columns import parse_columns
from cme_policy.runtime.inputs.ctf import read_ctf_marks
from cme_policy.runtime.inputs.marks_base import DayIndex
from cme_policy.runtime.inputs.marks_columnar import read_marks_columnar
from cme_policy.runtime.inputs.marks_rows import read_marks_rows
from cme_policy.runtime.marks import CodeTable
from cme_policy.runtime.readers import InputSchema, MarksRead, read_marks, read_pupils

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "interpret" / "policy"
DATA = Path(__file__).parent / "data"
CASES = Path(__file__).parent / "inputs"
AS_OF = "2025-10-08"
UPN = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][0-9]{11}[0-9A-Za-z](?![0-9A-Za-z])")
"""Anything shaped like a UPN: never in a message (pupil data stays out of logs)."""


def _cases() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "expected.yaml").is_file())


def _expected(case: str) -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((CASES / case / "expected.yaml").read_text())
    return found


def _option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == name]


def _run(case: str, output: Path | None = None) -> tuple[int, str, str]:
    args = list(_expected(case)["args"]) if case else ["--marks", str(DATA / "marks.csv")]
    where = CASES / case if case else DATA
    for i, arg in enumerate(args):
        if i and args[i - 1] in ("--marks", "--pupils", "--ctf", "--events", "--calendar") or (
                i and args[i - 1] == "--columns" and (where / arg).is_file()):
            args[i] = str((where / arg).resolve())
    for name, default in (("--pupils", "pupils.csv"), ("--events", "events.csv"),
                          ("--calendar", "calendar.yaml")):
        if name not in args:
            args += [name, str(DATA / default)]
    args += ["--as-of", AS_OF, "--format", "csv"]
    if output is not None:
        args += ["--output", str(output)]
    result = CliRunner().invoke(cli, ["run", str(POLICY), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (shlex.join(args), result.output)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def baseline() -> str:
    code, out, err = _run("")
    assert code == 0, err
    return out


@pytest.mark.parametrize("case", _cases())
def test_run_gives_the_expected_outcome(case: str, baseline: str, tmp_path: Path) -> None:
    expected = _expected(case)
    target = tmp_path / "actions.csv"
    code, out, err = _run(case, target)
    assert code == expected["exit"], err
    for text in expected.get("stderr", []):
        assert text in err, f"{text!r} not in:\n{err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert not UPN.search(err), f"a UPN was printed:\n{err}"
    if expected["exit"]:
        assert not target.exists() and out == "", "an answer was written for a run that failed"
        assert "error" in err
    else:
        assert target.exists()
    if expected.get("same_actions_as_baseline"):
        assert target.read_text() == baseline, err


# -- the two marks readers agree on every file ----------------------------------------------

def _schema() -> InputSchema:
    with open(POLICY / "attendance-codes.yaml", encoding="utf-8") as handle:
        codes = yaml.safe_load(handle)["attendance_codes"]
    table = CodeTable.from_entries((c, v["category"], v["possible"]) for c, v in codes.items())
    return InputSchema(table, events=("concern_raised", "dsl_told", "removed"),
                       roles=("officer", "dsl"))


SCHEMA = _schema()
CALENDAR = load_calendar(DATA / "calendar.yaml")


def _pupils(case: str) -> dict[str, Any]:
    args = _expected(case)["args"]
    path = [CASES / case / p for p in _option(args, "--pupils")] or [DATA / "pupils.csv"]
    return dict(read_pupils(path[0], SCHEMA, columns=_columns(case, "pupils")).pupils)


def _columns(case: str, kind: str) -> dict[str, str]:
    values = [str(CASES / case / v) if (CASES / case / v).is_file() else v
              for v in _option(_expected(case)["args"], "--columns")]
    return parse_columns(values).for_kind(kind)


def _same(a: MarksRead, b: MarksRead) -> None:
    assert dict(a.marks) == dict(b.marks)
    assert a.counts == b.counts
    assert a.errors == b.errors and a.errors_omitted == b.errors_omitted
    assert a.notes == b.notes


MARK_CASES = [c for c in _cases() if "marks" in _expected(c)]
CTF_CASES = [c for c in _cases() if "ctf" in _expected(c)]


@pytest.mark.parametrize("case", MARK_CASES)
def test_columnar_and_row_readers_agree(case: str) -> None:
    expected = _expected(case)["marks"]
    [name] = _option(_expected(case)["args"], "--marks")
    path = CASES / case / name
    pupils = _pupils(case)
    columns = _columns(case, "marks")
    rows = read_marks_rows(path, SCHEMA, CALENDAR, pupils, columns=columns)
    days = DayIndex(CALENDAR)
    from cme_policy.runtime.inputs.marks_columnar import ParseAhead
    fast = read_marks_columnar(path, SCHEMA, CALENDAR, pupils, lambda t: days.lookup(t)[0],
                               ahead=ParseAhead(path, columns=columns))
    if fast is not None:  # the fast path answers only for a clean file, and then the same
        assert rows.ok, [str(e) for e in rows.errors]
        _same(fast, rows)
    either = read_marks(path, SCHEMA, CALENDAR, pupils, columns=columns)
    _same(either, read_marks(path, SCHEMA, CALENDAR, pupils, columns=columns, columnar=False))
    got = {"rows_read": either.counts.rows_read,
           "pupils_with_marks": either.counts.pupils_with_marks,
           "errors": len(either.errors)}
    assert got == expected, [str(e) for e in either.errors]


@pytest.mark.parametrize("case", [c for c in MARK_CASES
                                  if _expected(c).get("same_actions_as_baseline")])
def test_clean_export_shapes_take_the_fast_path(case: str) -> None:
    """The shapes a real export has (CR, BOM, extra columns, mapped headings) are read by the
    columnar reader too, not only by the slow one."""
    [name] = _option(_expected(case)["args"], "--marks")
    path = CASES / case / name
    days = DayIndex(CALENDAR)
    from cme_policy.runtime.inputs.marks_columnar import ParseAhead
    fast = read_marks_columnar(path, SCHEMA, CALENDAR, _pupils(case),
                               lambda t: days.lookup(t)[0],
                               ahead=ParseAhead(path, columns=_columns(case, "marks")))
    assert fast is not None


@pytest.mark.parametrize("case", CTF_CASES)
def test_ctf_reads_as_expected(case: str) -> None:
    expected = _expected(case)["ctf"]
    args = _expected(case)["args"]
    [name] = _option(args, "--ctf")
    found = read_ctf_marks(CASES / case / name, SCHEMA, CALENDAR, _pupils(case),
                           marks_file=bool(_option(args, "--marks")),
                           only_source=not _option(args, "--marks"))
    got = {"pupils_with_marks": found.counts.pupils_with_marks, "errors": len(found.errors)}
    assert got == expected, [str(e) for e in found.errors]


# -- usage: the marks and the column mapping ------------------------------------------------

def _invoke(*args: str) -> tuple[int, str]:
    base = ["run", str(POLICY), "--pupils", str(DATA / "pupils.csv"), "--calendar",
            str(DATA / "calendar.yaml"), "--as-of", AS_OF]
    result = CliRunner().invoke(cli, [*base, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr


def test_the_marks_must_come_from_somewhere() -> None:
    code, err = _invoke()
    assert code == 2 and "--marks FILE, --ctf FILE, or both" in err


@pytest.mark.parametrize(("value", "message"), [
    ("mark.code=Mark", "unknown file kind 'mark'"),
    ("marks.code", "neither COLUMN=HEADING pairs nor a mapping file"),
])
def test_a_bad_columns_value_is_a_usage_error(value: str, message: str) -> None:
    code, err = _invoke("--marks", str(DATA / "marks.csv"), "--columns", value)
    assert code == 2 and message in err and "Traceback" not in err


def test_a_mapping_of_a_column_no_file_has(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, err = _invoke("--marks", str(DATA / "marks.csv"), "--columns", "pupils.shoe=Size",
                        "--output", str(target))
    assert code == 2 and not target.exists()
    assert "error: --columns 'pupils.shoe=Size': 'shoe' is not a column of the pupils file" in err


def test_a_file_that_cannot_be_read_is_a_whole_file_error(tmp_path: Path) -> None:
    pupils = dict(read_pupils(DATA / "pupils.csv", SCHEMA).pupils)
    for path in (tmp_path, tmp_path / "gone.csv"):  # a folder; a file deleted meanwhile
        found = read_marks(path, SCHEMA, CALENDAR, pupils)
        [error] = found.errors
        assert error.whole_file and error.message.startswith("the file cannot be read (")
