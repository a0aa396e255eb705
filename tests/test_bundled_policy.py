"""The bundled policy in policy/ must always check clean, fully traced, with every scenario passing."""

from pathlib import Path

from cme_policy.driver import check_policy
from cme_policy.expr.english import Vocabulary, render

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


def test_bundled_policy_is_fully_traced_without_warnings() -> None:
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
