"""The bundled policy in policy/ must always check clean (warnings allowed until fully encoded)."""

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
