"""Docs backend: what the governors' review pack says, in the order a review meeting needs it.

Decisions first (where the text differs from the law, unverified figures, the school's own
readings), then what changed, who does what, each procedure with its clause words, flowchart
and step table, a glossary and the sign-off. Built from the handbook's content plus the
policy; plain text only, with every internal name (clause codes, parameter names, source
grades) said in words by `words.Plain`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from cme_policy.backends.docs.content import (
    Handbook,
    RoleView,
    anchor,
    clause_text,
    next_review,
)
from cme_policy.backends.docs.glossary import GlossaryEntry, build_glossary
from cme_policy.backends.docs.words import Plain, clause_name
from cme_policy.expr import ast
from cme_policy.ir import model as m
from cme_policy.ir.english import Vocabulary, render

KINDS = {"differs": "The policy text differs from current law",
         "reading": "A reading the law leaves open",
         "unverified": "A figure or fact not yet checked"}
NO_DEADLINE = "No deadline — decide one?"
SIGNERS = ("Chair of governors", "Link governor for attendance and safeguarding",
           "Headteacher", "Designated safeguarding lead (DSL)", "Attendance lead")


@dataclass(frozen=True, slots=True)
class Decision:
    number: int
    anchor: str
    kind: str  # a key of KINDS
    heading: str
    where: str  # the clause's name, or "Figure used by the checks"
    policy_words: str
    law_words: str  # empty for a figure, which has only its source
    sources: str
    proposal: str
    drafted: bool  # the proposal is drafted here from the law's words, not the policy's own

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True, slots=True)
class PackDuty:
    text: str
    deadline: str | None  # None: the policy sets none
    where: str


@dataclass(frozen=True, slots=True)
class PackRole:
    anchor: str
    label: str
    holder: str | None
    external: bool
    duties: tuple[PackDuty, ...]

    @property
    def undecided(self) -> int:
        return sum(1 for d in self.duties if d.deadline is None)


@dataclass(frozen=True, slots=True)
class PackClause:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class PackStep:
    title: str
    role: str
    deadline: str
    if_late: str
    final: bool


@dataclass(frozen=True, slots=True)
class PackProcedure:
    number: int
    anchor: str
    id: str  # the key of its flowchart; never shown
    title: str
    description: str
    clauses: tuple[PackClause, ...]
    opened_by: tuple[str, ...]
    steps: tuple[PackStep, ...]
    safeguards: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PackChange:
    text: str
    details: tuple[str, ...]
    weakens: bool


@dataclass(frozen=True, slots=True)
class PupilChange:
    """A worked example (scenario) whose outcome for the pupil changes."""

    title: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PackChanges:
    old: str
    items: tuple[PackChange, ...]
    pupils: tuple[PupilChange, ...]

    @property
    def weakening(self) -> int:
        return sum(1 for c in self.items if c.weakens)


@dataclass(frozen=True, slots=True)
class Pack:
    title: str
    school: str
    local_authority: str
    governing_body: str
    version: str
    reviewed: str
    next_review: str
    review_cycle: str
    following_review: str  # the review after this one, a cycle after this one is due
    decisions: tuple[Decision, ...]
    changes: PackChanges | None
    roles: tuple[PackRole, ...]
    idle_roles: tuple[str, ...]  # roles with no duties, named in one line
    procedures: tuple[PackProcedure, ...]
    glossary: tuple[GlossaryEntry, ...]
    signers: tuple[str, ...] = SIGNERS

    def count(self, kind: str) -> int:
        return sum(1 for d in self.decisions if d.kind == kind)

    def groups(self) -> tuple[tuple[str, tuple[Decision, ...], tuple[Decision, ...]], ...]:
        """(kind label, items quoting the law, figures) for each kind that has any."""
        out = []
        for kind, label in KINDS.items():
            mine = [d for d in self.decisions if d.kind == kind]
            if mine:
                out.append((label, tuple(d for d in mine if d.law_words),
                            tuple(d for d in mine if not d.law_words)))
        return tuple(out)

    @property
    def undecided_deadlines(self) -> int:
        return sum(r.undecided for r in self.roles)

    @property
    def duties(self) -> int:
        return sum(len(r.duties) for r in self.roles)


def policy_version(policy: m.Policy) -> str:
    """A fingerprint of the policy's source files: any edit gives another version."""
    digest = hashlib.sha256()
    for f in sorted(policy.files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.sha256}\n".encode())
    return digest.hexdigest()[:12]


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


class _PackBuilder:
    def __init__(self, policy: m.Policy, handbook: Handbook) -> None:
        self.p, self.h = policy, handbook
        self.plain = Plain(policy)
        self.vocab = Vocabulary.from_policy(policy)
        self.la = policy.manifest.local_authority
        self.h_roles = {r.id: r.label for r in handbook.roles}

    # -- decisions -------------------------------------------------------------------------
    def decisions(self) -> tuple[Decision, ...]:
        found = [d for c in self.p.clauses for d in self._clause_decisions(c)]
        found += [self._parameter_decision(x) for x in self.p.parameters if not x.verified]
        if self.p.la_profile is not None:
            found += [self._contact_decision(e) for e in self.p.la_profile.entries
                      if not e.verified]
        found += [self._code_decision(c) for c in self.p.attendance_codes if not c.verified]
        order = list(KINDS)
        # Within a kind, items quoting the law (cards) before figures (rows of one table).
        found.sort(key=lambda d: (order.index(d.kind), not d.law_words))  # stable
        return tuple(replace(d, number=i, anchor=f"decision-{i}")
                     for i, d in enumerate(found, start=1))

    def _clause_decisions(self, c: m.Clause) -> list[Decision]:
        out = []
        for item in c.review:
            text = f"{item.summary} {item.law_says or ''}".lower()
            kind = ("reading" if "reading" in text else
                    "differs" if item.text_says or item.verified else "unverified")
            law = self.plain(item.law_says) or "See the sources."
            if item.proposed:
                proposal, drafted = self.plain(item.proposed), False
            elif kind == "reading":
                proposal = (f"Keep this reading, say so in the policy, and ask {self.la} to "
                            "confirm it.")
                drafted = True
            elif kind == "unverified":
                proposal = "Keep it for now; check it against the sources before the next review."
                drafted = True
            elif item.text_says:
                proposal, drafted = "Reword the clause to say what current law says.", True
            else:
                proposal, drafted = "Add to the clause what current law says.", True
            out.append(Decision(
                0, "", kind, self.plain(item.summary), clause_name(c.id),
                self.plain(item.text_says) or self.plain(clause_text(c.text)), law,
                self._sources(item.sources, item.verified), proposal, drafted))
        return out

    def _sources(self, sources: tuple[str, ...], verified: bool) -> str:
        text = "; ".join(self.plain(s) for s in sources) or "none given"
        return text + ("" if verified else " — not yet verified")

    def _parameter_decision(self, x: m.Parameter) -> Decision:
        value = render(x.value, self.vocab)
        source = self.plain(x.source) or "no source given"
        kind = "reading" if "reading" in source.lower() else "unverified"
        proposal = (f"Confirm {value} as the school's reading, or ask {self.la} and amend it."
                    if kind == "reading" else
                    f"Keep {value} until {self.la} or the source confirms it, then record "
                    "where it was confirmed.")
        return Decision(0, "", kind, f"{_first_upper(x.label)}: {value}",
                      "a figure the checks use", f"{value} ({x.label})", "", source,
                      proposal, True)

    def _contact_decision(self, e: m.LAEntry) -> Decision:
        value = self.plain(e.value)
        return Decision(0, "", "unverified", f"{_first_upper(e.label)} — not yet confirmed",
                      "local authority contacts", value, "",
                      self.plain(e.source) or "no source given",
                      f"Ask {self.la} and record the answer in the policy.", True)

    def _code_decision(self, c: m.AttendanceCode) -> Decision:
        possible = "counts" if c.possible else "does not count"
        return Decision(0, "", "unverified", f"Attendance code {c.code} ({c.meaning})",
                      "attendance codes", f"code {c.code} {possible} as a possible session", "",
                      "the national attendance codes",
                      "Check the code against the regulations and guidance.", True)

    # -- who does what ---------------------------------------------------------------------
    def roles(self) -> tuple[tuple[PackRole, ...], tuple[str, ...]]:
        busy, idle = [], []
        for r in self.h.roles:
            if r.duties:
                busy.append(self._role(r))
            else:
                idle.append(r.label)
        return tuple(busy), tuple(idle)

    def _role(self, r: RoleView) -> PackRole:
        duties = tuple(PackDuty(self.plain(d.text), None if d.deadline == "no deadline set"
                                else d.deadline, self.plain(d.where.text)) for d in r.duties)
        return PackRole(anchor("role", r.id), _first_upper(r.label), r.holder, r.external,
                        duties)

    # -- procedures ------------------------------------------------------------------------
    def procedures(self) -> tuple[PackProcedure, ...]:
        texts = {c.id: c for c in self.p.clauses}
        out = []
        for number, (p, view) in enumerate(zip(self.p.procedures, self.h.procedures,
                                               strict=True), start=1):
            clauses = tuple(PackClause(clause_name(c), self.plain(clause_text(texts[c].text)))
                            for c in dict.fromkeys(p.clauses) if c in texts)
            steps = tuple(PackStep(s.title, s.role, s.deadline, self._if_late(p, state),
                                   s.final) for s, state in zip(view.steps, p.states,
                                                                strict=True))
            out.append(PackProcedure(
                number, anchor("procedure", p.id), p.id, p.title, self.plain(p.description),
                clauses, tuple(self.plain(link.text) for link in view.opened_by), steps,
                tuple(self.plain(i) for i in view.invariants)))
        return tuple(out)

    def _if_late(self, p: m.Procedure, s: m.State) -> str:
        """Where the case goes when the step's deadline passes (the flowchart's dashed arrow);
        the overdue action only where it is not the step itself."""
        if s.deadline is None or s.deadline.escalate_to is None:
            return "—"
        target = p.state(s.deadline.escalate_to)
        words = f"moves to “{target.title if target else s.deadline.escalate_to}”"
        if target is not None and target.role is not None:
            words += f" ({self.h_roles.get(target.role, target.role)})"
        return self.plain(words)

    def build(self, changes: PackChanges | None) -> Pack:
        h = self.h
        roles, idle = self.roles()
        man = self.p.manifest
        cycle = man.review_cycle
        following = next_review(man.reviewed, ast.DurationLit(2 * cycle.amount, cycle.unit))
        draft = Pack(h.title, h.school, h.local_authority, h.governing_body,
                     policy_version(self.p), h.reviewed, h.next_review, h.review_cycle,
                     following, self.decisions(), changes, roles, idle, self.procedures(), ())
        return replace(draft, glossary=build_glossary(self.p, draft))


def build_pack(policy: m.Policy, handbook: Handbook, changes: PackChanges | None) -> Pack:
    return _PackBuilder(policy, handbook).build(changes)
