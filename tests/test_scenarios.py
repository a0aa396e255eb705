"""`cme-policy test`: scenarios run through the interpreter, their failures, their coverage.

The fixture policies are under tests/scenarios/, each in a folder of its own (a policy names
files inside its folder only); the bundled scenarios are policy/scenarios/ground-i.yaml,
their dates worked out by hand there.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cme_policy.cli import cli
from cme_policy.driver import check_policy
from cme_policy.scenarios import ScenarioReport, run_scenarios
from cme_policy.scenarios.run import list_diff, match

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "policy"
FIXTURES = REPO / "tests" / "scenarios"
CLOSING = re.compile(r"^(\d+) passed, (\d+) failed$")
D = dt.date


@pytest.fixture(autouse=True)
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spans (and so messages) are relative to the working directory."""
    monkeypatch.chdir(REPO)


def cme_test(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["test", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def closing(output: str) -> tuple[int, int]:
    last = output.rstrip("\n").splitlines()[-1]
    found = CLOSING.match(last)
    assert found, f"last line is {last!r}"
    return int(found.group(1)), int(found.group(2))


def report_for(directory: Path) -> ScenarioReport:
    checked = check_policy(directory)
    assert checked.ok and checked.policy is not None, checked.diagnostics
    return run_scenarios(checked.policy, directory)


# -- the bundled policy -------------------------------------------------------------------

def test_bundled_scenarios_pass_end_to_end() -> None:
    """The real entry point, as a user runs it: exit 0, PASS lines, coverage, closing line."""
    proc = subprocess.run([sys.executable, "-m", "cme_policy.cli", "test", "policy"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    passed, failed = closing(proc.stdout)
    assert failed == 0 and passed >= 4
    for line in ("PASS nineteen_days_do_not_fire", "PASS twenty_days_fire",
                 "PASS one_illness_session_breaks_the_run", "PASS full_path_to_removal",
                 "PASS removal_before_la_notified", "PASS missed_deadline_escalates"):
        assert line in proc.stdout.splitlines()
    assert re.search(r"^  rules fired: (\d+) of \1 \(100%\)$", proc.stdout, re.M)
    assert re.search(r"^  states entered: \d+ of \d+ \(\d+%\)$", proc.stdout, re.M)
    assert re.search(r"^  transitions taken: \d+ of \d+ \(\d+%\)$", proc.stdout, re.M)
    assert re.search(r"^  clauses exercised: \d+ of \d+ \(\d+%\)$", proc.stdout, re.M)


def test_bundled_coverage_walks_the_whole_procedure() -> None:
    report = report_for(POLICY)
    assert report.ok and report.failed == 0
    cov = report.coverage
    assert "ground_i_joint_enquiries" in cov.rules_fired and cov.rules_never_fired == []
    assert cov.states_never_entered == [] and cov.transitions_never_taken == []
    assert ("reasonable_enquiries", "enquiries_due", "deadline",
            "escalated_to_headteacher") in cov.transitions_taken
    assert ("reasonable_enquiries", "la_notified", "removed_from_roll",
            "removed_from_roll") in cov.transitions_taken
    assert {"strategy-8", "strategy-9", "strategy-9-ii"} <= cov.clauses_exercised


def test_bundled_hand_computed_dates_come_from_the_interpreter() -> None:
    """The dates written in ground-i.yaml, asserted once more on the results themselves."""
    report = report_for(POLICY)
    fired = report.result("twenty_days_fire").result
    assert fired is not None
    rule = next(r for r in fired.rules if r.rule == "ground_i_joint_enquiries")
    assert (rule.onset, rule.actions[0].due) == (D(2025, 9, 30), D(2025, 10, 1))
    case = next(c for c in fired.cases if c.procedure == "reasonable_enquiries")
    assert case.actions[0].due == D(2025, 10, 14)
    across = report.result("broken_run_fires_on_its_own_twentieth_day").result
    assert across is not None
    rule = next(r for r in across.rules if r.rule == "ground_i_joint_enquiries")
    assert rule.onset == D(2025, 10, 15)
    case = next(c for c in across.cases if c.procedure == "reasonable_enquiries")
    assert case.actions[0].due == D(2025, 11, 5)  # 10 school days over half term
    escalated = report.result("missed_deadline_escalates").result
    assert escalated is not None
    assert ("deadline_missed", D(2025, 11, 6)) in [
        (v.kind, v.date) for v in escalated.all_violations if v.procedure == "reasonable_enquiries"]


def test_json_format() -> None:
    code, output = cme_test("policy", "--format", "json")
    assert code == 0
    data = json.loads(output)
    assert data["failed"] == 0 and data["passed"] == len(data["scenarios"]) >= 4
    rules = data["coverage"]["rules"]
    assert rules["covered"] == rules["total"] == len(rules["fired"]) and rules["percent"] == 100.0
    assert rules["never_fired"] == [] and "ground_i_joint_enquiries" in rules["fired"]
    assert all(s["status"] == "pass" for s in data["scenarios"])


# -- a passing fixture: coverage figures ------------------------------------------------------

def test_coverage_figures_on_a_fixture() -> None:
    cov = report_for(FIXTURES / "passing").coverage
    assert cov.scenarios_run == 2
    assert (cov.rules_figure.covered, cov.rules_figure.total) == (1, 2)
    assert cov.rules_never_fired == ["concern_raised"]
    assert (cov.states_figure.covered, cov.states_figure.total) == (2, 4)
    assert cov.states_never_entered == [("enquiries", "closed"), ("enquiries", "late")]
    assert (cov.transitions_figure.covered, cov.transitions_figure.total) == (1, 5)
    assert cov.transitions_taken == {("enquiries", "due", "started", "open")}
    assert (cov.clauses_figure.covered, cov.clauses_figure.total) == (1, 3)
    assert cov.clauses_figure.percent == pytest.approx(100 / 3)
    assert cov.clauses_never_exercised == ["concern", "escalation"]


def test_coverage_report_in_policy_terms() -> None:
    code, output = cme_test("tests/scenarios/passing")
    assert code == 0
    assert closing(output) == (2, 0)
    lines = output.splitlines()
    for line in ("PASS three_days_then_enquiries", "PASS present",
                 "  rules fired: 1 of 2 (50%)", "    concern_raised",
                 "  states entered: 2 of 4 (50%)", "    enquiries: late",
                 "  transitions taken: 1 of 5 (20%)",
                 "    enquiries: due --deadline--> late",
                 "    enquiries: open --found--> closed",
                 "  clauses exercised: 1 of 3 (33%)", "    escalation"):
        assert line in lines, line


# -- a failing fixture: the diff --------------------------------------------------------------

def test_failing_scenario_shows_a_diff_and_exits_1() -> None:
    code, output = cme_test("tests/scenarios/failing")
    assert code == 1
    assert closing(output) == (0, 1)
    lines = output.splitlines()
    assert "FAIL wrong_due_date" in lines
    assert "Traceback" not in output
    # where, what, the expected and actual items, the diff, the titles
    assert any(line.startswith("  tests/scenarios/failing/scenarios.yaml:2:3: ")
               for line in lines)
    assert "actions differ: 1 expected, 2 actual" in output
    for line in ("      --- expected", "      +++ actual",
                 "      -  due: 2025-09-09", "      +  due: 2025-09-08",
                 "      @@ unexpected action @@", "      +- procedure: enquiries",
                 "      rule short_run: Three school days coded N",
                 "      state enquiries.due: Enquiries due",
                 "      -enquiries: open", "      +enquiries: due"):
        assert line in lines, line
    assert "rule 'short_run' was expected not to fire as of 2025-09-05 but it did" in output


def test_failing_scenario_results_are_structured() -> None:
    report = report_for(FIXTURES / "failing")
    (result,) = report.results
    assert not result.passed and result.error is None
    assert [f.check for f in result.failures] == ["actions", "states", "not_fires"]
    assert (report.passed, report.failed) == (0, 1)


def test_empty_list_means_none_expected(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`actions: []` checks that there are no actions; leaving `actions` out checks nothing."""
    shutil.copytree(FIXTURES, tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios" / "passing" / "scenarios.yaml").write_text(
        "scenarios:\n"
        "  says_none:\n"
        "    title: No actions, it says\n"
        "    given:\n"
        "      marks: [{from: 2025-09-03, sessions: 'NN NN NN'}]\n"
        "    as_of: 2025-09-05\n"
        "    expect:\n"
        "      actions: []\n"
        "  says_nothing_about_actions:\n"
        "    title: Only the state\n"
        "    given:\n"
        "      marks: [{from: 2025-09-03, sessions: 'NN NN NN'}]\n"
        "    as_of: 2025-09-05\n"
        "    expect:\n"
        "      states: {enquiries: due}\n", "utf-8")
    report = report_for(Path("scenarios/passing"))
    assert not report.result("says_none").passed
    assert report.result("says_none").failures[0].check == "actions"
    assert report.result("says_nothing_about_actions").passed


# -- scenarios that cannot run ------------------------------------------------------------------

def test_scenarios_that_cannot_run_are_failures_with_a_place() -> None:
    proc = subprocess.run([sys.executable, "-m", "cme_policy.cli", "test",
                           "tests/scenarios/broken"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr and proc.stderr == ""
    out = proc.stdout
    assert closing(out) == (1, 8)
    assert "PASS fine" in out.splitlines()
    where = "tests/scenarios/broken/scenarios.yaml"
    expected = {
        "christmas_day": (f"{where}:12:15", "marks from Thursday 2025-12-25: not a school day"),
        "saturday": (f"{where}:19:11",
                     "marks from Saturday 2025-09-06: not a school day (weekend)"),
        "unknown_code": (f"{where}:26:11", "unknown attendance code 'H1'"),
        "past_the_calendar": (f"{where}:33:11", "past the calendar's last school day"),
        "before_the_calendar": (f"{where}:40:11", "outside every academic year"),
        "as_of_outside": (f"{where}:43:3", "as_of 2027-01-05 is outside every academic year"),
        "expects_nothing_checkable": (f"{where}:50:13", "expects nothing checkable"),
        "unknown_rule": (f"{where}:54:26", "unknown rule 'short_rn'"),
    }
    blocks = _blocks(out)
    for scenario_id, (place, words) in expected.items():
        block = blocks[scenario_id]
        assert f"{place}: error: the scenario cannot run: " in block, block
        assert words in block, block
    assert "did you mean 'short_run'?" in blocks["unknown_rule"]
    assert "the next school day is Monday 2025-09-08" in blocks["saturday"]


def _blocks(output: str) -> dict[str, str]:
    """FAIL id → the lines under it."""
    out: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith(("FAIL ", "PASS ")) or not line.startswith(" "):
            current = line[5:] if line.startswith("FAIL ") else None
            if current:
                out[current] = ""
        elif current:
            out[current] += line + "\n"
    return out


def test_scenario_spans_are_in_the_error_results() -> None:
    report = report_for(FIXTURES / "broken")
    saturday = report.result("saturday")
    assert saturday.error is not None and saturday.error.span is not None
    assert saturday.location == "tests/scenarios/broken/scenarios.yaml:15"
    assert (saturday.error.span.line, saturday.error.span.column) == (19, 11)
    assert report.coverage.scenarios_run == 1  # only `fine` ran


def test_no_calendar_anywhere_is_a_clear_error() -> None:
    code, output = cme_test("tests/scenarios/nocalendar")
    assert code == 1
    assert closing(output) == (0, 1)
    assert ("tests/scenarios/nocalendar/scenarios.yaml:2:3: error: the scenario cannot run: "
            "scenario 'no_calendar' has no school calendar to run on") in output
    assert "add `calendar: calendar.yaml` to policy.yaml" in output


def test_policy_errors_stop_before_the_scenarios() -> None:
    """`test` runs `check` first: a misspelt key in an expected action is S001, exit 1."""
    code, output = cme_test("tests/scenarios/bad")
    assert code == 1
    assert "tests/scenarios/bad/scenarios.yaml:7:29: error[S001]: unknown key 'rol' in " \
           "expected action" in output
    assert "did you mean 'role'?" in output
    assert not re.search(r"^(PASS|FAIL) ", output, re.M)


# -- matching --------------------------------------------------------------------------------

def test_matching_is_one_to_one() -> None:
    a = {"rule": "r", "due": "2025-09-08", "status": "due"}
    b = {"procedure": "p", "due": "none", "status": "due"}
    assert match([{"status": "due"}, {"rule": "r"}], [a, b]) == {0: 1, 1: 0}
    ok, _, _ = list_diff([{"status": "due"}, {"status": "due"}], [a, b], ["rule", "status"])
    assert ok
    ok, _, _ = list_diff([{"status": "due"}], [a, b], ["status"])
    assert not ok  # an unexpected extra action fails
    ok, _, _ = list_diff([{"rule": "r"}, {"rule": "r"}], [a, b], ["rule"])
    assert not ok  # one actual item cannot match two expected ones
    ok, diff, _ = list_diff([], [], ["rule"])
    assert ok and diff == []


# -- a case outlives the condition that opened it ---------------------------------------------

def test_case_survives_the_pupil_coming_back() -> None:
    assert report_for(FIXTURES / "returning").ok
