"""An interrupted `run` leaves nothing behind (issue 16, item 4): after SIGTERM or SIGKILL at
any point, no process of it lives on for more than a few seconds (the screening workers die
with their parent and let go of its output pipes), and the output file is either the old one
or the whole new one, with no temporary file beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "interpret" / "policy"
PUPILS = 3_000
GRACE_SECONDS = 5.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find the workers")


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("school")
    subprocess.run([sys.executable, "-m", "cme_policy.cli", "sample", "--pupils", str(PUPILS),
                    "--out", str(out), "--policy", str(POLICY)], check=True,
                   capture_output=True)
    return out


def _command(school: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "cme_policy.cli", "run", str(POLICY),
            "--pupils", str(school / "pupils.csv"), "--marks", str(school / "marks.csv"),
            "--events", str(school / "events.csv"), "--calendar", str(school / "calendar.yaml"),
            "--as-of", "2026-02-13", "--format", "csv", "--jobs", "2", "--output", str(output)]


@pytest.fixture(scope="module")
def reference(school: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The whole output of an uninterrupted run, screened by two workers."""
    output = tmp_path_factory.mktemp("reference") / "actions.csv"
    done = subprocess.run(_command(school, output), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return output.read_text()


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.update(int(p) for p in handle.read().split())
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# When to send the signal: a while after the start (reading the inputs, checking the
# policy), as soon as the first worker exists, and with the workers busy screening.
MOMENTS = ["after 0.3 s", "first worker", "workers + 0.2 s"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_killing_run_leaves_no_process_and_no_partial_output(
        school: Path, reference: str, tmp_path: Path, sig: signal.Signals, moment: str) -> None:
    output = tmp_path / "actions.csv"
    output.write_text("the old action list\n")
    run = subprocess.Popen(_command(school, output), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    seen: set[int] = set()

    def watch() -> bool:
        seen.update(_children(run.pid))
        return bool(seen) or run.poll() is not None

    try:
        if moment == "after 0.3 s":
            _wait_for(lambda: watch() and False, 0.3)
        else:
            assert _wait_for(watch, 60), "no worker was started"
            if moment == "workers + 0.2 s":
                _wait_for(lambda: watch() and False, 0.2)
        seen.update(_children(run.pid))
        run.send_signal(sig)
        run.wait(timeout=GRACE_SECONDS)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    # the pipes: at EOF once no process holds them open
    closed = threading.Event()
    threading.Thread(target=lambda: (run.stdout.read(), run.stderr.read(), closed.set()),
                     daemon=True).start()
    pipes_closed = closed.wait(GRACE_SECONDS)
    _wait_for(lambda: not any(_alive(pid) for pid in seen), GRACE_SECONDS)
    lingering = [pid for pid in seen if _alive(pid)]
    for pid in lingering:  # do not leave them for the next test
        os.kill(pid, signal.SIGKILL)
    assert lingering == [], f"workers {lingering} outlived the run ({moment}, {sig.name})"
    assert pipes_closed, "a process of the run still holds its output pipes"
    assert output.read_text() in ("the old action list\n", reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actions.csv"]


def test_ctrl_c_stops_the_workers(school: Path, tmp_path: Path) -> None:
    output = tmp_path / "actions.csv"
    run = subprocess.Popen(_command(school, output), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    seen: set[int] = set()

    def watch() -> bool:
        seen.update(_children(run.pid))
        return bool(seen) or run.poll() is not None

    assert _wait_for(watch, 60)
    run.send_signal(signal.SIGINT)
    try:
        run.communicate(timeout=GRACE_SECONDS * 2)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode in (0, 1, -signal.SIGINT)
    stopped = _wait_for(lambda: not any(_alive(pid) for pid in seen), GRACE_SECONDS)
    for pid in [pid for pid in seen if _alive(pid)]:
        os.kill(pid, signal.SIGKILL)
    assert stopped
