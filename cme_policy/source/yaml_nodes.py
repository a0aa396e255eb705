"""Load stage, part 1: YAML text → position-carrying nodes, rejecting what YAML lets slip through.

PyYAML's plain `safe_load` forgets positions, keeps the last of two duplicate keys, expands
aliases (billion laughs) and turns the key `on:` into `True`. We compose the node graph
ourselves and refuse each of those with a diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from cme_policy.diagnostics import Diagnostic, error
from cme_policy.gc_pause import gc_paused
from cme_policy.source.span import Span

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
MERGE = "tag:yaml.org,2002:merge"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
KNOWN_TAGS = {STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, MAP, SEQ}


# The nodes are slotted dataclasses with `Final` fields rather than frozen ones: a 1 MB policy
# makes over a hundred thousand of them, and a frozen dataclass's __init__ (one
# object.__setattr__ per field) costs three times a plain one. mypy --strict still refuses any
# assignment to a field, so they stay as immutable as the IR built from them.

@dataclass(slots=True, unsafe_hash=True)
class YScalar:
    value: Final[str]
    tag: Final[str]
    span: Final[Span] = field(compare=False)
    quoted: Final[bool] = False

    @property
    def kind(self) -> str:
        return {STR: "string", INT: "integer", FLOAT: "number", BOOL: "boolean",
                NULL: "null", TIMESTAMP: "date"}.get(self.tag, "scalar")


@dataclass(slots=True, unsafe_hash=True)
class YEntry:
    key: Final[str]
    key_span: Final[Span] = field(compare=False)
    value: Final[YNode]


@dataclass(slots=True, unsafe_hash=True)
class YMap:
    entries: Final[tuple[YEntry, ...]]
    span: Final[Span] = field(compare=False)
    kind = "mapping"

    def get(self, key: str) -> YNode | None:
        for entry in self.entries:
            if entry.key == key:
                return entry.value
        return None

    def entry(self, key: str) -> YEntry | None:
        for entry in self.entries:
            if entry.key == key:
                return entry
        return None

    def keys(self) -> list[str]:
        return [e.key for e in self.entries]


@dataclass(slots=True, unsafe_hash=True)
class YSeq:
    items: Final[tuple[YNode, ...]]
    span: Final[Span] = field(compare=False)
    kind = "list"


YNode = YScalar | YMap | YSeq


class _Reject(Exception):
    """Raised inside the composer to stop at the first construct we refuse."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def span_of(path: str, node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _mark_span(path: str, mark: Any) -> Span:
    return Span.point(path, mark.line + 1, mark.column + 1)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses anchors, aliases and runaway nesting before building."""

    cme_path = "<string>"
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's signature
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            raise _Reject(error(
                "L005", f"YAML alias '*{event.anchor}' is not allowed in a policy",
                _mark_span(self.cme_path, event.start_mark),
                "write the value out in full; aliases can hide changes and expand without bound"))
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise _Reject(error(
                "L005", f"YAML anchor '&{event.anchor}' is not allowed in a policy",
                _mark_span(self.cme_path, event.start_mark),
                "write the value out in full instead of sharing it through an anchor"))
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Reject(error("L010", f"YAML nested more than {MAX_DEPTH} levels deep",
                                    _mark_span(self.cme_path, event.start_mark),
                                    "flatten the structure; no policy needs this depth"))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_yaml(path: str, data: bytes) -> tuple[YNode | None, list[Diagnostic], str]:
    """Bytes of one file → (node, diagnostics, decoded text). Node is None when anything failed."""
    if len(data) > MAX_FILE_BYTES:
        return None, [error("L001", f"file is {len(data):,} bytes, over the limit of "
                                    f"{MAX_FILE_BYTES:,} bytes", Span.point(path, 1, 1),
                            "split the policy into several files with `include:`")], ""
    text, problem = decode_utf8(path, data)
    if problem is not None:
        return None, [problem], text
    tab = _find_indent_tab(path, text) or _find_inner_bom(path, text)
    if tab is not None:
        return None, [tab], text
    fast = _read_fast(path, text)
    if fast is not None:
        return fast, [], text
    try:
        raw = _compose(path, text)
    except _Reject as rejected:
        return None, [rejected.diagnostic], text
    if raw is None:
        return YMap((), Span.point(path, 1, 1)), [], text
    try:
        return _convert(path, raw), [], text
    except _Reject as rejected:
        return None, [rejected.diagnostic], text


def decode_utf8(path: str, data: bytes) -> tuple[str, Diagnostic | None]:
    """Decode a source file; on failure, the text with U+FFFD (for the caret) and an L002."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        return data.decode("utf-8", "replace"), error(
            "L002", f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            Span.point(path, line, column),
            "save the file as UTF-8 (most editors: 'Save with encoding')")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def _find_indent_tab(path: str, text: str) -> Diagnostic | None:
    """L003: a tab outside a quoted string. YAML indents with spaces; libyaml and PyYAML's
    own scanner disagree about tabs elsewhere (after `key:`, before a comment), so a policy
    file keeps tabs to quoted strings, and every file reads the same on every install."""
    if "\t" not in text:
        return None  # the usual case, found without splitting a large file into lines
    for number, line in enumerate(text.splitlines(), start=1):
        if "\t" not in line:
            continue
        column = _unquoted_tab(line)
        if column is None:
            continue
        indent = not line[:column - 1].strip(" ")
        return error("L003", "tab character used for indentation" if indent else
                     "tab character outside a quoted string",
                     Span.point(path, number, column),
                     "YAML indents with spaces only; replace the tab with spaces" if indent else
                     "replace the tab with spaces (a tab may stand only inside quotes)")
    return None


def _find_inner_bom(path: str, text: str) -> Diagnostic | None:
    """L004: a byte-order mark after the start of the file (an editor pasting one file into
    another); libyaml and PyYAML's own reader count it differently."""
    at = text.find("\ufeff")
    if at < 0:
        return None
    before = text[:at]
    return error("L004", "YAML syntax error: a byte-order mark (U+FEFF) inside the file is not "
                 "allowed", Span.point(path, before.count("\n") + 1, at - before.rfind("\n")),
                 "remove the character; only the very start of a file may carry one")


def _unquoted_tab(line: str) -> int | None:
    """The 1-based column of the first tab outside quotes and before a comment, if any."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                if quote == "'" and line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                quote = ""
        elif c in "'\"" and (i == 0 or line[i - 1] in " \t:[{,-?"):
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return None
        elif c == "\t":
            return i + 1
        i += 1
    return None


def _compose(path: str, text: str) -> yaml.Node | None:
    try:
        loader = _StrictLoader(text)  # the reader refuses control characters right here
    except yaml.reader.ReaderError as exc:
        raise _Reject(_unprintable(path, text, exc)) from None
    loader.cme_path = path
    try:
        return loader.get_single_node()
    except _Reject:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _mark_span(path, mark) if mark is not None else Span.point(path, 1, 1)
        message = (exc.problem or exc.context or "invalid YAML").strip()
        if "expected a single document" in (exc.context or ""):
            message = "more than one YAML document in the file"
        raise _Reject(error("L004", f"YAML syntax error: {message}", span,
                            _syntax_hint(message, exc))) from None
    except yaml.YAMLError as exc:
        raise _Reject(error("L004", f"YAML syntax error: {exc}", Span.point(path, 1, 1))) from None
    except RecursionError:
        raise _Reject(error("L010", "YAML nested too deeply", Span.point(path, 1, 1))) from None
    finally:
        loader.dispose()


def _unprintable(path: str, text: str, exc: yaml.reader.ReaderError) -> Diagnostic:
    before = text[: exc.position]
    column = exc.position - (before.rfind("\n") + 1) + 1
    return error("L004", f"YAML syntax error: control character U+{exc.character:04X} is not "
                 "allowed", Span.point(path, before.count("\n") + 1, column),
                 "remove the character; YAML files hold printable text only")


def _syntax_hint(message: str, exc: yaml.MarkedYAMLError) -> str:
    opened = _unclosed(exc)
    if opened is not None:
        return opened
    if "mapping values are not allowed" in message:
        return "a value containing ': ' must be quoted, or the indentation is off"
    if "found character" in message and "cannot start any token" in message:
        return "quote the value; characters like `@`, backtick and `%` cannot start a plain scalar"
    if "more than one YAML document" in message:
        return "remove the `---` separator; one file holds one document"
    return "check indentation and quoting around this position"


def _unclosed(exc: yaml.MarkedYAMLError) -> str | None:
    """A flow collection left open is reported where YAML gave up: point back to its start."""
    context, mark = exc.context or "", exc.context_mark
    if mark is None or "flow" not in context or mark.line == getattr(exc.problem_mark, "line", -1):
        return None
    bracket = "[ … ]" if "sequence" in context else "{ … }"
    return (f"the `{bracket[0]}` opened at line {mark.line + 1}, column {mark.column + 1} "
            f"is never closed: add the `{bracket[-1]}`, or quote the value")


def _convert(path: str, node: yaml.Node) -> YNode:
    if node.tag not in KNOWN_TAGS:
        raise _Reject(error("L006", f"YAML tag '{node.tag}' is not allowed in a policy",
                            span_of(path, node), "remove the `!tag`; policies use plain values"))
    if isinstance(node, yaml.ScalarNode):
        return YScalar(node.value, node.tag, span_of(path, node), node.style in ("'", '"'))
    if isinstance(node, yaml.SequenceNode):
        return YSeq(tuple(_convert(path, item) for item in node.value), span_of(path, node))
    assert isinstance(node, yaml.MappingNode)
    return _convert_map(path, node)


def _convert_map(path: str, node: yaml.MappingNode) -> YMap:
    entries: list[YEntry] = []
    seen: dict[str, Span] = {}
    for key_node, value_node in node.value:
        key, key_span = _key(path, key_node)
        if key in seen:
            first = seen[key]
            raise _Reject(error(
                "L008", f"duplicate key '{key}' (first defined at line {first.line})", key_span,
                "YAML would silently keep only the last one; remove or rename one of them"))
        seen[key] = key_span
        entries.append(YEntry(key, key_span, _convert(path, value_node)))
    return YMap(tuple(entries), span_of(path, node))


def _key(path: str, key_node: yaml.Node) -> tuple[str, Span]:
    span = span_of(path, key_node)
    if key_node.tag == MERGE:
        raise _Reject(error("L005", "YAML merge key '<<' is not allowed in a policy", span,
                            "write the merged keys out in full"))
    if not isinstance(key_node, yaml.ScalarNode):
        kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
        raise _Reject(error("L007", f"a mapping key must be a plain string, not a {kind}",
                            span, "use a simple name as the key"))
    if key_node.tag == BOOL and key_node.style is None:
        raise _Reject(error(
            "L007", f"key '{key_node.value}' is read by YAML 1.1 as a boolean, not a string", span,
            "YAML reads on/off/yes/no as booleans: quote the key, or use `event:` "
            "for a transition's trigger"))
    if key_node.tag != STR and key_node.style is None:
        raise _Reject(error("L007",
                            f"key '{key_node.value}' is a {_kind(key_node.tag)}, not a string",
                            span, f"quote it (\"{key_node.value}\") if a string was meant"))
    return key_node.value, span


def _kind(tag: str) -> str:
    return {INT: "number", FLOAT: "number", NULL: "null", TIMESTAMP: "date"}.get(tag, "non-string")


# -- the fast path ------------------------------------------------------------------------------
# PyYAML's pure-Python scanner and the two passes above (compose, then convert) take about four
# seconds over a 1 MB policy; libyaml's events turned straight into nodes, about a tenth of that.
# The fast path only ever accepts: whatever the reference path would refuse or report, it hands
# back (None), and the file is read again by the reference path, which gives the diagnostic.
# tests/test_loader_fuzz.py holds the two paths to the same nodes and spans; where the two
# scanners disagree about what is valid (tabs between tokens, a byte-order mark inside the
# file) the file is refused before either reads it. libyaml is required, not optional, so a
# policy reads the same on every install (every PyYAML wheel carries it).

_CParser: Any = getattr(yaml, "CSafeLoader", None)
if _CParser is None:  # pragma: no cover - an install problem, not a policy one
    raise ImportError("cme-policy needs PyYAML built with libyaml (yaml.CSafeLoader is missing): "
                      "reinstall it from a wheel, `pip install --force-reinstall pyyaml`")


class _Refuse(Exception):
    """Something the reference path must see: an anchor, a tag, an odd or duplicate key …"""


def _read_fast(path: str, text: str) -> YNode | None:
    # Without a final newline libyaml puts the end of a block collection one line further down.
    if _CParser is None or not text.endswith("\n"):
        return None
    try:
        parser = _CParser(text)
    except (yaml.YAMLError, UnicodeError):
        return None
    try:
        with gc_paused():  # over a hundred thousand nodes, none of them in a cycle
            return _build(path, parser)
    except (_Refuse, yaml.YAMLError, UnicodeError):
        return None
    finally:
        parser.dispose()


class _Open:
    """A collection whose end event has not arrived yet."""

    __slots__ = ("start", "items", "key", "keys")

    def __init__(self, start: Any, is_map: bool) -> None:
        self.start = start
        self.items: list[Any] = []
        self.key: YScalar | None = None
        self.keys: set[str] | None = set() if is_map else None


def _build(path: str, parser: Any) -> YNode:
    """One file's events → its node tree.

    The loop runs once per event, some 200,000 for 1 MB, so it asks libyaml for each event once
    (no `check_event` first) and hands scalars their tag from a per-file memo.
    """
    stack: list[_Open] = []
    root: YNode | None = None
    documents = 0
    tags: dict[str, str] = {}
    get_event = parser.get_event
    while (event := get_event()) is not None:
        kind = type(event)
        if kind is ScalarEvent:
            node: YNode = _scalar(path, event, tags)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            node = _collection(path, stack.pop(), event)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or len(stack) >= MAX_DEPTH:
                raise _Refuse()
            stack.append(_Open(event, kind is MappingStartEvent))
            continue
        elif kind is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refuse()
            continue
        elif kind is AliasEvent:
            raise _Refuse()
        else:
            continue  # stream start and end, document end
        if stack:
            _add(stack[-1], node)
        else:
            root = node
    return root if root is not None else YMap((), Span.point(path, 1, 1))


_IMPLICIT: dict[str, list[tuple[str, Any]]] = yaml.SafeLoader.yaml_implicit_resolvers


def _resolve(value: str) -> str:
    """PyYAML's implicit tag of a plain scalar, without its per-call overhead: the value is tried
    against the resolvers for its first character, as `Resolver.resolve` does for SafeLoader
    (which has no path resolvers)."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return str(tag)
    return STR


def _scalar(path: str, event: Any, tags: dict[str, str]) -> YScalar:
    """A scalar event → a node. `tags` memoises `_resolve`: a policy repeats its plain values."""
    value, tag = event.value, event.tag
    if event.anchor is not None:
        raise _Refuse()
    if tag is None or tag == "!":
        if not event.implicit[0]:
            tag = STR  # quoted: a string whatever it looks like
        else:
            tag = tags.get(value)
            if tag is None:
                tag = tags[value] = _resolve(value)
    if tag not in KNOWN_TAGS:
        raise _Refuse()  # keys included, though the reference path lets a quoted one through
    start, end = event.start_mark, event.end_mark
    return YScalar(value, tag, _span(path, start.line + 1, start.column + 1, end.line + 1,
                                     end.column + 1), event.style in ("'", '"'))


def _span(path: str, line: int, column: int, end_line: int, end_column: int) -> Span:
    """`Span(…)` without the named tuple's Python-level __new__: the fast path makes one per
    node."""
    return _new_tuple(Span, (path, line, column, end_line, end_column))


_new_tuple = tuple.__new__


def _collection(path: str, opened: _Open, end_event: Any) -> YNode:
    start, end = opened.start.start_mark, end_event.end_mark
    span = _span(path, start.line + 1, start.column + 1, end.line + 1, end.column + 1)
    tag = opened.start.tag
    if opened.keys is None:
        if tag is not None and tag != "!" and tag != SEQ:
            raise _Refuse()
        return YSeq(tuple(opened.items), span)
    if tag is not None and tag != "!" and tag != MAP:
        raise _Refuse()
    return YMap(tuple(opened.items), span)


def _add(parent: _Open, node: YNode) -> None:
    if parent.keys is None:
        parent.items.append(node)
    elif parent.key is not None:
        key, parent.key = parent.key, None
        parent.items.append(YEntry(key.value, key.span, node))
    # A key the reference path would accept as it is: a plain string, or a quoted scalar.
    elif (type(node) is not YScalar or node.value in parent.keys
          or (node.tag != STR and not node.quoted)):  # on/off/yes/no, numbers, null, dates …
        raise _Refuse()
    else:
        parent.keys.add(node.value)
        parent.key = node
