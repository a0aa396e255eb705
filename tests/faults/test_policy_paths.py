"""Every path a policy names stays inside its folder (issue 16, item 7), and `check` reads the
calendar like any other source file (item 8).

A path outside — `..`, an absolute path, a glob with `..`, a symbolic link out — is L014 and
is not read: nothing of the file it names is ever printed. A calendar that is missing or
invalid is L011 or L015 at its file, line and column."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from faults_support import REPO, cme

from cme_policy.diagnostics import render_github, render_json, render_text
from cme_policy.driver import CheckResult, check_policy

BASE = REPO / "tests" / "diagnostics" / "base"
SECRET = "SECRET-LINE-do-not-print"
MANIFEST = (BASE / "policy.yaml").read_text()


@pytest.fixture(autouse=True)
def _review_not_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-01-15")


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    """A clean policy in tmp/school/policy, with a secret file beside the school folder."""
    root = tmp_path / "school" / "policy"
    shutil.copytree(BASE, root)
    (tmp_path / "secret.yaml").write_text(f"{SECRET}: 1\n")
    (tmp_path / "secret.md").write_text(f"{{#leak}} {SECRET}\n")
    return root


def _check(root: Path, cwd: Path | None = None) -> tuple[CheckResult, str]:
    """The result and everything `check` would print, in every format."""
    with contextlib.chdir(cwd or root.parent):
        result = check_policy(Path(os.path.relpath(root, cwd or root.parent)))
    printed = "\n".join([render_json(result.diagnostics)]
                        + [render_text(d, result.sources) for d in result.diagnostics]
                        + [render_github(d) for d in result.diagnostics])
    return result, printed


def _codes(result: CheckResult) -> list[str]:
    return [d.code for d in result.errors]


def _include(root: Path, *items: str) -> None:
    (root / "policy.yaml").write_text(
        MANIFEST.replace("  - main.yaml\n", "  - main.yaml\n" + "".join(
            f"  - {json.dumps(item)}\n" for item in items)))


@pytest.mark.parametrize("item", ["../../secret.yaml", "../../../../../../../../etc/passwd",
                                  "PLACEHOLDER_ABSOLUTE", "../../*.yaml", "../../secret.*"])
def test_an_include_outside_the_folder_is_refused_unread(policy: Path, item: str) -> None:
    if item == "PLACEHOLDER_ABSOLUTE":
        item = str(policy.parent.parent / "secret.yaml")
    _include(policy, item)
    result, printed = _check(policy)
    assert _codes(result) == ["L014"]
    error = result.errors[0]
    assert error.span is not None and (error.span.path, error.span.line) == (
        "policy/policy.yaml", 10)
    assert SECRET not in printed and "root:" not in printed
    assert cme("check", str(policy)).code == 1


def test_a_symlink_out_of_the_folder_is_refused_unread(policy: Path) -> None:
    (policy / "shared.yaml").symlink_to(policy.parent.parent / "secret.yaml")
    (policy / "rules").mkdir()
    (policy / "rules" / "more.yaml").symlink_to(policy.parent.parent / "secret.yaml")
    _include(policy, "shared.yaml", "rules/*.yaml")
    result, printed = _check(policy)
    assert _codes(result) == ["L014", "L014"]
    assert [e.message for e in result.errors] == [
        "included file 'shared.yaml' leads outside the policy folder",
        "included file 'policy/rules/more.yaml' leads outside the policy folder"]
    assert SECRET not in printed


def test_a_symlink_inside_the_folder_is_fine(policy: Path) -> None:
    (policy / "parts").mkdir()
    (policy / "parts" / "extra.yaml").write_text("roles:\n  clerk: {label: the clerk, "
                                                 "holder: Clerk}\n")
    (policy / "linked.yaml").symlink_to(Path("parts") / "extra.yaml")
    _include(policy, "linked.yaml")
    result, _ = _check(policy)
    assert "L014" not in _codes(result)


def test_text_outside_the_folder_is_refused_unread(policy: Path) -> None:
    manifest = policy / "policy.yaml"
    manifest.write_text(MANIFEST.replace("text: policy.md", "text: ../../secret.md"))
    result, printed = _check(policy)
    assert "L014" in _codes(result)
    assert SECRET not in printed
    (policy / "policy.md").unlink()
    (policy / "policy.md").symlink_to(policy.parent.parent / "secret.md")
    manifest.write_text(MANIFEST)
    result, printed = _check(policy)
    assert _codes(result)[:1] == ["L014"] and SECRET not in printed


def test_a_fifo_is_not_read(policy: Path) -> None:
    (policy / "parts").mkdir()
    os.mkfifo(policy / "parts" / "pipe.yaml")
    _include(policy, "parts/*.yaml")
    found: list[CheckResult] = []
    worker = threading.Thread(target=lambda: found.append(_check(policy)[0]), daemon=True)
    worker.start()
    worker.join(20)
    assert found, "check blocked on a FIFO"
    assert _codes(found[0]) == ["L011"]


# -- the calendar (item 8) ------------------------------------------------------------------
CALENDAR = (REPO / "tests" / "run" / "data" / "calendar.yaml").read_text()


def _with_calendar(policy: Path, name: str, text: str | None) -> None:
    (policy / "policy.yaml").write_text(MANIFEST.replace("text: policy.md\n",
                                                         f"text: policy.md\ncalendar: {name}\n"))
    if text is not None:
        (policy / name).write_text(text)


def test_a_good_calendar_checks_clean(policy: Path) -> None:
    _with_calendar(policy, "calendar.yaml", CALENDAR)
    result, _ = _check(policy)
    assert result.errors == []


def test_a_missing_calendar_fails_check_and_build(policy: Path, tmp_path: Path) -> None:
    _with_calendar(policy, "calendar.yaml", None)
    result, printed = _check(policy)
    assert [(d.code, d.span.path, d.span.line, d.span.column) for d in result.errors
            if d.span] == [("L011", "policy/policy.yaml", 6, 11)]
    assert "calendar file 'calendar.yaml' does not exist" in printed
    assert cme("check", str(policy)).code == 1
    built = cme("build", str(policy), "--out", str(tmp_path / "out"))
    assert built.code == 1 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, where, message", [
    ("calendar:\n  school: x\n  bank_holidays: england\n  academic_years: []\n",
     (4, 19), "invalid calendar: "),
    ("calendar: [unclosed\n", (2, 1), "invalid calendar: invalid YAML"),
    ("\x00\x01 garbage", (1, 1), "invalid calendar: "),
    (CALENDAR.replace("end: 2025-10-24}", "end: 2025-02-30}"), (12, 52),
     "invalid calendar: malformed date"),
    ("[" * 3000, (1, 1), "the calendar file is nested too deeply"),
], ids=["no-years", "yaml", "binary", "bad-date", "deep"])
def test_a_garbage_calendar_is_reported_at_its_line(
        policy: Path, text: str, where: tuple[int, int], message: str) -> None:
    _with_calendar(policy, "calendar.yaml", text)
    result, printed = _check(policy)
    assert [d.code for d in result.errors] == ["L015"]
    error = result.errors[0]
    assert error.span is not None and error.span.path == "policy/calendar.yaml"
    assert (error.span.line, error.span.column) == where, error.message
    assert error.message.startswith(message) and error.hint
    assert f"policy/calendar.yaml:{where[0]}:{where[1]}: error[L015]" in printed


def test_a_calendar_outside_the_folder_is_refused_unread(policy: Path) -> None:
    (policy.parent.parent / "cal.yaml").write_text(f"{SECRET}\n")
    _with_calendar(policy, "../../cal.yaml", None)
    result, printed = _check(policy)
    assert _codes(result) == ["L014"] and SECRET not in printed


def test_a_scenarios_calendar_is_checked_too(policy: Path) -> None:
    _with_calendar(policy, "calendar.yaml", CALENDAR)
    main = policy / "main.yaml"
    main.write_text(main.read_text() + """
scenarios:
  elsewhere:
    title: On another calendar
    given:
      pupil: {date_of_birth: 2016-05-01}
      calendar: other-calendar.yaml
    as_of: 2025-09-17
    expect:
      fires: []
""")
    result, _ = _check(policy)
    assert [(d.code, d.message) for d in result.errors] == [
        ("L011", "calendar file 'other-calendar.yaml' does not exist")]


def test_an_overlay_may_name_its_bases_files(tmp_path: Path) -> None:
    """The bundled example overlays inherit the base's calendar from the base's folder."""
    overlay = tmp_path / "overlay"
    shutil.copytree(REPO / "examples" / "county-overlay", overlay)
    base = tmp_path / "policy"
    shutil.copytree(REPO / "policy", base)
    manifest = overlay / "policy.yaml"
    text = manifest.read_text()
    extends = next(line for line in text.splitlines() if line.startswith("extends:"))
    manifest.write_text(text.replace(extends, "extends: ../policy"))
    result, _ = _check(overlay, cwd=tmp_path)
    assert "L014" not in _codes(result), [str(d.message) for d in result.errors]
    (tmp_path / "secret.yaml").write_text(f"{SECRET}: 1\n")
    lines = [line for line in manifest.read_text().splitlines()
             if not line.startswith("calendar:")]
    manifest.write_text("\n".join(lines + ["calendar: ../secret.yaml"]) + "\n")
    result, printed = _check(overlay, cwd=tmp_path)
    assert "L014" in _codes(result) and SECRET not in printed
