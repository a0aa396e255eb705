"""The generated Python checkers agree with the interpreter on random pupil histories, type
check with mypy --strict, pass ruff, and cannot be injected into from the policy's strings."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pybackend_support import ROOT, build_policy, histories, import_package, random_history

from cme_policy.interpret.interpreter import Interpreter
from cme_policy.ir import model as m
from cme_policy.ir.tables import code_table
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.marks import PupilMarks
from cme_policy.runtime.pupil import CaseEvent, Pupil

INTERPRET_POLICY = ROOT / "tests" / "interpret" / "policy"
BUNDLED_POLICY = ROOT / "policy"
INJECTION_POLICY = Path(__file__).parent / "injection_policy"
LAW_POLICY = Path(__file__).parent / "law_policy"
# Histories per differential test: 3 x 2,700 on the test policy + 2,000 on the bundled one
# (slower to interpret) = 10,100 in all. CME_EXAMPLES scales them for a deeper run.
SCALE = float(os.environ.get("CME_EXAMPLES", "1"))
TEST_POLICY_HISTORIES = int(2700 * SCALE)
BUNDLED_HISTORIES = int(2000 * SCALE)
LAW_HISTORIES = int(2000 * SCALE)


class Built:
    def __init__(self, policy_dir: Path, out: Path) -> None:
        self.policy: m.Policy = build_policy(policy_dir, out)
        self.out = out
        self.package: ModuleType = import_package(out)
        self.calendar: SchoolCalendar = load_calendar(policy_dir / "calendar.yaml")
        self.table = code_table(self.policy)
        self.interpreter = Interpreter(self.policy, self.calendar)


@pytest.fixture(scope="module")
def interp_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(INTERPRET_POLICY, tmp_path_factory.mktemp("interp"))


@pytest.fixture(scope="module")
def bundled_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(BUNDLED_POLICY, tmp_path_factory.mktemp("bundled"))


def _same(b: Built, pupil: Pupil, marks: PupilMarks, events: list[CaseEvent],
          as_of: dt.date, screen: bool = True) -> None:
    """Equal results, or the same error (e.g. a deadline past the calendar's last day)."""
    _agree(lambda: b.interpreter.evaluate(pupil, marks, events, as_of),
           lambda: b.package.evaluate(pupil, marks, events, b.calendar, as_of))
    if screen:
        try:
            expected = b.interpreter.screen(pupil, marks, as_of)
        except Exception:  # noqa: BLE001
            # The interpreter screens by a full evaluation, so a procedure deadline past the
            # calendar's end fails it; the generated `screen` runs the rules alone.
            expected = None
        if expected is not None:
            assert b.package.screen(pupil, marks, b.calendar, as_of) == expected


def _agree(reference: Callable[[], object], generated: Callable[[], object]) -> None:
    """The same result, or an error of the same type from both (e.g. a deadline past the
    calendar's last school day: each words it its own way, for the interpreter works out
    school days independently of the runtime's calendar)."""
    try:
        expected = reference()
    except Exception as exc:  # noqa: BLE001 - the generated code must fail the same way
        with pytest.raises(type(exc)):
            generated()
        return
    assert generated() == expected


PUPILS_PER_EXAMPLE = 5


def _seeded_settings(histories: int) -> settings:
    return settings(max_examples=max(1, histories // PUPILS_PER_EXAMPLE), deadline=None,
                    derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


DRAWN = settings(max_examples=200, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])


def _seeded(built: Built, seed: int) -> None:
    """Several pupils per example from one seed: 10,000 histories in reasonable time."""
    rng = random.Random(seed)
    for i in range(PUPILS_PER_EXAMPLE):
        pupil, marks, events, as_of = random_history(rng, built.policy, built.calendar,
                                                     built.table)
        _same(built, pupil, marks, events, as_of, screen=i == 0)


@_seeded_settings(TEST_POLICY_HISTORIES)
@given(seed=st.integers(0, 2**32))
def test_generated_equals_interpreter_on_test_policy(interp_built: Built, seed: int) -> None:
    _seeded(interp_built, seed)


@_seeded_settings(TEST_POLICY_HISTORIES)
@given(seed=st.integers(2**32 + 1, 2**33))
def test_generated_equals_interpreter_on_test_policy_more(interp_built: Built,
                                                          seed: int) -> None:
    _seeded(interp_built, seed)


@_seeded_settings(TEST_POLICY_HISTORIES)
@given(seed=st.integers(2**33 + 1, 2**34))
def test_generated_equals_interpreter_on_test_policy_yet_more(interp_built: Built,
                                                              seed: int) -> None:
    _seeded(interp_built, seed)


@_seeded_settings(BUNDLED_HISTORIES)
@given(seed=st.integers(0, 2**32))
def test_generated_equals_interpreter_on_bundled_policy(bundled_built: Built, seed: int) -> None:
    _seeded(bundled_built, seed)


@pytest.fixture(scope="module")
def law_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(LAW_POLICY, tmp_path_factory.mktemp("law"))


@_seeded_settings(LAW_HISTORIES)
@given(seed=st.integers(0, 2**32))
def test_generated_equals_interpreter_on_law_constructs(law_built: Built, seed: int) -> None:
    """Facts that last until the pupil attends or for a period, compulsory school age, the
    built-in dates, missing values under `!=`, `not in` and `not`, effective dates, bool
    parameters, actions done in advance and statutory actions done late."""
    _seeded(law_built, seed)


@DRAWN
@given(data=st.data())
def test_generated_equals_interpreter_on_shrinkable_law_histories(law_built: Built,
                                                                  data: Any) -> None:
    pupil, marks, events, as_of = data.draw(
        histories(law_built.policy, law_built.calendar, law_built.table))
    _same(law_built, pupil, marks, events, as_of)


def test_law_histories_reach_every_construct(law_built: Built) -> None:
    """The random histories do exercise what the law constructs are for (else the
    differential test above would prove little): each rule fires, a scoped fact ends, a
    case takes an event done in advance, and a statutory action is done late."""
    rng = random.Random(7)
    fired: set[str] = set()
    kinds: set[str] = set()
    early = 0
    for _ in range(3000):
        pupil, marks, events, as_of = random_history(rng, law_built.policy, law_built.calendar,
                                                     law_built.table)
        try:
            result = law_built.interpreter.evaluate(pupil, marks, events, as_of)
        except Exception:  # noqa: BLE001 - a deadline past the calendar; compared above
            continue
        fired |= {r.rule for r in result.rules if r.fires}
        kinds |= {v.kind for v in result.all_violations}
        early += sum(1 for c in result.cases for step in c.history[1:2]
                     if step.date == c.opened and step.trigger != "opened")
    assert fired == {r.id for r in law_built.policy.rules}
    assert "late" in kinds
    assert early > 0


@DRAWN
@given(data=st.data())
def test_generated_equals_interpreter_on_shrinkable_histories(interp_built: Built,
                                                              data: Any) -> None:
    """Fewer examples, but drawn by hypothesis so a failure shrinks to a small history."""
    pupil, marks, events, as_of = data.draw(
        histories(interp_built.policy, interp_built.calendar, interp_built.table))
    _same(interp_built, pupil, marks, events, as_of)


# -- injection ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def injection_built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(INJECTION_POLICY, tmp_path_factory.mktemp("injection"))


def _yaml(name: str) -> Any:
    import yaml
    return yaml.safe_load((INJECTION_POLICY / name).read_text(encoding="utf-8"))


def test_hostile_strings_round_trip_exactly(injection_built: Built) -> None:
    b = injection_built
    main = _yaml("main.yaml")
    marks = PupilMarks.from_compact(b.calendar, b.table, dt.date(2025, 9, 3), " ".join(["NN"] * 26))
    result = b.package.evaluate(Pupil("T", {}), marks, [], b.calendar, dt.date(2025, 10, 8))
    assert result == b.interpreter.evaluate(Pupil("T", {}), marks, [], dt.date(2025, 10, 8))
    (action,) = next(r for r in result.rules if r.rule == "long_run").actions
    assert action.action == main["rules"]["long_run"]["then"][0]["action"]
    (case,) = result.cases
    assert case.state == "late"
    late_miss = case.violations[0].message
    assert main["procedures"]["enquiries"]["states"]["due"]["title"] in late_miss
    concern = b.package.evaluate(Pupil("T", {"concern": True, "destination": "home_education"}),
                                 marks, [], b.calendar, dt.date(2025, 10, 8))
    (told,) = next(r for r in concern.rules if r.rule == "concern_to_dsl").actions
    assert told.action == main["rules"]["concern_to_dsl"]["then"][0]["action"]
    assert told.statute == main["rules"]["concern_to_dsl"]["then"][0]["source"]
    assert b.package.__doc__.startswith("Checkers for " + _yaml("policy.yaml")["title"])


def test_hostile_strings_never_become_code(injection_built: Built) -> None:
    import ast as pyast
    for path in sorted((injection_built.out / "python" / "policy_checks").glob("*.py")):
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in pyast.walk(tree) if isinstance(n, pyast.Import)
                    for a in n.names}
        imported |= {n.module or "" for n in pyast.walk(tree)
                     if isinstance(n, pyast.ImportFrom) and n.level == 0}
        assert imported <= {"datetime", "__future__", "typing", "fractions", "collections.abc",
                            "", "cme_policy.runtime", "cme_policy.runtime.engine",
                            "cme_policy.runtime.marks", "cme_policy.runtime.calendar",
                            "cme_policy.runtime.pupil", "cme_policy.runtime.results",
                                "cme_policy.runtime.facts"}, path
        calls = {n.func.attr for n in pyast.walk(tree) if isinstance(n, pyast.Call)
                 and isinstance(n.func, pyast.Attribute)}
        assert "system" not in calls, path


# -- the generated package type checks and lints ------------------------------------------------


@pytest.mark.parametrize("which", ["bundled", "injection"])
def test_generated_package_passes_mypy_strict_and_ruff(
        which: str, bundled_built: Built, injection_built: Built) -> None:
    out = (bundled_built if which == "bundled" else injection_built).out / "python"
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "-p", "policy_checks"], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "MYPYPATH": str(out)})
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    lint = subprocess.run([ruff, "check", "--no-cache", "policy_checks"], cwd=out,
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_audit_is_the_case_log_view_of_evaluate(interp_built: Built) -> None:
    b = interp_built
    marks = PupilMarks.from_compact(b.calendar, b.table, dt.date(2025, 9, 3), " ".join(["NN"] * 24))
    log = [CaseEvent(dt.date(2025, 10, 1), "started"), CaseEvent(dt.date(2025, 10, 2), "failed"),
           CaseEvent(dt.date(2025, 10, 6), "removed")]
    full = b.package.evaluate(Pupil("T", {}), marks, log, b.calendar, dt.date(2025, 10, 6))
    audit = b.package.audit(Pupil("T", {}), marks, log, b.calendar, dt.date(2025, 10, 6))
    assert (audit.rules, audit.cases, audit.violations) == ((), full.cases, full.violations)
    assert [(v.kind, v.event) for v in audit.all_violations] == [("illegal_event", "removed")]


def test_a_rule_fires_only_while_its_parameters_are_in_effect(law_built: Built) -> None:
    """`persistent` uses a parameter in effect from 1 October 2025 to 30 June 2026: a pupil
    absent every session since 3 September is not flagged on 30 September or on 1 July,
    and is on 1 October and 30 June (inclusive), by the interpreter and the checkers."""
    marks = PupilMarks.from_compact(law_built.calendar, law_built.table, dt.date(2025, 9, 3),
                                    " ".join(["[C][C]"] * 190))
    pupil = Pupil("P1", {})
    for day, expected in ((dt.date(2025, 9, 30), False), (dt.date(2025, 10, 1), True),
                          (dt.date(2026, 6, 30), True), (dt.date(2026, 7, 1), False)):
        for fires in ({r.rule: r.fires for r in law_built.interpreter.screen(pupil, marks, day)},
                      {r.rule: r.fires for r in law_built.package.screen(
                          pupil, marks, law_built.calendar, day)}):
            assert fires["persistent"] is expected, day


def test_bundled_histories_reach_the_law_s_safeguard(bundled_built: Built) -> None:
    """The random case logs of the bundled policy delete names unlawfully often enough that
    the differential tests above compare the law's safeguard (source `law`) too."""
    rng = random.Random(11)
    unlawful = 0
    for _ in range(400):
        pupil, marks, events, as_of = random_history(rng, bundled_built.policy,
                                                     bundled_built.calendar, bundled_built.table)
        try:
            result = bundled_built.interpreter.evaluate(pupil, marks, events, as_of)
        except Exception:  # noqa: BLE001 - a deadline past the calendar; compared above
            continue
        unlawful += sum(1 for v in result.violations if v.source == "law")
    assert unlawful > 0
