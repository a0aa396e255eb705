"""Parse stage: expression text → AST with source positions, and friendly parse errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from cme_policy.diagnostics import Diagnostic, error
from cme_policy.expr import ast
from cme_policy.source.span import Span

MAX_EXPR_CHARS = 4000
MAX_NESTING = 100  # every later pass recurses over the AST; keep it far from Python's stack limit


class ExprSyntaxError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark.open_from_package("cme_policy.expr", "grammar.lark", parser="lalr",
                                  propagate_positions=True, maybe_placeholders=False)


@lru_cache(maxsize=1024)
def _tree(text: str) -> tuple[Tree[Token], int]:
    """Parse trees by text, with their depth. Their positions are relative to the text and they
    are never changed, so an expression a policy repeats (`5 school days`, `params.x`) is parsed
    and measured only once. One parser reads them all: a hand-written fast path saved 2.5 ms
    on the bundled policy and 0.1 s on a 1 MB one, not worth a second grammar."""
    tree = _parser().parse(text)
    return tree, _depth(tree) if isinstance(tree, Tree) else 0


class _Locator:
    """Maps a line/column inside expression text to a span in the policy file."""

    def __init__(self, origin: Span | None, quoted: bool, text: str) -> None:
        self.origin = origin
        self.exact = origin is not None and "\n" not in text and origin.line == origin.end_line
        self.offset = 1 if quoted else 0

    def span(self, line: int, column: int, end_column: int | None = None) -> Span:
        if self.origin is None:
            return Span("<expr>", line, column, line, (end_column or column + 1))
        if not self.exact:
            return self.origin
        start = self.origin.column + self.offset + column - 1
        end = self.origin.column + self.offset + (end_column or column + 1) - 1
        return Span(self.origin.path, self.origin.line, start, self.origin.line,
                    max(end, start + 1))

    def of(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return self.span(1, 1)
        end_column = meta.end_column if meta.end_line == meta.line else None
        return self.span(meta.line, meta.column, end_column)

    def token(self, tok: Token) -> Span:
        return self.span(tok.line or 1, tok.column or 1, tok.end_column)


class _ToAst:
    """Parse tree → AST, bottom-up, one method per tree alias (`-> set_` is `set_`).

    A plain recursive walk rather than a lark Transformer: the Transformer's per-node machinery
    (v_args wrappers, token visits, VisitError) cost more than building the nodes, and each
    occurrence of an expression is converted afresh, since its spans differ. Children are
    converted first and left to right, so the first bad leaf is the one reported, as before.
    """

    def __init__(self, locator: _Locator) -> None:
        self.loc = locator

    def build(self, tree: Tree[Token]) -> ast.Expr:
        items = [self.build(c) if isinstance(c, Tree) else c for c in tree.children]
        node: ast.Expr = getattr(self, tree.data)(tree.meta, items)
        return node

    def true(self, meta: Any, _: list[Any]) -> ast.Expr:
        return ast.BoolLit(True, self.loc.of(meta))

    def false(self, meta: Any, _: list[Any]) -> ast.Expr:
        return ast.BoolLit(False, self.loc.of(meta))

    def integer(self, meta: Any, items: list[Token]) -> ast.Expr:
        return ast.IntLit(int(items[0]), self.loc.of(meta))

    def percent(self, meta: Any, items: list[Token]) -> ast.Expr:
        return ast.PercentLit(Decimal(str(items[0])[:-1]), self.loc.of(meta))

    def duration(self, meta: Any, items: list[Token]) -> ast.Expr:
        return ast.DurationLit(int(items[0]), ast.Unit.parse(str(items[1])), self.loc.of(meta))

    def date(self, meta: Any, items: list[Token]) -> ast.Expr:
        try:
            value = dt.date.fromisoformat(str(items[0]))
        except ValueError:
            bad = error("X003", f"'{items[0]}' is not a real date", self.loc.token(items[0]),
                        "write a date as YYYY-MM-DD")
            raise ExprSyntaxError(bad) from None
        return ast.DateLit(value, self.loc.of(meta))

    def dotted(self, meta: Any, items: list[Token]) -> ast.Expr:
        parts = tuple(str(t) for t in items)
        if len(parts) == 1 and _is_unit(parts[0]):
            raise ExprSyntaxError(_unit_alone(parts[0], self.loc.of(meta)))
        return ast.Name(parts, self.loc.of(meta))

    def call(self, meta: Any, items: list[Any]) -> ast.Expr:
        func, *args = items
        return ast.Call(func, tuple(a for a in args if a is not None), self.loc.of(meta))

    def set_(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.SetLit(tuple(i for i in items if i is not None), self.loc.of(meta))

    def not_(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.Not(items[0], self.loc.of(meta))

    def and_(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.BoolOp("and", tuple(items), self.loc.of(meta))

    def or_(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.BoolOp("or", tuple(items), self.loc.of(meta))

    def compare(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.Compare(str(items[1]), items[0], items[2], self.loc.of(meta))

    def in_(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.In(items[0], items[1], False, self.loc.of(meta))

    def not_in(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.In(items[0], items[1], True, self.loc.of(meta))

    def arith(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.Arith(str(items[1]), items[0], items[2], self.loc.of(meta))

    def convert(self, meta: Any, items: list[Any]) -> ast.Expr:
        return ast.Convert(items[0], ast.Unit.parse(str(items[1])), self.loc.of(meta))


def parse_expr(text: str, origin: Span | None = None, quoted: bool = False) -> ast.Expr:
    """Parse one expression; raises ExprSyntaxError carrying a ready diagnostic."""
    locator = _Locator(origin, quoted, text)
    if len(text) > MAX_EXPR_CHARS:
        raise ExprSyntaxError(error("X004", f"expression is {len(text)} characters long "
                                    f"(limit {MAX_EXPR_CHARS})", locator.span(1, 1),
                                    "split the condition into named measures or rules"))
    if not text.strip():
        raise ExprSyntaxError(error("X001", "empty expression", locator.span(1, 1),
                                    "write a condition, e.g. `unauthorised_run >= 20 school days`"))
    try:
        tree, depth = _tree(text)
    except UnexpectedInput as exc:
        raise ExprSyntaxError(_friendly(exc, text, locator)) from None
    if depth > MAX_NESTING:
        raise ExprSyntaxError(error("X004", f"expression is nested more than {MAX_NESTING} levels "
                                    "deep", locator.span(1, 1),
                                    "split the condition into named measures or rules"))
    result: ast.Expr = _ToAst(locator).build(tree) if isinstance(tree, Tree) else tree
    return result


def _depth(tree: Tree[Token]) -> int:
    """Depth of the parse tree, found without recursion (the tree may be thousands deep)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return deepest


_TERMINAL_WORDS = {
    "COMP_OP": "a comparison (==, <, >=, …)", "ADD_OP": "+ or -", "UNIT": "a unit",
    "NAME": "a name", "INT": "a number", "DATE": "a date", "PERCENT": "a percentage",
    "LPAR": "(", "RPAR": ")", "LBRACE": "{", "RBRACE": "}", "COMMA": ",", "DOT": ".",
    "AND": "and", "OR": "or", "NOT": "not", "IN": "in", "AS": "as", "TRUE": "true",
    "FALSE": "false", "$END": "the end of the expression",
}


def _expected(exc: UnexpectedInput) -> str:
    names = sorted({_TERMINAL_WORDS.get(t, t.lower()) for t in getattr(exc, "expected", ()) or ()})
    return ", ".join(names[:8])


def _friendly(exc: UnexpectedInput, text: str, loc: _Locator) -> Diagnostic:
    line, column = getattr(exc, "line", 1) or 1, getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(text, exc, loc.span(line, column))
    at_end = isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    if isinstance(exc, UnexpectedEOF) or at_end:
        return error("X001", "the expression ends too early",
                     loc.span(line, max(column, len(text))), f"expected {_expected(exc)}")
    assert isinstance(exc, UnexpectedToken)
    token, prev = exc.token, _previous_token(exc)
    span = loc.token(token)
    if prev is not None and prev.type == "INT" and token.type == "NAME":
        return error("X002", f"unknown unit '{token}' after {prev}", span,
                     "units are: school days, days, weeks, sessions, months, years")
    if token.type == "COMP_OP" and _after_comparison(exc):
        return error("X001", f"comparisons cannot be chained ('{token}' after a comparison)", span,
                     "join two comparisons with `and`, e.g. `a >= 1 and a <= 5`")
    if token.type == "UNIT":
        if prev is not None and prev == "school" and prev.line == token.line:
            return _unit_alone(f"school {token}", loc.span(token.line or 1, prev.column or 1,
                                                           token.end_column))
        return _unit_alone(str(token), span)
    return error("X001", f"unexpected '{token}'", span, f"expected {_expected(exc)}")


def _is_unit(word: str) -> bool:
    """A unit word where a name stands: the number before it is missing (`within: days`)."""
    return ast.Unit.lookup(word) is not None


def _unit_alone(unit: str, span: Span) -> Diagnostic:
    return error("X002", f"unit '{unit}' needs a number before it", span, f"write e.g. `5 {unit}`")


def _stack(exc: UnexpectedToken) -> list[Any]:
    state = getattr(exc, "state", None)
    return list(getattr(state, "value_stack", None) or []) if state is not None else []


def _previous_token(exc: UnexpectedToken) -> Token | None:
    stack = _stack(exc)
    return stack[-1] if stack and isinstance(stack[-1], Token) else None


def _after_comparison(exc: UnexpectedToken) -> bool:
    return any(isinstance(v, Token) and v.type == "COMP_OP" for v in _stack(exc)[-3:])


def _bad_character(text: str, exc: UnexpectedCharacters, span: Span) -> Diagnostic:
    pos = exc.pos_in_stream or 0
    char = text[pos] if 0 <= pos < len(text) else "?"
    rest = text[pos:]
    hints = {"=": "use `==` to compare", "&": "use `and`", "|": "use `or`",
             "!": "use `not` or `!=`",
             '"': "the expression language has no strings; refer to names instead",
             "'": "the expression language has no strings; refer to names instead"}
    if rest.startswith("="):
        hint = hints["="]
    elif char.isalpha() and char.isupper():
        hint = "names are lower-case (e.g. `sickness_suspected`)"
    else:
        hint = hints.get(char, "remove it, or check for a typo")
    return error("X001", f"unexpected character '{char}'", span, hint)
