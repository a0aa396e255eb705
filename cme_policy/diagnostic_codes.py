"""Diagnostics reference: every code the compiler emits, with its name and purpose.

`docs/diagnostics.md` is generated from this registry and the golden corpus in
`tests/diagnostics/` by `tests/corpus_support.py` (a test tool, not part of the package):
each example there is the real output of the corpus case for that code.

The corpus's layout is in `tests/diagnostics/README.md`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cme_policy.diagnostics import Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    severity: Severity
    purpose: str


CODES: dict[str, Code] = {c.code: c for c in (
    # L — load: bytes and YAML, before any meaning is given to them
    Code("L001", "file-too-large", ERROR,
         "A policy file is larger than the size limit, so it is not read at all."),
    Code("L002", "not-utf8", ERROR,
         "A policy file or the policy text is not valid UTF-8."),
    Code("L003", "tab-indentation", ERROR,
         "A line is indented with a tab, which YAML does not allow."),
    Code("L004", "yaml-syntax", ERROR,
         "The file is not well-formed YAML, or holds more than one YAML document."),
    Code("L005", "yaml-anchor-alias-merge", ERROR,
         "A YAML anchor, alias or merge key is used; they hide changes and can expand without "
         "bound."),
    Code("L006", "yaml-tag", ERROR,
         "A YAML tag such as `!!python/object` is used; policies hold plain values only."),
    Code("L007", "non-string-key", ERROR,
         "A mapping key is not a string: a number, a list, or a word YAML 1.1 reads as a boolean "
         "(`on:`)."),
    Code("L008", "duplicate-key", ERROR,
         "The same key appears twice in one mapping; YAML would silently keep only the last."),
    Code("L009", "no-manifest", ERROR,
         "The policy directory has no `policy.yaml`."),
    Code("L010", "nesting-too-deep", ERROR,
         "The YAML is nested deeper than any policy needs."),
    Code("L011", "file-missing", ERROR,
         "An included file, the policy text or a calendar the policy names does not exist or "
         "cannot be read."),
    Code("L012", "include-cycle", ERROR,
         "Files include each other in a cycle."),
    Code("L013", "include-matches-nothing", WARNING,
         "An include pattern with wildcards matches no file."),
    Code("L014", "path-outside-policy", ERROR,
         "An include, the `text:` or a `calendar:` is an absolute path or leads outside the "
         "policy folder (for an overlay: outside it and its base's folder), by `..` or a "
         "symbolic link; the file is not read."),
    Code("L015", "calendar-invalid", ERROR,
         "A school calendar the policy names (`calendar:` in policy.yaml or a scenario's "
         "`given:`) is not a valid calendar file (docs/calendar.md)."),
    # S — shape: the keys and scalar types of each mapping, against the schema
    Code("S001", "unknown-key", ERROR,
         "A key the schema does not know, usually a typo; the closest known key is suggested."),
    Code("S002", "missing-key", ERROR,
         "A required key is missing."),
    Code("S003", "wrong-scalar", ERROR,
         "A value has the wrong scalar type: a boolean, date, name, clause id or direction is "
         "malformed."),
    Code("S004", "wrong-shape", ERROR,
         "A value is a list where a mapping is expected, a mapping where a single value is "
         "expected, and so on."),
    Code("S005", "invalid-name", ERROR,
         "A name chosen by the author (a rule id, role id, clause id …) is not a valid "
         "identifier."),
    Code("S006", "invariant-form", ERROR,
         "An invariant is neither `every_path_to` + `passes` nor `before_leaving` + `requires`."),
    # X — expression syntax
    Code("X001", "expr-syntax", ERROR,
         "An expression cannot be parsed: it is empty, ends too early, or has an unexpected "
         "token."),
    Code("X002", "unknown-unit", ERROR,
         "A duration has a unit the language does not know, or a unit with no number before it."),
    Code("X003", "invalid-date", ERROR,
         "A date literal is shaped like YYYY-MM-DD but is not a real date."),
    Code("X004", "expr-too-long", ERROR,
         "An expression is longer or more deeply nested than the limit; it should be split into "
         "measures or rules."),
    # T — types and units
    Code("T001", "type-mismatch", ERROR,
         "A value has a different type from the one its place needs (a condition, a deadline, an "
         "argument)."),
    Code("T002", "invalid-operands", ERROR,
         "An operator is applied to operands it does not accept, or a set mixes types."),
    Code("T003", "not-an-enum-member", ERROR,
         "A name used where an enum value is expected is not a member of that enum."),
    Code("T004", "percent-vs-number", ERROR,
         "A percentage is compared with a bare whole number."),
    Code("T005", "unit-mismatch", ERROR,
         "Durations in different units are compared or added without an explicit conversion."),
    Code("T006", "invalid-conversion", ERROR,
         "A conversion or subtraction has no fixed meaning, such as school days `as days`."),
    Code("T007", "measure-arguments", ERROR,
         "A measure is called with the wrong number of arguments, or declares an argument its kind"
         " cannot take."),
    Code("T008", "measure-not-called", ERROR,
         "A measure that takes arguments is used without calling it."),
    Code("T009", "not-callable", ERROR,
         "A fact, parameter or built-in is called as if it were a measure."),
    Code("T010", "percent-over-100", ERROR,
         "A percentage literal is over 100%."),
    Code("T011", "unknown-measure-kind", ERROR,
         "A measure names a kind the runtime cannot compute."),
    Code("T012", "non-literal-parameter", ERROR,
         "A parameter's value is not a literal."),
    Code("T013", "bad-fact-scope", ERROR,
         "A fact's `lasts:` is neither `until_present` nor a positive duration."),
    Code("T014", "duration-too-long", ERROR,
         "A duration is longer than a century (36,525 days, 19,500 school days …): a typo, "
         "and one that date arithmetic could not follow."),
    # N — names
    Code("N001", "unknown-name", ERROR,
         "An expression or scenario uses a name that is not declared; the closest name is "
         "suggested."),
    Code("N002", "defined-twice", ERROR,
         "The same id is defined twice, possibly in two files."),
    Code("N003", "unknown-role", ERROR,
         "An obligation, state, event or scenario refers to a role that is not declared."),
    Code("N004", "unknown-procedure", ERROR,
         "A rule opens a procedure that is not declared."),
    Code("N005", "unknown-state", ERROR,
         "A procedure, transition, deadline or invariant refers to a state the procedure does not "
         "have."),
    Code("N006", "unknown-event", ERROR,
         "A transition, procedure or scenario refers to an event that is not declared."),
    Code("N007", "unknown-attendance-category", ERROR,
         "An attendance code's category is not a member of the `attendance_category` enum, or the "
         "enum is missing."),
    Code("N008", "unknown-attendance-code", ERROR,
         "A measure looks for an attendance code that is not declared."),
    Code("N009", "unknown-fact-type", ERROR,
         "A fact's type is neither a built-in type, a duration unit nor a declared enum."),
    Code("N010", "unused", WARNING,
         "A fact, measure or parameter is never used, or a role is never given a duty."),
    # C — clauses of the policy text
    Code("C001", "duplicate-clause-id", ERROR,
         "Two clauses of the policy text carry the same `{#id}`."),
    Code("C002", "cited-clause-missing", ERROR,
         "A rule, procedure, state or invariant cites a clause id that is not in the policy text."),
    Code("C003", "clause-metadata-unknown", ERROR,
         "`clauses:` gives metadata for a clause id that is not in the policy text."),
    Code("C004", "clause-not-implemented", WARNING,
         "A clause is neither cited by any rule or procedure nor marked informative."),
    Code("C005", "invalid-clause-id", ERROR,
         "A `{#id}` marker in the policy text is not a valid clause id."),
    # P — parameters
    Code("P001", "stricter-not-statutory", ERROR,
         "A parameter says which way is stricter but is not statutory."),
    Code("P002", "statutory-without-stricter", ERROR,
         "A statutory parameter does not say which way an overlay may move it."),
    Code("P003", "effective-dates-reversed", ERROR,
         "A parameter stops being effective before it starts."),
    # V — vocabulary
    Code("V001", "role-without-holder", WARNING,
         "A role does not say who holds it."),
    Code("V002", "attendance-code-unusable", ERROR,
         "An attendance code cannot be written in a mark string: it is longer than two "
         "characters or uses a character the mark notation reserves (or there are more codes "
         "than a table holds)."),
    # G — procedure graphs: states, transitions, deadlines, guards and invariants
    Code("G001", "unreachable-state", ERROR,
         "A state cannot be reached from the procedure's initial state by any transition or "
         "deadline escalation."),
    Code("G002", "dead-end-state", ERROR,
         "A state that is not final has no transition and no deadline that escalates, so a case "
         "that enters it can never move on."),
    Code("G003", "final-state-with-exits", ERROR,
         "A final state has transitions or a deadline, although a case ends there."),
    Code("G004", "no-way-to-finish", ERROR,
         "No final state can be reached from a state, because its paths only go round a loop "
         "(a state that can reach a dead end is reported by G002 instead)."),
    Code("G005", "deadline-escalates-nowhere", ERROR,
         "A deadline has neither `escalate_to` nor `action`, so nothing happens when it passes; "
         "one with an `action` but no `escalate_to` is allowed, as it reports that action as "
         "overdue."),
    Code("G006", "overlapping-guards", ERROR,
         "Two transitions from one state on the same event can both apply, in a situation of "
         "true/false and enum facts that the message gives (guards reading anything else are "
         "not checked)."),
    Code("G007", "guard-gap", WARNING,
         "Two or more transitions from one state on the same event are all guarded, and in a "
         "situation that the message gives none of them applies."),
    Code("G008", "shadowed-transition", ERROR,
         "A transition can never be taken, because an earlier transition from the same state on "
         "the same event applies whenever it would (or its guard never holds)."),
    Code("G009", "invariant-broken", ERROR,
         "A declared invariant does not hold on the procedure's graph, checked by dominance; "
         "the message gives a counterexample path."),
    Code("G010", "vacuous-invariant", WARNING,
         "An invariant can never fail, so it says nothing: its state cannot be reached, a "
         "`before_leaving` state is never left, or the state to pass is the state itself or the "
         "initial state."),
    Code("G011", "unlawful-step-reachable", ERROR,
         "A case log can walk a procedure to a step a safeguard of the law layer forbids (a "
         "deletion with no ground, or before the deletion return): the shortest such pupil is "
         "printed as a scenario."),
    # O — overlays: a policy that `extends:` another, and the statutory floors it must keep
    Code("O001", "statutory-parameter-weakened", ERROR,
         "An overlay makes a statutory parameter weaker than the base (a higher value where "
         "`stricter: lower`, a lower one where `higher`), or gives it another unit."),
    Code("O002", "statutory-rule-weakened", ERROR,
         "An overlay removes a statutory rule, or overrides it so that it may fire less often, "
         "loses an obligation or gets a longer deadline."),
    Code("O003", "invariant-removed", ERROR,
         "An overlay removes or changes a statutory invariant of a base procedure."),
    Code("O004", "protected-state-removed", ERROR,
         "An overlay removes a state that a base invariant protects."),
    Code("O005", "unknown-base-item", ERROR,
         "An overlay overrides, removes or replaces something the base policy does not define."),
    Code("O006", "extends-cycle-or-missing", ERROR,
         "`extends:` names a directory without a policy.yaml, or the bases extend each other in "
         "a cycle."),
    Code("O007", "replaced-clause-without-text", ERROR,
         "A clause is marked `replaces_base: true` but the overlay's policy text has no clause "
         "with that id."),
    Code("O008", "statutory-metadata-changed", ERROR,
         "An overlay changes the `statutory:` or `stricter:` of a statutory parameter."),
    Code("O009", "to-be-completed", WARNING,
         "A value still reads `TO BE COMPLETED`, as `cme-policy init` left it."),
    Code("O010", "pulls-both-ways", WARNING,
         "A parameter both triggers a duty and permits a step (or its uses and its `stricter:` "
         "pull opposite ways), so no value of it is stricter than another: split it."),
    Code("O011", "statutory-deadline-longer", ERROR,
         "An overlay lengthens or removes a procedure state's statutory deadline."),
    Code("O012", "statutory-measure-redefined", ERROR,
         "An overlay changes a measure that a statutory rule or a guard is stated in."),
    Code("O013", "another-la-inherited", WARNING,
         "An overlay for another local authority still has, unchanged from the base, text "
         "naming the base's authority, or the base's calendar (its term dates)."),
    Code("O014", "guard-weakened", ERROR,
         "An overlay lets a step the base takes only under a guard (a removal from roll while "
         "a ground holds) be taken with no guard or a weaker one."),
    Code("O015", "sealed-by-law", ERROR,
         "An overlay overrides, removes or changes an item of the base's law layer (a file "
         "with `law: true`: the grounds for deletion, the codes, the statutory measures and "
         "values, the safeguards), or declares a law layer of its own; only a statutory "
         "deadline may be shortened, and who records a law's event changed."),
    Code("O016", "law-fact-relabelled", ERROR,
         "An overlay makes an event of its own (or a changed base event) set a fact the law "
         "layer defines, such as the deletion return having been made: only the law's own "
         "events establish it."),
    # R — review: the governors' annual review
    Code("R001", "review-overdue", WARNING,
         "The manifest's `reviewed` date plus its `review_cycle` is before today (or "
         "`CME_POLICY_TODAY`), so the governors' review is overdue."),
)}

FAMILIES: dict[str, str] = {
    "L": "L — load", "S": "S — shape", "X": "X — expression syntax",
    "T": "T — types and units", "N": "N — names", "C": "C — clauses",
    "P": "P — parameters", "V": "V — vocabulary", "G": "G — procedure graphs",
    "O": "O — overlays",
    "R": "R — review",
}
