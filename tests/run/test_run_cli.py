"""`cme-policy run` end to end on hand-written data; the expected action list is written out by
hand from tests/interpret/policy and policy/calendar.yaml (pupils start Wed 3 Sep 2025)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cme_policy.cli import cli

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "interpret" / "policy"
DATA = Path(__file__).parent / "data"

# K…001: N every session from 3 Sep to 8 Oct (26 school days): the run reaches 20 on 30 Sep;
#        "start enquiries" was due 2 school days later (2 Oct); the case's 5-school-day
#        deadline (7 Oct) passed, so it escalated to "late" on 8 Oct.
# Z…002: present throughout: nothing.
# N…003: left on 1 Oct with no known destination: tell the LA within 5 school days (8 Oct).
# C…004: concern raised and the DSL told on 6 Oct (done); "removed" logged on 7 Oct with no
#        enquiries case open.
EXPECTED = [
    ("K856200000001", "rule", "long_run", "", "start enquiries", "officer", "2025-10-02",
     "overdue"),
    ("C856200000004", "procedure", "enquiries", "",
     "'removed' recorded but no case of 'enquiries' was open", "", "2025-10-07", "violated"),
    ("K856200000001", "procedure", "enquiries", "due",
     "'Enquiries due' was not completed by 2025-10-07; escalated", "", "2025-10-08", "violated"),
    ("N856200000003", "rule", "left_unknown", "", "tell the LA", "officer", "2025-10-08", "due"),
    ("K856200000001", "procedure", "enquiries", "late", "Enquiries late", "dsl", "", "due"),
    ("C856200000004", "rule", "concern_to_dsl", "", "tell the DSL", "officer", "2025-10-07",
     "done"),
]
FIELDS = ("upn", "source", "id", "state", "action", "role", "due", "status")


def run(*extra: str, data: Path = DATA) -> tuple[int, str, str]:
    args = ["run", str(POLICY), "--pupils", str(data / "pupils.csv"),
            "--marks", str(data / "marks.csv"), "--events", str(data / "events.csv"),
            "--calendar", str(data / "calendar.yaml"), "--as-of", "2025-10-08", *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_csv_action_list_matches_the_hand_written_one() -> None:
    code, out, err = run("--format", "csv")
    assert code == 0, err
    rows = [tuple(r[f] for f in FIELDS) for r in csv.DictReader(io.StringIO(out))]
    assert rows == EXPECTED
    assert "pupils: 4 in the pupils file, 4 screened, 0 skipped" in err
    assert "actions: 1 overdue, 2 due, 1 done; violations: 2" in err


def test_json_and_table_formats() -> None:
    code, out, _ = run("--format", "json")
    assert code == 0
    assert [tuple(r[f] for f in FIELDS) for r in json.loads(out)] == EXPECTED
    code, out, _ = run()
    assert code == 0
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings == ["OVERDUE (1)", "VIOLATIONS (what the case log shows was missed) (2)",
                        "DUE (2)", "DONE (1)"]


def test_output_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "actions.csv"
    code, out, err = run("--format", "csv", "--output", str(target))
    assert code == 0 and out == ""
    assert len(target.read_text().splitlines()) == len(EXPECTED) + 1
    assert f"wrote {len(EXPECTED)} row(s)" in err


def _broken(tmp_path: Path, name: str, line: int, text: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    lines = (data / name).read_text().splitlines()
    lines.insert(line, text)
    (data / name).write_text("\n".join(lines) + "\n")
    return data


@pytest.mark.parametrize("name, text, line, message", [
    ("marks.csv", "K856200000001,2025-09-10,AM,H", 4, "unknown attendance code 'H'"),
    ("marks.csv", "K856200000001,2025-09-13,AM,N", 4, "not a school day"),
    ("marks.csv", "K856200000009,2025-09-10,AM,N", 4, "not in the pupils file"),
    ("marks.csv", "K856200000001,2025-09-10,XX,N", 4, "session"),
    # the pupil's own N for 10 Sep AM comes later in the file, on line 13: that row clashes
    ("marks.csv", "K856200000001,2025-09-10,AM,O", 13, "two different marks"),
    ("marks.csv", "K856200000001,10th September,AM,N", 4, "date"),
    ("marks.csv", "K856200000001,2025-09-10", 4, "field"),
    ("pupils.csv", "A856200000001,2015-01-01,2020-09-01,,,", 4, "check"),
    ("pupils.csv", "K999200000001,2015-01-01,2020-09-01,,,", 4, "UPN"),
    ("events.csv", "C856200000004,2025-10-06,concern_raise,officer", 4,
     "did you mean 'concern_raised'"),
])
def test_a_bad_row_stops_the_run_and_writes_nothing(tmp_path: Path, name: str, text: str,
                                                    line: int, message: str) -> None:
    data = _broken(tmp_path, name, 3, text)
    target = tmp_path / "out.csv"
    code, out, err = run("--output", str(target), data=data)
    assert code == 1
    assert not target.exists() and out == ""
    assert f"{data / name}:{line}:" in err and message in err, err
    assert "nothing was written" in err
    assert "Traceback" not in err


def test_skip_invalid_reports_and_goes_on(tmp_path: Path) -> None:
    data = _broken(tmp_path, "marks.csv", 40, "K856200000001,2025-09-13,AM,N")
    target = tmp_path / "out.csv"
    code, _, err = run("--format", "csv", "--output", str(target), "--skip-invalid", data=data)
    assert code == 0
    assert "not a school day" in err and "1 invalid row(s)" in err
    assert len(target.read_text().splitlines()) == len(EXPECTED) + 1


def test_pupil_counts_reconcile_when_a_pupil_row_is_skipped(tmp_path: Path) -> None:
    data = _broken(tmp_path, "pupils.csv", 3, "A856200000001,2015-01-01,2020-09-01,,,")
    code, _, err = run("--skip-invalid", data=data)
    assert code == 0
    assert "pupils: 5 in the pupils file, 4 screened, 1 skipped" in err
