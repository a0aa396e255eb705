"""Review stage: `cme-policy explain` — one element of a checked policy in plain English, with
its clause text, sources, what depends on it and the scenarios that test it."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cme_policy.analysis.strictness import directions, parameter_uses
from cme_policy.expr import ast
from cme_policy.expr.printer import to_source
from cme_policy.ir import model as m
from cme_policy.ir.english import Vocabulary, render
from cme_policy.runtime.results import PupilResult


class UnknownId(Exception):
    def __init__(self, wanted: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions \
            else ""
        super().__init__(f"no rule, procedure, state, parameter, role, clause, measure, fact "
                         "or safeguard "
                         f"is called '{wanted}'{hint}")
        self.suggestions = suggestions


@dataclass(frozen=True)
class Target:
    kind: str  # rule | procedure | state | parameter | role | clause | measure | fact | safeguard
    id: str
    node: object
    procedure: m.Procedure | None = None


def _ids(policy: m.Policy) -> Iterator[Target]:
    for rule in policy.rules:
        yield Target("rule", rule.id, rule)
    for proc in policy.procedures:
        yield Target("procedure", proc.id, proc)
        for state in proc.states:
            yield Target("state", f"{proc.id}.{state.id}", state, proc)
    for param in policy.parameters:
        yield Target("parameter", param.qualified, param)
    for role in policy.roles:
        yield Target("role", role.id, role)
    for clause in policy.clauses:
        yield Target("clause", clause.id, clause)
    for measure in policy.measures:
        yield Target("measure", measure.id, measure)
    for fact in policy.facts:
        yield Target("fact", fact.id, fact)
    for guard in policy.safeguards:
        yield Target("safeguard", guard.id, guard)


def resolve(policy: m.Policy, wanted: str) -> Target:
    targets = list(_ids(policy))
    for target in targets:
        if target.id == wanted:
            return target
    bare = [t for t in targets if t.kind == "state" and t.id.split(".", 1)[1] == wanted]
    if len(bare) == 1:
        return bare[0]
    if not wanted.startswith("params."):
        found = [t for t in targets if t.id == f"params.{wanted}"]
        if found:
            return found[0]
    names = [t.id for t in targets] + [t.id.split(".", 1)[1] for t in targets
                                       if t.kind == "state"]
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.6)
    if bare:
        close = [t.id for t in bare]
    raise UnknownId(wanted, close)


class Explainer:
    def __init__(self, policy: m.Policy, results: dict[str, PupilResult | None]) -> None:
        self.policy, self.results = policy, results
        self.vocab = Vocabulary.from_policy(policy)
        self.clauses = {c.id: c for c in policy.clauses}
        self.roles = {r.id: r for r in policy.roles}

    def explain(self, target: Target) -> str:
        method = getattr(self, f"explain_{target.kind}")
        lines: list[str] = method(target)
        return "\n".join(lines)

    # -- shared pieces ------------------------------------------------------------------
    def _english(self, expr: ast.Expr | None) -> str:
        return "always" if expr is None else render(expr, self.vocab)

    def _role(self, role_id: str | None) -> str:
        role = self.roles.get(role_id or "")
        return role.label if role else (role_id or "no one")

    def _clause_lines(self, ids: tuple[str, ...]) -> list[str]:
        out = ["clauses:"] if ids else ["clauses: none"]
        for cid in ids:
            clause = self.clauses.get(cid)
            out.append(f"  {cid}: {' '.join(clause.text.split()) if clause else '(not in text)'}")
        return out

    def _where(self, span: object) -> str:
        return f"defined at: {span}"

    def _scenarios(self, ids: list[str]) -> list[str]:
        return [f"tested by scenarios: {', '.join(ids) if ids else 'none'}"]

    def _fired(self, rule_id: str) -> list[str]:
        out = []
        for scenario in self.policy.scenarios:
            result = self.results.get(scenario.id)
            fired = result is not None and any(r.rule == rule_id and r.fires for r in result.rules)
            if fired or rule_id in scenario.expect.not_fires or rule_id in scenario.expect.fires:
                out.append(scenario.id)
        return out

    def _entered(self, proc: str, state: str | None) -> list[str]:
        out = []
        for scenario in self.policy.scenarios:
            result = self.results.get(scenario.id)
            cases = [c for c in result.cases if c.procedure == proc] if result else []
            hit = bool(cases) if state is None else any(
                c.state == state or any(s.state == state for s in c.history) for c in cases)
            if hit or (proc, state) in scenario.expect.states:
                out.append(scenario.id)
        return out

    def _users(self, name: str) -> list[str]:
        out = [f"  rule {r.id}: {r.title}" for r in self.policy.rules
               if name in (ast.referenced_names(r.when)
                           | {n for o in r.then for n in ast.referenced_names(o.within)})]
        for proc in self.policy.procedures:
            for state in proc.states:
                used = ast.referenced_names(state.deadline.within if state.deadline else None)
                if name in used:
                    out.append(f"  state {proc.id}.{state.id}: deadline of {state.title}")
                for t in state.transitions:
                    if name in ast.referenced_names(t.guard):
                        out.append(f"  transition {proc.id}.{state.id} --{t.event}--> "
                                   f"{t.target}: its guard")
        for event in self.policy.events:
            if any(fact == name for fact, _ in event.sets):
                out.append(f"  event {event.id}: sets it")
        for guard in self.policy.safeguards:
            if guard.fact == name or any(name in ast.referenced_names(r.when)
                                         for r in guard.requirements):
                out.append(f"  safeguard {guard.id}: {guard.title}")
        return out

    # -- kinds --------------------------------------------------------------------------
    def explain_rule(self, t: Target) -> list[str]:
        rule = t.node
        assert isinstance(rule, m.Rule)
        lines = [f"rule {rule.id}: {rule.title}", f"when: {self._english(rule.when)}"]
        for o in rule.then:
            within = f", within {self._english(o.within)}" if o.within is not None else ""
            done = f" (done when: {o.done_by})" if o.done_by else ""
            lines.append(f"then: {o.action} — {self._role(o.role)}{within}{done}")
        if rule.opens:
            proc = next((p for p in self.policy.procedures if p.id == rule.opens), None)
            lines.append(f"opens: procedure {rule.opens}"
                         + (f" ({proc.title})" if proc else ""))
        lines += self._clause_lines(rule.clauses)
        lines.append(f"source: {rule.source or 'none given'}"
                     + (" (statutory)" if rule.statutory else ""))
        params = sorted(n for n in ast.referenced_names(rule.when) | {x for o in rule.then
                                                         for x in ast.referenced_names(o.within)}
                        if n.startswith("params."))
        for name in params:
            p = next(x for x in self.policy.parameters if x.qualified == name) \
                if any(x.qualified == name for x in self.policy.parameters) else None
            if p is not None:
                lines.append(f"  uses {name} = {self._english(p.value)}: "
                             f"{p.source or 'no source'} ({_verified(p.verified)})")
        lines += self._scenarios(self._fired(rule.id))
        lines.append(self._where(rule.span))
        return lines

    def explain_procedure(self, t: Target) -> list[str]:
        proc = t.node
        assert isinstance(proc, m.Procedure)
        lines = [f"procedure {proc.id}: {proc.title}", f"starts in: {proc.initial}",
                 "states: " + ", ".join(s.id for s in proc.states)]
        openers = [r.id for r in self.policy.rules if r.opens == proc.id] + list(proc.opened_by)
        lines.append(f"opened by: {', '.join(openers) or 'nothing'}")
        lines += self._clause_lines(proc.clauses)
        lines += self._scenarios(self._entered(proc.id, None))
        lines.append(self._where(proc.span))
        return lines

    def explain_state(self, t: Target) -> list[str]:
        state, proc = t.node, t.procedure
        assert isinstance(state, m.State) and proc is not None
        lines = [f"state {proc.id}.{state.id}: {state.title}",
                 f"procedure: {proc.title}", f"responsible: {self._role(state.role)}"]
        if state.final:
            lines.append("final: a case ends here")
        if state.deadline is not None:
            d = state.deadline
            lines.append(f"deadline: within {self._english(d.within)}"
                         + (f", then escalate to {d.escalate_to}" if d.escalate_to else "")
                         + (f" ({d.action} is overdue)" if d.action else ""))
        for tr in state.transitions:
            guard = f" if {self._english(tr.guard)}" if tr.guard is not None else ""
            lines.append(f"on {tr.event}{guard} → {tr.target}")
        into = [f"{s.id} (on {tr.event})" for s in proc.states for tr in s.transitions
                if tr.target == state.id]
        into += [f"{s.id} (deadline escalates)" for s in proc.states
                 if s.deadline is not None and s.deadline.escalate_to == state.id]
        start = "the start" if proc.initial == state.id else "nowhere"
        lines.append(f"entered from: {', '.join(into) or start}")
        invariants = [f"{i.id}" for i in proc.invariants if state.id in (i.state, i.through)]
        if invariants:
            lines.append(f"invariants: {', '.join(invariants)}")
        lines += self._clause_lines(state.clauses)
        lines += self._scenarios(self._entered(proc.id, state.id))
        lines.append(self._where(state.span))
        return lines

    def explain_parameter(self, t: Target) -> list[str]:
        p = t.node
        assert isinstance(p, m.Parameter)
        lines = [f"parameter {p.qualified}: {p.label}", f"value: {self._english(p.value)}",
                 f"source: {p.source or 'none given'} ({_verified(p.verified)})"]
        uses = parameter_uses(self.policy).get(p.qualified, [])
        ways = directions(uses)
        if len(ways) > 1:
            lines.append("stricter: neither way — its uses pull both ways (split it)")
        elif ways:
            way = next(iter(ways))
            lines.append(f"stricter: {way} (it {uses[0].phrase})")
        if p.statutory:
            allowed = next(iter(ways)) if len(ways) == 1 else p.stricter if not ways else None
            lines.append(f"statutory: an overlay may only make it {allowed}" if allowed else
                         "statutory: an overlay may not change it")
        users = self._users(p.qualified)
        lines += ["used by:", *users] if users else ["used by: nothing"]
        rules = [u.split()[1].rstrip(":") for u in users if u.startswith("  rule ")]
        states = [u.split()[1].rstrip(":") for u in users if u.startswith("  state ")]
        tested = sorted({s for r in rules for s in self._fired(r)} | {
            s for st in states for s in self._entered(*st.split(".", 1))})
        lines += self._scenarios(tested)
        lines.append(self._where(p.span))
        return lines

    def explain_role(self, t: Target) -> list[str]:
        role = t.node
        assert isinstance(role, m.Role)
        lines = [f"role {role.id}: {role.label}", f"held by: {role.holder or 'no one named'}"
                 + (" (outside the school)" if role.external else "")]
        duties = [f"  rule {r.id}: {o.action}" for r in self.policy.rules for o in r.then
                  if o.role == role.id]
        duties += [f"  state {p.id}.{s.id}: {s.title}" for p in self.policy.procedures
                   for s in p.states if s.role == role.id]
        lines += ["duties:", *duties] if duties else ["duties: none"]
        tested = [s.id for s in self.policy.scenarios if (r := self.results.get(s.id))
                  and any(a.role == role.id for a in r.actions)]
        lines += self._scenarios(tested)
        lines.append(self._where(role.span))
        return lines

    def explain_clause(self, t: Target) -> list[str]:
        c = t.node
        assert isinstance(c, m.Clause)
        lines = [f"clause {c.id}" + (f" ({c.heading})" if c.heading else ""),
                 f"text: {' '.join(c.text.split())}"]
        if c.informative:
            lines.append("informative: nothing needs to implement it")
        for item in c.review:
            lines.append(f"differs from current law: {item.summary}; sources: "
                         f"{'; '.join(item.sources) or 'none'} ({_verified(item.verified)})")
        rules = [r.id for r in self.policy.rules if c.id in r.clauses or
                 any(c.id in o.clauses for o in r.then)]
        states = [(p.id, s.id) for p in self.policy.procedures for s in p.states
                  if c.id in s.clauses]
        procs = [p.id for p in self.policy.procedures if c.id in p.clauses]
        impl = [f"  rule {r}" for r in rules] + [f"  procedure {p}" for p in procs] + [
            f"  state {p}.{s}" for p, s in states]
        lines += ["implemented by:", *impl] if impl else ["implemented by: nothing"]
        tested = sorted({s for r in rules for s in self._fired(r)} | {
            s for p, st in states for s in self._entered(p, st)} | {
            s for p in procs for s in self._entered(p, None)})
        lines += self._scenarios(tested)
        lines.append(self._where(c.span))
        return lines

    def explain_measure(self, t: Target) -> list[str]:
        x = t.node
        assert isinstance(x, m.Measure)
        return self._value(t.id, f"measure {x.id}: {x.label}", f"kind: {x.kind}"
                           + (f"; codes: {', '.join(x.codes)}" if x.codes else ""), x.span)

    def explain_fact(self, t: Target) -> list[str]:
        x = t.node
        assert isinstance(x, m.Fact)
        what = f"type: {x.type_name}; from: {x.origin or 'not said'}"
        if x.lasts == "until_present":
            what += "; a value an event sets lasts until the pupil next attends"
        elif x.lasts is not None and not isinstance(x.lasts, str):
            what += f"; a value an event sets lasts {to_source(x.lasts)}"
        lines = self._value(t.id, f"fact {x.id}: {x.label}", what, x.span)
        if x.description:
            lines.insert(2, " ".join(x.description.split()))
        if x.span == m.NOWHERE:  # built in: every policy has it without declaring it
            lines[-1] = "defined at: built in (every policy has it)"
        return lines

    def explain_safeguard(self, t: Target) -> list[str]:
        g = t.node
        assert isinstance(g, m.Safeguard)
        steps = sorted(e.id for e in self.policy.events
                       if any(f == g.fact and to_source(v) == "true" for f, v in e.sets))
        lines = [f"safeguard {g.id} (the law layer): {g.title}",
                 "checked on the day any event makes it true that "
                 f"{self._english(ast.Name((g.fact,)))}"
                 f" (events: {', '.join(steps) or 'none'}), whichever procedure records it:"]
        for r in g.requirements:
            lines.append(f"  requires ({r.id}) {r.title}: {self._english(r.when)}"
                         f" — {r.source or 'no source'}")
        if g.description:
            lines.append(" ".join(g.description.split()))
        lines += self._clause_lines(g.clauses)
        lines.append(self._where(g.span))
        return lines

    def _value(self, name: str, head: str, what: str, span: object) -> list[str]:
        users = self._users(name)
        rules = [u.split()[1].rstrip(":") for u in users if u.startswith("  rule ")]
        lines = [head, what, *(["used by:", *users] if users else ["used by: nothing"])]
        lines += self._scenarios(sorted({s for r in rules for s in self._fired(r)}))
        lines.append(self._where(span))
        return lines


def _verified(ok: bool) -> str:
    return "verified" if ok else "UNVERIFIED"


def explain(policy: m.Policy, root: Path, wanted: str) -> str:
    """Plain English for one element; raises UnknownId with suggestions."""
    from cme_policy.scenarios import run_scenarios

    target = resolve(policy, wanted)
    report = run_scenarios(policy, root)
    results = {r.scenario.id: r.result for r in report.results}
    explainer = Explainer(policy, results)
    return explainer.explain(target)
