"""Load stage: a policy directory → its manifest, every included YAML file and the policy text."""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from cme_policy.diagnostics import DiagnosticSink, SourceCache
from cme_policy.source.policy_text import TextClause, parse_policy_text
from cme_policy.source.schema import MANIFEST, SECTION_FILE, ShapeChecker, scalar_text
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import YMap, YScalar, YSeq, decode_utf8, parse_yaml

MANIFEST_NAME = "policy.yaml"
MAX_FILES = 500


@dataclass
class SourceSet:
    """Everything read from disk for one policy, in a deterministic order."""

    root: Path
    manifest: YMap
    files: list[tuple[str, YMap]] = field(default_factory=list)  # (display path, content)
    text_clauses: list[TextClause] = field(default_factory=list)
    text_path: str = ""
    hashes: dict[str, str] = field(default_factory=dict)
    roots: list[Path] = field(default_factory=list)
    """The folders the policy may name files in (resolved): its own and, for an overlay,
    its bases'. A path that leads elsewhere is an L014 error and is never read."""


def display_path(path: Path) -> str:
    """Paths in diagnostics: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def real_root(path: Path) -> Path:
    return Path(os.path.realpath(path))


def confined(path: Path, roots: list[Path]) -> bool:
    """Whether `path`, its symbolic links followed, lies inside one of `roots`."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(root) for root in roots)


def outside_error(sink: DiagnosticSink, what: str, name: str, span: Span | None,
                  overlay: bool) -> None:
    """L014: a path the policy names leads outside its folder(s); it is not read."""
    where = "the policy folder or its base's" if overlay else "the policy folder"
    reason = ("is an absolute path" if os.path.isabs(name)
              else f"leads outside {where}")
    sink.error("L014", f"{what} '{name}' {reason}", span,
               f"name files inside {where}, relative to it (a symbolic link must also point "
               "inside); copy the file in if the policy needs it")


def _until_glob(parts: tuple[str, ...]) -> list[str]:
    """The leading parts of a pattern that hold no wildcard: the folder it searches."""
    fixed: list[str] = []
    for part in parts:
        if any(ch in part for ch in "*?["):
            break
        fixed.append(part)
    return fixed


class Loader:
    def __init__(self, sink: DiagnosticSink, sources: SourceCache) -> None:
        self.sink, self.sources = sink, sources
        self.shape = ShapeChecker(sink)
        self.loaded: set[Path] = set()
        self.roots: list[Path] = []

    def load(self, root: Path) -> SourceSet | None:
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.is_file():
            self.sink.error("L009", f"no {MANIFEST_NAME} in {display_path(root)}", None,
                            "a policy directory starts with policy.yaml "
                            "(`cme-policy init` makes one)")
            return None
        manifest = self._read(manifest_path)
        if manifest is None:
            return None
        result = SourceSet(root, manifest)
        result.roots = [real_root(root)]
        extends = scalar_text(manifest.get("extends"))
        if extends is not None and (root / extends / MANIFEST_NAME).is_file():  # a base
            result.roots.append(real_root(root / extends))
        self.roots = result.roots
        result.hashes[display_path(manifest_path)] = self._hash(manifest_path)
        self.shape.check(manifest, MANIFEST, MANIFEST_NAME)
        result.files.append((display_path(manifest_path), manifest))
        self._includes(manifest_path, manifest, result, [manifest_path.resolve()])
        self._text(root, manifest, result)
        return result

    def _read(self, path: Path) -> YMap | None:
        shown = display_path(path)
        try:
            if path.exists() and not path.is_file():  # a FIFO would block the check for ever
                raise OSError(0, "not a regular file")
            data = path.read_bytes()
        except OSError as exc:
            self.sink.error("L011", f"cannot read {shown}: {exc.strerror}",
                            Span.point(shown, 1, 1),
                            "policy files are regular files that the checker may read")
            return None
        node, problems, text = parse_yaml(shown, data)
        self.sources.remember(shown, text)
        self.sink.extend(problems)
        if node is None:
            return None
        if not isinstance(node, YMap):
            self.sink.error("S004", f"{shown} must hold a mapping of sections, not a {node.kind}",
                            node.span, "start the file with a key such as `rules:`")
            return None
        return node

    @staticmethod
    def _hash(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def _includes(self, path: Path, node: YMap, result: SourceSet, chain: list[Path]) -> None:
        include = node.get("include")
        if not isinstance(include, YSeq):
            return
        for item in include.items:
            if isinstance(item, YScalar):
                for target in self._expand(path, item):
                    self._include_one(target, item, result, chain)

    def _escapes(self, name: str, path: Path) -> bool:
        return os.path.isabs(name) or not confined(path, self.roots)

    def _outside(self, what: str, name: str, span: Span | None) -> None:
        outside_error(self.sink, what, name, span, len(self.roots) > 1)

    def _expand(self, path: Path, item: YScalar) -> list[Path]:
        pattern = str(path.parent / item.value)
        if any(ch in item.value for ch in "*?["):
            fixed = _until_glob(Path(item.value).parts)
            if self._escapes(item.value, path.parent.joinpath(*fixed)):
                self._outside("include pattern", item.value, item.span)
                return []
            matches = sorted(Path(p) for p in glob.glob(pattern))
            if not matches:
                self.sink.warning("L013", f"include pattern '{item.value}' matches no file",
                                  item.span, "check the path, relative to this file")
            inside = [m for m in matches if confined(m, self.roots)]
            for match in matches:
                if match not in inside:  # a symbolic link out of the folder
                    self._outside("included file", display_path(match), item.span)
            return inside
        target = Path(pattern)
        if self._escapes(item.value, target):
            self._outside("included file", item.value, item.span)
            return []
        if not target.is_file():
            self.sink.error("L011", f"included file '{item.value}' does not exist", item.span,
                            "include paths are relative to the file that includes them")
            return []
        return [target]

    def _include_one(self, target: Path, item: YScalar, result: SourceSet,
                     chain: list[Path]) -> None:
        real = target.resolve()
        if real in chain:
            cycle = " → ".join(display_path(p) for p in chain[chain.index(real):] + [real])
            self.sink.error("L012", f"include cycle: {cycle}", item.span,
                            "remove one of the includes so that no file includes itself")
            return
        if real in self.loaded or len(self.loaded) >= MAX_FILES:
            return
        self.loaded.add(real)
        node = self._read(target)
        if node is None:
            return
        result.hashes[display_path(target)] = self._hash(target)
        self.shape.check(node, SECTION_FILE, display_path(target))
        result.files.append((display_path(target), node))
        self._includes(target, node, result, chain + [real])

    def _text(self, root: Path, manifest: YMap, result: SourceSet) -> None:
        name = scalar_text(manifest.get("text"))
        if name is None:
            return
        path = root / name
        shown = display_path(path)
        node = manifest.get("text")
        if self._escapes(name, path):
            self._outside("policy text", name, node.span if node else None)
            return
        try:
            if not path.is_file():  # a folder, a FIFO that would never end …
                raise FileNotFoundError(name)
            data = path.read_bytes()
        except OSError:
            self.sink.error("L011", f"policy text '{name}' does not exist",
                            node.span if node else None, "`text:` names the Markdown file "
                            "holding the policy's words, relative to policy.yaml")
            return
        text, problem = decode_utf8(shown, data)
        self.sources.remember(shown, text)
        if problem is not None:
            self.sink.add(problem)
            return
        result.text_path = shown
        result.hashes[shown] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        result.text_clauses = parse_policy_text(shown, text, self.sink)
