"""Golden diagnostics: each case of tests/diagnostics/ is the base policy plus one fault, and
must produce exactly the diagnostics in its expected.txt.

Refresh the expectations after a deliberate change with `CME_UPDATE_GOLDEN=1 pytest …`, then
read the diff. The corpus layout is described in tests/diagnostics/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_support import (
    CORPUS,
    EXPECTED,
    case_dirs,
    case_severity,
    expected_lines,
    materialise,
    run_case,
    summary_lines,
)

from cme_policy.diagnostics import Severity, render_text
from cme_policy.driver import check_policy

UPDATE = os.environ.get("CME_UPDATE_GOLDEN") == "1"
CASES = case_dirs()


@pytest.fixture(autouse=True)
def _review_not_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus base was reviewed 2025-08-27 every 12 months: pin a day inside that cycle so
    only the `review-overdue` case (which sets its own date) reports R001."""
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-01-15")


def _id(case: Path) -> str:
    return f"{case.parent.name}/{case.name}"


def test_base_policy_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS / "base")
    result = check_policy(Path("."))
    assert result.ok and result.diagnostics == []


def test_corpus_is_big_enough() -> None:
    assert len([c for c in CASES if c.parent.name == "bad"]) >= 45


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_case(case: Path, tmp_path: Path) -> None:
    # run_case checks from inside tmp_path (contextlib.chdir), so paths print as `main.yaml:3:5`
    result = run_case(case, tmp_path)
    severity = case_severity(case)
    actual = summary_lines(result, severity)
    if UPDATE:
        (case / EXPECTED).write_text("".join(f"{line}\n" for line in actual), "utf-8")
    assert actual == expected_lines(case)
    assert actual, "a case must produce at least one diagnostic"
    if severity is Severity.WARNING:
        assert result.errors == []


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_case_renders_with_hint(case: Path, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    for diagnostic in result.diagnostics:
        text = render_text(diagnostic, result.sources)
        assert diagnostic.hint, text
        assert "= hint: " in text
        assert "Traceback" not in text and 'File "' not in text, text
        if diagnostic.span is not None:
            assert not Path(diagnostic.span.path).is_absolute(), text


# -- through the real command line --------------------------------------------------------
CLI_CASES = ["yaml-duplicate-key", "unknown-key-typo", "school-days-vs-days", "no-manifest"]


def _cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cme_policy.cli", "check", ".", *args],
                          cwd=workdir, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_text(name: str, tmp_path: Path) -> None:
    case = CORPUS / "bad" / name
    materialise(case, tmp_path)
    run = _cli(tmp_path)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    first = expected_lines(case)[0]
    head = next(i for i, line in enumerate(lines) if line.startswith(first + ": "))
    if ":" in first.split(" ")[0]:  # a located diagnostic shows its line and a caret
        assert lines[head + 1].lstrip().split(" | ")[0].isdigit()
        assert lines[head + 2].strip().startswith("|") and "^" in lines[head + 2]
    assert any(line.startswith("  = hint: ") for line in lines[head + 1: head + 4])
    assert lines[-1].startswith(f".: {len(expected_lines(case))} error(s), 0 warning(s)")


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_json(name: str, tmp_path: Path) -> None:
    case = CORPUS / "bad" / name
    materialise(case, tmp_path)
    run = _cli(tmp_path, "--format", "json")
    assert run.returncode == 1, run.stderr
    items = json.loads(run.stdout)
    assert [f"{d['path']}:{d['line']}:{d['column']}: {d['severity']}[{d['code']}]"
            if "line" in d else f"{d['severity']}[{d['code']}]" for d in items] \
        == expected_lines(case)
    assert all(d["hint"] and d["message"] for d in items)


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_github(name: str, tmp_path: Path) -> None:
    case = CORPUS / "bad" / name
    materialise(case, tmp_path)
    run = _cli(tmp_path, "--format", "github")
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(expected_lines(case))
    located = ":" in expected_lines(case)[0].split(" ")[0]
    assert all(line.startswith("::error file=" if located else "::error title=") for line in lines)


def test_cli_clean_base_exits_zero(tmp_path: Path) -> None:
    materialise(CORPUS / "base", tmp_path)
    run = _cli(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ".: 0 error(s), 0 warning(s); clauses traced: 100%"
