"""Counts since a date and days since last present for pupils never present, through a policy:
the type checker takes a date argument for the counts (and still refuses a wrong type), and
the generated checkers compute both as the interpreter does."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pybackend_support import ROOT, build_policy, import_package, random_history

from cme_policy.driver import check_policy
from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir.tables import code_table
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import PupilMarks
from cme_policy.runtime.pupil import Pupil

POLICY = ROOT / "tests" / "interpret" / "policy"
SINCE = [{"name": "since", "type": "date", "label": "the start of the period"}]
MEASURES: dict[str, Any] = {
    "year_days": {"kind": "count_school_days", "codes": ["G", "N", "O"], "args": SINCE,
                  "label": "school days of unauthorised absence since a date"},
    "year_sessions": {"kind": "count_sessions", "codes": ["G", "N", "O"], "args": SINCE,
                      "label": "sessions of unauthorised absence since a date"},
    "recent_sessions": {"kind": "count_sessions", "codes": ["G", "N", "O"],
                        "args": [{"name": "window", "type": "school_days"}],
                        "label": "sessions of unauthorised absence in a window"},
    "gone": {"kind": "days_since_last_present", "codes": ["/", "\\", "L"],
             "label": "calendar days since the pupil was last present"},
}
RULES: dict[str, Any] = {
    "year_absence": {
        "title": "Absence this school year", "clause": "absence",
        "when": "year_days(2025-09-01) >= 10 school days",
        "then": [{"action": "write to the parents", "role": "officer",
                  "within": "5 school days"}]},
    "autumn_absence": {
        "title": "Absence since the autumn half term", "clause": "absence",
        "when": "year_sessions(2025-11-03) >= 6 sessions and recent_sessions(10 school days) "
                ">= 4 sessions",
        "then": [{"action": "meet the parents", "role": "officer", "within": "10 days"}]},
    "not_this_year": {
        "title": "No absence since a date", "clause": "absence",
        "when": "year_sessions(2026-01-05) == 0 sessions",
        "then": [{"action": "write a letter of thanks", "role": "officer",
                  "within": "10 days"}]},
    "four_weeks": {
        "title": "Out of education for four weeks", "clause": "absence",
        "when": "gone >= 28 days",
        "then": [{"action": "tell the LA", "role": "officer", "within": "1 school day"}]},
}


def _policy(tmp: Path, measures: dict[str, Any], rules: dict[str, Any]) -> Path:
    """The interpreter's test policy, with extra measures and rules."""
    out = tmp / "policy"
    shutil.copytree(POLICY, out)
    main = yaml.safe_load((out / "main.yaml").read_text(encoding="utf-8"))
    main["measures"].update(json.loads(json.dumps(measures)))  # no shared lists: no anchors
    main["rules"].update(rules)
    (out / "main.yaml").write_text(yaml.safe_dump(main, sort_keys=False), encoding="utf-8")
    return out


def test_a_count_takes_a_date_and_still_refuses_a_wrong_type(tmp_path: Path) -> None:
    result = check_policy(_policy(tmp_path / "good", MEASURES, RULES))
    assert result.ok, [str(d) for d in result.errors]
    wrong = dict(MEASURES, year_days=dict(MEASURES["year_days"], args=[
        {"name": "since", "type": "percent"}]))
    result = check_policy(_policy(tmp_path / "bad", wrong, RULES))
    assert not result.ok
    assert any(d.code == "T007" and "year_days" in d.message for d in result.errors), [
        str(d) for d in result.errors]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    tmp = tmp_path_factory.mktemp("since")
    policy_dir = _policy(tmp, MEASURES, RULES)
    policy = build_policy(policy_dir, tmp / "out")
    calendar = load_calendar(policy_dir / "calendar.yaml")
    package = import_package(tmp / "out")
    return policy, calendar, code_table(policy), Interpreter(policy, calendar), package


def test_generated_measures_pass_a_date_through(built: tuple[Any, ...]) -> None:
    *_, package = built
    source = Path(package.measures.__file__).read_text(encoding="utf-8")
    assert "rt.since_day(ctx.calendar, a_since)" in source
    assert "key = ('year_days', a_since)" in source
    assert "rt.count_school_days_onset(ctx.marks, ctx.calendar, CODES_YEAR_DAYS, ctx.as_of, " \
           "a_since, op, threshold)" in source


@pytest.mark.parametrize("seed", range(4))
def test_generated_equals_interpreter(built: tuple[Any, ...], seed: int) -> None:
    policy, calendar, table, interpreter, package = built
    rng = random.Random(seed)
    for _ in range(300):
        pupil, marks, events, as_of = random_history(rng, policy, calendar, table)
        try:
            expected = interpreter.evaluate(pupil, marks, events, as_of)
        except Exception as exc:  # noqa: BLE001 - e.g. a deadline past the calendar's end
            # the same type of error; each words it its own way (the interpreter walks the
            # calendar itself)
            with pytest.raises(type(exc)):
                package.evaluate(pupil, marks, events, calendar, as_of)
            continue
        assert package.evaluate(pupil, marks, events, calendar, as_of) == expected


def test_a_pupil_never_present_is_out_of_education_after_four_weeks(
        built: tuple[Any, ...]) -> None:
    _, calendar, table, interpreter, package = built
    # on roll from Wed 3 Sep, never present: four weeks (28 days) on Wed 1 Oct
    marks = PupilMarks.from_compact(calendar, table, dt.date(2025, 9, 3), " ".join(["NI"] * 40))
    pupil = Pupil("P1", {})
    for as_of, fires in ((dt.date(2025, 9, 30), False), (dt.date(2025, 10, 1), True)):
        expected = interpreter.evaluate(pupil, marks, [], as_of)
        assert package.evaluate(pupil, marks, [], calendar, as_of) == expected
        outcome = next(r for r in expected.rules if r.rule == "four_weeks")
        assert outcome.fires == fires
        assert outcome.onset == (dt.date(2025, 10, 1) if fires else None)
