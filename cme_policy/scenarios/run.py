"""Run a policy's scenarios through the reference interpreter and compare with what they expect.

A scenario (docs/scenarios.md) gives a pupil's facts, marks in the compact notation, a case
log and an as-of date, and says what it expects: the complete list of actions and of
violations, the states of procedures, which rules fire or do not. Each scenario becomes a
`ScenarioResult`: passed, failed with readable differences, or unable to run (a calendar that
cannot be loaded, a mark on a Saturday, an unknown code …) with the file and line to fix.
`run_scenarios` runs them all and records coverage in the policy's terms.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir import model as m
from cme_policy.ir.english import Vocabulary, render
from cme_policy.ir.tables import code_table
from cme_policy.ir.values import fact_value
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import CodeTable, MarkError, PupilMarks
from cme_policy.runtime.pupil import CaseEvent, FactValue, Pupil
from cme_policy.runtime.results import DONE, DUE, OVERDUE, VIOLATED, Action, PupilResult, Violation
from cme_policy.scenarios.coverage import Coverage
from cme_policy.source.span import Span

ACTION_KEYS = ("rule", "procedure", "action", "role", "due", "status", "state")
VIOLATION_KEYS = ("procedure", "rule", "law", "kind", "event", "state", "date", "message")
EXPECT_KEYS = ("actions", "violations", "states", "fires", "not_fires", "nothing")
STATUSES = (DUE, OVERDUE, DONE, VIOLATED)
VIOLATION_KINDS = ("illegal_event", "no_open_case", "deadline_missed", "invariant", "late",
                   "unlawful")
NONE = "none"

Item = dict[str, str]


# -- results -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """One way a scenario did not hold (or could not run), ready to print.

    `expected` and `actual` are YAML-like lines; `diff` a unified diff of the two (the actual
    items shown with the keys the expectation uses); `involved` the titles of the rules,
    procedures and states concerned.
    """

    check: str  # actions | violations | states | fires | not_fires | nothing | error
    message: str
    span: Span | None = None
    hint: str | None = None
    expected: tuple[str, ...] = ()
    actual: tuple[str, ...] = ()
    diff: tuple[str, ...] = ()
    involved: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"check": self.check, "message": self.message}
        if self.span is not None:
            out["at"] = str(self.span)
        for key in ("hint", "expected", "actual", "diff", "involved"):
            value = getattr(self, key)
            if value:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class ScenarioResult:
    scenario: m.Scenario
    failures: tuple[Failure, ...] = ()
    error: Failure | None = None  # the scenario could not run
    result: PupilResult | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures

    @property
    def location(self) -> str:
        span = self.scenario.span
        return f"{span.path}:{span.line}"

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.scenario.id, "title": self.scenario.title, "at": str(self.scenario.span),
            "as_of": self.scenario.as_of.isoformat(),
            "status": "pass" if self.passed else ("error" if self.error else "fail")}
        if self.error is not None:
            out["error"] = self.error.as_json()
        if self.failures:
            out["failures"] = [f.as_json() for f in self.failures]
        return out


@dataclass(frozen=True)
class ScenarioReport:
    results: tuple[ScenarioResult, ...]
    coverage: Coverage

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def result(self, scenario_id: str) -> ScenarioResult:
        return next(r for r in self.results if r.scenario.id == scenario_id)

    def as_json(self) -> dict[str, object]:
        return {"scenarios": [r.as_json() for r in self.results],
                "coverage": self.coverage.as_json(),
                "passed": self.passed, "failed": self.failed}


class ScenarioError(Exception):
    """A scenario that cannot run: what is wrong, where, and how to fix it."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.span, self.hint = message, span, hint


# -- running -------------------------------------------------------------------------------

def run_scenarios(policy: m.Policy, root: Path) -> ScenarioReport:
    """Run every scenario of a checked policy; `root` is the policy directory (calendars are
    found relative to it). Never raises for a bad scenario: it becomes a failed result."""
    runner = Runner(policy, root)
    coverage = Coverage.of(policy)
    results: list[ScenarioResult] = []
    for scenario in policy.scenarios:
        outcome = runner.run(scenario)
        if outcome.result is not None:
            coverage.record(policy, outcome.result)
        results.append(outcome)
    return ScenarioReport(tuple(results), coverage)


class Runner:
    """Runs scenarios (or pupils built like them) through the reference interpreter."""

    def __init__(self, policy: m.Policy, root: Path) -> None:
        self.policy, self.root = policy, root
        self.table: CodeTable | None = None
        self.calendars: dict[Path, SchoolCalendar | ScenarioError] = {}
        self.interpreters: dict[Path, Interpreter] = {}
        self.vocab: Vocabulary | None = None

    def run(self, scenario: m.Scenario) -> ScenarioResult:
        try:
            written = self._written(scenario)
            _validate(self.policy, scenario, written)
            calendar_path, calendar = self._calendar(scenario)
            result = self.evaluate(scenario, calendar_path, calendar)
            failures = _Comparison(self.policy, scenario, written, result,
                                   self._vocabulary()).run()
        except ScenarioError as exc:
            return ScenarioResult(scenario, error=Failure(
                "error", exc.message, exc.span or scenario.span, exc.hint))
        except Exception as exc:  # noqa: BLE001 - a scenario never stops the others
            return ScenarioResult(scenario, error=Failure(
                "error", f"internal error while running the scenario: {type(exc).__name__}: "
                f"{exc}", scenario.span, "this is a bug in cme-policy; please report it"))
        return ScenarioResult(scenario, tuple(failures), None, result)

    # -- inputs ------------------------------------------------------------------------
    def _calendar(self, scenario: m.Scenario) -> tuple[Path, SchoolCalendar]:
        name = scenario.calendar or self.policy.manifest.calendar
        if name is None:
            raise ScenarioError(
                f"scenario '{scenario.id}' has no school calendar to run on", scenario.span,
                "add `calendar: calendar.yaml` to policy.yaml, or `calendar:` under the "
                "scenario's `given:` (a path relative to the policy directory)")
        path = self.root / name
        if path not in self.calendars:
            try:
                self.calendars[path] = load_calendar(path)
            except CalendarError as exc:
                self.calendars[path] = ScenarioError(
                    f"cannot use the calendar {_place(exc, path)}: {exc.message}",
                    scenario.span, exc.hint)
        found = self.calendars[path]
        if isinstance(found, ScenarioError):
            raise ScenarioError(found.message, scenario.span, found.hint)
        return path, found

    def _interpreter(self, path: Path, calendar: SchoolCalendar) -> Interpreter:
        if path not in self.interpreters:
            self.interpreters[path] = Interpreter(self.policy, calendar)
        return self.interpreters[path]

    def _vocabulary(self) -> Vocabulary | None:
        if self.vocab is None:
            try:
                self.vocab = Vocabulary.from_policy(self.policy)
            except Exception:  # noqa: BLE001 - English is a nicety in a failure message
                return None
        return self.vocab

    def evaluate(self, scenario: m.Scenario, path: Path, calendar: SchoolCalendar,
                  cases_only: bool = False) -> PupilResult:
        if not calendar.covers(scenario.as_of):
            raise ScenarioError(
                f"as_of {scenario.as_of} is outside every academic year of the calendar "
                f"({_years(calendar)})", scenario.span,
                "choose a date the calendar covers, or add its academic year to the calendar")
        if self.table is None:
            self.table = code_table(self.policy)
        marks = _marks(scenario, calendar, self.table)
        facts: dict[str, FactValue] = {}
        for name, expr in scenario.pupil:
            # the values the interpreter uses for facts set by events (percentages are exact
            # Fractions there too); the type checker has already matched them to the facts
            facts[name] = cast(FactValue, fact_value(expr))
        events = [CaseEvent(e.date, e.event, e.role) for e in scenario.events]
        interpreter = self._interpreter(path, calendar)
        try:
            return interpreter.evaluate(Pupil(scenario.id, facts), marks, events, scenario.as_of,
                                        cases_only)
        except (CalendarError, MarkError) as exc:
            raise ScenarioError(f"the scenario cannot be evaluated: {_message(exc)}",
                                scenario.span, getattr(exc, "hint", None)) from exc

    # -- which expectation keys were written ------------------------------------------------
    def _written(self, scenario: m.Scenario) -> _Written:
        """The expectation as written: which keys are present and where each item is."""
        return _Written.from_ir(scenario.expect)


@dataclass
class _Written:
    keys: dict[str, Span | None] = field(default_factory=dict)
    items: dict[str, list[Span | None]] = field(default_factory=dict)
    state_spans: dict[str, Span | None] = field(default_factory=dict)

    @staticmethod
    def from_ir(expect: m.Expectation) -> _Written:
        out = _Written({k: expect.at(k) for k in expect.written})
        for key in ("actions", "violations", "fires", "not_fires"):
            count = sum(1 for ref in expect.refs.names if ref.startswith(f"{key}#"))
            out.items[key] = [expect.at(f"{key}#{i}") for i in range(count)]
        out.state_spans = {k: expect.at(f"states.{k}") for k, _ in expect.states}
        return out

    def item_span(self, key: str, index: int, fallback: Span) -> Span:
        spans = self.items.get(key, [])
        span = spans[index] if index < len(spans) else None
        return span or self.keys.get(key) or fallback


# -- inputs ----------------------------------------------------------------------------

def _marks(scenario: m.Scenario, calendar: SchoolCalendar, table: CodeTable) -> PupilMarks:
    """Every run of marks laid on the calendar; runs may not disagree about a session."""
    if not scenario.marks:
        return PupilMarks.empty(calendar, table)
    rows: list[tuple[dt.date, str, str]] = []
    for run in scenario.marks:
        span = run.span if run.span != m.NOWHERE else scenario.span
        if not calendar.covers(run.start):
            raise ScenarioError(
                f"marks from {run.start}: the date is outside every academic year of the "
                f"calendar ({_years(calendar)})", span,
                "start the marks on a school day the calendar covers")
        if not calendar.is_school_day(run.start):
            reason = calendar.non_school_reason(run.start)
            raise ScenarioError(
                f"marks from {_day(run.start)}: not a school day ({reason})", span,
                "a run of marks starts on a school day; weekends, holidays, INSET and closure "
                f"days are skipped after that (the next school day is "
                f"{_day(calendar.school_day_on_or_after(run.start))})")
        try:
            laid = PupilMarks.from_compact(calendar, table, run.start, run.sessions)
        except (MarkError, CalendarError) as exc:
            raise ScenarioError(f"marks from {run.start}: {_message(exc)}", span,
                                "see docs/measures.md for the compact notation") from exc
        rows.extend(laid.sessions())
    try:
        return PupilMarks.from_sessions(calendar, table, rows)
    except (MarkError, CalendarError) as exc:
        raise ScenarioError(f"the runs of marks disagree: {_message(exc)}", scenario.span,
                            "give each session one mark") from exc


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, CalendarError) else str(exc)


def _place(exc: CalendarError, path: Path) -> str:
    where = exc.path or str(path)
    for part in (exc.line, exc.column):
        if part is not None:
            where += f":{part}"
    return where


def _years(calendar: SchoolCalendar) -> str:
    years = calendar.years
    return years[0].name + (f" … {years[-1].name}" if len(years) > 1 else "")


def _day(d: dt.date) -> str:
    return f"{d.strftime('%A')} {d.isoformat()}"


# -- checking the expectation itself -----------------------------------------------------------

def _validate(policy: m.Policy, scenario: m.Scenario, written: _Written) -> None:
    """Refuse an expectation that cannot be meant: nothing to check, unknown names."""
    expect, where = scenario.expect, scenario.span
    if not written.keys:
        raise ScenarioError(
            f"scenario '{scenario.id}' expects nothing checkable", expect.span
            if expect.span != m.NOWHERE else where,
            "give at least one of " + ", ".join(EXPECT_KEYS) + " under `expect:`")
    rules = {r.id for r in policy.rules}
    procs = {p.id: p for p in policy.procedures}
    for i, item in enumerate(expect.actions):
        span = written.item_span("actions", i, where)
        _check_item(item, ACTION_KEYS, "expected action", span)
        values = dict(item)
        if "rule" in values and "procedure" in values:
            raise ScenarioError("an expected action comes from a rule or from a procedure, "
                                "not both", span, "keep `rule:` or `procedure:`")
        if "rule" in values:
            _known(values["rule"], rules, "rule", span)
        if "procedure" in values:
            _known(values["procedure"], set(procs), "procedure", span)
            if "state" in values:
                _known_state(procs[values["procedure"]], values["state"], span)
        if "due" in values and values["due"] != NONE:
            _date(values["due"], "due", span)
        if "status" in values:
            _known(values["status"], set(STATUSES), "status", span)
    for i, item in enumerate(expect.violations):
        span = written.item_span("violations", i, where)
        _check_item(item, VIOLATION_KEYS, "expected violation", span)
        values = dict(item)
        if sum(k in values for k in ("rule", "procedure", "law")) > 1:
            raise ScenarioError("an expected violation comes from a rule, a procedure or the "
                                "law, not two of them", span,
                                "keep one of `rule:` (a late action), `procedure:` or `law:`")
        if "rule" in values:
            _known(values["rule"], rules, "rule", span)
        if "law" in values:
            _known(values["law"], {g.id for g in policy.safeguards}, "safeguard", span)
        if "procedure" in values:
            _known(values["procedure"], set(procs), "procedure", span)
            if "state" in values:
                _known_state(procs[values["procedure"]], values["state"], span)
        if "kind" in values:
            _known(values["kind"], set(VIOLATION_KINDS), "violation kind", span)
        if "event" in values:
            _known(values["event"], {e.id for e in policy.events}, "event", span)
        if "date" in values:
            _date(values["date"], "date", span)
    for proc_id, state in expect.states:
        span = written.state_spans.get(proc_id) or written.keys.get("states") or where
        _known(proc_id, set(procs), "procedure", span)
        if state != NONE:
            _known_state(procs[proc_id], state, span)
    for key, ids in (("fires", expect.fires), ("not_fires", expect.not_fires)):
        for i, rule_id in enumerate(ids):
            _known(rule_id, rules, "rule", written.item_span(key, i, where))


def _check_item(item: tuple[tuple[str, str], ...], allowed: Sequence[str], what: str,
                span: Span) -> None:
    if not item:
        raise ScenarioError(f"an {what} with no keys matches anything", span,
                            "give at least one of: " + ", ".join(allowed))
    for key, _ in item:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            raise ScenarioError(f"unknown key '{key}' in an {what}", span,
                                f"did you mean '{close[0]}'?" if close
                                else "allowed keys: " + ", ".join(allowed))


def _known(value: str, known: set[str], what: str, span: Span) -> None:
    if value not in known:
        close = difflib.get_close_matches(value, sorted(known), n=1)
        raise ScenarioError(f"unknown {what} '{value}'", span,
                            f"did you mean '{close[0]}'?" if close
                            else f"known: {', '.join(sorted(known)) or '(none)'}")


def _known_state(proc: m.Procedure, state: str, span: Span) -> None:
    _known(state, {s.id for s in proc.states}, f"state of '{proc.id}'", span)


def _date(text: str, key: str, span: Span) -> None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        hint = "write dates as YYYY-MM-DD" + (", or `none`" if key == "due" else "")
        raise ScenarioError(f"`{key}: {text}` is not a date", span, hint) from None


# -- comparing --------------------------------------------------------------------------

def action_item(action: Action) -> Item:
    """An action as the fields a scenario can expect (missing values read `none`)."""
    return {action.source: action.source_id, "action": action.action,
            "role": _text(action.role), "due": _text(action.due), "status": action.status,
            "state": _text(action.state)}


def violation_item(violation: Violation) -> Item:
    """A violation as the fields a scenario can expect; one from a rule (a statutory action
    done late) names the rule."""
    return {violation.source: violation.procedure, "kind": violation.kind,
            "event": _text(violation.event), "state": _text(violation.state),
            "date": violation.date.isoformat(), "message": violation.message}


def _text(value: object) -> str:
    if value is None:
        return NONE
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _norm(text: str) -> str:
    return " ".join(text.split())


def fits(expected: Mapping[str, str], actual: Mapping[str, str]) -> bool:
    """An expected item matches an actual one when every key it gives is equal."""
    return all(k in actual and _norm(actual[k]) == _norm(v) for k, v in expected.items())


def match(expected: Sequence[Item], actual: Sequence[Item]) -> dict[int, int]:
    """A maximum one-to-one matching, expected index → actual index (augmenting paths)."""
    owner: dict[int, int] = {}

    def place(i: int, seen: set[int]) -> bool:
        for j, item in enumerate(actual):
            if j not in seen and fits(expected[i], item):
                seen.add(j)
                if j not in owner or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(expected)):
        place(i, set())
    return {i: j for j, i in owner.items()}


def render_items(items: Sequence[Item], keys: Sequence[str],
                 comments: Sequence[str | None] = ()) -> list[str]:
    """YAML-like lines: `- key: value` then `  key: value`, in the canonical key order."""
    lines: list[str] = []
    for n, item in enumerate(items):
        shown = [k for k in keys if k in item] + [k for k in item if k not in keys]
        if not shown:
            lines.append("- {}")
        for i, key in enumerate(shown):
            lines.append(("- " if i == 0 else "  ") + f"{key}: {_norm(item[key])}")
        comment = comments[n] if n < len(comments) else None
        if comment:
            lines.append(f"  # {_norm(comment)}")
    return lines


def _project(item: Item, keys: Sequence[str]) -> Item:
    return {k: item[k] for k in keys if k in item}


IDENTITY_KEYS = frozenset({"rule", "procedure", "law", "state", "kind", "event"})


def _similar(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    """How alike two items are: equal identity keys (where it comes from) count most."""
    return sum(10 if k in IDENTITY_KEYS else 1
               for k, v in a.items() if k in b and _norm(b[k]) == _norm(v))


def list_diff(expected: Sequence[Item], actual: Sequence[Item], keys: Sequence[str],
              noun: str = "item") -> tuple[bool, list[str], dict[int, int]]:
    """(one-to-one match?, diff lines, matching).

    The diff is a unified diff (difflib) item by item: each expected item that has no match
    is set against the leftover actual item most like it, shown with the keys the
    expectation uses, so only the differing values carry `-`/`+`; items that match are left
    out, and unexpected items are all `+`.
    """
    matched = match(expected, actual)
    ok = len(matched) == len(expected) == len(actual)
    if ok:
        return ok, [], matched
    free_actual = [j for j in range(len(actual)) if j not in matched.values()]
    near: dict[int, int] = {}
    for i in range(len(expected)):  # pair each miss with its nearest leftover
        if i in matched or not free_actual:
            continue
        best = max(free_actual, key=lambda j: _similar(expected[i], actual[j]))
        if _similar(expected[i], actual[best]) > 0:
            near[i] = best
            free_actual.remove(best)
    union = [k for k in keys if any(k in e for e in expected)]
    source = ("rule", "procedure", "law")  # where an actual item comes from is never hidden
    lines = ["--- expected", "+++ actual"]
    for i, item in enumerate(expected):
        if i in matched:
            continue
        before = render_items([item], keys)
        after: list[str] = []
        if i in near:
            other = actual[near[i]]
            wanted = list(item) + [k for k in source if k in other and k not in item]
            after = render_items([_project(other, [k for k in keys if k in wanted])], keys)
        lines.append(f"@@ expected {noun} {i + 1}" + (" (nearest actual)" if after else
                                                     " (not found)") + " @@")
        lines += _line_diff(before, after)
    for j in free_actual:
        wanted = union + [k for k in source if k not in union] if union else list(keys)
        lines.append(f"@@ unexpected {noun} @@")
        lines += ["+" + x for x in render_items([_project(actual[j],
                                                          [k for k in keys if k in wanted])],
                                                keys)]
    return ok, lines, matched


def _line_diff(before: Sequence[str], after: Sequence[str]) -> list[str]:
    out: list[str] = []
    ops = difflib.SequenceMatcher(None, list(before), list(after), autojunk=False)
    for tag, i1, i2, j1, j2 in ops.get_opcodes():
        if tag == "equal":
            out += [" " + x for x in before[i1:i2]]
            continue
        out += ["-" + x for x in before[i1:i2]]
        out += ["+" + x for x in after[j1:j2]]
    return out


class _Comparison:
    def __init__(self, policy: m.Policy, scenario: m.Scenario, written: _Written,
                 result: PupilResult, vocab: Vocabulary | None) -> None:
        self.policy, self.scenario, self.written = policy, scenario, written
        self.result, self.vocab = result, vocab
        self.rules = {r.id: r for r in policy.rules}
        self.procs = {p.id: p for p in policy.procedures}

    def run(self) -> list[Failure]:
        checks: list[tuple[str, Callable[[], Failure | None]]] = [
            ("actions", self.actions), ("violations", self.violations),
            ("states", self.states), ("nothing", self.nothing)]
        out = [f for key, check in checks if key in self.written.keys and (f := check())]
        if "fires" in self.written.keys:
            out += self.fires(self.scenario.expect.fires, True)
        if "not_fires" in self.written.keys:
            out += self.fires(self.scenario.expect.not_fires, False)
        return out

    def _span(self, key: str) -> Span:
        return self.written.keys.get(key) or self.scenario.expect.span

    def actions(self) -> Failure | None:
        expected = [dict(i) for i in self.scenario.expect.actions]
        actual = [action_item(a) for a in self.result.actions]
        return self._lists("actions", "action", expected, actual, ACTION_KEYS, [])

    def violations(self) -> Failure | None:
        expected = [dict(i) for i in self.scenario.expect.violations]
        found = self.result.all_violations
        actual = [violation_item(v) for v in found]
        return self._lists("violations", "violation", expected, actual, VIOLATION_KEYS,
                           [v.message for v in found])

    def _lists(self, key: str, noun: str, expected: list[Item], actual: list[Item],
               keys: Sequence[str], comments: Sequence[str | None]) -> Failure | None:
        ok, diff, matched = list_diff(expected, actual, keys, noun)
        if ok:
            return None
        missing = len(expected) - len(matched)
        extra = len(actual) - len(matched)
        parts = [f"{len(expected)} expected, {len(actual)} actual"]
        if missing:
            parts.append(f"{missing} expected {noun}(s) not found")
        if extra:
            parts.append(f"{extra} unexpected {noun}(s)")
        return Failure(key, f"{key} differ: " + "; ".join(parts), self._span(key), None,
                       tuple(render_items(expected, keys) or ["[]"]),
                       tuple(render_items(actual, keys, comments) or ["[]"]),
                       tuple(diff), tuple(self._involved(expected + actual)))

    def states(self) -> Failure | None:
        expected = list(self.scenario.expect.states)
        actual = [(p, self.result.state_of(p) or NONE) for p, _ in expected]
        if expected == actual:
            return None
        exp_lines = [f"{p}: {s}" for p, s in expected]
        act_lines = [f"{p}: {s}" for p, s in actual]
        diff = difflib.unified_diff(exp_lines, act_lines, "expected", "actual", lineterm="")
        wrong = [p for (p, s), (_, a) in zip(expected, actual) if s != a]
        involved = self._involved([{"procedure": p, "state": s} for p, s in expected + actual])
        return Failure("states", "states differ: " + ", ".join(wrong), self._span("states"),
                       None, tuple(exp_lines), tuple(act_lines), tuple(diff), tuple(involved))

    def nothing(self) -> Failure | None:
        if not self.scenario.expect.nothing:
            return None
        actions, violations = self.result.actions, self.result.all_violations
        if not actions and not violations:
            return None
        items = [action_item(a) for a in actions]
        lines = ["actions:"] + ["  " + x for x in render_items(items, ACTION_KEYS)]
        v_items = [violation_item(v) for v in violations]
        lines += ["violations:"] + ["  " + x for x in render_items(
            v_items, VIOLATION_KEYS, [v.message for v in violations])]
        return Failure("nothing", f"expected nothing, but there are {len(actions)} action(s) "
                       f"and {len(violations)} violation(s)", self._span("nothing"), None,
                       ("actions: []", "violations: []"), tuple(lines), (),
                       tuple(self._involved(items + v_items)))

    def fires(self, ids: Sequence[str], wanted: bool) -> list[Failure]:
        key = "fires" if wanted else "not_fires"
        out: list[Failure] = []
        for rule_id in ids:
            outcome = next((r for r in self.result.rules if r.rule == rule_id), None)
            fired = outcome is not None and outcome.fires
            if fired == wanted:
                continue
            rule = self.rules.get(rule_id)
            lines = [f"when: {self._english(rule)}"] if rule is not None else []
            if outcome is not None and outcome.fires:
                onset = outcome.onset.isoformat() if outcome.onset else NONE
                lines.append(f"onset: {onset}")
                lines += render_items([action_item(a) for a in outcome.actions], ACTION_KEYS)
            message = (f"rule '{rule_id}' was expected to fire as of {self.scenario.as_of} "
                       "but did not" if wanted else
                       f"rule '{rule_id}' was expected not to fire as of "
                       f"{self.scenario.as_of} but it did")
            out.append(Failure(key, message, self._span(key), None,
                               (f"{rule_id}: {'fires' if wanted else 'does not fire'}",),
                               (f"{rule_id}: {'fires' if fired else 'does not fire'}", *lines),
                               (), tuple(self._involved([{"rule": rule_id}]))))
        return out

    def _english(self, rule: m.Rule) -> str:
        if self.vocab is not None:
            try:
                return render(rule.when, self.vocab)
            except Exception:  # noqa: BLE001 - English is a nicety here
                pass
        return "(see the rule)"

    def _involved(self, items: Sequence[Mapping[str, str]]) -> list[str]:
        """`rule x: title`, `procedure p: title`, `state p.s: title`, each once, in order."""
        lines: list[str] = []
        for item in items:
            rule = self.rules.get(item.get("rule", ""))
            if rule is not None:
                lines.append(f"rule {rule.id}: {rule.title}")
            proc = self.procs.get(item.get("procedure", ""))
            if proc is not None:
                lines.append(f"procedure {proc.id}: {proc.title}")
                state = proc.state(item.get("state", ""))
                if state is not None:
                    lines.append(f"state {proc.id}.{state.id}: {state.title}")
        return list(dict.fromkeys(lines))
