"""Analyse stage: every name a rule, state or scenario uses must be declared, and used."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr.ast import Name, walk
from cme_policy.expr.typecheck import Env
from cme_policy.ir import model as m
from cme_policy.ir.derived import EARLY_PARAMETER
from cme_policy.ir.model import NOWHERE
from cme_policy.source.span import Span


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class References:
    def __init__(self, policy: m.Policy, sink: DiagnosticSink) -> None:
        self.policy, self.sink = policy, sink
        self.roles = {r.id for r in policy.roles}
        self.events = {e.id for e in policy.events}
        self.procedures = {p.id: p for p in policy.procedures}

    def _ref(self, code: str, kind: str, name: str | None, known: Iterable[str], span: Span,
             where: str) -> None:
        if name is None or name in known:
            return
        hint = _suggest(name, known) or f"declare the {kind} first, or check the spelling"
        self.sink.error(code, f"{where} refers to unknown {kind} '{name}'", span, hint)

    def check(self) -> None:
        for rule in self.policy.rules:
            for obligation in rule.then:
                self._ref("N003", "role", obligation.role, self.roles, obligation.at("role"),
                          f"rule '{rule.id}'")
                self._ref("N006", "event", obligation.done_by, self.events,
                          obligation.at("done_by"), f"rule '{rule.id}'")
            self._ref("N004", "procedure", rule.opens, self.procedures, rule.at("opens"),
                      f"rule '{rule.id}'")
        for event in self.policy.events:
            self._ref("N003", "role", event.role, self.roles, event.at("role"),
                      f"event '{event.id}'")
        for procedure in self.policy.procedures:
            self._procedure(procedure)
        self._codes()
        self._scenarios()

    def _procedure(self, p: m.Procedure) -> None:
        states = {s.id for s in p.states}
        where = f"procedure '{p.id}'"
        self._ref("N005", "state", p.initial, states, p.at("initial"), where)
        for event in p.opened_by:
            self._ref("N006", "event", event, self.events, p.at("opened_by", event), where)
        for state in p.states:
            self._ref("N003", "role", state.role, self.roles, state.at("role"),
                      f"state '{state.id}'")
            if state.deadline is not None:
                self._ref("N005", "state", state.deadline.escalate_to, states,
                          state.deadline.at("escalate_to"),
                          f"deadline of state '{state.id}'")
            for t in state.transitions:
                self._ref("N006", "event", t.event, self.events, t.at("event"),
                          f"state '{state.id}'")
                self._ref("N005", "state", t.target, states, t.at("target"), f"state '{state.id}'")
        for inv in p.invariants:
            first, second = ("every_path_to", "passes") if inv.kind == "passes" else (
                "before_leaving", "requires")
            self._ref("N005", "state", inv.state, states, inv.at(first), f"invariant '{inv.id}'")
            self._ref("N005", "state", inv.through, states, inv.at(second),
                      f"invariant '{inv.id}'")

    def _codes(self) -> None:
        categories = next((e for e in self.policy.enums if e.id == "attendance_category"), None)
        members = {x.id for x in categories.members} if categories else set()
        codes = {c.code for c in self.policy.attendance_codes}
        for entry in self.policy.attendance_codes:
            if categories is None:
                self.sink.error("N007", "attendance codes need the enum 'attendance_category'",
                                entry.span,
                                "declare `enums: attendance_category:` with the categories")
                return
            self._ref("N007", "attendance category", entry.category, members,
                      entry.at("category"),
                      f"attendance code '{entry.code}'")
        for measure in self.policy.measures:
            for code in measure.codes:
                self._ref("N008", "attendance code", code, codes, measure.at("codes", code),
                          f"measure '{measure.id}'")

    def _scenarios(self) -> None:
        for scenario in self.policy.scenarios:
            for event in scenario.events:
                self._ref("N006", "event", event.event, self.events, event.at("event"),
                          f"scenario '{scenario.id}'")
                self._ref("N003", "role", event.role, self.roles, event.at("role"),
                          f"scenario '{scenario.id}'")


def check_references(policy: m.Policy, sink: DiagnosticSink) -> None:
    References(policy, sink).check()


def check_unused(policy: m.Policy, env: Env, sink: DiagnosticSink) -> None:
    """Declared but never used: usually a typo elsewhere, or dead policy."""
    for fact in policy.facts:
        guarded = {g.fact for g in policy.safeguards}
        if fact.id not in env.used | guarded and fact.origin != "law" and fact.span != NOWHERE:
            sink.warning("N010", f"fact '{fact.id}' is never used", fact.span,
                         "use it in a rule or guard, or remove it")
    for measure in policy.measures:
        if measure.id not in env.used:
            sink.warning("N010", f"measure '{measure.id}' is never used", measure.span,
                         "use it in a rule or guard, or remove it")
    for param in policy.parameters:
        if param.qualified not in env.used and not _used_as_deadline(policy, param.qualified) \
                and param.qualified != EARLY_PARAMETER:
            sink.warning("N010", f"parameter '{param.qualified}' is never used", param.span,
                         "use it in a rule, deadline or guard, or remove it")
    used_roles = {o.role for r in policy.rules for o in r.then} | {
        s.role for p in policy.procedures for s in p.states} | {e.role for e in policy.events}
    for role in policy.roles:
        if role.holder is None:
            sink.warning("V001", f"role '{role.id}' has no holder", role.span,
                         "say who holds it, e.g. `holder: Mrs A. Example, Headteacher`")
        elif role.id not in used_roles:
            sink.warning("N010", f"role '{role.id}' is never given a duty", role.span,
                         "give it an obligation or a state, or remove it")


def _used_as_deadline(policy: m.Policy, name: str) -> bool:
    exprs = [o.within for r in policy.rules for o in r.then if o.within is not None]
    exprs += [s.deadline.within for p in policy.procedures for s in p.states if s.deadline]
    return any(isinstance(n, Name) and n.dotted == name for e in exprs for n in walk(e))
