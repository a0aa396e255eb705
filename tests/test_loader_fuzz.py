"""Fuzzing the front end: whatever is on disk, `check_policy` answers with diagnostics, never a
crash."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import exprs, yaml_values

from cme_policy.diagnostics import render_github, render_json, render_text
from cme_policy.driver import CheckResult, check_policy
from cme_policy.expr import ast
from cme_policy.expr.printer import to_source
from cme_policy.source import yaml_nodes
from cme_policy.source.yaml_nodes import YNode, YScalar, YSeq

POLICY = Path(__file__).resolve().parent.parent / "policy"
POLICY_FILES = sorted(str(p.relative_to(POLICY)) for p in POLICY.rglob("*")
                      if p.is_file() and p.suffix in (".yaml", ".md"))
POLICY_LINES = sorted({line for name in POLICY_FILES
                       for line in (POLICY / name).read_text("utf-8").splitlines()})
MANIFEST = """title: T
school: S
local_authority: L
text: policy.md
reviewed: 2025-08-27
review_cycle: 12 months
include: [extra.yaml]
"""
TEXT = "# Policy\n\n{#only-clause} The only clause.\n"


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def _temp_dir() -> Iterator[Path]:
    """A fresh directory per example (pytest's tmp_path is shared by all of a test's examples)."""
    with tempfile.TemporaryDirectory(prefix="cme-fuzz-") as name:
        yield Path(name)


def _check(root: Path) -> CheckResult:
    """Run the driver and every renderer the CLI uses; all of them must survive the input."""
    result = check_policy(root)
    assert isinstance(result.diagnostics, list)
    for diagnostic in result.diagnostics:
        assert diagnostic.code and diagnostic.message
        render_text(diagnostic, result.sources)
        render_github(diagnostic)
    render_json(result.diagnostics)
    return result


def _write_minimal(root: Path, extra: bytes) -> None:
    (root / "policy.yaml").write_text(MANIFEST, "utf-8")
    (root / "policy.md").write_text(TEXT, "utf-8")
    (root / "extra.yaml").write_bytes(extra)


# -- random bytes ------------------------------------------------------------------------------

_YAMLISH_BYTES = st.lists(st.sampled_from([
    b"rules:", b"\n", b"  ", b"- ", b": ", b"&a ", b"*a", b"<<: ", b"!!python/name:x", b"{", b"}",
    b"[", b"]", b"'", b'"', b"\t", b"---\n", b"on: ", b"\xff", b"\xef\xbb\xbf", b"%YAML 1.1\n",
    b"x", b"1", b"2025-13-45", b"include: [", b"policy.yaml", b"#", b"?", b"|", b">", b"\x00",
]), max_size=40).map(b"".join)


@fuzz(60)
@given(st.one_of(st.binary(max_size=200), _YAMLISH_BYTES))
@example(b"\xff\xfe")
@example(b"a: &x 1\nb: *x\n")
@example(b"[" * 200)
@example(b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 80)))
def test_random_bytes_as_the_manifest(data: bytes) -> None:
    with _temp_dir() as root:
        (root / "policy.yaml").write_bytes(data)
        result = _check(root)
        assert result.errors, data  # no byte string of this size is a whole policy


@fuzz(60)
@given(st.one_of(st.binary(max_size=200), _YAMLISH_BYTES))
def test_random_bytes_as_an_included_file(data: bytes) -> None:
    with _temp_dir() as root:
        _write_minimal(root, data)
        _check(root)


# -- random YAML documents ---------------------------------------------------------------------

def _dump(value: Any) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False).encode("utf-8")


@fuzz(60)
@given(yaml_values())
def test_random_yaml_as_the_manifest(value: Any) -> None:
    with _temp_dir() as root:
        (root / "policy.yaml").write_bytes(_dump(value))
        (root / "policy.md").write_text(TEXT, "utf-8")
        _check(root)


_SECTIONS = st.sampled_from(["rules", "parameters", "procedures", "roles", "enums", "facts",
                             "events", "measures", "clauses", "scenarios", "la_profile",
                             "attendance_codes", "include"])


@fuzz(80)
@given(st.one_of(yaml_values(), st.dictionaries(_SECTIONS, yaml_values(), max_size=4)))
def test_random_yaml_as_an_included_file(value: Any) -> None:
    with _temp_dir() as root:
        _write_minimal(root, _dump(value))
        _check(root)


# -- mutated copies of the bundled policy ------------------------------------------------------

_LINE = st.one_of(st.sampled_from(POLICY_LINES), st.text(max_size=30))
_EDIT = st.tuples(st.sampled_from(["delete", "insert", "duplicate", "indent", "dedent"]),
                  st.integers(min_value=0, max_value=10**6), _LINE)


def _mutate(lines: list[str], edits: list[tuple[str, int, str]]) -> list[str]:
    out = list(lines)
    for kind, where, text in edits:
        at = where % (len(out) + 1)
        if kind == "insert" or not out:
            out.insert(at, text)
            continue
        at = min(at, len(out) - 1)
        if kind == "delete":
            del out[at]
        elif kind == "duplicate":
            out.insert(at, out[at])
        elif kind == "indent":
            out[at] = "  " + out[at]
        else:
            out[at] = out[at][2:] if out[at].startswith("  ") else out[at]
    return out


def _copy_policy(root: Path) -> Path:
    target = root / "policy"
    shutil.copytree(POLICY, target)
    return target


@fuzz(100)
@given(st.sampled_from(POLICY_FILES), st.lists(_EDIT, min_size=1, max_size=6))
def test_mutated_bundled_policy(name: str, edits: list[tuple[str, int, str]]) -> None:
    with _temp_dir() as root:
        policy = _copy_policy(root)
        path = policy / name
        lines = path.read_text("utf-8").splitlines()
        path.write_text("\n".join(_mutate(lines, edits)) + "\n", "utf-8")
        _check(policy)


@fuzz(30)
@given(st.lists(st.tuples(st.sampled_from(POLICY_FILES), st.lists(_EDIT, min_size=1, max_size=3)),
                min_size=2, max_size=4))
def test_several_mutated_files_at_once(
        changes: list[tuple[str, list[tuple[str, int, str]]]]) -> None:
    with _temp_dir() as root:
        policy = _copy_policy(root)
        for name, edits in changes:
            path = policy / name
            lines = path.read_text("utf-8").splitlines()
            path.write_text("\n".join(_mutate(lines, edits)) + "\n", "utf-8")
        _check(policy)


def test_the_bundled_policy_itself_is_clean() -> None:
    with _temp_dir() as root:
        result = _check(_copy_policy(root))
        assert not result.errors, [str(d) for d in result.errors]


@pytest.mark.parametrize("data", [
    b"include: [extra.yaml]\n",
    b"include: [policy.yaml]\n",
    b"include: ['../../../../etc/passwd']\n",
    b"include: ['.', 'sub']\n",
    b"include: ['**', '*']\n",
    b"include:\n",
    b"include: {a: b}\n",
    b"include: [1, 2.5, null, true]\n",
], ids=["self", "manifest", "outside", "directory", "glob-all", "null", "mapping", "numbers"])
def test_awkward_includes(tmp_path: Path, data: bytes) -> None:
    _write_minimal(tmp_path, data)
    (tmp_path / "sub").mkdir()
    _check(tmp_path)


# -- random expressions inside an otherwise valid policy ---------------------------------------

KNOWN_NAMES = ("unauthorised_run", "params.deletion.continuous_absence",
               "params.enquiries.joint_enquiries_deadline", "sickness_or_unavoidable_cause",
               "reason_given", "safeguarding_concern", "destination", "leaving_date", "today",
               "another_school", "home_education", "destination.unknown", "present", "params",
               "params.deletion", "headteacher", "la_notified")
_SLOTS = [("rules.yaml", "when: absence_concern\n", "when: "),
          ("rules.yaml", "within: 1 school day", "within: "),
          ("parameters.yaml", "value: 20 school days", "value: "),
          ("procedures/reasonable-enquiries.yaml",
           "within: params.enquiries.joint_enquiries_deadline", "within: "),
          ("procedures/reasonable-enquiries.yaml",
           "event: pupil_located\n            target: closed",
           "event: pupil_located\n            target: closed\n            guard: "),
          ("policy.yaml", "review_cycle: 12 months", "review_cycle: ")]


def _yaml_string(text: str) -> str:
    return yaml.safe_dump(text, width=10**6, default_style='"').strip().removesuffix("...").strip()


@fuzz(80)
@given(st.sampled_from(_SLOTS), exprs(max_leaves=12, known=KNOWN_NAMES))
def test_random_expressions_in_the_bundled_policy(slot: tuple[str, str, str],
                                                  expr: ast.Expr) -> None:
    name, old, prefix = slot
    with _temp_dir() as root:
        policy = _copy_policy(root)
        path = policy / name
        source = path.read_text("utf-8")
        assert old in source, f"{name} no longer holds {old!r}; update the fuzz slots"
        path.write_text(source.replace(old, prefix + _yaml_string(to_source(expr)), 1), "utf-8")
        _check(policy)


# -- libyaml (fast path) and PyYAML (reference) must read every file the same way -------------

def _shape(node: YNode | None) -> object:
    """A node with everything that matters downstream, spans included (equality ignores them)."""
    if node is None or isinstance(node, YScalar):
        return node and ("scalar", node.value, node.tag, node.quoted, node.span)
    if isinstance(node, YSeq):
        return ("list", node.span, tuple(_shape(i) for i in node.items))
    return ("map", node.span, tuple((e.key, e.key_span, _shape(e.value)) for e in node.entries))


def _both_ways(data: bytes) -> None:
    fast_node, fast_problems, _ = yaml_nodes.parse_yaml("f.yaml", data)
    with mock.patch.object(yaml_nodes, "_CParser", None):
        ref_node, ref_problems, _ = yaml_nodes.parse_yaml("f.yaml", data)
    assert fast_problems == ref_problems
    assert [d.span for d in fast_problems] == [d.span for d in ref_problems]
    assert _shape(fast_node) == _shape(ref_node)


@fuzz(60)
@given(st.one_of(yaml_values().map(_dump), _YAMLISH_BYTES))
@example(b"a: |\n  one\n  two\nb: >-\n  folded\n  text\n")
@example(b"? [a]\n: x\n")
@example(b"'on': 1\n\"2\": 2\n!!str 3: 3\n? |\n  k\n: v\n")
@example(b"a: !!int '5'\nb: !!map {}\nc: !!seq []\nd: !foo x\n")
@example(b"# only a comment\n")
@example(b"---\n")
@example(b"---\na: 1\n...\n")
@example(b"a: 1 # trailing\nb: [1, {c: d}, 'e']\n")
@example(b"a:\n- x\n- y\nb:\n  - z\n")
def test_fast_and_reference_yaml_agree_on_random_documents(data: bytes) -> None:
    _both_ways(data)


@fuzz(60)
@given(st.sampled_from([n for n in POLICY_FILES if n.endswith(".yaml")]),
       st.lists(_EDIT, min_size=0, max_size=6))
def test_fast_and_reference_yaml_agree_on_mutated_policy_files(
        name: str, edits: list[tuple[str, int, str]]) -> None:
    lines = (POLICY / name).read_text("utf-8").splitlines()
    _both_ways(("\n".join(_mutate(lines, edits)) + "\n").encode("utf-8"))
