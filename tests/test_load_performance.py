"""Front-end performance: a 1 MB policy checks in well under a second; YAML bombs cost nothing."""

from __future__ import annotations

import shutil
import time
import tracemalloc
from pathlib import Path

import pytest

from cme_policy.driver import CheckResult, check_policy

POLICY = Path(__file__).resolve().parent.parent / "policy"
TARGET_BYTES = 1024 * 1024
# A guard against pathological slow-downs (quadratic passes, a lost fast path), not the speed
# target: the target is measured by benchmarks/load.py, which prints the figure.
LIMIT_SECONDS = 5.0

# One unit of the synthetic policy: two parameters, a rule with two obligations that opens a
# seven-state procedure with a deadline and an invariant. Six expressions in about 3.2 KB:
# several times denser in expressions than the bundled policy (six in about 15 KB of YAML).
PARAMETERS = """\
  group_{i}:
    threshold_{i}:
      value: {days} school days
      label: continuous absence before unit {i} applies
      source: synthetic benchmark policy, unit {i}
      statutory: true
      stricter: lower
      effective_from: 2024-08-19
      description: How long a pupil must be absent, every session unauthorised, before unit {i} applies.
    deadline_{i}:
      value: {deadline} school days
      label: time to act in unit {i}
      source: synthetic benchmark policy, unit {i}
"""  # noqa: E501
RULES = """\
  rule_{i}:
    title: Unit {i} — absence of {days} school days without a known reason
    clause: [gen-{i}]
    source: synthetic benchmark policy
    when: unauthorised_run >= params.group_{i}.threshold_{i} and not sickness_or_unavoidable_cause and (referred_to_social_care or not safeguarding_concern)
    then:
      - action: Begin enquiries for unit {i} jointly with the local authority
        role: attendance_officer
        within: {deadline} school days
      - action: Tell the headteacher about unit {i}
        role: headteacher
        within: params.group_{i}.deadline_{i}
    opens: procedure_{i}
    description: >-
      Unit {i} of the synthetic benchmark. When a pupil has been absent without a known reason
      for {days} school days in a row, the attendance officer begins joint enquiries with the
      local authority, and the headteacher is told, before anyone considers deleting the pupil
      from the admission register.
"""  # noqa: E501
PROCEDURES = """\
  procedure_{i}:
    title: Enquiries for unit {i}
    clause: [gen-{i}]
    initial: due_{i}
    description: >-
      The steps the school takes for unit {i}: enquiries begin, are escalated to the headteacher
      when late, end when the pupil is found, or lead to notifying the local authority before
      the pupil's name is deleted from the register.
    states:
      due_{i}:
        title: Enquiries for unit {i} to begin
        role: attendance_officer
        deadline:
          within: params.group_{i}.deadline_{i}
          escalate_to: escalated_{i}
          action: begin enquiries for unit {i}
        transitions:
          - event: joint_enquiries_started
            target: under_way_{i}
          - event: pupil_located
            target: closed_{i}
      escalated_{i}:
        title: Enquiries for unit {i} overdue
        role: headteacher
        transitions:
          - event: joint_enquiries_started
            target: under_way_{i}
      under_way_{i}:
        title: Enquiries for unit {i} under way
        role: attendance_officer
        transitions:
          - event: pupil_located
            target: closed_{i}
          - event: enquiries_failed
            target: notify_{i}
      notify_{i}:
        title: Notify the local authority (unit {i})
        role: attendance_officer
        transitions:
          - event: la_notified
            target: notified_{i}
      notified_{i}:
        title: Local authority notified (unit {i})
        role: admissions
        transitions:
          - event: removed_from_roll
            target: removed_{i}
            guard: unauthorised_run >= params.deletion.continuous_absence and joint_enquiries_failed and not sickness_or_unavoidable_cause
      removed_{i}:
        title: Removed from roll (unit {i})
        final: true
      closed_{i}:
        title: Pupil located (unit {i})
        final: true
    invariants:
      notified_before_removal_{i}:
        every_path_to: removed_{i}
        passes: notified_{i}
        clause: gen-{i}
"""  # noqa: E501


def generate(root: Path, first: int = 0) -> int:
    """The bundled policy plus one generated file of at least 1 MB; returns the unit count.

    `first` numbers the units, so that two generated policies share no expression text.
    """
    shutil.copytree(POLICY, root)
    sections: dict[str, list[str]] = {"parameters": [], "rules": [], "procedures": []}
    size, count = 0, 0
    while size < TARGET_BYTES:
        i = first + count
        values = {"i": i, "days": 10 + i % 30, "deadline": 1 + i % 10}
        for name, template in (("parameters", PARAMETERS), ("rules", RULES),
                               ("procedures", PROCEDURES)):
            chunk = template.format(**values)
            sections[name].append(chunk)
            size += len(chunk.encode("utf-8"))
        count += 1
    body = "".join(f"{name}:\n" + "".join(chunks) for name, chunks in sections.items())
    (root / "generated.yaml").write_text(body, "utf-8")
    manifest = (root / "policy.yaml").read_text("utf-8")
    assert "include:\n" in manifest
    manifest = manifest.replace("include:\n", "include:\n  - generated.yaml\n", 1)
    (root / "policy.yaml").write_text(manifest, "utf-8")
    clauses = "".join(f"{{#gen-{first + n}}} Synthetic clause {first + n} of the benchmark "
                      "policy.\n\n" for n in range(count))
    with (root / "policy.md").open("a", encoding="utf-8") as text:
        text.write("\n## Generated clauses\n\n" + clauses)
    return count


def _timed(root: Path) -> tuple[float, CheckResult]:
    start = time.perf_counter()
    result = check_policy(root)
    return time.perf_counter() - start, result


def test_a_one_megabyte_policy_checks_quickly(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bundled = check_policy(POLICY)  # warm up: grammar tables and imports are one-off costs
    assert bundled.policy is not None
    own_rules = len(bundled.policy.rules)
    # Best of five on a shared machine; each run gets its own policy (no expression in common),
    # so no run profits from what an earlier one parsed.
    roots = [tmp_path / f"policy-{n}" for n in range(5)]
    counts = [generate(root, first=n * 10_000) for n, root in enumerate(roots)]
    size = (roots[0] / "generated.yaml").stat().st_size
    assert size >= TARGET_BYTES

    times = []
    for root, count in zip(roots, counts):
        elapsed, result = _timed(root)
        times.append(elapsed)
        assert result.ok, [str(d) for d in result.errors[:5]]
        assert result.policy is not None
        assert len(result.policy.rules) == count + own_rules  # plus the bundled policy's
        assert sum(len(p.states) for p in result.policy.procedures) >= 7 * count
    with capsys.disabled():
        print(f"\n1 MB policy ({size:,} bytes, {counts[0]} rules, {7 * counts[0]} states): "
              f"check took {', '.join(f'{t:.3f}' for t in times)} s (best {min(times):.3f} s)")
    assert min(times) < LIMIT_SECONDS, times


# -- billion laughs ----------------------------------------------------------------------------

def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _assert_rejected_cheaply(root: Path, file_name: str) -> None:
    start = time.perf_counter()
    result = check_policy(root)
    elapsed = time.perf_counter() - start
    l005 = [d for d in result.errors if d.code == "L005"]
    assert l005, [str(d) for d in result.diagnostics]
    assert l005[0].span is not None and l005[0].span.path.endswith(file_name)
    assert (l005[0].span.line, l005[0].span.column) == (1, 4)  # the first anchor, `&a`
    assert elapsed < 1.0, elapsed

    tracemalloc.start()
    try:
        check_policy(root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_billion_laughs_as_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(billion_laughs(), "utf-8")
    _assert_rejected_cheaply(tmp_path, "policy.yaml")


def test_billion_laughs_as_an_included_file(tmp_path: Path) -> None:
    root = tmp_path / "policy"
    shutil.copytree(POLICY, root)
    manifest = (root / "policy.yaml").read_text("utf-8")
    manifest = manifest.replace("include:\n", "include:\n  - laughs.yaml\n", 1)
    (root / "policy.yaml").write_text(manifest, "utf-8")
    (root / "laughs.yaml").write_text(billion_laughs(), "utf-8")
    _assert_rejected_cheaply(root, "laughs.yaml")


def test_aliases_without_anchors_and_a_bomb_without_final_newline(tmp_path: Path) -> None:
    """Both YAML readers (libyaml and the pure-Python reference) refuse these before expanding."""
    (tmp_path / "policy.yaml").write_text("a: [*x, *x]\n", "utf-8")
    result = check_policy(tmp_path)
    assert [d.code for d in result.errors] == ["L005"]
    (tmp_path / "policy.yaml").write_text(billion_laughs().rstrip("\n"), "utf-8")
    _assert_rejected_cheaply(tmp_path, "policy.yaml")
