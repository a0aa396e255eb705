"""Properties of the expression language: printing round-trips, and bad text fails gracefully."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import exprs

from cme_policy.expr import ast
from cme_policy.expr.parser import MAX_EXPR_CHARS, MAX_NESTING, ExprSyntaxError, parse_expr
from cme_policy.expr.printer import to_source

# Characters the grammar knows, with extra weight on the ones that make up tokens.
GRAMMAR_ALPHABET = "abcdefghijklmnopqrstuvwxyz_0123456789.,(){}%+-=!<> \t\n-"
GRAMMAR_WORDS = ["and", "or", "not", "in", "as", "true", "false", "school days", "day", "weeks",
                 "sessions", "months", "year", "2025-08-27", "2025-02-30", "9.9%", "20", "x.y",
                 "(", ")", "{", "}", ",", "==", "<=", " ", "\n"]


@settings(max_examples=300, deadline=None)
@given(exprs())
@example(ast.PercentLit(Decimal("9.9")))
@example(ast.PercentLit(Decimal("1E-8")))
@example(ast.PercentLit(Decimal("1E+2")))
@example(ast.Convert(ast.Convert(ast.DurationLit(1, ast.Unit.SCHOOL_DAYS), ast.Unit.DAYS),
                     ast.Unit.WEEKS))
@example(ast.Arith("-", ast.IntLit(1), ast.Arith("-", ast.IntLit(2), ast.IntLit(3))))
@example(ast.BoolOp("and", (ast.BoolOp("and", (ast.Name(("a",)), ast.Name(("b",)))),
                            ast.Name(("c",)))))
@example(ast.Not(ast.In(ast.Name(("android",)), ast.SetLit(()), True)))
@example(ast.Compare("<", ast.Compare("<", ast.IntLit(1), ast.IntLit(2)), ast.IntLit(3)))
def test_print_then_parse_gives_the_same_ast(expr: ast.Expr) -> None:
    text = to_source(expr)
    assert parse_expr(text) == expr, text


@settings(max_examples=200, deadline=None)
@given(exprs())
def test_printing_is_a_fixed_point(expr: ast.Expr) -> None:
    text = to_source(expr)
    assert to_source(parse_expr(text)) == text


def _assert_friendly(text: str) -> None:
    try:
        parse_expr(text)
    except ExprSyntaxError as exc:
        diagnostic = exc.diagnostic
        assert diagnostic.span is not None, diagnostic
        assert diagnostic.hint, diagnostic
        assert diagnostic.code.startswith("X"), diagnostic
        assert diagnostic.message


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=GRAMMAR_ALPHABET, max_size=40))
def test_grammar_alphabet_text_only_raises_syntax_errors(text: str) -> None:
    _assert_friendly(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(GRAMMAR_WORDS), max_size=15).map(" ".join))
def test_keyword_soup_only_raises_syntax_errors(text: str) -> None:
    _assert_friendly(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_unicode_only_raises_syntax_errors(text: str) -> None:
    _assert_friendly(text)


@settings(max_examples=200, deadline=None)
@given(exprs(max_leaves=10), st.integers(min_value=0, max_value=200),
       st.text(min_size=1, max_size=3))
def test_damaged_printed_expressions_only_raise_syntax_errors(expr: ast.Expr, at: int,
                                                               junk: str) -> None:
    text = to_source(expr)
    at = at % (len(text) + 1)
    _assert_friendly(text[:at] + junk + text[at:])
    _assert_friendly(text[:at] + text[at + 1:])


@pytest.mark.parametrize("text", [
    "(" * (MAX_EXPR_CHARS // 2 - 1) + "x" + ")" * (MAX_EXPR_CHARS // 2 - 1),
    "not " * (MAX_EXPR_CHARS // 4 - 1) + "x",
    "{" * (MAX_EXPR_CHARS // 2 - 1) + "}" * (MAX_EXPR_CHARS // 2 - 1),
    "f(" * (MAX_EXPR_CHARS // 3 - 1) + ")" * (MAX_EXPR_CHARS // 3 - 1),
    "x" + " + x" * (MAX_EXPR_CHARS // 4 - 1),
    "(" * (MAX_EXPR_CHARS + 10),
])
def test_deep_nesting_within_the_length_limit_never_crashes(text: str) -> None:
    _assert_friendly(text)


def test_nesting_beyond_the_limit_is_reported_as_x004() -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse_expr("not " * (MAX_NESTING + 5) + "x")
    assert caught.value.diagnostic.code == "X004"
    assert "nested" in caught.value.diagnostic.message


def test_reasonable_nesting_still_parses() -> None:
    text = "(" * 40 + "a and b" + ")" * 40 + " or " + "not " * 40 + "c"
    assert isinstance(parse_expr(text), ast.BoolOp)
