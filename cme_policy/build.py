"""Build stage driver: a checked policy → every backend's files under the output directory.

Each backend is a function (policy, source label) → {path relative to the output root: text}
and owns the top-level entries it lists in `owns`; `build` replaces exactly those (and
`MANIFEST.json`) and leaves everything else in the output directory alone, so backends added
later (docs, diagrams) get their own subdirectories. Writes are all-or-nothing: the whole output
directory is generated beside the target first, then swapped in with one rename (`write`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import difflib
import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: builds are not locked
    fcntl = None  # type: ignore[assignment]

from cme_policy.backends import diagrams as diagrams_backend
from cme_policy.backends import docs as docs_backend
from cme_policy.backends import python as python_backend
from cme_policy.backends import schema as schema_backend
from cme_policy.ir.model import Policy

MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class Backend:
    name: str
    owns: str  # the top-level directory of the output it manages
    generate: Callable[[Policy, str], dict[str, str]]


BACKENDS: tuple[Backend, ...] = (
    Backend("python", "python", python_backend.generate),
    Backend("docs", "docs", docs_backend.generate),
    Backend("diagrams", "diagrams", diagrams_backend.generate),
    Backend("schema", "schema", schema_backend.generate),
)


def render(policy: Policy, source: str,
           since: docs_backend.ChangesSince | None = None) -> dict[str, str]:
    """Every generated file, plus the manifest of their hashes and the policy's sources;
    `since` adds "Changes since the last review" to the handbook."""
    files: dict[str, str] = {}
    for backend in BACKENDS:
        output = (docs_backend.generate(policy, source, since=since)
                  if backend.name == "docs" and since is not None
                  else backend.generate(policy, source))
        for path, text in output.items():
            if not path.startswith(backend.owns + "/") or path in files:
                raise python_backend.CodegenError(f"backend {backend.name} wrote {path!r}")
            files[path] = text
    files[MANIFEST] = _manifest(policy, source, files)
    return dict(sorted(files.items()))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _manifest(policy: Policy, source: str, files: dict[str, str]) -> str:
    data = {
        "generator": "cme-policy",
        "source": python_backend.header_text(source),
        "policy_files": {f.path: f.sha256 for f in sorted(policy.files, key=lambda f: f.path)},
        "generated_files": {path: _sha(text) for path, text in sorted(files.items())},
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def _managed() -> list[str]:
    return [b.owns for b in BACKENDS] + [MANIFEST]


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


class BuildError(Exception):
    """The output cannot be written: a read-only or full disk, another build holding it …"""


LOCK_SECONDS = 120.0
"""How long a build waits for another build of the same output to finish."""


def write(out: Path, files: dict[str, str],
          finish: Callable[[Path], None] | None = None) -> None:
    """Replace the managed entries of `out` with `files`, all or nothing.

    The whole new output is written into a sibling folder, `.<out>.build-XXXX`, with every
    entry of `out` that no backend owns carried over (hard-linked), and then swapped with
    `out` in one step: `renameat2(RENAME_EXCHANGE)` on Linux, so `out` is at every instant
    either wholly the old output or wholly the new one. Where the exchange is not available
    it takes two renames (`out` aside to `.<out>.old-XXXX`, the new folder in): a crash
    between them leaves no `out` for an instant, and the next build puts the old one back
    before it starts. Whatever a killed build leaves beside `out` is removed by the next.
    Builds of the same output wait for each other (a lock on the parent folder).
    `finish` runs on the new folder just before the swap (the PDF is printed there), so what
    it writes is swapped in with the rest.
    """
    out = _real(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _recover(out)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
        try:
            _write_tree(stage, files)
            if out.is_dir():
                _carry_unmanaged(out, stage)
                os.chmod(stage, stat.S_IMODE(out.stat().st_mode))
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(stage, 0o777 & ~umask)
            if finish is not None:
                finish(stage)
            _swap(stage, out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)  # after the swap: the old output


def _real(out: Path) -> Path:
    """`out` with its symbolic links resolved: a link to the output folder stays a link."""
    return Path(os.path.realpath(out))


def leftovers(out: Path) -> list[Path]:
    """What killed builds of `out` left beside it (`.<out>.build-*`, `.<out>.old-*`)."""
    parent = out.parent
    if not parent.is_dir():
        return []
    return sorted(p for kind in ("build", "old") for p in parent.glob(f".{out.name}.{kind}-*"))


def _recover(out: Path) -> None:
    """Undo a build killed between the two renames of `_swap`'s fallback (the old output is
    put back), then remove what killed builds left."""
    aside = [p for p in leftovers(out) if p.name.startswith(f".{out.name}.old-") and p.is_dir()]
    if not out.exists() and aside:
        os.rename(max(aside, key=lambda p: p.stat().st_mtime), out)
    for path in leftovers(out):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _carry_unmanaged(out: Path, stage: Path) -> None:
    """Entries of `out` that no backend owns, hard-linked (or copied) into the new output."""
    managed = set(_managed())
    for entry in sorted(out.iterdir()):
        if entry.name in managed:
            continue
        target = stage / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(entry), str(target))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _swap(stage: Path, out: Path) -> None:
    """Put `stage` at `out`; afterwards `stage` holds the old output, if there was one."""
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):
        return
    aside = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    os.rename(out, aside)
    os.rename(stage, out)  # a crash before this line: the next build restores `aside`
    os.rename(aside, stage)


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not supported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on `out`'s parent folder (flock), waiting up to LOCK_SECONDS
    for another build of it; a BuildError when it does not come free."""
    if fcntl is None:
        yield
        return
    fd = os.open(out.parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    message = (f"another `cme-policy build` has been writing beside {out} "
                               f"for {LOCK_SECONDS:.0f} s (its lock on {out.parent} is held); "
                               "try again when it has finished")
                    raise BuildError(message) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _is_cache(rel: Path) -> bool:
    """Tool caches (__pycache__, .ruff_cache, .mypy_cache …) are not output, nor stale."""
    return any(part == "__pycache__" or part.startswith(".") for part in rel.parts) or \
        rel.suffix == ".pyc"


def read_existing(out: Path) -> dict[str, str]:
    """The managed files currently under `out`; bytes that are not UTF-8 show up in the diff."""
    found: dict[str, str] = {}
    for name in _managed():
        path = out / name
        if path.is_file():
            found[name] = path.read_text(encoding="utf-8", errors="replace")
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(out)
                if f.is_file() and not _is_cache(rel):
                    found[rel.as_posix()] = f.read_text(encoding="utf-8", errors="replace")
    return found


@dataclass(frozen=True)
class Staleness:
    stale: list[str]
    missing: list[str]
    extra: list[str]
    diff: str

    @property
    def ok(self) -> bool:
        return not (self.stale or self.missing or self.extra)


def compare(out: Path, files: dict[str, str]) -> Staleness:
    """How `out` differs from freshly generated `files`, with a unified diff."""
    beside = out.parent.is_dir() and os.access(out.parent, os.W_OK)  # else: a read-only tree
    with tempfile.TemporaryDirectory(prefix=".check-", dir=out.parent if beside
                                     else None) as tmp:
        _write_tree(Path(tmp), files)  # regenerate into a temp dir, as `--check` promises
        fresh = read_existing(Path(tmp))
    existing = read_existing(out)
    stale = sorted(p for p in fresh if p in existing and existing[p] != fresh[p])
    missing = sorted(p for p in fresh if p not in existing)
    extra = sorted(p for p in existing if p not in fresh)
    chunks: list[str] = []
    for path in sorted(set(stale) | set(missing) | set(extra)):
        chunks += difflib.unified_diff(
            existing.get(path, "").splitlines(keepends=True),
            fresh.get(path, "").splitlines(keepends=True),
            fromfile=f"{out.as_posix()}/{path}", tofile=f"{path} (regenerated)")
    return Staleness(stale, missing, extra, "".join(chunks))


def _unsafe_out(out: Path, directory: Path) -> str | None:
    """Why `out` cannot be swapped whole (it holds the policy or the current folder), or None."""
    real = _real(out)
    for inside, what in ((Path.cwd(), "the current folder"), (directory, "the policy")):
        if Path(os.path.realpath(inside)).is_relative_to(real):
            return (f"the output folder holds {what}; --out must be a folder of its own, "
                    "which every build replaces whole")
    return None


def source_label(directory: Path) -> str:
    """The policy directory as the header names it: posix, with one trailing slash, so
    `build policy` and `build policy/` write the same bytes."""
    return directory.as_posix().rstrip("/") + "/"


def run_build(policy: Policy, directory: Path, out: Path, check_only: bool,
              echo: Callable[[str], None],
              since: docs_backend.ChangesSince | None = None) -> int:
    """`cme-policy build [--check]` after a clean check: 0 written or up to date, 1 otherwise."""
    try:
        files = render(policy, source_label(directory), since)
    except python_backend.CodegenError as exc:
        echo(f"{directory}: error: {exc}")
        return 1
    if not check_only:
        refused = _unsafe_out(out, directory)
        if refused:
            echo(f"{out.as_posix()}: error: {refused}")
            return 1
        printed: list[str] = []

        def print_pdf(stage: Path) -> None:  # not checked output: a PDF is not reproducible
            (stage / docs_backend.PACK_PDF).unlink(missing_ok=True)  # a link to the old one
            printed.append(docs_backend.print_pdf(stage, shown_as=out))
        try:
            write(out, files, print_pdf)
        except BuildError as exc:
            echo(f"{out.as_posix()}: error: {exc}")
            return 1
        except OSError as exc:  # a read-only folder, a full disk …: nothing was changed
            where = exc.filename if exc.filename else out.as_posix()
            echo(f"{where}: error: cannot write the build: {exc.strerror or exc}")
            echo(f"{out.as_posix()} was left as it was")
            return 1
        echo(f"{out.as_posix()}: wrote {len(files)} file(s) from {source_label(directory)}")
        for line in printed:
            echo(line)
        return 0
    found = compare(out, files)
    if found.ok:
        echo(f"{out.as_posix()}: up to date ({len(files)} file(s))")
        return 0
    for label, paths in (("stale", found.stale), ("missing", found.missing),
                         ("extra", found.extra)):
        for path in paths:
            echo(f"{label}: {out.as_posix()}/{path}")
    echo(found.diff.rstrip("\n"))
    echo(f"{out.as_posix()} is out of date with {source_label(directory)}; "
         "run `cme-policy build` and commit the result")
    return 1
