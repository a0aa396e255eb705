"""`check` and `run` never exit 3 on anything a user can cause (issue 16): policy files,
calendar files and input files with values swapped for awkward ones — the first and last
dates there are, dates outside the calendar, huge numbers, stray YAML and CSV punctuation,
control characters, lines dropped or repeated — give diagnostics or errors (exit 0 or 1),
never "internal error … This is a bug".

Bounded: fifteen examples per target, derandomized, so it runs in seconds and the same way
every time; tests/faults/test_user_caused_errors.py holds the faults it is about by name.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from faults_support import POLICY, Outcome, cme, copy_inputs, run_args
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AWKWARD = [
    "9999-12-31", "0001-01-01", "1900-01-01", "2100-12-31", "2025-02-29", "2024-02-29",
    "2025-13-01", "2019-02-13", "2030-06-01", "2025-09-06", "2025-12-25", "2027-08-31",
    "0", "-1", "1", "99999999", "4000000", "99999999999999999999", "2.5", "1e9", "100", "101",
    "", "~", "null", "yes", "on", "x", "days", "school days", "weeks", "months", "sessions",
    "'", '"', "{", "[", ":", ",", "\t", "é", "\x00", "\ufeff", "💥", "a: b", "- x",
]
TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}|\d+|[A-Za-z_]+|[^\sA-Za-z0-9_]")
FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[float, str]]:
    """Up to three (where in the file, what to put there) edits."""
    value = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=4))
    return draw(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), value),
                         min_size=1, max_size=3))


def _edit(text: str, changes: list[tuple[float, str]], lines: int) -> str:
    for where, value in changes:
        tokens = list(TOKEN.finditer(text))
        if not tokens:
            break
        token = tokens[int(where * len(tokens))]
        text = text[:token.start()] + value + text[token.end():]
    if lines:  # drop (odd) or repeat (even) a line
        rows = text.splitlines(keepends=True)
        if rows:
            k = lines % len(rows)
            rows[k:k + 1] = [] if lines % 2 else [rows[k], rows[k]]
            text = "".join(rows)
    return text


def _mutate(path: Path, changes: list[tuple[float, str]], lines: int) -> None:
    path.write_bytes(_edit(path.read_bytes().decode("utf-8", "replace"), changes, lines)
                     .encode("utf-8", "surrogatepass"))


def _ok(result: Outcome, what: str) -> None:
    assert result.code in (0, 1) and not result.internal_error, (what, result.err[-2000:])


def _check_and_run(policy: Path, data: Path, as_of: str = "2025-10-08",
                   fmt: str = "csv") -> None:
    _ok(cme("check", str(policy)), "check")
    _ok(cme(*run_args(policy, data, "--format", fmt, as_of=as_of)), "run")


POLICY_FILES = sorted(p.name for p in POLICY.iterdir() if p.suffix in (".yaml", ".md"))


@pytest.fixture(autouse=True)
def _review_not_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-01-15")


@FUZZ
@given(name=st.sampled_from(POLICY_FILES), changes=edits(), lines=st.integers(0, 40))
def test_policy_files(name: str, changes: list[tuple[float, str]], lines: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cme-fuzz-") as tmp:
        policy, data = copy_inputs(Path(tmp))
        _mutate(policy / name, changes, lines)
        _check_and_run(policy, data)


@FUZZ
@given(in_policy=st.booleans(), changes=edits(), lines=st.integers(0, 40))
def test_calendar_files(in_policy: bool, changes: list[tuple[float, str]], lines: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cme-fuzz-") as tmp:
        policy, data = copy_inputs(Path(tmp))
        _mutate((policy if in_policy else data) / "calendar.yaml", changes, lines)
        _check_and_run(policy, data)


@FUZZ
@given(name=st.sampled_from(["pupils.csv", "marks.csv", "events.csv"]), changes=edits(),
       lines=st.integers(0, 120), as_of=st.sampled_from(
           ["2025-10-08", "2025-10-08", "2027-08-31", "2030-01-01", "1999-01-01"]),
       fmt=st.sampled_from(["csv", "json", "table"]))
def test_input_files(name: str, changes: list[tuple[float, str]], lines: int, as_of: str,
                     fmt: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cme-fuzz-") as tmp:
        policy, data = copy_inputs(Path(tmp))
        _mutate(data / name, changes, lines)
        _ok(cme(*run_args(policy, data, "--format", fmt, as_of=as_of)), "run")


def test_the_fixtures_are_clean(tmp_path: Path) -> None:
    """The unmutated inputs check and run cleanly, so every fault above is the fuzzer's."""
    policy, data = copy_inputs(tmp_path)
    assert cme("check", str(policy)).code == 0
    assert cme(*run_args(policy, data)).code == 0
    shutil.rmtree(tmp_path / "data")
