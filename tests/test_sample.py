"""`cme-policy sample`: a synthetic school that is deterministic, reads back cleanly, has every
class of pupil, and whose action list flags nothing but its labelled missed steps."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from stdnum.gb import upn as stdnum_upn

from cme_policy.cli import cli
from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.readers import InputSchema, read_events, read_marks, read_pupils
from cme_policy.sample import (
    DECK_SIZE,
    MISSED_STEPS,
    PATTERNS,
    SampleSummary,
    generate_sample,
    make_upn,
    reference_date,
    sample_main,
)

REPO = Path(__file__).resolve().parents[1]
POLICY_DIR = REPO / "policy"
BUNDLED = REPO / "examples" / "sample-school"
BUNDLED_PUPILS, BUNDLED_SEED = 120, 1
"""As examples/sample-school/README.md says it was made."""
AS_OF = dt.date(2026, 2, 13)
"""`make build`'s AS_OF: the sample's reference date."""
FILES = ("pupils.csv", "marks.csv", "events.csv", "calendar.yaml")


@pytest.fixture(scope="module")
def policy() -> Policy:
    result = check_policy(POLICY_DIR)
    assert result.policy is not None, [d.message for d in result.errors]
    return result.policy


@pytest.fixture(scope="module")
def bundled(policy: Policy, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, dict[str, str], SampleSummary]:
    """The bundled sample made again: its directory, each pupil's class, the summary."""
    out = tmp_path_factory.mktemp("bundled")
    classes: dict[str, str] = {}
    summary = generate_sample(policy, out, pupils=BUNDLED_PUPILS, seed=BUNDLED_SEED,
                              policy_dir=POLICY_DIR, on_pupil=classes.__setitem__)
    return out, classes, summary


def _digest(out: Path) -> dict[str, str]:
    return {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES}


def _run(school: Path, as_of: dt.date) -> list[dict[str, str]]:
    args = ["run", str(POLICY_DIR), "--pupils", str(school / "pupils.csv"),
            "--marks", str(school / "marks.csv"), "--events", str(school / "events.csv"),
            "--calendar", str(school / "calendar.yaml"), "--as-of", as_of.isoformat(),
            "--format", "csv"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_make_upn_has_a_valid_check_letter() -> None:
    upn = make_upn(856, 2001, 24, 7)
    assert stdnum_upn.validate(upn) == upn and upn[1:4] == "856"


def test_the_reference_date_is_make_builds_as_of() -> None:
    assert reference_date(load_calendar(POLICY_DIR / "calendar.yaml")) == AS_OF


def test_same_seed_same_bytes(policy: Policy, tmp_path: Path) -> None:
    a = generate_sample(policy, tmp_path / "a", pupils=300, seed=5, policy_dir=POLICY_DIR)
    b = generate_sample(policy, tmp_path / "b", pupils=300, seed=5, policy_dir=POLICY_DIR)
    generate_sample(policy, tmp_path / "c", pupils=300, seed=6, policy_dir=POLICY_DIR)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["marks.csv"] != _digest(tmp_path / "c")["marks.csv"]
    assert a.patterns == b.patterns and a.mark_rows == b.mark_rows


def test_sample_reads_back_with_no_errors(policy: Policy, tmp_path: Path) -> None:
    classes: dict[str, str] = {}
    summary = generate_sample(policy, tmp_path, pupils=2000, seed=1, policy_dir=POLICY_DIR,
                              on_pupil=classes.__setitem__)
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
    assert sum(summary.patterns.values()) == 2000 and set(classes.values()) == set(PATTERNS)
    # a missed step: some pupil was removed from roll with no la_notified before it
    logs = events.events.values()
    assert any([e.event for e in log if e.event in ("la_notified", "removed_from_roll")]
               == ["removed_from_roll"] for log in logs)
    # absence runs of 20+ school days with every session G, N or O exist (G, N and O keep their
    # own characters in a mark string)
    runs = [m for m in marks.marks.values() if re.search(r"[GNO]{40}", m.text)]
    assert runs
    # nothing in the case log happens after the reference date
    assert summary.as_of == AS_OF
    assert all(e.date <= AS_OF for log in logs for e in log)


def test_n_marks_are_replaced_within_days(policy: Policy, tmp_path: Path) -> None:
    """As in a real register, an N is replaced within days: only the last school days before
    the reference date still hold one, except for the labelled `n_not_replaced` pupils."""
    classes: dict[str, str] = {}
    generate_sample(policy, tmp_path, pupils=1000, seed=4, policy_dir=POLICY_DIR,
                    on_pupil=classes.__setitem__)
    recent = AS_OF - dt.timedelta(days=7)
    with open(tmp_path / "marks.csv", encoding="utf-8") as f:
        stale = Counter(classes[row["upn"]] for row in csv.DictReader(f)
                        if row["code"] == "N" and row["date"] < recent.isoformat())
    assert set(stale) == {"n_not_replaced"}


def test_pupils_on_roll_before_this_year_were_admitted_in_an_earlier_year(
        policy: Policy, tmp_path: Path) -> None:
    classes: dict[str, str] = {}
    generate_sample(policy, tmp_path, pupils=1000, seed=4, policy_dir=POLICY_DIR,
                    on_pupil=classes.__setitem__)
    joiners = {"new_pupil", "new_pupil_return_missed", "admitted_never_present"}
    year_start = load_calendar(POLICY_DIR / "calendar.yaml").years[0].start.isoformat()
    with open(tmp_path / "pupils.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            this_year = row["admission_date"] >= year_start
            reception = row["joined_junior_class_at_year_start"] == "yes"
            assert this_year == (classes[row["upn"]] in joiners or reception), row


def test_every_class_is_in_a_sample_of_the_bundled_size(
        bundled: tuple[Path, dict[str, str], SampleSummary]) -> None:
    _, _, summary = bundled
    assert BUNDLED_PUPILS >= DECK_SIZE
    assert not summary.skipped_patterns
    assert [k for k in PATTERNS if summary.patterns[k] == 0] == []
    assert summary.as_of == AS_OF
    # the deliberate missed steps are few: one pupil each
    assert {k: summary.patterns[k] for k in MISSED_STEPS} == dict.fromkeys(MISSED_STEPS, 1)


def test_the_bundled_sample_is_the_generators_output(
        bundled: tuple[Path, dict[str, str], SampleSummary]) -> None:
    out, _, _ = bundled
    assert _digest(out) == _digest(BUNDLED), (
        "examples/sample-school is stale: regenerate it with `cme-policy sample --pupils "
        f"{BUNDLED_PUPILS} --seed {BUNDLED_SEED} --out examples/sample-school`")


def test_the_bundled_run_flags_only_the_labelled_missed_steps(
        bundled: tuple[Path, dict[str, str], SampleSummary]) -> None:
    """`make build`'s run of the bundled sample: every violation, and every overdue action,
    is one of the deliberate missed steps, and each missed step shows."""
    out, classes, _ = bundled
    assert (out / "pupils.csv").read_bytes() == (BUNDLED / "pupils.csv").read_bytes()
    rows = _run(BUNDLED, AS_OF)
    by_class: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_class[classes[row["upn"]]].append(row)
    flagged = {(classes[r["upn"]], r["id"], r["status"]) for r in rows
               if r["status"] in ("violated", "overdue")}
    assert {c for c, _, _ in flagged} == set(MISSED_STEPS), sorted(flagged)
    assert flagged == {
        ("n_not_replaced", "n_code_not_replaced", "overdue"),
        ("new_pupil_return_missed", "new_pupil_return", "overdue"),
        ("cme_enquiries_not_begun", "ground_i_joint_enquiries", "overdue"),
        ("cme_enquiries_not_begun", "substantial_period", "overdue"),
        ("ctf_late", "records_transfer", "violated"),
        ("leaver_unknown_removed_unlawfully", "deletion_from_roll", "violated"),
        ("cme_removed_before_la_notified", "reasonable_enquiries", "violated"),
        # the law's safeguard on every deletion reports both unlawful removals too, whichever
        # procedure they were recorded in (SI 2024/208 reg 9(1), 13(4)-(5))
        ("leaver_unknown_removed_unlawfully", "lawful_deletion", "violated"),
        ("cme_removed_before_la_notified", "lawful_deletion", "violated"),
        # a removal no case permitted changes nothing: both pupils are still on roll and
        # out of education for four weeks, so the CME check is overdue for them
        ("leaver_unknown_removed_unlawfully", "substantial_period", "overdue"),
        ("cme_removed_before_la_notified", "substantial_period", "overdue"),
    }
    # leavers handled by the book: home education leaves nothing at all; another school and
    # the lawful removals leave only done actions (and the LA's own tracking)
    assert by_class["leaver_home_education"] == []
    for kind in ("leaver_another_school", "leaver_another_school_cp_file",
                 "leaver_cp_file_new_term", "cme_removed_properly",
                 "leave_not_returned_ground_h"):
        assert by_class[kind] and {r["status"] for r in by_class[kind]
                                   if r["role"] != "la_cme_officer"} == {"done"}, kind
    # a pupil of 4 is not a penalty-notice or absence-return case
    assert not {r["id"] for r in by_class["reception_not_compulsory_age"]} & {
        "repeated_absence", "absence_return"}
    # the pupil who turned 5 is one after 31 December, and the head considered the holiday
    assert {(r["id"], r["status"]) for r in by_class["reception_turning_five"]} >= {
        ("repeated_absence", "done")}
    # the pupils being looked for: enquiries under way, the four-week check done
    for kind in ("sickness_then_unexplained_absence", "admitted_never_present"):
        got = {(r["id"], r["state"], r["status"]) for r in by_class[kind]}
        assert {("ground_i_joint_enquiries", "", "done"), ("substantial_period", "", "done"),
                ("reasonable_enquiries", "enquiries_under_way", "due")} <= got, kind


def test_patterns_whose_events_are_missing_are_skipped(policy: Policy, tmp_path: Path) -> None:
    trimmed = dataclasses.replace(
        policy, events=tuple(e for e in policy.events if e.id != "la_notified"))
    summary = generate_sample(trimmed, tmp_path, pupils=500, seed=2, policy_dir=POLICY_DIR)
    assert "cme_removed_properly" in summary.skipped_patterns
    assert summary.patterns["cme_removed_properly"] == 0
    assert "la_notified" not in (tmp_path / "events.csv").read_text(encoding="utf-8")


def test_sample_main(tmp_path: Path) -> None:
    said: list[str] = []
    assert sample_main(50, tmp_path, seed=3, policy_dir=POLICY_DIR, echo=said.append) == 0
    assert "50 pupils" in said[0] and "as of 2026-02-13" in said[0]
    assert sample_main(0, tmp_path, echo=said.append) == 2
