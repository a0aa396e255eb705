"""Runtime: what generated checkers share — the evaluation context, date arithmetic, and the
replay of a pupil's case log over a procedure's transition table.

Imports only the standard library and `cme_policy.runtime`, because generated code imports it.
Generated modules supply tables and guard functions; this module runs them. It is written
apart from `cme_policy.interpret` on purpose: the differential tests compare the two.
"""

from __future__ import annotations

import calendar as _months
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.facts import FactScope, facts_on
from cme_policy.runtime.marks import CodeSet, PupilMarks
from cme_policy.runtime.memo import Known, MemoKey
from cme_policy.runtime.pupil import CaseEvent, Pupil
from cme_policy.runtime.results import (
    DONE,
    DUE,
    OVERDUE,
    Action,
    CaseOutcome,
    PupilResult,
    RuleOutcome,
    Step,
    Violation,
    late_violation,
    unlawful_violation,
)

__all__ = [
    "NO_SINCE", "Ctx", "InvariantSpec", "PolicySpec", "ProcedureSpec", "SafeguardSpec",
    "StateSpec",
    "academic_year_start", "audit", "bool_op", "completed", "done", "evaluate", "facts_at",
    "in_force", "late", "later", "latest",
    "school_days_upto", "screen_ctx", "shift", "sorted_log", "shift_opt", "status",
    "term_start", "today_compare",
]

ONE_DAY = timedelta(days=1)
NO_SINCE: Mapping[str, date] = {}
"""The since-map of a pupil whose facts all come from the pupils file (never mutated)."""


class Ctx:
    """One pupil on one date: calendar, marks, facts (values and since when) and case log."""

    __slots__ = ("_n", "_raw", "as_of", "calendar", "log", "marks", "memo", "since", "values")

    def __init__(self, calendar: SchoolCalendar, marks: PupilMarks, as_of: date,
                 values: Mapping[str, object], since: Mapping[str, date],
                 log: Sequence[CaseEvent] = ()) -> None:
        self.calendar, self.marks, self.as_of = calendar, marks, as_of
        self.values, self.since, self.log = values, since, log
        self.memo: dict[MemoKey, object] = {}
        self._n = -1
        self._raw: bytes | None = None

    def days(self) -> int:
        """School days on or before the as-of date: mark-string positions [0, 2*days)."""
        n = self._n
        if n < 0:
            n = self._n = school_days_upto(self.calendar, self.as_of)
        return n

    def raw(self) -> bytes:
        """The mark string as bytes, made once, for `bytes.translate` and `count`."""
        raw = self._raw
        if raw is None:
            raw = self._raw = self.marks.text.encode("ascii")
        return raw


# -- values and dates -------------------------------------------------------------------------


def later(a: date | None, b: date | None) -> date | None:
    """The later of two since-dates; None means "since the data began"."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


def latest(*dates: date | None) -> date | None:
    out: date | None = None
    for d in dates:
        out = later(out, d)
    return out


def bool_op(is_or: bool, parts: Sequence[tuple[bool, date | None]]) -> tuple[bool, date | None]:
    """`and`/`or` with since-dates: the earliest decisive part, else the latest of all parts."""
    decisive = [s for v, s in parts if v == is_or]
    if decisive:
        if any(s is None for s in decisive):
            return is_or, None
        return is_or, min(s for s in decisive if s is not None)
    return not is_or, latest(*(s for _, s in parts))


_TODAY_STARTS = {">=": 0, ">": 1, "==": 0}
_TODAY_ENDS = {"<=": 1, "<": 0, "==": 1}
_TESTS: dict[str, Callable[[date, date], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def today_compare(op: str, as_of: date, d: date | None,
                  d_since: date | None) -> tuple[bool, date | None]:
    """`today op d`: holds from a fixed date on (>=, >) or up to one (<=, <)."""
    if d is None:
        return False, d_since
    holds = _TESTS[op](as_of, d)
    if op == "!=":
        since = d + ONE_DAY if holds and as_of > d else (d if not holds else None)
    else:
        offset = (_TODAY_STARTS if holds else _TODAY_ENDS).get(op)
        since = None if offset is None else d + timedelta(days=offset)
    return holds, later(since, d_since)


def academic_year_start(calendar: SchoolCalendar, day: date) -> date:
    """The first day of the academic year (as the calendar defines it) that contains day."""
    return calendar.academic_year_containing(day).start


def term_start(calendar: SchoolCalendar, day: date) -> date:
    """The first day of the term that contains day, or of the last term to start before it."""
    year = calendar.academic_year_containing(day)
    started = [t.start for t in year.terms if t.start <= day]
    return max(started) if started else year.start


def in_force(day: date, start: date | None, end: date | None) -> bool:
    """Whether a rule's figures are in effect on a day (their effective dates)."""
    return (start is None or start <= day) and (end is None or day <= end)


def _add_months(d: date, n: int) -> date:
    month = d.month - 1 + n
    year, month = d.year + month // 12, month % 12 + 1
    return date(year, month, min(d.day, _months.monthrange(year, month)[1]))


def shift(calendar: SchoolCalendar, d: date, n: int, unit: str, sign: int = 1) -> date:
    """d moved by n units; school days follow the calendar, the others are calendar time."""
    n *= sign
    if unit == "school days":
        return calendar.add_school_days(d, n)
    if unit == "days":
        return d + timedelta(days=n)
    if unit == "weeks":
        return d + timedelta(weeks=n)
    if unit == "months":
        return _add_months(d, n)
    if unit == "years":
        return _add_months(d, 12 * n)
    raise ValueError(f"a date cannot move by {unit}")


def shift_opt(calendar: SchoolCalendar, d: date | None, n: int | None, unit: str,
              sign: int = 1) -> date | None:
    """`shift` where a missing date or amount gives no date."""
    if d is None or n is None:
        return None
    return shift(calendar, d, n, unit, sign)


def status(due: date | None, as_of: date, is_done: bool) -> str:
    if is_done:
        return DONE
    return OVERDUE if due is not None and as_of > due else DUE


def done(ctx: Ctx, event: str, onset: date) -> bool:
    """Whether `event` is in the log between the onset and the as-of date."""
    return any(e.event == event and onset <= e.date <= ctx.as_of for e in ctx.log)


def advance_start(calendar: SchoolCalendar, onset: date,
                  early: tuple[int, str] | None) -> date:
    """The first day an action counts for a duty arising on `onset`: `early` before it (the
    policy's `done_in_advance`), never before the calendar's first school day."""
    if early is None or early[0] == 0:
        return onset
    key = (onset, early)
    if _ADVANCE.calendar is not calendar or len(_ADVANCE.memo) > 4096:
        _ADVANCE.calendar, _ADVANCE.memo = calendar, {}
    found = _ADVANCE.memo.get(key)
    if found is None:  # every pupil with a duty arising that day asks the same
        try:
            found = shift(calendar, onset, early[0], early[1], -1)
        except CalendarError:
            found = calendar.first_school_day
        _ADVANCE.memo[key] = found
    return found


class _AdvanceMemo:
    """`advance_start` answers for the last calendar seen."""

    def __init__(self) -> None:
        self.calendar: SchoolCalendar | None = None
        self.memo: dict[tuple[date, tuple[int, str]], date] = {}


_ADVANCE = _AdvanceMemo()


def completed(ctx: Ctx, event: str, onset: date,
              early: tuple[int, str] | None = None) -> date | None:
    """The date of the first `event` in the log that does a duty arising on `onset`: from
    `early` before the onset (done in advance counts) up to the as-of date."""
    start = advance_start(ctx.calendar, onset, early)
    for e in ctx.log:
        if e.event == event and start <= e.date <= ctx.as_of:
            return e.date
    return None


def late(calendar: SchoolCalendar, source: str, action: str, due: date | None,
         done_on: date | None, unit: str, clauses: tuple[str, ...],
         state: str | None = None) -> tuple[Violation, ...]:
    """A statutory action done after its deadline, as a violation saying by how much."""
    if due is None or done_on is None or done_on <= due:
        return ()
    if unit == "school days":
        return (late_violation(source, action, due, done_on,
                               max(1, calendar.school_days_between(due, done_on)), unit,
                               clauses, state),)
    return (late_violation(source, action, due, done_on, (done_on - due).days, "days", clauses,
                           state),)


class _DayCount:
    """School days on or before a date, memoised for the last calendar seen."""

    def __init__(self) -> None:
        self.calendar: SchoolCalendar | None = None
        self.memo: dict[date, int] = {}

    def __call__(self, calendar: SchoolCalendar, d: date) -> int:
        if self.calendar is not calendar or len(self.memo) > 4096:
            self.calendar, self.memo = calendar, {}
        n = self.memo.get(d)
        if n is None:
            if calendar.is_school_day(d):
                n = calendar.school_day_index(d) + 1
            elif d > calendar.last_school_day:
                n = calendar.school_day_count
            else:
                n = calendar.school_days_on_or_before(d)
            self.memo[d] = n
        return n


school_days_upto = _DayCount()
"""`school_days_upto(calendar, d)`: how many school days fall on or before d."""




# -- tables -------------------------------------------------------------------------------------

Guard = Callable[[Ctx], bool]
Within = Callable[[Ctx], "int | None"]


@dataclass(frozen=True, slots=True)
class StateSpec:
    id: str
    title: str
    role: str | None
    final: bool
    clauses: tuple[str, ...]
    transitions: Mapping[str, tuple[tuple[Guard | None, str], ...]]
    within: Within | None = None
    unit: str = "school days"
    escalate_to: str | None = None
    action: str | None = None
    statutory: bool = False
    """The deadline is a statutory one: leaving the state after it is a `late` violation."""


@dataclass(frozen=True, slots=True)
class InvariantSpec:
    kind: str  # passes | before_leaving
    state: str
    through: str
    clauses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProcedureSpec:
    id: str
    clauses: tuple[str, ...]
    initial: str
    states: Mapping[str, StateSpec]
    opened_by: frozenset[str]
    invariants: tuple[InvariantSpec, ...] = ()
    in_advance: bool = False
    """Events logged before a case opens (within the policy's window) count when it opens."""
    moves: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", frozenset(
            e for s in self.states.values() for e in s.transitions))


@dataclass(frozen=True, slots=True)
class SafeguardSpec:
    """What the law requires on the day an event makes `fact` true, whatever the event."""

    id: str
    fact: str
    clauses: tuple[str, ...]
    requires: tuple[tuple[str, str, str, Guard], ...]
    """(requirement id, what must hold in words, its statute, the condition)."""


@dataclass(frozen=True, slots=True)
class PolicySpec:
    rules: tuple[tuple[str, Callable[[Ctx], RuleOutcome], str | None], ...]
    procedures: tuple[ProcedureSpec, ...]
    event_sets: Mapping[str, tuple[tuple[str, object], ...]]
    fact_scopes: Mapping[str, FactScope] = field(default_factory=dict)
    """Facts whose value an event sets for a while only (until the pupil attends, a period)."""
    attending: CodeSet | None = None
    """The codes in which a pupil attends (for `until_present`)."""
    early: tuple[int, str] | None = None
    """How long before a duty arises an action still counts as doing it."""
    safeguards: tuple[SafeguardSpec, ...] = ()
    guarded: Mapping[str, tuple[SafeguardSpec, ...]] = field(init=False)
    """Event -> the safeguards of the facts it makes true (worked out once)."""
    openers: Mapping[str, tuple[int, ...]] = field(init=False)
    """Procedure id -> positions in `rules` of the rules that open it (worked out once)."""
    opening: tuple[int, ...] = field(init=False)
    """Positions in `rules` of every rule that opens some procedure."""
    owners: Mapping[str, str] = field(init=False)
    """Event -> the procedure a stray event is blamed on (the first by id that moves on it)."""
    quiet: tuple[RuleOutcome, ...] = field(init=False)
    """Each rule's outcome when it does not fire."""
    permissioned: frozenset[str] = field(init=False)
    """Events every transition takes only under a guard (a removal from roll): one that no
    case took was not permitted, and changes no fact."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "guarded", {
            event: found for event, sets in self.event_sets.items()
            if (found := tuple(g for g in self.safeguards if (g.fact, True) in sets))})
        object.__setattr__(self, "openers", {
            proc.id: tuple(i for i, (_, _, opens) in enumerate(self.rules) if opens == proc.id)
            for proc in self.procedures})
        object.__setattr__(self, "opening", tuple(sorted({i for ids in self.openers.values()
                                                          for i in ids})))
        owners: dict[str, str] = {}
        for proc in sorted(self.procedures, key=lambda q: q.id, reverse=True):
            for name in proc.moves:
                owners[name] = proc.id
        object.__setattr__(self, "owners", owners)
        options = [(event, guard) for proc in self.procedures for state in proc.states.values()
                   for event, moves in state.transitions.items() for guard, _ in moves]
        object.__setattr__(self, "permissioned", frozenset(
            e for e, _ in options if all(g is not None for event, g in options if event == e)))
        object.__setattr__(self, "quiet", tuple(RuleOutcome(rule_id, False, None)
                                                for rule_id, _, _ in self.rules))


# -- a pupil --------------------------------------------------------------------------------------


def facts_at(spec: PolicySpec, pupil: Pupil, log: Sequence[CaseEvent], day: date,
             marks: PupilMarks, calendar: SchoolCalendar
             ) -> tuple[dict[str, object], dict[str, date]]:
    """A pupil's facts on a day (values, and since when for those that changed): the pupils
    file's, the law's, then each event's up to that day, within its scope. `log` is in date
    order (`sorted_log`)."""
    return facts_on(pupil.facts, log, spec.event_sets, spec.fact_scopes, spec.attending, marks,
                    calendar, day, shift)


def screen_ctx(spec: PolicySpec, pupil: Pupil, marks: PupilMarks, calendar: SchoolCalendar,
               as_of: date) -> Ctx:
    """The context of a pupil screened without a case log."""
    values, since = facts_at(spec, pupil, (), as_of, marks, calendar)
    return Ctx(calendar, marks, as_of, values, since)


def sorted_log(events: Sequence[CaseEvent]) -> list[CaseEvent]:
    """The case log in date order; events of one day keep the order they were recorded in."""
    return sorted(events, key=lambda e: e.date)


class _Pupil:
    """One pupil's evaluation: a context per date, made once."""

    def __init__(self, spec: PolicySpec, pupil: Pupil, marks: PupilMarks,
                 calendar: SchoolCalendar, log: Sequence[CaseEvent],
                 inert: frozenset[int] = frozenset()) -> None:
        self.spec, self.pupil, self.marks = spec, pupil, marks
        self.calendar, self.log = calendar, log
        self.facts_log = [e for i, e in enumerate(log) if i not in inert] if inert else log
        """The log as facts see it: an event a procedure refused changes no fact."""
        self.cache: dict[date, Ctx] = {}

    def at(self, day: date) -> Ctx:
        ctx = self.cache.get(day)
        if ctx is None:
            values, since = facts_at(self.spec, self.pupil, self.facts_log, day, self.marks,
                                     self.calendar)
            ctx = self.cache[day] = Ctx(self.calendar, self.marks, day, values, since, self.log)
        return ctx


def evaluate(spec: PolicySpec, pupil: Pupil, marks: PupilMarks, events: Sequence[CaseEvent],
             calendar: SchoolCalendar, as_of: date,
             fired: Sequence[bool] | None = None,
             known: Known | None = None) -> PupilResult:
    """Rules, procedure cases and log violations for one pupil as of a date.

    Both optional arguments come from working out many pupils at once beforehand (see
    `cme_policy.screening.prescreen`). `fired` says which rules may fire as of the date: one
    that may not is not run. `known` holds measure values and onsets as of the date, under
    the keys the generated measure functions memoise them by.
    """
    log = sorted_log(events)
    result, refused = _evaluate_once(spec, pupil, marks, calendar, as_of, log, frozenset(),
                                     fired, known)
    inert: frozenset[int] = frozenset()
    for _ in range(3):  # an unlawful step changes no fact; settle, as the interpreter does
        now_inert = frozenset(i for i in refused if spec.event_sets.get(log[i].event))
        if now_inert == inert:
            break
        inert = now_inert
        result, refused = _evaluate_once(spec, pupil, marks, calendar, as_of, log, inert)
    return result


def _evaluate_once(spec: PolicySpec, pupil: Pupil, marks: PupilMarks, calendar: SchoolCalendar,
                   as_of: date, log: Sequence[CaseEvent], inert: frozenset[int],
                   fired: Sequence[bool] | None = None,
                   known: Known | None = None
                   ) -> tuple[PupilResult, set[int]]:
    """One pass, with the facts of the `inert` events left out; also the events refused."""
    p = _Pupil(spec, pupil, marks, calendar, log, inert)
    now = p.at(as_of)
    if known:
        now.memo.update(known)
    if fired is None:
        rules = tuple(fn(now) for _, fn, _ in spec.rules)
    else:
        rules = tuple(fn(now) if hit else quiet
                      for (_, fn, _), hit, quiet in zip(spec.rules, fired, spec.quiet))
    checkpoints = _checkpoints(now, log)
    if not log and checkpoints == [as_of] and not any(rules[i].fires for i in spec.opening):
        return PupilResult(pupil.upn, as_of, rules, (), ()), set()  # most pupils: no case
    cases: list[CaseOutcome] = []
    taken: set[int] = set()
    refusals: list[tuple[str, dict[int, Violation]]] = []
    unlawful: set[int] = set()
    for proc in spec.procedures:
        openers = _openers(spec, proc, p, checkpoints, rules)
        if not openers and not log:
            continue  # no case can open, no event to replay: most pupils, most procedures
        replay = _Replay(proc, p, log, as_of)
        replay.run(openers)
        cases += replay.cases
        taken |= replay.accepted
        unlawful |= replay.unlawful
        refusals.append((proc.id, replay.refused))
    violations = _log_violations(spec, log, taken, refusals, as_of) if log else ()
    unlawful |= {i for i, e in enumerate(log) if e.event in spec.permissioned and e.date <= as_of}
    unlawful -= taken
    if spec.guarded and log:
        against_law = _safeguard_violations(spec, p, log, as_of)
        if against_law:
            unlawful |= against_law.keys()
            violations = tuple(sorted(
                list(violations) + [v for i in sorted(against_law) for v in against_law[i]],
                key=lambda v: (v.date, v.procedure, v.kind)))
    return PupilResult(pupil.upn, as_of, rules, tuple(cases), violations), unlawful


def _safeguard_violations(spec: PolicySpec, p: _Pupil, log: Sequence[CaseEvent],
                          as_of: date) -> dict[int, list[Violation]]:
    """Each logged event that makes a safeguarded fact true (a name deleted), whichever
    procedure took it or none, against the law's requirements on its day."""
    out: dict[int, list[Violation]] = {}
    for i, event in enumerate(log):
        guards = spec.guarded.get(event.event)
        if not guards or event.date > as_of:
            continue
        ctx = p.at(event.date)
        for guard in guards:
            for req_id, title, source, holds in guard.requires:
                if not holds(ctx):
                    out.setdefault(i, []).append(unlawful_violation(
                        guard.id, req_id, title, source, event.event, event.date,
                        guard.clauses))
    return out


def _checkpoints(now: Ctx, log: Sequence[CaseEvent]) -> list[date]:
    """Where opening rules are looked at: the as-of date, the last marked day, event dates.

    A case outlives the condition that opened it, yet no rule is run on every past day.
    """
    as_of = now.as_of
    days = {as_of}
    days.update(e.date for e in log if e.date <= as_of)
    last = now.marks.last_marked_of(now.days())
    if last is not None:
        days.add(last)
    return sorted(days)


def _openers(spec: PolicySpec, proc: ProcedureSpec, p: _Pupil, checkpoints: Sequence[date],
             now: Sequence[RuleOutcome]) -> list[date]:
    """Each onset an opening rule shows at a checkpoint opens a case (one at a time).

    `now` holds the rules' outcomes at the as-of date (the last checkpoint), already computed.
    """
    onsets: set[date] = set()
    as_of = checkpoints[-1]
    for i in spec.openers[proc.id]:
        fn = spec.rules[i][1]
        for day in checkpoints:
            outcome = now[i] if day == as_of else fn(p.at(day))
            if outcome.fires and outcome.onset is not None:
                onsets.add(outcome.onset)
    return sorted(onsets)


def audit(spec: PolicySpec, pupil: Pupil, marks: PupilMarks, events: Sequence[CaseEvent],
          calendar: SchoolCalendar, as_of: date) -> PupilResult:
    """The case log's view: procedure cases and violations (rules are left out)."""
    full = evaluate(spec, pupil, marks, events, calendar, as_of)
    return PupilResult(full.upn, full.as_of, (), full.cases, full.violations)


def _log_violations(spec: PolicySpec, log: Sequence[CaseEvent], taken: set[int],
                    refusals: list[tuple[str, dict[int, Violation]]],
                    as_of: date) -> tuple[Violation, ...]:
    out: list[Violation] = []
    refused: set[int] = set()
    for _, by_index in sorted(refusals, key=lambda r: r[0]):
        out += [by_index[i] for i in sorted(by_index) if i not in taken]
        refused |= by_index.keys()
    for i, event in enumerate(log):
        if event.date > as_of or i in taken or i in refused:
            continue
        owner = spec.owners.get(event.event)
        if owner is not None:
            out.append(Violation(owner, "no_open_case", event.date,
                                 f"'{event.event}' recorded but no case of '{owner}' was open",
                                 None, event.event, ()))
    out.sort(key=lambda v: (v.date, v.procedure, v.kind))
    return tuple(out)


# -- one procedure over the log -----------------------------------------------------------------


class _Replay:
    """Replays the log through one procedure's table, opening a new case after each close."""

    def __init__(self, proc: ProcedureSpec, pupil: _Pupil, log: Sequence[CaseEvent],
                 as_of: date) -> None:
        self.proc, self.pupil, self.log, self.as_of = proc, pupil, log, as_of
        self.cases: list[CaseOutcome] = []
        self.accepted: set[int] = set()
        self.refused: dict[int, Violation] = {}
        self.unlawful: set[int] = set()
        """Refused because no transition's guard held: the step was not lawful on its date."""

    def run(self, openers: Sequence[date]) -> None:
        agenda = [(d, 0, -1) for d in openers]
        agenda += [(e.date, 1, i) for i, e in enumerate(self.log) if e.date <= self.as_of]
        agenda.sort()
        case: _Case | None = None
        early: list[int] = []  # this procedure's events while no case was open
        for when, is_event, index in agenda:
            if case is not None:
                case.escalate(when)
            name = self.log[index].event if is_event else ""
            if not is_event or name in self.proc.opened_by:
                if case is None:
                    case = _Case(self.proc, self.pupil, when)
                    case = self._take_early(case, early)
                    early = []
                if is_event:
                    self.accepted.add(index)
            elif case is not None and name in self.proc.moves:
                self._step(case, index)
                case = self._closed(case)
            elif name in self.proc.moves:
                early.append(index)
        if case is not None:
            case.escalate(self.as_of)
            self.cases.append(case.outcome(self.as_of))

    def _closed(self, case: _Case) -> _Case | None:
        if not case.spec.final:
            return case
        self.cases.append(case.outcome(self.as_of))
        return None

    def _take_early(self, case: _Case, early: list[int]) -> _Case | None:
        """Events done in advance (within `done_in_advance` before the case opened) count as
        done on the day it opens; one the opening state cannot take stays unexplained."""
        if not self.proc.in_advance:
            return case
        start = advance_start(self.pupil.calendar, case.opened, self.pupil.spec.early)
        for index in early:
            event = self.log[index]
            if event.date < start:
                continue
            for guard, target in case.spec.transitions.get(event.event, ()):
                if guard is None or guard(self.pupil.at(event.date)):
                    case.enter(target, case.opened, event.event)
                    self.accepted.add(index)
                    break
            if case.spec.final:
                return self._closed(case)
        return case

    def _step(self, case: _Case, index: int) -> None:
        event = self.log[index]
        spec = case.spec
        options = spec.transitions.get(event.event, ())
        for guard, target in options:
            if guard is None or guard(self.pupil.at(event.date)):
                case.enter(target, event.date, event.event)
                self.accepted.add(index)
                return
        why = "no transition applies" if options else "not allowed"
        if options:
            self.unlawful.add(index)
        self.refused[index] = Violation(
            self.proc.id, "illegal_event", event.date,
            f"'{event.event}' recorded while the case was at '{spec.title}' ({why} there)",
            spec.id, event.event, spec.clauses or self.proc.clauses)


class _Case:
    def __init__(self, proc: ProcedureSpec, pupil: _Pupil, opened: date) -> None:
        self.proc, self.pupil, self.opened = proc, pupil, opened
        self.spec = proc.states[proc.initial]
        self.entered = opened
        self.history = [Step(opened, "opened", proc.initial)]
        self.visited = {proc.initial}
        self.violations: list[Violation] = []

    def due(self) -> date | None:
        within = self.spec.within
        if within is None:
            return None
        amount = within(self.pupil.at(self.entered))
        return shift_opt(self.pupil.calendar, self.entered, amount, self.spec.unit)

    def enter(self, target: str, when: date, trigger: str) -> None:
        spec = self.spec
        if spec.statutory and spec.escalate_to is None and trigger != "deadline":
            self.violations += late(self.pupil.calendar, self.proc.id, spec.action or spec.title,
                                    self.due(), when, spec.unit,
                                    spec.clauses or self.proc.clauses, spec.id)
        for inv in self.proc.invariants:
            if inv.through in self.visited:
                continue
            if (inv.kind == "passes" and target == inv.state) or (
                    inv.kind == "before_leaving" and self.spec.id == inv.state
                    and target != inv.state):
                verb = "reached" if inv.kind == "passes" else "left"
                self.violations.append(Violation(
                    self.proc.id, "invariant", when,
                    f"{verb} '{_title(self.proc, inv.state)}' without first "
                    f"'{_title(self.proc, inv.through)}'",
                    target, None, inv.clauses or self.proc.clauses))
        self.spec, self.entered = self.proc.states[target], when
        self.history.append(Step(when, trigger, target))
        self.visited.add(target)

    def escalate(self, limit: date) -> None:
        """Every deadline missed before `limit` escalates on the day after it."""
        for _ in range(50 * len(self.proc.states)):
            spec = self.spec
            if spec.final or spec.escalate_to is None:
                return
            due = self.due()
            if due is None or due + ONE_DAY > limit:
                return
            self.violations.append(Violation(
                self.proc.id, "deadline_missed", due + ONE_DAY,
                f"'{spec.title}' was not completed by {due.isoformat()}; escalated",
                spec.id, None, spec.clauses or self.proc.clauses))
            self.enter(spec.escalate_to, due + ONE_DAY, "deadline")

    def outcome(self, as_of: date) -> CaseOutcome:
        spec = self.spec
        actions: tuple[Action, ...] = ()
        if not spec.final:
            due = self.due()
            actions = (Action("procedure", self.proc.id, spec.action or spec.title, spec.role,
                              due, status(due, as_of, False), spec.clauses or self.proc.clauses,
                              None, spec.id),)
        return CaseOutcome(self.proc.id, self.opened, spec.id, self.entered, spec.final,
                           tuple(self.history), actions, tuple(self.violations))


def _title(proc: ProcedureSpec, state: str) -> str:
    found = proc.states.get(state)
    return found.title if found else state
