"""Load stage, part 2: the shape of every policy file, as data, and the check of nodes against it.

The schema is the single description of what keys exist; it drives validation (unknown keys
with "did you mean", missing keys, wrong scalar types) and, later, the editor JSON Schema.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import BOOL, INT, NULL, TIMESTAMP, YMap, YNode, YScalar, YSeq

IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
CLAUSE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Scalar:
    """A leaf value: string, bool, int, date, or an expression in the policy language."""

    type: str
    doc: str = ""


@dataclass(frozen=True)
class Field:
    schema: Schema
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Obj:
    """A mapping with a fixed set of keys."""

    name: str
    fields: dict[str, Field]
    doc: str = ""
    # The required keys in order, worked out once: the check looks for them in every mapping.
    required: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "required",
                           tuple(key for key, spec in self.fields.items() if spec.required))


@dataclass(frozen=True)
class Named:
    """A mapping whose keys are names the policy author chooses (rule ids, role ids …)."""

    value: Schema
    key_kind: str = "identifier"
    doc: str = ""


@dataclass(frozen=True)
class ListOf:
    item: Schema
    doc: str = ""


@dataclass(frozen=True)
class OneOrMany:
    """A single scalar, or a list of them (e.g. `clause: strategy-9` or `clause: [a, b]`)."""

    item: Scalar


Schema = Scalar | Obj | Named | ListOf | OneOrMany

TEXT = Scalar("string")
BOOLEAN = Scalar("bool")
INTEGER = Scalar("int")
DATE_S = Scalar("date")
EXPR = Scalar("expr")
REF = Scalar("identifier")
CLAUSES = OneOrMany(Scalar("clause-id"))


def _f(schema: Schema, doc: str = "", required: bool = False) -> Field:
    return Field(schema, required, doc)


def _req(schema: Schema, doc: str = "") -> Field:
    return Field(schema, True, doc)


REVIEW_ITEM = Obj("review item", {
    "summary": _req(TEXT, "what differs between the policy text and current law"),
    "text_says": _f(TEXT, "what the policy text says"),
    "law_says": _f(TEXT, "what the law in force says"),
    "sources": _f(ListOf(TEXT), "sources for the current law"),
    "verified": _f(BOOLEAN, "false when a source is unverified"),
    "proposed": _f(TEXT, "the wording proposed to the governors in place of the policy's"),
})
CLAUSE = Obj("clause", {
    "informative": _f(BOOLEAN, "true when nothing needs to implement the clause"),
    "note": _f(TEXT),
    "review": _f(ListOf(REVIEW_ITEM), "divergences from current law for the annual review"),
    "replaces_base": _f(BOOLEAN, "in an overlay: this policy text's clause with the same id "
                                 "replaces the base policy's words (and metadata)"),
})
ROLE = Obj("role", {
    "label": _req(TEXT, "the role as a noun phrase, e.g. 'the headteacher'"),
    "holder": _f(TEXT, "who holds the role, e.g. a job title or team"),
    "external": _f(BOOLEAN, "true for roles outside the school (LA, social care)"),
    "description": _f(TEXT),
})
ENUM = Obj("enum", {
    "label": _req(TEXT),
    "members": _req(Named(TEXT), "member id → label"),
    "description": _f(TEXT),
})
ATTENDANCE_CODE = Obj("attendance code", {
    "meaning": _req(TEXT),
    "category": _req(REF, "a member of the enum `attendance_category`"),
    "possible": _req(BOOLEAN, "whether the session counts as a possible session"),
    "verified": _f(BOOLEAN),
})
FACT = Obj("fact", {
    "type": _req(REF, "bool, int, percent, date, or an enum id"),
    "label": _req(TEXT, "a noun phrase, or for a bool fact a sentence that is true when it holds"),
    "negated": _f(TEXT, "for a bool fact: the sentence when it does not hold"),
    "from": _f(TEXT, "where the value comes from: pupils, events or scenario"),
    "lasts": _f(TEXT, "how long a value an event sets holds: until_present (until the pupil "
                      "next attends) or a duration such as 10 school days"),
    "description": _f(TEXT),
})
EVENT = Obj("event", {
    "label": _req(TEXT, "what happened, in the past tense"),
    "role": _f(REF, "the role that usually records it"),
    "sets": _f(Named(EXPR), "facts the event makes true from its date: fact → value"),
    "description": _f(TEXT),
})
MEASURE_ARG = Obj("measure argument", {
    "name": _req(REF), "type": _req(REF), "label": _f(TEXT),
})
MEASURE = Obj("measure", {
    "kind": _req(REF, "how the value is computed from the marks"),
    "label": _req(TEXT, "a noun phrase, e.g. 'the current run of unauthorised absence'"),
    "codes": _f(ListOf(TEXT), "attendance codes the measure looks for"),
    "args": _f(ListOf(MEASURE_ARG)),
    "phrases": _f(Named(TEXT, key_kind="operator"), "English per comparison, with {value}"),
    "description": _f(TEXT),
})
PARAMETER = Obj("parameter", {
    "value": _req(EXPR, "a literal: 20 school days, 10%, 5 days, 2024-08-19, 3, true"),
    "label": _req(TEXT),
    "source": _f(TEXT, "the statute, guidance or local decision it comes from"),
    "verified": _f(BOOLEAN, "false when the source is unverified"),
    "statutory": _f(BOOLEAN, "true when an overlay may only make it stricter"),
    "stricter": _f(Scalar("direction"), "lower or higher: which way is stricter"),
    "effective_from": _f(DATE_S),
    "effective_to": _f(DATE_S),
    "description": _f(TEXT),
})
LA_ENTRY = Obj("local authority entry", {
    "value": _req(TEXT), "label": _req(TEXT), "source": _f(TEXT), "verified": _f(BOOLEAN),
})
LA_PROFILE = Obj("local authority profile", {
    "name": _req(TEXT),
    "entries": _f(Named(LA_ENTRY), "the LA's teams, contacts and local thresholds"),
})
OBLIGATION = Obj("obligation", {
    "action": _req(TEXT, "what must be done, as an imperative"),
    "role": _req(REF, "the role responsible"),
    "within": _f(EXPR, "deadline from the rule's onset: 5 school days, params.x"),
    "done_by": _f(REF, "the case-log event that shows the obligation was met"),
    "in_advance": _f(BOOLEAN, "true: a done_by event up to params.school.done_in_advance "
                              "before the duty arises counts (e.g. the LA told before the "
                              "leaving date); leave out for a duty each occasion needs anew"),
    "clause": _f(CLAUSES),
    "source": _f(TEXT),
})
RULE = Obj("rule", {
    "title": _req(TEXT),
    "clause": _req(CLAUSES),
    "when": _req(EXPR, "the condition, in the expression language"),
    "then": _f(ListOf(OBLIGATION)),
    "opens": _f(REF, "the procedure a case is opened in"),
    "source": _f(TEXT),
    "statutory": _f(BOOLEAN),
    "description": _f(TEXT),
})
TRANSITION = Obj("transition", {
    "event": _req(REF, "the event that triggers it (never `on:`, which YAML reads as true)"),
    "target": _req(REF),
    "guard": _f(EXPR),
    "label": _f(TEXT),
})
DEADLINE = Obj("deadline", {
    "within": _req(EXPR, "how long the state may last: 5 school days, params.x"),
    "escalate_to": _f(REF, "the state entered when the deadline passes"),
    "action": _f(TEXT, "what is overdue when it passes"),
})
STATE = Obj("state", {
    "title": _req(TEXT),
    "role": _f(REF),
    "final": _f(BOOLEAN),
    "clause": _f(CLAUSES),
    "deadline": _f(DEADLINE),
    "transitions": _f(ListOf(TRANSITION)),
    "description": _f(TEXT),
})
INVARIANT = Obj("invariant", {
    "every_path_to": _f(REF, "a state: every path to it …"),
    "passes": _f(REF, "… passes this state"),
    "before_leaving": _f(REF, "a state that may not be left …"),
    "requires": _f(REF, "… unless this state was visited"),
    "clause": _f(CLAUSES),
    "source": _f(TEXT),
    "statutory": _f(BOOLEAN),
    "description": _f(TEXT),
})
PROCEDURE = Obj("procedure", {
    "title": _req(TEXT),
    "clause": _req(CLAUSES),
    "initial": _req(REF),
    "states": _req(Named(STATE)),
    "opened_by": _f(ListOf(REF), "events that open a case without a rule"),
    "in_advance": _f(BOOLEAN, "true: its events logged up to params.school.done_in_advance "
                              "before a case opens count as done when it opens"),
    "invariants": _f(Named(INVARIANT)),
    "description": _f(TEXT),
})
REQUIREMENT = Obj("safeguard requirement", {
    "title": _req(TEXT, "what must hold, in words"),
    "when": _req(EXPR, "the condition, on the day of the step"),
    "source": _req(TEXT, "the statute"),
})
SAFEGUARD = Obj("safeguard", {
    "title": _req(TEXT),
    "fact": _req(REF, "the fact whose becoming true is the guarded step (e.g. name_deleted)"),
    "clause": _f(CLAUSES),
    "requires": _req(Named(REQUIREMENT), "requirement id → condition and statute"),
    "description": _f(TEXT),
})
SCENARIO_EVENT = Obj("scenario event", {
    "date": _req(DATE_S), "event": _req(REF), "role": _f(REF),
})
SCENARIO_MARKS = Obj("scenario marks", {
    "from": _req(DATE_S, "the first school day the marks start on"),
    "sessions": _req(TEXT, "two marks per school day, e.g. '/\\ /\\ NN NN'"),
})
EXPECTED_ACTION = Obj("expected action", {
    "rule": _f(REF, "the rule the action comes from"),
    "procedure": _f(REF, "the procedure the action comes from"),
    "action": _f(TEXT, "the action's words"),
    "role": _f(REF, "the role responsible"),
    "due": _f(TEXT, "the due date, YYYY-MM-DD, or none"),
    "status": _f(REF, "due, overdue or done"),
    "state": _f(REF, "the procedure state the action belongs to"),
})
EXPECTED_VIOLATION = Obj("expected violation", {
    "procedure": _f(REF), "rule": _f(REF, "a rule whose statutory action was done late"),
    "law": _f(REF, "a safeguard of the law layer that a step broke"),
    "kind": _f(REF, "illegal_event, no_open_case, deadline_missed, invariant, late or "
                    "unlawful"),
    "event": _f(REF), "state": _f(REF), "date": _f(DATE_S),
    "message": _f(TEXT, "the violation's words, exactly (e.g. how many school days late)"),
})
SCENARIO = Obj("scenario", {
    "title": _req(TEXT),
    "given": _f(Obj("scenario given", {
        "pupil": _f(Named(EXPR), "fact → value"),
        "marks": _f(ListOf(SCENARIO_MARKS)),
        "events": _f(ListOf(SCENARIO_EVENT)),
        "calendar": _f(TEXT, "a calendar file, relative to the policy directory"),
    })),
    "as_of": _req(DATE_S),
    "expect": _req(Obj("scenario expectation", {
        "actions": _f(ListOf(EXPECTED_ACTION), "the complete list of actions expected"),
        "states": _f(Named(REF), "procedure → state of its latest case, or none"),
        "violations": _f(ListOf(EXPECTED_VIOLATION), "the complete list of violations"),
        "fires": _f(ListOf(REF)),
        "not_fires": _f(ListOf(REF)),
        "nothing": _f(BOOLEAN),
    })),
    "description": _f(TEXT),
})

SECTIONS: dict[str, Field] = {
    "include": _f(ListOf(TEXT), "more policy files, relative to this one"),
    "law": _f(BOOLEAN, "true: this file is the law layer; an overlay may use what it defines "
                       "but not override, remove or redefine it"),
    "safeguards": _f(Named(SAFEGUARD), "what the law requires of a step, whichever event "
                                      "records it"),
    "clauses": _f(Named(CLAUSE, key_kind="clause-id"), "metadata about clauses of the text"),
    "roles": _f(Named(ROLE)),
    "enums": _f(Named(ENUM)),
    "attendance_codes": _f(Named(ATTENDANCE_CODE, key_kind="code")),
    "facts": _f(Named(FACT)),
    "events": _f(Named(EVENT)),
    "measures": _f(Named(MEASURE)),
    "parameters": _f(Named(Named(PARAMETER)), "group → parameter"),
    "la_profile": _f(LA_PROFILE),
    "rules": _f(Named(RULE)),
    "procedures": _f(Named(PROCEDURE)),
    "scenarios": _f(Named(SCENARIO)),
}


def _partial(obj: Obj, **extra: Field) -> Obj:
    """The same keys, none required, for `override:` (each key given replaces the base's)."""
    fields = {k: Field(f.schema, False, f.doc) for k, f in obj.fields.items()}
    return Obj(f"{obj.name} override", {**fields, **extra})


_REMOVE = _f(BOOLEAN, "true to remove the base item")
OVERRIDE = Obj("override", {
    "roles": _f(Named(_partial(ROLE)), "role id → the keys to change, e.g. `holder:`"),
    "enums": _f(Named(_partial(ENUM))),
    "facts": _f(Named(_partial(FACT))),
    "events": _f(Named(_partial(EVENT))),
    "measures": _f(Named(_partial(MEASURE))),
    "parameters": _f(Named(Named(_partial(PARAMETER))), "group → parameter → keys to change"),
    "la_profile": _f(Obj("local authority profile override", {
        "name": _f(TEXT),
        "entries": _f(Named(_partial(LA_ENTRY)), "entry id → keys to change (or a new entry)"),
    })),
    "rules": _f(Named(_partial(RULE, remove=_REMOVE)), "rule id → keys to change"),
    "procedures": _f(Named(_partial(
        PROCEDURE, remove=_REMOVE,
        states=_f(Named(_partial(STATE, remove=_REMOVE, add_transitions=_f(
            ListOf(TRANSITION), "transitions added to the base state's"))),
            "state id → keys to change, or a new state written in full"),
        invariants=_f(Named(_partial(INVARIANT, remove=_REMOVE)),
                      "invariant id → keys to change, or a new invariant"))),
        "procedure id → keys to change"),
}, "changes to the base policy's items, by id (an overlay only)")
SECTIONS["override"] = _f(OVERRIDE, "in an overlay: changes to items of the base policy, by id")
SECTION_FILE = Obj("policy file", SECTIONS)
MANIFEST = Obj("manifest", {
    "title": _req(TEXT),
    "school": _req(TEXT),
    "local_authority": _req(TEXT),
    "text": _req(TEXT, "the policy text as Markdown, relative to policy.yaml"),
    "adopted": _f(DATE_S),
    "reviewed": _req(DATE_S, "the date of the last governors' review"),
    "review_cycle": _req(EXPR, "e.g. 12 months"),
    "governing_body": _f(TEXT),
    "extends": _f(TEXT, "a base policy directory this one adapts"),
    "calendar": _f(TEXT, "the school calendar scenarios run on, relative to policy.yaml"),
    **SECTIONS,
})


class ShapeChecker:
    """Checks a node tree against a schema, reporting every problem it finds."""

    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink

    def check(self, node: YNode, schema: Schema, what: str) -> bool:
        before = len(self.sink.sorted())
        self._check(node, schema, what)
        return len(self.sink.sorted()) == before

    def _check(self, node: YNode, schema: Schema, what: str) -> None:
        if isinstance(schema, Scalar):
            self._scalar(node, schema, what)
        elif isinstance(schema, OneOrMany):
            if isinstance(node, YSeq):
                for item in node.items:
                    self._scalar(item, schema.item, what)
            else:
                self._scalar(node, schema.item, what)
        elif isinstance(schema, ListOf):
            self._list(node, schema, what)
        elif isinstance(schema, Named):
            self._named(node, schema, what)
        else:
            self._obj(node, schema, what)

    def _expect(self, node: YNode, kind: type, wanted: str, what: str) -> bool:
        if isinstance(node, kind):
            return True
        got = f"a {node.kind}" if not isinstance(node, YScalar) else (
            "nothing" if node.tag == NULL else f"the {node.kind} '{node.value}'")
        self.sink.error("S004", f"{what} must be a {wanted}, not {got}", node.span,
                        _shape_hint(wanted))
        return False

    def _list(self, node: YNode, schema: ListOf, what: str) -> None:
        if self._expect(node, YSeq, "list", what):
            assert isinstance(node, YSeq)
            for index, item in enumerate(node.items, start=1):
                self._check(item, schema.item, f"item {index} of {what}")

    def _named(self, node: YNode, schema: Named, what: str) -> None:
        if not self._expect(node, YMap, "mapping", what):
            return
        assert isinstance(node, YMap)
        for entry in node.entries:
            if schema.key_kind == "identifier" and not IDENT.match(entry.key):
                self.sink.error("S005", f"'{entry.key}' is not a valid name in {what}",
                                entry.key_span, "names use lower-case letters, digits and _, "
                                "starting with a letter (e.g. `ground_i_enquiries`)")
            elif schema.key_kind == "clause-id" and not CLAUSE_ID.match(entry.key):
                self.sink.error("S005", f"'{entry.key}' is not a valid clause id",
                                entry.key_span, "clause ids look like `strategy-9-ii`")
            self._check(entry.value, schema.value, f"'{entry.key}'")

    def _obj(self, node: YNode, schema: Obj, what: str) -> None:
        if not self._expect(node, YMap, "mapping", what):
            return
        assert isinstance(node, YMap)
        suggested: set[str] = set()
        for entry in node.entries:
            spec = schema.fields.get(entry.key)
            if spec is None:
                suggested.add(self._unknown_key(entry.key, entry.key_span, schema))
                continue
            self._check(entry.value, spec.schema, f"'{entry.key}'")
        if not schema.required:
            return
        present = set(node.keys()) | suggested  # a misspelt key is reported once, as S001
        for key in schema.required:
            if key not in present:
                doc = schema.fields[key].doc
                self.sink.error("S002", f"{what} ({schema.name}) is missing the required key "
                                        f"'{key}'", _head(node),
                                f"add `{key}:`" + (f" — {doc}" if doc else ""))

    def _unknown_key(self, key: str, span: Span, schema: Obj) -> str:
        """Report the key; return the known key it is probably a misspelling of, or ''."""
        close = difflib.get_close_matches(key, list(schema.fields), n=1, cutoff=0.6)
        hint = (f"did you mean '{close[0]}'?" if close
                else "allowed keys: " + ", ".join(sorted(schema.fields)))
        if key == "true" and "event" in schema.fields:
            hint = "did you mean 'event'? (`on:` is read by YAML as true)"
        self.sink.error("S001", f"unknown key '{key}' in {schema.name}", span, hint)
        return close[0] if close else ""

    def _scalar(self, node: YNode, schema: Scalar, what: str) -> None:
        if not isinstance(node, YScalar):
            self._expect(node, YScalar, _scalar_name(schema.type), what)
            return
        problem = _scalar_problem(node, schema.type)
        if problem is not None:
            self.sink.error("S003", f"{what} must be {problem[0]}, not "
                            f"{'nothing' if node.tag == NULL else repr(node.value)}",
                            node.span, problem[1])


def _head(node: YMap) -> Span:
    span = node.span
    return Span(span.path, span.line, span.column, span.line, span.column + 1)


def _scalar_name(type_: str) -> str:
    return {"bool": "boolean", "int": "whole number", "date": "date", "expr": "value"}.get(
        type_, "string")


def _shape_hint(wanted: str) -> str:
    return {"list": "write each item on its own line starting with `- `",
            "mapping": "write `key: value` pairs indented under this key"}.get(
        wanted, "write a single value here")


def _scalar_problem(node: YScalar, type_: str) -> tuple[str, str] | None:
    if node.tag == NULL:
        return ("given a value", "write a value after the colon")
    if type_ == "bool" and not (node.tag == BOOL and node.value.lower() in ("true", "false")):
        return ("true or false", "write `true` or `false` (not yes/no, not quoted)")
    if type_ == "int" and node.tag != INT:
        return ("a whole number", "write digits only, e.g. 20")
    if type_ == "date" and not _is_date(node):
        return ("a date", "write dates as YYYY-MM-DD, e.g. 2025-08-27")
    if type_ == "identifier" and not IDENT.match(node.value):
        return ("a name", "names use lower-case letters, digits and _ (e.g. `headteacher`)")
    if type_ == "clause-id" and not CLAUSE_ID.match(node.value):
        return ("a clause id", "clause ids look like `strategy-9-ii`")
    if type_ == "direction" and node.value not in ("lower", "higher"):
        return ("lower or higher", "say which way a stricter value moves: `lower` or `higher`")
    return None


def _is_date(node: YScalar) -> bool:
    if not DATE.match(node.value) or node.tag not in (TIMESTAMP, "tag:yaml.org,2002:str"):
        return False
    try:
        dt.date.fromisoformat(node.value)
    except ValueError:
        return False
    return True


def scalar_text(node: YNode | None) -> str | None:
    return node.value if isinstance(node, YScalar) and node.tag != NULL else None
