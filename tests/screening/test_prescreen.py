"""The prescreen against the generated checkers: the rules it says may fire are exactly the
rules that fire, the measure values and onsets it hands the engine are the ones the engine
would work out, and a run with it writes what a run without it writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.cli import cli
from cme_policy.driver import check_policy
from cme_policy.expr import ast
from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.engine import Ctx, facts_at, screen_ctx, sorted_log
from cme_policy.runtime.facts import builtin_facts
from cme_policy.runtime.marks import NO_MARK, PupilMarks
from cme_policy.runtime.pupil import Pupil
from cme_policy.runtime.readers import (
    InputSchema,
    MarksRead,
    ReadCounts,
    read_events,
    read_marks,
    read_pupils,
)
from cme_policy.screening.checkers import load_checkers
from cme_policy.screening.output import line_renderer
from cme_policy.screening.prescreen import Prescreen, marks_grid
from cme_policy.screening.rows import statutes_of
from cme_policy.screening.workers import ScreenWork, screen

REPO = Path(__file__).resolve().parents[2]
POLICY: Policy = check_policy(REPO / "policy").policy  # type: ignore[assignment]
CHECKERS: ModuleType = load_checkers(POLICY, "policy")
CALENDAR = load_calendar(REPO / "tests" / "runtime" / "fixtures" / "leicester-2025-26.yaml")


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("school")
    result = CliRunner().invoke(cli, ["sample", "--pupils", "700", "--out", str(out),
                                      "--seed", "11", "--policy", str(REPO / "policy")])
    assert result.exit_code == 0, result.output
    schema = InputSchema.from_policy(POLICY)
    calendar = load_calendar(out / "calendar.yaml")
    pupils = read_pupils(out / "pupils.csv", schema).pupils
    return {"calendar": calendar, "pupils": pupils,
            "marks": read_marks(out / "marks.csv", schema, calendar, pupils),
            "events": read_events(out / "events.csv", schema, pupils).events}


def _work(school: dict[str, Any], as_of: dt.date, prescreen: Prescreen | None,
          policy: Policy = POLICY) -> ScreenWork:
    return ScreenWork(CHECKERS, list(school["pupils"].items()), school["marks"],
                      school["events"], school["calendar"], as_of, statutes_of(policy),
                      line_renderer("csv"), prescreen)


AS_OF = ["2025-09-03", "2025-10-24", "2025-11-15", "2026-01-06", "2026-03-20", "2026-05-30",
         "2026-07-21", "2026-08-10"]


@pytest.mark.parametrize("as_of", AS_OF)
def test_a_run_with_the_prescreen_writes_what_one_without_writes(school: dict[str, Any],
                                                                  as_of: str) -> None:
    day = dt.date.fromisoformat(as_of)
    plain, count = screen(_work(school, day, None), 1, lambda _: None)
    fast, fast_count = screen(_work(school, day, Prescreen(POLICY, school["calendar"], day)), 1,
                              lambda _: None)
    assert fast == plain and fast_count == count == len(school["pupils"])
    if as_of >= "2026-01-06":
        assert len(plain) > 100  # a real action list, not an empty one


@pytest.mark.parametrize("as_of", AS_OF[1:7])
def test_the_prescreen_says_exactly_which_rules_fire(school: dict[str, Any], as_of: str) -> None:
    day = dt.date.fromisoformat(as_of)
    calendar: SchoolCalendar = school["calendar"]
    upns = list(school["pupils"])
    grid = marks_grid(school["marks"].marks, upns, calendar, CHECKERS.CODE_TABLE)
    contexts = [_ctx(school, upn, day) for upn in upns]
    block = Prescreen(POLICY, calendar, day).block([c.values for c in contexts], grid)
    assert any(c.log for c in contexts) and any(c.since for c in contexts)
    # only the counts since the day a pupil reached compulsory school age (a date that
    # differs between pupils) have no column: the penalty review and the two returns
    assert sum(block.exact) == len(block.exact) - 3
    hits = 0
    for k, ctx in enumerate(contexts):
        fired = [fn(ctx).fires for _, fn, _ in CHECKERS.POLICY.rules]
        may_fire = block.may_fire[k].tolist()
        assert all(m or not f for m, f in zip(may_fire, fired))  # never a firing rule missed
        # exact wherever the rule has a column for every part of its condition
        assert [m for m, x in zip(may_fire, block.exact) if x] == \
            [f for f, x in zip(fired, block.exact) if x]
        for key, value in block.known(k).items():
            if key in ctx.memo:
                hits += 1
                assert ctx.memo[key] == value, key
    assert hits > len(upns)  # values and onsets were handed over, and were right


def _ctx(school: dict[str, Any], upn: str, day: dt.date) -> Ctx:
    """The pupil as the engine sees it on the day: facts with the case log applied."""
    calendar: SchoolCalendar = school["calendar"]
    marks = school["marks"].for_pupil(upn, calendar, CHECKERS.CODE_TABLE)
    log = sorted_log(school["events"].get(upn, []))
    values, since = facts_at(CHECKERS.POLICY, school["pupils"][upn], log, day, marks, calendar)
    return Ctx(calendar, marks, day, values, since, log)


def test_a_rule_it_cannot_turn_into_a_column_is_run_pupil_by_pupil(
        school: dict[str, Any]) -> None:
    """A measure whose argument differs between pupils has no column: `may_fire` is True."""
    day = dt.date(2026, 3, 20)
    rules = list(POLICY.rules)
    share = next(i for i, r in enumerate(rules) if r.id == "persistent_absence")
    when = rules[share].when
    if isinstance(when, ast.BoolOp):  # `share >= 10% and not off_roll`: the share alone
        when = when.operands[0]
    assert isinstance(when, ast.Compare) and isinstance(when.left, ast.Call)
    per_pupil = ast.Call(when.left.func, (ast.Name(("admission_date",)),))
    rules[share] = dataclasses.replace(rules[share], when=dataclasses.replace(
        when, left=per_pupil))
    policy = dataclasses.replace(POLICY, rules=tuple(rules))
    upns = list(school["pupils"])[:50]
    grid = marks_grid(school["marks"].marks, upns, school["calendar"], CHECKERS.CODE_TABLE)
    block = Prescreen(policy, school["calendar"], day).block(
        [school["pupils"][u].facts for u in upns], grid)
    assert block.may_fire[:, share].all()
    assert not block.may_fire[:, [i for i in range(len(rules)) if i != share]].all()


def test_pupils_the_marks_file_never_mentions_have_unmarked_rows(
        school: dict[str, Any]) -> None:
    upns = list(school["pupils"])[:3] + ["A000000000000"]
    grid = marks_grid(school["marks"].marks, upns, school["calendar"], CHECKERS.CODE_TABLE)
    assert (grid[-1] == ord(NO_MARK)).all()
    texts = {u: school["marks"].marks[u] for u in upns[:3]}
    assert (marks_grid(texts, upns, school["calendar"], CHECKERS.CODE_TABLE) == grid).all()


# -- random pupils ---------------------------------------------------------------------------

CODES = ["/", "\\", "N", "G", "O", "I", "U", "C", "M", "L", "X", "B"]
ENUMS = {e.id: [m.id for m in e.members] for e in POLICY.enums}
DATES = st.dates(dt.date(2025, 8, 1), dt.date(2026, 8, 31))


def _fact(type_name: str) -> st.SearchStrategy[object]:
    if type_name == "bool":
        return st.booleans()
    if type_name == "date":
        return DATES
    return st.sampled_from(ENUMS[type_name])


BIRTHS = st.dates(min_value=dt.date(2008, 9, 1), max_value=dt.date(2022, 8, 31))
"""Ages around 5 and 16 on the calendar's dates too."""


@st.composite
def pupils(draw: st.DrawFn) -> tuple[dict[str, object], str]:
    facts = {f.id: draw(BIRTHS if f.id == "date_of_birth" else _fact(f.type_name))
             for f in POLICY.facts if f.origin != "law"  # the law's facts are worked out
             if f.type_name in ("bool", "date") or f.type_name in ENUMS
             if draw(st.booleans())}
    text: list[str] = []
    sessions = 2 * CALENDAR.school_day_count
    while len(text) < sessions:
        code = draw(st.sampled_from(CODES + [""]))
        char = CHECKERS.CODE_TABLE.char(code) if code else NO_MARK
        text += [char] * draw(st.integers(1, 40))
    return facts, "".join(text[:sessions])


@settings(max_examples=60, deadline=None)
@given(drawn=st.lists(pupils(), min_size=1, max_size=8), as_of=DATES)
def test_random_pupils_fire_as_the_checkers_say(
        drawn: list[tuple[dict[str, object], str]], as_of: dt.date) -> None:
    try:
        prescreen = Prescreen(POLICY, CALENDAR, as_of)
    except Exception:  # noqa: BLE001 - a date the calendar cannot answer for: no prescreen
        return
    grid = np.frombuffer("".join(t for _, t in drawn).encode("ascii"),
                         dtype=np.uint8).reshape(len(drawn), -1)
    block = prescreen.block([{**f, **builtin_facts(f, as_of)[0]} for f, _ in drawn], grid)
    if prescreen.days:  # with a school day behind it, only the per-pupil counts lack columns
        assert sum(block.exact) >= len(block.exact) - 3
    for k, (facts, text) in enumerate(drawn):
        pupil = Pupil("A000000000000", facts)  # type: ignore[arg-type]
        marks = PupilMarks(CALENDAR, CHECKERS.CODE_TABLE, text)
        ctx = screen_ctx(CHECKERS.POLICY, pupil, marks, CALENDAR, as_of)
        try:
            fired = [fn(ctx).fires for _, fn, _ in CHECKERS.POLICY.rules]
        except Exception:  # noqa: BLE001 - the checkers themselves cannot answer
            continue
        may_fire = block.may_fire[k].tolist()
        assert all(m or not f for m, f in zip(may_fire, fired))  # never a firing rule missed
        if prescreen.days:  # with a school day behind it, a rule with columns is exact
            assert [m for m, x in zip(may_fire, block.exact) if x] == \
                [f for f, x in zip(fired, block.exact) if x]
        for key, value in block.known(k).items():
            if key in ctx.memo:
                assert ctx.memo[key] == value, key


def test_a_case_opened_on_the_last_marked_day_is_not_lost() -> None:
    """No rule fires as of the date, yet one fired on the pupil's last marked day (three days
    of N, then no marks): the engine opens a case there, so the pupil must not be skipped."""
    first = CALENDAR.first_school_day
    present = " ".join(["//"] * CALENDAR.school_day_index(dt.date(2026, 3, 2)))
    marks = PupilMarks.from_compact(CALENDAR, CHECKERS.CODE_TABLE, first, present + " NN NN NN")
    quiet = PupilMarks.from_compact(CALENDAR, CHECKERS.CODE_TABLE, first, present + " // // //")
    start = dt.date(2026, 3, 2)
    pupils = {"A000000000001": Pupil("A000000000001", {"admission_date": dt.date(2021, 9, 1)}),
              "A000000000002": Pupil("A000000000002", {"admission_date": dt.date(2021, 9, 1)})}
    read = MarksRead(path="marks.csv", errors=[], counts=ReadCounts(),
                     marks={"A000000000001": marks, "A000000000002": quiet})
    school = {"pupils": pupils, "marks": read, "events": {}, "calendar": CALENDAR}
    as_of = CALENDAR.add_school_days(start, 4)  # the oldest N not yet 5 school days old
    prescreened = Prescreen(POLICY, CALENDAR, as_of).block(
        [p.facts for p in pupils.values()], marks_grid(read.marks, list(pupils), CALENDAR,
                                                      CHECKERS.CODE_TABLE))
    assert not prescreened.may_fire.any() and prescreened.settled.tolist() == [False, False]
    plain, _ = screen(_work(school, as_of, None), 1, lambda _: None)
    fast, _ = screen(_work(school, as_of, Prescreen(POLICY, CALENDAR, as_of)), 1, lambda _: None)
    assert fast == plain
    assert any(",procedure," in line for _, _, _, line in plain), plain


def test_memo_keys_are_built_alike_by_the_generator_and_the_prescreen() -> None:
    """The generated code writes its memo keys from `*_key_source`; the prescreen calls
    `*_key`: evaluated, the source is the same key, with and without arguments."""
    import datetime as dt

    from cme_policy.runtime.memo import onset_key, onset_key_source, value_key, value_key_source

    since, window, op, threshold = dt.date(2025, 9, 1), 5, ">=", 10
    scope = {"a_since": since, "a_window": window, "op": op, "threshold": threshold}
    for names, args in (((), ()), (("a_since",), (since,)), (("a_since", "a_window"),
                                                             (since, window))):
        assert eval(value_key_source("m", names), {}, scope) == value_key("m", *args)
        assert eval(onset_key_source("m", names), {}, scope) == onset_key("m", args, op,
                                                                          threshold)
