"""Overlay stage: a policy that `extends:` another is merged into it, node by node.

The merge works on the YAML nodes, before the IR is built, so every merged value keeps the
span of the file it was written in: a base rule whose `when:` an overlay replaced reports
type errors in the overlay, and the rest of it in the base.

An overlay (see docs/overlays.md):

- adds parameters, rules, roles, procedures … in the ordinary sections; an id the base
  already defines is an N002 error naming both files;
- changes base items only under `override:`, by id: each key given replaces the base's
  key (`value:` of a parameter, `when:`/`then:` of a rule, `holder:` of a role …);
  `remove: true` drops the item (rules, procedures, states, invariants); a state's
  `add_transitions:` adds transitions to it; inside an overridden procedure, `states:` and
  `invariants:` with new ids add them; `override: la_profile: entries:` adds or changes
  entries;
- replaces a base clause's words by giving the same `{#id}` in its own policy text and
  saying `replaces_base: true` for it under `clauses:`.

The overlay's manifest wins (title, school, LA, dates); the base's scenarios are not
inherited (the overlay's scenarios test the merged policy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cme_policy.diagnostics import DiagnosticSink, SourceCache
from cme_policy.source.loader import Loader, SourceSet, display_path
from cme_policy.source.policy_text import TextClause
from cme_policy.source.schema import (
    INVARIANT,
    LA_ENTRY,
    STATE,
    Schema,
    ShapeChecker,
    scalar_text,
)
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import STR, YEntry, YMap, YNode, YScalar, YSeq

MAX_DEPTH = 10  # bases of bases


@dataclass(frozen=True)
class Removal:
    """A base item an overlay removed with `remove: true`."""

    kind: str  # "rule" | "procedure" | "state" | "invariant"
    owner: str | None  # the procedure of a state or invariant
    id: str
    span: Span


@dataclass
class Loaded:
    """The merged sources of a policy and, for an overlay, the sources of its base."""

    sources: SourceSet
    base: SourceSet | None = None
    removals: list[Removal] = field(default_factory=list)
    # (kind, id) → the override's node: ("parameter", "group.name"), ("rule", id),
    # ("state", "procedure.state"), ("invariant", "procedure.invariant") …
    overrides: dict[tuple[str, str], YMap] = field(default_factory=dict)
    calendar_inherited: bool = False
    """The overlay names no calendar of its own, so it runs on the base's term dates."""


def load_sources(root: Path, sink: DiagnosticSink, cache: SourceCache) -> Loaded | None:
    return _load(root, sink, cache, [])


def _load(root: Path, sink: DiagnosticSink, cache: SourceCache,
          chain: list[Path]) -> Loaded | None:
    sources = Loader(sink, cache).load(root)
    if sources is None:
        return None
    node = sources.manifest.get("extends")
    extends = scalar_text(node)
    if extends is None or node is None:
        _no_base(sources, sink)
        return Loaded(sources)
    real = root.resolve()
    base_root = root / extends
    if not (base_root / "policy.yaml").is_file():
        sink.error("O006", f"the base policy '{extends}' has no policy.yaml "
                   f"({display_path(base_root)})", node.span,
                   "`extends:` is a policy directory relative to this policy.yaml, e.g. "
                   "`../../policy`")
        return None
    base_real = base_root.resolve()
    seen = chain + [real]
    if base_real in seen or len(seen) > MAX_DEPTH:
        cycle = " → ".join(display_path(p) for p in seen[seen.index(base_real):] + [base_real]) \
            if base_real in seen else "more than 10 levels"
        sink.error("O006", f"extends cycle: {cycle}", node.span,
                   "a policy cannot extend itself, directly or through its bases")
        return None
    base = _load(base_root, sink, cache, seen)
    if base is None:
        return None
    merger = _Merger(sink, base.sources, sources, base_root, root)
    merged = merger.merge()
    return Loaded(merged, base.sources, merger.removals, merger.overrides,
                  merger.calendar_inherited)


def _no_base(sources: SourceSet, sink: DiagnosticSink) -> None:
    """`override:` and `replaces_base:` mean nothing in a policy that extends no base."""
    for _, node in sources.files:
        entry = node.entry("override")
        if entry is not None:
            sink.error("O005", "`override:` changes a base policy, but this policy has no "
                       "`extends:`", entry.key_span,
                       "add `extends: <base policy directory>` to policy.yaml, or move the "
                       "items into the ordinary sections")
        clauses = node.get("clauses")
        for clause in clauses.entries if isinstance(clauses, YMap) else ():
            if isinstance(clause.value, YMap) and _flag(clause.value, "replaces_base"):
                sink.error("O005", f"clause '{clause.key}' is marked `replaces_base`, but this "
                           "policy has no `extends:`", clause.key_span,
                           "remove `replaces_base: true`, or add `extends:` to policy.yaml")


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _with(node: YMap, key: str, value: YNode | None) -> YMap:
    """`node` with `key` set to `value` (kept in place, or appended), or removed if None."""
    entries: list[YEntry] = []
    found = False
    for entry in node.entries:
        if entry.key == key:
            found = True
            if value is not None:
                entries.append(YEntry(key, entry.key_span, value))
        else:
            entries.append(entry)
    if not found and value is not None:
        entries.append(YEntry(key, value.span, value))
    return YMap(tuple(entries), node.span)


def _open_keys(kind: str, over: YMap) -> bool:
    """The only changes an overlay may make to an item of the law layer: a parameter's value
    (judged by its uses: a deadline may be shortened, O001/O015) and its source, and the role
    that records one of the law's events."""
    keys = {e.key for e in over.entries}
    allowed = {"parameter": {"value", "source"}, "event": {"role"}}.get(kind, set())
    return bool(keys) and keys <= allowed


def _flag(node: YMap, key: str) -> bool:
    value = node.get(key)
    return isinstance(value, YScalar) and value.value.lower() == "true"


class _Merger:
    def __init__(self, sink: DiagnosticSink, base: SourceSet, overlay: SourceSet,
                 base_root: Path, root: Path) -> None:
        self.sink, self.base, self.overlay = sink, base, overlay
        self.base_root, self.root = base_root, root
        self.shape = ShapeChecker(sink)
        self.removals: list[Removal] = []
        self.overrides: dict[tuple[str, str], YMap] = {}
        self.calendar_inherited = False
        # the base's files, without scenarios, as a mutable list we patch in place
        self.files: list[tuple[str, YMap]] = [(p, _with(n, "scenarios", None))
                                              for p, n in base.files]

    def merge(self) -> SourceSet:
        for path, node in self.overlay.files:
            if _flag(node, "law"):
                law = node.get("law")
                self.sink.error("O015", f"{path} says `law: true`, but the law layer is the "
                                "base policy's: an overlay adds the school's practice, never law",
                                law.span if law is not None else node.span,
                                "remove `law: true`; what the statute says lives in the base")
        replaced = self._replaced_clauses()
        for _, node in self.overlay.files:
            override = node.get("override")
            if isinstance(override, YMap):
                self._override(override)
        out = SourceSet(self.root, self._manifest())
        out.files = self.files + self.overlay.files
        out.text_clauses = self._text(replaced)
        out.text_path = self.overlay.text_path or self.base.text_path
        out.hashes = {**self.base.hashes, **self.overlay.hashes}
        out.roots = list(dict.fromkeys(self.overlay.roots + self.base.roots))  # L014
        return out

    # -- manifest and text -------------------------------------------------------------------
    def _manifest(self) -> YMap:
        manifest = self.overlay.manifest
        base_calendar = scalar_text(self.base.manifest.get("calendar"))
        if manifest.get("calendar") is None and base_calendar is not None:
            self.calendar_inherited = True
            path = _relative(self.base_root / base_calendar, self.root)
            manifest = _with(manifest, "calendar", YScalar(path, STR, manifest.span))
        return manifest

    def _replaced_clauses(self) -> dict[str, Span]:
        """Clause ids the overlay marks `replaces_base: true`; drops the base's metadata."""
        base_ids = {c.id for c in self.base.text_clauses}
        replaced: dict[str, Span] = {}
        for _, node in self.overlay.files:
            clauses = node.get("clauses")
            if not isinstance(clauses, YMap):
                continue
            for entry in clauses.entries:
                if isinstance(entry.value, YMap) and _flag(entry.value, "replaces_base"):
                    if entry.key in base_ids:
                        replaced[entry.key] = entry.key_span
                    else:
                        self.sink.error("O005", f"clause '{entry.key}' is marked "
                                        "`replaces_base`, but the base policy has no such clause",
                                        entry.key_span, "check the {#id} in the base policy text")
        for index, (path, node) in enumerate(self.files):
            clauses = node.get("clauses")
            if isinstance(clauses, YMap) and any(e.key in replaced for e in clauses.entries):
                kept = YMap(tuple(e for e in clauses.entries if e.key not in replaced),
                            clauses.span)
                self.files[index] = (path, _with(node, "clauses", kept))
        return replaced

    def _text(self, replaced: dict[str, Span]) -> list[TextClause]:
        own = {c.id: c for c in self.overlay.text_clauses}
        out: list[TextClause] = []
        for clause in self.base.text_clauses:
            mine = own.pop(clause.id, None)
            if mine is None:
                if clause.id in replaced:
                    self.sink.error("O007", f"clause '{clause.id}' is marked `replaces_base` but "
                                    f"{self.overlay.text_path or 'the policy text'} has no "
                                    f"{{#{clause.id}}} clause", replaced[clause.id],
                                    "write the school's own words for the clause in the "
                                    "overlay's policy text, starting with the {#id} marker")
                out.append(clause)
            elif clause.id in replaced:
                out.append(mine)
            else:
                self.sink.error("N002", f"clause '{clause.id}' is defined twice (first at "
                                f"{clause.span})", mine.span,
                                f"to replace the base's words, add `clauses: {clause.id}: "
                                "{replaces_base: true}` to the overlay")
                out.append(clause)
        return out + list(own.values())

    # -- override: ---------------------------------------------------------------------------
    def _override(self, override: YMap) -> None:
        for entry in override.entries:
            if entry.key == "parameters" and isinstance(entry.value, YMap):
                for group in entry.value.entries:
                    if isinstance(group.value, YMap):
                        for item in group.value.entries:
                            self._item(("parameters", group.key), item,
                                       f"parameter 'params.{group.key}.{item.key}'")
            elif entry.key == "la_profile" and isinstance(entry.value, YMap):
                self._la_profile(entry.value, entry.key_span)
            elif isinstance(entry.value, YMap):
                for item in entry.value.entries:
                    self._item((entry.key,), item, f"{entry.key[:-1]} '{item.key}'")

    def _find(self, path: tuple[str, ...], key: str) -> tuple[int, YMap] | None:
        for index, (_, node) in enumerate(self.files):
            section: YNode | None = node
            for part in path:
                section = section.get(part) if isinstance(section, YMap) else None
            if isinstance(section, YMap) and isinstance(section.get(key), YMap):
                return index, node
        return None

    def _item(self, path: tuple[str, ...], item: YEntry, what: str) -> None:
        if not isinstance(item.value, YMap):
            return
        found = self._find(path, item.key)
        if found is None:
            self.sink.error("O005", f"override of {what}, which the base policy does not "
                            "define", item.key_span,
                            "check the id in the base; to add a new item, put it in the ordinary "
                            "section instead of under `override:`")
            return
        index, node = found
        kind_name = "parameter" if path[0] == "parameters" else path[0][:-1]
        if _flag(node, "law") and not _open_keys(kind_name, item.value):
            self.sink.error("O015", f"{what} is defined by the law layer "
                            f"({self.files[index][0]}), which an overlay may use but not "
                            "override or remove", item.key_span,
                            "add the school's practice as its own item (a rule, a parameter, an "
                            "event) beside the law's; a deadline the law sets may only be "
                            "shortened (`value:`), and who records a law's event changed "
                            "(`role:`)")
            return
        self.overrides[(kind_name, ".".join(path[1:] + (item.key,)))] = item.value
        section = node
        chain: list[YMap] = [node]
        for part in path:
            nxt = section.get(part)
            assert isinstance(nxt, YMap)
            chain.append(nxt)
            section = nxt
        base_item = section.get(item.key)
        assert isinstance(base_item, YMap)
        if _flag(item.value, "remove"):
            kind = {"rules": "rule", "procedures": "procedure"}.get(path[0])
            if kind is None:
                self.sink.error("O005", f"{what} cannot be removed", item.key_span,
                                "`remove: true` is for rules, procedures, states and invariants")
                return
            self.removals.append(Removal(kind, None, item.key, item.value.span))
            new_section = _with(section, item.key, None)
        else:
            merged = (self._procedure(item.key, base_item, item.value) if path == ("procedures",)
                      else self._fields(base_item, item.value))
            new_section = _with(section, item.key, merged)
        # rebuild the chain of mappings up to the file node
        for depth in range(len(path) - 1, -1, -1):
            new_section = _with(chain[depth], path[depth], new_section)
        self.files[index] = (self.files[index][0], new_section)

    @staticmethod
    def _fields(base: YMap, over: YMap, skip: tuple[str, ...] = ("remove",)) -> YMap:
        out = base
        for entry in over.entries:
            if entry.key not in skip:
                out = _with(out, entry.key, entry.value)
        return out

    def _procedure(self, proc: str, base: YMap, over: YMap) -> YMap:
        out = self._fields(base, over, ("remove", "states", "invariants"))
        out = _with(out, "states", self._nested(proc, "state", base.get("states"),
                                                over.get("states"), STATE))
        invariants = self._nested(proc, "invariant", base.get("invariants"),
                                  over.get("invariants"), INVARIANT)
        return _with(out, "invariants", invariants if invariants.entries or
                     base.get("invariants") is not None else None)

    def _nested(self, proc: str, kind: str, base: YNode | None, over: YNode | None,
                schema: Schema) -> YMap:
        """States or invariants of an overridden procedure: change, remove or add by id."""
        out = base if isinstance(base, YMap) else YMap((), over.span if over else Span.point(
            "<policy>", 1, 1))
        if not isinstance(over, YMap):
            return out
        for entry in over.entries:
            if not isinstance(entry.value, YMap):
                continue
            current = out.get(entry.key)
            if isinstance(current, YMap):
                self.overrides[(kind, f"{proc}.{entry.key}")] = entry.value
                if _flag(entry.value, "remove"):
                    self.removals.append(Removal(kind, proc, entry.key, entry.value.span))
                    out = _with(out, entry.key, None)
                    continue
                merged = self._fields(current, entry.value, ("remove", "add_transitions"))
                added = entry.value.get("add_transitions")
                if isinstance(added, YSeq):
                    old = merged.get("transitions")
                    items = (old.items if isinstance(old, YSeq) else ()) + added.items
                    merged = _with(merged, "transitions", YSeq(items, added.span))
                out = _with(out, entry.key, merged)
            elif _flag(entry.value, "remove") or entry.value.get("add_transitions") is not None:
                self.sink.error("O005", f"{kind} '{entry.key}' of procedure '{proc}' is not in "
                                "the base policy", entry.key_span,
                                f"check the {kind} id; a new {kind} is written in full")
            else:  # a new state or invariant: it must be complete
                self.shape.check(entry.value, schema, f"'{entry.key}'")
                out = YMap(out.entries + (entry,), out.span)
        return out

    def _la_profile(self, over: YMap, span: Span) -> None:
        found = next(((i, n) for i, (_, n) in enumerate(self.files)
                      if isinstance(n.get("la_profile"), YMap)), None)
        if found is None:
            self.sink.error("O005", "override of la_profile, which the base policy does not "
                            "define", span, "write `la_profile:` as an ordinary section instead")
            return
        index, node = found
        base = node.get("la_profile")
        assert isinstance(base, YMap)
        merged = self._fields(base, over, ("entries",))
        entries = base.get("entries")
        entries = entries if isinstance(entries, YMap) else YMap((), base.span)
        over_entries = over.get("entries")
        for entry in over_entries.entries if isinstance(over_entries, YMap) else ():
            if not isinstance(entry.value, YMap):
                continue
            current = entries.get(entry.key)
            if isinstance(current, YMap):
                entries = _with(entries, entry.key, self._fields(current, entry.value))
            else:
                self.shape.check(entry.value, LA_ENTRY, f"'{entry.key}'")
                entries = YMap(entries.entries + (entry,), entries.span)
        merged = _with(merged, "entries", entries)
        self.files[index] = (self.files[index][0], _with(node, "la_profile", merged))
