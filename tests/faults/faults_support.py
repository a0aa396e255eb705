"""Running `cme-policy` in this process exactly as its entry point does (`cli.main`, with its
mapping of exceptions to exit codes), so a test sees exit 3 where a user would."""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cme_policy import cli

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "tests" / "interpret" / "policy"
DATA = REPO / "tests" / "run" / "data"
AS_OF = "2025-10-08"
INTERNAL = 3


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def internal_error(self) -> bool:
        return self.code == INTERNAL or "internal error" in self.err or "Traceback" in self.err


def cme(*args: str) -> Outcome:
    """`cme-policy ARGS` through `cli.main`; the exit code and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["cme-policy", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return Outcome(code, out.getvalue(), err.getvalue())


def copy_inputs(tmp: Path) -> tuple[Path, Path]:
    """A copy of the small policy and of its data (pupils, marks, events, calendar)."""
    policy, data = tmp / "policy", tmp / "data"
    shutil.copytree(POLICY, policy)
    shutil.copytree(DATA, data)
    return policy, data


def run_args(policy: Path, data: Path, *extra: str, as_of: str = AS_OF) -> list[str]:
    return ["run", str(policy), "--pupils", str(data / "pupils.csv"),
            "--marks", str(data / "marks.csv"), "--events", str(data / "events.csv"),
            "--calendar", str(data / "calendar.yaml"), "--as-of", as_of, *extra]
