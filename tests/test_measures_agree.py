"""Every measure is defined once, by the interpreter's naive walk over the marks
(`cme_policy.interpret.measures`, written from docs/measures.md); each fast version is held
equal to it here (issue 17, item 1):

* the runtime's one-pupil functions (`cme_policy.runtime.measures`), values and onsets;
* the generated checkers' measure functions (the backend's `_FAST_BODIES`), values and
  onsets, from a policy with every kind built into a temporary directory;
* the run's block measures in numpy (`cme_policy.screening.measure_columns`), values and
  onsets, several pupils to a block.

On generated histories with sessions never marked, codes that are not possible sessions,
runs of one code, and as-of and `since` dates anywhere in the calendar: on its first and
last school days, weekends, half terms and the summer, INSET and closure days, before a
pupil's first mark, and (for `since`) outside the calendar. Every comparison operator, with
thresholds around the values that occur.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cme_policy import build
from cme_policy.driver import check_policy
from cme_policy.interpret import measures as oracle
from cme_policy.interpret.school_days import SchoolDays
from cme_policy.ir import model as m
from cme_policy.runtime import measures as rt
from cme_policy.runtime.calendar import CalendarError, SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.engine import Ctx
from cme_policy.runtime.marks import NO_MARK, CodeTable, PupilMarks
from cme_policy.screening.measure_columns import KINDS as COLUMNS
from cme_policy.screening.measure_columns import Block, NotCovered

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "tests" / "interpret" / "policy"
FIXTURES = ROOT / "tests" / "runtime" / "fixtures"
CALENDARS = {
    # one year, as a Leicester school publishes it
    "leicester": load_calendar(FIXTURES / "leicester-2025-26.yaml"),
    # two years with INSET days, a planned closure and a snow closure (docs/calendar.md)
    "two_years": load_calendar(FIXTURES / "example-2025-27.yaml"),
}
DAYS = {name: SchoolDays(calendar) for name, calendar in CALENDARS.items()}
OPS = ["==", "!=", "<", "<=", ">", ">="]

CODE_SETS = {
    "gno": ["G", "N", "O"],
    "present": ["/", "\\", "L"],
    # codes that are not possible sessions among those looked for: D, X, Y1, #
    "odd": ["N", "I", "D", "X", "Y1", "#"],
}
SHORT = {"consecutive_school_days": "run", "count_sessions": "sessions",
         "count_school_days": "days", "share_of_possible_sessions": "share",
         "days_since_last_present": "away", "school_days_since_last_present": "school_away",
         "oldest_unresolved": "oldest"}
WINDOW = [{"name": "window", "type": "school_days", "label": "the window"}]
SINCE = [{"name": "since", "type": "date", "label": "the start"}]


def _measures() -> dict[str, dict[str, Any]]:
    """One measure per kind, code set and form of argument."""
    out: dict[str, dict[str, Any]] = {}
    for kind, short in SHORT.items():
        forms: list[tuple[str, list[dict[str, str]]]] = [("", [])]
        if kind in ("count_sessions", "count_school_days"):
            forms = [("", WINDOW), ("_since", SINCE)]
        elif kind == "share_of_possible_sessions":
            forms = [("", SINCE)]
        for name, codes in CODE_SETS.items():
            for suffix, args in forms:
                out[f"{short}_{name}{suffix}"] = {
                    "kind": kind, "codes": list(codes), "label": f"{kind} over {name}",
                    **({"args": json.loads(json.dumps(args))} if args else {})}
    return out


MEASURES = _measures()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[m.Policy, ModuleType]:
    """The interpreter's test policy with every measure above, built and imported."""
    tmp = tmp_path_factory.mktemp("measures")
    policy_dir = tmp / "policy"
    shutil.copytree(POLICY, policy_dir)
    main = yaml.safe_load((policy_dir / "main.yaml").read_text(encoding="utf-8"))
    main["measures"].update(MEASURES)
    (policy_dir / "main.yaml").write_text(yaml.safe_dump(main, sort_keys=False),
                                          encoding="utf-8")
    result = check_policy(policy_dir)
    assert result.ok and result.policy is not None, [str(d) for d in result.errors]
    build.write(tmp / "out", build.render(result.policy, "measures policy"))
    path = tmp / "out" / "python" / "policy_checks"
    spec = importlib.util.spec_from_file_location("measures_agree_checks", path / "__init__.py",
                                                  submodule_search_locations=[str(path)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["measures_agree_checks"] = module
    spec.loader.exec_module(module)
    return result.policy, module


# -- histories -------------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn, calendar: SchoolCalendar, table: CodeTable) -> list[str]:
    """One to four pupils' mark strings, built from stretches of school days each repeating
    a short pattern of sessions (one code throughout, AM and PM differing, or a cycle of
    three), with unmarked stretches (a pupil not yet on roll, a register not yet taken)."""
    sessions = 2 * calendar.school_day_count
    every = [table.char(c) for c in table.codes]
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        alphabet = draw(st.one_of(
            st.lists(st.sampled_from(every + [NO_MARK]), min_size=1, max_size=4, unique=True),
            st.just(every + [NO_MARK])))
        text = [NO_MARK] * draw(st.one_of(st.just(0), st.integers(0, sessions)))
        while len(text) < sessions:
            pattern = draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=3))
            length = 2 * draw(st.one_of(st.integers(1, 3), st.integers(1, 50)))
            text += (pattern * length)[:length]
        rows.append("".join(text[:sessions]))
    return rows


def _edges(days: SchoolDays) -> list[dt.date]:
    """The dates where calendars go wrong: the first and last school days and the days either
    side, each term's first and last days and the days either side, INSET and closure days,
    the academic years' first and last days."""
    out: set[dt.date] = {days.days[0], days.days[-1]}
    one = dt.timedelta(days=1)
    for year in days.years:
        out |= {year.start, year.end, *year.inset_days}
        for term in year.terms:
            out |= {term.start - one, term.start, term.end, term.end + one}
        for closure in year.closures:
            out |= {closure.start - one, closure.start, closure.end, closure.end + one}
    out |= {days.days[0] - one, days.days[-1] + one}
    return sorted(d for d in out if days.covers(d))


def covered_dates(days: SchoolDays) -> st.SearchStrategy[dt.date]:
    first, last = days.years[0].start, days.years[-1].end
    return st.one_of(st.sampled_from(_edges(days)), st.sampled_from(days.days),
                     st.dates(first, last))


def since_dates(days: SchoolDays) -> st.SearchStrategy[dt.date]:
    """A `since` for a count or a share: anywhere in the calendar, or before or after it."""
    first, last = days.years[0].start, days.years[-1].end
    return st.one_of(covered_dates(days), st.dates(first - dt.timedelta(days=400), first),
                     st.dates(last, last + dt.timedelta(days=400)))


def _threshold(kind: str, draw: Callable[[st.SearchStrategy[Any]], Any]) -> object:
    if kind == "share_of_possible_sessions":
        return draw(st.one_of(st.integers(0, 100), st.fractions(0, 100, max_denominator=7)))
    return draw(st.one_of(st.integers(-1, 6), st.integers(-1, 80)))


# -- comparing -------------------------------------------------------------------------------


def _outcome(fn: Callable[[], object]) -> object:
    """A value, or the type of error raised (a calendar question that cannot be answered)."""
    try:
        return fn()
    except (CalendarError, ValueError) as exc:
        return type(exc)


def _plain(kind: str, value: object) -> object:
    return value.length if isinstance(value, rt.Run) else value


class Case:
    """One measure, one calendar, one as-of date, a comparison: the oracle's answers."""

    def __init__(self, policy: m.Policy, table: CodeTable, calendar_name: str, measure: str,
                 args: tuple[object, ...], as_of: dt.date, op: str, threshold: object) -> None:
        spec = MEASURES[measure]
        self.kind, self.measure, self.args = spec["kind"], measure, args
        self.calendar, self.days = CALENDARS[calendar_name], DAYS[calendar_name]
        self.table, self.codes = table, table.select(spec["codes"])
        self.code_names = frozenset(spec["codes"])
        self.possible = frozenset(c.code for c in policy.attendance_codes if c.possible)
        self.as_of, self.op, self.threshold = as_of, op, threshold

    def expected(self, marks: PupilMarks) -> tuple[object, object]:
        reg = oracle.Register(self.days, marks)
        value = _outcome(lambda: oracle.value(self.kind, reg, self.code_names, self.possible,
                                              self.as_of, self.args))
        onset = _outcome(lambda: oracle.onset(self.kind, reg, self.code_names, self.possible,
                                              self.as_of, self.args, self.op, self.threshold))
        return value, onset

    def runtime(self, marks: PupilMarks) -> tuple[object, object]:
        value_fn = getattr(rt, self.kind)
        onset_fn = getattr(rt, f"{self.kind}_onset")
        value = _outcome(lambda: _plain(self.kind, value_fn(
            marks, self.calendar, self.codes, self.as_of, *self.args)))
        onset = _outcome(lambda: onset_fn(marks, self.calendar, self.codes, self.as_of,
                                          *self.args, self.op, self.threshold))
        return value, onset

    def generated(self, package: ModuleType, marks: PupilMarks) -> tuple[object, object]:
        value_fn = getattr(package.measures, f"m_{self.measure}")
        onset_fn = getattr(package.measures, f"m_{self.measure}_onset")

        def ctx() -> Ctx:
            return Ctx(self.calendar, marks, self.as_of, {}, {}, ())

        value = _outcome(lambda: value_fn(ctx(), *self.args))
        onset = _outcome(lambda: onset_fn(ctx(), *self.args, self.op, self.threshold))
        return value, onset

    def columns(self, texts: list[str]) -> list[tuple[object, object]] | None:
        """Each row's value and onset from the block measures; None where they do not cover
        the case (the engine then works it out pupil by pupil)."""
        grid = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).reshape(
            len(texts), -1)
        kind = COLUMNS[self.kind]
        try:
            block = Block(grid, self.calendar, self.table, self.as_of)
            values = kind.value(block, self.codes, *self.args)
            onsets = kind.onset(block, self.codes, self.args, self.op, self.threshold)
        except (NotCovered, CalendarError):
            return None
        return [(values.at(row), None if at < 0 else self.days.days[at])
                for row, at in enumerate(onsets.tolist())]


def _draw_case(data: st.DataObject, policy: m.Policy, table: CodeTable,
               kind: str) -> tuple[Case, list[str]]:
    calendar_name = data.draw(st.sampled_from(sorted(CALENDARS)), label="calendar")
    days = DAYS[calendar_name]
    code_set = data.draw(st.sampled_from(sorted(CODE_SETS)), label="codes")
    args: tuple[object, ...] = ()
    suffix = ""
    if kind in ("count_sessions", "count_school_days"):
        if data.draw(st.booleans(), label="since a date"):
            suffix, args = "_since", (data.draw(since_dates(days), label="since"),)
        else:
            args = (data.draw(st.one_of(st.integers(0, 3), st.integers(0, 250)),
                              label="window"),)
    elif kind == "share_of_possible_sessions":  # clipped like a count's since date
        args = (data.draw(since_dates(days), label="since"),)
    measure = f"{SHORT[kind]}_{code_set}{suffix}"
    as_of = data.draw(covered_dates(days), label="as_of")
    op = data.draw(st.sampled_from(OPS), label="op")
    threshold = _threshold(kind, data.draw)
    texts = data.draw(histories(CALENDARS[calendar_name], table), label="marks")
    return Case(policy, table, calendar_name, measure, args, as_of, op, threshold), texts


EXAMPLES = int(100 * float(os.environ.get("CME_EXAMPLES", "1")))
"""Per kind (each with one to four pupils); CME_EXAMPLES scales them for a deeper run."""
AGREE = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("kind", sorted(SHORT))
@AGREE
@given(data=st.data())
def test_every_fast_measure_equals_the_naive_definition(
        package: tuple[m.Policy, ModuleType], kind: str, data: st.DataObject) -> None:
    policy, built = package
    table: CodeTable = built.CODE_TABLE
    case, texts = _draw_case(data, policy, table, kind)
    columns = case.columns(texts)
    for row, text in enumerate(texts):
        marks = PupilMarks(case.calendar, table, text)
        expected = case.expected(marks)
        assert case.runtime(marks) == expected, "runtime.measures"
        assert case.generated(built, marks) == expected, "generated measures"
        if columns is not None:  # an onset past the calendar's end is not covered there
            assert columns[row] == expected, "screening.measure_columns"


@pytest.mark.parametrize("threshold", [1, 2, 5, 20])
@pytest.mark.parametrize("kind", sorted(SHORT))
def test_the_closed_form_onsets_on_long_runs(package: tuple[m.Policy, ModuleType], kind: str,
                                             threshold: int) -> None:
    """`>= k` takes the runtime's closed forms: on a year of long runs of each code, every
    school day as the as-of date, the onsets agree with the walk back over the values."""
    policy, built = package
    table: CodeTable = built.CODE_TABLE
    calendar = CALENDARS["two_years"]
    pattern = ["NN"] * 25 + ["//"] * 3 + ["GO"] * 12 + ["--"] * 4 + ["[Y1][Y1]"] * 2 + \
        ["N/"] * 6 + ["II"] * 30 + ["OO"] * 45
    marks = PupilMarks.from_compact(calendar, table, dt.date(2025, 9, 1), " ".join(pattern))
    args: tuple[object, ...] = ()
    if kind in ("count_sessions", "count_school_days"):
        args = (10,)
    elif kind == "share_of_possible_sessions":
        args = (dt.date(2025, 9, 1),)
    measure = f"{SHORT[kind]}_gno"
    threshold_value: object = threshold if kind != "share_of_possible_sessions" \
        else Fraction(100, threshold + 1)
    for as_of in DAYS["two_years"].days[:len(pattern) + 10]:
        case = Case(policy, table, "two_years", measure, args, as_of, ">=", threshold_value)
        assert case.runtime(marks) == case.expected(marks), as_of
