"""`cme-policy check` from the outside: exit codes, output formats, and that it writes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cme_policy.cli
from cme_policy.cli import cli

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "policy"
SUMMARY = re.compile(r"^(?P<label>\S+): (?P<errors>\d+) error\(s\), (?P<warnings>\d+) warning\(s\)"
                     r"(; clauses traced: \d+%)?$", re.MULTILINE)
GITHUB = re.compile(r"^::(?P<level>error|warning|notice) file=(?P<file>[^,]+),line=(?P<line>\d+),"
                    r"col=(?P<col>\d+)(,title=[^:]*)?::(?P<message>.+)$")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory holding a copy of the bundled policy, as the working directory."""
    shutil.copytree(POLICY, tmp_path / "policy")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def broken(workdir: Path) -> Path:
    """The bundled policy with an unknown key in a rule: one S001 error at a known place."""
    rules = workdir / "policy" / "rules.yaml"
    text = rules.read_text("utf-8")
    rules.write_text(text.replace("    statutory: true\n", "    statutory: true\n    wen: x\n", 1),
                     "utf-8")
    return workdir / "policy"


def _line_of(path: Path, needle: str) -> int:
    return path.read_text("utf-8").splitlines().index(needle) + 1


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "cme_policy.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


# -- exit codes and formats through click's runner ---------------------------------------------

def test_clean_policy_exits_0_with_a_summary(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "policy"])
    assert result.exit_code == 0, result.output
    summary = SUMMARY.search(result.output)
    assert summary is not None, result.output
    assert summary["label"] == "policy" and summary["errors"] == "0"
    assert result.output.rstrip().splitlines()[-1] == summary.group(0)


def test_directory_defaults_to_policy(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    assert SUMMARY.search(result.output)


def test_broken_policy_exits_1(broken: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(broken)])
    assert result.exit_code == 1, result.output
    line = _line_of(broken / "rules.yaml", "    wen: x")
    assert f"rules.yaml:{line}:5: error[S001]: unknown key 'wen' in rule" in result.output
    assert "did you mean 'when'?" in result.output
    summary = SUMMARY.search(result.output)
    assert summary is not None and int(summary["errors"]) >= 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["check", "--bogus"],
    ["check", "no-such-directory"],
    ["check", "policy", "--format", "xml"],
    ["check", "policy", "extra-argument"],
    ["chekc"],
])
def test_usage_errors_exit_2(workdir: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.output
    assert "Traceback" not in result.output


def test_a_file_where_a_directory_is_expected_is_a_usage_error(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "policy/policy.yaml"])
    assert result.exit_code == 2, result.output


def test_json_format_is_valid_json(broken: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(broken), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)  # the whole output: no summary line mixed in
    assert isinstance(data, list) and data
    assert {"code", "severity", "message"} <= set(data[0])
    s001 = [d for d in data if d["code"] == "S001"]
    assert s001 and s001[0]["severity"] == "error"
    assert s001[0]["line"] == _line_of(broken / "rules.yaml", "    wen: x")
    assert s001[0]["column"] == 5 and s001[0]["hint"]


def test_json_format_of_a_clean_policy(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["check", "policy", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert all(d["severity"] != "error" for d in data)


def test_github_format_emits_workflow_commands(broken: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(broken), "--format", "github"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines and all(GITHUB.match(line) for line in lines), result.output
    errors = [GITHUB.match(line) for line in lines if line.startswith("::error ")]
    assert errors
    first = errors[0]
    assert first is not None
    assert Path(first["file"]).resolve() == (broken / "rules.yaml").resolve()
    assert int(first["line"]) == _line_of(broken / "rules.yaml", "    wen: x")
    assert first["col"] == "5"


# -- the real entry point ----------------------------------------------------------------------

def test_internal_error_exits_3_without_a_traceback(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def explode(root: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cme_policy.cli, "check_policy", explode)
    monkeypatch.setattr(sys, "argv", ["cme-policy", "check", "policy"])
    with pytest.raises(SystemExit) as exited:
        cme_policy.cli.main()
    assert exited.value.code == 3
    out, err = capsys.readouterr()
    assert "internal error" in err and "RuntimeError: boom" in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("args, code", [
    (["check", "--bogus"], 2),
    (["check", "no-such-directory"], 2),
    (["check", "policy"], 0),
])
def test_main_exit_codes(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str], args: list[str], code: int) -> None:
    monkeypatch.setattr(sys, "argv", ["cme-policy", *args])
    with pytest.raises(SystemExit) as exited:
        cme_policy.cli.main()
    assert exited.value.code == code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_subprocess_clean_broken_and_usage(broken: Path, workdir: Path) -> None:
    clean = workdir / "clean"
    shutil.copytree(POLICY, clean)
    ok = _run("check", "clean", cwd=workdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert SUMMARY.search(ok.stdout) and ok.stderr == ""

    bad = _run("check", "policy", cwd=workdir)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "error[S001]" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr

    usage = _run("check", "--bogus", cwd=workdir)
    assert usage.returncode == 2
    assert "No such option" in usage.stderr and "Traceback" not in usage.stderr

    as_json = _run("check", "policy", "--format", "json", cwd=workdir)
    assert as_json.returncode == 1 and json.loads(as_json.stdout)


def test_installed_console_script(workdir: Path) -> None:
    script = Path(sys.executable).parent / "cme-policy"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run([str(script), "check", "policy"], cwd=workdir, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert SUMMARY.search(result.stdout)


# -- check writes nothing ----------------------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size if p.is_file() else 0)
            for p in sorted(root.rglob("*"))}


def test_check_writes_nothing(broken: Path, workdir: Path) -> None:
    before = _snapshot(workdir)
    for fmt in ("text", "json", "github"):
        CliRunner().invoke(cli, ["check", "policy", "--format", fmt])
        _run("check", "policy", "--format", fmt, cwd=workdir)
    assert _snapshot(workdir) == before
