"""The search for a step the law forbids (G011): none in the bundled policy; each overlay
that opens a way to an unlawful deletion is caught, with a pupil that really shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.driver import check_policy
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.scenarios.run import Runner
from cme_policy.scenarios.safety import check_safety

ROOT = Path(__file__).resolve().parents[2]
WEAKENING = ROOT / "tests" / "overlays" / "weakening"


def _search(root: Path) -> tuple[list, DiagnosticSink]:
    result = check_policy(root)
    assert result.policy is not None
    sink = DiagnosticSink()
    return check_safety(result.policy, root, sink), sink


def test_the_bundled_policy_lets_no_unlawful_deletion_through() -> None:
    found, sink = _search(ROOT / "policy")
    assert found == [] and not sink.sorted()


@pytest.mark.parametrize(("case", "procedure", "broken"), [
    ("removal-path-added", "reasonable_enquiries", {"ground_holds", "return_made"}),
    ("removal-guard-dropped", "reasonable_enquiries", {"ground_holds"}),
    ("own-removal-procedure", "quick_removal", {"ground_holds", "return_made"}),
])
def test_an_unlawful_way_to_delete_is_found_with_a_pupil_that_shows_it(
        case: str, procedure: str, broken: set[str]) -> None:
    root = WEAKENING / case
    found, sink = _search(root)
    [c] = found
    assert c.procedure.id == procedure and set(c.broken) == broken
    [diagnostic] = sink.sorted()
    assert diagnostic.code == "G011" and "the law requires that" in diagnostic.message
    assert diagnostic.hint is not None and c.yaml() in diagnostic.hint
    # the pupil really shows it: a case takes the deletion, and the law reports it
    policy = check_policy(root).policy
    assert policy is not None
    runner = Runner(policy, root)
    calendar_path = root / (policy.manifest.calendar or "")
    result = runner.evaluate(c.scenario, calendar_path, load_calendar(calendar_path))
    law = {v.state for v in result.violations if v.source == "law"}
    assert law == broken
    assert not [v for v in result.violations
                if v.source == "procedure" and v.event == c.transition.event]


def test_check_fails_an_overlay_with_the_counterexample() -> None:
    result = check_policy(WEAKENING / "removal-guard-dropped")
    codes = sorted(d.code for d in result.errors)
    assert codes == ["G011", "O014"]
