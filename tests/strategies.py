"""Hypothesis strategies shared by the property tests: expression ASTs and YAML-ish documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from cme_policy.expr import ast

# Words the lexer reads as something other than a name: keywords, booleans and unit words.
RESERVED = frozenset({
    "and", "or", "not", "in", "as", "true", "false",
    "school", "day", "days", "week", "weeks", "session", "sessions",
    "month", "months", "year", "years",
})
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")

# Names built from prefixes of keywords ("android", "notable", "as_of") catch a lexer that
# splits a keyword off the front of a longer name.
_NAME_HEADS = st.sampled_from(["a", "x", "_", "and", "not", "in", "as", "or", "true", "day",
                               "weeks", "school", "params", "today", "s", "unauthorised"])
_NAME_TAIL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", max_size=6)


def identifiers() -> st.SearchStrategy[str]:
    """One name part: `[a-z_][a-z0-9_]*`, never a reserved word."""
    return st.builds(lambda head, tail: head + tail, _NAME_HEADS, _NAME_TAIL).filter(
        lambda s: s not in RESERVED)


def names() -> st.SearchStrategy[ast.Name]:
    return st.lists(identifiers(), min_size=1, max_size=3).map(lambda parts: ast.Name(tuple(parts)))


def percents() -> st.SearchStrategy[Decimal]:
    """Non-negative decimals with up to 9 places: 9.9, 0.5, 100, 0.00000001."""
    return st.builds(lambda n, places: Decimal(n).scaleb(-places),
                     st.integers(min_value=0, max_value=10**6),
                     st.integers(min_value=0, max_value=9))


def literals() -> st.SearchStrategy[ast.Expr]:
    naturals = st.integers(min_value=0, max_value=10**12)
    return st.one_of(
        st.builds(ast.BoolLit, st.booleans()),
        st.builds(ast.IntLit, naturals),
        st.builds(ast.PercentLit, percents()),
        st.builds(ast.DateLit,
                  st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))),
        st.builds(ast.DurationLit, st.integers(min_value=0, max_value=10**6),
                  st.sampled_from(list(ast.Unit))),
    )


def leaves() -> st.SearchStrategy[ast.Expr]:
    return st.one_of(literals(), names())


def _compound(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    some = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Call, names(), some),
        st.builds(ast.SetLit, some),
        st.builds(ast.Not, children),
        st.builds(ast.BoolOp, st.sampled_from(["and", "or"]),
                  st.lists(children, min_size=2, max_size=4).map(tuple)),
        st.builds(ast.Compare, st.sampled_from(COMPARE_OPS), children, children),
        st.builds(ast.In, children, children, st.booleans()),
        st.builds(ast.Arith, st.sampled_from(["+", "-"]), children, children),
        st.builds(ast.Convert, children, st.sampled_from(list(ast.Unit))),
    )


def exprs(max_leaves: int = 25, known: tuple[str, ...] = ()) -> st.SearchStrategy[ast.Expr]:
    """Any expression AST the grammar can write (no negative numbers: the language has none).

    `known` adds dotted names (e.g. a policy's facts and parameters) so that later passes see
    names that resolve, not only undefined ones.
    """
    base = leaves()
    if known:
        named = st.sampled_from(known).map(lambda d: ast.Name(tuple(d.split("."))))
        base = st.one_of(base, named, named)
    return st.recursive(base, _compound, max_leaves=max_leaves)


# -- YAML documents ----------------------------------------------------------------------------

_KEYS = st.one_of(
    st.sampled_from(["rules", "parameters", "procedures", "include", "title", "when", "then",
                     "states", "value", "clause", "on", "yes", "<<", "text", "reviewed"]),
    st.text(max_size=8),
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=20), st.dates(),
    st.sampled_from(["20 school days", "x >= 1 and", "params.a.b", "policy.md", "*.yaml",
                     "../policy.yaml", "2025-02-30", "{#x}", "!!python/object", "&a", "*a"]),
)


def yaml_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Nested dicts, lists and scalars of the kinds `yaml.safe_dump` can write."""
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(_KEYS, inner, max_size=4)),
        max_leaves=max_leaves,
    )
