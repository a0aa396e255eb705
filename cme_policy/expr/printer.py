"""Print an AST back to expression source; `parse_expr(to_source(e)) == e` for every AST."""

from __future__ import annotations

from cme_policy.expr import ast

_PREC = {"or": 1, "and": 2, "not": 3, "compare": 4, "arith": 5, "convert": 6, "atom": 7}


def _prec(expr: ast.Expr) -> int:
    if isinstance(expr, ast.BoolOp):
        return _PREC[expr.op]
    if isinstance(expr, ast.Not):
        return _PREC["not"]
    if isinstance(expr, (ast.Compare, ast.In)):
        return _PREC["compare"]
    if isinstance(expr, ast.Arith):
        return _PREC["arith"]
    if isinstance(expr, ast.Convert):
        return _PREC["convert"]
    return _PREC["atom"]


def _wrap(expr: ast.Expr, minimum: int) -> str:
    text = to_source(expr)
    return f"({text})" if _prec(expr) < minimum else text


def to_source(expr: ast.Expr) -> str:
    text: str = _PRINTERS[type(expr)](expr)
    return text


def _bool(e: ast.BoolLit) -> str:
    return "true" if e.value else "false"


def _percent(e: ast.PercentLit) -> str:
    # Fixed-point: str(Decimal) writes 1E-8 or 1E+2, which the grammar does not read.
    return f"{e.value:f}%"


def _duration(e: ast.DurationLit) -> str:
    return f"{e.amount} {e.unit.spell(e.amount)}"


def _call(e: ast.Call) -> str:
    return f"{e.func.dotted}({', '.join(to_source(a) for a in e.args)})"


def _set(e: ast.SetLit) -> str:
    return "{" + ", ".join(to_source(i) for i in e.items) + "}"


def _not(e: ast.Not) -> str:
    return f"not {_wrap(e.operand, _PREC['not'])}"


def _boolop(e: ast.BoolOp) -> str:
    # Operands of the same level are parenthesised so that nesting survives the round trip.
    return f" {e.op} ".join(_wrap(o, _PREC[e.op] + 1) for o in e.operands)


def _compare(e: ast.Compare) -> str:
    return f"{_wrap(e.left, _PREC['arith'])} {e.op} {_wrap(e.right, _PREC['arith'])}"


def _in(e: ast.In) -> str:
    word = "not in" if e.negated else "in"
    return f"{_wrap(e.item, _PREC['arith'])} {word} {_wrap(e.collection, _PREC['arith'])}"


def _arith(e: ast.Arith) -> str:
    return f"{_wrap(e.left, _PREC['arith'])} {e.op} {_wrap(e.right, _PREC['convert'])}"


def _convert(e: ast.Convert) -> str:
    return f"{_wrap(e.operand, _PREC['atom'])} as {e.unit.value}"


_PRINTERS = {
    ast.BoolLit: _bool,
    ast.IntLit: lambda e: str(e.value),
    ast.PercentLit: _percent,
    ast.DateLit: lambda e: e.value.isoformat(),
    ast.DurationLit: _duration,
    ast.Name: lambda e: e.dotted,
    ast.Call: _call,
    ast.SetLit: _set,
    ast.Not: _not,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.In: _in,
    ast.Arith: _arith,
    ast.Convert: _convert,
}
