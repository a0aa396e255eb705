"""`run --output` writes what is at the path the way a Unix user expects (issue 16, item 5):
a regular file or a new path is replaced atomically and keeps its permissions, a symbolic
link's target is replaced (the link stays), and a FIFO or a device is written through, never
replaced by a regular file. A full disk or a read-only folder is exit 1, naming the path."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from faults_support import DATA, POLICY, cme, run_args

from cme_policy.screening import output
from cme_policy.screening.output import write_atomically

ROOT = os.geteuid() == 0


def _only(folder: Path, *names: str) -> None:
    """No temporary file was left beside the output."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_a_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "new" / "actions.csv", "a,b\n")
    finally:
        os.umask(old)
    target = tmp_path / "new" / "actions.csv"
    assert target.read_text() == "a,b\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    _only(target.parent, "actions.csv")


def test_an_existing_file_is_replaced_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "actions.csv"
    target.write_text("old\n")
    os.chmod(target, 0o604)
    inode = target.stat().st_ino
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != inode  # replaced by a rename, not rewritten in place
    _only(tmp_path, "actions.csv")


def test_a_symlink_stays_and_its_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "actions.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    os.chmod(real, 0o640)
    link = tmp_path / "latest.csv"
    link.symlink_to(Path("reports") / "actions.csv")
    write_atomically(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == "reports/actions.csv"
    assert real.read_text() == "new\n" and stat.S_IMODE(real.stat().st_mode) == 0o640
    _only(real.parent, "actions.csv")
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to("reports/later.csv")
    write_atomically(dangling, "later\n")
    assert dangling.is_symlink() and (real.parent / "later.csv").read_text() == "later\n"


def test_a_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, "through the pipe\n")
    reader.join(10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    _only(tmp_path, "pipe")


def test_a_proc_fd_link_is_written_through() -> None:
    read, write = os.pipe()
    try:
        write_atomically(Path(f"/proc/self/fd/{write}"), "to the descriptor\n")
        os.close(write)
        assert os.read(read, 100) == b"to the descriptor\n"
    finally:
        os.close(read)
        try:
            os.close(write)
        except OSError:
            pass


def _device(tmp_path: Path, name: str, major: int, minor: int, real: str) -> Path:
    """A device node to write to: a copy of /dev/null or /dev/full in tmp_path when we are
    root (so that a bug could not replace the machine's own), else the real one."""
    if not ROOT:
        return Path(real)
    node = tmp_path / name
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except OSError:
        pytest.skip("cannot make a device node here")
    return node


def test_a_device_is_written_through_not_replaced(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", 1, 3, "/dev/null")
    write_atomically(null, "discarded\n")
    assert stat.S_ISCHR(null.stat().st_mode)
    result = cme(*run_args(POLICY, DATA, "--format", "csv", "--output", str(null)))
    assert result.code == 0, result.err
    assert stat.S_ISCHR(null.stat().st_mode)


def test_a_full_device_is_exit_1(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", 1, 7, "/dev/full")
    result = cme(*run_args(POLICY, DATA, "--format", "csv", "--output", str(full)))
    assert result.code == 1 and "internal error" not in result.err
    assert f"{full}: error: cannot write the output: No space left on device" in result.err
    assert stat.S_ISCHR(full.stat().st_mode)


def test_a_full_disk_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "actions.csv"
    target.write_text("old\n")

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(output, "_write_all", full)
    result = cme(*run_args(POLICY, DATA, "--format", "csv", "--output", str(target)))
    assert result.code == 1
    assert f"{target}: error: cannot write the output: No space left on device" in result.err
    assert target.read_text() == "old\n"
    _only(tmp_path, "actions.csv")


def test_a_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    if ROOT:  # root writes anywhere: the file system says no instead
        def read_only(target: Path, fd: int) -> tuple[int, str | None]:
            raise OSError(errno.EROFS, "Read-only file system", str(target.parent))
        monkeypatch.setattr(output, "_temporary", read_only)
        reason = f"{folder}: Read-only file system"
    else:
        os.chmod(folder, 0o555)
        reason = "Permission denied"
    try:
        result = cme(*run_args(POLICY, DATA, "--output", str(folder / "actions.csv")))
    finally:
        os.chmod(folder, 0o755)
    assert result.code == 1 and "internal error" not in result.err
    assert f"{folder / 'actions.csv'}: error: cannot write the output: " in result.err
    assert reason in result.err
    _only(folder)


def test_standard_output_on_a_full_device_is_exit_1(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", 1, 7, "/dev/full")
    with open(full, "w") as stdout:
        done = subprocess.run([sys.executable, "-m", "cme_policy.cli", *run_args(POLICY, DATA)],
                              stdout=stdout, stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "error: cannot write the output to standard output: No space left on device")
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
