"""The bundled policy in policy/ must always check clean, fully traced, with every scenario
passing."""

from pathlib import Path

import pytest

from cme_policy.driver import check_policy
from cme_policy.ir.english import Vocabulary, render

POLICY = Path(__file__).resolve().parents[1] / "policy"


def test_bundled_policy_has_no_errors() -> None:
    result = check_policy(POLICY)
    assert result.ok, [str(d.span) + " " + d.message for d in result.errors]


def test_every_clause_of_the_source_text_has_an_id() -> None:
    result = check_policy(POLICY)
    assert result.policy is not None
    ids = [c.id for c in result.policy.clauses]
    for expected in ("definition", "objective-3", "strategy-7-home-education", "strategy-9-i",
                     "strategy-9-ii", "strategy-10", "review"):
        assert expected in ids
    assert len(ids) == len(set(ids))


def test_ground_i_rule_reads_as_english() -> None:
    result = check_policy(POLICY)
    assert result.policy is not None
    rule = next(r for r in result.policy.rules if r.id == "ground_i_joint_enquiries")
    text = render(rule.when, Vocabulary.from_policy(result.policy))
    assert "at least 20 school days" in text
    assert "no reasonable grounds to believe the absence is due to sickness" in text


def test_bundled_policy_is_fully_traced_without_warnings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-01-15")  # within the review cycle
    result = check_policy(POLICY)
    assert result.ok
    assert result.warnings == [], [str(d.span) + " " + d.message for d in result.warnings]
    assert result.coverage is not None
    assert result.coverage.missing == ()
    assert result.coverage.percent == 100.0


def test_bundled_scenarios_pass_with_full_coverage() -> None:
    from cme_policy.scenarios import run_scenarios

    checked = check_policy(POLICY)
    assert checked.policy is not None
    report = run_scenarios(checked.policy, POLICY)
    failing = [r for r in report.results if not r.passed]
    assert report.ok, [(r.scenario.id, [f.message for f in r.failures], r.error) for r in failing]
    assert report.failed == 0
    assert len(report.results) >= 60
    cov = report.coverage
    for figure in (cov.rules_figure, cov.states_figure, cov.transitions_figure):
        assert figure.total > 0
        assert figure.covered == figure.total, (cov.rules_never_fired, cov.states_never_entered,
                                                cov.transitions_never_taken)
    assert cov.rules_figure.total >= 20
    assert cov.transitions_never_taken == []


def test_clause_text_stops_at_the_next_heading() -> None:
    result = check_policy(POLICY)
    assert result.policy is not None
    clauses = {c.id: c.text for c in result.policy.clauses}
    assert clauses["overview-3"].endswith("Designated Safeguarding Lead (DSL).")
    assert "#" not in "".join(clauses.values())


def test_review_overdue_warning_on_a_date_after_the_cycle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # reviewed 2025-08-27 with a 12-month cycle: due 2026-08-27, overdue by 28 November 2026
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-11-28")
    result = check_policy(POLICY)
    assert result.ok
    assert [(d.code, str(d.span)) for d in result.warnings] == [
        ("R001", f"{POLICY / 'policy.yaml'}:8:11")] or [d.code for d in result.warnings] == [
        "R001"]
    assert "was due on 2026-08-27" in result.warnings[0].message


def test_review_due_date_arithmetic() -> None:
    import datetime as dt

    from cme_policy.analysis.review_due import review_due
    from cme_policy.expr.ast import DurationLit, Unit

    assert review_due(dt.date(2025, 8, 27), DurationLit(12, Unit.MONTHS)) == dt.date(2026, 8, 27)
    assert review_due(dt.date(2024, 2, 29), DurationLit(1, Unit.YEARS)) == dt.date(2025, 2, 28)
    assert review_due(dt.date(2025, 1, 31), DurationLit(1, Unit.MONTHS)) == dt.date(2025, 2, 28)
    assert review_due(dt.date(2025, 1, 1), DurationLit(2, Unit.WEEKS)) == dt.date(2025, 1, 15)
