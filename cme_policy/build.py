"""Build stage driver: a checked policy → every backend's files under the output directory.

Each backend is a function (policy, source label) → {path relative to the output root: text}
and owns the top-level entries it lists in `owns`; `build` replaces exactly those (and
`MANIFEST.json`) and leaves everything else in the output directory alone, so backends added
later (docs, diagrams) get their own subdirectories. Writes are all-or-nothing: everything is
generated into a temporary directory beside the target first, then swapped in with renames.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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


def write(out: Path, files: dict[str, str]) -> None:
    """Replace the managed entries of `out` with `files`: generate beside it, then rename.

    Each managed entry is swapped with two renames (old aside, new in); a crash before the
    swaps leaves the old output untouched, and the aside copies are removed only after.
    """
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    aside = Path(tempfile.mkdtemp(prefix=".old-", dir=out))
    try:
        _write_tree(stage, files)
        for name in _managed():
            if (out / name).exists():
                os.replace(out / name, aside / name)
            if (stage / name).exists():
                os.replace(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)


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
    with tempfile.TemporaryDirectory(prefix=".check-", dir=out.parent if out.parent.exists()
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
        write(out, files)
        echo(f"{out.as_posix()}: wrote {len(files)} file(s) from {source_label(directory)}")
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
