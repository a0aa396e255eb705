"""`build` is all or nothing across folders (issue 16, item 6): a build killed at any step
leaves the output folder wholly old or wholly new, and the next build removes what it left.

Each crash is real: a forked child runs `build.write` with one step replaced by `os._exit`,
so no `finally:` of the build runs, as with SIGKILL.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pybackend_support import ROOT

from cme_policy import build
from cme_policy.driver import check_policy

POLICY = ROOT / "tests" / "interpret" / "policy"


def _files(policy: Path) -> dict[str, str]:
    result = check_policy(policy)
    assert result.policy is not None, [str(d) for d in result.errors]
    return build.render(result.policy, "policy/")


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """Three different builds of the small policy: old, new and the one after."""
    out: list[dict[str, str]] = []
    for limit in (20, 15, 12):
        policy = tmp_path_factory.mktemp("policy") / "p"
        shutil.copytree(POLICY, policy)
        main = policy / "main.yaml"
        main.write_text(main.read_text().replace("run: {value: 20 school days",
                                                 f"run: {{value: {limit} school days"))
        out.append(_files(policy))
    assert out[0] != out[1] != out[2]
    return out


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _expected(files: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    return {**files, **extra}


def _crash_in_child(action: Callable[[], None], patches: dict[tuple[Any, str], Any]) -> int:
    """Run `action` in a forked child with `patches` applied; its exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            for (owner, name), value in patches.items():
                setattr(owner, name, value)
            action()
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


KILLED = 137


def _kill_at(real: Callable[..., Any], call: int, after: bool) -> Callable[..., Any]:
    """`real`, except that its `call`-th call kills the process, before or after it runs."""
    count = [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        if count[0] == call and not after:
            os._exit(KILLED)
        result = real(*args, **kwargs)
        if count[0] == call and after:
            os._exit(KILLED)
        return result
    return wrapper


# (what to replace, which call, kill after it ran?) — every step of `write`, both ways of
# swapping: the one-step exchange (Linux) and the two renames where it is not available
STEPS = [
    ("_write_tree", 1, False), ("_write_tree", 1, True),
    ("_carry_unmanaged", 1, True),
    ("_exchange", 1, False), ("_exchange", 1, True),
    ("rmtree", 1, False),
]
FALLBACK_STEPS = [("rename", 1, False), ("rename", 1, True), ("rename", 2, True),
                  ("rename", 3, True), ("rmtree", 1, False)]


def _patches(step: str, call: int, after: bool, exchange: bool) -> dict[tuple[Any, str], Any]:
    patches: dict[tuple[Any, str], Any] = {}
    if not exchange:
        patches[(build, "_exchange")] = lambda a, b: False
    if step == "rename":
        patches[(os, "rename")] = _kill_at(os.rename, call, after)
    elif step == "rmtree":
        patches[(shutil, "rmtree")] = _kill_at(shutil.rmtree, call, after)
    else:
        real = patches.get((build, step), getattr(build, step))
        patches[(build, step)] = _kill_at(real, call, after)
    return patches


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_build_killed_at_any_step_leaves_old_or_new(
        versions: list[dict[str, str]], tmp_path: Path, exchange: bool) -> None:
    if exchange and not build._exchange(*_pair(tmp_path)):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    old, new, after = versions
    for step, call, kill_after in (STEPS if exchange else FALLBACK_STEPS):
        case = tmp_path / f"{step}-{call}-{kill_after}"
        out = case / "generated"
        build.write(out, old)
        (out / "notes.md").write_text("kept\n")  # no backend owns it: carried over
        extra = {"notes.md": "kept\n"}
        status = _crash_in_child(functools.partial(build.write, out, new),
                                 _patches(step, call, kill_after, exchange))
        assert status == KILLED, (step, call, kill_after)
        label = f"killed at {step} #{call} ({'after' if kill_after else 'before'})"
        if out.exists():
            assert _tree(out) in (_expected(old, extra), _expected(new, extra)), label
        else:  # only between the fallback's two renames: the next build puts it back
            assert not exchange, label
            aside = [p for p in build.leftovers(out) if ".old-" in p.name]
            assert len(aside) == 1 and _tree(aside[0]) == _expected(old, extra), label
        build.write(out, after)
        assert _tree(out) == _expected(after, extra), label
        assert build.leftovers(out) == [], label
        assert sorted(p.name for p in case.iterdir()) == ["generated"], label


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "probe-a", tmp_path / "probe-b"
    a.mkdir()
    b.mkdir()
    return a, b


def test_the_swap_keeps_the_folder_mode_and_a_symlinked_output(
        versions: list[dict[str, str]], tmp_path: Path) -> None:
    real = tmp_path / "real-generated"
    build.write(real, versions[0])
    os.chmod(real, 0o750)
    link = tmp_path / "generated"
    link.symlink_to(real.name)
    build.write(link, versions[1])
    assert link.is_symlink() and _tree(link) == versions[1]
    assert (real.stat().st_mode & 0o777) == 0o750
    assert build.leftovers(real) == []


def test_a_build_that_cannot_write_is_a_clean_error(versions: list[dict[str, str]],
                                                    tmp_path: Path, policy_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "generated"
    build.write(out, versions[0])
    messages: list[str] = []

    def refuse(*_: Any, **__: Any) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path))
    monkeypatch.setattr(build.tempfile, "mkdtemp", refuse)
    result = check_policy(policy_dir)
    assert result.policy is not None
    code = build.run_build(result.policy, policy_dir, out, False, messages.append)
    assert code == 1
    assert messages[0] == f"{tmp_path}: error: cannot write the build: Permission denied"
    assert _tree(out) == versions[0]


@pytest.fixture()
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(POLICY, target)
    return target


def test_out_holding_the_policy_or_the_working_folder_is_refused(
        policy_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = check_policy(policy_dir)
    assert result.policy is not None
    messages: list[str] = []
    assert build.run_build(result.policy, policy_dir, tmp_path, False, messages.append) == 1
    assert "the output folder holds the policy" in messages[0]
    monkeypatch.chdir(policy_dir)
    out = policy_dir.parent
    assert build.run_build(result.policy, policy_dir, out, False, messages.append) == 1
    assert "holds the current folder" in messages[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy"]


def test_a_build_waits_for_another_and_gives_up_cleanly(
        versions: list[dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl
    out = tmp_path / "generated"
    build.write(out, versions[0])
    holder = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another build, mid-way
    try:
        monkeypatch.setattr(build, "LOCK_SECONDS", 0.3)
        with pytest.raises(build.BuildError, match="another `cme-policy build`"):
            build.write(out, versions[1])
        assert _tree(out) == versions[0]
        monkeypatch.setattr(build, "LOCK_SECONDS", 10.0)
        threading.Timer(0.3, lambda: os.close(holder)).start()
        started = time.monotonic()
        build.write(out, versions[1])  # waits for the other to finish, then builds
        assert time.monotonic() - started >= 0.25
        assert _tree(out) == versions[1]
    finally:
        try:
            os.close(holder)
        except OSError:
            pass


def test_two_concurrent_builds_both_succeed(policy_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    command = [sys.executable, "-m", "cme_policy.cli", "build", str(policy_dir), "--out",
               str(out)]
    env = {**os.environ, "CME_POLICY_PDF": "0"}  # the PDF step is not the swap
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert build.leftovers(out) == []
    assert (out / "MANIFEST.json").is_file()
