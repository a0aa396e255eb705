"""Analyse stage: each procedure as a graph (networkx) — reachability, dead ends, final states,
deadlines, guards on one event, and the declared invariants checked by dominance."""

from __future__ import annotations

from typing import Any

import networkx as nx  # type: ignore[import-untyped]

from cme_policy.analysis.guards import check_guards
from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr.typecheck import Env
from cme_policy.ir import model as m

Graph = Any  # networkx.DiGraph: networkx ships no type information


def procedure_graph(p: m.Procedure) -> Graph:
    """Nodes are states (in declared order); an edge is a transition (`kind="transition"`,
    with its event and guard) or a deadline escalation (`kind="deadline"`, drawn dashed).
    Where both join the same two states, the edge keeps the first transition's data."""
    g = nx.DiGraph(procedure=p.id)
    for state in p.states:
        g.add_node(state.id, final=state.final, title=state.title)
    for state in p.states:
        for t in state.transitions:
            if not g.has_edge(state.id, t.target):
                g.add_edge(state.id, t.target, kind="transition", event=t.event, guard=t.guard)
        target = state.deadline.escalate_to if state.deadline else None
        if target is not None and not g.has_edge(state.id, target):
            g.add_edge(state.id, target, kind="deadline", event=None, guard=None)
    return g


def check_procedures(policy: m.Policy, env: Env, sink: DiagnosticSink) -> None:
    """Every check runs on every procedure; all findings are reported together."""
    for procedure in policy.procedures:
        _check(procedure, env, sink)


def _check(p: m.Procedure, env: Env, sink: DiagnosticSink) -> None:
    g = procedure_graph(p)
    reachable = nx.descendants(g, p.initial) | {p.initial}
    _unreachable(p, reachable, sink)
    dead = _dead_ends(p, sink)
    _final_exits(p, sink)
    _no_way_to_finish(p, g, dead, sink)
    _deadlines(p, sink)
    check_guards(p, env, sink)
    idom = nx.immediate_dominators(g, p.initial)
    for invariant in p.invariants:
        _invariant(p, g, reachable, idom, invariant, sink)


def _unreachable(p: m.Procedure, reachable: set[str], sink: DiagnosticSink) -> None:
    for state in p.states:
        if state.id not in reachable:
            sink.error("G001", f"state '{state.id}' of procedure '{p.id}' cannot be reached "
                       f"from the initial state '{p.initial}'", state.span,
                       "add a transition or deadline escalation into it, or remove it")


def _has_exit(state: m.State) -> bool:
    return bool(state.transitions) or (state.deadline is not None
                                       and state.deadline.escalate_to is not None)


def _dead_ends(p: m.Procedure, sink: DiagnosticSink) -> set[str]:
    dead = {s.id for s in p.states if not s.final and not _has_exit(s)}
    for state in p.states:
        if state.id in dead:
            sink.error("G002", f"state '{state.id}' is a dead end: it is not final, and has no "
                       "transition and no deadline that escalates", state.span,
                       "add a transition out of it, escalate its deadline (`escalate_to:`), or "
                       "mark it `final: true`")
    return dead


def _final_exits(p: m.Procedure, sink: DiagnosticSink) -> None:
    for state in p.states:
        exits = [f"transition on '{t.event}'" for t in state.transitions]
        exits += ["a deadline"] if state.deadline is not None else []
        if state.final and exits:
            sink.error("G003", f"final state '{state.id}' has exits ({', '.join(exits)}), but a "
                       "case ends in a final state", state.at("final"),
                       "remove `final: true`, or remove its transitions and deadline")


def _no_way_to_finish(p: m.Procedure, g: Graph, dead: set[str], sink: DiagnosticSink) -> None:
    """States trapped in a loop; a state that can reach a dead end is left to G002's report."""
    stops = {s.id for s in p.states if s.final} | dead
    settled = set(stops).union(*(nx.ancestors(g, s) for s in stops))
    for state in p.states:
        if state.id not in settled:
            sink.error("G004", f"no final state can be reached from state '{state.id}': a case "
                       "that enters it goes round in a loop for ever", state.span,
                       "add a transition or deadline escalation that leads towards a final state")


def _deadlines(p: m.Procedure, sink: DiagnosticSink) -> None:
    for state in p.states:
        deadline = state.deadline
        if deadline is not None and deadline.escalate_to is None and deadline.action is None:
            sink.error("G005", f"the deadline of state '{state.id}' escalates nowhere: it has "
                       "neither `escalate_to` nor `action`", state.at("deadline"),
                       "add `escalate_to: <state>` to move the case on, or `action: …` to "
                       "report what is overdue")


# -- invariants ----------------------------------------------------------------------------
def _invariant(p: m.Procedure, g: Graph, reachable: set[str], idom: dict[str, str],
               inv: m.Invariant, sink: DiagnosticSink) -> None:
    span = inv.at("every_path_to" if inv.kind == "passes" else "before_leaving")
    why = _vacuous(p, g, reachable, inv)
    if why is not None:
        sink.warning("G010", f"invariant '{inv.id}' can never fail: {why}", span,
                     "check that it names the states meant, or remove it")
        return
    path = _counterexample(p, g, idom, inv)
    if path is None:
        return
    broken = (f"a case can reach '{inv.state}' without passing '{inv.through}'"
              if inv.kind == "passes" else
              f"'{inv.state}' can be left before '{inv.through}' was visited")
    sink.error("G009", f"invariant '{inv.id}' is broken: {broken}: {path_text(g, path)}", span,
               f"route every path into '{inv.state}' through '{inv.through}', or correct the "
               "invariant")


def _vacuous(p: m.Procedure, g: Graph, reachable: set[str], inv: m.Invariant) -> str | None:
    if inv.state not in reachable:
        return f"state '{inv.state}' cannot be reached from the initial state '{p.initial}'"
    if inv.through in (inv.state, p.initial):
        return f"every path to '{inv.state}' passes '{inv.through}' by definition"
    if inv.kind == "before_leaving" and not _exits(g, inv.state):
        return f"state '{inv.state}' is never left (did you mean `every_path_to`?)"
    return None


def _counterexample(p: m.Procedure, g: Graph, idom: dict[str, str],
                    inv: m.Invariant) -> list[str] | None:
    """A shortest path from the initial state that breaks the invariant, or None."""
    if dominates(idom, inv.through, inv.state):
        return None
    path: list[str] = nx.shortest_path(nx.restricted_view(g, [inv.through], []), p.initial,
                                       inv.state)
    return path if inv.kind == "passes" else [*path, _exits(g, inv.state)[0]]


def _exits(g: Graph, state: str) -> list[str]:
    return [t for t in g.successors(state) if t != state]


def dominates(idom: dict[str, str], dominator: str, node: str) -> bool:
    """Does every path from the start to `node` pass `dominator`? (`idom` from networkx.)"""
    while node != dominator:
        parent = idom.get(node)
        if parent is None or parent == node:
            return False
        node = parent
    return True


def path_text(g: Graph, path: list[str]) -> str:
    """`a → b → c`; an edge that is a deadline escalation says so: `b → c (deadline passed)`."""
    out = path[0]
    for here, there in zip(path, path[1:]):
        edge = g.edges[here, there]
        out += f" → {there}" + (" (deadline passed)" if edge["kind"] == "deadline" else "")
    return out
