"""Analyse stage: clause traceability — every citation points to a clause, every clause is
implemented or marked informative."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.ir import model as m
from cme_policy.source.span import Span


@dataclass(frozen=True)
class Coverage:
    implemented: tuple[str, ...]
    informative: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def percent(self) -> float:
        total = len(self.implemented) + len(self.informative) + len(self.missing)
        return 100.0 if total == 0 else 100.0 * (total - len(self.missing)) / total


def citations(policy: m.Policy) -> list[tuple[str, Span, str]]:
    """(clause id, where it is cited, by what) for every citation in the policy."""
    out: list[tuple[str, Span, str]] = []
    for rule in policy.rules:
        out += [(c, rule.at("clause", c), f"rule '{rule.id}'") for c in rule.clauses]
        for o in rule.then:
            out += [(c, o.at("clause", c), f"rule '{rule.id}'") for c in o.clauses]
    for p in policy.procedures:
        out += [(c, p.at("clause", c), f"procedure '{p.id}'") for c in p.clauses]
        for s in p.states:
            out += [(c, s.at("clause", c), f"state '{s.id}'") for c in s.clauses]
        for inv in p.invariants:
            out += [(c, inv.at("clause", c), f"invariant '{inv.id}'") for c in inv.clauses]
    return out


def check_traceability(policy: m.Policy, sink: DiagnosticSink) -> Coverage:
    known = {c.id for c in policy.clauses}
    cited: set[str] = set()
    for clause_id, span, by in citations(policy):
        if clause_id not in known:
            close = difflib.get_close_matches(clause_id, sorted(known), n=1)
            sink.error("C002", f"{by} cites clause '{clause_id}', which is not in the policy text",
                       span, f"did you mean '{close[0]}'?" if close else
                       "cite a {#id} marker of the policy text")
        cited.add(clause_id)
    implemented, informative, missing = [], [], []
    for clause in policy.clauses:
        if clause.id in cited:
            implemented.append(clause.id)
        elif clause.informative:
            informative.append(clause.id)
        else:
            missing.append(clause.id)
            sink.warning("C004", f"clause '{clause.id}' is not implemented by any rule or "
                         "procedure", clause.span,
                         "cite it from a rule or state, "
                         "or mark it `informative: true` under `clauses:`")
    return Coverage(tuple(implemented), tuple(informative), tuple(missing))
