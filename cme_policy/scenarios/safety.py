"""Verify stage: search the policy's behaviour for a step its safeguards forbid (G011).

A safeguard of the law layer says what must hold on the day an event makes a fact true (a
name deleted from the admission register). The procedures are supposed to take such a step
only when it is lawful; this stage tries to make them take it when it is not. For each
transition on such an event, it builds small pupils — a few attendance histories, a few
records in the pupils file — and a case log that walks the shortest way through the
procedure to the step and then takes it, and runs each through the reference interpreter.
A pupil for whom a case accepts the step while the law reports it unlawful is a
counterexample: the shortest is printed as a scenario a governor can read (and paste into
the policy's scenarios). The search is bounded — it proves nothing about pupils unlike the
ones it builds — but it finds every way of reaching the step that the base's guards close,
such as a new path to removal, a guard dropped or a procedure of a school's own.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from cme_policy.analysis.entailment import entails, harder_in
from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.printer import to_source
from cme_policy.ir import model as m
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.results import PupilResult
from cme_policy.scenarios.run import Runner, ScenarioError

HISTORY_DAYS = 45
"""School days of marks up to the as-of date: room for two runs past ground I's 20."""


@dataclass(frozen=True)
class _History:
    words: str  # what it shows, for the governor
    runs: tuple[tuple[int, str], ...]  # (school days, the two marks of each day), oldest first
    back: int = 0
    """School days before the as-of date on which staff record the steps before the last
    (the last absent day: a case opens on what the marks showed then)."""

    def compact(self, present: str, absent: str) -> str:
        """The marks, with the policy's own codes for present (P) and absent (A)."""
        days = {"P": present, "A": absent * 2}
        return " ".join(" ".join([days[day]] * n) for n, day in self.runs if n)


HISTORIES = (
    _History("present every day", ((HISTORY_DAYS, "P"),)),
    _History("absent for the last 5 school days, every session coded {absent}",
             ((HISTORY_DAYS - 5, "P"), (5, "A"))),
    _History("absent for the last 12 school days, every session coded {absent}",
             ((HISTORY_DAYS - 12, "P"), (12, "A"))),
    _History("absent for the last 25 school days, every session coded {absent}",
             ((HISTORY_DAYS - 25, "P"), (25, "A"))),
    _History("absent for 22 school days, every session coded {absent}, then present for the "
             "last 3", ((HISTORY_DAYS - 25, "P"), (22, "A"), (3, "P")), 3),
    _History("absent for 21 school days, every session coded {absent}, present for a day, then "
             "absent again for the last 20", ((HISTORY_DAYS - 42, "P"), (21, "A"), (1, "P"),
                                                (20, "A")), 21),
)
"""Attendance histories of HISTORY_DAYS school days ending on the as-of date."""


@dataclass(frozen=True)
class Counterexample:
    safeguard: m.Safeguard
    procedure: m.Procedure
    transition: m.Transition
    scenario: m.Scenario
    history: str
    failed: tuple[str, ...]  # the requirement titles that did not hold
    broken: tuple[str, ...] = ()  # and their ids

    def story(self) -> str:
        facts = ", ".join(f"{k} {_show(v)}" for k, v in self.scenario.pupil
                          if k != "date_of_birth")
        steps = ", then ".join(f"'{e.event}' on {e.date.strftime('%a %d %b %Y')}"
                               for e in self.scenario.events)
        return (f"a pupil {self.history}" + (f" ({facts})" if facts else "") +
                f", as of {self.scenario.as_of.strftime('%a %d %b %Y')}; staff record {steps}. "
                f"Procedure '{self.procedure.id}' takes the "
                f"step, but the law requires that " + "; and that ".join(self.failed))

    def yaml(self) -> str:
        s = self.scenario
        pupil = ", ".join(f"{k}: {_show(v)}" for k, v in s.pupil)
        lines = [f"{s.id}:", f"  title: {s.title}", "  given:", f"    pupil: {{{pupil}}}"]
        if s.marks:
            lines += ["    marks:", f"      - from: {s.marks[0].start.isoformat()}",
                      f"        sessions: \"{s.marks[0].sessions.replace(chr(92), chr(92) * 2)}\""]
        lines.append("    events:")
        lines += [f"      - {{date: {e.date.isoformat()}, event: {e.event}}}" for e in s.events]
        lines += [f"  as_of: {s.as_of.isoformat()}", "  expect:", "    violations:"]
        last = s.events[-1]
        lines += [f"      - {{law: {self.safeguard.id}, kind: unlawful, event: {last.event}, "
                  f"state: {r}, date: {last.date.isoformat()}}}" for r in self.broken]
        return "\n".join(lines)


def check_safety(policy: m.Policy, root: Path, sink: DiagnosticSink) -> list[Counterexample]:
    """G011 for each (safeguard, procedure, step) with a counterexample; none without a
    calendar to run on (the calendar's own errors are reported where it is checked)."""
    if not policy.safeguards or policy.manifest.calendar is None:
        return []
    try:
        calendar = load_calendar(root / policy.manifest.calendar)
    except (CalendarError, OSError, ValueError):
        return []
    found = list(_Search(policy, root, calendar).run())
    for c in found:
        sink.error("G011", f"an unlawful step is reachable — {c.story()} "
                   f"({c.safeguard.title.lower()})", c.transition.span,
                   "guard the step with what the law requires (see the law layer's "
                   f"safeguard '{c.safeguard.id}'); this scenario shows it:\n{c.yaml()}")
    return found


class _Search:
    def __init__(self, policy: m.Policy, root: Path, calendar: SchoolCalendar) -> None:
        self.policy, self.calendar = policy, calendar
        self.root = root
        self.harder = harder_in(policy)
        self._arrival: dict[str, dict[str, set[str]]] = {}
        self.path = root / (policy.manifest.calendar or "")
        self.as_of = _as_of(calendar)
        self.start = calendar.add_school_days(self.as_of, -(HISTORY_DAYS - 1))
        codes = {c.category: c.code for c in reversed(policy.attendance_codes)}
        by_code = {c.code: c.category for c in policy.attendance_codes}
        present = [c.code for c in policy.attendance_codes
                   if c.category == "present" and len(c.code) == 1][:2]
        self.present = "".join((present * 2)[:2])  # the morning's mark, the afternoon's
        self.absent = "O" if by_code.get("O") == "unauthorised_absence" else codes.get(
            "unauthorised_absence", "")

    def run(self) -> Iterator[Counterexample]:
        for guard in self.policy.safeguards:
            steps = {e.id for e in self.policy.events
                     if any(f == guard.fact and isinstance(v, ast.BoolLit) and v.value
                            for f, v in e.sets)}
            for proc in self.policy.procedures:
                for state in proc.states:
                    for t in state.transitions:
                        if t.event in steps:
                            found = self._first(guard, proc, state, t)
                            if found is not None:
                                yield found

    def _first(self, guard: m.Safeguard, proc: m.Procedure, state: m.State,
               t: m.Transition) -> Counterexample | None:
        path = _shortest_path(proc, state.id)
        if path is None or self._proved(guard, proc, state, t):
            return None
        names = _names(self.policy, proc)
        logs = [prefix + path + [t.event] for prefix in self._openings(proc, names)]
        # the procedure alone, with the rules that open it: the search costs the same for
        # each procedure however many others the policy has
        runner = Runner(replace(self.policy, procedures=(proc,), scenarios=(), rules=tuple(
            r for r in self.policy.rules if r.opens == proc.id)), self.root)
        histories = HISTORIES if self.present and self.absent else ()
        opened = False
        for events in sorted(logs, key=len):
            if opened and len(events) > len(path) + 1:
                break  # an event recorded first only helps a case that never opened
            for history in histories:
                for pupil in self._pupils(names):
                    scenario = self._scenario(proc, history, pupil, events)
                    try:
                        result = runner.evaluate(scenario, self.path, self.calendar, True)
                    except ScenarioError:
                        continue
                    opened = opened or any(c.procedure == proc.id for c in result.cases)
                    failed = _unlawful_but_taken(result, guard, t.event)
                    if failed:
                        broken = tuple(r for r in guard.requirements if r.id in failed)
                        return Counterexample(guard, proc, t, scenario,
                                              history.words.format(absent=self.absent),
                                              tuple(r.title for r in broken),
                                              tuple(r.id for r in broken))
        return None

    def _proved(self, guard: m.Safeguard, proc: m.Procedure, state: m.State,
                t: m.Transition) -> bool:
        """Whether the step's guard, with the facts every way into its state sets for good,
        implies each requirement structurally: then no pupil can break it, and none is
        built. (A guard written as the law's own condition is proved; one that only happens
        to agree with it on the pupils tried is searched.)"""
        known: list[ast.Expr] = [ast.Name((f,)) for f in sorted(self.arrival(proc)[state.id])]
        if t.guard is not None:
            known.append(t.guard)
        if not known:
            return False
        premise = known[0] if len(known) == 1 else ast.BoolOp("and", tuple(known))
        return all(entails(premise, r.when, self.harder) for r in guard.requirements)

    def arrival(self, proc: m.Procedure) -> dict[str, set[str]]:
        """For each state, the facts true on every way into it and true for good: set true by
        an event on the way, never set otherwise by any event, and lasting until changed."""
        if proc.id in self._arrival:
            return self._arrival[proc.id]
        lasting = {f.id for f in self.policy.facts if f.lasts is None}
        settings: dict[str, set[object]] = {}
        for e in self.policy.events:
            for fact, value in e.sets:
                settings.setdefault(fact, set()).add(to_source(value))
        stable = {f for f, values in settings.items() if values == {"true"} and f in lasting}
        sets = {e.id: {f for f, _ in e.sets if f in stable} for e in self.policy.events}
        everything = set(stable)
        into: dict[str, set[str]] = {s.id: set(everything) for s in proc.states}
        into[proc.initial] = set()
        edges = [(s.id, t.target, sets.get(t.event, set())) for s in proc.states
                 for t in s.transitions]
        edges += [(s.id, s.deadline.escalate_to, set()) for s in proc.states
                  if s.deadline is not None and s.deadline.escalate_to]
        changed = True
        while changed:  # a must-analysis: intersect over the ways in, to a fixed point
            changed = False
            for source, target, made in edges:
                if target == proc.initial or target not in into:
                    continue
                now = into[target] & (into[source] | made)
                if now != into[target]:
                    into[target], changed = now, True
        self._arrival[proc.id] = into
        return into

    def _openings(self, proc: m.Procedure, names: tuple[set[str], set[str]]
                  ) -> list[list[str]]:
        """Events to record before walking the procedure: none; the procedure's own opener;
        or one event that sets a fact the rules opening it read (a written notice)."""
        out: list[list[str]] = [[]] + [[e] for e in proc.opened_by[:1]]
        read = {f.id for f in self.policy.facts if f.origin == "events" and f.id in names[1]}
        out += [[e.id] for e in self.policy.events
                if any(fact in read for fact, _ in e.sets) and [e.id] not in out]
        return out

    def _pupils(self, names: tuple[set[str], set[str]]
                ) -> Iterator[tuple[tuple[str, ast.Expr], ...]]:
        """The pupils file's records to try: a ten-year-old with nothing else recorded, then
        one for each value of an enum fact from the pupils file that the procedure's opening
        rules or guards name (a deletion ground, a destination), and one they do not, each met
        on the as-of date."""
        guarded, opening = names
        born = ast.DateLit(self.as_of.replace(year=self.as_of.year - 10))
        base = (("date_of_birth", born),)
        yield base
        dates = tuple((f.id, ast.DateLit(self.as_of)) for f in self.policy.facts
                      if f.origin == "pupils" and f.type_name == "date"
                      and f.id != "date_of_birth")
        enums = {e.id: e for e in self.policy.enums}
        for fact in self.policy.facts:
            enum = enums.get(fact.type_name)
            if fact.origin != "pupils" or enum is None or fact.id not in guarded | opening:
                continue
            # a value each the guards name; of the rest, one the opening rules name and one
            # nothing names (the guards treat all of those alike)
            members = [x.id for x in enum.members if x.id in guarded]
            rest = [x.id for x in enum.members if x.id not in guarded]
            members += [x for x in rest if x in opening][:1]
            members += [x for x in rest if x not in opening][:1]
            for member in members:
                yield base + ((fact.id, ast.Name((member,))),) + dates

    def _scenario(self, proc: m.Procedure, history: _History,
                  pupil: tuple[tuple[str, ast.Expr], ...], events: list[str]) -> m.Scenario:
        before = self.calendar.add_school_days(self.as_of, -history.back)
        log = [m.ScenarioEvent(before, e) for e in events[:-1]]
        log.append(m.ScenarioEvent(self.as_of, events[-1]))
        return m.Scenario(
            f"unlawful_{proc.id}", f"A step the procedure '{proc.id}' allows and the law "
            "forbids", self.as_of,
            m.Expectation(), pupil,
            (m.MarkRun(self.start, history.compact(self.present, self.absent)),), tuple(log))


def _unlawful_but_taken(result: PupilResult, guard: m.Safeguard, event: str) -> set[str]:
    """The requirements the step broke, if a case took it (no procedure refused it)."""
    broken = {v.state or "" for v in result.violations
              if v.source == "law" and v.procedure == guard.id and v.event == event}
    refused = any(v.source == "procedure" and v.event == event for v in result.violations)
    return broken if broken and not refused else set()


def _shortest_path(proc: m.Procedure, target: str) -> list[str] | None:
    """The fewest events that take a case from the initial state to `target`."""
    seen: dict[str, list[str]] = {proc.initial: []}
    queue: deque[str] = deque([proc.initial])
    while queue:
        here = queue.popleft()
        if here == target:
            return list(seen[here])
        state = proc.state(here)
        for t in state.transitions if state else ():
            if t.target not in seen:
                seen[t.target] = seen[here] + [t.event]
                queue.append(t.target)
    return None


def _names(policy: m.Policy, proc: m.Procedure) -> tuple[set[str], set[str]]:
    """The names the procedure's guards mention, and those the rules that open it do."""
    return (_walk_names(t.guard for s in proc.states for t in s.transitions
                        if t.guard is not None),
            _walk_names(r.when for r in policy.rules if r.opens == proc.id))


def _walk_names(exprs: Iterable[ast.Expr]) -> set[str]:
    out: set[str] = set()
    for e in exprs:
        out |= {n.dotted for n in ast.walk(e) if isinstance(n, ast.Name)}
    return out


def _as_of(calendar: SchoolCalendar) -> dt.date:
    """A school day deep enough into the calendar for the longest history."""
    return calendar.add_school_days(calendar.first_school_day, HISTORY_DAYS + 10)


def _show(value: ast.Expr) -> str:
    if isinstance(value, ast.DateLit):
        return value.value.isoformat()
    if isinstance(value, ast.Name):
        return value.dotted
    return str(getattr(value, "value", value))
