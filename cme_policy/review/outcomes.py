"""Review stage: what a policy change does to pupils, in words — the policy's worked examples
(scenarios) run under both versions, and each one whose outcome differs, told by its title
with what happened before and what happens now (for `build --since`)."""

from __future__ import annotations

from pathlib import Path

from cme_policy.backends.docs.content import date_words
from cme_policy.backends.docs.pack import PupilChange
from cme_policy.ir import model as m
from cme_policy.runtime.results import PupilResult, Violation
from cme_policy.scenarios import run_scenarios

KINDS = {"illegal_event": "a step the procedure does not allow",
         "no_open_case": "a step with no case open", "deadline_missed": "a deadline missed",
         "invariant": "a safeguard broken", "late": "a duty done late",
         "unlawful": "a step the law does not allow"}


def pupil_changes(old: m.Policy, old_root: Path, new: m.Policy,
                  new_root: Path) -> tuple[PupilChange, ...]:
    """The worked examples in both versions whose outcome differs, in the new order."""
    before = {r.scenario.id: _outcome(old, r.result)
              for r in run_scenarios(old, old_root).results}
    out = []
    for r in run_scenarios(new, new_root).results:
        if r.scenario.id not in before:
            continue
        was, now = before[r.scenario.id], _outcome(new, r.result)
        if was != now:
            out.append(PupilChange(r.scenario.title, tuple(x for x in was if x not in now),
                                   tuple(x for x in now if x not in was)))
    return tuple(out)


def _outcome(policy: m.Policy, result: PupilResult | None) -> tuple[str, ...]:
    """One line per action, case and violation, in the policy's own words."""
    if result is None:
        return ("the example could not be run",)
    roles = {r.id: r.label for r in policy.roles}
    procs = {p.id: p for p in policy.procedures}
    lines = []
    for a in result.actions:
        due = f", due {date_words(a.due)}" if a.due else ""
        lines.append(f"{a.action} — {roles.get(a.role or '', 'no one named')}{due} "
                     f"({a.status})")
    for case in result.cases:
        proc = procs.get(case.procedure)
        state = proc.state(case.state) if proc else None
        lines.append(f"{proc.title if proc else 'a procedure'}: at “"
                     f"{state.title if state else 'an unknown step'}”")
    lines += [_violation(policy, v) for v in result.all_violations]
    return tuple(dict.fromkeys(lines))


def _violation(policy: m.Policy, v: Violation) -> str:
    proc = next((p for p in policy.procedures if p.id == v.procedure), None)
    where = proc.title if proc else "the law"
    return f"{where}: {KINDS.get(v.kind, 'a problem')} on {date_words(v.date)}"
