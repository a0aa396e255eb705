"""Reference semantics: the interpreter every backend is tested against.

`Interpreter(policy, calendar).evaluate(pupil, marks, events, as_of)` says, for one pupil on
one date, which rules fire (with onset and obligations), where each procedure case stands,
what is due or overdue, and what the case log shows was done wrongly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from cme_policy.interpret.evaluate import Evaluator
from cme_policy.interpret.procedures import Replay, replay
from cme_policy.interpret.rules import evaluate_rule
from cme_policy.interpret.world import World
from cme_policy.ir import model as m
from cme_policy.runtime.pupil import CaseEvent, Pupil
from cme_policy.runtime.results import PupilResult, RuleOutcome, Violation, unlawful_violation

if TYPE_CHECKING:
    from cme_policy.runtime.calendar import SchoolCalendar
    from cme_policy.runtime.marks import PupilMarks


class Interpreter:
    def __init__(self, policy: m.Policy, calendar: SchoolCalendar) -> None:
        self.world = World.build(policy, calendar)
        self.policy = policy
        self._cases_only = False

    def screen(self, pupil: Pupil, marks: PupilMarks, as_of: dt.date) -> tuple[RuleOutcome, ...]:
        """The rules alone: who needs which action by when, from the pupil's marks and facts."""
        return self.evaluate(pupil, marks, (), as_of).rules

    def evaluate(self, pupil: Pupil, marks: PupilMarks, events: Sequence[CaseEvent],
                 as_of: dt.date, cases_only: bool = False) -> PupilResult:
        """`cases_only`: leave out the rules' own outcomes as of the date (their actions);
        the rules that open cases are still looked at. For searches over many pupils."""
        log = sorted(events, key=lambda e: e.date)  # stable: same-day events keep log order
        inert: set[int] = set()
        self._cases_only = cases_only
        result, refused = self._evaluate(pupil, marks, log, as_of, inert)
        for _ in range(3):
            # An event refused because no transition's guard held on its date - an unlawful
            # step, e.g. a removal from roll with no ground - changes no fact. (One refused
            # for its order alone, e.g. before the LA return, still does.) Which events are
            # refused may depend on the facts, so settle (at most three more passes).
            now_inert = {i for i in refused if self.world.event_sets.get(log[i].event)}
            if now_inert == inert:
                break
            inert = now_inert
            result, refused = self._evaluate(pupil, marks, log, as_of, inert)
        return result

    def _evaluate(self, pupil: Pupil, marks: PupilMarks, log: Sequence[CaseEvent],
                  as_of: dt.date, inert: set[int]) -> tuple[PupilResult, set[int]]:
        facts_log = [e for i, e in enumerate(log) if i not in inert]
        cache: dict[dt.date, Evaluator] = {}

        def at(day: dt.date) -> Evaluator:
            if day not in cache:
                facts = self.world.facts_as_of(pupil.facts, facts_log, day, marks)
                cache[day] = Evaluator(self.world, facts, marks, day)
            return cache[day]

        rules = () if self._cases_only else tuple(
            evaluate_rule(self.world, r, at(as_of), log) for r in self.policy.rules)
        checkpoints = _checkpoints(self.world.register(marks).last_marked_day(as_of), log,
                                   as_of)
        replays = {p.id: replay(self.world, p, self._openers(p, checkpoints, at, log), log, at,
                                as_of)
                   for p in self.policy.procedures}
        cases = tuple(c for p in self.policy.procedures for c in replays[p.id].cases)
        accepted = set().union(*(r.accepted for r in replays.values())) if replays else set()
        refused = {i for r in replays.values() for i in r.unlawful}
        refused |= {i for i, e in enumerate(log)
                    if e.event in self.world.permissioned and e.date <= as_of}
        refused -= accepted
        unlawful = _safeguard_violations(self.world, log, at, as_of)
        refused |= unlawful.keys()
        violations = tuple(sorted(
            _log_violations(self.world, log, replays, as_of)
            + tuple(v for i in sorted(unlawful) for v in unlawful[i]),
            key=lambda v: (v.date, v.procedure, v.kind)))
        return PupilResult(pupil.upn, as_of, rules, cases, violations), refused


    def _openers(self, proc: m.Procedure, checkpoints: Sequence[dt.date],
                 at: Callable[[dt.date], Evaluator], log: Sequence[CaseEvent]) -> list[dt.date]:
        """The onsets of the rules that open this procedure, wherever they held at a checkpoint."""
        onsets: set[dt.date] = set()
        for rule in (r for r in self.policy.rules if r.opens == proc.id):
            for day in checkpoints:
                outcome = evaluate_rule(self.world, rule, at(day), log)
                if outcome.fires and outcome.onset is not None:
                    onsets.add(outcome.onset)
        return sorted(onsets)


def _safeguard_violations(world: World, log: Sequence[CaseEvent],
                          at: Callable[[dt.date], Evaluator],
                          as_of: dt.date) -> dict[int, list[Violation]]:
    """Each logged event that makes a safeguarded fact true (a name deleted), whatever it is
    called and whichever procedure took it, against the law's requirements on its day."""
    out: dict[int, list[Violation]] = {}
    for i, event in enumerate(log):
        if event.date > as_of:
            continue
        made_true = {fact for fact, value in world.event_sets.get(event.event, ()) if value is True}
        for guard in world.policy.safeguards:
            if guard.fact not in made_true:
                continue
            for req in guard.requirements:
                if not at(event.date).holds(req.when):
                    out.setdefault(i, []).append(unlawful_violation(
                        guard.id, req.id, req.title, req.source or "", event.event,
                        event.date, guard.clauses))
    return out


def _checkpoints(last: dt.date | None, log: Sequence[CaseEvent],
                 as_of: dt.date) -> list[dt.date]:
    """Days on which a rule that opens a case is looked at: the as-of date, the pupil's last
    day with marks (`last`), and the date of every logged event — so a case, once opened,
    outlives the condition that opened it, without the rule being evaluated on every past day."""
    days = {as_of} | {e.date for e in log if e.date <= as_of}
    if last is not None:
        days.add(last)
    return sorted(days)


def _log_violations(world: World, log: Sequence[CaseEvent], replays: dict[str, Replay],
                    as_of: dt.date) -> tuple[Violation, ...]:
    """Refused events (unless another case took them) and events with no case open at all."""
    accepted = set().union(*(r.accepted for r in replays.values())) if replays else set()
    out: list[Violation] = []
    for proc_id in sorted(replays):
        out += [v for i, v in sorted(replays[proc_id].refused.items()) if i not in accepted]
    refused = set().union(*(r.refused for r in replays.values())) if replays else set()
    for i, event in enumerate(log):
        if event.date > as_of or i in accepted or i in refused:
            continue
        owners = sorted(p for p, moves in world.procedure_events.items() if event.event in moves)
        if owners:
            out.append(Violation(owners[0], "no_open_case", event.date,
                                 f"'{event.event}' recorded but no case of '{owners[0]}' was open",
                                 None, event.event, ()))
    return tuple(sorted(out, key=lambda v: (v.date, v.procedure, v.kind)))
