"""The action list as a terminal table, CSV or JSON; files are written atomically."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from cme_policy.screening.lifetime import terminating
from cme_policy.screening.rows import FIELDS, Row

TABLE_COLUMNS = (("status", 8), ("due", 10), ("upn", 13), ("role", 18), ("id", 26),
                 ("action", 60))
HEADINGS = {"overdue": "OVERDUE", "violated": "VIOLATIONS (what the case log shows was missed)",
            "due": "DUE", "done": "DONE"}


def render(rows: Sequence[Row], fmt: str, lines: Sequence[str] | None = None) -> str:
    """The action list in `fmt`. For CSV, `lines` may hold each row's `line_renderer` text,
    made beforehand (by the screening workers, in parallel)."""
    if fmt == "csv":
        return _csv_line(FIELDS) + "".join(lines if lines is not None else map(csv_line, rows))
    if fmt == "json":
        return json.dumps([r.values() for r in rows], indent=2, ensure_ascii=False) + "\n"
    return _table(rows)


def line_renderer(fmt: str) -> Callable[[Row], str] | None:
    """What a worker can render of one row by itself: its CSV line (other formats: nothing)."""
    return csv_line if fmt == "csv" else None


def csv_line(row: Row) -> str:
    """One row as a CSV line (quoted where needed, ending in a newline)."""
    return _csv_line(row.cells())


_LINE = io.StringIO()
_WRITER = csv.writer(_LINE, lineterminator="\n")


def _csv_line(cells: Sequence[str]) -> str:
    _LINE.seek(0)
    _LINE.truncate()
    _WRITER.writerow(cells)
    return _LINE.getvalue()


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)


def _table(rows: Sequence[Row]) -> str:
    """Grouped by urgency: overdue first, then violations, due and done."""
    out: list[str] = []
    for status, heading in HEADINGS.items():
        group = [r for r in rows if r.status == status]
        if not group:
            continue
        out.append(f"{heading} ({len(group)})")
        out.append("  " + " ".join(_cell(name, width) for name, width in TABLE_COLUMNS).rstrip())
        for row in group:
            values = row.values()
            out.append("  " + " ".join(_cell(values[name], width)
                                       for name, width in TABLE_COLUMNS).rstrip())
        out.append("")
    return "\n".join(out) if out else "No CME actions are due.\n"


def write_atomically(path: Path, text: str) -> None:
    """Write the action list to `path` (`--output`); an OSError (with the file name) if it
    cannot be written.

    - A new path or a regular file is replaced atomically: the text goes to a temporary
      file in the same folder (an unnamed `O_TMPFILE` where Linux offers one, so a killed run
      leaves nothing behind), which is then renamed over the target. Readers see the old file
      or the new one, never half of it; an existing file keeps its permissions (and owner,
      where we may set it).
    - A symbolic link is followed: its target is replaced atomically, the link stays.
    - Anything else — a FIFO, a terminal, a device such as /dev/null, /dev/stdout or
      /dev/fd/N, a socket — is written through, as a shell's `>` would: it cannot be
      replaced, and replacing it would destroy it.
    """
    data = text.encode("utf-8")
    target, through = _output_target(path)
    if through:
        with open(target, "wb") as handle:
            handle.write(data)
        return
    _replace(target, data)


MAX_LINKS = 40


def _output_target(path: Path) -> tuple[Path, bool]:
    """The file to write and whether to write through it (True) or replace it (False)."""
    current = os.path.abspath(path)
    for _ in range(MAX_LINKS):
        if _special_tree(current):  # /dev/stdout, /proc/self/fd/1 …: never a rename
            return path, True
        if not os.path.islink(current):
            break
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    else:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    final = Path(os.path.realpath(current))
    try:
        mode = final.stat().st_mode
    except FileNotFoundError:
        return final, False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    return (final, False) if stat.S_ISREG(mode) else (path, True)


def _special_tree(path: str) -> bool:
    return any(path == top or path.startswith(top + "/") for top in ("/dev", "/proc"))


def _replace(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        old: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old = None
    folder = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fd, named = _temporary(target, folder)
        linked: list[str] = [named] if named else []

        def remove() -> None:  # on SIGTERM, an error or Ctrl-C: no temporary file is left
            for name in linked:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=folder)

        with terminating(remove):
            try:
                _write_all(fd, data)
                _keep_metadata(fd, old, made_private=named is not None)
                os.fsync(fd)
                if not named:  # an O_TMPFILE: give it a name beside the target, then rename
                    name = _unused_name(target)
                    # linkat(…, AT_SYMLINK_FOLLOW) of the /proc link, as linkat(2) describes
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder,
                            follow_symlinks=True)
                    linked.append(name)
                os.replace(linked[-1], target.name, src_dir_fd=folder, dst_dir_fd=folder)
                linked.clear()
            finally:
                os.close(fd)
    finally:
        os.close(folder)


def _temporary(target: Path, folder: int) -> tuple[int, str | None]:
    """(fd, None) for an unnamed O_TMPFILE in the target's folder, else (fd, its name in
    the folder)."""
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(".", tmpfile | os.O_WRONLY, 0o666, dir_fd=folder), None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    return fd, os.path.basename(name)


def _unused_name(target: Path) -> str:
    return f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _keep_metadata(fd: int, old: os.stat_result | None, made_private: bool) -> None:
    """The replaced file's permissions and owner; a new file gets the umask's permissions
    (mkstemp, `made_private`, makes it 0600; an O_TMPFILE already has them)."""
    if old is None:
        if made_private:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        return
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):  # only root may give a file away
            os.fchown(fd, old.st_uid, old.st_gid)
