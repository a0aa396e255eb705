"""Analyse stage: which way a parameter may move to be stricter, read from where it is used.

A threshold in a rule's condition *triggers* a duty: the rule fires more often, so the
policy is stricter, when the condition holds more easily (`run >= p`: a lower `p`). A
threshold in a guard *permits* a step (a removal from roll): stricter when the step is
harder to take (`run >= p` in a guard: a higher `p`). A deadline is stricter when shorter.
A parameter used both ways cannot be made stricter by any change: it is reported, and an
overlay may not change it (`analysis/overlay.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.ir import model as m
from cme_policy.source.span import Span

LOOSER = {">=": "lower", ">": "lower", "<=": "higher", "<": "higher"}
"""`x op p`: the direction of `p` in which the comparison holds more easily."""
FLIP = {"lower": "higher", "higher": "lower"}


@dataclass(frozen=True)
class Use:
    """One place a parameter is used, and the direction that makes the policy stricter."""

    stricter: str  # "lower" | "higher"
    phrase: str  # e.g. "triggers a duty in rule ground_i_joint_enquiries"
    span: Span | None


def parameter_uses(policy: m.Policy) -> dict[str, list[Use]]:
    """Every use of a parameter whose direction can be read off its place."""
    uses: dict[str, list[Use]] = {}
    for rule in policy.rules:
        if rule.then or rule.opens:
            for name, looser, span in _thresholds(rule.when, True):
                uses.setdefault(name, []).append(
                    Use(looser, f"triggers a duty in rule {rule.id}", span))
        for o in rule.then:
            _deadline(uses, o.within, f"rule {rule.id}")
    for proc in policy.procedures:
        for state in proc.states:
            if state.deadline is not None:
                _deadline(uses, state.deadline.within, f"state {proc.id}.{state.id}")
            for t in state.transitions:
                if t.guard is None:
                    continue
                for name, looser, span in _thresholds(t.guard, True):
                    uses.setdefault(name, []).append(Use(
                        FLIP[looser], f"permits a step in the guard of {proc.id}.{state.id} "
                        f"--{t.event}--> {t.target}", span))
    for guard in policy.safeguards:
        for req in guard.requirements:
            for name, looser, span in _thresholds(req.when, True):
                uses.setdefault(name, []).append(Use(
                    FLIP[looser], f"permits a step in the law's safeguard {guard.id}", span))
    return uses


def directions(uses: list[Use]) -> set[str]:
    return {u.stricter for u in uses}


def check_directions(policy: m.Policy, sink: DiagnosticSink) -> None:
    """O010: a parameter that both triggers a duty and permits a step (or otherwise pulls
    both ways) has no stricter value; it should be two parameters."""
    params = {p.qualified: p for p in policy.parameters}
    for name, uses in sorted(parameter_uses(policy).items()):
        param = params.get(name)
        if param is None:
            continue
        if param.stricter in FLIP:  # a label is one more claim about the direction
            uses = uses + [Use(param.stricter, f"is labelled `stricter: {param.stricter}`",
                               param.span)]
        if len(directions(uses)) < 2:
            continue
        lower = next(u for u in uses if u.stricter == "lower")
        higher = next(u for u in uses if u.stricter == "higher")
        sink.warning("O010", f"{name} pulls both ways: it {lower.phrase} (stricter when "
                     f"lower) and {higher.phrase} (stricter when higher), so no local value "
                     "can be stricter", param.span,
                     "split it into two parameters, e.g. when the school acts and what the "
                     "law permits")


def _deadline(uses: dict[str, list[Use]], within: ast.Expr | None, where: str) -> None:
    name = _param(within) if within is not None else None
    if name is not None and within is not None:
        uses.setdefault(name, []).append(Use("lower", f"sets a deadline in {where}", within.span))


def _thresholds(expr: ast.Expr, positive: bool) -> list[tuple[str, str, Span | None]]:
    """(parameter, direction in which the whole condition holds more easily, span) for each
    parameter compared with an ordering operator (under `not`, the other way)."""
    if isinstance(expr, ast.Not):
        return _thresholds(expr.operand, not positive)
    if isinstance(expr, ast.BoolOp):
        return [t for o in expr.operands for t in _thresholds(o, positive)]
    if isinstance(expr, ast.Compare) and expr.op in LOOSER:
        right, left = _param(expr.right), _param(expr.left)
        looser = None
        name = None
        if right is not None and left is None:
            name, looser = right, LOOSER[expr.op]
        elif left is not None and right is None:
            name, looser = left, FLIP[LOOSER[expr.op]]
        if name is not None and looser is not None:
            return [(name, looser if positive else FLIP[looser], expr.span)]
    return []


def _param(expr: ast.Expr) -> str | None:
    """The parameter an operand is (possibly converted, `p as sessions`), else None."""
    if isinstance(expr, ast.Convert):
        return _param(expr.operand)
    if isinstance(expr, ast.Name) and expr.parts[:1] == ("params",):
        return expr.dotted
    return None
