"""What a user can cause is an error of theirs, exit 1 with the file and line (or the path and
the OS's reason), never "internal error … This is a bug" (issue 16, item 3)."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest
from faults_support import DATA, POLICY, cme, copy_inputs, run_args

from cme_policy.screening import checkers


def test_an_event_outside_the_calendar_is_a_bad_row(tmp_path: Path) -> None:
    policy, data = copy_inputs(tmp_path)
    events = data / "events.csv"
    lines = events.read_text().splitlines()
    lines.append("C856200000004,2019-02-13,concern_raised,officer")  # line 5
    events.write_text("\n".join(lines) + "\n")
    result = cme(*run_args(policy, data, "--format", "csv"))
    assert result.code == 1, result.err
    assert (f"{events}:5:2: error: the date 2019-02-13 is outside every academic year of the "
            "calendar (2025-26 … 2026-27)") in result.err
    assert "nothing was written" in result.err and result.out == ""
    skipped = cme(*run_args(policy, data, "--format", "csv", "--skip-invalid"))
    assert skipped.code == 0, skipped.err
    assert f"{events}:5:2: error" in skipped.err
    assert skipped.out == cme(*run_args(POLICY, DATA, "--format", "csv")).out


def test_as_of_outside_the_calendar(tmp_path: Path) -> None:
    result = cme(*run_args(POLICY, DATA, as_of="2030-02-13"))
    assert result.code == 1
    assert result.err.startswith(f"{DATA / 'calendar.yaml'}: error: --as-of 2030-02-13 is "
                                 "outside every academic year of the calendar (2025-26 … "
                                 "2026-27)")
    assert not result.internal_error


def test_a_calendar_nested_too_deeply(tmp_path: Path) -> None:
    policy, data = copy_inputs(tmp_path)
    (data / "calendar.yaml").write_text("[" * 50_000 + "\n")
    result = cme(*run_args(policy, data))
    assert result.code == 1 and not result.internal_error
    assert "calendar.yaml: error: the calendar file is nested too deeply" in result.err


@pytest.mark.parametrize("edit", [
    ("policy.yaml", "reviewed: 2025-08-27", "reviewed: 9999-12-31"),
    ("main.yaml", "run: {value: 20 school days,", "run: {value: 20 school days, "
                                                  "effective_to: 9999-12-31,"),
    ("main.yaml", "run: {value: 20 school days,", "run: {value: 20 school days, "
                                                  "effective_from: 9999-12-31,"),
], ids=["reviewed", "effective_to", "effective_from"])
def test_the_last_date_there_is_in_a_policy(tmp_path: Path, edit: tuple[str, str, str]) -> None:
    policy, data = copy_inputs(tmp_path)
    name, old, new = edit
    text = (policy / name).read_text()
    assert old in text
    (policy / name).write_text(text.replace(old, new, 1))
    for args in (["check", str(policy)], run_args(policy, data), ["test", str(policy)]):
        result = cme(*args)
        assert result.code in (0, 1) and not result.internal_error, (args[0], result.err)


SCENARIO = """
scenarios:
  far_future:
    title: A date at the end of time
    given:
      pupil: {date_of_birth: 2016-05-01}
      marks:
        - from: 2025-09-03
          sessions: |
            /\\ /\\ NN
    as_of: 9999-12-31
    expect:
      fires: []
"""


def test_a_scenario_as_of_the_last_date(tmp_path: Path) -> None:
    policy, data = copy_inputs(tmp_path)
    main = policy / "main.yaml"
    main.write_text(main.read_text() + SCENARIO)
    checked = cme("check", str(policy))
    assert checked.code == 0, checked.out
    tested = cme("test", str(policy))
    assert tested.code == 1 and not tested.internal_error
    assert "as_of 9999-12-31 is outside every academic year of the calendar" in tested.out


def test_a_century_long_deadline_is_a_check_error(tmp_path: Path) -> None:
    policy, data = copy_inputs(tmp_path)
    main = policy / "main.yaml"
    main.write_text(main.read_text().replace("within: 1 day,", "within: 9999999 days,"))
    result = cme(*run_args(policy, data))
    assert result.code == 1 and not result.internal_error
    assert "error[T014]: 9999999 days is more than a century (36,525 days)" in result.out


def test_no_room_for_the_checkers(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: object, **__: object) -> str:
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp")
    monkeypatch.setattr(checkers.tempfile, "mkdtemp", full)
    for name in [n for n in sys.modules if n.startswith("_cme_checks_")]:
        monkeypatch.delitem(sys.modules, name)  # compiled afresh, not taken from the cache
    result = cme(*run_args(POLICY, DATA))
    assert result.code == 1 and not result.internal_error
    assert ("error: cannot write the checkers to a temporary folder: /tmp: No space left on "
            "device") in result.err


def test_an_os_error_anywhere_is_exit_1_not_a_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: the machine's refusal is not a bug in cme-policy."""
    from cme_policy import driver

    def refuse(_: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", "policy/main.yaml")
    monkeypatch.setattr(driver, "check_policy", refuse)
    result = cme("check", str(POLICY))
    assert result.code == 1
    assert result.err == "cme-policy: error: policy/main.yaml: Permission denied\n"
