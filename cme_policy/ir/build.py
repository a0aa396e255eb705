"""Parse stage: validated YAML nodes → the policy IR, with every expression parsed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.parser import ExprSyntaxError, parse_expr
from cme_policy.ir import model as m
from cme_policy.source.loader import SourceSet
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import NULL, YMap, YNode, YScalar, YSeq

T = TypeVar("T")


class Builder:
    """Builds one Policy from all the files of a SourceSet, reporting ids defined twice."""

    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink
        self.defined: dict[tuple[str, str], Span] = {}

    # -- scalars -------------------------------------------------------------------------
    def text(self, node: YMap, key: str) -> str | None:
        value = node.get(key)
        return value.value if isinstance(value, YScalar) and value.tag != NULL else None

    def flag(self, node: YMap, key: str, default: bool) -> bool:
        value = self.text(node, key)
        return default if value is None else value.lower() == "true"

    def date(self, node: YMap, key: str) -> dt.date | None:
        value = self.text(node, key)
        return dt.date.fromisoformat(value) if value else None

    def texts(self, node: YMap, key: str) -> tuple[str, ...]:
        value = node.get(key)
        if isinstance(value, YSeq):
            return tuple(i.value for i in value.items if isinstance(i, YScalar))
        return (value.value,) if isinstance(value, YScalar) and value.tag != NULL else ()

    def expr(self, node: YMap, key: str) -> ast.Expr | None:
        value = node.get(key)
        if not isinstance(value, YScalar) or value.tag == NULL:
            return None
        return self.parse(value)

    def parse(self, value: YScalar) -> ast.Expr | None:
        try:
            return parse_expr(value.value, value.span, value.quoted)
        except ExprSyntaxError as exc:
            self.sink.add(exc.diagnostic)
            return None

    def refs(self, node: YMap) -> m.Refs:
        """The span of every value in a mapping, and of each item of a list value."""
        out: list[tuple[str, Span]] = []
        for entry in node.entries:
            out.append((entry.key, entry.value.span))
            if isinstance(entry.value, YSeq):
                out += [(f"{entry.key}={i.value}", i.span) for i in entry.value.items
                        if isinstance(i, YScalar)]
                out += [(f"{entry.key}#{n}", i.span) for n, i in enumerate(entry.value.items)]
            elif isinstance(entry.value, YMap):
                out += [(f"{entry.key}.{e.key}", e.key_span) for e in entry.value.entries]
            elif isinstance(entry.value, YScalar):
                out.append((f"{entry.key}={entry.value.value}", entry.value.span))
        if not out:
            return m.NO_REFS
        names, spans = zip(*out)  # the pairs are short-lived; the IR keeps two tuples
        return m.Refs(names, spans)

    def define(self, kind: str, name: str, span: Span) -> bool:
        first = self.defined.get((kind, name))
        if first is not None:
            self.sink.error("N002", f"{kind} '{name}' is defined twice (first at {first})", span,
                            "rename one of them; an overlay changes a base definition through "
                            "`extends`")
            return False
        self.defined[(kind, name)] = span
        return True

    def named(self, section: YNode | None, kind: str,
              make: Callable[[str, YMap, Span], T | None]) -> list[T]:
        out: list[T] = []
        if not isinstance(section, YMap):
            return out
        for entry in section.entries:
            if isinstance(entry.value, YMap) and self.define(kind, entry.key, entry.key_span):
                item = make(entry.key, entry.value, entry.key_span)
                if item is not None:
                    out.append(item)
        return out


BUILTIN_FACTS = (
    m.Fact("date_of_birth", "date", "the pupil's date of birth", None, "pupils",
           "A column every pupils file has; compulsory school age is worked out from it."),
    m.Fact("compulsory_school_age", "bool", "the pupil is of compulsory school age",
           "the pupil is not of compulsory school age", "law",
           "Education Act 1996 s.8: from the fifth birthday, or the next 31 December, 31 March "
           "or 31 August after it, to the last Friday in June of the school year in which the "
           "pupil turns 16. Worked out from the date of birth; a policy uses it without "
           "declaring it."),
    m.Fact("compulsory_school_age_start", "date",
           "the day the pupil reaches compulsory school age", None, "law",
           "Education Act 1996 s.8: the fifth birthday if it is 31 December, 31 March or 31 "
           "August, else the next of those days. Counts of absence that only a pupil of "
           "compulsory school age can commit (penalty notices) start from it."),
)
"""Facts every policy has without declaring them: the date of birth the pupils file always
gives, and what the law derives from it."""

SCOPE_UNITS = (ast.Unit.SCHOOL_DAYS, ast.Unit.DAYS, ast.Unit.WEEKS, ast.Unit.MONTHS)


def _lasts(b: Builder, node: YMap) -> str | ast.Expr | None:
    """A fact's time scope: `until_present`, or a duration in school days, days, weeks or
    months."""
    value = node.get("lasts")
    if not isinstance(value, YScalar) or value.tag == NULL:
        return None
    if value.value.strip() == "until_present":
        return "until_present"
    parsed = b.parse(value)
    if isinstance(parsed, ast.DurationLit) and parsed.unit in SCOPE_UNITS and parsed.amount > 0:
        return parsed
    if parsed is not None:
        b.sink.error("T013", f"a fact lasts `until_present` or for a duration, not "
                     f"'{value.value}'", value.span,
                     "write `until_present` (until the pupil next attends) or a duration such "
                     "as `10 school days`, `5 days`, `4 weeks` or `1 months`")
    return None


def build_policy(sources: SourceSet, sink: DiagnosticSink) -> m.Policy | None:
    b = Builder(sink)
    manifest = _manifest(b, sources.manifest)
    parts: dict[str, list[object]] = {k: [] for k in (
        "roles", "enums", "attendance_codes", "facts", "events", "measures", "parameters",
        "rules", "procedures", "scenarios", "safeguards", "clause_meta")}
    law_files: list[str] = []
    la_profile: m.LAProfile | None = None
    for path, node in sources.files:
        _collect(b, node, parts)
        if b.flag(node, "law", False):
            law_files.append(path)
        la = node.get("la_profile")
        if isinstance(la, YMap):
            if la_profile is not None:
                sink.error("N002", "la_profile is defined twice", la.span, "keep one la_profile")
            la_profile = _la_profile(b, la)
    if manifest is None:
        return None
    clauses = _clauses(sources, parts["clause_meta"], sink)  # type: ignore[arg-type]
    files = tuple(m.SourceFile(p, h) for p, h in sorted(sources.hashes.items()))
    declared = {f.id for f in parts["facts"]}  # type: ignore[attr-defined]
    parts["facts"] += [f for f in BUILTIN_FACTS if f.id not in declared]
    sections = {k: tuple(v) for k, v in parts.items() if k != "clause_meta"}
    return m.Policy(manifest=manifest, clauses=clauses, la_profile=la_profile, files=files,
                    law_files=tuple(law_files), **sections)  # type: ignore[arg-type]


def _collect(b: Builder, node: YMap, parts: dict[str, list[object]]) -> None:
    parts["roles"] += b.named(node.get("roles"), "role", lambda k, v, s: m.Role(
        k, b.text(v, "label") or k, b.text(v, "holder"), b.flag(v, "external", False),
        b.text(v, "description"), s))
    parts["enums"] += b.named(node.get("enums"), "enum", lambda k, v, s: _enum(b, k, v, s))
    parts["attendance_codes"] += b.named(node.get("attendance_codes"), "attendance code",
                                         lambda k, v, s: m.AttendanceCode(
        k, b.text(v, "meaning") or "", b.text(v, "category") or "", b.flag(v, "possible", True),
        b.flag(v, "verified", True), s, b.refs(v)))
    parts["facts"] += b.named(node.get("facts"), "fact", lambda k, v, s: m.Fact(
        k, b.text(v, "type") or "", b.text(v, "label") or k, b.text(v, "negated"),
        b.text(v, "from"), b.text(v, "description"), s, b.refs(v), _lasts(b, v)))
    parts["events"] += b.named(node.get("events"), "event", lambda k, v, s: m.Event(
        k, b.text(v, "label") or k, b.text(v, "role"), b.text(v, "description"),
        _assignments(b, v.get("sets")), s, b.refs(v)))
    parts["measures"] += b.named(node.get("measures"), "measure",
                                 lambda k, v, s: _measure(b, k, v, s))
    groups = node.get("parameters")
    if isinstance(groups, YMap):
        for group in groups.entries:
            parts["parameters"] += _group(b, group.key, group.value)
    parts["rules"] += b.named(node.get("rules"), "rule", lambda k, v, s: _rule(b, k, v, s))
    parts["procedures"] += b.named(node.get("procedures"), "procedure",
                                   lambda k, v, s: _procedure(b, k, v, s))
    parts["scenarios"] += b.named(node.get("scenarios"), "scenario",
                                  lambda k, v, s: _scenario(b, k, v, s))
    parts["safeguards"] += b.named(node.get("safeguards"), "safeguard",
                                   lambda k, v, s: _safeguard(b, k, v, s))
    parts["clause_meta"] += b.named(node.get("clauses"), "clause entry",
                                    lambda k, v, s: (k, v, s))


def _safeguard(b: Builder, key: str, node: YMap, span: Span) -> m.Safeguard:
    local = Builder(b.sink)  # requirement ids are the safeguard's own
    requirements = local.named(node.get("requires"), f"requirement of safeguard '{key}'",
                               lambda k, v, s: _requirement(b, k, v, s))
    return m.Safeguard(key, b.text(node, "title") or key, b.text(node, "fact") or "",
                       tuple(requirements), b.texts(node, "clause"), b.text(node, "description"),
                       span, b.refs(node))


def _requirement(b: Builder, key: str, node: YMap, span: Span) -> m.Requirement | None:
    when = b.expr(node, "when")
    if when is None:
        return None
    return m.Requirement(key, b.text(node, "title") or key, when, b.text(node, "source"), span,
                         b.refs(node))


def _assignments(b: Builder, node: YNode | None) -> tuple[tuple[str, ast.Expr], ...]:
    """`fact: value` pairs (an event's `sets:`, a scenario's pupil), values parsed."""
    if not isinstance(node, YMap):
        return ()
    return tuple((e.key, expr) for e in node.entries
                 if isinstance(e.value, YScalar) and (expr := b.parse(e.value)) is not None)


def _group(b: Builder, group: str, node: YNode) -> list[m.Parameter]:
    return b.named(node, "parameter", lambda k, v, s: _parameter(b, group, k, v, s))


def _manifest(b: Builder, node: YMap) -> m.Manifest | None:
    cycle_node = node.get("review_cycle")
    cycle = b.parse(cycle_node) if isinstance(cycle_node, YScalar) else None
    reviewed = b.date(node, "reviewed")
    if reviewed is None:
        return None
    if not isinstance(cycle, ast.DurationLit):
        if cycle is not None:
            b.sink.error("T001", "review_cycle must be a duration such as `12 months`",
                         cycle.span, "write a number and a unit, e.g. `12 months`")
        return None
    return m.Manifest(b.text(node, "title") or "", b.text(node, "school") or "",
                      b.text(node, "local_authority") or "", b.text(node, "text") or "",
                      reviewed, cycle, b.date(node, "adopted"), b.text(node, "governing_body"),
                      b.text(node, "extends"), b.text(node, "calendar"), node.span)


def _enum(b: Builder, key: str, node: YMap, span: Span) -> m.EnumDef:
    members_node = node.get("members")
    members = tuple(m.EnumMember(e.key, e.value.value if isinstance(e.value, YScalar) else e.key,
                                 e.key_span)
                    for e in (members_node.entries if isinstance(members_node, YMap) else ()))
    return m.EnumDef(key, b.text(node, "label") or key, members, b.text(node, "description"), span)


def _measure(b: Builder, key: str, node: YMap, span: Span) -> m.Measure:
    args_node = node.get("args")
    args = tuple(m.MeasureArg(b.text(a, "name") or "", b.text(a, "type") or "", b.text(a, "label"),
                              a.span, b.refs(a))
                 for a in (args_node.items if isinstance(args_node, YSeq) else ())
                 if isinstance(a, YMap))
    phrases_node = node.get("phrases")
    phrases = tuple((e.key, e.value.value) for e in (
        phrases_node.entries if isinstance(phrases_node, YMap) else ())
        if isinstance(e.value, YScalar))
    return m.Measure(key, b.text(node, "kind") or "", b.text(node, "label") or key,
                     b.texts(node, "codes"), args, phrases, b.text(node, "description"), span,
                     b.refs(node))


def _parameter(b: Builder, group: str, key: str, node: YMap, span: Span) -> m.Parameter | None:
    value = b.expr(node, "value")
    if value is None:
        return None
    return m.Parameter(group, key, value, b.text(node, "label") or key, b.text(node, "source"),
                       b.flag(node, "verified", True), b.flag(node, "statutory", False),
                       b.text(node, "stricter"), b.date(node, "effective_from"),
                       b.date(node, "effective_to"), b.text(node, "description"), span)


def _rule(b: Builder, key: str, node: YMap, span: Span) -> m.Rule | None:
    when = b.expr(node, "when")
    then_node = node.get("then")
    obligations = tuple(_obligation(b, o) for o in (
        then_node.items if isinstance(then_node, YSeq) else ()) if isinstance(o, YMap))
    if when is None:
        return None
    return m.Rule(key, b.text(node, "title") or key, b.texts(node, "clause"), when, obligations,
                  b.text(node, "opens"), b.text(node, "source"), b.flag(node, "statutory", False),
                  b.text(node, "description"), span, b.refs(node))


def _obligation(b: Builder, node: YMap) -> m.Obligation:
    return m.Obligation(b.text(node, "action") or "", b.text(node, "role") or "",
                        b.expr(node, "within"), b.texts(node, "clause"), b.text(node, "source"),
                        b.text(node, "done_by"), node.span, b.refs(node),
                        b.flag(node, "in_advance", False))


def _procedure(b: Builder, key: str, node: YMap, span: Span) -> m.Procedure:
    local = Builder(b.sink)
    states = local.named(node.get("states"), f"state of procedure '{key}'",
                         lambda k, v, s: _state(b, k, v, s))
    invariants = local.named(node.get("invariants"), f"invariant of procedure '{key}'",
                             lambda k, v, s: _invariant(b, k, v, s))
    return m.Procedure(key, b.text(node, "title") or key, b.texts(node, "clause"),
                       b.text(node, "initial") or "", tuple(states), b.texts(node, "opened_by"),
                       tuple(invariants), b.text(node, "description"), span, b.refs(node),
                       b.flag(node, "in_advance", False))


def _state(b: Builder, key: str, node: YMap, span: Span) -> m.State:
    deadline_node = node.get("deadline")
    deadline = None
    if isinstance(deadline_node, YMap):
        within = b.expr(deadline_node, "within")
        if within is not None:
            deadline = m.Deadline(within, b.text(deadline_node, "escalate_to"),
                                  b.text(deadline_node, "action"), deadline_node.span,
                                  b.refs(deadline_node))
    transitions_node = node.get("transitions")
    transitions = tuple(
        m.Transition(b.text(t, "event") or "", b.text(t, "target") or "", b.expr(t, "guard"),
                     b.text(t, "label"), t.span, b.refs(t))
        for t in (transitions_node.items if isinstance(transitions_node, YSeq) else ())
        if isinstance(t, YMap))
    return m.State(key, b.text(node, "title") or key, b.text(node, "role"),
                   b.flag(node, "final", False), b.texts(node, "clause"), deadline, transitions,
                   b.text(node, "description"), span, b.refs(node))


def _invariant(b: Builder, key: str, node: YMap, span: Span) -> m.Invariant | None:
    passes = (b.text(node, "every_path_to"), b.text(node, "passes"))
    leaving = (b.text(node, "before_leaving"), b.text(node, "requires"))
    if all(passes) and not any(leaving):
        kind, state, through = "passes", passes[0], passes[1]
    elif all(leaving) and not any(passes):
        kind, state, through = "before_leaving", leaving[0], leaving[1]
    else:
        b.sink.error("S006", f"invariant '{key}' must say either `every_path_to` + `passes` "
                     "or `before_leaving` + `requires`", span,
                     "e.g. `every_path_to: removed_from_roll` and `passes: la_notified`")
        return None
    assert state is not None and through is not None
    return m.Invariant(key, kind, state, through, b.texts(node, "clause"), b.text(node, "source"),
                       b.flag(node, "statutory", False), b.text(node, "description"), span,
                       b.refs(node))


def _scenario(b: Builder, key: str, node: YMap, span: Span) -> m.Scenario | None:
    given = node.get("given")
    given = given if isinstance(given, YMap) else YMap((), span)
    pupil = _assignments(b, given.get("pupil"))
    marks_node, events_node = given.get("marks"), given.get("events")
    marks = tuple(m.MarkRun(b.date(r, "from") or dt.date.min, b.text(r, "sessions") or "", r.span)
                  for r in (marks_node.items if isinstance(marks_node, YSeq) else ())
                  if isinstance(r, YMap))
    events = tuple(m.ScenarioEvent(b.date(e, "date") or dt.date.min, b.text(e, "event") or "",
                                   b.text(e, "role"), e.span, b.refs(e))
                   for e in (events_node.items if isinstance(events_node, YSeq) else ())
                   if isinstance(e, YMap))
    expect_node = node.get("expect")
    as_of = b.date(node, "as_of")
    if not isinstance(expect_node, YMap) or as_of is None:
        return None
    return m.Scenario(key, b.text(node, "title") or key, as_of, _expectation(b, expect_node),
                      pupil, marks, events, b.text(given, "calendar"), b.text(node, "description"),
                      span)


def _pairs(node: YNode | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(node, YMap):
        return ()
    return tuple((e.key, e.value.value) for e in node.entries if isinstance(e.value, YScalar))


def _expectation(b: Builder, node: YMap) -> m.Expectation:
    def rows(key: str) -> tuple[tuple[tuple[str, str], ...], ...]:
        seq = node.get(key)
        return tuple(_pairs(i) for i in (seq.items if isinstance(seq, YSeq) else ()))
    return m.Expectation(rows("actions"), _pairs(node.get("states")), rows("violations"),
                         b.texts(node, "fires"), b.texts(node, "not_fires"),
                         b.flag(node, "nothing", False), _written(node), node.span, b.refs(node))


def _written(node: YMap) -> tuple[str, ...]:
    """The expectation keys written, so that `actions: []` means "no actions", not "unchecked"."""
    return tuple(e.key for e in node.entries if e.key != "nothing" or (
        isinstance(e.value, YScalar) and e.value.value.lower() == "true"))


def _la_profile(b: Builder, node: YMap) -> m.LAProfile:
    entries = b.named(node.get("entries"), "la_profile entry", lambda k, v, s: m.LAEntry(
        k, b.text(v, "value") or "", b.text(v, "label") or k, b.text(v, "source"),
        b.flag(v, "verified", True), s))
    return m.LAProfile(b.text(node, "name") or "", tuple(entries), node.span)


def _clauses(sources: SourceSet, meta: list[tuple[str, YMap, Span]],
             sink: DiagnosticSink) -> tuple[m.Clause, ...]:
    by_id = {k: (v, s) for k, v, s in meta}
    known = {c.id for c in sources.text_clauses}
    for key, (_, span) in sorted(by_id.items()):
        if key not in known:
            sink.error("C003", f"clauses: '{key}' is not a clause of the policy text", span,
                       "clause ids are the {#id} markers in the policy text")
    b = Builder(sink)
    out = []
    for clause in sources.text_clauses:
        node, _ = by_id.get(clause.id, (YMap((), clause.span), clause.span))
        review_node = node.get("review")
        review = tuple(m.ReviewItem(b.text(r, "summary") or "", b.text(r, "text_says"),
                                    b.text(r, "law_says"), b.texts(r, "sources"),
                                    b.flag(r, "verified", True), r.span,
                                    b.text(r, "proposed"))
                       for r in (review_node.items if isinstance(review_node, YSeq) else ())
                       if isinstance(r, YMap))
        out.append(m.Clause(clause.id, clause.text, clause.heading,
                            b.flag(node, "informative", False), b.text(node, "note"), review,
                            clause.span))
    return tuple(out)
