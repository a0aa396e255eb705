"""Docs backend: which page each link target of a Chromium-printed PDF landed on.

Chromium writes a named destination for every element a link points to (`/Dests` in the
catalogue: name → [page object, position]) and keeps its objects uncompressed, so the names
and the page tree can be read with a few patterns — no PDF library needed. Anything else
(object streams, another producer) reads as "no destinations", and the caller says so.
"""

from __future__ import annotations

import re

_OBJ = r"(?<![0-9])%d 0 obj\s*(<<.*?>>)\s*endobj"
_REF = re.compile(rb"(\d+) 0 R")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _object(data: bytes, number: int) -> bytes | None:
    found = re.search((_OBJ % number).encode(), data, re.DOTALL)
    return found.group(1) if found else None


def page_order(data: bytes) -> list[int]:
    """Object numbers of the pages, in reading order (the page tree, walked depth first)."""
    catalog = re.search(rb"/Type\s*/Catalog\b.*?/Pages\s+(\d+) 0 R", data, re.DOTALL) or \
        re.search(rb"/Pages\s+(\d+) 0 R.*?/Type\s*/Catalog\b", data, re.DOTALL)
    if catalog is None:
        return []
    out: list[int] = []
    stack, seen = [int(catalog.group(1))], set()
    while stack:
        number = stack.pop()
        if number in seen:
            continue
        seen.add(number)
        body = _object(data, number)
        if body is None:
            continue
        kids = re.search(rb"/Kids\s*\[(.*?)\]", body, re.DOTALL)
        if kids is None:
            out.append(number)
        else:
            stack.extend(reversed([int(n) for n in _REF.findall(kids.group(1))]))
    return out


def destinations(data: bytes) -> dict[str, int]:
    """Link target id → page number (from 1)."""
    pages = {number: i for i, number in enumerate(page_order(data), start=1)}
    found = re.search(rb"/Dests\s+(\d+) 0 R", data)
    body = _object(data, int(found.group(1))) if found else None
    if body is None:
        return {}
    out: dict[str, int] = {}
    for name, page in re.findall(rb"/([^\s/\[\]<>()]+)\s*\[\s*(\d+) 0 R", body):
        text = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name)
        if int(page) in pages:
            out[text.decode("utf-8", "replace")] = pages[int(page)]
    return out


def page_count(data: bytes) -> int:
    return len(page_order(data))
