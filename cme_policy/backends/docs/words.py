"""Docs backend: plain words for governors — clause names instead of codes, and the policy's
own notes to its authors (parameter names, source grades, file names) said in English.

Everything here takes and returns plain text; the templates escape it.
"""

from __future__ import annotations

import re

from cme_policy.ir import model as m

_ROMAN = re.compile(r"^(?=[ivxlc]+$)c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")

# How the law notes grade a source, as the policy's sources sometimes still say it.
GRADES = {"[V]": "(checked against the legislation)", "[S]": "(secondary source)",
          "[U]": "(not verified)"}
NOTES_FILE = "the notes on the law this policy was encoded from"


def clause_name(clause_id: str) -> str:
    """`strategy-9-ii` → "Strategy 9(ii)", `strategy-7-home-education` → "Strategy 7 (home
    education)", `definition` → "Definition": how a reader finds it in the policy text."""
    parts = clause_id.replace("_", "-").split("-")
    head = parts[0].capitalize() if parts[0] else "Clause"
    name, words = head, []
    for part in parts[1:]:
        if part.isdigit():
            name += f" {part}" if name == head else f"({part})"
        elif _ROMAN.match(part.lower()) and name != head:
            name += f"({part.lower()})"
        elif part:
            words.append(part.lower())
    return name + (f" ({' '.join(words)})" if words else "")


class Plain:
    """Rewrites the policy's notes to its authors into words for governors."""

    def __init__(self, policy: m.Policy) -> None:
        self.params = {p.qualified: p for p in policy.parameters}
        self.short = {f"{p.group}.{p.name}": p for p in policy.parameters}
        self.clauses = {c.id: clause_name(c.id) for c in policy.clauses}
        names = sorted({*self.params, *self.short}, key=len, reverse=True)
        self._names = re.compile(r"\b(?:parameter\s+)?(" + "|".join(map(re.escape, names)) +
                                 r")\b") if names else None
        # Only code-like ids (`strategy-8`): a plain word like `review` is also English.
        ids = sorted((c for c in self.clauses if "-" in c or any(ch.isdigit() for ch in c)),
                     key=len, reverse=True)
        self._clause_ids = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, ids)) +
                                      r")(?![\w/-])") if ids else None

    def __call__(self, text: str | None) -> str:
        if not text:
            return ""
        out = text
        if self._names is not None:
            out = self._names.sub(self._param, out)
        for grade, words in GRADES.items():
            out = out.replace(grade, words)
        out = re.sub(r"\bdomain\.md\b", NOTES_FILE, out)
        if self._clause_ids is not None:
            out = self._clause_ids.sub(lambda mt: self.clauses[mt.group(1)], out)
        return " ".join(out.split())

    def _param(self, found: re.Match[str]) -> str:
        x = self.params.get(found.group(1)) or self.short[found.group(1)]
        return f"the figure for {x.label}"
