"""Parse stage, fast path: the plain expressions a policy is made of, read without lark's parser.

Lark's LALR parser with positions takes about half a millisecond over a typical `when:`, most of
it in one callback per reduction (every atom climbs eight precedence levels of grammar.lark).
This reader takes the well-formed subset a policy is written in — one line of lower-case ASCII
and single spaces — and builds the very tree lark builds from grammar.lark, positions included,
so the rest of the parse stage cannot tell the two apart. It only ever accepts: on anything it
is not sure of (a tab, a keyword where a name stands, a word glued to a number, any error) it
gives None, and lark reads the text, reporting any error as before. tests/test_expr_fastpath.py
holds the two to the same trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from lark import Token, Tree
from lark.tree import Meta

# Tokens lark's contextual lexer would also cut here, whatever the parser state. Cases where
# the state matters (a keyword glued to a name after an operand, a unit glued to a number)
# come out as a token this parser refuses.
_TOKENS = re.compile(r" *(?:(\d{4}-\d{2}-\d{2})|(\d+(?:\.\d+)?%)|(\d+)|([a-z_][a-z0-9_]*)"
                     r"|(==|!=|<=|>=|<|>)|([+-])|([(){},.]))")
_KINDS = ("", "DATE", "PERCENT", "INT", "WORD", "COMP_OP", "ADD_OP", "PUNCT")
_KEYWORDS = frozenset({"or", "and", "not", "in", "as", "true", "false"})
_UNITS = frozenset({"day", "days", "week", "weeks", "session", "sessions", "month", "months",
                    "year", "years"})
_MAX_TOKENS = 400  # beyond this, or nested deeper than _MAX_DEPTH, lark (and its limits) decide
_MAX_DEPTH = 30

# A parsed piece: its tree, and the text it spans including any parentheses around it (lark's
# "container" positions, which a parent's span starts and ends with).
_Piece = tuple["Tree[Token]", int, int]


class _Bail(Exception):
    """Not certain to read this the way lark would: hand the text to lark."""


class _Tok(NamedTuple):
    """A token before it is known to be needed: most (keywords, brackets) never reach the tree,
    and a lark Token costs several times as much to make."""

    kind: str  # one of _KINDS, or END after the last token
    text: str
    start: int
    end: int

    def lark(self, kind: str | None = None) -> Token:
        return Token(kind or self.kind, self.text, self.start, 1, self.start + 1, 1,
                     self.end + 1, self.end)


def fast_tree(text: str) -> Tree[Token] | None:
    """The tree lark would build for `text`, or None when lark must read it."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    try:
        reader = _Reader(tokens)
        tree, _, _ = reader.or_expr()
    except _Bail:
        return None
    return tree if reader.word() == "END" else None


def _tokens(text: str) -> list[_Tok] | None:
    out: list[_Tok] = []
    # Trailing whitespace (a folded `>` scalar ends in a newline) moves no position; lark skips
    # it as its WS terminal, the same characters as here.
    at, end = 0, len(text.rstrip(" \t\f\r\n"))
    while at < end:
        match = _TOKENS.match(text, at)
        if match is None or len(out) >= _MAX_TOKENS:
            return None
        group = match.lastindex or 0
        kind, start, at = _KINDS[group], match.start(group), match.end()
        if group <= 3 and at < end and _glued(text[at]):
            return None  # `5days`, `2025-01-011`: lark's lexer decides how these split
        out.append(_Tok(kind, text[start:at], start, at))
    out.append(_Tok("END", "", end, end))
    return out


def _glued(char: str) -> bool:
    return char.isalnum() or char in "_.%-"


def _tree(data: str, children: list[object], start: int, end: int) -> Tree[Token]:
    meta = Meta()  # type: ignore[no-untyped-call]
    meta.line, meta.column, meta.start_pos = 1, start + 1, start
    meta.end_line, meta.end_column, meta.end_pos = 1, end + 1, end
    meta.empty = False
    tree: Tree[Token] = Tree(data, children, meta)  # type: ignore[arg-type]
    return tree


class _Reader:
    """Recursive descent over grammar.lark's rules, one method per precedence level."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens, self.at, self.depth = tokens, 0, 0
        # What the parser branches on: a keyword or bracket by its text, anything else by kind.
        self.words = [t.text if t.kind in ("WORD", "PUNCT") else t.kind for t in tokens]

    def word(self, ahead: int = 0) -> str:
        return self.words[min(self.at + ahead, len(self.words) - 1)]

    def take(self) -> _Tok:
        token = self.tokens[self.at]
        if token.kind == "END":
            raise _Bail()
        self.at += 1
        return token

    def expect(self, bracket: str) -> _Tok:
        token = self.take()
        if token.kind != "PUNCT" or token.text != bracket:
            raise _Bail()
        return token

    def or_expr(self) -> _Piece:
        return self._joined("or", "or_", self.and_expr)

    def and_expr(self) -> _Piece:
        return self._joined("and", "and_", self.not_expr)

    def _joined(self, keyword: str, data: str, operand: Callable[[], _Piece]) -> _Piece:
        first = operand()
        pieces = [first]
        while self.word() == keyword:
            self.at += 1
            pieces.append(operand())
        if len(pieces) == 1:
            return first
        tree = _tree(data, [p[0] for p in pieces], pieces[0][1], pieces[-1][2])
        return tree, pieces[0][1], pieces[-1][2]

    def not_expr(self) -> _Piece:
        if self.word() != "not":
            return self.comparison()
        start = self.take().start
        operand, _, end = self._nested(self.not_expr)
        return _tree("not_", [operand], start, end), start, end

    def comparison(self) -> _Piece:
        left = self.sum()
        word = self.word()
        children: list[object] = [left[0]]
        if word == "COMP_OP":
            data = "compare"
            children.append(self.take().lark())
        elif word == "in":
            data, self.at = "in_", self.at + 1
        elif word == "not" and self.word(1) == "in":
            data, self.at = "not_in", self.at + 2
        else:
            return left
        right = self.sum()
        return _tree(data, [*children, right[0]], left[1], right[2]), left[1], right[2]

    def sum(self) -> _Piece:
        left = self.conversion()
        while self.word() == "ADD_OP":
            operator = self.take().lark()
            right = self.conversion()
            left = _tree("arith", [left[0], operator, right[0]], left[1], right[2]), left[1], right[2]
        return left

    def conversion(self) -> _Piece:
        atom = self.atom()
        if self.word() != "as":
            return atom
        self.at += 1
        unit = self.unit()
        if unit is None:
            raise _Bail()
        return _tree("convert", [atom[0], unit.lark()], atom[1], unit.end), atom[1], unit.end

    def unit(self) -> _Tok | None:
        """A unit word here, as lark's UNIT terminal (`school days` is one token), or None."""
        token = self.tokens[self.at]
        if token.kind != "WORD":
            return None
        if token.text in _UNITS:
            self.at += 1
            return _Tok("UNIT", token.text, token.start, token.end)
        after = self.tokens[min(self.at + 1, len(self.tokens) - 1)]
        if token.text != "school" or after.kind != "WORD" or after.text not in ("day", "days"):
            return None
        self.at += 2
        spaces = " " * (after.start - token.end)
        return _Tok("UNIT", f"school{spaces}{after.text}", token.start, after.end)

    def atom(self) -> _Piece:
        token = self.take()
        start, end, kind = token.start, token.end, token.kind
        if kind in ("DATE", "PERCENT"):
            return _tree(kind.lower(), [token.lark()], start, end), start, end
        if kind == "INT":
            unit = self.unit()
            if unit is None:
                return _tree("integer", [token.lark()], start, end), start, end
            return _tree("duration", [token.lark(), unit.lark()], start, unit.end), start, unit.end
        if kind == "WORD" and token.text in ("true", "false"):
            return _tree(token.text, [], start, end), start, end
        if kind == "WORD":
            self.at -= 1
            return self.dotted_or_call()
        if token.text == "(":
            inner, _, _ = self._nested(self.or_expr)
            return inner, start, self.expect(")").end
        if token.text == "{":
            items = self._items("}")
            close = self.expect("}").end
            return _tree("set_", items, start, close), start, close
        raise _Bail()

    def dotted_or_call(self) -> _Piece:
        names = [self.name()]
        while self.word() == ".":
            self.at += 1
            names.append(self.name())
        start, end = names[0].start, names[-1].end
        dotted = _tree("dotted", [n.lark("NAME") for n in names], start, end)
        if self.word() != "(":
            return dotted, start, end
        self.at += 1
        args = self._items(")")
        close = self.expect(")").end
        return _tree("call", [dotted, *args], start, close), start, close

    def name(self) -> _Tok:
        token = self.take()
        if token.kind != "WORD" or token.text in _KEYWORDS:
            raise _Bail()  # lark may read a keyword as a name where only a name can stand
        return token

    def _items(self, close: str) -> list[object]:
        """`[expr ("," expr)*]` up to the closing bracket (not taken)."""
        if self.word() == close:
            return []
        items: list[object] = [self._nested(self.or_expr)[0]]
        while self.word() == ",":
            self.at += 1
            items.append(self._nested(self.or_expr)[0])
        return items

    def _nested(self, rule: Callable[[], _Piece]) -> _Piece:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Bail()
        piece = rule()
        self.depth -= 1
        return piece
