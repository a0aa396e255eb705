"""Review stage: the kinds of change `cme-policy diff` reports, each with a stable id and a
one-sentence purpose (the list in docs/review.md is generated from this table)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    id: str
    purpose: str
    weakens: bool = False  # whether every change of this kind weakens a duty


_KINDS = (
    # manifest
    Kind("MANIFEST_CHANGED", "The manifest's title, school, local authority, review date or "
         "review cycle changed."),
    # parameters
    Kind("PARAM_ADDED", "A parameter was added."),
    Kind("PARAM_REMOVED", "A parameter was removed; it weakens a duty when it was statutory.",),
    Kind("PARAM_VALUE_CHANGED", "A parameter's value changed; it weakens a duty when a statutory "
         "parameter moved the lax way — judged by its uses (a trigger stricter lower, a "
         "permission stricter higher, one pulling both ways may not move), else by "
         "`stricter:` — or a deadline became longer."),
    Kind("PARAM_SOURCE_CHANGED", "A parameter's source, `verified` flag or statutory status "
         "changed."),
    # measures and what events and facts mean
    Kind("MEASURE_ADDED", "A measure was added."),
    Kind("MEASURE_REMOVED", "A measure was removed; it weakens a duty when a statutory rule "
         "or a guard was stated in it."),
    Kind("MEASURE_CHANGED", "A measure's kind, codes or arguments changed; it weakens a duty "
         "when a statutory rule or a guard is stated in it (the law's own terms)."),
    Kind("EVENT_EFFECT_CHANGED", "What an event makes true (its `sets:`) changed, so every "
         "rule and guard reading those facts means something else."),
    Kind("FACT_SCOPE_CHANGED", "How long a fact an event sets holds (`lasts:`) changed."),
    # the law's safeguards
    Kind("SAFEGUARD_ADDED", "A safeguard of the law layer was added: a step it guards is "
         "checked against the law whichever event records it."),
    Kind("SAFEGUARD_REMOVED", "A safeguard of the law layer was removed, so an unlawful step "
         "(a deletion with no ground) is no longer reported.", True),
    Kind("SAFEGUARD_CHANGED", "A safeguard's requirements changed; it weakens a duty when a "
         "requirement was removed or reworded (one only added makes steps harder to take)."),
    # rules
    Kind("RULE_ADDED", "A rule was added."),
    Kind("RULE_REMOVED", "A rule was removed, so the duty it raised is no longer raised.", True),
    Kind("RULE_CONDITION_CHANGED", "A rule's condition changed in a way that is not simply a "
         "threshold moved; read the old and new conditions."),
    Kind("RULE_THRESHOLD_LAXER", "A threshold in a rule's condition moved so that the rule fires "
         "later or less often.", True),
    Kind("RULE_THRESHOLD_STRICTER", "A threshold in a rule's condition moved so that the rule "
         "fires sooner or more often."),
    Kind("RULE_OPENS_CHANGED", "The procedure a rule opens changed; it weakens a duty when the "
         "rule no longer opens one."),
    Kind("RULE_CLAUSES_CHANGED", "The clauses a rule cites changed."),
    # obligations
    Kind("OBLIGATION_ADDED", "A rule gained an obligation."),
    Kind("OBLIGATION_REMOVED", "A rule lost an obligation.", True),
    Kind("OBLIGATION_ACTION_CHANGED", "The words of an obligation's action changed."),
    Kind("OBLIGATION_ROLE_CHANGED", "The role responsible for an obligation changed."),
    Kind("OBLIGATION_DEADLINE_LONGER", "An obligation's deadline became longer.", True),
    Kind("OBLIGATION_DEADLINE_SHORTER", "An obligation's deadline became shorter."),
    Kind("OBLIGATION_DEADLINE_CHANGED", "An obligation's deadline changed in a way that cannot be "
         "ordered (different units, or added or removed); it weakens a duty when removed."),
    # procedures
    Kind("PROCEDURE_ADDED", "A procedure was added."),
    Kind("PROCEDURE_REMOVED", "A procedure was removed with all its states.", True),
    Kind("STATE_ADDED", "A state was added to a procedure."),
    Kind("STATE_REMOVED", "A state was removed from a procedure.", True),
    Kind("STATE_ROLE_CHANGED", "The role responsible for a state changed."),
    Kind("STATE_DEADLINE_LONGER", "A state's deadline became longer.", True),
    Kind("STATE_DEADLINE_SHORTER", "A state's deadline became shorter."),
    Kind("STATE_DEADLINE_CHANGED", "A state's deadline or escalation changed in a way that cannot "
         "be ordered; it weakens a duty when the deadline was removed."),
    Kind("TRANSITION_ADDED", "A transition was added between two states."),
    Kind("TRANSITION_REMOVED", "A transition was removed.", True),
    Kind("TRANSITION_GUARD_CHANGED", "The guard of a transition changed."),
    Kind("INVARIANT_ADDED", "A declared invariant was added."),
    Kind("INVARIANT_REMOVED", "A declared invariant was removed, so the guarantee is no longer "
         "checked.", True),
    Kind("INVARIANT_CHANGED", "What a declared invariant guarantees changed."),
    # text and vocabulary
    Kind("CLAUSE_ADDED", "A clause was added to the policy text."),
    Kind("CLAUSE_REMOVED", "A clause was removed from the policy text."),
    Kind("CLAUSE_TEXT_CHANGED", "The words of a clause changed (shown as a short word diff)."),
    Kind("ROLE_ADDED", "A role was added."),
    Kind("ROLE_REMOVED", "A role was removed."),
    Kind("ROLE_CHANGED", "A role's holder, label or external flag changed."),
    Kind("LA_ENTRY_ADDED", "An entry was added to the local authority profile."),
    Kind("LA_ENTRY_REMOVED", "An entry was removed from the local authority profile."),
    Kind("LA_ENTRY_CHANGED", "An entry of the local authority profile changed its value, label, "
         "source or `verified` flag."),
)

KINDS: dict[str, Kind] = {k.id: k for k in _KINDS}
# Kinds whose changes weaken a duty only in some cases (the change says which).
SOMETIMES = frozenset({"PARAM_REMOVED", "PARAM_VALUE_CHANGED", "PARAM_SOURCE_CHANGED",
                       "RULE_OPENS_CHANGED", "OBLIGATION_DEADLINE_CHANGED",
                       "STATE_DEADLINE_CHANGED"})


def markdown() -> str:
    """docs/review.md: the change kinds, in table order."""
    lines = ["# Change kinds of `cme-policy diff`", "",
             "Generated from `cme_policy/review/kinds.py` "
             "(`python -m cme_policy.review.kinds > docs/review.md`).", "",
             "`cme-policy diff OLD NEW` pairs the elements of two policy versions by their ids "
             "(parameters by `params.group.name`, states by `procedure.state`, transitions by "
             "`procedure.state --event--> target`, obligations by `done_by` or position) and "
             "reports each change with both locations, whether it weakens a duty, and the "
             "scenarios whose outcome differs. `--fail-on weakening` exits 1 when any change "
             "weakens a duty.", "",
             "A change weakens a duty when a statutory parameter moves against `stricter:`, a "
             "deadline becomes longer, an obligation, rule, procedure, state, transition or "
             "invariant is removed, or a threshold is made laxer (action comes later).", "",
             "| kind | weakens a duty | purpose |", "|---|---|---|"]
    for kind in _KINDS:
        weakens = "yes" if kind.weakens else ("sometimes" if kind.id in SOMETIMES else "no")
        lines.append(f"| `{kind.id}` | {weakens} | {kind.purpose} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
