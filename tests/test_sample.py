"""`cme-policy sample`: a synthetic school that is deterministic and reads back cleanly."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
from stdnum.gb import upn as stdnum_upn

from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.readers import InputSchema, read_events, read_marks, read_pupils
from cme_policy.sample import generate_sample, make_upn, sample_main

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
FILES = ("pupils.csv", "marks.csv", "events.csv", "calendar.yaml")


@pytest.fixture(scope="module")
def policy() -> Policy:
    result = check_policy(POLICY_DIR)
    assert result.policy is not None, [d.message for d in result.errors]
    return result.policy


def _digest(out: Path) -> dict[str, str]:
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES}


def test_make_upn_has_a_valid_check_letter() -> None:
    upn = make_upn(856, 2001, 24, 7)
    assert stdnum_upn.validate(upn) == upn and upn[1:4] == "856"


def test_same_seed_same_bytes(policy: Policy, tmp_path: Path) -> None:
    a = generate_sample(policy, tmp_path / "a", pupils=300, seed=5, policy_dir=POLICY_DIR)
    b = generate_sample(policy, tmp_path / "b", pupils=300, seed=5, policy_dir=POLICY_DIR)
    generate_sample(policy, tmp_path / "c", pupils=300, seed=6, policy_dir=POLICY_DIR)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["marks.csv"] != _digest(tmp_path / "c")["marks.csv"]
    assert a.patterns == b.patterns and a.mark_rows == b.mark_rows


def test_sample_reads_back_with_no_errors(policy: Policy, tmp_path: Path) -> None:
    summary = generate_sample(policy, tmp_path, pupils=2000, seed=1, policy_dir=POLICY_DIR)
    schema = InputSchema.from_policy(policy)
    calendar = load_calendar(tmp_path / "calendar.yaml")
    pupils = read_pupils(tmp_path / "pupils.csv", schema)
    assert pupils.ok, [str(e) for e in pupils.errors[:5]]
    assert pupils.counts.pupils_read == 2000
    marks = read_marks(tmp_path / "marks.csv", schema, calendar, pupils.pupils)
    assert marks.ok, [str(e) for e in marks.errors[:5]]
    assert marks.counts.rows_read == summary.mark_rows
    assert marks.counts.pupils_with_marks + marks.counts.pupils_without_marks == 2000
    events = read_events(tmp_path / "events.csv", schema, pupils.pupils)
    assert events.ok, [str(e) for e in events.errors[:5]]
    assert events.counts.rows_read == summary.event_rows > 0
    # the patterns a CME screen should find are all there
    for kind in ("good", "persistent_absence", "severe_absence", "cme_removed_properly",
                 "cme_removed_before_la_notified", "leaver_home_education",
                 "leaver_another_school", "n_not_replaced", "illness_runs"):
        assert summary.patterns[kind] > 0, (kind, summary.patterns)
    # a missed step: some pupil was removed from roll with no la_notified before it
    logs = events.events.values()
    assert any([e.event for e in log if e.event in ("la_notified", "removed_from_roll")]
               == ["removed_from_roll"] for log in logs)
    # absence runs of 20+ school days with every session G, N or O exist (G, N and O keep their
    # own characters in a mark string)
    runs = [m for m in marks.marks.values() if re.search(r"[GNO]{40}", m.text)]
    assert runs


def test_patterns_whose_events_are_missing_are_skipped(policy: Policy, tmp_path: Path) -> None:
    trimmed = dataclasses.replace(
        policy, events=tuple(e for e in policy.events if e.id != "la_notified"))
    summary = generate_sample(trimmed, tmp_path, pupils=500, seed=2, policy_dir=POLICY_DIR)
    assert "cme_removed_properly" in summary.skipped_patterns
    assert "la_notified" not in (tmp_path / "events.csv").read_text(encoding="utf-8")


def test_sample_main(tmp_path: Path) -> None:
    said: list[str] = []
    assert sample_main(50, tmp_path, seed=3, policy_dir=POLICY_DIR, echo=said.append) == 0
    assert "50 pupils" in said[0]
    assert sample_main(0, tmp_path, echo=said.append) == 2
