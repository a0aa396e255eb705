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


def display_path(path: Path) -> str:
    """Paths in diagnostics: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class Loader:
    def __init__(self, sink: DiagnosticSink, sources: SourceCache) -> None:
        self.sink, self.sources = sink, sources
        self.shape = ShapeChecker(sink)
        self.loaded: set[Path] = set()

    def load(self, root: Path) -> SourceSet | None:
        manifest_path = root / MANIFEST_NAME
        if not manifest_path.is_file():
            self.sink.error("L009", f"no {MANIFEST_NAME} in {display_path(root)}", None,
                            "a policy directory starts with policy.yaml (`cme-policy init` makes one)")
            return None
        manifest = self._read(manifest_path)
        if manifest is None:
            return None
        result = SourceSet(root, manifest)
        result.hashes[display_path(manifest_path)] = self._hash(manifest_path)
        self.shape.check(manifest, MANIFEST, MANIFEST_NAME)
        result.files.append((display_path(manifest_path), manifest))
        self._includes(manifest_path, manifest, result, [manifest_path.resolve()])
        self._text(root, manifest, result)
        return result

    def _read(self, path: Path) -> YMap | None:
        shown = display_path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.sink.error("L011", f"cannot read {shown}: {exc.strerror}", Span.point(shown, 1, 1))
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

    def _expand(self, path: Path, item: YScalar) -> list[Path]:
        pattern = str(path.parent / item.value)
        if any(ch in item.value for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(pattern))
            if not matches:
                self.sink.warning("L013", f"include pattern '{item.value}' matches no file",
                                  item.span, "check the path, relative to this file")
            return matches
        target = Path(pattern)
        if not target.is_file():
            self.sink.error("L011", f"included file '{item.value}' does not exist", item.span,
                            "include paths are relative to the file that includes them")
            return []
        return [target]

    def _include_one(self, target: Path, item: YScalar, result: SourceSet, chain: list[Path]) -> None:
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
        try:
            data = path.read_bytes()
        except OSError:
            node = manifest.get("text")
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
