"""What the governors' pack must never show, shared by the HTML and the PDF tests."""

from __future__ import annotations

import re

# The compiler's names for things, which mean nothing to a governor.
INTERNAL = {
    "parameter name": r"\bparams\.",
    "local authority parameter": r"\bla\.[a-z_]+",
    "dotted identifier": r"\b[a-z]+(?:_[a-z0-9]+)*\.[a-z0-9]+_[a-z0-9_]+\b"
                         r"|\b[a-z0-9]+_[a-z0-9_]+\.[a-z]+\b",
    "the law notes' file": r"domain\.md",
    "source grade": r"\[[SVU]\]",
    "snake_case identifier": r"\b[a-z]+_[a-z0-9_]+\b",
    "template syntax": r"\{\{|\{%",
}


def internal_names(text: str, clause_ids: list[str]) -> list[str]:
    """Each internal name found in `text`, with a little context; clause codes (`strategy-8`)
    count when shown bare."""
    found = []
    for what, pattern in INTERNAL.items():
        for m in re.finditer(pattern, text):
            found.append(f"{what}: …{text[max(m.start() - 50, 0):m.end() + 30]}…")
    for cid in clause_ids:
        if "-" in cid or any(ch.isdigit() for ch in cid):
            for m in re.finditer(rf"(?<![\w-]){re.escape(cid)}(?![\w-])", text):
                found.append(f"clause code {cid}: …{text[max(m.start() - 50, 0):m.end() + 30]}…")
    return found
