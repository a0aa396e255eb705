"""The expression fast path builds exactly lark's tree, positions included, or declines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lark import Token, Tree
from lark.exceptions import UnexpectedInput
from strategies import exprs

from cme_policy.driver import check_policy
from cme_policy.expr import ast
from cme_policy.expr.fastpath import fast_tree
from cme_policy.expr.parser import _parser
from cme_policy.expr.printer import to_source
from cme_policy.ir import build

POLICY = Path(__file__).resolve().parent.parent / "policy"
# Pieces that make the two readers disagree if either is careless: keywords glued to names,
# units glued to numbers, unit words where names stand, dates that run on, odd spacing.
PIECES = ["and", "or", "not", "in", "as", "true", "false", "andrew", "notable", "in_x", "as_of",
          "school", "school days", "school  days", "day", "days", "weeks", "sessions", "month",
          "years", "5", "20", "007", "5days", "2025-08-27", "2025-02-30", "2025-08-277", "9.9%",
          "10%", "5.", "x", "x.y", "params.a.b", "f", "(", ")", "{", "}", ",", ".", "==", "!=",
          "<", "<=", ">", ">=", "=", "+", "-", "%", " ", "  ", "\t", "\n", "X"]


def shape(node: object) -> object:
    """A tree with everything downstream reads: data, token types and values, all positions."""
    if isinstance(node, Token):
        return (node.type, str(node), node.start_pos, node.line, node.column, node.end_line,
                node.end_column, node.end_pos)
    assert isinstance(node, Tree)
    meta = node.meta
    return (str(node.data), meta.line, meta.column, meta.start_pos, meta.end_line,
            meta.end_column, meta.end_pos, meta.empty, tuple(shape(c) for c in node.children))


def assert_agrees(text: str) -> Tree[Token] | None:
    fast = fast_tree(text)
    try:
        slow = _parser().parse(text)
    except UnexpectedInput:
        assert fast is None, text
        return None
    if fast is not None:
        assert shape(fast) == shape(slow), text
    return fast


@settings(max_examples=300, deadline=None)
@given(exprs())
@example(ast.Not(ast.In(ast.Name(("android",)), ast.SetLit(()), True)))
def test_printed_expressions_read_the_same(expr: ast.Expr) -> None:
    assert_agrees(to_source(expr))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from(["", " "]))
def test_token_soup_reads_the_same_or_is_declined(pieces: list[str], glue: str) -> None:
    assert_agrees(glue.join(pieces))


@pytest.mark.parametrize("text", [
    "unauthorised_run >= params.deletion.continuous_absence and not sickness_or_unavoidable_cause",
    "(a or b) and (c)", "((a))", "x not in {a, (b)}", "f()", "f(a, (b))", "1 + 2 - x as weeks",
    "5 school  days", "2025-08-27 <= today", "9.5% > x", "not not false", "{ (a) }", "days",
    "a or b\n", "a or b \t\n",
])
def test_plain_expressions_take_the_fast_path(text: str) -> None:
    assert assert_agrees(text) is not None


@pytest.mark.parametrize("text", ["x andrew", "5days", "x.in", "and", "x == not y", "a\tb",
                                  "x as foo", "2025-08-277", "a\n b", "(" * 40 + "x" + ")" * 40])
def test_unsure_text_is_left_to_lark(text: str) -> None:
    assert fast_tree(text) is None


def test_every_expression_of_the_bundled_policy_takes_the_fast_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts: list[str] = []
    real = build.parse_expr
    monkeypatch.setattr(build, "parse_expr", lambda text, *rest: (texts.append(text),
                                                                  real(text, *rest))[1])
    assert check_policy(POLICY).ok
    assert texts
    for text in texts:
        assert assert_agrees(text) is not None, text
