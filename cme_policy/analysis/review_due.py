"""Analyse stage: is the governors' annual review overdue? (`reviewed` + `review_cycle` < today)

Today is `datetime.date.today()`, or `CME_POLICY_TODAY=YYYY-MM-DD` so that tests do not depend
on the day they run.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
from pathlib import Path

from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr.ast import DurationLit, Unit
from cme_policy.ir.model import Policy
from cme_policy.source.span import Span

TODAY_ENV = "CME_POLICY_TODAY"


def today() -> dt.date:
    override = os.environ.get(TODAY_ENV, "").strip()
    if override:
        try:
            return dt.date.fromisoformat(override)
        except ValueError:
            pass
    return dt.date.today()


def review_due(reviewed: dt.date, cycle: DurationLit) -> dt.date | None:
    """The date the next review falls due; None for a cycle in school days or sessions, or
    one that ends after 9999-12-31 (a review never due)."""
    try:
        if cycle.unit in (Unit.MONTHS, Unit.YEARS):
            months = cycle.amount * (12 if cycle.unit is Unit.YEARS else 1)
            index = reviewed.month - 1 + months
            year, month = reviewed.year + index // 12, index % 12 + 1
            return dt.date(year, month, min(reviewed.day, calendar.monthrange(year, month)[1]))
        if cycle.unit in (Unit.DAYS, Unit.WEEKS):
            days = cycle.amount * (7 if cycle.unit is Unit.WEEKS else 1)
            return reviewed + dt.timedelta(days=days)
    except (OverflowError, ValueError):
        return None
    return None


def check_review_due(policy: Policy, sink: DiagnosticSink) -> None:
    manifest = policy.manifest
    due = review_due(manifest.reviewed, manifest.review_cycle)
    now = today()
    if due is None or due >= now:
        return
    cycle = manifest.review_cycle
    sink.warning("R001", f"the policy was last reviewed on {manifest.reviewed.isoformat()}; with "
                 f"a review cycle of {cycle.amount} {cycle.unit.spell(cycle.amount)} the review "
                 f"was due on {due.isoformat()}",
                 _reviewed_span(manifest.span),
                 "hold the governors' review (`cme-policy diff` shows what changed since the "
                 "last one), then set `reviewed:` to its date")


def _reviewed_span(span: Span) -> Span:
    try:
        lines = Path(span.path).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return span
    for number, line in enumerate(lines, start=1):
        if line.startswith("reviewed:"):
            start = len("reviewed:") + len(line[len("reviewed:"):]) - len(
                line[len("reviewed:"):].lstrip()) + 1
            return Span(span.path, number, start, number, len(line.rstrip()) + 1)
    return span
