"""Docs backend: what the handbook says, decided once from the policy for HTML and Markdown.

Everything here is plain text (never markup); the templates escape it for their format.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from cme_policy.backends.diagrams.chart import (
    escalation_words,
    event_words,
    slug,
    transition_words,
    within_words,
)
from cme_policy.expr import ast
from cme_policy.ir import model as m
from cme_policy.ir.english import MONTHS, Vocabulary, render


@dataclass(frozen=True, slots=True)
class Link:
    anchor: str | None  # None: the target is not in the policy (shown as plain text)
    text: str


@dataclass(frozen=True, slots=True)
class ParamRef:
    name: str
    label: str
    source: str | None
    verified: bool
    statutory: bool


@dataclass(frozen=True, slots=True)
class ObligationView:
    action: str
    role: str
    deadline: str  # "within 1 school day" or "no deadline set"
    source: str | None


@dataclass(frozen=True, slots=True)
class RuleView:
    id: str
    anchor: str
    title: str
    condition: str
    obligations: tuple[ObligationView, ...]
    opens: Link | None
    source: str | None
    statutory: bool
    params: tuple[ParamRef, ...]
    clauses: tuple[Link, ...]
    description: str | None
    scenarios: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class StepView:
    id: str
    anchor: str
    title: str
    role: str
    deadline: str
    escalation: str
    exits: tuple[str, ...]
    final: bool
    initial: bool
    clauses: tuple[Link, ...]
    scenarios: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class ProcedureView:
    id: str
    anchor: str
    title: str
    description: str | None
    clauses: tuple[Link, ...]
    opened_by: tuple[Link, ...]
    steps: tuple[StepView, ...]
    invariants: tuple[str, ...]
    params: tuple[ParamRef, ...]
    diagram: str  # the file stem of its flowchart in diagrams/


@dataclass(frozen=True, slots=True)
class ClauseView:
    id: str
    anchor: str
    heading: str | None
    text: str
    informative: bool
    note: str | None
    rules: tuple[RuleView, ...]
    steps: tuple[Link, ...]  # procedures, states and invariants that cite it
    reviews: int

    @property
    def status(self) -> str:
        if self.rules or self.steps:
            return "implemented"
        return "informative" if self.informative else "not implemented"


@dataclass(frozen=True, slots=True)
class Duty:
    text: str
    deadline: str
    where: Link


@dataclass(frozen=True, slots=True)
class RoleView:
    id: str
    label: str
    holder: str | None
    external: bool
    duties: tuple[Duty, ...]


@dataclass(frozen=True, slots=True)
class ParamView:
    name: str
    label: str
    value: str
    unit: str
    statutory: bool
    stricter: str | None
    source: str | None
    verified: bool
    effective: str


@dataclass(frozen=True, slots=True)
class TraceRow:
    clause: Link
    status: str
    implemented_by: tuple[Link, ...]
    scenarios: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class ScenarioView:
    anchor: str
    number: str  # "S12": short enough for the traceability table
    id: str
    title: str
    as_of: str


@dataclass(frozen=True, slots=True)
class ReviewView:
    anchor: str
    clause: Link
    clause_text: str
    summary: str
    text_says: str | None
    law_says: str | None
    sources: tuple[str, ...]
    verified: bool


@dataclass(frozen=True, slots=True)
class ContactView:
    label: str
    value: str
    source: str | None
    verified: bool


@dataclass(frozen=True, slots=True)
class Handbook:
    title: str
    school: str
    local_authority: str
    governing_body: str
    source_label: str
    reviewed: str
    review_cycle: str
    next_review: str
    adopted: str | None
    clauses: tuple[ClauseView, ...]
    rules: tuple[RuleView, ...]
    procedures: tuple[ProcedureView, ...]
    roles: tuple[RoleView, ...]
    parameters: tuple[ParamView, ...]
    traceability: tuple[TraceRow, ...]
    reviews: tuple[ReviewView, ...]
    scenarios: tuple[ScenarioView, ...] = field(default=())
    contacts: tuple[ContactView, ...] = field(default=())
    contacts_name: str | None = None


def anchor(kind: str, *ids: str) -> str:
    return "-".join([kind, *(slug(i) for i in ids)])


def date_words(d: dt.date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def next_review(reviewed: dt.date, cycle: ast.DurationLit) -> str:
    """Reviewed + cycle in words; school days and sessions need a calendar, so say so."""
    unit, n = cycle.unit, cycle.amount
    if unit in (ast.Unit.MONTHS, ast.Unit.YEARS):
        months = reviewed.month - 1 + n * (12 if unit is ast.Unit.YEARS else 1)
        year, month = reviewed.year + months // 12, months % 12 + 1
        day = min(reviewed.day, calendar.monthrange(year, month)[1])
        return date_words(dt.date(year, month, day))
    if unit in (ast.Unit.DAYS, ast.Unit.WEEKS):
        return date_words(reviewed + dt.timedelta(days=n * (7 if unit is ast.Unit.WEEKS else 1)))
    return f"{n} {unit.spell(n)} after {date_words(reviewed)}"


def clause_text(text: str) -> str:
    """The clause's own words: a heading line that trails into the text is not one of them."""
    lines = [line for line in text.splitlines() if not re.match(r"^\s{0,3}#{1,6}\s", line)]
    return "\n".join(lines).strip()


class _Builder:
    def __init__(self, policy: m.Policy) -> None:
        self.p = policy
        self.vocab = Vocabulary.from_policy(policy)
        self.roles = {r.id: r for r in policy.roles}
        self.params = {x.qualified: x for x in policy.parameters}
        self.clause_ids = {c.id for c in policy.clauses}
        self.rule_ids = {r.id for r in policy.rules}
        self.proc_ids = {x.id for x in policy.procedures}
        self._tested = self._index_scenarios()

    # -- small pieces --------------------------------------------------------------------
    def role(self, role_id: str | None) -> str:
        if role_id is None:
            return "no one named"
        found = self.roles.get(role_id)
        return found.label if found is not None else role_id.replace("_", " ")

    def clause_links(self, ids: tuple[str, ...]) -> tuple[Link, ...]:
        return tuple(Link(anchor("clause", c) if c in self.clause_ids else None, c)
                     for c in dict.fromkeys(ids))

    def rule_link(self, rule_id: str) -> Link:
        rule = next((r for r in self.p.rules if r.id == rule_id), None)
        return Link(anchor("rule", rule_id) if rule else None, rule.title if rule else rule_id)

    def proc_link(self, proc_id: str) -> Link:
        proc = next((x for x in self.p.procedures if x.id == proc_id), None)
        return Link(anchor("proc", proc_id) if proc else None, proc.title if proc else proc_id)

    def param_refs(self, exprs: list[ast.Expr | None]) -> tuple[ParamRef, ...]:
        seen: dict[str, ParamRef] = {}
        for expr in exprs:
            for node in ast.walk(expr) if expr is not None else []:
                if isinstance(node, ast.Name) and node.dotted in self.params:
                    x = self.params[node.dotted]
                    seen.setdefault(x.qualified, ParamRef(x.qualified, x.label, x.source,
                                                          x.verified, x.statutory))
        return tuple(seen.values())

    def within(self, expr: ast.Expr | None) -> str:
        return within_words(expr, self.vocab) if expr is not None else "no deadline set"

    def rule_deadline(self, expr: ast.Expr | None) -> str:
        words = self.within(expr)
        if words.startswith("within "):
            return f"{words} of the rule first applying"
        return "on the day the rule first applies" if expr is not None else words

    # -- scenarios (read from their expectations: which rules and steps they check) -------
    def rule_scenarios(self, rule_id: str) -> tuple[Link, ...]:
        return tuple(self._tested.get(("rule", rule_id), ()))

    def state_scenarios(self, proc_id: str, state_id: str) -> tuple[Link, ...]:
        return tuple(self._tested.get(("state", proc_id, state_id), ()))

    def scenario_views(self) -> tuple[ScenarioView, ...]:
        return tuple(ScenarioView(anchor("scenario", s.id), f"S{i}", s.id, s.title,
                                  date_words(s.as_of))
                     for i, s in enumerate(self.p.scenarios, start=1))

    def _index_scenarios(self) -> dict[tuple[str, ...], list[Link]]:
        """What each scenario's expectations check: rules (fires, not_fires, actions) and
        procedure steps (states, actions and violations in that state)."""
        index: dict[tuple[str, ...], list[Link]] = {}
        for number, s in enumerate(self.p.scenarios, start=1):
            e = s.expect
            keys: list[tuple[str, ...]] = [("rule", r) for r in (*e.fires, *e.not_fires)]
            keys += [("state", proc, state) for proc, state in e.states]
            for item in map(dict, (*e.actions, *e.violations)):
                if "rule" in item:
                    keys.append(("rule", item["rule"]))
                if "procedure" in item and "state" in item:
                    keys.append(("state", item["procedure"], item["state"]))
            for key in dict.fromkeys(keys):
                index.setdefault(key, []).append(Link(anchor("scenario", s.id), f"S{number}"))
        return index

    # -- sections ------------------------------------------------------------------------
    def rule(self, r: m.Rule) -> RuleView:
        obligations = tuple(ObligationView(o.action, self.role(o.role), self.within(o.within),
                                           o.source) for o in r.then)
        cited = r.clauses + tuple(c for o in r.then for c in o.clauses)
        return RuleView(
            r.id, anchor("rule", r.id), r.title, render(r.when, self.vocab), obligations,
            self.proc_link(r.opens) if r.opens else None, r.source, r.statutory,
            self.param_refs([r.when, *(o.within for o in r.then)]), self.clause_links(cited),
            r.description, self.rule_scenarios(r.id))

    def step(self, p: m.Procedure, s: m.State) -> StepView:
        escalation = "—"
        if s.deadline is not None:
            target = p.state(s.deadline.escalate_to) if s.deadline.escalate_to else None
            parts = []
            if target is not None:
                parts.append(f"{escalation_words(s.deadline, self.vocab)}: the case moves to "
                             f"“{target.title}” ({self.role(target.role)})")
            if s.deadline.action:
                parts.append(f"overdue action: {s.deadline.action}")
            escalation = "; ".join(parts) or "—"
        exits = tuple(f"{transition_words(self.p, t, self.vocab)} → "
                      f"{(p.state(t.target) or s).title if p.state(t.target) else t.target}"
                      for t in s.transitions)
        deadline = self.within(s.deadline.within) if s.deadline else \
            ("case ends here" if s.final else "no deadline set")
        return StepView(s.id, anchor("state", p.id, s.id), s.title,
                        self.role(s.role) if s.role else "—", deadline, escalation, exits,
                        s.final, s.id == p.initial, self.clause_links(s.clauses),
                        self.state_scenarios(p.id, s.id))

    def procedure(self, p: m.Procedure) -> ProcedureView:
        opened = [r.id for r in self.p.rules if r.opens == p.id] + list(p.opened_by)
        invariants = []
        for inv in p.invariants:
            a, b = p.state(inv.state), p.state(inv.through)
            at, through = (a.title if a else inv.state), (b.title if b else inv.through)
            text = (f"every way to “{at}” passes “{through}”" if inv.kind == "passes" else
                    f"“{at}” is not left before “{through}” has been reached")
            if inv.source:
                text += f" ({inv.source})"
            invariants.append(text[0].upper() + text[1:])
        deadlines = [s.deadline.within for s in p.states if s.deadline is not None]
        return ProcedureView(
            p.id, anchor("proc", p.id), p.title, p.description, self.clause_links(p.clauses),
            tuple(self.rule_link(r) if r in self.rule_ids else Link(None, event_words(self.p, r))
                  for r in dict.fromkeys(opened)),
            tuple(self.step(p, s) for s in p.states), tuple(invariants),
            self.param_refs(list(deadlines)), slug(p.id))

    def clause(self, c: m.Clause, rules: tuple[RuleView, ...]) -> ClauseView:
        mine = tuple(r for r in rules if any(link.text == c.id for link in r.clauses))
        steps: list[Link] = []
        for p in self.p.procedures:
            if c.id in p.clauses:
                steps.append(Link(anchor("proc", p.id), f"procedure: {p.title}"))
            for s in p.states:
                if c.id in s.clauses:
                    steps.append(Link(anchor("state", p.id, s.id), f"step: {s.title}"))
            for inv in p.invariants:
                if c.id in inv.clauses:
                    steps.append(Link(anchor("proc", p.id), f"safeguard in {p.title}: "
                                      f"{inv.id.replace('_', ' ')}"))
        return ClauseView(c.id, anchor("clause", c.id), c.heading, clause_text(c.text),
                          c.informative, c.note, mine, tuple(steps), len(c.review))

    def roles_view(self) -> tuple[RoleView, ...]:
        duties: dict[str, list[Duty]] = {r.id: [] for r in self.p.roles}
        for r in self.p.rules:
            for o in r.then:
                duties.setdefault(o.role, []).append(
                    Duty(o.action, self.rule_deadline(o.within),
                         Link(anchor("rule", r.id), r.title)))
        for p in self.p.procedures:
            for s in p.states:
                if s.role is not None and not s.final:
                    deadline = self.within(s.deadline.within) if s.deadline else "no deadline set"
                    duties.setdefault(s.role, []).append(
                        Duty(s.title, deadline, Link(anchor("state", p.id, s.id), p.title)))
        out = []
        for role_id, found in duties.items():
            role = self.roles.get(role_id)
            out.append(RoleView(role_id, self.role(role_id), role.holder if role else None,
                                role.external if role else False, tuple(found)))
        return tuple(out)

    def parameter(self, x: m.Parameter) -> ParamView:
        value = x.value
        unit = {ast.DurationLit: value.unit.value if isinstance(value, ast.DurationLit) else "",
                ast.IntLit: "number", ast.PercentLit: "per cent",
                ast.DateLit: "date"}.get(type(value), "")
        effective = " – ".join(date_words(d) for d in (x.effective_from, x.effective_to) if d)
        if x.effective_from and not x.effective_to:
            effective = f"from {effective}"
        elif x.effective_to and not x.effective_from:
            effective = f"until {effective}"
        return ParamView(x.qualified, x.label, render(value, self.vocab), unit, x.statutory,
                         x.stricter, x.source, x.verified, effective or "always")

    def trace(self, c: ClauseView) -> TraceRow:
        links = [Link(r.anchor, f"rule: {r.title}") for r in c.rules] + list(c.steps)
        scenarios: list[Link] = [s for r in c.rules for s in r.scenarios]
        for p in self.p.procedures:
            for s in p.states:
                if c.id in s.clauses or c.id in p.clauses:
                    scenarios += self.state_scenarios(p.id, s.id)
        numbers = {int(link.text[1:]): link for link in scenarios}
        return TraceRow(Link(c.anchor, c.id), c.status, tuple(links),
                        tuple(numbers[n] for n in sorted(numbers)))

    def reviews(self) -> tuple[ReviewView, ...]:
        out = []
        for c in self.p.clauses:
            for i, item in enumerate(c.review):
                name = anchor("review-clause", c.id) + (f"-{i + 1}" if i else "")
                out.append(ReviewView(name, Link(anchor("clause", c.id), c.id),
                                      clause_text(c.text), item.summary, item.text_says,
                                      item.law_says, item.sources, item.verified))
        return tuple(out)

    def build(self, source_label: str) -> Handbook:
        man = self.p.manifest
        rules = tuple(self.rule(r) for r in self.p.rules)
        clauses = tuple(self.clause(c, rules) for c in self.p.clauses)
        la = self.p.la_profile
        return Handbook(
            man.title, man.school, man.local_authority, man.governing_body or "the governing body",
            " ".join(source_label.split()), date_words(man.reviewed),
            render(man.review_cycle, self.vocab), next_review(man.reviewed, man.review_cycle),
            date_words(man.adopted) if man.adopted else None, clauses, rules,
            tuple(self.procedure(p) for p in self.p.procedures), self.roles_view(),
            tuple(self.parameter(x) for x in self.p.parameters),
            tuple(self.trace(c) for c in clauses), self.reviews(), self.scenario_views(),
            tuple(ContactView(e.label, e.value, e.source, e.verified) for e in la.entries)
            if la else (), la.name if la else None)


def build_handbook(policy: m.Policy, source_label: str) -> Handbook:
    return _Builder(policy).build(source_label)
