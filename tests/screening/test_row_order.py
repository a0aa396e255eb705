"""`Row.order()` — one string per row, made in the screening workers — sorts the action list
exactly as `Row.sort_key()` does, whatever the action text holds."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cme_policy.screening.rows import URGENCY, Row

rows = st.builds(
    Row,
    upn=st.text("ABCXYZ0123456789", min_size=13, max_size=13),
    source=st.sampled_from(["rule", "procedure"]),
    id=st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
    state=st.just(""),
    action=st.text(),  # NUL, quotes, newlines, anything
    role=st.just(""),
    due=st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date.max)),
    status=st.sampled_from([*URGENCY, "other"]),
    clauses=st.just(""),
    statute=st.just(""),
)


@given(st.lists(rows, max_size=30))
def test_order_sorts_as_the_sort_key_does(items: list[Row]) -> None:
    by_key = sorted(items, key=Row.sort_key)
    by_order = sorted(items, key=Row.order)
    assert [r.sort_key() for r in by_order] == [r.sort_key() for r in by_key]
