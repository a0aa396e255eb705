"""Diagrams backend: a procedure as a flowchart in words — boxes, arrows and their labels.

Every output format (Mermaid, DOT, SVG) draws the same chart, so the words are decided once,
here, from the policy's vocabulary: state titles, role labels, events, guards in English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cme_policy.expr.ast import DurationLit, Expr, Name
from cme_policy.ir import model as m
from cme_policy.ir.english import Vocabulary, render

START = "__start__"  # the chart's entry marker; never a state id (ids are identifiers)

# Fills and strokes per role, in the order roles are declared: hues far apart (no two blues),
# but never the only cue: every box names its role and carries the role's number, which the
# legend repeats, so a greyscale print or a colour-blind reader loses nothing.
PALETTE = (
    ("#dbeafe", "#1d4ed8"), ("#fed7aa", "#c2410c"), ("#dcfce7", "#15803d"),
    ("#fbcfe8", "#be185d"), ("#e9d5ff", "#7e22ce"), ("#fef08a", "#854d0e"),
    ("#a5f3fc", "#0e7490"), ("#e5e7eb", "#374151"), ("#fecaca", "#b91c1c"),
    ("#d9f99d", "#4d7c0f"),
)
NO_ROLE = ("#ffffff", "#374151")


@dataclass(frozen=True, slots=True)
class RoleStyle:
    id: str
    label: str
    fill: str
    stroke: str
    number: int = 0  # the role's place in the policy (from 1), drawn in its boxes; 0: none


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    title: str
    role: RoleStyle | None
    final: bool
    initial: bool


@dataclass(frozen=True, slots=True)
class Arrow:
    """One way out of a state: an event (with its guard in words) or a deadline escalation."""

    source: str
    target: str
    label: str
    deadline: bool


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    nodes: tuple[Node, ...]
    arrows: tuple[Arrow, ...]
    roles: tuple[RoleStyle, ...]  # the roles this chart uses, in declared order

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def role_styles(policy: m.Policy) -> dict[str, RoleStyle]:
    out: dict[str, RoleStyle] = {}
    for i, role in enumerate(policy.roles):
        fill, stroke = PALETTE[i % len(PALETTE)]
        out[role.id] = RoleStyle(role.id, role.label, fill, stroke, i + 1)
    return out


def duration_words(within: Expr, vocab: Vocabulary) -> str:
    """A deadline's length in words: `params.x.y` is followed to "10 school days"."""
    return render(within, vocab)


def _amount(within: Expr, vocab: Vocabulary) -> int | None:
    """The number of a duration, following parameter names (each at most once)."""
    seen: set[str] = set()
    while isinstance(within, Name) and within.dotted in vocab.params and within.dotted not in seen:
        seen.add(within.dotted)
        within = vocab.params[within.dotted].value
    return within.amount if isinstance(within, DurationLit) else None


def within_words(within: Expr, vocab: Vocabulary) -> str:
    """"within 10 school days"; a zero deadline reads "the same day"."""
    if _amount(within, vocab) == 0:
        return "on the same day"
    return f"within {duration_words(within, vocab)}"


def escalation_words(deadline: m.Deadline, vocab: Vocabulary) -> str:
    if _amount(deadline.within, vocab) == 0:
        return "if not done the same day (deadline passed)"
    return f"after {duration_words(deadline.within, vocab)} (deadline passed)"


def escalation_label(deadline: m.Deadline, vocab: Vocabulary) -> str:
    """A dashed arrow's words: the line itself says the deadline passed."""
    if _amount(deadline.within, vocab) == 0:
        return "if not done the same day"
    return f"after {duration_words(deadline.within, vocab)}"


def event_words(policy: m.Policy, event: str) -> str:
    found = next((e for e in policy.events if e.id == event), None)
    return found.label if found is not None else event.replace("_", " ")


def transition_words(policy: m.Policy, t: m.Transition, vocab: Vocabulary) -> str:
    words = t.label or event_words(policy, t.event)
    if t.guard is not None:
        words += f", if {render(t.guard, vocab)}"
    return words


def chart_words(policy: m.Policy, t: m.Transition, vocab: Vocabulary) -> str:
    """An arrow's words: the author's short label, else the event and its condition. The
    condition in full stays in the step table, where there is room for it."""
    if t.label:
        return t.label
    return transition_words(policy, t, vocab)


def build_chart(policy: m.Policy, p: m.Procedure) -> Chart:
    vocab = Vocabulary.from_policy(policy)
    styles = role_styles(policy)
    nodes = tuple(Node(s.id, s.title, _style(styles, s.role), s.final, s.id == p.initial)
                  for s in p.states)
    arrows: list[Arrow] = []
    for s in p.states:
        for t in s.transitions:
            arrows.append(Arrow(s.id, t.target, chart_words(policy, t, vocab), False))
        if s.deadline is not None and s.deadline.escalate_to is not None:
            arrows.append(Arrow(s.id, s.deadline.escalate_to,
                                escalation_label(s.deadline, vocab), True))
    known = {n.id for n in nodes}
    used = {n.role.id for n in nodes if n.role is not None}
    roles = tuple(r for r in styles.values() if r.id in used)
    return Chart(p.id, p.title, nodes, tuple(a for a in arrows if a.target in known), roles)


def _style(styles: dict[str, RoleStyle], role: str | None) -> RoleStyle | None:
    if role is None:
        return None
    return styles.get(role) or RoleStyle(role, role.replace("_", " "), *NO_ROLE)


def slug(text: str) -> str:
    """A file-name and id-safe form of a policy id (ids are identifiers already; be sure)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return cleaned or "unnamed"
