"""Procedure graphs (G001–G010): reachability, dead ends, guards on one event, and invariants
checked by dominance, with their counterexample paths and concrete guard situations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import networkx as nx  # type: ignore[import-untyped]
import pytest
from corpus_support import CORPUS

from cme_policy.analysis.guards import MAX_SITUATIONS, describe, evaluate, finite_facts, situations
from cme_policy.analysis.procedures import dominates, path_text, procedure_graph
from cme_policy.diagnostics import Diagnostic
from cme_policy.driver import CheckResult, check_policy
from cme_policy.expr.parser import parse_expr
from cme_policy.expr.typecheck import Env, Symbol
from cme_policy.expr.types import BOOL, INT, EnumT

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policy"

# The corpus base policy, with a home_education destination and a safeguarding fact added, and
# its procedure replaced by each test's own.
VOCAB = {
    "      unknown: no known destination\n":
        "      unknown: no known destination\n      home_education: home education\n",
    "facts:\n":
        "facts:\n  safeguarding_concern:\n    type: bool\n    label: there is a safeguarding "
        "concern\n    from: events\n",
    "events:\n":
        "events:\n  pupil_located:\n    label: the pupil was located\n    role: "
        "attendance_officer\n  la_chased:\n    label: the LA was chased\n    role: "
        "attendance_officer\n",
}
HEAD = """\
procedures:
  deletion:
    title: Deletion from roll
    clause: strategy-2
    initial: notify_la
    states:
"""


def check(tmp_path: Path, states: str, invariants: str = "") -> CheckResult:
    text = (CORPUS / "base" / "main.yaml").read_text("utf-8")
    for old, new in VOCAB.items():
        assert text.count(old) == 1
        text = text.replace(old, new)
    text = text[: text.index("procedures:\n")] + HEAD + _indent(states, 6)
    if invariants:
        text += "    invariants:\n" + _indent(invariants, 6)
    for name in ("policy.yaml", "policy.md"):
        (tmp_path / name).write_bytes((CORPUS / "base" / name).read_bytes())
    (tmp_path / "main.yaml").write_text(text, "utf-8")
    return check_policy(tmp_path)


def _indent(block: str, spaces: int) -> str:
    lines = block.strip("\n").splitlines()
    margin = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "".join(" " * spaces + line[margin:] + "\n" for line in lines)


def g_codes(result: CheckResult) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in result.diagnostics if d.code.startswith("G")]


def only(result: CheckResult, code: str) -> Diagnostic:
    found = [d for d in result.diagnostics if d.code.startswith("G")]
    assert [d.code for d in found] == [code], [(d.code, d.message) for d in found]
    return found[0]


def find(result: CheckResult, code: str) -> Diagnostic:
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, g_codes(result)
    return found[0]


def line_of(result: CheckResult, text: str) -> int:
    assert result.policy is not None
    path = next(d.span.path for d in result.diagnostics if d.span is not None)
    return Path(path).read_text("utf-8").splitlines().index(text) + 1


LINEAR = """
notify_la:
  title: Notify the local authority
  transitions:
    - {event: la_notified, target: la_notified}
la_notified:
  title: Local authority notified
  transitions:
    - {event: removed_from_roll, target: removed_from_roll}
removed_from_roll:
  title: Removed from roll
  final: true
"""
PASSES = """
la_before_removal:
  every_path_to: removed_from_roll
  passes: la_notified
"""


# -- the bundled policy --------------------------------------------------------------------
def test_bundled_policy_checks_with_no_errors_on_the_command_line() -> None:
    run = subprocess.run([sys.executable, "-m", "cme_policy.cli", "check", "policy"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "error[G" not in run.stdout


def test_bundled_procedure_graph_has_deadline_edges_and_dominance() -> None:
    result = check_policy(POLICY)
    assert result.policy is not None
    procedure = next(p for p in result.policy.procedures if p.id == "reasonable_enquiries")
    g = procedure_graph(procedure)
    assert list(g.nodes) == [s.id for s in procedure.states]
    assert g.edges["enquiries_due", "escalated_to_headteacher"]["kind"] == "deadline"
    assert g.edges["notify_la", "la_notified"]["event"] == "la_notified"
    idom = nx.immediate_dominators(g, procedure.initial)
    assert dominates(idom, "la_notified", "removed_from_roll")
    assert not dominates(idom, "escalated_to_headteacher", "removed_from_roll")


# -- graph shape ---------------------------------------------------------------------------
def test_linear_procedure_with_invariant_is_clean(tmp_path: Path) -> None:
    result = check(tmp_path, LINEAR, PASSES)
    assert result.ok and g_codes(result) == []


def test_unreachable_state(tmp_path: Path) -> None:
    d = only(check(tmp_path, LINEAR + "orphan: {title: Orphan, final: true}\n"), "G001")
    assert "'orphan'" in d.message and "'notify_la'" in d.message


def test_dead_end_is_reported_once_and_not_again_upstream(tmp_path: Path) -> None:
    states = LINEAR.replace("removed_from_roll:\n  title: Removed from roll\n  final: true\n",
                            "removed_from_roll:\n  title: Removed from roll\n")
    d = only(check(tmp_path, states), "G002")
    assert "'removed_from_roll' is a dead end" in d.message


def test_deadline_with_only_an_action_is_not_an_exit(tmp_path: Path) -> None:
    states = LINEAR + "waiting:\n  title: Waiting\n  deadline: {within: 5 days, action: chase}\n"
    states = states.replace("- {event: la_notified, target: la_notified}",
                            "- {event: la_notified, target: la_notified}\n"
                            "    - {event: pupil_located, target: waiting}")
    only(check(tmp_path, states), "G002")


def test_final_state_with_a_deadline_has_exits(tmp_path: Path) -> None:
    states = LINEAR + "  deadline: {within: 5 school days, action: archive the file}\n"
    d = only(check(tmp_path, states), "G003")
    assert "has exits (a deadline)" in d.message


def test_loop_without_way_out_reports_each_state_once(tmp_path: Path) -> None:
    states = LINEAR.replace("- {event: la_notified, target: la_notified}",
                            "- {event: la_notified, target: la_notified}\n"
                            "    - {event: la_chased, target: chase_a}") + (
        "chase_a:\n  title: Chase\n  transitions: [{event: la_chased, target: chase_b}]\n"
        "chase_b:\n  title: Chase again\n  deadline: {within: 5 days, escalate_to: chase_a}\n")
    result = check(tmp_path, states)
    assert [d.code for d in result.errors] == ["G004", "G004"]
    assert [d.span and d.span.line for d in result.errors] == [
        line_of(result, "      chase_a:"), line_of(result, "      chase_b:")]


def test_deadline_that_escalates_nowhere(tmp_path: Path) -> None:
    states = LINEAR.replace("title: Notify the local authority\n",
                            "title: Notify the local authority\n  deadline: {within: 5 days}\n")
    d = only(check(tmp_path, states), "G005")
    assert "neither `escalate_to` nor `action`" in d.message


def test_all_faults_are_collected(tmp_path: Path) -> None:
    states = LINEAR.replace("final: true", "final: true\n  deadline: {within: 1 day}") + (
        "orphan: {title: Orphan}\n")
    codes = sorted(d.code for d in check(tmp_path, states).errors)
    assert codes == ["G001", "G002", "G003", "G005"]


# -- invariants ----------------------------------------------------------------------------
ESCALATING = """
notify_la:
  title: Notify the local authority
  deadline: {within: 5 school days, escalate_to: headteacher}
  transitions:
    - {event: la_notified, target: la_notified}
headteacher:
  title: Headteacher to act
  transitions:
    - {event: removed_from_roll, target: removed_from_roll}
la_notified:
  title: Local authority notified
  transitions:
    - {event: removed_from_roll, target: removed_from_roll}
removed_from_roll:
  title: Removed from roll
  final: true
"""


def test_passes_counterexample_path_goes_round_the_missing_state(tmp_path: Path) -> None:
    result = check(tmp_path, ESCALATING, PASSES)
    d = only(result, "G009")
    assert d.message == (
        "invariant 'la_before_removal' is broken: a case can reach 'removed_from_roll' without "
        "passing 'la_notified': notify_la → headteacher (deadline passed) → removed_from_roll")
    where = line_of(result, "        every_path_to: removed_from_roll")
    assert d.span is not None and (d.span.line, d.span.column) == (where, 24)


def test_before_leaving_counterexample_ends_with_an_exit(tmp_path: Path) -> None:
    invariant = "told_first:\n  before_leaving: headteacher\n  requires: la_notified\n"
    d = only(check(tmp_path, ESCALATING, invariant), "G009")
    assert d.message.endswith("'headteacher' can be left before 'la_notified' was visited: "
                              "notify_la → headteacher (deadline passed) → removed_from_roll")


def test_before_leaving_holds_when_the_state_is_only_entered_through_it(tmp_path: Path) -> None:
    states = LINEAR.replace("target: removed_from_roll", "target: confirm") + (
        "confirm:\n  title: Confirm\n  transitions: [{event: removed_from_roll, "
        "target: removed_from_roll}]\n")
    invariant = "told_first:\n  before_leaving: confirm\n  requires: la_notified\n"
    result = check(tmp_path, states, invariant)
    assert result.ok and g_codes(result) == []


@pytest.mark.parametrize("states, invariant, why", [
    (LINEAR, "before_leaving: removed_from_roll\nrequires: la_notified", "is never left"),
    (LINEAR, "before_leaving: la_notified\nrequires: notify_la", "by definition"),
    (LINEAR, "every_path_to: la_notified\npasses: la_notified", "by definition"),
])
def test_invariants_that_cannot_fail_are_vacuous(tmp_path: Path, states: str, invariant: str,
                                                 why: str) -> None:
    block = "inv:\n" + "".join(f"  {line}\n" for line in invariant.splitlines())
    d = only(check(tmp_path, states, block), "G010")
    assert why in d.message and d.severity.value == "warning"


def test_invariant_on_unreachable_state_is_vacuous(tmp_path: Path) -> None:
    states = LINEAR + "orphan: {title: Orphan, final: true}\n"
    invariant = "orphan_first:\n  every_path_to: orphan\n  passes: la_notified\n"
    result = check(tmp_path, states, invariant)
    assert sorted(d.code for d in result.diagnostics if d.code[0] == "G") == ["G001", "G010"]


def test_path_text_marks_deadline_edges() -> None:
    g = nx.DiGraph()
    g.add_edge("a", "b", kind="deadline")
    g.add_edge("b", "c", kind="transition")
    assert path_text(g, ["a", "b", "c"]) == "a → b (deadline passed) → c"


# -- guards --------------------------------------------------------------------------------
def _branching(first: str | None, second: str | None) -> str:
    def transition(target: str, guard: str | None) -> str:
        return f"    - event: la_notified\n      target: {target}\n" + (
            f"      guard: {guard}\n" if guard else "")
    return (
        "notify_la:\n  title: Notify the local authority\n  transitions:\n"
        + transition("la_notified", first) + transition("home_education_team", second)
        + "la_notified:\n  title: LA notified\n  transitions:\n"
        "    - {event: removed_from_roll, target: removed_from_roll}\n"
        "home_education_team:\n  title: Home education team told\n  transitions:\n"
        "    - {event: removed_from_roll, target: removed_from_roll}\n"
        "removed_from_roll:\n  title: Removed from roll\n  final: true\n")


def test_overlap_names_a_concrete_situation(tmp_path: Path) -> None:
    result = check(tmp_path, _branching("destination == home_education", "safeguarding_concern"))
    d = find(result, "G006")
    assert d.message == (
        "the transitions on 'la_notified' from state 'notify_la' to 'la_notified' and to "
        "'home_education_team' overlap: both apply when destination is home_education and "
        "safeguarding_concern is true")
    assert d.span is not None
    assert d.span.line == line_of(result, "            guard: safeguarding_concern")
    assert "G008" not in [code for code, _ in g_codes(result)]


def test_gap_names_a_concrete_situation(tmp_path: Path) -> None:
    states = _branching("destination in {unknown, another_school} and not safeguarding_concern",
                        "destination == home_education")
    d = only(check(tmp_path, states), "G007")
    assert d.message == ("no transition on 'la_notified' from state 'notify_la' applies when "
                         "destination is another_school and safeguarding_concern is true")
    assert d.severity.value == "warning" and "without a guard" in (d.hint or "")


def test_exclusive_and_complete_guards_are_clean(tmp_path: Path) -> None:
    states = _branching("destination != home_education", "destination == home_education")
    assert g_codes(check(tmp_path, states)) == []


def test_unguarded_transition_last_is_the_otherwise_branch(tmp_path: Path) -> None:
    assert g_codes(check(tmp_path, _branching("safeguarding_concern", None))) == []


def test_unguarded_transition_first_shadows_the_rest(tmp_path: Path) -> None:
    d = only(check(tmp_path, _branching(None, "safeguarding_concern")), "G008")
    assert "the unguarded transition to 'la_notified' before it always applies" in d.message


def test_implied_guard_is_shadowed_not_overlapping(tmp_path: Path) -> None:
    states = _branching("destination == unknown or safeguarding_concern",
                        "safeguarding_concern and destination == unknown")
    result = check(tmp_path, states)
    d = find(result, "G008")
    assert "the earlier transition(s) to 'la_notified' apply whenever it would" in d.message
    assert "G006" not in [code for code, _ in g_codes(result)]


def test_guard_that_never_holds_is_shadowed(tmp_path: Path) -> None:
    states = _branching("safeguarding_concern",
                        "destination == unknown and destination == home_education")
    d = find(check(tmp_path, states), "G008")
    assert d.message.endswith("its guard never holds")


def test_guards_reading_measures_are_not_guessed_at(tmp_path: Path) -> None:
    states = _branching("unauthorised_run >= 20 school days", "safeguarding_concern")
    assert g_codes(check(tmp_path, states)) == []


# -- the evaluator -------------------------------------------------------------------------
ENV = Env({"flag": Symbol("fact", "flag", BOOL),
           "destination": Symbol("fact", "destination", EnumT("destination")),
           "count": Symbol("fact", "count", INT),
           "params.x.y": Symbol("param", "params.x.y", BOOL)},
          {"destination": ("home", "school", "unknown")})


@pytest.mark.parametrize("text, facts", [
    ("flag and destination == home", {"flag", "destination"}),
    ("destination not in {home, school} or true", {"destination"}),
    ("(flag == false) != flag", {"flag"}),
    ("count == 3", None),
    ("params.x.y", None),
    ("today > 2025-01-01", None),
])
def test_finite_facts(text: str, facts: set[str] | None) -> None:
    found = finite_facts(parse_expr(text), ENV)
    assert found == (frozenset(facts) if facts is not None else None)


@pytest.mark.parametrize("text, situation, value", [
    ("flag and destination == home", {"flag": True, "destination": "home"}, True),
    ("flag and destination == home", {"flag": True, "destination": "school"}, False),
    ("destination not in {home, school}", {"destination": "unknown"}, True),
    ("destination in {home, school}", {"destination": "unknown"}, False),
    ("not flag or false", {"flag": False}, True),
    ("flag == false", {"flag": False}, True),
])
def test_evaluate(text: str, situation: dict[str, bool | str], value: bool) -> None:
    assert evaluate(parse_expr(text), situation) is value


def test_situations_are_enumerated_in_name_order_and_capped() -> None:
    cases = situations(["flag", "destination"], ENV)
    assert cases is not None and len(cases) == 6
    assert cases[0] == {"destination": "home", "flag": True}
    many = Env({f"f{i}": Symbol("fact", f"f{i}", BOOL) for i in range(13)})
    assert 2 ** 13 > MAX_SITUATIONS and situations(list(many.symbols), many) is None


def test_describe_restricts_to_the_facts_read() -> None:
    situation: dict[str, bool | str] = {"flag": False, "destination": "home"}
    assert describe(situation) == "destination is home and flag is false"
    assert describe(situation, frozenset({"flag"})) == "flag is false"


def test_checking_twice_gives_the_same_diagnostics(tmp_path: Path) -> None:
    states = _branching("destination != another_school", "safeguarding_concern")
    first = check(tmp_path, states).diagnostics
    assert first == check(tmp_path, states).diagnostics


def test_guards_without_facts_are_evaluated_too(tmp_path: Path) -> None:
    d = find(check(tmp_path, _branching("true", "false or safeguarding_concern")), "G008")
    assert "the earlier transition(s) to 'la_notified' apply whenever it would" in d.message
