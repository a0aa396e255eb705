"""Scenario coverage in the policy's own terms: rules, states, transitions and clauses.

The universe is read from the policy; what the scenarios exercised is read from the
interpreter's results (which rules fired, the history of every case). A governor reads the
result as "every rule has been seen to fire, every step of every procedure has been walked".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cme_policy.ir import model as m
from cme_policy.runtime.results import PupilResult

DEADLINE = "deadline"  # the trigger of an escalation edge, as in the interpreter's history

# (procedure, state) and (procedure, state, event, target)
StateKey = tuple[str, str]
TransitionKey = tuple[str, str, str, str]


def transition_text(key: TransitionKey) -> str:
    """`procedure: state --event--> target`; escalations read `--deadline-->`."""
    proc, state, event, target = key
    return f"{proc}: {state} --{event}--> {target}"


def state_text(key: StateKey) -> str:
    return f"{key[0]}: {key[1]}"


@dataclass(frozen=True, slots=True)
class Figure:
    """`covered` of `total`, with a percentage (100 when there is nothing to cover)."""

    covered: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0

    def __str__(self) -> str:
        return f"{self.covered} of {self.total} ({self.percent:.0f}%)"


@dataclass
class Coverage:
    """What the policy offers to exercise, and what the scenarios that ran exercised."""

    rules: frozenset[str] = frozenset()
    states: frozenset[StateKey] = frozenset()
    transitions: frozenset[TransitionKey] = frozenset()
    clauses: frozenset[str] = frozenset()
    rules_fired: set[str] = field(default_factory=set)
    states_entered: set[StateKey] = field(default_factory=set)
    transitions_taken: set[TransitionKey] = field(default_factory=set)
    clauses_exercised: set[str] = field(default_factory=set)
    scenarios_run: int = 0

    @staticmethod
    def of(policy: m.Policy) -> Coverage:
        """An empty record for a policy: its rules, states, transitions and cited clauses."""
        transitions: set[TransitionKey] = set()
        states: set[StateKey] = set()
        clauses: set[str] = set()
        for rule in policy.rules:
            clauses.update(_rule_clauses(rule))
        for proc in policy.procedures:
            clauses.update(proc.clauses)
            for state in proc.states:
                states.add((proc.id, state.id))
                clauses.update(state.clauses)
                transitions.update((proc.id, state.id, t.event, t.target)
                                   for t in state.transitions)
                if state.deadline is not None and state.deadline.escalate_to is not None:
                    transitions.add((proc.id, state.id, DEADLINE, state.deadline.escalate_to))
        return Coverage(frozenset(r.id for r in policy.rules), frozenset(states),
                        frozenset(transitions), frozenset(clauses))

    def record(self, policy: m.Policy, result: PupilResult) -> None:
        """Add what one scenario's result exercised."""
        self.scenarios_run += 1
        rules = {r.id: r for r in policy.rules}
        procs = {p.id: p for p in policy.procedures}
        for outcome in result.rules:
            if outcome.fires and outcome.rule in rules:
                self.rules_fired.add(outcome.rule)
                self.clauses_exercised.update(_rule_clauses(rules[outcome.rule]))
        for case in result.cases:
            proc = procs.get(case.procedure)
            if proc is None:
                continue
            self.clauses_exercised.update(proc.clauses)
            previous: str | None = None
            for step in case.history:
                self.states_entered.add((proc.id, step.state))
                state = proc.state(step.state)
                if state is not None:
                    self.clauses_exercised.update(state.clauses)
                if previous is not None:
                    self.transitions_taken.add((proc.id, previous, step.trigger, step.state))
                previous = step.state

    # -- figures ------------------------------------------------------------------------
    @property
    def rules_figure(self) -> Figure:
        return Figure(len(self.rules_fired & self.rules), len(self.rules))

    @property
    def states_figure(self) -> Figure:
        return Figure(len(self.states_entered & self.states), len(self.states))

    @property
    def transitions_figure(self) -> Figure:
        return Figure(len(self.transitions_taken & self.transitions), len(self.transitions))

    @property
    def clauses_figure(self) -> Figure:
        return Figure(len(self.clauses_exercised & self.clauses), len(self.clauses))

    @property
    def rules_never_fired(self) -> list[str]:
        return sorted(self.rules - self.rules_fired)

    @property
    def states_never_entered(self) -> list[StateKey]:
        return sorted(self.states - self.states_entered)

    @property
    def transitions_never_taken(self) -> list[TransitionKey]:
        return sorted(self.transitions - self.transitions_taken)

    @property
    def clauses_never_exercised(self) -> list[str]:
        return sorted(self.clauses - self.clauses_exercised)

    def as_json(self) -> dict[str, object]:
        def figure(f: Figure) -> dict[str, object]:
            return {"covered": f.covered, "total": f.total, "percent": round(f.percent, 1)}
        return {
            "scenarios_run": self.scenarios_run,
            "rules": {**figure(self.rules_figure), "fired": sorted(self.rules_fired & self.rules),
                      "never_fired": self.rules_never_fired},
            "states": {**figure(self.states_figure),
                       "entered": [state_text(k)
                                   for k in sorted(self.states_entered & self.states)],
                       "never_entered": [state_text(k) for k in self.states_never_entered]},
            "transitions": {**figure(self.transitions_figure),
                            "taken": [transition_text(k) for k in
                                      sorted(self.transitions_taken & self.transitions)],
                            "never_taken": [transition_text(k)
                                            for k in self.transitions_never_taken]},
            "clauses": {**figure(self.clauses_figure),
                        "exercised": sorted(self.clauses_exercised & self.clauses),
                        "never_exercised": self.clauses_never_exercised},
        }


def _rule_clauses(rule: m.Rule) -> set[str]:
    out = set(rule.clauses)
    for obligation in rule.then:
        out.update(obligation.clauses)
    return out
