"""Worker processes die with the `run` that started them, and a terminated run leaves no
half-written file behind.

- In the parent, `terminating(cleanup)` installs a SIGTERM/SIGHUP handler for the duration
  of a block: it runs the cleanup (kill the workers, remove a temporary file) and then lets
  the signal take its default course, so the process still ends "killed by SIGTERM".
- In each worker, `worker_started(parent)` asks Linux to SIGKILL the worker when the parent
  dies (`prctl(PR_SET_PDEATHSIG)`, which also covers a SIGKILLed parent that could run no
  handler), and starts a watchdog thread that polls the parent's pid as a fallback where
  prctl is not available. The worker ignores SIGINT (the parent handles Ctrl-C and stops the
  workers) and points its standard output at /dev/null, so a pipe the parent writes to is
  closed as soon as the parent is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

PR_SET_PDEATHSIG = 1
WATCHDOG_SECONDS = 0.5
"""How often a worker checks that its parent is still alive (the fallback to prctl)."""

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def terminating(cleanup: Callable[[], None],
                on_error: Callable[[], None] | None = None) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP first run `cleanup`, then end the process as the
    signal would have; leaving the block by an exception (Ctrl-C's KeyboardInterrupt, an
    error) runs `on_error` (default: `cleanup`) before the exception goes on.

    `cleanup` runs inside a signal handler, at any point of the main thread: it must take no
    lock the interrupted code may hold. Outside the main thread, where no handler can be set,
    only `on_error` applies."""
    on_error = on_error or cleanup
    if threading.current_thread() is not threading.main_thread():
        try:
            yield
        except BaseException:
            on_error()
            raise
        return

    def handler(signum: int, _frame: object) -> None:
        try:
            cleanup()
        finally:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    except BaseException:  # Ctrl-C (KeyboardInterrupt), an error: clean up as well
        on_error()
        raise
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def kill_all(pids: list[int]) -> None:
    """SIGKILL each process (workers hold nothing that needs a graceful end)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def worker_started(parent: int) -> None:
    """The initializer of a screening worker forked from process `parent`."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)  # not the parent's handler, inherited by the fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def _die_with_parent() -> bool:
    """prctl(PR_SET_PDEATHSIG, SIGKILL) on Linux; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_SECONDS)
        if os.getppid() != parent:
            os._exit(1)
