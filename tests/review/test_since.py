"""`cme-policy build --since OLD`: the technical reference gains "Changes since the last
review" and the governors' pack lists the changes, and what they do to pupils, in words;
without `--since` the build is unchanged."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE = Path(__file__).resolve().parent / "base"


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cme_policy.cli", "build", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


def test_handbook_lists_changes_since(tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(BASE, new)
    main = new / "main.yaml"
    main.write_text(main.read_text().replace("value: 20 school days", "value: 25 school days")
                    .replace("      - action: Begin reasonable enquiries\n        role: "
                             "attendance_officer\n        within: 10 days\n",
                             "      - action: Begin <b>enquiries</b>\n        role: "
                             "attendance_officer\n        within: 10 days\n"))
    done = build(str(new), "--out", str(tmp_path / "out"), "--since", str(BASE))
    assert done.returncode == 0, done.stderr + done.stdout
    md = (tmp_path / "out" / "docs" / "reference.md").read_text()
    html = (tmp_path / "out" / "docs" / "reference.html").read_text()
    pack = (tmp_path / "out" / "docs" / "governors-pack.md").read_text()
    assert "## Changes since the last review" in md
    assert "2 change(s), 1 weaken a duty" in md
    assert "`PARAM_VALUE_CHANGED` **weakens a duty**" in md
    assert "<h2>Changes since the last review</h2>" in html
    assert "Begin &lt;b&gt;enquiries&lt;/b&gt;" in html  # escaped like the rest
    assert "<b>enquiries" not in md.replace("\\<b\\>", "")
    assert "2 changes, 1 weakens a duty" in pack and "PARAM_VALUE_CHANGED" not in pack
    assert "### What it changes for pupils" in pack

    plain = build(str(new), "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0
    assert "Changes since" not in (tmp_path / "plain" / "docs" / "reference.md").read_text()


def test_pre_commit_hooks_offer_check_and_build_check() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["cme-policy-check"]["entry"] == "cme-policy check"
    assert hooks["cme-policy-build-check"]["entry"] == "cme-policy build --check"
    assert all(h["language"] == "python" and h["pass_filenames"] is False
               for h in hooks.values())
