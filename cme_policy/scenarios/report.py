"""Text and JSON output of a scenario run: PASS/FAIL lines, differences, coverage, totals."""

from __future__ import annotations

import json

from cme_policy.scenarios.coverage import Coverage, state_text, transition_text
from cme_policy.scenarios.run import Failure, ScenarioReport, ScenarioResult

INDENT = "  "


def render_text(report: ScenarioReport) -> str:
    """The whole report; its last line is exactly `N passed, N failed`."""
    lines: list[str] = []
    if not report.results:
        lines.append("no scenarios: add some under `scenarios:` (see docs/scenarios.md)")
    for result in report.results:
        lines += render_result(result)
    lines.append("")
    lines += render_coverage(report.coverage)
    lines.append("")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


def render_result(result: ScenarioResult) -> list[str]:
    scenario = result.scenario
    if result.passed:
        return [f"PASS {scenario.id}"]
    lines = [f"FAIL {scenario.id}", f"{INDENT}{scenario.span}: {scenario.title}"]
    if result.error is not None:
        lines += _error(result.error, result)
    for failure in result.failures:
        lines += _failure(failure)
    return lines


def _error(error: Failure, result: ScenarioResult) -> list[str]:
    where = error.span if error.span is not None else result.scenario.span
    lines = [f"{INDENT}{where}: error: the scenario cannot run: {error.message}"]
    if error.hint:
        lines.append(f"{INDENT * 2}hint: {error.hint}")
    return lines


def _failure(failure: Failure) -> list[str]:
    where = f"{failure.span}: " if failure.span is not None else ""
    lines = [f"{INDENT}{where}{failure.message}"]
    for title, block in (("expected:", failure.expected), ("actual:", failure.actual),
                         ("diff:", failure.diff), ("involved:", failure.involved)):
        if block:
            lines.append(INDENT * 2 + title)
            lines += [INDENT * 3 + line for line in block]
    return lines


def render_coverage(coverage: Coverage) -> list[str]:
    """Coverage in policy terms, counts and percentages, then what was never exercised."""
    def never(items: list[str]) -> list[str]:
        return [INDENT * 2 + item for item in items] if items else [INDENT * 2 + "(none)"]

    lines = [f"coverage ({coverage.scenarios_run} scenario(s) ran):"]
    lines.append(f"{INDENT}rules fired: {coverage.rules_figure}")
    lines.append(f"{INDENT}rules never fired:")
    lines += never(coverage.rules_never_fired)
    lines.append(f"{INDENT}states entered: {coverage.states_figure}")
    lines.append(f"{INDENT}states never entered:")
    lines += never([state_text(k) for k in coverage.states_never_entered])
    lines.append(f"{INDENT}transitions taken: {coverage.transitions_figure}")
    lines.append(f"{INDENT}transitions never taken:")
    lines += never([transition_text(k) for k in coverage.transitions_never_taken])
    lines.append(f"{INDENT}clauses exercised: {coverage.clauses_figure}")
    lines.append(f"{INDENT}clauses never exercised:")
    lines += never(coverage.clauses_never_exercised)
    return lines


def render_json(report: ScenarioReport) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False)
