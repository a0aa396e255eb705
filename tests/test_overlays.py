"""Overlays: a policy that `extends:` another is merged with it, keeps its statutory floors,
and `cme-policy init` scaffolds one that checks and builds as generated.

The corpus of weakening overlays lives in tests/overlays/weakening/<case>/: each extends the
small base in tests/overlays/base/ and lists in expected.txt every error it must produce
(`path:line:col: error[CODE]`, paths relative to the case). Refresh with
`CME_UPDATE_GOLDEN=1 pytest tests/test_overlays.py` after a deliberate change.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus_support import summary_lines

from cme_policy.build import run_build
from cme_policy.cli import cli
from cme_policy.diagnostics import Severity
from cme_policy.driver import CheckResult, check_policy
from cme_policy.expr import ast
from cme_policy.scenarios import run_scenarios

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = Path(__file__).resolve().parent / "overlays"
BASE = OVERLAYS / "base"
WEAKENING = sorted(p for p in (OVERLAYS / "weakening").iterdir() if p.is_dir())
UPDATE = os.environ.get("CME_UPDATE_GOLDEN") == "1"

MANIFEST = """\
title: Test overlay
school: Overlay School
local_authority: Example County Council
text: policy.md
reviewed: 2025-09-01
review_cycle: 12 months
extends: {extends}
include: [local.yaml]
"""


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The review-due warning depends on today; pin it inside the bases' review cycle."""
    monkeypatch.setenv("CME_POLICY_TODAY", "2025-10-01")


def _overlay(tmp: Path, local: str, text: str = "# Local\n", extends: Path = BASE) -> Path:
    out = tmp / "overlay"
    out.mkdir()
    (out / "policy.yaml").write_text(MANIFEST.format(extends=os.path.relpath(extends, out)))
    (out / "local.yaml").write_text(textwrap.dedent(local))
    (out / "policy.md").write_text(textwrap.dedent(text))
    return out


def _check(directory: Path) -> CheckResult:
    with contextlib.chdir(directory):
        return check_policy(Path("."))


def _codes(result: CheckResult) -> list[str]:
    return [d.code for d in result.diagnostics]


# -- the weakening corpus -------------------------------------------------------------------
def test_the_small_base_is_clean() -> None:
    result = _check(BASE)
    assert result.ok and result.diagnostics == []


def test_weakening_corpus_is_big_enough() -> None:
    assert len(WEAKENING) >= 15


@pytest.mark.parametrize("case", WEAKENING, ids=lambda p: p.name)
def test_weakening_overlay_is_rejected(case: Path) -> None:
    result = _check(case)
    actual = summary_lines(result, Severity.ERROR)
    expected_file = case / "expected.txt"
    if UPDATE:
        expected_file.write_text("".join(f"{line}\n" for line in actual), "utf-8")
    assert actual, "a weakening overlay must be rejected"
    assert actual == expected_file.read_text("utf-8").splitlines()
    for diagnostic in result.errors:
        assert diagnostic.hint


def test_weakened_statutory_messages_cite_the_statute() -> None:
    result = _check(OVERLAYS / "weakening" / "parameter-raised")
    [error] = result.errors
    assert error.code == "O001"
    assert "SI 2024/208 reg 9(1)(i)" in error.message and "25 school days" in error.message
    result = _check(OVERLAYS / "weakening" / "statutory-rule-removed")
    assert [d.code for d in result.errors] == ["O002"]
    assert "SI 2024/208 reg 9(1)(i)" in result.errors[0].message


# -- merging each kind of override ----------------------------------------------------------
def test_parameter_role_and_la_profile_overrides(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    for name in ("policy.yaml", "policy.md", "main.yaml"):
        shutil.copy(BASE / name, tmp_path / "base" / name)
    (tmp_path / "base" / "la.yaml").write_text(
        "la_profile:\n  name: Base Council\n  entries:\n"
        "    cme_contact: {label: CME contact, value: base team}\n")
    manifest = (tmp_path / "base" / "policy.yaml").read_text()
    (tmp_path / "base" / "policy.yaml").write_text(manifest.replace("  - main.yaml",
                                                                    "  - main.yaml\n  - la.yaml"))
    overlay = _overlay(tmp_path, """\
        override:
          parameters:
            deletion:
              continuous_absence: {value: 15 school days, label: a stricter local threshold}
          roles:
            attendance_officer: {holder: Ms Example}
          la_profile:
            name: Example County Council
            entries:
              cme_contact: {value: county CME team, verified: false}
              home_education: {label: Home education, value: county EHE team}
        """, extends=tmp_path / "base")
    result = _check(overlay)
    assert result.ok, result.diagnostics
    policy = result.policy
    assert policy is not None
    [param] = policy.parameters
    assert param.value == ast.DurationLit(15, ast.Unit.SCHOOL_DAYS)
    assert param.label == "a stricter local threshold" and param.statutory
    assert param.value.span.path == "local.yaml"  # the value comes from the overlay …
    assert param.span.path == "../base/main.yaml"  # … the parameter is still the base's
    assert policy.roles[0].holder == "Ms Example"
    assert policy.roles[0].label == "the attendance officer"
    assert policy.la_profile is not None and policy.la_profile.name == "Example County Council"
    entries = {e.id: e for e in policy.la_profile.entries}
    assert entries["cme_contact"].value == "county CME team" and not entries["cme_contact"].verified
    assert entries["cme_contact"].label == "CME contact"
    assert entries["home_education"].value == "county EHE team"
    assert policy.manifest.school == "Overlay School"  # the overlay's manifest wins


def test_rule_override_states_transitions_and_clauses(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, """\
        clauses:
          strategy-2: {replaces_base: true}
        events:
          home_visited: {label: the home was visited, role: attendance_officer}
        rules:
          home_visit_day_3:
            title: Home visit on day 3
            clause: local-1
            when: unauthorised_run >= 3 school days
            then:
              - {action: Visit the home, role: attendance_officer, within: 1 school day}
        override:
          rules:
            continuous_absence:
              when: unauthorised_run >= 10 school days and not sickness_suspected
              then:
                - {action: Begin reasonable enquiries, role: attendance_officer, within: 2 school days}
          procedures:
            deletion:
              states:
                notify_la:
                  add_transitions:
                    - {event: home_visited, target: home_visit}
                home_visit:
                  title: Home visited
                  role: attendance_officer
                  transitions:
                    - {event: la_notified, target: la_notified}
        """, """\
        # Local
        2. {#strategy-2} The county's CME team is told before the pupil is removed from roll.
        3. {#local-1} The home is visited on the third day of unexplained absence.
        """)  # noqa: E501
    result = _check(overlay)
    assert result.ok, result.diagnostics
    policy = result.policy
    assert policy is not None
    rules = {r.id: r for r in policy.rules}
    assert "home_visit_day_3" in rules and rules["home_visit_day_3"].span.path == "local.yaml"
    rule = rules["continuous_absence"]
    assert rule.statutory and rule.when.span.path == "local.yaml"
    assert rule.span.path == "../../base/main.yaml" or rule.span.path.endswith("base/main.yaml")
    [procedure] = policy.procedures
    assert [s.id for s in procedure.states] == ["notify_la", "la_notified", "removed_from_roll",
                                                "home_visit"]
    notify = procedure.state("notify_la")
    assert notify is not None and [t.target for t in notify.transitions] == ["la_notified",
                                                                             "home_visit"]
    clauses = {c.id: c for c in policy.clauses}
    assert clauses["strategy-2"].text.startswith("The county's CME team")
    assert clauses["strategy-2"].span.path == "policy.md"
    assert clauses["strategy-1"].span.path.endswith("base/policy.md")
    assert [c.id for c in policy.clauses][-1] == "local-1"
    assert policy.scenarios == ()  # the base's scenarios are not inherited


def test_diagnostics_name_the_file_where_each_thing_was_defined(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, """\
        override:
          rules:
            low_attendance:
              when: attendance_rate(2025-09-01) < 20 school days
        """)
    result = _check(overlay)
    [error] = result.errors
    assert error.code.startswith("T") and error.span is not None and error.span.path == "local.yaml"


def test_redefining_a_base_id_names_both_files(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, """\
        roles:
          attendance_officer: {label: the attendance officer}
        """)
    result = _check(overlay)
    [error] = result.errors
    assert error.code == "N002" and error.span is not None and error.span.path == "local.yaml"
    assert "base/main.yaml" in error.message


def test_stricter_values_are_allowed(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, """\
        override:
          parameters:
            deletion:
              continuous_absence: {value: 10 school days}
          rules:
            continuous_absence:
              when: (unauthorised_run >= 15 school days and not sickness_suspected) or unauthorised_run >= 30 school days
        """)  # noqa: E501
    assert _check(overlay).ok


def test_raising_a_local_parameter_a_statutory_rule_uses_is_caught(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path / "base")
    main = tmp_path / "base" / "main.yaml"
    main.write_text(main.read_text().replace("      statutory: true\n      stricter: lower\n", ""))
    overlay = _overlay(tmp_path, """\
        override:
          parameters:
            deletion:
              continuous_absence: {value: 25 school days}
        """, extends=tmp_path / "base")
    result = _check(overlay)
    assert [d.code for d in result.errors] == ["O002"]
    assert "may not hold every time" in result.errors[0].message


def test_an_overlay_text_may_hold_no_clauses(tmp_path: Path) -> None:
    result = _check(_overlay(tmp_path, "{}\n", ""))
    assert result.ok and result.diagnostics == []


def test_removing_a_non_statutory_rule_is_allowed(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, """\
        override:
          rules:
            low_attendance: {remove: true}
        """)
    result = _check(overlay)
    assert result.ok, result.diagnostics
    assert result.policy is not None
    assert "low_attendance" not in {r.id for r in result.policy.rules}


def test_override_without_extends_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path / "base")
    (tmp_path / "base" / "main.yaml").write_text(
        (BASE / "main.yaml").read_text() + "override:\n  roles:\n    attendance_officer: "
        "{holder: X}\n")
    result = _check(tmp_path / "base")
    assert [(d.code, d.span.path if d.span else None) for d in result.errors] == [
        ("O005", "main.yaml")]


def test_the_bundled_policy_can_be_extended_without_change(tmp_path: Path) -> None:
    result = _check(_overlay(tmp_path, "{}\n", extends=ROOT / "policy"))
    assert result.ok, result.diagnostics


# -- strictness from use, on the bundled policy ---------------------------------------------
def test_lowering_what_the_law_permits_is_weaker_not_stricter(tmp_path: Path) -> None:
    """Ground I permits a deletion after 20 school days (SI 2024/208 reg 9(1)(i)): the
    parameter is the law layer's and is used by the removal guards, so 15 would let a pupil
    be removed on day 15 - sealed, whatever a `stricter:` label says."""
    result = _check(_overlay(tmp_path, """\
        override:
          parameters:
            deletion:
              continuous_absence: {value: 15 school days}
        """, extends=ROOT / "policy"))
    [error] = result.errors
    assert error.code == "O015" and "reg 9(1)(i)" in error.message
    assert "permits" in error.message and "may not change it" in error.message


def test_beginning_enquiries_earlier_is_stricter(tmp_path: Path) -> None:
    """When the school begins joint enquiries is its own trigger: earlier is allowed."""
    result = _check(_overlay(tmp_path, """\
        override:
          parameters:
            enquiries:
              after_continuous_absence: {value: 15 school days}
              after_leave: {value: 5 school days}
        """, extends=ROOT / "policy"))
    assert result.ok, [str(d) for d in result.errors]


def test_a_parameter_that_pulls_both_ways_may_not_change(tmp_path: Path) -> None:
    """A statutory parameter that both triggers a duty and permits a removal has no stricter
    value: either way is weaker somewhere."""
    shutil.copytree(BASE, tmp_path / "base")
    main = tmp_path / "base" / "main.yaml"
    main.write_text(main.read_text().replace(
        "          - event: removed_from_roll\n            target: removed_from_roll\n",
        "          - event: removed_from_roll\n            target: removed_from_roll\n"
        "            guard: unauthorised_run >= params.deletion.continuous_absence\n"))
    for value in ("15 school days", "25 school days"):
        (tmp_path / value.split()[0]).mkdir()
        result = _check(_overlay(tmp_path / value.split()[0], f"""\
            override:
              parameters:
                deletion:
                  continuous_absence: {{value: {value}}}
            """, extends=tmp_path / "base"))
        assert [d.code for d in result.errors] == ["O001"], value
        assert "pulls both ways" in result.errors[0].message


# -- the example overlay ---------------------------------------------------------------------
def test_example_county_overlay_checks_tests_and_builds(tmp_path: Path) -> None:
    directory = ROOT / "examples" / "county-overlay"
    result = check_policy(directory)
    assert result.ok, result.errors
    policy = result.policy
    assert policy is not None
    assert policy.manifest.local_authority == "Example County Council"
    assert {"county_home_visit", "county_cme_referral"} <= {r.id for r in policy.rules}
    report = run_scenarios(policy, directory)
    assert report.ok
    assert run_build(policy, directory, tmp_path / "generated", False, lambda _: None) == 0
    assert (tmp_path / "generated" / "MANIFEST.json").is_file()


# -- cme-policy init ------------------------------------------------------------------------
def test_init_scaffolds_an_overlay_that_checks_tests_and_builds(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "new-school"
    with contextlib.chdir(ROOT):
        made = runner.invoke(cli, ["init", "--la", "Example Borough Council", str(out)])
    assert made.exit_code == 0, made.output
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["README.md", "calendar.yaml", "local-authority.yaml", "local-rules.yaml",
                     "policy.md", "policy.yaml", "scenarios/local.yaml"]
    for name in names:
        if name.endswith(".yaml") and name != "calendar.yaml":
            first = (out / name).read_text().splitlines()[0]
            assert first.startswith("# yaml-language-server: $schema=")
            target = (out / name).parent / first.split("$schema=")[1]
            assert target.resolve() == ROOT / "generated" / "schema" / "policy.schema.json"
    result = check_policy(out)
    assert result.ok, result.errors
    # every base text naming Leicester is overridden as TO BE COMPLETED, not inherited
    assert [d for d in result.warnings if d.code == "O013"] == []
    unfilled = [d for d in result.warnings if d.code == "O009"]
    assert unfilled and result.policy is not None and result.policy.la_profile is not None
    assert len(unfilled) >= len(result.policy.la_profile.entries)
    assert result.policy.la_profile.name == "Example Borough Council"
    assert all(not e.verified for e in result.policy.la_profile.entries)
    assert run_scenarios(result.policy, out).ok
    assert run_build(result.policy, out, tmp_path / "generated", False, lambda _: None) == 0
    for doc in ("reference.md", "governors-pack.md"):
        assert "Leicester" not in (tmp_path / "generated" / "docs" / doc).read_text("utf-8")


def test_init_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("")
    with contextlib.chdir(ROOT):
        made = CliRunner().invoke(cli, ["init", "--la", "Example Council", str(tmp_path)])
    assert made.exit_code == 1


# -- the lawful corpus: stricter overlays the check must accept ----------------------------
LAWFUL = sorted(p for p in (OVERLAYS / "lawful").iterdir() if p.is_dir())
OVERLAY_CODES = {f"O{n:03d}" for n in range(1, 14)} - {"O009"}  # O009: a value to fill in


def _param(policy: object, name: str) -> ast.Expr:
    return next(p.value for p in policy.parameters if p.qualified == name)  # type: ignore[attr-defined]


LAWFUL_EFFECT = {
    "earlier-enquiries": lambda p: _param(p, "params.enquiries.after_continuous_absence")
    == ast.DurationLit(15, ast.Unit.SCHOOL_DAYS)
    and _param(p, "params.deletion.continuous_absence")
    == ast.DurationLit(20, ast.Unit.SCHOOL_DAYS),
    "day-3-visit": lambda p: "day_3_home_visit" in {r.id for r in p.rules},
    "referral-after-10-days": lambda p: "local_cme_referral" in {r.id for r in p.rules},
    "shorter-deadlines": lambda p: _param(p, "params.records.ctf_deadline")
    == ast.DurationLit(10, ast.Unit.SCHOOL_DAYS)
    and _param(p, "params.returns.new_pupil_return") == ast.DurationLit(3, ast.Unit.DAYS),
    "stricter-n-replacement": lambda p: _param(p, "params.attendance.n_replacement")
    == ast.DurationLit(3, ast.Unit.SCHOOL_DAYS),
}


def test_lawful_corpus_has_one_case_per_kind() -> None:
    assert {p.name for p in LAWFUL} == set(LAWFUL_EFFECT)


@pytest.mark.parametrize("case", LAWFUL, ids=lambda p: p.name)
def test_lawful_overlay_is_accepted(case: Path) -> None:
    """A stricter overlay of the bundled policy checks with no errors and no overlay
    diagnostic at all (O001-O008, O010-O013), and the stricter value is in the merged policy."""
    result = _check(case)
    assert result.ok, summary_lines(result, Severity.ERROR)
    assert [str(d) for d in result.diagnostics if d.code in OVERLAY_CODES] == []
    assert result.policy is not None and LAWFUL_EFFECT[case.name](result.policy)


# -- every example overlay ------------------------------------------------------------------
EXAMPLE_OVERLAYS = sorted((ROOT / "examples").glob("*-overlay"))


def test_there_are_several_example_overlays() -> None:
    assert {"county-overlay", "derby-overlay", "nottinghamshire-overlay"} <= {
        p.name for p in EXAMPLE_OVERLAYS}


@pytest.mark.parametrize("directory", EXAMPLE_OVERLAYS, ids=lambda p: p.name)
def test_example_overlay_checks_and_its_scenarios_pass(directory: Path, tmp_path: Path) -> None:
    """Each example overlay is for another local authority: it checks with no errors, keeps
    none of the base's Leicester words (O013) nor a value to fill in (O009), and its own
    scenarios pass and it builds."""
    result = check_policy(directory)
    assert result.ok, result.errors
    assert [str(d) for d in result.diagnostics if d.code in ("O009", "O013")] == []
    policy = result.policy
    assert policy is not None
    assert "Leicester" not in policy.manifest.local_authority
    report = run_scenarios(policy, directory)
    assert report.ok, [r.scenario.id for r in report.results if not r.passed]
    assert report.passed >= 5 and report.failed == 0
    assert run_build(policy, directory, tmp_path / "generated", False, lambda _: None) == 0


def test_a_removal_guard_may_gain_conditions(tmp_path: Path) -> None:
    """Adding a condition to the base's removal guard makes the removal harder: allowed."""
    result = _check(_overlay(tmp_path, """\
        override:
          procedures:
            reasonable_enquiries:
              states:
                la_notified:
                  transitions:
                    - event: removed_from_roll
                      target: removed_from_roll
                      guard: >-
                        (not safeguarding_concern or referred_to_social_care)
                        and not sickness_or_unavoidable_cause
                        and (unauthorised_run >= params.deletion.continuous_absence
                        or leave_expired and unauthorised_run >= params.deletion.leave_return)
                        and joint_enquiries_failed
        """, extends=ROOT / "policy"))
    assert not [d for d in result.errors], [str(d) for d in result.errors]
