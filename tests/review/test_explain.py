"""`cme-policy explain` on the bundled policy: exact key lines for a rule, a state, a
parameter and a clause; unknown ids exit 1 with a suggestion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cme_policy.cli", "explain", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def rule() -> list[str]:
    done = explain("policy", "ground_i_joint_enquiries")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_rule(rule: list[str]) -> None:
    assert rule[0] == ("rule ground_i_joint_enquiries: Continuous absence of 20 school days — "
                       "joint reasonable enquiries before any deletion")
    assert rule[1].startswith("when: the pupil has been absent, every session coded G, N or O, "
                              "for at least 20 school days in a row")
    assert ("then: Begin reasonable enquiries jointly with the local authority to find the pupil "
            "— the attendance officer, within 1 school day (done when: joint_enquiries_started)"
            ) in rule
    assert "opens: procedure reasonable_enquiries (Reasonable enquiries and deletion under " \
           "grounds H and I)" in rule
    assert any(line.startswith("  strategy-9-ii: ii. The pupil has been continuously absent")
               for line in rule)
    assert any(line.startswith("  uses params.enquiries.after_continuous_absence = 20 school "
                               "days: school decision") for line in rule)
    tested = next(line for line in rule if line.startswith("tested by scenarios: "))
    assert "twenty_days_fire" in tested and "nineteen_days_do_not_fire" in tested
    line = (REPO / "policy" / "rules.yaml").read_text("utf-8").splitlines().index(
        "  ground_i_joint_enquiries:") + 1
    assert rule[-1] == f"defined at: policy/rules.yaml:{line}:3"


def test_state_by_bare_id_and_qualified_id() -> None:
    bare, full = explain("enquiries_due"), explain("reasonable_enquiries.enquiries_due")
    assert bare.returncode == full.returncode == 0
    assert bare.stdout == full.stdout
    lines = full.stdout.splitlines()
    assert lines[0] == "state reasonable_enquiries.enquiries_due: Joint enquiries to begin"
    assert "responsible: the attendance officer" in lines
    assert "on joint_enquiries_started → enquiries_under_way" in lines
    assert "entered from: the start" in lines
    assert "missed_deadline_escalates" in next(x for x in lines if x.startswith("tested by"))


def test_parameter() -> None:
    lines = explain("params.deletion.continuous_absence").stdout.splitlines()
    assert lines[:5] == [
        "parameter params.deletion.continuous_absence: continuous absence, every session coded "
        "G, N or O, before ground I permits a deletion",
        "value: 20 school days",
        "source: SI 2024/208 reg 9(1)(i) [S, Browne Jacobson] (verified)",
        "stricter: higher (it permits a step in the guard of deletion_from_roll.ready_to_delete "
        "--removed_from_roll--> deleted)",
        "statutory: an overlay may only make it higher"]
    assert "  transition reasonable_enquiries.la_notified --removed_from_roll--> " \
           "removed_from_roll: its guard" in lines


def test_a_school_trigger_is_stricter_lower() -> None:
    lines = explain("params.enquiries.after_continuous_absence").stdout.splitlines()
    assert "stricter: lower (it triggers a duty in rule ground_i_joint_enquiries)" in lines
    assert "  rule ground_i_joint_enquiries: Continuous absence of 20 school days — joint " \
           "reasonable enquiries before any deletion" in lines
    assert "twenty_days_fire" in next(x for x in lines if x.startswith("tested by"))


def test_clause() -> None:
    lines = explain("policy", "strategy-9-i").stdout.splitlines()
    assert lines[0] == "clause strategy-9-i (Strategies)"
    assert lines[1].startswith("text: i. A pupil has been granted leave of absence exceeding ten "
                               "school days")
    assert any(x.startswith("differs from current law: Ground H applies to any leave of absence")
               for x in lines)
    assert "  rule ground_h_joint_enquiries" in lines
    assert "ground_h_fires" in next(x for x in lines if x.startswith("tested by"))


def test_unknown_id_suggests() -> None:
    done = explain("ground_i_joint_enquires")
    assert done.returncode == 1
    assert "did you mean 'ground_i_joint_enquiries'" in done.stderr
