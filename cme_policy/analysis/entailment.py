"""Analyse stage helper: whether one condition can only hold where another does, shown
structurally. Used by the overlay floors (a new guard must imply the base's, O014) and by the
search for unlawful steps (a guard that implies the law's requirements needs no search)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from cme_policy.expr import ast
from cme_policy.ir import model as m

Harder = Callable[[ast.Expr, ast.Expr, str], bool]
"""`harder(a_bound, b_bound, direction)`: a comparison with `a_bound` is at least as hard to
meet as one with `b_bound`, when meeting it is harder in `direction` ("higher" | "lower")."""


def entails(a: ast.Expr, b: ast.Expr, harder: Harder) -> bool:
    """Whether `a` can only hold where `b` does: equal, `b` a conjunction of what `a` entails,
    `a` a disjunction each of whose branches entails `b`, a conjunct of `a` or a disjunct of
    `b` that does, or the same comparison with a threshold moved the harder way."""
    if a == b:
        return True
    if isinstance(b, ast.BoolOp) and b.op == "and":
        return all(entails(a, x, harder) for x in b.operands)
    if isinstance(a, ast.BoolOp) and a.op == "or":
        return all(entails(x, b, harder) for x in a.operands)
    if isinstance(a, ast.BoolOp) and a.op == "and" and any(
            entails(x, b, harder) for x in a.operands):
        return True
    if isinstance(b, ast.BoolOp) and b.op == "or":
        return any(entails(a, x, harder) for x in b.operands)
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and a.op == b.op \
            and a.left == b.left and a.op in (">=", ">", "<=", "<"):
        return harder(a.right, b.right, "higher" if a.op in (">=", ">") else "lower")
    return False


def number(value: ast.Expr) -> tuple[Decimal, str] | None:
    """A literal's magnitude and its unit ('' for whole numbers, '%' for percentages)."""
    if isinstance(value, ast.DurationLit):
        return Decimal(value.amount), value.unit.value
    if isinstance(value, ast.IntLit):
        return Decimal(value.value), ""
    if isinstance(value, ast.PercentLit):
        return value.value, "%"
    return None


def resolve(value: ast.Expr, params: Mapping[str, m.Parameter]) -> ast.Expr:
    """A parameter's value in place of its name (anything else as it is)."""
    if isinstance(value, ast.Name) and value.parts[:1] == ("params",):
        param = params.get(".".join(value.parts))
        if param is not None:
            return param.value
    return value


def harder_in(policy: m.Policy) -> Harder:
    """`harder` for two bounds of one policy: literal or parameter values, same unit."""
    params = {p.qualified: p for p in policy.parameters}

    def harder(a: ast.Expr, b: ast.Expr, direction: str) -> bool:
        x, y = number(resolve(a, params)), number(resolve(b, params))
        if x is None or y is None or x[1] != y[1]:
            return a == b
        return x[0] >= y[0] if direction == "higher" else x[0] <= y[0]
    return harder
