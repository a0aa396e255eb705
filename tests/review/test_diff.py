"""Golden tests of `cme-policy diff`: one pair of small policies per change kind.

Each `pairs/<KIND>/` holds `old/` and `new/`: the files that differ from `base/` on that side
(a side with nothing different holds only a README), and `expected.txt`, the text report.
Refresh after a deliberate change with `CME_UPDATE_GOLDEN=1 pytest tests/review`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cme_policy.review.diff import diff_policies, load_side, render_text, word_diff
from cme_policy.review.kinds import KINDS, markdown

HERE = Path(__file__).resolve().parent
BASE, PAIRS = HERE / "base", HERE / "pairs"
REPO = HERE.parents[1]
UPDATE = os.environ.get("CME_UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in PAIRS.iterdir() if p.is_dir())


def materialise(case: str, side: str, dest: Path) -> Path:
    root = dest / side
    shutil.copytree(BASE, root)
    for f in (PAIRS / case / side).iterdir():
        if f.name != "README":
            shutil.copy(f, root / f.name)
    return root


def _report_text(case: str, tmp_path: Path) -> str:
    old = load_side(materialise(case, "old", tmp_path), "old")
    new = load_side(materialise(case, "new", tmp_path), "new")
    return render_text(diff_policies(old, new)) + "\n"


def test_every_kind_has_a_pair() -> None:
    assert sorted(KINDS) == CASES


@pytest.mark.parametrize("case", CASES)
def test_pair(case: str, tmp_path: Path) -> None:
    actual = _report_text(case, tmp_path)
    expected = PAIRS / case / "expected.txt"
    if UPDATE:
        expected.write_text(actual, "utf-8")
    assert actual == expected.read_text("utf-8")
    assert f"\n{case} " in actual, "the pair must show its own kind"


def test_docs_list_every_kind() -> None:
    assert (REPO / "docs" / "review.md").read_text("utf-8") == markdown()


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cme_policy.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_fail_on_weakening_exit_codes(tmp_path: Path) -> None:
    weak = (materialise("RULE_REMOVED", "old", tmp_path / "w"),
            materialise("RULE_REMOVED", "new", tmp_path / "w"))
    strong = (materialise("RULE_ADDED", "old", tmp_path / "s"),
              materialise("RULE_ADDED", "new", tmp_path / "s"))
    assert _cli("diff", *map(str, weak)).returncode == 0
    assert _cli("diff", "--fail-on", "weakening", *map(str, weak)).returncode == 1
    assert _cli("diff", "--fail-on", "weakening", *map(str, strong)).returncode == 0
    out = _cli("diff", "--format", "json", *map(str, weak))
    data = json.loads(out.stdout)
    assert [c["kind"] for c in data["changes"]] == ["RULE_REMOVED"]
    assert data["weakening"] == 1


def test_statutory_parameter_moved_the_lax_way_weakens(tmp_path: Path) -> None:
    old = load_side(materialise("PARAM_VALUE_CHANGED", "old", tmp_path), "old")
    new_root = materialise("PARAM_VALUE_CHANGED", "new", tmp_path)
    text = (new_root / "main.yaml").read_text().replace("19 school days", "25 school days")
    (new_root / "main.yaml").write_text(text)
    report = diff_policies(old, load_side(new_root, "new"))
    assert [c.weakens for c in report.changes] == [True]
    assert "twenty_days" in report.changes[0].scenarios


def test_git_revisions_of_this_repo() -> None:
    done = _cli("diff", "--git", "HEAD~1", "HEAD", "policy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cme-policy diff: HEAD~1:policy → HEAD:policy")


def test_word_diff_is_short() -> None:
    assert word_diff("a b c d e f g h i j", "a b c d X f g h i j") == (
        "… b c d [-e-] {+X+} f g h …")


def _bundled_pair(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, Path]:
    before, after = tmp_path / "old", tmp_path / "new"
    shutil.copytree(REPO / "policy", before)
    shutil.copytree(REPO / "policy", after)
    path = after / file
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return before, after


def test_lowering_a_deletion_permission_weakens_by_its_use(tmp_path: Path) -> None:
    """params.deletion.continuous_absence permits a removal (its guards): 20 -> 15 lets a
    pupil be removed sooner, a weakening, though a trigger at 15 would be stricter."""
    before, after = _bundled_pair(tmp_path, "law/deletion.yaml",
                                  "    continuous_absence:\n      value: 20 school days",
                                  "    continuous_absence:\n      value: 15 school days")
    report = diff_policies(load_side(before, "old"), load_side(after, "new"), False)
    [change] = report.changes
    assert change.kind == "PARAM_VALUE_CHANGED" and change.weakens
    assert "stricter: higher" in change.message


def test_redefining_the_law_s_own_measure_weakens(tmp_path: Path) -> None:
    """Ground I's run of G, N or O narrowed to N: diff sees it, and it weakens a duty."""
    before, after = _bundled_pair(tmp_path, "law/deletion.yaml",
                                  "    kind: consecutive_school_days\n    codes: [G, N, O]",
                                  "    kind: consecutive_school_days\n    codes: [N]")
    report = diff_policies(load_side(before, "old"), load_side(after, "new"), False)
    [change] = [c for c in report.changes if c.kind == "MEASURE_CHANGED"]
    assert change.subject == "unauthorised_run" and change.weakens
    assert _cli("diff", "--fail-on", "weakening", str(before), str(after)).returncode == 1
