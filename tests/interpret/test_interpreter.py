"""The reference semantics on hand-worked cases. Dates are worked out by hand from
policy/calendar.yaml: pupils start Wed 3 Sep 2025; half term is 27–31 Oct 2025."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.driver import check_policy
from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir.tables import code_table
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import PupilMarks
from cme_policy.runtime.pupil import CaseEvent, Pupil
from cme_policy.runtime.results import PupilResult

HERE = Path(__file__).parent / "policy"
D = dt.date


@pytest.fixture(scope="module")
def setup() -> tuple[Interpreter, object]:
    result = check_policy(HERE)
    assert result.ok and result.policy is not None
    calendar = load_calendar(HERE / "calendar.yaml")
    return Interpreter(result.policy, calendar), code_table(result.policy)


FIRST_DAY = D(2025, 9, 3)


def run(setup: tuple[Interpreter, object], days: list[str], as_of: dt.date,
        events: list[tuple[dt.date, str]] = (),  # type: ignore[assignment]
        start: dt.date = FIRST_DAY, **facts: object) -> PupilResult:
    interp, table = setup
    marks = PupilMarks.from_compact(interp.world.calendar, table, start, " ".join(days))  # type: ignore[arg-type]
    log = [CaseEvent(d, e) for d, e in events]
    return interp.evaluate(Pupil("T1", facts), marks, log, as_of)  # type: ignore[arg-type]


def rule(result: PupilResult, rule_id: str):  # type: ignore[no-untyped-def]
    return next(r for r in result.rules if r.rule == rule_id)


def test_19_school_days_of_n_do_not_fire(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 19, D(2025, 9, 29))
    assert not rule(result, "long_run").fires
    assert result.cases == ()


def test_20_school_days_fire_with_onset_on_the_20th_day(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 20, D(2025, 9, 30))
    outcome = rule(result, "long_run")
    assert (outcome.fires, outcome.onset) == (True, D(2025, 9, 30))
    (action,) = outcome.actions
    assert (action.due, action.status, action.role) == (D(2025, 10, 2), "due", "officer")
    (case,) = result.cases
    assert (case.state, case.opened) == ("due", D(2025, 9, 30))
    assert case.actions[0].due == D(2025, 10, 7)  # 5 school days after 30 Sep


def test_obligation_overdue_the_day_after_its_due_date(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 23, D(2025, 10, 3))
    assert rule(result, "long_run").actions[0].status == "overdue"
    assert result.cases[0].actions[0].status == "due"


def test_missed_state_deadline_escalates_the_next_day(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 26, D(2025, 10, 8))
    (case,) = result.cases
    assert (case.state, case.entered) == ("late", D(2025, 10, 8))
    assert [(v.kind, v.date, v.state) for v in case.violations] == [
        ("deadline_missed", D(2025, 10, 8), "due")]
    assert (case.actions[0].role, case.actions[0].due) == ("dsl", None)


def test_run_broken_by_one_authorised_session(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 10 + ["NI"] + ["NN"] * 19, D(2025, 10, 14))
    assert not rule(result, "long_run").fires


def test_half_term_does_not_break_a_run(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 20, D(2025, 11, 14), start=D(2025, 10, 13))
    assert rule(result, "long_run").onset == D(2025, 11, 14)


def test_events_move_the_case_and_mark_the_obligation_done(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 24, D(2025, 10, 6),
                 [(D(2025, 10, 1), "started"), (D(2025, 10, 2), "failed")])
    assert rule(result, "long_run").actions[0].status == "done"
    (case,) = result.cases
    assert case.state == "notify"
    assert (case.actions[0].due, case.actions[0].status) == (D(2025, 10, 5), "overdue")


def test_removal_before_the_la_is_told_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 24, D(2025, 10, 6),
                 [(D(2025, 10, 1), "started"), (D(2025, 10, 2), "failed"),
                  (D(2025, 10, 6), "removed")])
    assert [(v.kind, v.event, v.state) for v in result.all_violations] == [
        ("illegal_event", "removed", "notify")]
    assert result.cases[0].state == "notify"


def test_full_path_to_removal(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["NN"] * 24, D(2025, 10, 6),
                 [(D(2025, 10, 1), "started"), (D(2025, 10, 2), "failed"),
                  (D(2025, 10, 3), "la_told"), (D(2025, 10, 6), "removed")])
    (case,) = result.cases
    assert (case.state, case.closed, case.actions) == ("removed", True, ())
    assert result.all_violations == ()


def test_event_with_no_open_case(setup) -> None:  # type: ignore[no-untyped-def]
    result = run(setup, ["/\\"] * 5, D(2025, 9, 9), [(D(2025, 9, 8), "started")])
    assert [(v.kind, v.event) for v in result.all_violations] == [("no_open_case", "started")]


def test_share_of_sessions_at_exactly_10_percent(setup) -> None:  # type: ignore[no-untyped-def]
    fires = run(setup, ["/\\"] * 9 + ["II"], D(2025, 9, 16))
    assert (rule(fires, "persistent").fires, rule(fires, "persistent").onset) == \
        (True, D(2025, 9, 16))
    assert rule(fires, "persistent").actions[0].due == D(2025, 9, 26)  # 10 calendar days
    below = run(setup, ["/\\"] * 10 + ["II"], D(2025, 9, 17))  # 2 of 22 sessions: 9.1%
    assert not rule(below, "persistent").fires


def test_leaving_date_gives_the_onset(setup) -> None:  # type: ignore[no-untyped-def]
    facts = {"destination": "unknown", "leaving_date": D(2025, 10, 10)}
    before = run(setup, [], D(2025, 10, 9), **facts)
    assert not rule(before, "left_unknown").fires
    after = run(setup, [], D(2025, 10, 15), **facts)
    outcome = rule(after, "left_unknown")
    assert (outcome.onset, outcome.actions[0].due) == (D(2025, 10, 10), D(2025, 10, 17))


def test_facts_set_by_events(setup) -> None:  # type: ignore[no-untyped-def]
    raised = [(D(2025, 10, 1), "concern_raised")]
    due = run(setup, [], D(2025, 10, 2), raised)
    assert [(a.due, a.status) for a in rule(due, "concern_to_dsl").actions] == \
        [(D(2025, 10, 2), "due")]
    late = run(setup, [], D(2025, 10, 3), raised)
    assert rule(late, "concern_to_dsl").actions[0].status == "overdue"
    done = run(setup, [], D(2025, 10, 3), raised + [(D(2025, 10, 2), "dsl_told")])
    assert rule(done, "concern_to_dsl").actions[0].status == "done"
    resolved = run(setup, [], D(2025, 10, 6), raised + [(D(2025, 10, 5), "concern_resolved")])
    assert not rule(resolved, "concern_to_dsl").fires


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["NN", "GO", "/\\", "NI", "II", "N/", "OO"]), min_size=5,
                max_size=45))
def test_due_dates_are_stable_while_a_rule_keeps_firing(setup, days: list[str]) -> None:  # type: ignore[no-untyped-def]
    interp, _ = setup
    calendar = interp.world.calendar
    previous: dict[str, tuple[object, object]] = {}
    for i in range(len(days)):
        as_of = calendar.add_school_days(D(2025, 9, 3), i)
        result = run(setup, days, as_of)
        current = {r.rule: (r.onset, tuple(a.due for a in r.actions)) for r in result.rules
                   if r.fires}
        for rule_id, value in current.items():
            if rule_id in previous:
                assert previous[rule_id] == value, (rule_id, as_of)
        previous = current
