"""Facts about a policy read off its IR once, that the interpreter and every backend share:
when a rule is in force, which deadlines are statutory, how long an action may come early."""

from __future__ import annotations

import datetime as dt

from cme_policy.expr import ast
from cme_policy.ir import model as m

EARLY_PARAMETER = "params.school.done_in_advance"
"""How long before a duty arises an action still counts as doing it (a school decision).
Without it, only an action on or after the day the duty arises counts."""


def _param_names(expr: ast.Expr | None) -> set[str]:
    if expr is None:
        return set()
    return {e.dotted for e in ast.walk(expr) if isinstance(e, ast.Name)
            and e.dotted.startswith("params.")}


def rule_in_force(policy: m.Policy, rule: m.Rule) -> tuple[dt.date | None, dt.date | None]:
    """The dates between which every parameter the rule uses is in effect (inclusive; None:
    open-ended). Outside them the rule does not fire: its figures are not law on that day."""
    params = {p.qualified: p for p in policy.parameters}
    names = _param_names(rule.when)
    for o in rule.then:
        names |= _param_names(o.within)
    lo: dt.date | None = None
    hi: dt.date | None = None
    for name in sorted(names):
        p = params.get(name)
        if p is None:
            continue
        if p.effective_from is not None and (lo is None or p.effective_from > lo):
            lo = p.effective_from
        if p.effective_to is not None and (hi is None or p.effective_to < hi):
            hi = p.effective_to
    return lo, hi


def statutory_deadline(policy: m.Policy, within: ast.Expr | None) -> bool:
    """A deadline is statutory when its length is a statutory parameter: doing the action
    after it is then a violation, not only a late action."""
    params = {p.qualified: p for p in policy.parameters}
    return any(params[n].statutory for n in _param_names(within) if n in params)


def early_window(policy: m.Policy) -> tuple[int, ast.Unit] | None:
    """The school's `done_in_advance` parameter as (amount, unit), if the policy sets one."""
    for p in policy.parameters:
        if p.qualified == EARLY_PARAMETER and isinstance(p.value, ast.DurationLit):
            return p.value.amount, p.value.unit
    return None


def law_terms(policy: m.Policy) -> dict[str, str]:
    """Every name the law is stated in, with where (the first place found): the conditions of
    statutory rules, every transition's guard, and the law layer's safeguards. Changing what
    such a name means changes the law's meaning (diff weakens; an overlay may not, O012)."""
    where: dict[str, str] = {}
    for rule in policy.rules:
        if rule.statutory:
            cite = f" ({rule.source})" if rule.source else ""
            for name in ast.referenced_names(rule.when):
                where.setdefault(name, f"rule {rule.id}{cite}")
    for proc in policy.procedures:
        for state in proc.states:
            for t in state.transitions:
                for name in ast.referenced_names(t.guard):
                    where.setdefault(name, f"the guard of {proc.id}.{state.id} "
                                           f"--{t.event}--> {t.target}")
    for guard in policy.safeguards:
        for req in guard.requirements:
            for name in ast.referenced_names(req.when):
                where.setdefault(name, f"the law's safeguard {guard.id}")
    return where
