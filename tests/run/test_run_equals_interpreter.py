"""`cme-policy run` end to end — columnar marks reader, prescreen, workers, generated
checkers, the runtime's facts in time and unlawful steps — writes exactly the rows the
interpreter gives pupil by pupil, on a sample school with every class of pupil the law
distinguishes (compulsory school age, off roll, never present, done early and late)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from cme_policy.cli import cli
from cme_policy.driver import check_policy
from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir.model import Policy
from cme_policy.ir.tables import code_table
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import PupilMarks
from cme_policy.runtime.readers import InputSchema, read_events, read_marks, read_pupils
from cme_policy.screening.rows import rows_for, statutes_of

REPO = Path(__file__).resolve().parents[2]
POLICY: Policy = check_policy(REPO / "policy").policy  # type: ignore[assignment]


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("school")
    result = CliRunner().invoke(cli, ["sample", "--pupils", "300", "--out", str(out),
                                      "--seed", "13", "--policy", str(REPO / "policy")])
    assert result.exit_code == 0, result.output
    return out


def _run(school: Path, as_of: str) -> list[tuple[str, ...]]:
    args = ["run", str(REPO / "policy"), "--pupils", str(school / "pupils.csv"),
            "--marks", str(school / "marks.csv"), "--events", str(school / "events.csv"),
            "--calendar", str(school / "calendar.yaml"), "--as-of", as_of,
            "--format", "csv", "--jobs", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    return sorted(tuple(r) for r in rows[1:])


def _interpreted(school: Path, as_of: str) -> list[tuple[str, ...]]:
    calendar = load_calendar(school / "calendar.yaml")
    schema = InputSchema.from_policy(POLICY)
    pupils = read_pupils(school / "pupils.csv", schema).pupils
    marks = read_marks(school / "marks.csv", schema, calendar, pupils)
    events = read_events(school / "events.csv", schema, pupils).events
    interpreter = Interpreter(POLICY, calendar)
    table = code_table(POLICY)
    statutes = statutes_of(POLICY)
    day = dt.date.fromisoformat(as_of)
    out: list[tuple[str, ...]] = []
    for upn, pupil in pupils.items():
        pupil_marks = marks.for_pupil(upn, calendar, table) if upn in marks.marks else \
            PupilMarks.empty(calendar, table)
        result = interpreter.evaluate(pupil, pupil_marks, events.get(upn, []), day)
        out += [row.cells() for row in rows_for(result, statutes)]
    return sorted(out)


@pytest.mark.parametrize("as_of", ["2025-10-24", "2026-02-13", "2026-07-21"])
def test_run_writes_what_the_interpreter_says(school: Path, as_of: str) -> None:
    ran = _run(school, as_of)
    assert len(ran) > 100  # a real action list
    assert ran == _interpreted(school, as_of)
    statuses = {row[7] for row in ran}
    assert {"due", "done"} <= statuses
